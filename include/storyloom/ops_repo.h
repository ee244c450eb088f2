// Rows that operations keep: backup records (BackupRepo), leases of jobs that run on one
// instance at a time (JobLeaseRepo) and finished workflows past their retention
// (RetentionRepo). Reached from a transaction (tx.backups(), tx.job_leases(),
// tx.retention()); used on its thread only.
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

struct BackupRecord {
  std::string id;
  std::string path;
  std::string kind;
  std::string status;
  std::int64_t size_bytes = 0;
  std::int64_t files = 0;
  std::string manifest_sha256;
  std::string error;
  Millis created_at = 0;
  std::optional<Millis> finished_at;
};

class BackupRepo {
 public:
  explicit BackupRepo(db::Connection& c) : c_(c) {}

  // Records a backup being written (status "running").
  [[nodiscard]] Result<void> Start(std::string_view id, std::string_view path,
                                   std::string_view kind, Millis created_at);
  // Its outcome: status "ok" or "failed", with what it holds or why it failed.
  [[nodiscard]] Result<void> Finish(const BackupRecord& r);
  // Newest first.
  [[nodiscard]] Result<std::vector<BackupRecord>> List(int limit);
  // When the newest "ok" backup finished; nullopt if none did.
  [[nodiscard]] Result<std::optional<Millis>> LastGood();
  [[nodiscard]] Result<void> Delete(std::string_view id);
  // In a database just restored from backup `restored_id`: that backup is "ok" (its
  // snapshot saw it running), and any other still "running" then failed.
  [[nodiscard]] Result<void> SettleAfterRestore(std::string_view restored_id);

 private:
  db::Connection& c_;
};

class JobLeaseRepo {
 public:
  explicit JobLeaseRepo(db::Connection& c) : c_(c) {}

  // Takes the lease on `job` for `holder` until now + ttl_ms: true when taken (also when
  // `holder` already held it), false while another holder's lease is unexpired. One
  // statement, so exactly one of racing instances wins.
  [[nodiscard]] Result<bool> TryTake(std::string_view job, std::string_view holder, Millis now,
                                     Millis ttl_ms);
  // Gives the lease back if `holder` still holds it.
  [[nodiscard]] Result<void> Release(std::string_view job, std::string_view holder);

 private:
  db::Connection& c_;
};

// A finished workflow past its retention, with what its files hold.
struct ExpiredWorkflow {
  std::string workflow_id;
  std::string status;
  Millis finished_at = 0;
  std::int64_t files = 0;
  std::int64_t bytes = 0;
};

class RetentionRepo {
 public:
  explicit RetentionRepo(db::Connection& c) : c_(c) {}

  // The oldest `limit` workflows of `statuses` finished before `cutoff`, after the keyset
  // position (after_finished, after_id), in (finished_at, id) order, with their files.
  [[nodiscard]] Result<std::vector<ExpiredWorkflow>> Expired(
      const std::vector<std::string>& statuses, Millis cutoff, std::string_view after_id,
      Millis after_finished, int limit);
  // Deletes the workflow if it still has `status` and finished before `cutoff` (a workflow
  // retried since it was listed is left alone). Returns its file paths, or nullopt when it
  // was left alone.
  [[nodiscard]] Result<std::optional<std::vector<std::string>>> DeleteIfExpired(
      std::string_view workflow_id, std::string_view status, Millis cutoff);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
