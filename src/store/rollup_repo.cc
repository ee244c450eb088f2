// Reads of the rollup tables (migration 0003) and usage_daily for analytics and /metrics.
#include <fmt/format.h>

#include "db/database.h"
#include "store/safe_sum.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

namespace {

// " AND day >= ? AND day <= ?" with its two values, or nothing for all time.
struct DayRange {
  std::string sql;
  std::vector<Value> params;
};

DayRange Days(std::string_view prefix, std::string_view from_day, std::string_view to_day) {
  DayRange r;
  if (!from_day.empty()) {
    r.sql += fmt::format(" AND {}day >= ?", prefix);
    r.params.emplace_back(std::string(from_day));
  }
  if (!to_day.empty()) {
    r.sql += fmt::format(" AND {}day <= ?", prefix);
    r.params.emplace_back(std::string(to_day));
  }
  return r;
}

std::vector<Value> With(std::vector<Value> head, const std::vector<Value>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// Saturating sums of the six usage counters (store/safe_sum.h): rollups near 2^63 must not
// fail a read.
std::string UsageSums(db::Dialect d, std::string_view prefix) {
  std::string out;
  for (const char* col :
       {"calls", "errors", "input_tokens", "output_tokens", "cost_nusd", "unpriced_calls"}) {
    out += (out.empty() ? "" : ", ") + store::SafeSum(d, fmt::format("{}{}", prefix, col));
  }
  return out;
}

CostGroup Group(const db::Row& r, std::string key) {
  return CostGroup{std::move(key), "",       "",       "",       r.Int(2),
                   r.Int(3),       r.Int(4), r.Int(5), r.Int(6), r.Int(7)};
}

// The rows of `select` ("SELECT … FROM <rollup>") for `who` in the day range, followed by
// `tail` (GROUP BY, ORDER BY), each made a T by `to_t`.
template <typename T, typename RowToT>
Result<std::vector<T>> DailyRows(db::Connection& c, std::string_view select, std::string_view tail,
                                 std::string_view who, std::string_view from_day,
                                 std::string_view to_day, RowToT to_t) {
  const DayRange d = Days("", from_day, to_day);
  SL_ASSIGN_OR_RETURN(auto rows,
                      c.Query(fmt::format("{} WHERE user_id = ?{}{}", select, d.sql, tail),
                              With({std::string(who)}, d.params)));
  std::vector<T> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(to_t(r));
  return out;
}

// A histogram bucket from a row (key, le, count, sum), or (le, count, sum) with key "".
BucketRow KeyedBucket(const db::Row& r) { return {r.Text(0), r.Int(1), r.Int(2), r.Int(3)}; }
BucketRow UnkeyedBucket(const db::Row& r) { return {"", r.Int(0), r.Int(1), r.Int(2)}; }

}  // namespace

Result<std::vector<DayStatusCount>> RollupRepo::WorkflowDays(std::string_view who,
                                                             std::string_view from_day,
                                                             std::string_view to_day) {
  return DailyRows<DayStatusCount>(c_, "SELECT day, status, workflows FROM workflow_daily",
                                   " AND workflows <> 0 ORDER BY day, status", who, from_day,
                                   to_day, [](const db::Row& r) {
                                     return DayStatusCount{r.Text(0), r.Text(1), r.Int(2)};
                                   });
}

Result<std::vector<BucketRow>> RollupRepo::PhaseDurations(std::string_view who,
                                                          std::string_view from_day,
                                                          std::string_view to_day) {
  return DailyRows<BucketRow>(c_,
                              "SELECT phase, le_ms, sum(phases), sum(sum_ms) "
                              "FROM phase_duration_daily",
                              " GROUP BY phase, le_ms", who, from_day, to_day, KeyedBucket);
}

Result<std::vector<BucketRow>> RollupRepo::WorkflowCosts(std::string_view who,
                                                         std::string_view from_day,
                                                         std::string_view to_day) {
  return DailyRows<BucketRow>(c_,
                              "SELECT le_nusd, sum(workflows), sum(sum_nusd) "
                              "FROM workflow_cost_daily",
                              " GROUP BY le_nusd", who, from_day, to_day, UnkeyedBucket);
}

Result<std::vector<CostGroup>> RollupRepo::UsageByModel(std::string_view user_id,
                                                        std::string_view from_day,
                                                        std::string_view to_day) {
  const std::string sums = UsageSums(c_.dialect(), "");
  std::vector<db::Row> rows;
  if (user_id.empty()) {
    // "WHERE 1 = 1": the day range appends its conditions with AND.
    const DayRange d = Days("", from_day, to_day);
    SL_ASSIGN_OR_RETURN(
        rows, c_.Query("SELECT provider, model, " + sums + " FROM usage_model_daily WHERE 1 = 1" +
                           d.sql + " GROUP BY provider, model ORDER BY provider, model",
                       d.params));
  } else {
    const DayRange d = Days("", from_day, to_day);
    SL_ASSIGN_OR_RETURN(
        rows, c_.Query("SELECT provider, model, " + sums + " FROM usage_daily WHERE user_id = ?" +
                           d.sql + " GROUP BY provider, model ORDER BY provider, model",
                       With({std::string(user_id)}, d.params)));
  }
  std::vector<CostGroup> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back(Group(r, r.Text(0) + "/" + r.Text(1)));
    out.back().provider = r.Text(0);
    out.back().model = r.Text(1);
  }
  return out;
}

Result<std::vector<CostGroup>> RollupRepo::UsageByUser(std::string_view user_id,
                                                       std::string_view from_day,
                                                       std::string_view to_day) {
  std::vector<CostGroup> out;
  if (user_id.empty()) {
    const DayRange d = Days("u.", from_day, to_day);
    SL_ASSIGN_OR_RETURN(auto rows,
                        c_.Query("SELECT u.user_id, coalesce(max(x.username), ''), " +
                                     UsageSums(c_.dialect(), "u.") +
                                     " FROM usage_user_daily u LEFT JOIN users x ON x.id = "
                                     "u.user_id WHERE 1 = 1" +
                                     d.sql + " GROUP BY u.user_id ORDER BY u.user_id",
                                 d.params));
    for (const auto& r : rows) {
      out.push_back(Group(r, r.Text(0)));
      out.back().name = r.Text(1);
    }
    return out;
  }
  const DayRange d = Days("", from_day, to_day);
  SL_ASSIGN_OR_RETURN(
      auto rows, c_.Query("SELECT user_id, '', " + UsageSums(c_.dialect(), "") +
                              " FROM usage_daily WHERE user_id = ?" + d.sql + " GROUP BY user_id",
                          With({std::string(user_id)}, d.params)));
  for (const auto& r : rows) out.push_back(Group(r, r.Text(0)));
  return out;
}

Result<std::vector<FileTypeStats>> RollupRepo::FileTypes(std::string_view who,
                                                         std::string_view from_day,
                                                         std::string_view to_day) {
  const DayRange d = Days("", from_day, to_day);
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query("SELECT file_type, sum(files), sum(bytes) FROM "
                                          "file_stats_daily WHERE user_id = ?" +
                                              d.sql + " GROUP BY file_type ORDER BY file_type",
                                          With({std::string(who)}, d.params)));
  std::vector<FileTypeStats> out;
  for (const auto& r : rows) {
    if (r.Int(1) == 0) continue;
    out.push_back({r.Text(0), r.Int(1), r.Int(2)});
  }
  return out;
}

}  // namespace storyloom
