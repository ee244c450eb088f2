#include "ops/analytics.h"

#include <map>

#include "db/database.h"
#include "store/safe_sum.h"

namespace storyloom::ops {
using db::Value;

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
  return db::ReadValue<AnalyticsSummary>(
      store.database(), [&](db::Connection& c) -> Result<AnalyticsSummary> {
        AnalyticsSummary s;
        const Value range[] = {who, q.from_day, q.to_day};
        SL_ASSIGN_OR_RETURN(auto days, c.Query("SELECT day, status, workflows FROM workflow_daily "
                                               "WHERE user_id = ? AND day >= ? AND day <= ? "
                                               "AND workflows <> 0 ORDER BY day, status",
                                               range));
        for (const auto& r : days) {
          DayStatusCount d{r.Text(0), r.Text(1), r.Int(2)};
          s.total += d.workflows;
          if (d.status == "completed") s.completed += d.workflows;
          if (d.status == "failed") s.failed += d.workflows;
          if (d.status == "cancelled") s.cancelled += d.workflows;
          if (d.status == "queued") s.queued += d.workflows;
          if (d.status == "running") s.running += d.workflows;
          s.per_day.push_back(std::move(d));
        }
        const std::int64_t finished = s.completed + s.failed + s.cancelled;
        if (finished > 0)
          s.success_rate = static_cast<double>(s.completed) / static_cast<double>(finished);

        SL_ASSIGN_OR_RETURN(auto phases,
                            c.Query("SELECT phase, le_ms, sum(phases), sum(sum_ms) FROM "
                                    "phase_duration_daily WHERE user_id = ? AND day >= ? "
                                    "AND day <= ? GROUP BY phase, le_ms",
                                    range));
        std::map<std::string, std::map<std::int64_t, std::int64_t>> pb;
        std::map<std::string, double> psum;
        for (const auto& r : phases) {
          pb[r.Text(0)][r.Int(1)] += r.Int(2);
          psum[r.Text(0)] += static_cast<double>(r.Int(3));
        }
        for (std::string_view phase : kPhases) {
          auto it = pb.find(std::string(phase));
          if (it == pb.end()) continue;
          s.phase_ms.emplace_back(std::string(phase),
                                  FromBuckets(it->second, psum[it->first], DurationBucketsMs()));
        }

        SL_ASSIGN_OR_RETURN(auto costs,
                            c.Query("SELECT le_nusd, sum(workflows), sum(sum_nusd) FROM "
                                    "workflow_cost_daily WHERE user_id = ? AND day >= ? "
                                    "AND day <= ? GROUP BY le_nusd",
                                    range));
        std::map<std::int64_t, std::int64_t> cb;
        double csum = 0;
        for (const auto& r : costs) {
          cb[r.Int(0)] += r.Int(1);
          csum += static_cast<double>(r.Int(2));
        }
        s.cost_per_workflow_nusd = FromBuckets(cb, csum, CostBucketsNusd());

        auto group = [](const db::Row& r, std::string key) {
          return CostGroup{std::move(key), "",       r.Int(2), r.Int(3),
                           r.Int(4),       r.Int(5), r.Int(6), r.Int(7)};
        };
        // Saturating sums (store/safe_sum.h): rollups near 2^63 must not fail the summary.
        auto sum_of = [&](const std::string& prefix) {
          std::string out;
          for (const char* col : {"calls", "errors", "input_tokens", "output_tokens", "cost_nusd",
                                  "unpriced_calls"}) {
            out += (out.empty() ? "" : ", ") + store::SafeSum(c.dialect(), prefix + col);
          }
          return out;
        };
        const std::string sums = sum_of("");
        if (q.user_id.empty()) {
          const Value days_only[] = {q.from_day, q.to_day};
          SL_ASSIGN_OR_RETURN(auto models,
                              c.Query(std::string("SELECT provider, model, ") + sums +
                                          " FROM usage_model_daily WHERE day >= ? AND day <= ? "
                                          "GROUP BY provider, model ORDER BY provider, model",
                                      days_only));
          for (const auto& r : models) s.by_model.push_back(group(r, r.Text(0) + "/" + r.Text(1)));
          SL_ASSIGN_OR_RETURN(
              auto users,
              c.Query(std::string("SELECT u.user_id, coalesce(max(x.username), ''), ") +
                          sum_of("u.") +
                          " FROM usage_user_daily u LEFT JOIN users x ON x.id = u.user_id "
                          "WHERE u.day >= ? AND u.day <= ? GROUP BY u.user_id "
                          "ORDER BY u.user_id",
                      days_only));
          for (const auto& r : users) {
            s.by_user.push_back(group(r, r.Text(0)));
            s.by_user.back().name = r.Text(1);
          }
        } else {
          SL_ASSIGN_OR_RETURN(
              auto models, c.Query(std::string("SELECT provider, model, ") + sums +
                                       " FROM usage_daily WHERE user_id = ? AND day >= ? AND "
                                       "day <= ? GROUP BY provider, model ORDER BY provider, model",
                                   range));
          for (const auto& r : models) s.by_model.push_back(group(r, r.Text(0) + "/" + r.Text(1)));
          SL_ASSIGN_OR_RETURN(auto me,
                              c.Query(std::string("SELECT user_id, '', ") + sums +
                                          " FROM usage_daily WHERE user_id = ? AND day >= ? "
                                          "AND day <= ? GROUP BY user_id",
                                      range));
          for (const auto& r : me) s.by_user.push_back(group(r, r.Text(0)));
        }

        SL_ASSIGN_OR_RETURN(auto files,
                            c.Query("SELECT file_type, sum(files), sum(bytes) FROM "
                                    "file_stats_daily WHERE user_id = ? AND day >= ? AND "
                                    "day <= ? GROUP BY file_type ORDER BY file_type",
                                    range));
        for (const auto& r : files) {
          if (r.Int(1) == 0) continue;
          s.files.push_back({r.Text(0), r.Int(1), r.Int(2)});
        }
        return s;
      });
}

}  // namespace storyloom::ops
