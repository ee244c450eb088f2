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
#include "engine/pricing.h"

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

struct Group {
  std::int64_t calls = 0, errors = 0, input = 0, cached = 0, output = 0, reasoning = 0, images = 0,
               characters = 0, audio_ms = 0, unpriced = 0;
  NanoUsd cost = 0;
};

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
    for (const auto& w : per_workflow) {
      UsageDaily d;
      d.day = w.workflow_id;
      d.calls = w.calls;
      d.errors = w.errors;
      d.input_tokens = w.input_tokens;
      d.cached_input_tokens = w.cached_input_tokens;
      d.output_tokens = w.output_tokens;
      d.reasoning_tokens = w.reasoning_tokens;
      d.images = w.images;
      d.characters = w.characters;
      d.audio_ms = w.audio_ms;
      d.cost_nusd = w.cost_nusd;
      d.unpriced_calls = w.unpriced_calls;
      rows.push_back(std::move(d));
    }
  } else {
    SL_ASSIGN_OR_RETURN(rows, app.store.ReadOne<std::vector<UsageDaily>>([&](StoreTx& tx) {
      return tx.usage().ListDaily(from ? core::FormatDay(*from) : "",
                                  to ? core::FormatDay(*to) : "", user_filter);
    }));
  }
  std::map<std::vector<std::string>, Group> groups;
  Group total;
  for (const auto& d : rows) {
    std::vector<std::string> key;
    for (const auto& g : group_by) {
      key.push_back(g == "day" || g == "workflow" ? d.day
                    : g == "provider"             ? d.provider
                    : g == "model"                ? d.model
                    : g == "user"                 ? d.user_id
                                                  : d.operation);
    }
    for (Group* g : {&groups[key], &total}) {
      // Saturating: a total never wraps (stored values are non-negative, see 0008).
      g->calls = engine::SaturatingAdd(g->calls, d.calls);
      g->errors = engine::SaturatingAdd(g->errors, d.errors);
      g->input = engine::SaturatingAdd(g->input, d.input_tokens);
      g->cached = engine::SaturatingAdd(g->cached, d.cached_input_tokens);
      g->output = engine::SaturatingAdd(g->output, d.output_tokens);
      g->reasoning = engine::SaturatingAdd(g->reasoning, d.reasoning_tokens);
      g->images = engine::SaturatingAdd(g->images, d.images);
      g->characters = engine::SaturatingAdd(g->characters, d.characters);
      g->audio_ms = engine::SaturatingAdd(g->audio_ms, d.audio_ms);
      g->cost = engine::SaturatingAdd(g->cost, d.cost_nusd);
      g->unpriced = engine::SaturatingAdd(g->unpriced, d.unpriced_calls);
    }
  }
  auto row_json = [](const Group& g) {
    return json{{"calls", g.calls},          {"errors", g.errors},
                {"input_tokens", g.input},   {"cached_input_tokens", g.cached},
                {"output_tokens", g.output}, {"reasoning_tokens", g.reasoning},
                {"images", g.images},        {"characters", g.characters},
                {"audio_ms", g.audio_ms},    {"cost_usd", FormatUsd(g.cost)},
                {"cost_nusd", g.cost},       {"unpriced_calls", g.unpriced}};
  };
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
      csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", g.calls, g.errors, g.input, g.cached,
                         g.output, g.reasoning, g.images, g.characters, g.audio_ms,
                         FormatUsd(g.cost), g.unpriced);
    }
    http::Response r = http::Response::Text(200, csv, "text/csv; charset=utf-8");
    r.headers.Set("Content-Disposition", "attachment; filename=\"usage.csv\"");
    return r;
  }
  json items = json::array();
  for (const auto& [key, g] : groups) {
    json item = row_json(g);
    for (std::size_t i = 0; i < group_by.size(); ++i) item[group_by[i]] = key[i];
    items.push_back(std::move(item));
  }
  return JsonResponse(200, {{"group_by", group_by}, {"items", items}, {"total", row_json(total)}});
}

}  // namespace

void AddUsageRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("POST", "/api/v1/usage", bind(RecordUsage));
  r.Add("GET", "/api/v1/usage", bind(UsageReport));
}

}  // namespace storyloom::api
