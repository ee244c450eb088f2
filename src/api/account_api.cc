// The caller's own account: POST /api/v1/me/password (change it; other browser sessions end),
// GET /api/v1/me/sessions and DELETE /api/v1/me/sessions/{id} (their browser sessions and
// API tokens), GET /api/v1/me/budget (their monthly limit and month-to-date spending). Every
// change goes to the audit log.
#include <memory>

#include "api/accounts.h"
#include "api/admin_views.h"
#include "api/handler_util.h"
#include "api/rate_limiter.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

// Wrong current passwords, counted per user like failed sign-ins (a stolen session must not
// become a way to guess the password without limit).
Result<http::Response> ChangePassword(App& app, FailureLimiter& limiter, http::Request& req,
                                      const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "current" && it.key() != "new") {
      return Fail(Error::InvalidArgument("unknown field '" + it.key() + "'", it.key()));
    }
  }
  auto current = body.find("current");
  if (current == body.end() || !current->is_string())
    return Fail(Error::InvalidArgument("current (your current password) is required", "current"));
  if (current->get_ref<const std::string&>().size() > 1024)
    return Fail(Error::InvalidArgument("current is too long", "current"));
  auto next = body.find("new");
  if (next == body.end()) return Fail(Error::InvalidArgument("new is required", "new"));
  SL_ASSIGN_OR_RETURN(std::string new_password, CheckPassword(*next, "new"));

  const Millis now = core::WallMillis();
  if (auto wait = limiter.TryAttempt(p.user_id, now)) {
    return TooManyRequests("too many wrong passwords; wait before trying again", *wait);
  }
  SL_ASSIGN_OR_RETURN(
      User user, app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(p.user_id); }));
  if (!Authenticator::VerifyPassword(user.password_hash, current->get<std::string>())) {
    Audit(app, p.user_id, "account.password_failure", p.username, req);
    return Fail(Error::PermissionDenied("the current password is wrong"));
  }
  limiter.Reset(p.user_id);
  SL_ASSIGN_OR_RETURN(std::string hash, Authenticator::HashPassword(new_password));
  std::int64_t ended = 0;
  SL_RETURN_IF_ERROR(app.store.Write([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(User u, tx.users().Get(p.user_id));
    u.password_hash = hash;
    SL_RETURN_IF_ERROR(tx.users().Update(u));
    // Every other browser session ends; the one making the request stays. API tokens are
    // not passwords and stay (GET /api/v1/me/sessions lists them, to end one by one).
    SL_ASSIGN_OR_RETURN(auto live, tx.tokens().ListLive(p.user_id, now));
    for (const ApiToken& t : live) {
      if (t.kind != "session" || t.id == p.token_id) continue;
      SL_RETURN_IF_ERROR(tx.tokens().Revoke(t.id, now));
      ++ended;
    }
    // An unused sign-in link would let in whoever holds it without the new password.
    SL_RETURN_IF_ERROR(tx.tokens().RevokeAllOfUser(p.user_id, "login", now));
    return {};
  }));
  app.auth.ForgetUser(p.user_id);
  Audit(app, p.user_id, "account.password", p.username, req, {{"sessions_ended", ended}});
  return JsonResponse(200, {{"sessions_ended", ended}});
}

Result<http::Response> ListSessions(App& app, http::Request&, const Principal& p) {
  SL_ASSIGN_OR_RETURN(auto live, app.store.ReadOne<std::vector<ApiToken>>([&](StoreTx& tx) {
    return tx.tokens().ListLive(p.user_id, core::WallMillis());
  }));
  json items = json::array();
  for (const ApiToken& t : live) items.push_back(SessionJson(t, t.id == p.token_id));
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

// Someone else's id, an unknown one and one already ended all answer 404 alike, so ids of
// other users' sessions cannot be probed.
Result<http::Response> EndSession(App& app, http::Request& req, const Principal& p) {
  const std::string id = req.path_params["id"];
  const auto none = [] { return Fail(Error::NotFound("no such session or token")); };
  if (!core::IsUuid(id)) return none();
  const Millis now = core::WallMillis();
  std::optional<ApiToken> ended;
  SL_RETURN_IF_ERROR(app.store.Write([&](StoreTx& tx) -> Result<void> {
    auto t = tx.tokens().Get(id);
    if (!t) return t.error().code == ErrorCode::kNotFound ? none() : Fail(t.error());
    if (t->user_id != p.user_id || t->kind == "login" || t->revoked_at ||
        (t->expires_at && *t->expires_at <= now)) {
      return none();
    }
    SL_RETURN_IF_ERROR(tx.tokens().Revoke(id, now));
    ended = *t;
    return {};
  }));
  app.auth.Forget(id);
  Audit(app, p.user_id, "session.end", id, req,
        {{"kind", ended->kind == "session" ? "session" : "token"},
         {"name", ended->name},
         {"current", id == p.token_id}});
  http::Response r;
  r.status = 204;
  return r;
}

Result<http::Response> MyBudget(App& app, http::Request&, const Principal& p) {
  SL_ASSIGN_OR_RETURN(
      User me, app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(p.user_id); }));
  SL_ASSIGN_OR_RETURN(engine::BudgetStatus st, app.usage.Status(me.id));
  return JsonResponse(200, UserBudgetJson(me, st));
}

}  // namespace

void AddAccountRoutes(App& app, http::Router& r) {
  FailureLimiterOptions o;
  o.max_failures = app.config.login_max_failures;
  o.base_lockout_ms = app.config.login_lockout_seconds * 1000LL;
  auto limiter = std::make_shared<FailureLimiter>(o);
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("POST", "/api/v1/me/password",
        Authed(app, [&app, limiter](http::Request& req, const Principal& p) {
          return ChangePassword(app, *limiter, req, p);
        }));
  r.Add("GET", "/api/v1/me/sessions", bind(ListSessions));
  r.Add("DELETE", "/api/v1/me/sessions/{id}", bind(EndSession));
  r.Add("GET", "/api/v1/me/budget", bind(MyBudget));
}

}  // namespace storyloom::api
