#include "ops/backup_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/hash.h"
#include "core/storage_error.h"

namespace storyloom::ops {
namespace fs = std::filesystem;
using nlohmann::json;

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Quote(std::string_view path) {
  return json(std::string(path)).dump(-1, ' ', true, json::error_handler_t::replace);
}

namespace {

std::vector<std::string_view> Components(std::string_view rel) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = rel.find('/', start);
    out.push_back(rel.substr(start, slash == std::string_view::npos ? rel.npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

Result<void> ValidateRelativePath(std::string_view rel) {
  if (rel.empty() || rel.size() > kMaxRelativePathBytes) {
    return Fail(Error::InvalidArgument("bad path " + Quote(rel) + ": empty or too long"));
  }
  for (unsigned char c : rel) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      return Fail(
          Error::InvalidArgument("bad path " + Quote(rel) + ": control character or backslash"));
    }
  }
  if (rel.front() == '/') {
    return Fail(Error::InvalidArgument("bad path " + Quote(rel) + ": absolute"));
  }
  for (std::string_view c : Components(rel)) {
    if (c.empty() || c == "." || c == ".." || c.size() > 255) {
      return Fail(Error::InvalidArgument("bad path " + Quote(rel) +
                                         ": empty, '.', '..' or overlong component"));
    }
  }
  return {};
}

Result<UniqueFd> OpenBeneath(const fs::path& root, std::string_view rel) {
  SL_RETURN_IF_ERROR(ValidateRelativePath(rel));
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return Fail(Error::NotFound(
        fmt::format("cannot open {}: {}", Quote(root.string()), std::strerror(errno))));
  }
  const auto parts = Components(rel);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string name(parts[i]);
    const bool last = i + 1 == parts.size();
    const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
    UniqueFd next(::openat(dir.get(), name.c_str(), flags));
    if (next.get() < 0) {
      const int err = errno;
      if (err == ENOENT) return Fail(Error::NotFound(Quote(rel) + ": missing"));
      if (err == ELOOP || err == ENOTDIR) {
        return Fail(
            Error::InvalidArgument(Quote(rel) + ": a symlink or not a directory on the way"));
      }
      return Fail(
          Error::Unavailable(fmt::format("cannot open {}: {}", Quote(rel), std::strerror(err))));
    }
    dir = std::move(next);
  }
  struct stat st {};
  if (::fstat(dir.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(Error::InvalidArgument(Quote(rel) + ": not a regular file"));
  }
  // O_NONBLOCK only kept a FIFO from blocking the open; read normally.
  (void)::fcntl(dir.get(), F_SETFL, ::fcntl(dir.get(), F_GETFL) & ~O_NONBLOCK);
  return dir;
}

Result<std::string> Sha256Fd(int fd, std::int64_t& size) {
  core::Sha256 h;
  size = 0;
  std::vector<char> buf(1 << 16);
  off_t off = 0;
  while (true) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Error::Unavailable(std::string("read failed: ") + std::strerror(errno)));
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    off += n;
  }
  size = off;
  return h.HexDigest();
}

Result<void> CopyVerified(int fd, const fs::path& dest, std::int64_t size, std::string_view sha256,
                          std::string_view what) {
  UniqueFd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (out.get() < 0) {
    return Fail(Error::Unavailable(
        fmt::format("cannot create {}: {}", Quote(dest.string()), std::strerror(errno))));
  }
  auto fail = [&](Error e) -> Result<void> {
    std::error_code ec;
    fs::remove(dest, ec);
    return Fail(std::move(e));
  };
  core::Sha256 h;
  std::vector<char> buf(1 << 16);
  std::int64_t done = 0;
  while (true) {
    // Never read more than one byte past the expected size: a file that claims 10 bytes
    // but holds a terabyte costs no more than the claim.
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(buf.size()), size + 1 - done));
    if (want == 0) break;
    const ssize_t n = ::pread(fd, buf.data(), want, done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return fail(
          Error::Unavailable(fmt::format("cannot read {}: {}", what, std::strerror(errno))));
    }
    if (n == 0) break;
    const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    h.Update(chunk);
    for (std::size_t w = 0; w < chunk.size();) {
      const ssize_t m = ::write(out.get(), chunk.data() + w, chunk.size() - w);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) {
        return fail(Error::Unavailable(
            fmt::format("cannot write {}: {}", Quote(dest.string()), std::strerror(errno))));
      }
      w += static_cast<std::size_t>(m);
    }
    done += n;
  }
  if (done != size) {
    return fail(Error::FailedPrecondition(fmt::format(
        "{}: {} bytes but the manifest says {}", what,
        done > size ? "more than " + std::to_string(size) : std::to_string(done), size)));
  }
  if (h.HexDigest() != sha256) {
    return fail(
        Error::FailedPrecondition(fmt::format("{}: sha256 differs from the manifest", what)));
  }
  if (::fsync(out.get()) != 0) {
    return fail(Error::Unavailable(
        fmt::format("cannot fsync {}: {}", Quote(dest.string()), std::strerror(errno))));
  }
  return {};
}

Result<void> CreatePrivateDirs(const fs::path& root, std::string_view rel) {
  SL_RETURN_IF_ERROR(ValidateRelativePath(rel));
  fs::path at = root;
  for (std::string_view c : Components(rel)) {
    at /= std::string(c);
    if (::mkdir(at.c_str(), 0700) == 0) {
      (void)::chmod(at.c_str(), 0700);  // whatever the umask
      continue;
    }
    if (errno != EEXIST) return Fail(core::SysError("cannot create", Quote(at.string()), errno));
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Fail(Error::InvalidArgument(Quote(at.string()) + " is not a directory"));
    }
  }
  return {};
}

Result<void> FsyncPath(const fs::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    return Fail(core::SysError("cannot fsync", Quote(p.string()), errno));
  }
  return {};
}

void MakePrivate(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode) && (st.st_mode & 07777) != 0700) (void)::chmod(p.c_str(), 0700);
  if (S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600) (void)::chmod(p.c_str(), 0600);
}

}  // namespace storyloom::ops
