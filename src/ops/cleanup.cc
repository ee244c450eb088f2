#include "ops/cleanup.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "db/database.h"

namespace storyloom::ops {
using db::Value;

namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

// The oldest `limit` workflows of `statuses` finished before `cutoff`, with their files.
Result<std::vector<CleanupItem>> Candidates(db::Connection& c,
                                            const std::vector<std::string>& statuses, Millis cutoff,
                                            const std::string& after_id, Millis after_finished,
                                            int limit) {
  std::vector<CleanupItem> out;
  for (const std::string& status : statuses) {
    // workflows_status_finished (status, finished_at) serves this range in order.
    const Value v[] = {status,         cutoff,   after_finished,
                       after_finished, after_id, std::int64_t{limit}};
    SL_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT id, status, finished_at FROM workflows "
                                           "WHERE status = ? AND finished_at < ? AND "
                                           "(finished_at > ? OR (finished_at = ? AND id > ?)) "
                                           "ORDER BY finished_at, id LIMIT ?",
                                           v));
    for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), r.Int(2), 0, 0});
  }
  std::sort(out.begin(), out.end(), [](const CleanupItem& a, const CleanupItem& b) {
    return a.finished_at != b.finished_at ? a.finished_at < b.finished_at
                                          : a.workflow_id < b.workflow_id;
  });
  if (static_cast<int>(out.size()) > limit) out.resize(static_cast<std::size_t>(limit));
  for (auto& item : out) {
    const Value v[] = {item.workflow_id};
    SL_ASSIGN_OR_RETURN(auto r, c.QueryOne("SELECT count(*), coalesce(sum(file_size), 0) FROM "
                                           "generated_files WHERE workflow_id = ?",
                                           v));
    item.files = r.Int(0);
    item.bytes = r.Int(1);
  }
  return out;
}

Result<void> Vacuum(Store& store, CleanupReport& report) {
  db::Database& d = store.database();
  if (d.dialect() == db::Dialect::kSqlite) {
    // A few thousand pages per transaction: other writes get their turn in between.
    for (int i = 0; i < 100000; ++i) {
      std::int64_t free_pages = 0;
      SL_RETURN_IF_ERROR(d.Write([&](db::Connection& c) -> Result<void> {
        SL_ASSIGN_OR_RETURN(auto before, c.QueryOne("PRAGMA freelist_count"));
        free_pages = before.Int(0);
        if (free_pages > 0) SL_RETURN_IF_ERROR(c.Query("PRAGMA incremental_vacuum(2000)"));
        return {};
      }));
      if (free_pages == 0) break;
      report.vacuumed_pages += std::min<std::int64_t>(free_pages, 2000);
    }
    // The file only shrinks once the WAL is checkpointed into it.
    return d.Exclusive([](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Query("PRAGMA wal_checkpoint(TRUNCATE)"));
      return {};
    });
  }
  return d.Exclusive([](db::Connection& c) { return c.ExecScript("VACUUM"); });
}

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
      SL_ASSIGN_OR_RETURN(
          auto items,
          db::ReadValue<std::vector<CleanupItem>>(store.database(), [&](db::Connection& c) {
            return Candidates(c, p.statuses, cutoff, after_id, after_finished, batch);
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
      SL_RETURN_IF_ERROR(store.database().Write([&](db::Connection& c) -> Result<void> {
        deleted.clear();
        paths.clear();
        for (const auto& it : items) {
          const Value id[] = {it.workflow_id};
          SL_ASSIGN_OR_RETURN(
              auto rows,
              c.Query("SELECT file_path FROM generated_files WHERE workflow_id = ?", id));
          const Value v[] = {it.workflow_id, it.status, cutoff};
          SL_ASSIGN_OR_RETURN(auto n, c.Exec("DELETE FROM workflows WHERE id = ? AND status = ? "
                                             "AND finished_at < ?",
                                             v));
          if (n == 0) continue;
          deleted.push_back(it);
          for (const auto& r : rows) paths.push_back(r.Text(0));
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
        return tx.DeleteMarkedWorkflows(batch);
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
      SL_ASSIGN_OR_RETURN(
          report.usage_rows,
          db::ReadValue<std::int64_t>(
              store.database(), [&](db::Connection& c) -> Result<std::int64_t> {
                const Value v[] = {cutoff};
                SL_ASSIGN_OR_RETURN(
                    auto r, c.QueryOne("SELECT count(*) FROM api_usage WHERE created_at < ?", v));
                return r.Int(0);
              }));
    } else {
      while (true) {
        SL_ASSIGN_OR_RETURN(
            auto n, db::WriteValue<std::int64_t>(store.database(), [&](db::Connection& c) {
              const Value v[] = {cutoff};
              return c.Exec(
                  "DELETE FROM api_usage WHERE id IN (SELECT id FROM api_usage WHERE "
                  "created_at < ? ORDER BY created_at LIMIT 1000)",
                  v);
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
    const Value v[] = {cutoff, cutoff};
    const std::string where =
        " FROM api_tokens WHERE kind IN ('session', 'login') AND (expires_at < ? OR "
        "revoked_at < ?)";
    if (options.dry_run) {
      SL_ASSIGN_OR_RETURN(report.sessions,
                          db::ReadValue<std::int64_t>(
                              store.database(), [&](db::Connection& c) -> Result<std::int64_t> {
                                SL_ASSIGN_OR_RETURN(auto r,
                                                    c.QueryOne("SELECT count(*)" + where, v));
                                return r.Int(0);
                              }));
    } else {
      SL_ASSIGN_OR_RETURN(report.sessions,
                          db::WriteValue<std::int64_t>(store.database(), [&](db::Connection& c) {
                            return c.Exec("DELETE" + where, v);
                          }));
    }
  }
  if (!options.dry_run) {
    SL_RETURN_IF_ERROR(Vacuum(store, report));
    report.finished_at = core::WallMillis();
    nlohmann::json detail = {{"workflows", report.workflows.size()},
                             {"files", report.files},
                             {"bytes", report.bytes},
                             {"usage_rows", report.usage_rows},
                             {"sessions", report.sessions}};
    AuditEntry e;
    e.action = "cleanup.run";
    e.detail_json = detail.dump();
    SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) { return tx.AppendAudit(e); }));
  }
  return report;
}

Result<std::optional<Millis>> LastCleanup(Store& store) {
  return db::ReadValue<std::optional<Millis>>(
      store.database(), [&](db::Connection& c) -> Result<std::optional<Millis>> {
        SL_ASSIGN_OR_RETURN(auto row, c.QueryOpt("SELECT created_at FROM audit_log WHERE action = "
                                                 "'cleanup.run' ORDER BY created_at DESC LIMIT 1"));
        if (!row) return std::optional<Millis>{};
        return std::optional<Millis>(row->Int(0));
      });
}

}  // namespace storyloom::ops
