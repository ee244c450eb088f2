// API usage: one row per provider call attempt, and the usage_daily rollup kept current in
// the same transaction.
#include <fmt/format.h>

#include "core/clock.h"
#include "db/database.h"
#include "store/rows.h"
#include "store/safe_sum.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

namespace {

bool IsOperation(std::string_view op) { return op == "chat" || op == "image" || op == "speech"; }

}  // namespace

Result<ApiUsage> UsageRepo::Record(const ApiUsage& u) {
  if (u.user_id.empty()) return Fail(Error::InvalidArgument("user_id is required", "user_id"));
  if (u.provider.empty()) return Fail(Error::InvalidArgument("provider is required", "provider"));
  if (!IsOperation(u.operation)) {
    return Fail(Error::InvalidArgument("operation must be chat, image or speech", "operation"));
  }
  if (u.status != "ok" && u.status != "error") {
    return Fail(Error::InvalidArgument("status must be ok or error", "status"));
  }
  for (std::int64_t n : {u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens,
                         u.images, u.characters, u.audio_ms, u.duration_ms}) {
    if (n < 0) return Fail(Error::InvalidArgument("counts must not be negative", "usage"));
  }
  if (u.cost_nusd && *u.cost_nusd < 0) {
    return Fail(Error::InvalidArgument("cost must not be negative", "cost"));
  }
  if (u.cached_input_tokens > u.input_tokens) {
    return Fail(Error::InvalidArgument("cached_input_tokens cannot exceed input_tokens",
                                       "cached_input_tokens"));
  }
  ApiUsage out = u;
  if (out.created_at == 0) out.created_at = core::WallMillis();
  if (out.attempt < 1) out.attempt = 1;
  const Value v[] = {db::TextOrNull(out.workflow_id),
                     out.user_id,
                     out.phase,
                     out.provider,
                     out.model,
                     out.operation,
                     out.status,
                     db::OptInt(out.http_status),
                     db::TextOrNull(out.error_code),
                     std::int64_t{out.attempt},
                     out.input_tokens,
                     out.cached_input_tokens,
                     out.output_tokens,
                     out.reasoning_tokens,
                     out.images,
                     db::TextOrNull(out.image_size),
                     db::TextOrNull(out.image_quality),
                     out.characters,
                     out.audio_ms,
                     out.duration_ms,
                     db::OptInt(out.cost_nusd),
                     db::TextOrNull(out.cost_source),
                     db::OptInt(out.price_id),
                     out.created_at};
  auto row = c_.QueryOne(
      "INSERT INTO api_usage (workflow_id, user_id, phase, provider, model, operation, status, "
      "http_status, error_code, attempt, input_tokens, cached_input_tokens, output_tokens, "
      "reasoning_tokens, images, image_size, image_quality, characters, audio_ms, duration_ms, "
      "cost_nusd, cost_source, price_id, created_at) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      v);
  if (!row) {
    if (row.error().IsForeignKey()) {
      return Fail(Error::NotFound("the usage names a workflow or user that does not exist"));
    }
    return Fail(row.error());
  }
  out.id = row->Int(0);
  const Value d[] = {core::FormatDay(out.created_at),
                     out.user_id,
                     out.provider,
                     out.model,
                     out.operation,
                     std::int64_t{out.status == "error" ? 1 : 0},
                     out.input_tokens,
                     out.cached_input_tokens,
                     out.output_tokens,
                     out.reasoning_tokens,
                     out.images,
                     out.characters,
                     out.audio_ms,
                     out.duration_ms,
                     out.cost_nusd.value_or(0),
                     std::int64_t{out.cost_nusd ? 0 : 1}};
  // The rollup saturates at INT64_MAX (store/safe_sum.h) instead of failing the insert.
  std::string upsert = "calls = " + store::SafeAdd(c_.dialect(), "usage_daily.calls", "1");
  for (const char* col :
       {"errors", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
        "images", "characters", "audio_ms", "duration_ms", "cost_nusd", "unpriced_calls"}) {
    upsert += fmt::format(", {0} = {1}", col,
                          store::SafeAdd(c_.dialect(), fmt::format("usage_daily.{}", col),
                                         fmt::format("excluded.{}", col)));
  }
  SL_RETURN_IF_ERROR(c_.Exec(
      "INSERT INTO usage_daily (day, user_id, provider, model, operation, calls, errors, "
      "input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, images, characters, "
      "audio_ms, duration_ms, cost_nusd, unpriced_calls) VALUES "
      "(?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (day, user_id, provider, model, operation) DO UPDATE SET " +
          upsert,
      d));
  return out;
}

Result<Page<ApiUsage>> UsageRepo::List(const UsageFilter& f) {
  SL_ASSIGN_OR_RETURN(std::int64_t after, store::ParseIntCursor(f.cursor));
  const int limit = store::ClampLimit(f.limit);
  std::string sql = fmt::format("SELECT {} FROM api_usage WHERE id > ?", store::kUsageColumns);
  std::vector<Value> params{after};
  if (!f.user_id.empty()) {
    sql += " AND user_id = ?";
    params.emplace_back(f.user_id);
  }
  if (!f.workflow_id.empty()) {
    sql += " AND workflow_id = ?";
    params.emplace_back(f.workflow_id);
  }
  if (f.from > 0) {
    sql += " AND created_at >= ?";
    params.emplace_back(f.from);
  }
  if (f.to > 0) {
    sql += " AND created_at < ?";
    params.emplace_back(f.to);
  }
  sql += " ORDER BY id LIMIT ?";
  params.emplace_back(std::int64_t{limit + 1});
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  Page<ApiUsage> page;
  for (const auto& r : rows) page.items.push_back(store::UsageFromRow(r));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_cursor = std::to_string(page.items.back().id);
  }
  return page;
}

db::Statement store::WorkflowCostStatement(db::Dialect dialect, std::string_view workflow_id) {
  return {"SELECT " + store::SafeSum(dialect, "cost_nusd") +
              ", count(*) - count(cost_nusd) FROM api_usage WHERE workflow_id = ?",
          {std::string(workflow_id)}};
}

std::pair<NanoUsd, bool> store::WorkflowCostFromRow(const db::Row& row) {
  return {row.Int(0), row.Int(1) > 0};
}

Result<std::pair<NanoUsd, bool>> UsageRepo::WorkflowCost(std::string_view workflow_id) {
  const db::Statement st = store::WorkflowCostStatement(c_.dialect(), workflow_id);
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne(st.sql, st.params));
  return store::WorkflowCostFromRow(row);
}

Result<std::vector<UsageDaily>> UsageRepo::ListDaily(std::string_view from_day,
                                                     std::string_view to_day,
                                                     std::string_view user_id) {
  std::string sql = fmt::format(
      "SELECT day, user_id, provider, model, operation, {} FROM usage_daily "
      "WHERE 1 = 1",
      store::kUsageTotalsColumns);
  std::vector<Value> params;
  if (!user_id.empty()) {
    sql += " AND user_id = ?";
    params.emplace_back(std::string(user_id));
  }
  if (!from_day.empty()) {
    sql += " AND day >= ?";
    params.emplace_back(std::string(from_day));
  }
  if (!to_day.empty()) {
    sql += " AND day < ?";
    params.emplace_back(std::string(to_day));
  }
  sql += " ORDER BY day, user_id, provider, model, operation";
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  std::vector<UsageDaily> out;
  for (const auto& r : rows) {
    out.push_back(
        {store::UsageTotalsFromRow(r, 5), r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4)});
  }
  return out;
}

Result<std::int64_t> UsageRepo::CountBefore(Millis cutoff) {
  const Value v[] = {cutoff};
  SL_ASSIGN_OR_RETURN(auto r,
                      c_.QueryOne("SELECT count(*) FROM api_usage WHERE created_at < ?", v));
  return r.Int(0);
}

Result<std::int64_t> UsageRepo::DeleteBefore(Millis cutoff, int limit) {
  const Value v[] = {cutoff, std::int64_t{limit}};
  return c_.Exec(
      "DELETE FROM api_usage WHERE id IN (SELECT id FROM api_usage WHERE created_at < ? "
      "ORDER BY created_at LIMIT ?)",
      v);
}

}  // namespace storyloom
