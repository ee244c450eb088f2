// ServerMetrics: the metrics `storyloom serve` exposes at GET /metrics. HTTP requests are
// counted as they finish; workflow counts, queue depth, phase durations, provider usage,
// database size, disk space, backups and cleanup are read at scrape time from indexes and
// rollups. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ops/metrics.h"
#include "storyloom/store.h"

namespace storyloom::ops {

struct ServerMetricsOptions {
  std::string data_dir;
  std::string sqlite_path;                // "" on PostgreSQL
  std::uint64_t min_free_disk_bytes = 0;  // storyloom_disk_low below it
  std::function<int()> running_here;      // workflows this instance is running now
};

class ServerMetrics {
 public:
  ServerMetrics(Store& store, ServerMetricsOptions options);

  // One finished HTTP request; `route` is the route's name ("" when none matched).
  void ObserveHttp(const std::string& method, const std::string& route, int status, double seconds);
  // The exposition for GET /metrics.
  std::string Render();
  MetricsRegistry& registry() { return registry_; }

 private:
  void CollectDatabase(MetricsWriter& w);

  Store& store_;
  ServerMetricsOptions options_;
  MetricsRegistry registry_;
  Family<Counter>* http_requests_;
  Family<Histogram>* http_seconds_;
  Family<Histogram>* db_query_seconds_;
  Family<Counter>* scrape_errors_;
};

}  // namespace storyloom::ops
