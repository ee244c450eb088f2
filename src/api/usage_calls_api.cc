// GET /api/v1/usage/calls: every provider call attempt, one row each, newest first, paged by
// keyset; and GET /api/v1/analytics/performance: latency percentiles, error rate and
// retries per provider, model and operation.
#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

// A free-text filter (provider, model): at most 200 bytes, no control characters.
Result<std::string> QueryLabel(const http::Request& req, const std::string& name) {
  std::string v(req.Query(name));
  bool ok = v.size() <= 200;
  for (unsigned char c : v) ok = ok && c >= 0x20 && c != 0x7f;
  if (!ok) {
    return Fail(Error::InvalidArgument(
        name + " must be at most 200 bytes without control characters", name));
  }
  return v;
}

// The range [from, to) of the request; invalid_argument naming "from" when it is empty.
Result<std::pair<Millis, Millis>> QueryRange(const http::Request& req, Millis default_span) {
  SL_ASSIGN_OR_RETURN(auto from, QueryTime(req, "from"));
  SL_ASSIGN_OR_RETURN(auto to, QueryTime(req, "to"));
  const Millis to_ms = to.value_or(0);
  const Millis from_ms =
      from.value_or(default_span > 0 ? to.value_or(core::WallMillis() + 1) - default_span : 0);
  if (to_ms > 0 && from_ms >= to_ms)
    return Fail(Error::InvalidArgument("from must be before to", "from"));
  return std::pair{from_ms, to_ms};
}

// The user whose calls `p` asks for: anyone's (or everyone's, "") for an administrator, only
// their own for anyone else (403 for another user's id).
Result<std::string> QueryUser(const http::Request& req, const Principal& p) {
  std::string uid(req.Query("user_id"));
  if (!uid.empty() && !core::IsUuid(uid))
    return Fail(Error::InvalidArgument("user_id must be a user id", "user_id"));
  if (p.is_admin()) return uid;
  if (!uid.empty() && uid != p.user_id)
    return Fail(Error::PermissionDenied("only an administrator sees other users' calls"));
  return p.user_id;
}

Result<http::Response> ListCalls(App& app, http::Request& req, const Principal& p) {
  UsageCallFilter f;
  SL_ASSIGN_OR_RETURN(f.user_id, QueryUser(req, p));
  if (auto wid = req.Query("workflow_id"); !wid.empty()) {
    // Someone else's story answers like a missing one (404), as everywhere.
    SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, std::string(wid), p));
    f.workflow_id = w.id;
  }
  SL_ASSIGN_OR_RETURN(f.provider, QueryLabel(req, "provider"));
  SL_ASSIGN_OR_RETURN(f.model, QueryLabel(req, "model"));
  f.operation = std::string(req.Query("operation"));
  if (!f.operation.empty() && f.operation != "chat" && f.operation != "image" &&
      f.operation != "speech") {
    return Fail(Error::InvalidArgument("operation must be chat, image or speech", "operation"));
  }
  f.status = std::string(req.Query("status"));
  if (!f.status.empty() && f.status != "ok" && f.status != "error")
    return Fail(Error::InvalidArgument("status must be ok or error", "status"));
  SL_ASSIGN_OR_RETURN(auto range, QueryRange(req, 0));
  std::tie(f.from, f.to) = range;
  SL_ASSIGN_OR_RETURN(f.limit, QueryInt(req, "limit", 50, 1, 200));
  f.cursor = std::string(req.Query("cursor"));
  SL_ASSIGN_OR_RETURN(auto page, app.store.ReadOne<Page<ApiUsage>>(
                                     [&](StoreTx& tx) { return tx.usage().ListCalls(f); }));
  json items = json::array();
  for (const auto& u : page.items) items.push_back(UsageCallJson(u));
  return JsonResponse(
      200, {{"items", items},
            {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}});
}

json Ratio(std::int64_t num, std::int64_t den) {
  return den > 0 ? json(static_cast<double>(num) / static_cast<double>(den)) : json(nullptr);
}

Result<http::Response> Performance(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(auto range, QueryRange(req, 30 * kDay));
  auto [from, to] = range;
  if (to == 0) to = core::WallMillis() + 1;
  SL_ASSIGN_OR_RETURN(std::string user_id, QueryUser(req, p));
  SL_ASSIGN_OR_RETURN(auto rows, app.store.ReadOne<std::vector<CallPerformance>>([&](StoreTx& tx) {
    return tx.usage().Performance(from, to, user_id);
  }));
  json items = json::array();
  for (const auto& c : rows) {
    // Retries per call: attempts after the first, per first attempt.
    items.push_back({{"provider", c.provider},
                     {"model", c.model},
                     {"operation", c.operation},
                     {"calls", c.calls},
                     {"errors", c.errors},
                     {"error_rate", Ratio(c.errors, c.calls)},
                     {"retries", c.retries},
                     {"retries_per_call", Ratio(c.retries, c.calls - c.retries)},
                     {"latency_ms",
                      {{"p50", c.p50_ms},
                       {"p95", c.p95_ms},
                       {"p99", c.p99_ms},
                       {"mean", c.mean_ms},
                       {"max", c.max_ms}}}});
  }
  return JsonResponse(200, {{"from", core::FormatRfc3339(from)},
                            {"to", core::FormatRfc3339(to)},
                            {"scope", user_id.empty() ? "all" : "user"},
                            {"user_id", user_id.empty() ? json(nullptr) : json(user_id)},
                            {"items", items}});
}

}  // namespace

void AddUsageCallRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("GET", "/api/v1/usage/calls", bind(ListCalls));
  r.Add("GET", "/api/v1/analytics/performance", bind(Performance));
}

}  // namespace storyloom::api
