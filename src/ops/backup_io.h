// File I/O for backups, which restore and verify treat as untrusted input: validation of
// relative paths, opening a file beneath a directory
// without following any symlink, copies checked against a size and sha256 as they are made,
// private modes and fsync. Internal to src/ops; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::ops {

// Bounds on what a backup may claim; anything beyond is refused as malformed.
inline constexpr std::uintmax_t kMaxManifestBytes = 512ULL << 20;  // 512 MiB
inline constexpr std::size_t kMaxManifestFiles = 10'000'000;
inline constexpr std::size_t kMaxManifestTables = 1000;
inline constexpr std::int64_t kMaxBackupFileBytes = 1LL << 40;  // 1 TiB per file
inline constexpr std::size_t kMaxRelativePathBytes = 4096;
inline constexpr std::size_t kMaxRowLineBytes = 256ULL << 20;  // one row of a logical export

// A file descriptor closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// The path quoted as a JSON string: printable on one line whatever it holds.
std::string Quote(std::string_view path);

// invalid_argument unless `rel` is a plain relative path: 1..4096 bytes of '/'-separated
// components, none empty, "." or ".." or longer than 255 bytes, and no NUL, backslash or
// control character anywhere.
[[nodiscard]] Result<void> ValidateRelativePath(std::string_view rel);

// Opens the regular file `rel` (validated) beneath the directory `root` for reading. No
// component below `root` may be a symlink: invalid_argument if one is, or if the file is not
// a regular file; not_found if it does not exist.
[[nodiscard]] Result<UniqueFd> OpenBeneath(const std::filesystem::path& root, std::string_view rel);

// Hashes the file open at `fd` from its start; `size` gets its length.
[[nodiscard]] Result<std::string> Sha256Fd(int fd, std::int64_t& size);

// Copies the file open at `fd` to the new file `dest` (created 0600, never through an
// existing file or symlink), hashing as it goes, and fsyncs it. failed_precondition naming
// `what` if the bytes are not `size` long or their sha256 is not `sha256`; the partial copy is
// removed then.
[[nodiscard]] Result<void> CopyVerified(int fd, const std::filesystem::path& dest,
                                        std::int64_t size, std::string_view sha256,
                                        std::string_view what);

// Creates each missing directory of `rel` (validated) beneath `root`, mode 0700, refusing
// to pass through a symlink.
[[nodiscard]] Result<void> CreatePrivateDirs(const std::filesystem::path& root,
                                             std::string_view rel);

// fsync of a file or directory.
[[nodiscard]] Result<void> FsyncPath(const std::filesystem::path& p);

// chmod 0700 for directories, 0600 for regular files; symlinks are left alone.
void MakePrivate(const std::filesystem::path& p);

}  // namespace storyloom::ops
