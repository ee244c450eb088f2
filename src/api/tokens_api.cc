// /api/v1/tokens: API tokens. Everyone lists, creates and revokes their own; administrators
// see every user's (?user_id= narrows) and may create one for another user. The secret is
// returned once, at creation; only its hash is stored. Another user's token id answers
// 404, like every other resource.
#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

constexpr Millis kDayMs = 24LL * 3600 * 1000;

Result<http::Response> ListTokens(App& app, http::Request& req, const Principal& p) {
  std::string user_id = p.user_id;
  if (p.is_admin()) user_id = std::string(req.Query("user_id"));
  SL_ASSIGN_OR_RETURN(auto tokens, app.store.ReadOne<std::vector<ApiToken>>(
                                       [&](StoreTx& tx) { return tx.tokens().List(user_id); }));
  json items = json::array();
  const Millis now = core::WallMillis();
  for (const auto& t : tokens) {
    json j = TokenJson(t);
    j["active"] = !t.revoked_at && (!t.expires_at || *t.expires_at > now);
    items.push_back(std::move(j));
  }
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

Result<http::Response> CreateToken(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "name" && it.key() != "expires_in_days" && it.key() != "user_id") {
      return Fail(Error::InvalidArgument("unknown field '" + it.key() + "'", it.key()));
    }
  }
  SL_ASSIGN_OR_RETURN(auto name, OptString(body, "name"));
  if (!name || name->empty()) name = "api";
  if (name->size() > 100)
    return Fail(Error::InvalidArgument("name must be at most 100 bytes", "name"));
  Millis ttl = 0;
  if (auto it = body.find("expires_in_days"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 3650) {
      return Fail(Error::InvalidArgument("expires_in_days must be a whole number from 1 to 3650",
                                         "expires_in_days"));
    }
    ttl = it->get<long long>() * kDayMs;
  }
  SL_ASSIGN_OR_RETURN(auto user_id, OptString(body, "user_id"));
  std::string owner = p.user_id;
  if (user_id && !user_id->empty() && *user_id != p.user_id) {
    if (!p.is_admin()) {
      return Fail(Error::PermissionDenied("only administrators create tokens for other users"));
    }
    if (!core::IsUuid(*user_id))
      return Fail(Error::InvalidArgument("user_id names no user", "user_id"));
    auto u = app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(*user_id); });
    if (!u) {
      if (u.error().code == ErrorCode::kNotFound) {
        return Fail(Error::InvalidArgument("user_id names no user", "user_id"));
      }
      return Fail(u.error());
    }
    owner = u->id;
  }
  SL_ASSIGN_OR_RETURN(IssuedToken issued, app.auth.Issue(owner, "api", *name, ttl));
  Audit(app, p.user_id, "token.create", issued.token.id, req,
        {{"user_id", owner}, {"name", *name}, {"expires_at", TimeJson(issued.token.expires_at)}});
  json out = TokenJson(issued.token);
  out["active"] = true;
  out["token"] = issued.secret;  // the only time the secret is shown
  http::Response r = JsonResponse(201, out);
  r.headers.Set("Location", "/api/v1/tokens/" + issued.token.id);
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

Result<http::Response> RevokeToken(App& app, http::Request& req, const Principal& p) {
  const std::string& id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such token"));
  auto t = app.store.ReadOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().Get(id); });
  if (!t)
    return Fail(t.error().code == ErrorCode::kNotFound ? Error::NotFound("no such token")
                                                       : t.error());
  if (!p.is_admin() && t->user_id != p.user_id) return Fail(Error::NotFound("no such token"));
  const bool already = t->revoked_at.has_value();
  SL_RETURN_IF_ERROR(
      app.store.Write([&](StoreTx& tx) { return tx.tokens().Revoke(id, core::WallMillis()); }));
  app.auth.Forget(id);
  if (!already)
    Audit(app, p.user_id, "token.revoke", id, req, {{"user_id", t->user_id}, {"name", t->name}});
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace

void AddTokenRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("GET", "/api/v1/tokens", bind(ListTokens));
  r.Add("POST", "/api/v1/tokens", bind(CreateToken));
  r.Add("DELETE", "/api/v1/tokens/{id}", bind(RevokeToken));
}

}  // namespace storyloom::api
