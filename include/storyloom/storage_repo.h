// Per-user storage: the bytes and count of a user's tracked files, their quota, and the
// deletes of single files whose bytes are still to be unlinked (migration 0013). Reached as
// tx.storage(); used on the transaction's thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

struct StorageUse {
  std::int64_t bytes = 0;  // sum of file_size of the user's tracked files
  std::int64_t files = 0;
  std::optional<std::int64_t> user_quota;  // the user's own (users.storage_quota_bytes)
  std::optional<std::int64_t> quota;       // in force: the user's own, else the default
};

// A deleted file whose bytes may still be on disk.
struct PendingFileDelete {
  std::string file_path;
  std::string sha256;
  Millis requested_at = 0;
};

class StorageRepo {
 public:
  explicit StorageRepo(db::Connection& c) : c_(c) {}

  // The use of `user_id` with `default_quota` applied; not_found if the user does not exist.
  [[nodiscard]] Result<StorageUse> Use(std::string_view user_id,
                                       std::optional<std::int64_t> default_quota);
  // As Use, but the files are summed only when a quota is in force: without one the result
  // has no quota and 0 bytes and files, read with one query (the check on every create).
  [[nodiscard]] Result<StorageUse> UseIfLimited(std::string_view user_id,
                                                std::optional<std::int64_t> default_quota);
  // Checks that `add_bytes` more fit under the quota of `user_id`, holding the user's row
  // until the transaction ends (so two writers of one user add one after the other: the
  // tracked bytes never exceed the quota). QuotaExceeded (HTTP 507) naming the quota and use
  // otherwise. Call in the transaction that adds the file's row. Without a quota nothing is
  // summed (bytes and files are 0 in the result).
  [[nodiscard]] Result<StorageUse> Reserve(std::string_view user_id, std::int64_t add_bytes,
                                           std::optional<std::int64_t> default_quota);
  // Sets the user's own quota (nullopt: the default applies); not_found if no such user.
  [[nodiscard]] Result<void> SetQuota(std::string_view user_id, std::optional<std::int64_t> bytes);

  // Deletes the row of file `file_id` and records its bytes as pending deletion; scenes
  // showing it show nothing. Returns the row as it was; not_found if absent.
  [[nodiscard]] Result<GeneratedFile> DeleteFile(std::string_view file_id);
  // Up to `limit` pending deletes, oldest first.
  [[nodiscard]] Result<std::vector<PendingFileDelete>> PendingDeletes(int limit);
  [[nodiscard]] Result<bool> IsPendingDelete(std::string_view file_path);
  // Whether any row (of any workflow, marked for deletion or not) tracks `file_path`.
  [[nodiscard]] Result<bool> IsTracked(std::string_view file_path);
  // Drops the pending delete of `file_path` (its bytes are gone, or belong to a new row).
  [[nodiscard]] Result<void> ForgetDelete(std::string_view file_path);

 private:
  // The quota in force for `user_id` (bytes and files not read); `lock` holds the user's row
  // until the transaction ends (PostgreSQL). not_found if the user does not exist.
  [[nodiscard]] Result<StorageUse> QuotaOf(std::string_view user_id,
                                           std::optional<std::int64_t> default_quota, bool lock);
  // Fills in the bytes and count of the user's tracked files.
  [[nodiscard]] Result<void> AddSums(std::string_view user_id, StorageUse& use);
  db::Connection& c_;
};

}  // namespace storyloom
