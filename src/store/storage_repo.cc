// Per-user storage use and quotas, and the pending deletes of single files (migration 0013).
#include <fmt/format.h>

#include <algorithm>

#include "core/byte_size.h"
#include "core/clock.h"
#include "db/database.h"
#include "store/rows.h"
#include "store/safe_sum.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

Result<StorageUse> StorageRepo::Use(std::string_view user_id,
                                    std::optional<std::int64_t> default_quota) {
  SL_ASSIGN_OR_RETURN(StorageUse use, QuotaOf(user_id, default_quota, /*lock=*/false));
  SL_RETURN_IF_ERROR(AddSums(user_id, use));
  return use;
}

Result<void> StorageRepo::AddSums(std::string_view user_id, StorageUse& use) {
  const Value u[] = {std::string(user_id)};
  SL_ASSIGN_OR_RETURN(
      auto sums,
      c_.QueryOne(fmt::format("SELECT {}, count(*) FROM generated_files WHERE user_id = ?",
                              store::SafeSum(c_.dialect(), "file_size")),
                  u));
  use.bytes = sums.Int(0);
  use.files = sums.Int(1);
  return {};
}

Result<StorageUse> StorageRepo::QuotaOf(std::string_view user_id,
                                        std::optional<std::int64_t> default_quota, bool lock) {
  const Value u[] = {std::string(user_id)};
  const char* for_update = lock && c_.dialect() == db::Dialect::kPostgres ? " FOR UPDATE" : "";
  SL_ASSIGN_OR_RETURN(
      auto user,
      c_.QueryOpt(fmt::format("SELECT storage_quota_bytes FROM users WHERE id = ?{}", for_update),
                  u));
  if (!user) return Fail(Error::NotFound(fmt::format("user {} does not exist", user_id)));
  StorageUse use;
  use.user_quota = user->OptInt(0);
  use.quota = use.user_quota ? use.user_quota : default_quota;
  return use;
}

Result<StorageUse> StorageRepo::UseIfLimited(std::string_view user_id,
                                             std::optional<std::int64_t> default_quota) {
  SL_ASSIGN_OR_RETURN(StorageUse use, QuotaOf(user_id, default_quota, /*lock=*/false));
  if (!use.quota) return use;  // nothing to check: the sums are not read
  SL_RETURN_IF_ERROR(AddSums(user_id, use));
  return use;
}

Result<StorageUse> StorageRepo::Reserve(std::string_view user_id, std::int64_t add_bytes,
                                        std::optional<std::int64_t> default_quota) {
  // The user's row lock on PostgreSQL (SQLite has one writer anyway): concurrent
  // reservations of one user are serialised until their transactions end.
  SL_ASSIGN_OR_RETURN(StorageUse use, QuotaOf(user_id, default_quota, /*lock=*/true));
  if (!use.quota) return use;  // nothing to check: the sums are not read
  SL_RETURN_IF_ERROR(AddSums(user_id, use));
  if (add_bytes > 0 && add_bytes > *use.quota - use.bytes) {
    return Fail(Error::QuotaExceeded(fmt::format(
        "the storage quota of {} ({} bytes) would be exceeded: {} used by {} files, {} more "
        "needed",
        core::FormatByteSize(*use.quota), *use.quota, core::FormatByteSize(use.bytes), use.files,
        core::FormatByteSize(add_bytes))));
  }
  return use;
}

Result<void> StorageRepo::SetQuota(std::string_view user_id, std::optional<std::int64_t> bytes) {
  const Value v[] = {db::OptInt(bytes), core::WallMillis(), std::string(user_id)};
  SL_ASSIGN_OR_RETURN(
      auto n, c_.Exec("UPDATE users SET storage_quota_bytes = ?, updated_at = ? WHERE id = ?", v));
  if (n == 0) return Fail(Error::NotFound(fmt::format("user {} does not exist", user_id)));
  return {};
}

Result<GeneratedFile> StorageRepo::DeleteFile(std::string_view file_id) {
  const Value id[] = {std::string(file_id)};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt(fmt::format("SELECT {} FROM {} WHERE f.id = ?",
                                                        store::kFileColumns, store::kFileFrom),
                                            id));
  if (!row) return Fail(Error::NotFound(fmt::format("file {} does not exist", file_id)));
  GeneratedFile f = store::FileFromRow(*row);
  const Millis now = core::WallMillis();
  // Explicit rather than left to ON DELETE SET NULL, so the scenes' updated_at moves too.
  const Value s[] = {now, f.id};
  SL_RETURN_IF_ERROR(
      c_.Exec("UPDATE scenes SET image_file_id = NULL, updated_at = ? WHERE image_file_id = ?", s));
  SL_RETURN_IF_ERROR(
      c_.Exec("UPDATE scenes SET audio_file_id = NULL, updated_at = ? WHERE audio_file_id = ?", s));
  SL_RETURN_IF_ERROR(c_.Exec("DELETE FROM generated_files WHERE id = ?", id));
  const Value p[] = {f.file_path, f.sha256, now};
  SL_RETURN_IF_ERROR(
      c_.Exec("INSERT INTO file_deletes (file_path, sha256, requested_at) VALUES (?, ?, ?) "
              "ON CONFLICT (file_path) DO UPDATE SET sha256 = excluded.sha256, "
              "requested_at = excluded.requested_at",
              p));
  return f;
}

Result<std::vector<PendingFileDelete>> StorageRepo::PendingDeletes(int limit) {
  const Value v[] = {std::int64_t{std::max(1, limit)}};
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query("SELECT file_path, sha256, requested_at FROM "
                                          "file_deletes ORDER BY requested_at, file_path LIMIT ?",
                                          v));
  std::vector<PendingFileDelete> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), r.Int(2)});
  return out;
}

Result<bool> StorageRepo::IsPendingDelete(std::string_view file_path) {
  const Value v[] = {std::string(file_path)};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt("SELECT 1 FROM file_deletes WHERE file_path = ?", v));
  return row.has_value();
}

Result<bool> StorageRepo::IsTracked(std::string_view file_path) {
  const Value v[] = {std::string(file_path)};
  SL_ASSIGN_OR_RETURN(auto row,
                      c_.QueryOpt("SELECT 1 FROM generated_files WHERE file_path = ?", v));
  return row.has_value();
}

Result<void> StorageRepo::ForgetDelete(std::string_view file_path) {
  const Value v[] = {std::string(file_path)};
  SL_RETURN_IF_ERROR(c_.Exec("DELETE FROM file_deletes WHERE file_path = ?", v));
  return {};
}

}  // namespace storyloom
