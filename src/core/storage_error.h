// Errors of the disk: the Error for a failed system call on a file, and process-wide counts of
// full-disk and I/O errors for /metrics. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::core {

// The Error for system call `what` failing on `path` with errno value `err`:
// insufficient_storage for ENOSPC and EDQUOT, a storage I/O error otherwise. Counted.
Error SysError(std::string_view what, std::string_view path, int err);

// Counts `e` when it is a storage fault (errors that did not come from SysError: SQLite's
// SQLITE_FULL and SQLITE_IOERR, PostgreSQL's disk_full). Returns `e`.
const Error& CountStorageFault(const Error& e);

struct StorageFaultCounts {
  std::uint64_t full = 0;         // insufficient_storage errors since start
  std::uint64_t io = 0;           // storage I/O errors since start
  std::int64_t last_full_ms = 0;  // wall time of the latest full-disk error, 0 = none
};
StorageFaultCounts StorageFaults();

struct DiskSpace {
  std::uint64_t free_bytes = 0;  // available to unprivileged users
  std::uint64_t size_bytes = 0;
};
// The space of the filesystem holding `path`, or nullopt when it cannot be read.
std::optional<DiskSpace> DiskSpaceAt(const std::string& path);

}  // namespace storyloom::core
