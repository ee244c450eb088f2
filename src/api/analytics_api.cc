// GET /api/v1/analytics/summary?from=&to=[&user_id=]: the dashboard's numbers, from rollups.
#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "core/clock.h"
#include "ops/analytics.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

json OptNumber(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json QuantilesJson(const ops::Quantiles& q, double scale) {
  return {{"count", q.count},
          {"p50", q.p50 ? json(*q.p50 * scale) : json(nullptr)},
          {"p95", q.p95 ? json(*q.p95 * scale) : json(nullptr)},
          {"mean", q.count ? json(q.sum / static_cast<double>(q.count) * scale) : json(nullptr)}};
}

json GroupJson(const CostGroup& g) {
  return {{"calls", g.calls},
          {"errors", g.errors},
          {"input_tokens", g.input_tokens},
          {"output_tokens", g.output_tokens},
          {"cost_usd", FormatUsd(g.cost_nusd)},
          {"unpriced_calls", g.unpriced_calls}};
}

Result<http::Response> Summary(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(auto from, QueryTime(req, "from"));
  SL_ASSIGN_OR_RETURN(auto to, QueryTime(req, "to"));
  const Millis to_ms = to.value_or(core::WallMillis() + 1);
  const Millis from_ms = from.value_or(to_ms - 30 * kDay);
  if (from_ms >= to_ms) return Fail(Error::InvalidArgument("from must be before to", "from"));
  ops::AnalyticsQuery q;
  q.from_day = core::FormatDay(from_ms);
  q.to_day = core::FormatDay(to_ms - 1);  // `to` is exclusive
  // Users see their own numbers; administrators everyone's, or one user's with user_id=.
  q.user_id = p.is_admin() ? std::string(req.Query("user_id")) : p.user_id;
  SL_ASSIGN_OR_RETURN(auto s, ops::Summarize(app.store, q));
  json per_day = json::array();
  for (std::size_t i = 0; i < s.per_day.size();) {
    json day = {{"day", s.per_day[i].day}, {"total", 0}};
    std::int64_t total = 0;
    const std::string d = s.per_day[i].day;
    for (; i < s.per_day.size() && s.per_day[i].day == d; ++i) {
      day[s.per_day[i].status] = s.per_day[i].workflows;
      total += s.per_day[i].workflows;
    }
    day["total"] = total;
    per_day.push_back(std::move(day));
  }
  json phases = json::object();
  for (const auto& [phase, qs] : s.phase_ms) phases[phase] = QuantilesJson(qs, 1.0);
  json cost = QuantilesJson(s.cost_per_workflow_nusd, 1e-9);
  json by_model = json::array();
  for (const auto& g : s.by_model) {
    json j = GroupJson(g);
    const auto slash = g.key.find('/');
    j["provider"] = g.key.substr(0, slash);
    j["model"] = slash == std::string::npos ? "" : g.key.substr(slash + 1);
    by_model.push_back(std::move(j));
  }
  json by_user = json::array();
  for (const auto& g : s.by_user) {
    json j = GroupJson(g);
    j["user_id"] = g.key;
    if (!g.name.empty()) j["username"] = g.name;
    by_user.push_back(std::move(j));
  }
  json files = json::array();
  std::int64_t total_files = 0, total_bytes = 0;
  for (const auto& f : s.files) {
    files.push_back({{"type", f.file_type}, {"files", f.files}, {"bytes", f.bytes}});
    total_files += f.files;
    total_bytes += f.bytes;
  }
  return JsonResponse(
      200, {{"from", q.from_day},
            {"to", q.to_day},
            {"scope", q.user_id.empty() ? "all" : "user"},
            {"user_id", q.user_id.empty() ? json(nullptr) : json(q.user_id)},
            {"workflows",
             {{"total", s.total},
              {"completed", s.completed},
              {"failed", s.failed},
              {"cancelled", s.cancelled},
              {"queued", s.queued},
              {"running", s.running},
              {"success_rate", OptNumber(s.success_rate)},
              {"per_day", per_day}}},
            {"phase_duration_ms", phases},
            {"cost_per_workflow_usd", cost},
            {"cost_by_model", by_model},
            {"cost_by_user", by_user},
            {"files", {{"by_type", files}, {"files", total_files}, {"bytes", total_bytes}}}});
}

}  // namespace

void AddAnalyticsRoutes(App& app, http::Router& r) {
  r.Add(
      "GET", "/api/v1/analytics/summary",
      Authed(app, [&app](http::Request& req, const Principal& p) { return Summary(app, req, p); }));
}

}  // namespace storyloom::api
