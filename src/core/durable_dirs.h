// Directories that survive a power cut: a new directory's name lives in its parent, so the
// parent is fsynced after the mkdir (without it, a power cut loses the folder and every file
// durably written inside it; found by tests/powercut_test.cc). Any thread.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "storyloom/error.h"

namespace storyloom::core {

// fsync of the directory at `path`.
[[nodiscard]] Result<void> FsyncDir(const std::string& path);

// Creates `dir` and its missing parents (mode 0777 & ~umask), each made durable by
// `sync_parent` on its parent (default FsyncDir). Nothing to do when `dir` exists.
[[nodiscard]] Result<void> MakeDirsDurable(
    const std::filesystem::path& dir,
    const std::function<Result<void>(const std::string&)>& sync_parent = FsyncDir);

}  // namespace storyloom::core
