#include "api/handler_util.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "api/slot_limiter.h"
#include "api/storage_quota.h"
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
  if (auto r = app.store.Write([&](StoreTx& tx) { return tx.audit().Append(a); }); !r) {
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

// An event stream holding a SlotLimiter ticket for as long as the server keeps it.
class HeldSseSource : public http::SseSource {
 public:
  HeldSseSource(std::shared_ptr<http::SseSource> inner, std::shared_ptr<void> ticket)
      : inner_(std::move(inner)), ticket_(std::move(ticket)) {}
  void Start(std::shared_ptr<http::SseSink> sink) override { inner_->Start(std::move(sink)); }

 private:
  std::shared_ptr<http::SseSource> inner_;
  std::shared_ptr<void> ticket_;
};

Result<Principal> AuthenticateFor(App& app, const http::Request& req, bool admin_only) {
  SL_ASSIGN_OR_RETURN(Principal p, app.auth.Authenticate(req));
  if (admin_only && !p.is_admin()) {
    return Fail(Error::PermissionDenied("this needs an administrator"));
  }
  return p;
}

// The handler Authed and AdminOnly make: a named type, so that AuthenticateBeforeBody can
// find their routes.
struct AuthedCall {
  App* app;
  AuthedHandler fn;
  bool admin_only;

  http::Response operator()(http::Request& req) const {
    auto p = AuthenticateFor(*app, req, admin_only);
    if (!p) return ErrorResponse(p.error());
    http::Response r = Finish(fn(req, *p));
    if (r.sse && app->sse_streams) {
      SlotLimiter::Refusal why;
      auto ticket = app->sse_streams->TryAcquire(p->user_id, &why);
      if (!ticket) {
        return TooManyRequests(why == SlotLimiter::Refusal::kPerKey
                                   ? "too many open event streams for this user"
                                   : "too many open event streams",
                               1000);
      }
      r.sse = std::make_shared<HeldSseSource>(std::move(r.sse), std::move(ticket));
    }
    return r;
  }
};

}  // namespace

http::Handler Authed(App& app, AuthedHandler fn) { return AuthedCall{&app, std::move(fn), false}; }

http::Handler AdminOnly(App& app, AuthedHandler fn) {
  return AuthedCall{&app, std::move(fn), true};
}

void AuthenticateBeforeBody(App& app, http::Router& r) {
  r.ForEachRoute([&app](http::Route& route) {
    const AuthedCall* call = route.handler.target<AuthedCall>();
    if (!call || route.options.before_body) return;
    const bool admin_only = call->admin_only;
    route.options.before_body = [&app,
                                 admin_only](http::Request& req) -> std::optional<http::Response> {
      auto p = AuthenticateFor(app, req, admin_only);
      if (!p) return ErrorResponse(p.error());
      return std::nullopt;
    };
  });
}

http::BeforeBody BeforeUpload(App& app) {
  return [&app](http::Request& req) -> std::optional<http::Response> {
    auto p = AuthenticateFor(app, req, false);
    if (!p) return ErrorResponse(p.error());
    auto w = OwnedWorkflow(app, req.path_params["id"], *p);
    if (!w) return ErrorResponse(w.error());
    // Over the owner's storage quota: refused before a byte of the body is read.
    if (auto len = req.headers.Get("Content-Length")) {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(len->data(), len->data() + len->size(), n);
      if (ec == std::errc() && end == len->data() + len->size()) {
        if (auto room = CheckStorageRoom(app, w->user_id, n); !room) {
          return ErrorResponse(room.error());
        }
      }
    }
    SlotLimiter::Refusal why;
    auto ticket = app.uploads->TryAcquire(p->user_id, &why);
    if (!ticket) {
      return TooManyRequests(why == SlotLimiter::Refusal::kPerKey
                                 ? "too many uploads in flight for this user"
                                 : "too many uploads in flight",
                             1000);
    }
    req.hold = std::move(ticket);
    return std::nullopt;
  };
}

http::Handler Public(std::function<Result<http::Response>(http::Request&)> fn) {
  return [fn = std::move(fn)](http::Request& req) -> http::Response { return Finish(fn(req)); };
}

Result<Workflow> OwnedWorkflow(StoreTx& tx, const std::string& id, const Principal& p) {
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such workflow"));
  auto w = tx.workflows().Get(id);
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
