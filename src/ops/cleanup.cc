#include "ops/cleanup.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace storyloom::ops {

namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

}  // namespace

Result<CleanupReport> RunCleanup(Store& store, files::FileStore& files,
                                 const CleanupOptions& options) {
  CleanupReport report;
  report.dry_run = options.dry_run;
  const Millis now = options.now ? options.now : core::WallMillis();
  const int batch = std::max(1, options.batch);
  struct Policy {
    std::vector<std::string> statuses;
    int days;
  };
  const Policy policies[] = {{{"completed"}, options.completed_days},
                             {{"failed", "cancelled"}, options.failed_days}};
  for (const Policy& p : policies) {
    if (p.days <= 0) continue;
    const Millis cutoff = now - p.days * kDay;
    std::string after_id;
    Millis after_finished = -1;
    while (true) {
      SL_ASSIGN_OR_RETURN(auto items, store.ReadOne<std::vector<CleanupItem>>([&](StoreTx& tx) {
        return tx.retention().Expired(p.statuses, cutoff, after_id, after_finished, batch);
      }));
      if (items.empty()) break;
      after_id = items.back().workflow_id;
      after_finished = items.back().finished_at;
      if (options.dry_run) {
        for (auto& it : items) {
          report.files += it.files;
          report.bytes += it.bytes;
          report.workflows.push_back(std::move(it));
        }
        continue;
      }
      // One short write per batch. The DELETE re-checks status and age, so a workflow retried
      // since it was listed is left alone.
      std::vector<CleanupItem> deleted;
      std::vector<std::string> paths;
      SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) -> Result<void> {
        deleted.clear();
        paths.clear();
        for (const auto& it : items) {
          SL_ASSIGN_OR_RETURN(auto gone,
                              tx.retention().DeleteIfExpired(it.workflow_id, it.status, cutoff));
          if (!gone) continue;
          deleted.push_back(it);
          paths.insert(paths.end(), gone->begin(), gone->end());
        }
        return {};
      }));
      // Rows first, then files: a crash in between leaves orphans, which fsck quarantines,
      // never a row without its file.
      for (const auto& path : paths) {
        if (auto r = files.Remove(path); !r) {
          ++report.file_errors;
          spdlog::warn("cleanup: {}", r.error().message);
        }
      }
      for (auto& it : deleted) {
        report.files += it.files;
        report.bytes += it.bytes;
        report.workflows.push_back(std::move(it));
      }
      if (options.on_progress) {
        options.on_progress("workflows", static_cast<std::int64_t>(report.workflows.size()), 0);
      }
    }
  }
  if (!options.dry_run) {
    // Deletes requested while a run held the workflow, whose runner died before finishing
    // them (no live lease any more): rows first, then the files and the folder.
    for (int round = 0; round < 10000; ++round) {
      SL_ASSIGN_OR_RETURN(auto done, store.WriteOne<std::vector<DeletedWorkflow>>([&](StoreTx& tx) {
        return tx.workflows().DeleteMarked(batch);
      }));
      if (done.empty()) break;
      for (const auto& dw : done) {
        for (const auto& f : dw.files) {
          if (auto r = files.Remove(f.file_path); !r) {
            ++report.file_errors;
            spdlog::warn("cleanup: {}", r.error().message);
          }
        }
        if (auto r = files.RemoveTree(dw.id); !r) {
          ++report.file_errors;
          spdlog::warn("cleanup: {}", r.error().message);
        }
        report.workflows.push_back(
            {dw.id, "deleted", now, static_cast<std::int64_t>(dw.files.size()), 0});
        report.files += static_cast<std::int64_t>(dw.files.size());
      }
    }
  }
  if (options.usage_days > 0) {
    const Millis cutoff = now - options.usage_days * kDay;
    if (options.dry_run) {
      SL_ASSIGN_OR_RETURN(report.usage_rows, store.ReadOne<std::int64_t>([&](StoreTx& tx) {
        return tx.usage().CountBefore(cutoff);
      }));
    } else {
      while (true) {
        SL_ASSIGN_OR_RETURN(auto n, store.WriteOne<std::int64_t>([&](StoreTx& tx) {
          return tx.usage().DeleteBefore(cutoff, 1000);
        }));
        report.usage_rows += n;
        if (n == 0) break;
      }
    }
  }
  {
    // Browser sessions and one-time sign-in links a day past their expiry or revocation
    // (API tokens stay until their owner deletes them: `tokens list` shows them expired).
    const Millis cutoff = now - kDay;
    if (options.dry_run) {
      SL_ASSIGN_OR_RETURN(report.sessions, store.ReadOne<std::int64_t>([&](StoreTx& tx) {
        return tx.tokens().CountDeadSessions(cutoff);
      }));
    } else {
      SL_ASSIGN_OR_RETURN(report.sessions, store.WriteOne<std::int64_t>([&](StoreTx& tx) {
        return tx.tokens().DeleteDeadSessions(cutoff);
      }));
    }
  }
  if (!options.dry_run) {
    SL_ASSIGN_OR_RETURN(report.vacuumed_pages, store.Compact());
    report.finished_at = core::WallMillis();
    nlohmann::json detail = {{"workflows", report.workflows.size()},
                             {"files", report.files},
                             {"bytes", report.bytes},
                             {"usage_rows", report.usage_rows},
                             {"sessions", report.sessions}};
    AuditEntry e;
    e.action = "cleanup.run";
    e.detail_json = detail.dump();
    SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) { return tx.audit().Append(e); }));
  }
  return report;
}

Result<std::optional<Millis>> LastCleanup(Store& store) {
  return store.ReadOne<std::optional<Millis>>(
      [](StoreTx& tx) { return tx.audit().LastOf("cleanup.run"); });
}

}  // namespace storyloom::ops
