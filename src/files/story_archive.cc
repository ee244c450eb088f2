// The story zip archive: a pull-driven libarchive writer (unbuffered, so each call's bytes
// come straight back through the write callback) over the workflow's tracked files.
#include "files/story_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/clock.h"
#include "core/hash.h"

namespace storyloom::files {

namespace {

std::string ArchiveError(archive* a, std::string_view what) {
  const char* msg = archive_error_string(a);
  return fmt::format("zip: {}: {}", what, msg ? msg : "unknown error");
}

}  // namespace

struct ZipStream::State {
  std::vector<ArchiveEntry> entries;
  archive* a = nullptr;
  std::string* out = nullptr;  // where the write callback appends (set by Next)
  std::size_t index = 0;       // the entry being written
  bool in_entry = false;
  bool done = false;
  bool failed = false;
  int fd = -1;
  std::uint64_t remaining = 0;  // bytes of the current entry still to write
  std::uint64_t offset = 0;     // of an in-memory entry
  std::optional<core::Sha256> hash;
  std::string buf;

  static la_ssize_t Write(archive*, void* self, const void* data, std::size_t n) {
    auto* s = static_cast<State*>(self);
    // Outside Next (archive_write_free closing a failed archive) the bytes go nowhere.
    if (s->out) s->out->append(static_cast<const char*>(data), n);
    return static_cast<la_ssize_t>(n);
  }

  ~State() {
    CloseFile();
    out = nullptr;
    if (a) archive_write_free(a);  // closes an unfinished archive into the void
  }

  void CloseFile() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  Result<void> Open() {
    a = archive_write_new();
    if (!a) return Fail(Error::Internal("zip: out of memory"));
    if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
        archive_write_zip_set_compression_store(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
        archive_write_open2(a, this, nullptr, &State::Write, nullptr, nullptr) != ARCHIVE_OK) {
      return Fail(Error::Internal(ArchiveError(a, "cannot start the archive")));
    }
    return {};
  }

  Result<void> StartEntry() {
    const ArchiveEntry& e = entries[index];
    if (!e.disk_path.empty()) {
      fd = ::open(e.disk_path.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0) {
        return Fail(Error::FailedPrecondition(
            fmt::format("{} cannot be opened: {}", e.zip_path, std::strerror(errno))));
      }
      if (static_cast<std::uint64_t>(st.st_size) != e.size) {
        return Fail(Error::FailedPrecondition(fmt::format(
            "{} is {} bytes on disk, its record says {}", e.zip_path, st.st_size, e.size)));
      }
      hash.emplace();
    }
    archive_entry* entry = archive_entry_new();
    if (!entry) return Fail(Error::Internal("zip: out of memory"));
    archive_entry_set_pathname(entry, e.zip_path.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.size));
    archive_entry_set_mtime(entry, static_cast<time_t>(e.modified / 1000), 0);
    const int rc = archive_write_header(a, entry);
    archive_entry_free(entry);
    if (rc != ARCHIVE_OK) return Fail(Error::Internal(ArchiveError(a, e.zip_path)));
    in_entry = true;
    remaining = e.size;
    offset = 0;
    return {};
  }

  Result<void> WriteData(const char* data, std::size_t n) {
    const la_ssize_t w = archive_write_data(a, data, n);
    if (w < 0 || static_cast<std::size_t>(w) != n) {
      return Fail(Error::Internal(ArchiveError(a, entries[index].zip_path)));
    }
    remaining -= n;
    return {};
  }

  Result<void> ContinueEntry() {
    const ArchiveEntry& e = entries[index];
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kPieceBytes));
    if (e.disk_path.empty()) {
      SL_RETURN_IF_ERROR(WriteData(e.content.data() + offset, want));
      offset += want;
      return {};
    }
    buf.resize(kPieceBytes);
    ssize_t n;
    do {
      n = ::read(fd, buf.data(), want);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      return Fail(Error::Unavailable(
          fmt::format("{} cannot be read: {}", e.zip_path, std::strerror(errno))));
    }
    if (n == 0) {
      return Fail(Error::FailedPrecondition(
          fmt::format("{} ended {} bytes short of its record", e.zip_path, remaining)));
    }
    hash->Update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    return WriteData(buf.data(), static_cast<std::size_t>(n));
  }

  Result<void> FinishEntry() {
    const ArchiveEntry& e = entries[index];
    if (!e.disk_path.empty()) {
      char extra = 0;
      ssize_t n;
      do {
        n = ::read(fd, &extra, 1);
      } while (n < 0 && errno == EINTR);
      CloseFile();
      if (n != 0) {
        return Fail(Error::FailedPrecondition(
            fmt::format("{} is longer than its record of {} bytes", e.zip_path, e.size)));
      }
      const std::string digest = hash->HexDigest();
      hash.reset();
      if (!e.sha256.empty() && digest != e.sha256) {
        return Fail(Error::FailedPrecondition(
            fmt::format("{} has sha256 {}, its record says {}", e.zip_path, digest, e.sha256)));
      }
    }
    if (archive_write_finish_entry(a) != ARCHIVE_OK) {
      return Fail(Error::Internal(ArchiveError(a, e.zip_path)));
    }
    in_entry = false;
    ++index;
    return {};
  }

  Result<void> Step() {
    if (index == entries.size()) {
      if (archive_write_close(a) != ARCHIVE_OK) {
        return Fail(Error::Internal(ArchiveError(a, "cannot finish the archive")));
      }
      done = true;
      return {};
    }
    if (!in_entry) return StartEntry();
    if (remaining > 0) return ContinueEntry();
    return FinishEntry();
  }
};

ZipStream::ZipStream(std::vector<ArchiveEntry> entries) : s_(std::make_unique<State>()) {
  s_->entries = std::move(entries);
}

ZipStream::~ZipStream() = default;

Result<bool> ZipStream::Next(std::string& out) {
  out.clear();
  if (s_->failed) return Fail(Error::FailedPrecondition("the archive already failed"));
  if (s_->done) return false;
  s_->out = &out;
  if (!s_->a) {
    if (auto opened = s_->Open(); !opened) {
      s_->failed = true;
      s_->out = nullptr;
      return Fail(opened.error());
    }
  }
  // Steps (an entry's header, one read of its data, its end, or the central directory)
  // until a piece's worth is made: at most two reads' worth is ever held.
  while (!s_->done && out.size() < kPieceBytes) {
    if (auto step = s_->Step(); !step) {
      s_->failed = true;
      s_->out = nullptr;
      s_->CloseFile();
      return Fail(step.error());
    }
  }
  s_->out = nullptr;
  return !s_->done;
}

std::string ArchiveFolderName(const Workflow& w) {
  std::string out;
  bool dash = false;
  for (const char c : w.title) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 0x80) {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(static_cast<char>(std::tolower(u)));
      if (out.size() >= 60) break;
    } else {
      dash = true;
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? w.id : out;
}

Result<StoryArchive> MakeStoryArchive(const FileStore& store, const Workflow& w,
                                      const std::vector<GeneratedFile>& files) {
  StoryArchive out;
  out.folder = ArchiveFolderName(w);
  out.file_name = out.folder + ".zip";
  const std::string manifest_path = out.folder + "/manifest.json";
  std::vector<ArchiveEntry> entries;
  entries.reserve(files.size() + 1);
  entries.emplace_back();  // the manifest, filled below
  nlohmann::json listed = nlohmann::json::array();
  for (const GeneratedFile& f : files) {
    SL_ASSIGN_OR_RETURN(std::string disk, store.Resolve(f.file_path));
    struct stat st {};
    if (::stat(disk.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size != static_cast<off_t>(f.file_size)) {
      return Fail(Error::FailedPrecondition(fmt::format(
          "the story's file {} is missing or changed on disk; run storyloom fsck", f.file_path)));
    }
    // Files live at <workflow id>/<kind>/<name>: the archive keeps the part after the id.
    std::string inner = f.file_path;
    if (inner.starts_with(w.id + "/")) inner.erase(0, w.id.size() + 1);
    ArchiveEntry e;
    e.zip_path = out.folder + "/" + inner;
    if (e.zip_path == manifest_path) e.zip_path = out.folder + "/files/" + inner;
    e.disk_path = std::move(disk);
    e.size = static_cast<std::uint64_t>(f.file_size);
    e.sha256 = f.sha256;
    e.modified = f.created_at;
    listed.push_back({{"id", f.id},
                      {"path", e.zip_path},
                      {"name", f.file_name},
                      {"size", f.file_size},
                      {"sha256", f.sha256},
                      {"type", ToString(f.file_type)},
                      {"mime_type", f.mime_type},
                      {"scene_number", f.scene_number > 0 ? nlohmann::json(f.scene_number)
                                                          : nlohmann::json(nullptr)}});
    out.file_bytes += e.size;
    entries.push_back(std::move(e));
  }
  out.files = files.size();
  const nlohmann::json manifest = {{"format", "storyloom-archive/1"},
                                   {"workflow_id", w.id},
                                   {"title", w.title},
                                   {"status", ToString(w.status)},
                                   {"created_at", core::FormatRfc3339(w.created_at)},
                                   {"files", std::move(listed)}};
  ArchiveEntry& m = entries.front();
  m.zip_path = manifest_path;
  m.content = manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  m.size = m.content.size();
  m.modified = core::WallMillis();
  out.zip = std::make_unique<ZipStream>(std::move(entries));
  return out;
}

}  // namespace storyloom::files
