// ServerMetrics: the metrics `storyloom serve` exposes at GET /metrics. HTTP requests are
// counted as they finish; workflow counts, queue depth, phase durations, provider usage,
// database size, disk space, backups and cleanup are read at scrape time from indexes and
// rollups. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
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
  // One recorded provider call attempt into storyloom_provider_call_duration_seconds. At
  // most kMaxProviderModels (provider, model) pairs get series of their own; later ones are
  // counted under model "other" (and provider "other" when the provider is new too).
  void ObserveProviderCall(const std::string& provider, const std::string& model,
                           const std::string& operation, double seconds);
  static constexpr std::size_t kMaxProviderModels = 32;
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
  Family<Histogram>* provider_call_seconds_;
  std::mutex provider_models_mu_;
  std::set<std::pair<std::string, std::string>> provider_models_;  // guarded by provider_models_mu_
};

}  // namespace storyloom::ops
