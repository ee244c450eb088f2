#include "ops/metric_collectors.h"

#include <chrono>
#include <filesystem>
#include <limits>
#include <map>

#include "core/clock.h"
#include "core/storage_error.h"
#include "ops/analytics.h"
#include "ops/backup.h"
#include "ops/cleanup.h"

namespace storyloom::ops {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

bool ScrapeReads::Read(const std::string& query, const std::function<Result<void>(StoreTx&)>& fn) {
  return Timed(query, [&] { return store_.Read(fn).has_value(); });
}

bool ScrapeReads::Timed(const std::string& query, const std::function<bool()>& fn) {
  const auto t0 = Clock::now();
  const bool ok = fn();
  seconds_.With({query}).Observe(SecondsSince(t0));
  if (!ok) errors_.With({query}).Inc();
  return ok;
}

//------------------------------------------------------------------------------------------

bool CollectWorkflows(ScrapeReads& db, const std::function<int()>& running_here, MetricsWriter& w) {
  // Workflows by status (workflows_status index) and the queue.
  std::map<std::string, std::int64_t> by_status;
  const bool up = db.Read("workflow_counts", [&](StoreTx& tx) -> Result<void> {
    for (auto s : {WorkflowStatus::kQueued, WorkflowStatus::kRunning, WorkflowStatus::kCompleted,
                   WorkflowStatus::kFailed, WorkflowStatus::kCancelled}) {
      SL_ASSIGN_OR_RETURN(by_status[std::string(ToString(s))], tx.workflows().Count(s));
    }
    return {};
  });
  w.Family("storyloom_database_up", "gauge", "1 if the database answered this scrape.");
  w.Sample("storyloom_database_up", {}, {}, up ? 1 : 0);
  if (!up) return false;
  w.Family("storyloom_workflows", "gauge", "Workflows in the database by status.");
  for (const auto& [s, n] : by_status)
    w.Sample("storyloom_workflows", {"status"}, {s}, static_cast<double>(n));
  w.Family("storyloom_queue_depth", "gauge", "Queued workflows waiting for a worker.");
  w.Sample("storyloom_queue_depth", {}, {}, static_cast<double>(by_status["queued"]));
  if (running_here) {
    w.Family("storyloom_workflows_running_here", "gauge", "Workflows this instance is running.");
    w.Sample("storyloom_workflows_running_here", {}, {}, running_here());
  }
  return true;
}

//------------------------------------------------------------------------------------------

void CollectPhaseDurations(ScrapeReads& db, MetricsWriter& w) {
  std::map<std::string, std::map<std::int64_t, std::int64_t>> phase_buckets;
  std::map<std::string, double> phase_sum;
  db.Read("phase_rollup", [&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto rows, tx.rollups().PhaseDurations("*", "", ""));
    for (const BucketRow& r : rows) {
      phase_buckets[r.key][r.le] += r.count;
      phase_sum[r.key] += static_cast<double>(r.sum) / 1000.0;
    }
    return {};
  });
  w.Family("storyloom_phase_duration_seconds", "histogram",
           "Duration of completed workflow phases (all instances, from the database).");
  for (const auto& [phase, b] : phase_buckets) {
    std::int64_t cumulative = 0;
    for (std::int64_t le : DurationBucketsMs()) {
      auto it = b.find(le);
      if (it != b.end()) cumulative += it->second;
      w.Sample("storyloom_phase_duration_seconds_bucket", {"phase", "le"},
               {phase, FormatMetricValue(static_cast<double>(le) / 1000.0)},
               static_cast<double>(cumulative));
    }
    std::int64_t total = 0;
    for (const auto& [le, n] : b) total += n;
    w.Sample("storyloom_phase_duration_seconds_bucket", {"phase", "le"}, {phase, "+Inf"},
             static_cast<double>(total));
    w.Sample("storyloom_phase_duration_seconds_sum", {"phase"}, {phase}, phase_sum[phase]);
    w.Sample("storyloom_phase_duration_seconds_count", {"phase"}, {phase},
             static_cast<double>(total));
  }
}

//------------------------------------------------------------------------------------------

void CollectProviderUsage(ScrapeReads& db, MetricsWriter& w) {
  struct Usage {
    double calls = 0, errors = 0, in = 0, out = 0, cost = 0;
  };
  std::map<std::pair<std::string, std::string>, Usage> usage;
  db.Read("usage_rollup", [&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto rows, tx.rollups().UsageByModel("", "", ""));
    for (const CostGroup& g : rows) {
      usage[{g.provider, g.model}] = {static_cast<double>(g.calls), static_cast<double>(g.errors),
                                      static_cast<double>(g.input_tokens),
                                      static_cast<double>(g.output_tokens),
                                      static_cast<double>(g.cost_nusd) / 1e9};
    }
    return {};
  });
  const std::vector<std::string> pm = {"provider", "model"};
  w.Family("storyloom_provider_calls_total", "counter", "Provider call attempts recorded.");
  for (const auto& [k, u] : usage)
    w.Sample("storyloom_provider_calls_total", pm, {k.first, k.second}, u.calls);
  w.Family("storyloom_provider_errors_total", "counter", "Provider call attempts that failed.");
  for (const auto& [k, u] : usage)
    w.Sample("storyloom_provider_errors_total", pm, {k.first, k.second}, u.errors);
  w.Family("storyloom_provider_tokens_total", "counter",
           "Tokens sent to and received from providers.");
  for (const auto& [k, u] : usage) {
    w.Sample("storyloom_provider_tokens_total", {"provider", "model", "direction"},
             {k.first, k.second, "input"}, u.in);
    w.Sample("storyloom_provider_tokens_total", {"provider", "model", "direction"},
             {k.first, k.second, "output"}, u.out);
  }
  w.Family("storyloom_provider_cost_usd_total", "counter", "Priced cost of provider calls in USD.");
  for (const auto& [k, u] : usage)
    w.Sample("storyloom_provider_cost_usd_total", pm, {k.first, k.second}, u.cost);
}

//------------------------------------------------------------------------------------------

void CollectDatabaseSize(ScrapeReads& db, const std::string& sqlite_path, MetricsWriter& w) {
  double db_bytes = 0, free_pages = -1;
  db.Timed("database_size", [&] {
    auto size = db.store().Size();
    if (!size) return false;
    db_bytes = static_cast<double>(size->bytes);
    free_pages = static_cast<double>(size->free_pages);
    return true;
  });
  w.Family("storyloom_database_size_bytes", "gauge", "Size of the database.");
  w.Sample("storyloom_database_size_bytes", {}, {}, db_bytes);
  if (!sqlite_path.empty()) {
    std::error_code ec;
    const auto wal = std::filesystem::file_size(sqlite_path + "-wal", ec);
    w.Family("storyloom_database_wal_size_bytes", "gauge", "Size of the SQLite write-ahead log.");
    w.Sample("storyloom_database_wal_size_bytes", {}, {}, ec ? 0.0 : static_cast<double>(wal));
    w.Family("storyloom_database_free_pages", "gauge",
             "SQLite pages on the freelist (reclaimable).");
    w.Sample("storyloom_database_free_pages", {}, {}, free_pages);
  }
  const DatabaseStats st = db.store().stats();
  w.Family("storyloom_database_write_transactions_total", "counter",
           "Write transactions committed.");
  w.Sample("storyloom_database_write_transactions_total", {}, {},
           static_cast<double>(st.write_transactions));
  w.Family("storyloom_database_reads_total", "counter", "Read transactions run.");
  w.Sample("storyloom_database_reads_total", {}, {}, static_cast<double>(st.reads));
}

//------------------------------------------------------------------------------------------

void CollectDisk(const std::string& data_dir, std::uint64_t min_free_bytes, MetricsWriter& w) {
  if (auto space = core::DiskSpaceAt(data_dir)) {
    w.Family("storyloom_disk_free_bytes", "gauge",
             "Free bytes (for unprivileged users) under the data directory.");
    w.Sample("storyloom_disk_free_bytes", {}, {}, static_cast<double>(space->free_bytes));
    w.Family("storyloom_disk_size_bytes", "gauge",
             "Size of the filesystem holding the data directory.");
    w.Sample("storyloom_disk_size_bytes", {}, {}, static_cast<double>(space->size_bytes));
    w.Family("storyloom_disk_low", "gauge",
             "1 while free space under the data directory is below min_free_disk_bytes.");
    w.Sample("storyloom_disk_low", {}, {}, space->free_bytes < min_free_bytes ? 1.0 : 0.0);
  }
  const core::StorageFaultCounts faults = core::StorageFaults();
  w.Family(
      "storyloom_storage_errors_total", "counter",
      "Writes refused by a full disk (kind=\"full\") or failed by an I/O error (kind=\"io\").");
  w.Sample("storyloom_storage_errors_total", {"kind"}, {"full"}, static_cast<double>(faults.full));
  w.Sample("storyloom_storage_errors_total", {"kind"}, {"io"}, static_cast<double>(faults.io));
}

//------------------------------------------------------------------------------------------

void CollectOperations(ScrapeReads& db, MetricsWriter& w) {
  const double now = static_cast<double>(core::WallMillis()) / 1000.0;
  std::optional<Millis> last_backup, last_cleanup;
  // Neither read counts as a scrape error: "never" is a valid answer.
  db.Timed("operations", [&] {
    if (auto b = LastGoodBackup(db.store())) last_backup = *b;
    if (auto c = LastCleanup(db.store())) last_cleanup = *c;
    return true;
  });
  w.Family("storyloom_last_backup_timestamp_seconds", "gauge",
           "When the last successful backup finished (0: never).");
  w.Sample("storyloom_last_backup_timestamp_seconds", {}, {},
           last_backup ? *last_backup / 1000.0 : 0);
  w.Family("storyloom_last_backup_age_seconds", "gauge",
           "Seconds since the last successful backup (+Inf: never).");
  w.Sample("storyloom_last_backup_age_seconds", {}, {},
           last_backup ? now - *last_backup / 1000.0 : std::numeric_limits<double>::infinity());
  w.Family("storyloom_last_cleanup_timestamp_seconds", "gauge",
           "When the last cleanup finished (0: never).");
  w.Sample("storyloom_last_cleanup_timestamp_seconds", {}, {},
           last_cleanup ? *last_cleanup / 1000.0 : 0);
}

}  // namespace storyloom::ops
