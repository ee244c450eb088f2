#include "core/storage_error.h"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/clock.h"

namespace storyloom::core {
namespace {

std::atomic<std::uint64_t> g_full{0};
std::atomic<std::uint64_t> g_io{0};
std::atomic<std::int64_t> g_last_full_ms{0};

}  // namespace

Error SysError(std::string_view what, std::string_view path, int err) {
  std::string message = fmt::format("{} {}: {}", what, path, std::strerror(err));
  Error e = err == ENOSPC || err == EDQUOT ? Error::InsufficientStorage(std::move(message))
                                           : Error::StorageIo(std::move(message));
  CountStorageFault(e);
  return e;
}

const Error& CountStorageFault(const Error& e) {
  if (e.IsInsufficientStorage()) {
    g_full.fetch_add(1, std::memory_order_relaxed);
    g_last_full_ms.store(WallMillis(), std::memory_order_relaxed);
  } else if (e.IsStorageIo()) {
    g_io.fetch_add(1, std::memory_order_relaxed);
  }
  return e;
}

StorageFaultCounts StorageFaults() {
  return {g_full.load(std::memory_order_relaxed), g_io.load(std::memory_order_relaxed),
          g_last_full_ms.load(std::memory_order_relaxed)};
}

std::optional<DiskSpace> DiskSpaceAt(const std::string& path) {
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0) return std::nullopt;
  return DiskSpace{static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize,
                   static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize};
}

}  // namespace storyloom::core
