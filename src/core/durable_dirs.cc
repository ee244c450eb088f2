#include "core/durable_dirs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/storage_error.h"

namespace storyloom::core {

Result<void> FsyncDir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail(SysError("cannot open", path, errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Fail(SysError("cannot fsync", path, err));
  return {};
}

Result<void> MakeDirsDurable(const std::filesystem::path& dir,
                             const std::function<Result<void>(const std::string&)>& sync_parent) {
  std::error_code ec;
  if (dir.empty() || std::filesystem::is_directory(dir, ec)) return {};
  const std::filesystem::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) SL_RETURN_IF_ERROR(MakeDirsDurable(parent, sync_parent));
  // EEXIST: a concurrent mkdir won; its name may not be durable yet, so sync here too.
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return Fail(SysError("cannot create", dir.string(), errno));
  }
  return sync_parent(parent.empty() ? "." : parent.string());
}

}  // namespace storyloom::core
