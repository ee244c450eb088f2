// Backup retention: which scheduled backups to keep (a pure plan over the records), then
// deleting the others, directory first and row second.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "core/clock.h"
#include "ops/backup.h"

namespace storyloom::ops {
namespace fs = std::filesystem;

std::vector<BackupRecord> PlanBackupRetention(const std::vector<BackupRecord>& newest_first,
                                              const RetentionPolicy& policy) {
  std::set<std::string> keep;
  std::set<std::string> days, weeks;
  bool newest_kept = false;
  for (const auto& b : newest_first) {
    if (b.kind != "scheduled") {
      keep.insert(b.id);
      continue;
    }
    if (b.status == "running") {  // another process may be writing it
      keep.insert(b.id);
      continue;
    }
    if (b.status != "ok") continue;
    if (!newest_kept) {
      keep.insert(b.id);
      newest_kept = true;
    }
    const std::string day = core::FormatDay(b.created_at);
    if (!days.contains(day) && static_cast<int>(days.size()) < policy.keep_daily) {
      days.insert(day);
      keep.insert(b.id);
    }
    // ISO week: days since the epoch's first Monday (1970-01-05) divided by 7.
    const std::string week = std::to_string((b.created_at / 86400000 - 4) / 7);
    if (!weeks.contains(week) && static_cast<int>(weeks.size()) < policy.keep_weekly) {
      weeks.insert(week);
      keep.insert(b.id);
    }
  }
  std::vector<BackupRecord> remove;
  for (const auto& b : newest_first) {
    if (!keep.contains(b.id)) remove.push_back(b);
  }
  return remove;
}

Result<RetentionReport> ApplyBackupRetention(Store& store, int keep_daily, int keep_weekly) {
  SL_ASSIGN_OR_RETURN(auto all, ListBackups(store, 100000));
  RetentionReport report;
  for (const auto& b : PlanBackupRetention(all, {keep_daily, keep_weekly})) {
    std::error_code ec;
    fs::remove_all(b.path, ec);
    if (ec) {
      spdlog::warn("backup retention: cannot remove {}: {}", b.path, ec.message());
      continue;
    }
    SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) { return tx.backups().Delete(b.id); }));
    report.removed.push_back(b.path);
  }
  return report;
}

}  // namespace storyloom::ops
