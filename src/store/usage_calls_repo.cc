// Provider calls one by one (GET /api/v1/usage/calls) and their latency per provider, model
// and operation (GET /api/v1/analytics/performance), from api_usage. The list pages by keyset
// on (created_at, id) through the indexes of migration 0011.
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "db/database.h"
#include "store/rows.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

namespace {

// A cursor is "<created_at>.<id>" of the last row of the previous page.
Result<std::pair<Millis, std::int64_t>> ParseCallCursor(std::string_view cursor) {
  const auto bad = [] {
    return Fail(Error::InvalidArgument("cursor is not one this server issued", "cursor"));
  };
  const auto dot = cursor.find('.');
  if (dot == std::string_view::npos) return bad();
  Millis at = 0;
  std::int64_t id = 0;
  const char* end = cursor.data() + cursor.size();
  auto [p1, e1] = std::from_chars(cursor.data(), cursor.data() + dot, at);
  if (e1 != std::errc() || p1 != cursor.data() + dot || at < 0) return bad();
  auto [p2, e2] = std::from_chars(cursor.data() + dot + 1, end, id);
  if (e2 != std::errc() || p2 != end || id <= 0) return bad();
  return std::pair{at, id};
}

// percentile_cont(p) of the values the sorted (value, count) runs hold, `n` in all.
double PercentileCont(const std::vector<std::pair<std::int64_t, std::int64_t>>& runs,
                      std::int64_t n, double p) {
  if (n <= 0 || runs.empty()) return 0;
  const double pos = p * static_cast<double>(n - 1);
  const auto lo = static_cast<std::int64_t>(std::floor(pos));
  const std::int64_t hi = lo + 1 < n ? lo + 1 : lo;
  // The values at 0-based ranks lo and hi.
  double v_lo = 0, v_hi = 0;
  std::int64_t seen = 0;
  bool have_lo = false;
  for (const auto& [value, count] : runs) {
    seen += count;
    if (!have_lo && lo < seen) {
      v_lo = static_cast<double>(value);
      have_lo = true;
    }
    if (hi < seen) {
      v_hi = static_cast<double>(value);
      break;
    }
  }
  return v_lo + (pos - static_cast<double>(lo)) * (v_hi - v_lo);
}

}  // namespace

Result<Page<ApiUsage>> UsageRepo::ListCalls(const UsageCallFilter& f) {
  const int limit = store::ClampLimit(f.limit);
  std::string sql = fmt::format("SELECT {} FROM api_usage WHERE 1 = 1", store::kUsageColumns);
  std::vector<Value> params;
  const auto add = [&](std::string_view column, const std::string& value) {
    if (value.empty()) return;
    sql += fmt::format(" AND {} = ?", column);
    params.emplace_back(value);
  };
  add("user_id", f.user_id);
  add("workflow_id", f.workflow_id);
  add("provider", f.provider);
  add("model", f.model);
  add("operation", f.operation);
  add("status", f.status);
  if (f.from > 0) {
    sql += " AND created_at >= ?";
    params.emplace_back(f.from);
  }
  if (f.to > 0) {
    sql += " AND created_at < ?";
    params.emplace_back(f.to);
  }
  if (!f.cursor.empty()) {
    SL_ASSIGN_OR_RETURN(auto after, ParseCallCursor(f.cursor));
    // Spelled out rather than as a row value so that both planners see a range on the
    // index's leading sort column.
    sql += " AND created_at <= ? AND (created_at < ? OR id < ?)";
    params.emplace_back(after.first);
    params.emplace_back(after.first);
    params.emplace_back(after.second);
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT ?";
  params.emplace_back(std::int64_t{limit + 1});
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  Page<ApiUsage> page;
  for (const auto& r : rows) page.items.push_back(store::UsageFromRow(r));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_cursor = fmt::format("{}.{}", page.items.back().created_at, page.items.back().id);
  }
  return page;
}

Result<std::vector<CallPerformance>> UsageRepo::Performance(Millis from, Millis to,
                                                            std::string_view user_id) {
  std::string where = " FROM api_usage WHERE created_at >= ?";
  std::vector<Value> params{from};
  if (to > 0) {
    where += " AND created_at < ?";
    params.emplace_back(to);
  }
  if (!user_id.empty()) {
    where += " AND user_id = ?";
    params.emplace_back(std::string(user_id));
  }
  const std::string counts =
      "count(*), sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), "
      "sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END), max(duration_ms)";
  std::vector<CallPerformance> out;
  if (c_.dialect() == db::Dialect::kPostgres) {
    SL_ASSIGN_OR_RETURN(
        auto rows, c_.Query("SELECT provider, model, operation, " + counts +
                                ", percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), "
                                "percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms), "
                                "percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms), "
                                "avg(duration_ms)::float8" +
                                where + " GROUP BY provider, model, operation ORDER BY 1, 2, 3",
                            params));
    for (const auto& r : rows) {
      out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Int(3), r.Int(4), r.Int(5), r.Real(7),
                     r.Real(8), r.Real(9), r.Real(10), r.Int(6)});
    }
    return out;
  }
  // SQLite has no percentile function: SQL groups the calls by duration and orders them,
  // so C++ reads one (duration, count) run per distinct duration, never one row per call, and
  // sums the totals from the runs (one pass over the range instead of two).
  SL_ASSIGN_OR_RETURN(
      auto runs,
      c_.Query("SELECT provider, model, operation, duration_ms, count(*), "
               "sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), "
               "sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END)" +
                   where + " GROUP BY provider, model, operation, duration_ms ORDER BY 1, 2, 3, 4",
               params));
  std::vector<std::pair<std::int64_t, std::int64_t>> group;  // (duration, count) of `out.back()`
  double duration_sum = 0;
  const auto finish = [&] {
    if (out.empty()) return;
    CallPerformance& c = out.back();
    c.p50_ms = PercentileCont(group, c.calls, 0.5);
    c.p95_ms = PercentileCont(group, c.calls, 0.95);
    c.p99_ms = PercentileCont(group, c.calls, 0.99);
    c.mean_ms = c.calls ? duration_sum / static_cast<double>(c.calls) : 0;
    c.max_ms = group.empty() ? 0 : group.back().first;
  };
  for (const auto& r : runs) {
    if (out.empty() || out.back().provider != r.Text(0) || out.back().model != r.Text(1) ||
        out.back().operation != r.Text(2)) {
      finish();
      out.push_back({r.Text(0), r.Text(1), r.Text(2)});
      group.clear();
      duration_sum = 0;
    }
    CallPerformance& c = out.back();
    c.calls += r.Int(4);
    c.errors += r.Int(5);
    c.retries += r.Int(6);
    group.emplace_back(r.Int(3), r.Int(4));
    duration_sum += static_cast<double>(r.Int(3)) * static_cast<double>(r.Int(4));
  }
  finish();
  return out;
}

}  // namespace storyloom
