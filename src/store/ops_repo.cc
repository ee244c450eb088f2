// Rows kept by operations: backup records, job leases, workflows past their retention.
#include <algorithm>

#include "core/clock.h"
#include "db/database.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

Result<void> BackupRepo::Start(std::string_view id, std::string_view path, std::string_view kind,
                               Millis created_at) {
  const Value v[] = {std::string(id), std::string(path), std::string(kind), created_at};
  SL_RETURN_IF_ERROR(
      c_.Exec("INSERT INTO backups (id, path, kind, status, created_at) "
              "VALUES (?, ?, ?, 'running', ?)",
              v));
  return {};
}

Result<void> BackupRepo::Finish(const BackupRecord& r) {
  const Value v[] = {r.status,
                     r.size_bytes,
                     r.files,
                     db::TextOrNull(r.manifest_sha256),
                     db::TextOrNull(r.error),
                     r.finished_at ? *r.finished_at : core::WallMillis(),
                     r.id};
  SL_RETURN_IF_ERROR(
      c_.Exec("UPDATE backups SET status = ?, size_bytes = ?, files = ?, "
              "manifest_sha256 = ?, error = ?, finished_at = ? WHERE id = ?",
              v));
  return {};
}

Result<std::vector<BackupRecord>> BackupRepo::List(int limit) {
  const Value v[] = {std::int64_t{limit}};
  SL_ASSIGN_OR_RETURN(auto rows,
                      c_.Query("SELECT id, path, kind, status, size_bytes, files, manifest_sha256, "
                               "error, created_at, finished_at FROM backups "
                               "ORDER BY created_at DESC, id DESC LIMIT ?",
                               v));
  std::vector<BackupRecord> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.Int(5), r.Text(6),
                   r.Text(7), r.Int(8), r.OptInt(9)});
  }
  return out;
}

Result<std::optional<Millis>> BackupRepo::LastGood() {
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt("SELECT finished_at FROM backups WHERE status = 'ok' "
                                            "ORDER BY created_at DESC LIMIT 1"));
  if (!row || row->IsNull(0)) return std::optional<Millis>{};
  return std::optional<Millis>(row->Int(0));
}

Result<void> BackupRepo::Delete(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_RETURN_IF_ERROR(c_.Exec("DELETE FROM backups WHERE id = ?", v));
  return {};
}

Result<void> BackupRepo::SettleAfterRestore(std::string_view restored_id) {
  const Value v[] = {std::string(restored_id)};
  SL_RETURN_IF_ERROR(c_.Exec("UPDATE backups SET status = 'ok' WHERE id = ?", v));
  SL_RETURN_IF_ERROR(c_.Exec(
      "UPDATE backups SET status = 'failed', error = 'unfinished when the restored backup was "
      "taken' WHERE status = 'running'"));
  return {};
}

Result<bool> JobLeaseRepo::TryTake(std::string_view job, std::string_view holder, Millis now,
                                   Millis ttl_ms) {
  // Insert, or take over a lease that has expired or is already ours. On PostgreSQL a racing
  // upsert waits for the row lock and then re-checks the WHERE against the winner's row, so
  // exactly one instance changes it.
  const Value v[] = {std::string(job), std::string(holder), now + ttl_ms, now, std::string(holder)};
  SL_ASSIGN_OR_RETURN(auto changed,
                      c_.Exec("INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?) "
                              "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                              "expires_at = excluded.expires_at "
                              "WHERE job_leases.expires_at <= ? OR job_leases.holder = ?",
                              v));
  return changed == 1;
}

Result<void> JobLeaseRepo::Release(std::string_view job, std::string_view holder) {
  const Value v[] = {std::string(job), std::string(holder)};
  SL_RETURN_IF_ERROR(c_.Exec("DELETE FROM job_leases WHERE name = ? AND holder = ?", v));
  return {};
}

Result<std::vector<ExpiredWorkflow>> RetentionRepo::Expired(
    const std::vector<std::string>& statuses, Millis cutoff, std::string_view after_id,
    Millis after_finished, int limit) {
  std::vector<ExpiredWorkflow> out;
  for (const std::string& status : statuses) {
    // workflows_status_finished (status, finished_at) serves this range in order.
    const Value v[] = {
        status, cutoff, after_finished, after_finished, std::string(after_id), std::int64_t{limit}};
    SL_ASSIGN_OR_RETURN(auto rows, c_.Query("SELECT id, status, finished_at FROM workflows "
                                            "WHERE status = ? AND finished_at < ? AND "
                                            "(finished_at > ? OR (finished_at = ? AND id > ?)) "
                                            "ORDER BY finished_at, id LIMIT ?",
                                            v));
    for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), r.Int(2), 0, 0});
  }
  std::sort(out.begin(), out.end(), [](const ExpiredWorkflow& a, const ExpiredWorkflow& b) {
    return a.finished_at != b.finished_at ? a.finished_at < b.finished_at
                                          : a.workflow_id < b.workflow_id;
  });
  if (static_cast<int>(out.size()) > limit) out.resize(static_cast<std::size_t>(limit));
  for (auto& w : out) {
    const Value v[] = {w.workflow_id};
    SL_ASSIGN_OR_RETURN(auto r, c_.QueryOne("SELECT count(*), coalesce(sum(file_size), 0) FROM "
                                            "generated_files WHERE workflow_id = ?",
                                            v));
    w.files = r.Int(0);
    w.bytes = r.Int(1);
  }
  return out;
}

Result<std::optional<std::vector<std::string>>> RetentionRepo::DeleteIfExpired(
    std::string_view workflow_id, std::string_view status, Millis cutoff) {
  const Value id[] = {std::string(workflow_id)};
  SL_ASSIGN_OR_RETURN(auto rows,
                      c_.Query("SELECT file_path FROM generated_files WHERE workflow_id = ?", id));
  const Value v[] = {std::string(workflow_id), std::string(status), cutoff};
  SL_ASSIGN_OR_RETURN(
      auto n, c_.Exec("DELETE FROM workflows WHERE id = ? AND status = ? AND finished_at < ?", v));
  if (n == 0) return std::optional<std::vector<std::string>>{};
  std::vector<std::string> paths;
  paths.reserve(rows.size());
  for (const auto& r : rows) paths.push_back(r.Text(0));
  return std::optional<std::vector<std::string>>(std::move(paths));
}

}  // namespace storyloom
