// Sign-in: POST /api/v1/auth/login (session cookie + CSRF token), POST /api/v1/auth/logout,
// GET /api/v1/me, and GET /login?token=… for the one-time link printed at first start.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "api/accounts.h"
#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/rate_limiter.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

constexpr Millis kSessionMs = 7LL * 24 * 3600 * 1000;

// "; Secure" when the site is served over https (public_url), so the browser never sends the
// cookies over plain http.
std::string SecureAttr(const App& app) {
  std::string scheme = app.config.public_url.substr(0, 8);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme == "https://" ? "; Secure" : "";
}

void SetSessionCookies(const App& app, http::Response& r, const std::string& secret,
                       const std::string& csrf) {
  const std::string secure = SecureAttr(app);
  r.headers.Add("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                                          kSessionCookie, secret, kSessionMs / 1000, secure));
  r.headers.Add("Set-Cookie", fmt::format("{}={}; Path=/; SameSite=Strict; Max-Age={}{}",
                                          kCsrfCookie, csrf, kSessionMs / 1000, secure));
}

// Sign-in attempts counted per (username, address) and per address (rate_limiter.h). There
// is no lock per username alone: a stranger's guesses from one address must not keep the
// owner, signing in from another, out.
struct LoginLimits {
  LoginLimits(const FailureLimiterOptions& u, const FailureLimiterOptions& a)
      : by_user_address(u), by_address(a) {}
  FailureLimiter by_user_address;
  FailureLimiter by_address;
};

std::string UserKey(std::string_view username) {
  std::string k(username.substr(0, 64));
  for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

Result<http::Response> Login(App& app, LoginLimits& limits, http::Request& req) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  SL_ASSIGN_OR_RETURN(auto username, OptString(body, "username"));
  SL_ASSIGN_OR_RETURN(auto password, OptString(body, "password"));
  if (!username || username->empty())
    return Fail(Error::InvalidArgument("username is required", "username"));
  if (!password) return Fail(Error::InvalidArgument("password is required", "password"));
  if (password->size() > 1024)
    return Fail(Error::InvalidArgument("password is too long", "password"));
  // Each attempt is counted before its password is checked, in the same step that decides
  // whether it may be checked at all (FailureLimiter::TryAttempt), so concurrent guesses
  // never get more than the limit of checks. Refused attempts are not counted.
  const Millis now = core::WallMillis();
  const std::string pair_key = UserKey(*username) + '\n' + req.remote_addr;
  if (auto wait = limits.by_user_address.TryAttempt(pair_key, now)) {
    return TooManyRequests("too many failed sign-ins; wait before trying again", *wait);
  }
  if (auto wait = limits.by_address.TryAttempt(req.remote_addr, now)) {
    limits.by_user_address.Forgive(pair_key, now);
    return TooManyRequests("too many failed sign-ins; wait before trying again", *wait);
  }
  auto user =
      app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().FindByName(*username); });
  // Verify against a dummy hash when the user is unknown, so timing does not reveal names.
  static const std::string kDummy = Authenticator::HashPassword("storyloom-dummy").value_or("");
  const bool ok = Authenticator::VerifyPassword(user ? user->password_hash : kDummy, *password) &&
                  user && !user->disabled;
  if (!ok) {
    json detail = json::object();
    if (user && user->disabled) detail["reason"] = "disabled";
    const Millis locked = std::max(limits.by_user_address.RetryAfter(pair_key, now).value_or(0),
                                   limits.by_address.RetryAfter(req.remote_addr, now).value_or(0));
    if (locked > 0) detail["locked_for_s"] = locked / 1000;
    Audit(app, user ? user->id : "", "login.failure", *username, req, detail);
    return Fail(Error::Unauthenticated("wrong username or password"));
  }
  limits.by_user_address.Reset(pair_key);
  limits.by_address.Forgive(req.remote_addr, now);
  Audit(app, user->id, "login.success", user->username, req);
  return StartSession(app, *user);
}

Result<http::Response> LoginLink(App& app, http::Request& req) {
  const std::string secret(req.Query("token"));
  auto redirect = [](const std::string& to) {
    http::Response r;
    r.status = 303;
    r.headers.Set("Location", to);
    r.headers.Set("Cache-Control", "no-store");
    return r;
  };
  if (secret.empty()) return redirect("/#/login");
  const std::string hash = Authenticator::HashSecret(secret);
  std::optional<User> user;
  std::string token_id;
  // Consume the link in one transaction, so it works exactly once.
  auto r = app.store.Write([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(ApiToken t, tx.tokens().FindByHash(hash));
    if (t.kind != "login" || t.revoked_at ||
        (t.expires_at && *t.expires_at <= core::WallMillis())) {
      return Fail(Error::Unauthenticated("this sign-in link was used or has expired"));
    }
    SL_RETURN_IF_ERROR(tx.tokens().Revoke(t.id, core::WallMillis()));
    SL_ASSIGN_OR_RETURN(user, tx.users().Get(t.user_id));
    token_id = t.id;
    return {};
  });
  if (!r || !user || user->disabled) {
    Audit(app, "", "login.failure", "login link", req);
    return redirect("/#/login?expired=1");
  }
  Audit(app, user->id, "login.link", user->username, req);
  SL_ASSIGN_OR_RETURN(http::Response session, StartSession(app, *user));
  http::Response out = redirect("/");
  for (const auto& [k, v] : session.headers.items()) {
    if (k == "Set-Cookie") out.headers.Add(k, v);
  }
  return out;
}

Result<http::Response> Logout(App& app, http::Request& req, const Principal& p) {
  SL_RETURN_IF_ERROR(app.store.Write(
      [&](StoreTx& tx) { return tx.tokens().Revoke(p.token_id, core::WallMillis()); }));
  app.auth.Forget(p.token_id);
  Audit(app, p.user_id, "logout", p.username, req);
  http::Response r;
  r.status = 204;
  r.headers.Add("Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
                                          kSessionCookie, SecureAttr(app)));
  r.headers.Add("Set-Cookie", fmt::format("{}=; Path=/; SameSite=Strict; Max-Age=0{}", kCsrfCookie,
                                          SecureAttr(app)));
  return r;
}

Result<http::Response> Me(App& app, http::Request&, const Principal& p) {
  SL_ASSIGN_OR_RETURN(
      User u, app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(p.user_id); }));
  return JsonResponse(200, UserJson(u));
}

}  // namespace

Result<http::Response> StartSession(App& app, const User& user) {
  SL_ASSIGN_OR_RETURN(IssuedToken session,
                      app.auth.Issue(user.id, "session", "browser", kSessionMs));
  const std::string csrf = core::RandomToken(24);
  http::Response r = JsonResponse(200, {{"user", UserJson(user)}, {"csrf_token", csrf}});
  SetSessionCookies(app, r, session.secret, csrf);
  return r;
}

void AddAuthRoutes(App& app, http::Router& r) {
  FailureLimiterOptions per_user;  // per (username, address)
  per_user.max_failures = app.config.login_max_failures;
  per_user.base_lockout_ms = app.config.login_lockout_seconds * 1000LL;
  FailureLimiterOptions per_address = per_user;
  per_address.max_failures = app.config.login_max_failures_per_address;
  auto limits = std::make_shared<LoginLimits>(per_user, per_address);
  r.Add("POST", "/api/v1/auth/login",
        Public([&app, limits](http::Request& req) { return Login(app, *limits, req); }));
  r.Add("GET", "/login", Public([&app](http::Request& req) { return LoginLink(app, req); }));
  r.Add("POST", "/api/v1/auth/logout", Authed(app, [&app](http::Request& req, const Principal& p) {
          return Logout(app, req, p);
        }));
  r.Add("GET", "/api/v1/me",
        Authed(app, [&app](http::Request& req, const Principal& p) { return Me(app, req, p); }));
}

}  // namespace storyloom::api
