// /api/v1/usage: record external provider calls; reports from the usage_daily rollup.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/request_parsers.h"
#include "api/routes.h"
#include "core/clock.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<http::Response> RecordUsage(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  ApiUsage u;
  u.user_id = p.user_id;
  SL_ASSIGN_OR_RETURN(auto wid, OptString(body, "workflow_id"));
  if (wid && !wid->empty()) {
    auto w = OwnedWorkflow(app, *wid, p);
    if (!w)
      return Fail(Error::InvalidArgument("workflow_id names no workflow of yours", "workflow_id"));
    u.workflow_id = w->id;
    u.user_id = w->user_id;
  }
  SL_RETURN_IF_ERROR(ParseUsageFields(body, u));
  SL_RETURN_IF_ERROR(app.usage.Record(u));
  return JsonResponse(201, UsageJson(u));
}

Result<http::Response> UsageReport(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(auto from, QueryTime(req, "from"));
  SL_ASSIGN_OR_RETURN(auto to, QueryTime(req, "to"));
  std::vector<std::string> group_by;
  std::string gb(req.Query("group_by", "day"));
  std::stringstream ss(gb);
  for (std::string part; std::getline(ss, part, ',');) {
    if (part != "day" && part != "provider" && part != "model" && part != "user" &&
        part != "operation" && part != "workflow") {
      return Fail(Error::InvalidArgument(
          "group_by takes day, provider, model, user, operation or workflow", "group_by"));
    }
    group_by.push_back(part);
  }
  const std::string format(req.Query("format", "json"));
  if (format != "json" && format != "csv")
    return Fail(Error::InvalidArgument("format must be json or csv", "format"));
  std::string user_filter = p.is_admin() ? std::string(req.Query("user_id")) : p.user_id;
  const bool by_workflow =
      std::find(group_by.begin(), group_by.end(), "workflow") != group_by.end();
  if (by_workflow && group_by.size() > 1) {
    return Fail(
        Error::InvalidArgument("group_by=workflow cannot be combined with other keys", "group_by"));
  }
  std::vector<UsageDaily> rows;
  if (by_workflow) {
    // Per workflow comes from api_usage itself (the daily rollup has no workflow column);
    // `workflow` travels in the day field of the rows below.
    SL_ASSIGN_OR_RETURN(
        auto per_workflow, app.store.ReadOne<std::vector<WorkflowUsage>>([&](StoreTx& tx) {
          return tx.usage().ByWorkflow(from.value_or(0), to.value_or(0), user_filter);
        }));
    for (const auto& w : per_workflow) rows.push_back({w, w.workflow_id, {}, {}, {}, {}});
  } else {
    SL_ASSIGN_OR_RETURN(rows, app.store.ReadOne<std::vector<UsageDaily>>([&](StoreTx& tx) {
      return tx.usage().ListDaily(from ? core::FormatDay(*from) : "",
                                  to ? core::FormatDay(*to) : "", user_filter);
    }));
  }
  std::map<std::vector<std::string>, UsageTotals> groups;
  UsageTotals total;
  for (const auto& d : rows) {
    std::vector<std::string> key;
    key.reserve(group_by.size());
    for (const auto& g : group_by) {
      key.push_back(g == "day" || g == "workflow" ? d.day
                    : g == "provider"             ? d.provider
                    : g == "model"                ? d.model
                    : g == "user"                 ? d.user_id
                                                  : d.operation);
    }
    // Saturating: a total never wraps (stored values are non-negative, see 0008).
    groups[key].Add(d);
    total.Add(d);
  }
  if (format == "csv") {
    std::string csv;
    for (const auto& g : group_by) csv += g + ",";
    csv +=
        "calls,errors,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,images,"
        "characters,audio_ms,cost_usd,unpriced_calls\n";
    auto cell = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos &&
          (s.empty() || (s[0] != '=' && s[0] != '+' && s[0] != '-' && s[0] != '@')))
        return s;
      std::string q = "\"";
      if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) q += "'";
      for (char c : s) {
        if (c == '"') q += '"';
        q += c;
      }
      return q + "\"";
    };
    for (const auto& [key, g] : groups) {
      for (const auto& k : key) csv += cell(k) + ",";
      csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", g.calls, g.errors, g.input_tokens,
                         g.cached_input_tokens, g.output_tokens, g.reasoning_tokens, g.images,
                         g.characters, g.audio_ms, FormatUsd(g.cost_nusd), g.unpriced_calls);
    }
    http::Response r = http::Response::Text(200, csv, "text/csv; charset=utf-8");
    r.headers.Set("Content-Disposition", "attachment; filename=\"usage.csv\"");
    return r;
  }
  json items = json::array();
  for (const auto& [key, g] : groups) {
    json item = UsageTotalsJson(g);
    for (std::size_t i = 0; i < group_by.size(); ++i) item[group_by[i]] = key[i];
    items.push_back(std::move(item));
  }
  return JsonResponse(
      200, {{"group_by", group_by}, {"items", items}, {"total", UsageTotalsJson(total)}});
}

}  // namespace

void AddUsageRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("POST", "/api/v1/usage", bind(RecordUsage));
  r.Add("GET", "/api/v1/usage", bind(UsageReport));
  AddUsageCallRoutes(app, r);
}

}  // namespace storyloom::api
