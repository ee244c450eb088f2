// Cleanup as a plan and its application (see cleanup.h): PlanCleanup reads what the retention
// policies select, ApplyCleanup deletes it in short write transactions.
#include "ops/cleanup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>

#include "core/clock.h"
#include "ops/file_deletes.h"

namespace storyloom::ops {

namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

// A retention policy: workflows of `statuses` that finished before `cutoff` expire.
struct Policy {
  std::vector<std::string> statuses;
  Millis cutoff = 0;
};

std::vector<Policy> PoliciesOf(const CleanupOptions& options, Millis now) {
  std::vector<Policy> out;
  if (options.completed_days > 0)
    out.push_back({{"completed"}, now - options.completed_days * kDay});
  if (options.failed_days > 0) {
    out.push_back({{"failed", "cancelled"}, now - options.failed_days * kDay});
  }
  return out;
}

// Appends to `plan` every workflow `policy` selects, read `batch` at a time by keyset.
Result<void> PlanExpired(Store& store, const Policy& policy, int batch, CleanupPlan& plan) {
  std::string after_id;
  Millis after_finished = -1;
  while (true) {
    SL_ASSIGN_OR_RETURN(auto items, store.ReadOne<std::vector<CleanupItem>>([&](StoreTx& tx) {
      return tx.retention().Expired(policy.statuses, policy.cutoff, after_id, after_finished,
                                    batch);
    }));
    if (items.empty()) return {};
    after_id = items.back().workflow_id;
    after_finished = items.back().finished_at;
    for (auto& it : items) {
      plan.files += it.files;
      plan.bytes += it.bytes;
      plan.workflows.push_back({std::move(it), policy.cutoff});
    }
  }
}

// Removes the files at `paths`, counting (and logging) the ones that could not be removed.
void RemoveFiles(files::FileStore& files, const std::vector<std::string>& paths,
                 CleanupReport& report) {
  for (const auto& path : paths) {
    if (auto r = files.Remove(path); !r) {
      ++report.file_errors;
      spdlog::warn("cleanup: {}", r.error().message);
    }
  }
}

void Count(CleanupItem item, CleanupReport& report) {
  report.files += item.files;
  report.bytes += item.bytes;
  report.workflows.push_back(std::move(item));
}

// Deletes planned workflows [begin, end) in one short write transaction, then their files.
// The DELETE re-checks status and age, so a workflow retried since it was planned is left
// alone.
Result<void> DeleteExpiredBatch(Store& store, files::FileStore& files,
                                std::span<const CleanupPlan::Expired> batch,
                                CleanupReport& report) {
  std::vector<CleanupItem> deleted;
  std::vector<std::string> paths;
  SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) -> Result<void> {
    deleted.clear();  // the callback may run again after a transient failure
    paths.clear();
    for (const auto& [item, cutoff] : batch) {
      SL_ASSIGN_OR_RETURN(auto gone,
                          tx.retention().DeleteIfExpired(item.workflow_id, item.status, cutoff));
      if (!gone) continue;
      deleted.push_back(item);
      paths.insert(paths.end(), gone->begin(), gone->end());
    }
    return {};
  }));
  // Rows first, then files: a crash in between leaves orphans, which fsck quarantines, never
  // a row without its file.
  RemoveFiles(files, paths, report);
  for (auto& it : deleted) Count(std::move(it), report);
  return {};
}

// Deletes requested while a run held the workflow, whose runner died before finishing them
// (no live lease any more): rows first, then the files and the folder.
Result<void> FinishMarkedDeletes(Store& store, files::FileStore& files, int batch, Millis now,
                                 CleanupReport& report) {
  for (int round = 0; round < 10000; ++round) {
    SL_ASSIGN_OR_RETURN(auto done, store.WriteOne<std::vector<DeletedWorkflow>>([&](StoreTx& tx) {
      return tx.workflows().DeleteMarked(batch);
    }));
    if (done.empty()) break;
    for (const auto& dw : done) {
      std::vector<std::string> paths;
      paths.reserve(dw.files.size());
      for (const auto& f : dw.files) paths.push_back(f.file_path);
      RemoveFiles(files, paths, report);
      if (auto r = files.RemoveTree(dw.id); !r) {
        ++report.file_errors;
        spdlog::warn("cleanup: {}", r.error().message);
      }
      report.workflows.push_back(
          {dw.id, "deleted", now, static_cast<std::int64_t>(dw.files.size()), 0});
      report.files += static_cast<std::int64_t>(dw.files.size());
    }
  }
  return {};
}

// Deletes api_usage rows before `cutoff`, 1000 per write transaction; returns how many.
Result<std::int64_t> DeleteUsageBefore(Store& store, Millis cutoff) {
  std::int64_t total = 0;
  while (true) {
    SL_ASSIGN_OR_RETURN(auto n, store.WriteOne<std::int64_t>([&](StoreTx& tx) {
      return tx.usage().DeleteBefore(cutoff, 1000);
    }));
    total += n;
    if (n == 0) return total;
  }
}

Result<void> AuditCleanup(Store& store, const CleanupReport& report) {
  nlohmann::json detail = {{"workflows", report.workflows.size()},
                           {"files", report.files},
                           {"bytes", report.bytes},
                           {"usage_rows", report.usage_rows},
                           {"sessions", report.sessions}};
  AuditEntry e;
  e.action = "cleanup.run";
  e.detail_json = detail.dump();
  return store.Write([&](StoreTx& tx) { return tx.audit().Append(e); });
}

}  // namespace

Result<CleanupPlan> PlanCleanup(Store& store, const CleanupOptions& options) {
  CleanupPlan plan;
  plan.now = options.now ? options.now : core::WallMillis();
  for (const Policy& policy : PoliciesOf(options, plan.now)) {
    SL_RETURN_IF_ERROR(PlanExpired(store, policy, std::max(1, options.batch), plan));
  }
  if (options.usage_days > 0) {
    const Millis cutoff = plan.now - options.usage_days * kDay;
    plan.usage_cutoff = cutoff;
    SL_ASSIGN_OR_RETURN(plan.usage_rows, store.ReadOne<std::int64_t>([&](StoreTx& tx) {
      return tx.usage().CountBefore(cutoff);
    }));
  }
  // Browser sessions and one-time sign-in links a day past their expiry or revocation (API
  // tokens stay until their owner deletes them: `tokens list` shows them expired).
  plan.session_cutoff = plan.now - kDay;
  SL_ASSIGN_OR_RETURN(plan.sessions, store.ReadOne<std::int64_t>([&](StoreTx& tx) {
    return tx.tokens().CountDeadSessions(plan.session_cutoff);
  }));
  return plan;
}

CleanupReport ReportOf(const CleanupPlan& plan) {
  CleanupReport report;
  report.dry_run = true;
  for (const auto& expired : plan.workflows) report.workflows.push_back(expired.item);
  report.files = plan.files;
  report.bytes = plan.bytes;
  report.usage_rows = plan.usage_rows;
  report.sessions = plan.sessions;
  return report;
}

Result<CleanupReport> ApplyCleanup(Store& store, files::FileStore& files, const CleanupPlan& plan,
                                   const CleanupOptions& options) {
  CleanupReport report;
  const std::size_t batch = static_cast<std::size_t>(std::max(1, options.batch));
  const std::span<const CleanupPlan::Expired> expired(plan.workflows);
  for (std::size_t at = 0; at < expired.size(); at += batch) {
    SL_RETURN_IF_ERROR(DeleteExpiredBatch(
        store, files, expired.subspan(at, std::min(batch, expired.size() - at)), report));
    if (options.on_progress) {
      options.on_progress("workflows", static_cast<std::int64_t>(report.workflows.size()), 0);
    }
  }
  SL_RETURN_IF_ERROR(FinishMarkedDeletes(store, files, static_cast<int>(batch), plan.now, report));
  SL_RETURN_IF_ERROR(FinishFileDeletes(store, files));
  if (plan.usage_cutoff) {
    SL_ASSIGN_OR_RETURN(report.usage_rows, DeleteUsageBefore(store, *plan.usage_cutoff));
  }
  SL_ASSIGN_OR_RETURN(report.sessions, store.WriteOne<std::int64_t>([&](StoreTx& tx) {
    return tx.tokens().DeleteDeadSessions(plan.session_cutoff);
  }));
  SL_ASSIGN_OR_RETURN(report.vacuumed_pages, store.Compact());
  report.finished_at = core::WallMillis();
  SL_RETURN_IF_ERROR(AuditCleanup(store, report));
  return report;
}

Result<CleanupReport> RunCleanup(Store& store, files::FileStore& files,
                                 const CleanupOptions& options) {
  SL_ASSIGN_OR_RETURN(CleanupPlan plan, PlanCleanup(store, options));
  if (options.dry_run) return ReportOf(plan);
  return ApplyCleanup(store, files, plan, options);
}

Result<std::optional<Millis>> LastCleanup(Store& store) {
  return store.ReadOne<std::optional<Millis>>(
      [](StoreTx& tx) { return tx.audit().LastOf("cleanup.run"); });
}

}  // namespace storyloom::ops
