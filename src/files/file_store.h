// FileStore: durable files under <data_dir>/save_outputs. Writes are atomic (temporary
// name, fsync, rename, directory fsync), so a crash leaves either the old state or the
// whole new file, never a torn one. Thread-safe (no shared mutable state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"

namespace storyloom::files {

struct StoredFile {
  std::string rel_path;  // relative to the root, '/'-separated
  std::int64_t size = 0;
  std::string sha256;
};

class FileStore {
 public:
  explicit FileStore(const std::string& root);
  const std::string& root() const { return root_; }

  // Durably writes `bytes` to root/rel_path, replacing any file there.
  [[nodiscard]] Result<StoredFile> Write(std::string_view rel_path, std::string_view bytes);
  // Durably moves the file at `src` (same filesystem, e.g. an upload in data_dir/tmp) to
  // root/rel_path, hashing it on the way.
  [[nodiscard]] Result<StoredFile> Adopt(const std::string& src, std::string_view rel_path);
  // Like Adopt, but never replaces a file: already_exists if root/rel_path exists (the
  // check and the move are one atomic step, so concurrent callers cannot both win).
  [[nodiscard]] Result<StoredFile> AdoptNew(const std::string& src, std::string_view rel_path);
  // Absolute path of a tracked rel_path. invalid_argument for a path that is absolute,
  // has "..", "." or empty segments, or leads through a symlink out of the root.
  [[nodiscard]] Result<std::string> Resolve(std::string_view rel_path) const;
  // Removes root/rel_path (missing is fine) and empty parent directories up to the root.
  [[nodiscard]] Result<void> Remove(std::string_view rel_path);
  // Every regular file under the root (relative paths), for fsck and cleanup.
  [[nodiscard]] Result<std::vector<std::string>> ListAll() const;
  // Every regular file under root/rel_dir (paths relative to the root); empty if absent.
  [[nodiscard]] Result<std::vector<std::string>> ListUnder(std::string_view rel_dir) const;
  // Removes every regular file under root/rel_dir and the directories left empty; returns
  // how many files went.
  [[nodiscard]] Result<int> RemoveTree(std::string_view rel_dir);
  // Moves root/rel_path to <data_dir>/quarantine/<timestamp>/rel_path.
  [[nodiscard]] Result<std::string> Quarantine(std::string_view rel_path);

  // Returns true if `name` is a safe single file name for uploads: 1..128 characters of
  // [A-Za-z0-9._-], not starting with '.'.
  static bool IsSafeName(std::string_view name);

 private:
  std::string root_;
};

// Checks a relative path for the rules of Resolve without touching the disk.
bool IsSafeRelativePath(std::string_view rel_path);

}  // namespace storyloom::files
