// Cleanup: retention policies. Deletes finished workflows past their retention (rows, by
// cascade their phases, scenes, file rows and events, and then their files), old api_usage
// rows, and gives the space back (SQLite incremental vacuum; PostgreSQL VACUUM). Never
// touches a queued or running workflow. Works in small write transactions so the writer is
// never held for long. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "files/file_store.h"
#include "ops/backup.h"
#include "storyloom/store.h"

namespace storyloom::ops {

struct CleanupOptions {
  int completed_days = 90;  // 0 = keep completed workflows forever
  int failed_days = 30;     // failed and cancelled; 0 = forever
  int usage_days = 400;     // api_usage rows; 0 = forever (usage_daily is always kept)
  bool dry_run = false;
  int batch = 100;  // workflows per write transaction
  Millis now = 0;   // 0 = the wall clock
  ProgressFn on_progress;
};

// A workflow deleted (or, dry run, that would be) and what its files held.
using CleanupItem = ExpiredWorkflow;

struct CleanupReport {
  bool dry_run = false;
  std::vector<CleanupItem> workflows;  // deleted (or, dry run, that would be)
  std::int64_t files = 0;
  std::int64_t bytes = 0;
  std::int64_t usage_rows = 0;
  std::int64_t sessions = 0;        // expired or revoked sessions and sign-in links
  std::int64_t file_errors = 0;     // files whose removal failed (left as orphans for fsck)
  std::int64_t vacuumed_pages = 0;  // SQLite pages handed back
  Millis finished_at = 0;
};

// What a cleanup would delete now, read in short read transactions: the dry run's answer, and
// the work list of ApplyCleanup.
struct CleanupPlan {
  Millis now = 0;
  // The finished workflows past their retention, oldest first per policy, with their cutoff.
  struct Expired {
    CleanupItem item;
    Millis cutoff = 0;  // the DELETE re-checks it, and the status
  };
  std::vector<Expired> workflows;
  std::int64_t files = 0;  // of the workflows above
  std::int64_t bytes = 0;
  std::optional<Millis> usage_cutoff;  // api_usage rows before it go; nullopt = keep them all
  std::int64_t usage_rows = 0;
  Millis session_cutoff = 0;  // dead sessions and sign-in links before it go
  std::int64_t sessions = 0;
};

// Lists what `options` would delete; writes nothing.
[[nodiscard]] Result<CleanupPlan> PlanCleanup(Store& store, const CleanupOptions& options);

// Deletes what `plan` lists, `options.batch` workflows per write transaction, rows first and
// then their files; finishes deletes left marked by dead runners; deletes old usage rows and
// dead sessions; compacts the database and appends the "cleanup.run" audit entry. The report
// counts what was deleted, which may be less than planned (a workflow retried since).
[[nodiscard]] Result<CleanupReport> ApplyCleanup(Store& store, files::FileStore& files,
                                                 const CleanupPlan& plan,
                                                 const CleanupOptions& options);

// The plan as a report (dry_run set): what a cleanup would delete.
CleanupReport ReportOf(const CleanupPlan& plan);

// PlanCleanup, then (unless options.dry_run, which returns ReportOf the plan) ApplyCleanup.
[[nodiscard]] Result<CleanupReport> RunCleanup(Store& store, files::FileStore& files,
                                               const CleanupOptions& options);

// When the last (non-dry) cleanup finished, from the audit log; nullopt if never.
[[nodiscard]] Result<std::optional<Millis>> LastCleanup(Store& store);

}  // namespace storyloom::ops
