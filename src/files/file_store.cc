#include "files/file_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ranges>

#include "core/clock.h"
#include "core/durable_dirs.h"
#include "core/failpoint.h"
#include "core/hash.h"
#include "core/ids.h"
#include "core/storage_error.h"

namespace storyloom::files {
namespace fs = std::filesystem;

namespace {

Error IoError(std::string_view what, const std::string& path) {
  return core::SysError(what, path, errno);
}

// The system calls that make a file durable, each of which a test build can make fail
// (failpoints filestore.write, .fsync, .rename, .dirsync; core/failpoint.h).
bool Injected(std::string_view failpoint) {
  const int err = FailpointErrno(failpoint);
  if (err != 0) errno = err;
  return err != 0;
}
ssize_t WriteSome(int fd, const char* data, std::size_t n) {
  return Injected("filestore.write") ? -1 : ::write(fd, data, n);
}
int Rename(const char* from, const char* to) {
  return Injected("filestore.rename") ? -1 : ::rename(from, to);
}
int Fsync(int fd, bool directory) {
  if (directory) {
    // filestore.skip_dirsync: the defect the power-cut test must be able to find.
    if (Failpoint("filestore.skip_dirsync")) return 0;
    return Injected("filestore.dirsync") ? -1 : ::fsync(fd);
  }
  return Injected("filestore.fsync") ? -1 : ::fsync(fd);
}

Result<void> FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Fail(IoError("cannot open", path));
  const int rc = Fsync(fd, (flags & O_DIRECTORY) != 0);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Fail(core::SysError("cannot fsync", path, err));
  return {};
}

// Creates `dir` and its missing parents durably; the parents' fsyncs go through the
// failpoints above.
Result<void> MakeDirs(const fs::path& dir) {
  return core::MakeDirsDurable(
      dir, [](const std::string& parent) { return FsyncPath(parent, O_RDONLY | O_DIRECTORY); });
}

}  // namespace

bool IsSafeRelativePath(std::string_view p) {
  if (p.empty() || p.size() > 1024 || p.front() == '/') return false;
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = std::min(p.find('/', start), p.size());
    const std::string_view seg = p.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (c == '\0' || c == '\\') return false;
    }
    start = end + 1;
  }
  return true;
}

bool FileStore::IsSafeName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

FileStore::FileStore(const std::string& root)
    : root_(fs::absolute(root).lexically_normal().string()) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Result<std::string> FileStore::Resolve(std::string_view rel_path) const {
  if (!IsSafeRelativePath(rel_path)) {
    return Fail(
        Error::InvalidArgument(fmt::format("'{}' is not a path inside save_outputs", rel_path)));
  }
  const fs::path full = fs::path(root_) / fs::path(rel_path);
  // A symlink planted under the root must not lead outside it.
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(full, ec);
  const fs::path real_root = fs::weakly_canonical(root_, ec);
  const std::string r = real.string(), rr = real_root.string();
  if (ec || r.size() <= rr.size() || r.compare(0, rr.size(), rr) != 0 || r[rr.size()] != '/') {
    return Fail(Error::InvalidArgument(fmt::format("'{}' leads outside save_outputs", rel_path)));
  }
  return full.string();
}

Result<StoredFile> FileStore::Write(std::string_view rel_path, std::string_view bytes) {
  SL_ASSIGN_OR_RETURN(std::string dest, Resolve(rel_path));
  const fs::path dir = fs::path(dest).parent_path();
  SL_RETURN_IF_ERROR(MakeDirs(dir));
  const std::string tmp = (dir / (".tmp-" + core::RandomHex(8))).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(IoError("cannot create", tmp));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = WriteSome(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = IoError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Fail(std::move(e));
    }
    done += static_cast<std::size_t>(n);
  }
  if (Fsync(fd, false) != 0) {
    Error e = IoError("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return Fail(std::move(e));
  }
  ::close(fd);
  if (Rename(tmp.c_str(), dest.c_str()) != 0) {
    Error e = IoError("cannot rename to", dest);
    ::unlink(tmp.c_str());
    return Fail(std::move(e));
  }
  SL_RETURN_IF_ERROR(FsyncPath(dir.string(), O_RDONLY | O_DIRECTORY));
  return StoredFile{std::string(rel_path), static_cast<std::int64_t>(bytes.size()),
                    core::Sha256Hex(bytes)};
}

Result<StoredFile> FileStore::Adopt(const std::string& src, std::string_view rel_path) {
  SL_ASSIGN_OR_RETURN(std::string dest, Resolve(rel_path));
  SL_ASSIGN_OR_RETURN(std::string sha, core::Sha256File(src));
  SL_RETURN_IF_ERROR(FsyncPath(src, O_RDONLY));
  std::error_code ec;
  const auto size = fs::file_size(src, ec);
  if (ec) return Fail(core::SysError("cannot stat", src, ec.value()));
  const fs::path dir = fs::path(dest).parent_path();
  SL_RETURN_IF_ERROR(MakeDirs(dir));
  if (Rename(src.c_str(), dest.c_str()) != 0) return Fail(IoError("cannot move upload to", dest));
  SL_RETURN_IF_ERROR(FsyncPath(dir.string(), O_RDONLY | O_DIRECTORY));
  return StoredFile{std::string(rel_path), static_cast<std::int64_t>(size), sha};
}

Result<StoredFile> FileStore::AdoptNew(const std::string& src, std::string_view rel_path) {
  SL_ASSIGN_OR_RETURN(std::string dest, Resolve(rel_path));
  SL_ASSIGN_OR_RETURN(std::string sha, core::Sha256File(src));
  SL_RETURN_IF_ERROR(FsyncPath(src, O_RDONLY));
  std::error_code ec;
  const auto size = fs::file_size(src, ec);
  if (ec) return Fail(core::SysError("cannot stat", src, ec.value()));
  const fs::path dir = fs::path(dest).parent_path();
  int rc = -1;
  // A concurrent Remove may prune the (empty) folder between MakeDirs and the move: retry.
  for (int attempt = 0; attempt < 5; ++attempt) {
    SL_RETURN_IF_ERROR(MakeDirs(dir));
    // rename(2) would silently replace a file another request just put there;
    // RENAME_NOREPLACE (or link(2) where the filesystem lacks it) fails instead.
    rc = Injected("filestore.rename")
             ? -1
             : ::renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      rc = ::link(src.c_str(), dest.c_str());
      if (rc == 0) ::unlink(src.c_str());
    }
    if (rc == 0 || errno != ENOENT) break;
  }
  if (rc != 0) {
    if (errno == EEXIST) return Fail(Error::AlreadyExists(fmt::format("{} exists", rel_path)));
    return Fail(IoError("cannot move upload to", dest));
  }
  if (auto synced = FsyncPath(dir.string(), O_RDONLY | O_DIRECTORY); !synced) {
    // The caller gets an error and records no row, so the file must not stay under the name
    // (a retry would find it taken). It is ours: nobody replaces a file AdoptNew placed.
    ::unlink(dest.c_str());
    return Fail(synced.error());
  }
  return StoredFile{std::string(rel_path), static_cast<std::int64_t>(size), sha};
}

Result<int> FileStore::RemoveTree(std::string_view rel_dir) {
  SL_ASSIGN_OR_RETURN(auto paths, ListUnder(rel_dir));
  int removed = 0;
  for (const auto& p : paths) {
    SL_RETURN_IF_ERROR(Remove(p));
    ++removed;
  }
  // Empty directories (and temporary files' folders) left behind.
  SL_ASSIGN_OR_RETURN(std::string dir, Resolve(rel_dir));
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
    }
    for (const auto& d : std::views::reverse(dirs)) fs::remove(d, ec);  // only if empty
    fs::remove(dir, ec);
  }
  return removed;
}

Result<void> FileStore::Remove(std::string_view rel_path) {
  SL_ASSIGN_OR_RETURN(std::string path, Resolve(rel_path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Fail(IoError("cannot remove", path));
  // Drop directories the removal left empty (workflow folders), never the root.
  fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  while (dir.string().size() > root_.size() && fs::is_empty(dir, ec) && !ec) {
    if (!fs::remove(dir, ec)) break;
    dir = dir.parent_path();
  }
  return {};
}

Result<std::vector<std::string>> FileStore::ListAll() const { return ListUnder(""); }

Result<std::vector<std::string>> FileStore::ListUnder(std::string_view rel_dir) const {
  std::vector<std::string> out;
  std::string start = root_;
  if (!rel_dir.empty()) {
    SL_ASSIGN_OR_RETURN(start, Resolve(rel_dir));
  }
  std::error_code ec;
  if (!fs::is_directory(start, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      out.push_back(fs::relative(it->path(), root_, ec).generic_string());
    }
  }
  if (ec) return Fail(core::SysError("cannot list", root_, ec.value()));
  return out;
}

Result<std::string> FileStore::Quarantine(std::string_view rel_path) {
  SL_ASSIGN_OR_RETURN(std::string path, Resolve(rel_path));
  const fs::path dest = fs::path(root_).parent_path() / "quarantine" /
                        std::to_string(core::WallMillis()) / fs::path(rel_path);
  SL_RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
  if (::rename(path.c_str(), dest.c_str()) != 0) return Fail(IoError("cannot quarantine", path));
  return dest.string();
}

}  // namespace storyloom::files
