// ScanImportTree: a directory read into an ImportPlan, every directory and file opened beneath
// its parent's descriptor with O_NOFOLLOW, so no symlink (however planted) leads the scan out
// of the tree. Reads 4 KiB of each file to decide its type; writes nothing.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/hash.h"
#include "core/text_util.h"
#include "files/media_type.h"
#include "ops/backup_io.h"
#include "ops/import.h"

namespace storyloom::ops {
namespace {

namespace fs = std::filesystem;

// Folders of a flat tree that hold one kind of output rather than one story.
constexpr std::array<std::string_view, 16> kKindFolders = {
    "images", "image", "audio", "audios", "narration", "narrations", "story", "stories",
    "text",   "texts", "video", "videos", "json",      "scenes",     "files", "metadata"};

constexpr std::size_t kMaxSegment = 120;  // bytes of one sanitized path segment
constexpr std::size_t kMaxDest = 900;     // bytes of a sanitized path (plus the workflow id)

bool IsKindFolder(std::string_view name) {
  const std::string lower = core::AsciiLower(name);
  return std::find(kKindFolders.begin(), kKindFolders.end(), lower) != kKindFolders.end();
}

std::string Lower(std::string_view s) { return core::AsciiLower(s); }

std::string Extension(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  return Lower(name.substr(dot + 1));
}

// A name kept as it is when it is made of [A-Za-z0-9._-]; otherwise every other byte becomes
// '_', and a short hash of the original name goes before the extension, so two names that
// differ only in those bytes stay two files, and the same name always gives the same result.
std::string SafeSegment(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out == name && out.size() <= kMaxSegment && out.front() != '.') return out;
  const std::string tag = fmt::format("~{}", core::Sha256Hex(name).substr(0, 8));
  std::string ext;
  if (const auto dot = out.rfind('.');
      dot != std::string::npos && dot > 0 && out.size() - dot <= 11) {
    ext = out.substr(dot);
    out.resize(dot);
  }
  if (out.size() > kMaxSegment - tag.size() - ext.size()) {
    out.resize(kMaxSegment - tag.size() - ext.size());
  }
  if (!out.empty() && out.front() == '.') out.front() = '_';
  return out + tag + ext;
}

// The scene a name belongs to: "scene_1.png", "Scene-03.txt", "scene12_image.jpg" -> 1, 3, 12.
int SceneNumberOf(std::string_view name) {
  const std::string lower = Lower(name);
  for (std::size_t at = lower.find("scene"); at != std::string::npos;
       at = lower.find("scene", at + 1)) {
    std::size_t i = at + 5;
    if (i < lower.size() && (lower[i] == '_' || lower[i] == '-' || lower[i] == ' ')) ++i;
    int n = 0;
    std::size_t digits = 0;
    while (i < lower.size() && lower[i] >= '0' && lower[i] <= '9' && digits < 5) {
      n = n * 10 + (lower[i] - '0');
      ++i;
      ++digits;
    }
    const bool ends = i >= lower.size() || lower[i] < '0' || lower[i] > '9';
    if (digits > 0 && digits <= 4 && ends && n >= 1) return n;
  }
  return 0;
}

// The type a file is, from its first bytes; the extension only tells text from JSON.
void Classify(std::string_view head, std::string_view name, ImportFile& f) {
  const std::string magic = files::SniffMagic(head);
  const std::string ext = Extension(name);
  if (!magic.empty()) {
    f.mime_type = magic;
    const std::string_view m = magic;
    f.type = m.starts_with("image/")   ? FileType::kImage
             : m.starts_with("audio/") ? FileType::kAudio
             : m.starts_with("video/") ? FileType::kVideo
                                       : FileType::kOther;
    return;
  }
  if (files::LooksLikeUtf8Text(head)) {
    if (ext == "json") {
      f.type = FileType::kJson;
      f.mime_type = "application/json";
      return;
    }
    static constexpr std::array<std::string_view, 7> kText = {"",    "txt", "text", "md",
                                                              "srt", "vtt", "log"};
    if (std::find(kText.begin(), kText.end(), ext) != kText.end()) {
      f.type = FileType::kText;
      f.mime_type = "text/plain";
      return;
    }
  }
  f.type = FileType::kOther;
  f.mime_type = "application/octet-stream";
}

std::string Join(const std::string& a, std::string_view b) {
  return a.empty() ? std::string(b) : a + "/" + std::string(b);
}

// Returns `s` as valid UTF-8, cut to at most `max` bytes on a character boundary.
std::string Title(std::string_view name, std::size_t max = 200) {
  std::string t = core::SanitizeUtf8(name);
  if (t.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
    t.resize(cut);
  }
  return t.empty() ? "imported" : t;
}

class Scanner {
 public:
  Scanner(const ImportLimits& limits, ImportPlan& plan, dev_t data_dev, ino_t data_ino,
          bool have_data)
      : lim_(limits),
        plan_(plan),
        data_dev_(data_dev),
        data_ino_(data_ino),
        have_data_(have_data) {}

  void Skip(std::string source, std::string reason, bool error) {
    ++plan_.skipped_total;
    if (error) ++plan_.skipped_errors;
    if (plan_.skipped.size() < kMaxListedSkips) {
      plan_.skipped.push_back({std::move(source), std::move(reason), error});
    }
  }

  // The names in the open directory `fd` (which it closes), sorted, bounded.
  Result<std::vector<std::string>> Names(int fd, const std::string& source) {
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      const int err = errno;
      ::close(fd);
      Skip(source, fmt::format("cannot read the folder: {}", std::strerror(err)), true);
      return std::vector<std::string>{};
    }
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      if (static_cast<std::int64_t>(names.size()) > lim_.max_files + 10'000) {
        ::closedir(d);
        return Fail(Error::ResourceExhausted(
            fmt::format("{} holds too many entries", Quote(source.empty() ? "." : source))));
      }
      names.emplace_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  // Adds the files beneath the open directory `fd` (closed here) to `story`: `source` is
  // the folder relative to the scanned root, `dest` the same relative to the story.
  Result<void> Walk(int fd, const std::string& source, const std::string& dest, int depth,
                    ImportStory& story, int folder_scene) {
    const int dup = ::dup(fd);
    if (dup < 0) {
      ::close(fd);
      return Fail(Error::Unavailable(fmt::format("cannot dup: {}", std::strerror(errno))));
    }
    UniqueFd dirfd(dup);
    SL_ASSIGN_OR_RETURN(auto names, Names(fd, source));
    for (const auto& name : names) {
      SL_RETURN_IF_ERROR(Entry(dirfd.get(), name, source, dest, depth, story, folder_scene));
    }
    return {};
  }

  Result<void> Entry(int dirfd, const std::string& name, const std::string& source,
                     const std::string& dest, int depth, ImportStory& story, int folder_scene) {
    const std::string src = Join(source, name);
    if (name.front() == '.') {
      Skip(src, "hidden name (starts with '.')", false);
      return {};
    }
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      Skip(src, fmt::format("cannot stat: {}", std::strerror(errno)), true);
      return {};
    }
    if (S_ISLNK(st.st_mode)) {
      Skip(src, "symbolic link (not followed)", false);
      return {};
    }
    const std::string dst = Join(dest, SafeSegment(name));
    if (S_ISDIR(st.st_mode)) {
      if (have_data_ && st.st_dev == data_dev_ && st.st_ino == data_ino_) {
        Skip(src, "the data directory itself", false);
        return {};
      }
      if (depth + 1 > lim_.max_depth) {
        Skip(src, fmt::format("deeper than {} folders", lim_.max_depth), false);
        return {};
      }
      const int sub =
          ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        Skip(src, fmt::format("cannot open the folder: {}", std::strerror(errno)), true);
        return {};
      }
      const int scene = SceneNumberOf(name);
      return Walk(sub, src, dst, depth + 1, story, scene != 0 ? scene : folder_scene);
    }
    if (!S_ISREG(st.st_mode)) {
      Skip(src, "not a regular file", false);
      return {};
    }
    if (plan_.files >= lim_.max_files) {
      return Fail(Error::ResourceExhausted(
          fmt::format("the tree holds more than {} files (--max-files)", lim_.max_files)));
    }
    if (st.st_size > lim_.max_file_bytes) {
      Skip(src,
           fmt::format("{} bytes, over the limit of {} (--max-file-size)", st.st_size,
                       lim_.max_file_bytes),
           false);
      return {};
    }
    if (dst.size() > kMaxDest) {
      Skip(src, "path too long", false);
      return {};
    }
    UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (f.get() < 0) {
      Skip(src, fmt::format("cannot open: {}", std::strerror(errno)), true);
      return {};
    }
    std::string head(files::kSniffBytes, '\0');
    std::size_t got = 0;
    while (got < head.size()) {
      const ssize_t n = ::read(f.get(), head.data() + got, head.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Skip(src, fmt::format("cannot read: {}", std::strerror(errno)), true);
        return {};
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    head.resize(got);
    ImportFile file;
    file.source = src;
    file.dest = dst;
    file.size = st.st_size;
    Classify(head, name, file);
    const int scene = SceneNumberOf(name);
    file.scene_number = scene != 0 ? scene : folder_scene;
    plan_.files += 1;
    plan_.bytes += st.st_size;
    story.files.push_back(std::move(file));
    return {};
  }

 private:
  const ImportLimits& lim_;
  ImportPlan& plan_;
  dev_t data_dev_;
  ino_t data_ino_;
  bool have_data_;
};

// Marks the text file that holds the story: one whose name says "story" first, else the
// first text file; never a scene's text, nor one too long to be a story.
void PickStoryText(ImportStory& story, std::int64_t max_bytes) {
  ImportFile* best = nullptr;
  for (auto& f : story.files) {
    if (f.type != FileType::kText || f.scene_number != 0 || f.size > max_bytes) continue;
    const bool named =
        Lower(fs::path(f.source).filename().string()).find("story") != std::string::npos;
    const bool best_named =
        best != nullptr &&
        Lower(fs::path(best->source).filename().string()).find("story") != std::string::npos;
    if (best == nullptr || (named && !best_named)) best = &f;
  }
  if (best != nullptr) best->story_text = true;
}

}  // namespace

Result<ImportPlan> ScanImportTree(const std::string& dir, const std::string& data_dir,
                                  const ImportLimits& limits) {
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return Fail(Error::InvalidArgument(fmt::format("{}: {}", Quote(dir), ec.message())));
  if (!fs::is_directory(root, ec)) {
    return Fail(Error::InvalidArgument(fmt::format("{} is not a directory", Quote(dir))));
  }
  struct stat data_st {};
  const bool have_data = !data_dir.empty() && ::stat(data_dir.c_str(), &data_st) == 0;
  if (have_data) {
    // Importing the data directory (or a folder of it) would track files already tracked,
    // and copy them into themselves.
    const fs::path data = fs::canonical(data_dir, ec);
    if (!ec) {
      const auto rel = root.lexically_relative(data);
      if (!rel.empty() && *rel.begin() != "..") {
        return Fail(Error::InvalidArgument(
            fmt::format("{} lies inside the data directory; import a tree from elsewhere",
                        Quote(root.string()))));
      }
    }
  }
  ImportPlan plan;
  plan.root = root.string();
  const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(Error::InvalidArgument(
        fmt::format("cannot open {}: {}", Quote(root.string()), std::strerror(errno))));
  }
  Scanner scan(limits, plan, data_st.st_dev, data_st.st_ino, have_data);
  UniqueFd rootfd(::dup(fd));
  SL_ASSIGN_OR_RETURN(auto names, scan.Names(fd, ""));
  if (rootfd.get() < 0) return Fail(Error::Unavailable("cannot dup the root's descriptor"));

  ImportStory flat;
  flat.layout = "flat";
  flat.title = Title(root.filename().string());
  std::vector<ImportStory> folders;
  for (const auto& name : names) {
    struct stat st {};
    const bool is_dir = name.front() != '.' &&
                        ::fstatat(rootfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISDIR(st.st_mode);
    if (!is_dir || IsKindFolder(name)) {
      SL_RETURN_IF_ERROR(scan.Entry(rootfd.get(), name, "", "", 0, flat, 0));
      continue;
    }
    ImportStory story;
    story.source = name;
    story.layout = "story-folder";
    story.title = Title(name);
    // The story's own folder is not part of its files' paths (they go under the workflow's).
    if (have_data && st.st_dev == data_st.st_dev && st.st_ino == data_st.st_ino) {
      scan.Skip(name, "the data directory itself", false);
      continue;
    }
    const int sub =
        ::openat(rootfd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      scan.Skip(name, fmt::format("cannot open the folder: {}", std::strerror(errno)), true);
      continue;
    }
    SL_RETURN_IF_ERROR(scan.Walk(sub, name, "", 1, story, 0));
    if (!story.files.empty()) folders.push_back(std::move(story));
  }
  if (!flat.files.empty()) plan.stories.push_back(std::move(flat));
  for (auto& s : folders) plan.stories.push_back(std::move(s));
  for (auto& s : plan.stories) {
    // One folder, one workflow: the key is the folder's absolute path (a moved tree is a
    // new one), scoped to the owner by the database's (user_id, idempotency_key) index.
    const std::string folder = s.source.empty() ? plan.root : plan.root + "/" + s.source;
    s.key = "import:" + core::Sha256Hex(folder).substr(0, 48);
    PickStoryText(s, limits.max_story_text_bytes);
  }
  if (plan.stories.empty()) {
    return Fail(Error::InvalidArgument(fmt::format(
        "{} holds no file to import ({} entries skipped)", Quote(plan.root), plan.skipped_total)));
  }
  return plan;
}

}  // namespace storyloom::ops
