#include "ops/server_metrics.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "core/clock.h"
#include "core/storage_error.h"
#include "ops/analytics.h"
#include "ops/backup.h"
#include "ops/cleanup.h"

namespace storyloom::ops {

ServerMetrics::ServerMetrics(Store& store, ServerMetricsOptions options)
    : store_(store), options_(std::move(options)) {
  http_requests_ = &registry_.AddCounter("storyloom_http_requests_total",
                                         "HTTP requests finished, by method, route and status.",
                                         {"method", "route", "status"});
  http_seconds_ =
      &registry_.AddHistogram("storyloom_http_request_duration_seconds",
                              "HTTP request latency by route.", {"route"}, LatencyBuckets());
  db_query_seconds_ = &registry_.AddHistogram(
      "storyloom_db_query_duration_seconds",
      "Latency of the database queries the metrics scrape runs, by query.", {"query"},
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  scrape_errors_ = &registry_.AddCounter("storyloom_metrics_scrape_errors_total",
                                         "Scrape-time queries that failed.", {"query"});
  registry_.AddCollector([this](MetricsWriter& w) { CollectDatabase(w); });
}

void ServerMetrics::ObserveHttp(const std::string& method, const std::string& route, int status,
                                double seconds) {
  // Every label comes from a closed set: client input (a method, a path) would otherwise
  // make unbounded series. Route names are the router's; unmatched paths share one value.
  static constexpr std::string_view kMethods[] = {"GET",    "HEAD",  "POST",   "PUT",
                                                  "DELETE", "PATCH", "OPTIONS"};
  std::string m = "OTHER";
  for (std::string_view k : kMethods) {
    if (method == k) m = std::string(k);
  }
  const std::string r = route.empty() ? "unmatched" : route;
  const std::string s = status >= 100 && status <= 599 ? std::to_string(status) : "other";
  http_requests_->With({m, r, s}).Inc();
  http_seconds_->With({r}).Observe(seconds);
}

std::string ServerMetrics::Render() { return registry_.Render(); }

void ServerMetrics::CollectDatabase(MetricsWriter& w) {
  using Clock = std::chrono::steady_clock;
  // Runs one timed read; false (and an error count) if it failed.
  auto timed = [&](const std::string& name, const std::function<Result<void>(StoreTx&)>& fn) {
    const auto t0 = Clock::now();
    auto r = store_.Read(fn);
    db_query_seconds_->With({name}).Observe(
        std::chrono::duration<double>(Clock::now() - t0).count());
    if (!r) scrape_errors_->With({name}).Inc();
    return r.has_value();
  };

  // Workflows by status (workflows_status index) and the queue.
  std::map<std::string, std::int64_t> by_status;
  const bool up = timed("workflow_counts", [&](StoreTx& tx) -> Result<void> {
    for (auto s : {WorkflowStatus::kQueued, WorkflowStatus::kRunning, WorkflowStatus::kCompleted,
                   WorkflowStatus::kFailed, WorkflowStatus::kCancelled}) {
      SL_ASSIGN_OR_RETURN(by_status[std::string(ToString(s))], tx.workflows().Count(s));
    }
    return {};
  });
  w.Family("storyloom_database_up", "gauge", "1 if the database answered this scrape.");
  w.Sample("storyloom_database_up", {}, {}, up ? 1 : 0);
  if (!up) return;
  w.Family("storyloom_workflows", "gauge", "Workflows in the database by status.");
  for (const auto& [s, n] : by_status)
    w.Sample("storyloom_workflows", {"status"}, {s}, static_cast<double>(n));
  w.Family("storyloom_queue_depth", "gauge", "Queued workflows waiting for a worker.");
  w.Sample("storyloom_queue_depth", {}, {}, static_cast<double>(by_status["queued"]));
  if (options_.running_here) {
    w.Family("storyloom_workflows_running_here", "gauge", "Workflows this instance is running.");
    w.Sample("storyloom_workflows_running_here", {}, {}, options_.running_here());
  }

  // Phase durations, from the all-users rollup histogram.
  std::map<std::string, std::map<std::int64_t, std::int64_t>> phase_buckets;
  std::map<std::string, double> phase_sum;
  timed("phase_rollup", [&](StoreTx& tx) -> Result<void> {
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

  // Provider calls, errors, tokens and cost, from the usage rollup.
  struct Usage {
    double calls = 0, errors = 0, in = 0, out = 0, cost = 0;
  };
  std::map<std::pair<std::string, std::string>, Usage> usage;
  timed("usage_rollup", [&](StoreTx& tx) -> Result<void> {
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

  // Database size.
  double db_bytes = 0, free_pages = -1;
  {
    const auto t0 = Clock::now();
    auto size = store_.Size();
    db_query_seconds_->With({"database_size"})
        .Observe(std::chrono::duration<double>(Clock::now() - t0).count());
    if (size) {
      db_bytes = static_cast<double>(size->bytes);
      free_pages = static_cast<double>(size->free_pages);
    } else {
      scrape_errors_->With({"database_size"}).Inc();
    }
  }
  w.Family("storyloom_database_size_bytes", "gauge", "Size of the database.");
  w.Sample("storyloom_database_size_bytes", {}, {}, db_bytes);
  if (!options_.sqlite_path.empty()) {
    std::error_code ec;
    const auto wal = std::filesystem::file_size(options_.sqlite_path + "-wal", ec);
    w.Family("storyloom_database_wal_size_bytes", "gauge", "Size of the SQLite write-ahead log.");
    w.Sample("storyloom_database_wal_size_bytes", {}, {}, ec ? 0.0 : static_cast<double>(wal));
    w.Family("storyloom_database_free_pages", "gauge",
             "SQLite pages on the freelist (reclaimable).");
    w.Sample("storyloom_database_free_pages", {}, {}, free_pages);
  }
  const DatabaseStats st = store_.stats();
  w.Family("storyloom_database_write_transactions_total", "counter",
           "Write transactions committed.");
  w.Sample("storyloom_database_write_transactions_total", {}, {},
           static_cast<double>(st.write_transactions));
  w.Family("storyloom_database_reads_total", "counter", "Read transactions run.");
  w.Sample("storyloom_database_reads_total", {}, {}, static_cast<double>(st.reads));

  // Disk under the data directory, and the storage faults seen.
  if (auto space = core::DiskSpaceAt(options_.data_dir)) {
    w.Family("storyloom_disk_free_bytes", "gauge",
             "Free bytes (for unprivileged users) under the data directory.");
    w.Sample("storyloom_disk_free_bytes", {}, {}, static_cast<double>(space->free_bytes));
    w.Family("storyloom_disk_size_bytes", "gauge",
             "Size of the filesystem holding the data directory.");
    w.Sample("storyloom_disk_size_bytes", {}, {}, static_cast<double>(space->size_bytes));
    w.Family("storyloom_disk_low", "gauge",
             "1 while free space under the data directory is below min_free_disk_bytes.");
    w.Sample("storyloom_disk_low", {}, {},
             space->free_bytes < options_.min_free_disk_bytes ? 1.0 : 0.0);
  }
  const core::StorageFaultCounts faults = core::StorageFaults();
  w.Family(
      "storyloom_storage_errors_total", "counter",
      "Writes refused by a full disk (kind=\"full\") or failed by an I/O error (kind=\"io\").");
  w.Sample("storyloom_storage_errors_total", {"kind"}, {"full"}, static_cast<double>(faults.full));
  w.Sample("storyloom_storage_errors_total", {"kind"}, {"io"}, static_cast<double>(faults.io));

  // Backups and cleanup.
  const double now = static_cast<double>(core::WallMillis()) / 1000.0;
  std::optional<Millis> last_backup, last_cleanup;
  const auto t0 = Clock::now();
  if (auto b = LastGoodBackup(store_)) last_backup = *b;
  if (auto c = LastCleanup(store_)) last_cleanup = *c;
  db_query_seconds_->With({"operations"})
      .Observe(std::chrono::duration<double>(Clock::now() - t0).count());
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
