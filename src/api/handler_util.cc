#include "api/handler_util.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "core/bounded_json.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

http::Response JsonResponse(int status, const json& body) {
  return http::Response::Json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

void Audit(App& app, const std::string& actor_id, const std::string& action,
           const std::string& target, const http::Request& req, const json& detail) {
  AuditEntry a;
  a.user_id = actor_id;
  a.action = action;
  a.target = target;
  a.remote_addr = req.remote_addr;
  a.detail_json = detail.dump(-1, ' ', false, json::error_handler_t::replace);
  if (auto r = app.store.Write([&](StoreTx& tx) { return tx.AppendAudit(a); }); !r) {
    spdlog::warn("could not write the audit entry {} {}: {}", action, target, r.error().message);
  }
}

http::Response TooManyRequests(const std::string& message, Millis retry_after_ms) {
  http::Response r = ErrorResponse(Error::ResourceExhausted(message, "rate_limited"));
  r.headers.Set("Retry-After", std::to_string(std::max<Millis>(1, (retry_after_ms + 999) / 1000)));
  return r;
}

namespace {

http::Response Finish(Result<http::Response> r) {
  if (r) return std::move(*r);
  if (r.error().code == ErrorCode::kInternal)
    spdlog::error("internal error: {}", r.error().message);
  return ErrorResponse(r.error());
}

}  // namespace

http::Handler Authed(App& app, AuthedHandler fn) {
  return [&app, fn = std::move(fn)](http::Request& req) -> http::Response {
    auto p = app.auth.Authenticate(req);
    if (!p) return ErrorResponse(p.error());
    return Finish(fn(req, *p));
  };
}

http::Handler AdminOnly(App& app, AuthedHandler fn) {
  return Authed(
      app, [fn = std::move(fn)](http::Request& req, const Principal& p) -> Result<http::Response> {
        if (!p.is_admin()) return Fail(Error::PermissionDenied("this needs an administrator"));
        return fn(req, p);
      });
}

http::Handler Public(std::function<Result<http::Response>(http::Request&)> fn) {
  return [fn = std::move(fn)](http::Request& req) -> http::Response { return Finish(fn(req)); };
}

Result<Workflow> OwnedWorkflow(StoreTx& tx, const std::string& id, const Principal& p) {
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such workflow"));
  auto w = tx.GetWorkflow(id);
  if (!w) {
    if (w.error().code == ErrorCode::kNotFound) return Fail(Error::NotFound("no such workflow"));
    return Fail(w.error());
  }
  if (!p.is_admin() && w->user_id != p.user_id) return Fail(Error::NotFound("no such workflow"));
  return w;
}

Result<Workflow> OwnedWorkflow(App& app, const std::string& id, const Principal& p) {
  return app.store.ReadOne<Workflow>([&](StoreTx& tx) { return OwnedWorkflow(tx, id, p); });
}

Result<json> JsonBody(const http::Request& req) {
  if (req.body.empty()) return Fail(Malformed("the request needs a JSON object body"));
  // Depth is bounded before parsing: nlohmann builds and dumps recursively.
  auto parsed = core::ParseJson(req.body);
  if (!parsed) {
    if (parsed.error().too_deep) return Fail(Error::InvalidArgument(parsed.error().message));
    return Fail(Malformed("the body is not valid JSON"));
  }
  json j = std::move(*parsed);
  if (!j.is_object()) return Fail(Malformed("the body must be a JSON object"));
  return j;
}

Result<int> QueryInt(const http::Request& req, const std::string& name, int fallback, int lo,
                     int hi) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return fallback;
  int v = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    return Fail(Error::InvalidArgument(
        name + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi),
        name));
  }
  return v;
}

Result<std::optional<Millis>> QueryTime(const http::Request& req, const std::string& name) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return std::optional<Millis>();
  auto t = core::ParseRfc3339(it->second);
  if (!t)
    return Fail(
        Error::InvalidArgument(name + " must be an RFC 3339 time or a YYYY-MM-DD date", name));
  return std::optional<Millis>(*t);
}

}  // namespace storyloom::api
