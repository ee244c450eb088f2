// Analytics: the summary behind GET /api/v1/analytics/summary, read only from the rollups of
// migration 0003 and usage_daily (one row per day and key, never a scan of workflows or
// api_usage), so it answers in milliseconds on millions of rows. Percentiles come from
// histogram buckets (linear interpolation inside the bucket, like Prometheus's
// histogram_quantile). Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storyloom/store.h"
#include "storyloom/types.h"

namespace storyloom::ops {

struct AnalyticsQuery {
  std::string user_id;   // "" = every user (admins)
  std::string from_day;  // YYYY-MM-DD, inclusive
  std::string to_day;    // YYYY-MM-DD, inclusive
};

struct Quantiles {
  std::int64_t count = 0;
  double sum = 0;
  std::optional<double> p50, p95;  // nullopt when count is 0
};

struct AnalyticsSummary {
  std::vector<DayStatusCount> per_day;  // day ascending; zero counts left out
  std::int64_t total = 0, completed = 0, failed = 0, cancelled = 0, queued = 0, running = 0;
  std::optional<double> success_rate;  // completed / (completed + failed + cancelled)
  std::vector<std::pair<std::string, Quantiles>> phase_ms;  // by phase, pipeline order
  Quantiles cost_per_workflow_nusd;
  std::vector<CostGroup> by_model;
  std::vector<CostGroup> by_user;
  std::vector<FileTypeStats> files;
};

[[nodiscard]] Result<AnalyticsSummary> Summarize(Store& store, const AnalyticsQuery& q);

// Bucket upper bounds of the rollup histograms (the CASE expressions in migration 0003).
const std::vector<std::int64_t>& DurationBucketsMs();
const std::vector<std::int64_t>& CostBucketsNusd();
inline constexpr std::int64_t kInfBucket = 9223372036854775807LL;

// The q-quantile of a histogram given as (upper bound, count) pairs sorted by bound; the +Inf
// bucket answers with the largest finite bound. nullopt when empty.
std::optional<double> BucketQuantile(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& buckets, double q);

}  // namespace storyloom::ops
