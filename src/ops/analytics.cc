#include "ops/analytics.h"

#include <map>

namespace storyloom::ops {

const std::vector<std::int64_t>& DurationBucketsMs() {
  static const std::vector<std::int64_t> k = {10,     25,     50,     100,     250,     500,
                                              1000,   2500,   5000,   10000,   25000,   50000,
                                              100000, 250000, 500000, 1000000, 2500000, 5000000};
  return k;
}

const std::vector<std::int64_t>& CostBucketsNusd() {
  static const std::vector<std::int64_t> k = {
      0,          100000,     250000,      500000,      1000000,     2500000,     5000000,
      10000000,   25000000,   50000000,    100000000,   250000000,   500000000,   1000000000,
      2500000000, 5000000000, 10000000000, 25000000000, 50000000000, 100000000000};
  return k;
}

std::optional<double> BucketQuantile(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& buckets, double q) {
  std::int64_t total = 0;
  for (const auto& [le, n] : buckets) total += n;
  if (total <= 0) return std::nullopt;
  const double rank = q * static_cast<double>(total);
  std::int64_t cumulative = 0;
  double lower = 0;
  double last_finite = 0;
  for (const auto& [le, n] : buckets) {
    if (le != kInfBucket) last_finite = static_cast<double>(le);
    if (n > 0 && static_cast<double>(cumulative + n) >= rank) {
      if (le == kInfBucket) return last_finite;
      const double upper = static_cast<double>(le);
      const double within = (rank - static_cast<double>(cumulative)) / static_cast<double>(n);
      return lower + (upper - lower) * std::clamp(within, 0.0, 1.0);
    }
    cumulative += n;
    if (le != kInfBucket) lower = static_cast<double>(le);
  }
  return last_finite;
}

namespace {

// `scheme` lists every bucket bound, so an empty bucket still marks where the next one starts.
Quantiles FromBuckets(std::map<std::int64_t, std::int64_t> b, double sum,
                      const std::vector<std::int64_t>& scheme) {
  Quantiles q;
  for (std::int64_t le : scheme) b.try_emplace(le, 0);
  std::vector<std::pair<std::int64_t, std::int64_t>> v(b.begin(), b.end());
  for (const auto& [le, n] : v) q.count += n;
  q.sum = sum;
  q.p50 = BucketQuantile(v, 0.5);
  q.p95 = BucketQuantile(v, 0.95);
  return q;
}

}  // namespace

Result<AnalyticsSummary> Summarize(Store& store, const AnalyticsQuery& q) {
  const std::string who = q.user_id.empty() ? "*" : q.user_id;
  return store.ReadOne<AnalyticsSummary>([&](StoreTx& tx) -> Result<AnalyticsSummary> {
    RollupRepo rollups = tx.rollups();
    AnalyticsSummary s;
    SL_ASSIGN_OR_RETURN(s.per_day, rollups.WorkflowDays(who, q.from_day, q.to_day));
    for (const DayStatusCount& d : s.per_day) {
      s.total += d.workflows;
      if (d.status == "completed") s.completed += d.workflows;
      if (d.status == "failed") s.failed += d.workflows;
      if (d.status == "cancelled") s.cancelled += d.workflows;
      if (d.status == "queued") s.queued += d.workflows;
      if (d.status == "running") s.running += d.workflows;
    }
    const std::int64_t finished = s.completed + s.failed + s.cancelled;
    if (finished > 0)
      s.success_rate = static_cast<double>(s.completed) / static_cast<double>(finished);

    SL_ASSIGN_OR_RETURN(auto phases, rollups.PhaseDurations(who, q.from_day, q.to_day));
    std::map<std::string, std::map<std::int64_t, std::int64_t>> pb;
    std::map<std::string, double> psum;
    for (const BucketRow& r : phases) {
      pb[r.key][r.le] += r.count;
      psum[r.key] += static_cast<double>(r.sum);
    }
    for (std::string_view phase : kPhases) {
      auto it = pb.find(std::string(phase));
      if (it == pb.end()) continue;
      s.phase_ms.emplace_back(std::string(phase),
                              FromBuckets(it->second, psum[it->first], DurationBucketsMs()));
    }

    SL_ASSIGN_OR_RETURN(auto costs, rollups.WorkflowCosts(who, q.from_day, q.to_day));
    std::map<std::int64_t, std::int64_t> cb;
    double csum = 0;
    for (const BucketRow& r : costs) {
      cb[r.le] += r.count;
      csum += static_cast<double>(r.sum);
    }
    s.cost_per_workflow_nusd = FromBuckets(cb, csum, CostBucketsNusd());

    SL_ASSIGN_OR_RETURN(s.by_model, rollups.UsageByModel(q.user_id, q.from_day, q.to_day));
    SL_ASSIGN_OR_RETURN(s.by_user, rollups.UsageByUser(q.user_id, q.from_day, q.to_day));
    SL_ASSIGN_OR_RETURN(s.files, rollups.FileTypes(who, q.from_day, q.to_day));
    return s;
  });
}

}  // namespace storyloom::ops
