#include "ops/server_metrics.h"

#include "ops/metric_collectors.h"

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
  // Provider calls take from milliseconds (offline, a cache) to minutes (image models).
  provider_call_seconds_ = &registry_.AddHistogram(
      "storyloom_provider_call_duration_seconds",
      "Provider call attempts recorded by this instance (api_usage duration_ms), by provider, "
      "model and operation.",
      {"provider", "model", "operation"},
      {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300});
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

void ServerMetrics::ObserveProviderCall(const std::string& provider, const std::string& model,
                                        const std::string& operation, double seconds) {
  // Providers and models come from the configuration, but POST /api/v1/usage records calls
  // made elsewhere under any name: the label set is capped so a client cannot grow it.
  std::pair<std::string, std::string> key{provider, model};
  {
    std::lock_guard lock(provider_models_mu_);
    if (!provider_models_.contains(key)) {
      if (provider_models_.size() < kMaxProviderModels) {
        provider_models_.insert(key);
      } else {
        bool known_provider = false;
        for (const auto& [p, m] : provider_models_)
          known_provider = known_provider || p == provider;
        key = {known_provider ? provider : "other", "other"};
      }
    }
  }
  const std::string op =
      operation == "chat" || operation == "image" || operation == "speech" ? operation : "other";
  provider_call_seconds_->With({key.first, key.second, op}).Observe(seconds);
}

std::string ServerMetrics::Render() { return registry_.Render(); }

void ServerMetrics::CollectDatabase(MetricsWriter& w) {
  ScrapeReads db(store_, *db_query_seconds_, *scrape_errors_);
  if (!CollectWorkflows(db, options_.running_here, w)) return;
  CollectPhaseDurations(db, w);
  CollectProviderUsage(db, w);
  CollectDatabaseSize(db, options_.sqlite_path, w);
  CollectDisk(options_.data_dir, options_.min_free_disk_bytes, w);
  CollectOperations(db, w);
}

}  // namespace storyloom::ops
