// Sign-up by invitation. Administrators make, list and revoke one-time invites
// (/api/v1/invites); anyone holding an invite's secret signs up once with
// POST /api/v1/auth/signup, which creates the account, consumes the invite in the same
// transaction and starts a browser session. Every step goes to the audit log.
#include <algorithm>

#include "api/accounts.h"
#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/ids.h"
#include "http/status_map.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<void> RejectUnknown(const json& body, std::initializer_list<std::string_view> known) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      return Fail(Error::InvalidArgument("unknown field '" + it.key() + "'", it.key()));
    }
  }
  return {};
}

// Where links should point: the configured public URL, else the address the administrator
// reached this server by.
std::string BaseUrl(const App& app, const http::Request& req) {
  if (!app.config.public_url.empty()) return app.config.public_url;
  if (auto host = req.headers.Get("Host"); host && !host->empty()) {
    return "http://" + std::string(*host);
  }
  return app.config.PublicUrl();
}

Result<http::Response> CreateInvite(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  SL_RETURN_IF_ERROR(RejectUnknown(body, {"role", "expires_in"}));
  Role role = Role::kUser;
  if (auto it = body.find("role"); it != body.end() && !it->is_null()) {
    auto r = it->is_string() ? ParseRole(it->get<std::string>()) : std::nullopt;
    if (!r) return Fail(Error::InvalidArgument("role must be admin or user", "role"));
    role = *r;
  }
  Millis ttl = kDefaultInviteMs;
  if (auto it = body.find("expires_in"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 60 ||
        it->get<long long>() > kMaxInviteMs / 1000) {
      return Fail(Error::InvalidArgument(
          "expires_in must be a whole number of seconds from 60 to 2592000 (30 days)",
          "expires_in"));
    }
    ttl = it->get<long long>() * 1000;
  }
  SL_ASSIGN_OR_RETURN(IssuedInvite issued, IssueInvite(app.store, p.user_id, role, ttl));
  Audit(app, p.user_id, "invite.create", issued.invite.id, req,
        {{"role", ToString(role)}, {"expires_at", TimeJson(issued.invite.expires_at)}});
  json out = InviteJson(issued.invite);
  out["token"] = issued.secret;  // the only time the secret is shown
  out["url"] = InviteUrl(BaseUrl(app, req), issued.secret);
  http::Response r = JsonResponse(201, out);
  r.headers.Set("Location", "/api/v1/invites/" + issued.invite.id);
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

Result<http::Response> ListInvites(App& app, http::Request&, const Principal&) {
  SL_ASSIGN_OR_RETURN(auto pending, app.store.ReadOne<std::vector<Invite>>([&](StoreTx& tx) {
    return tx.invites().ListPending(core::WallMillis());
  }));
  json items = json::array();
  for (const Invite& i : pending) items.push_back(InviteJson(i));
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

Result<http::Response> RevokeInvite(App& app, http::Request& req, const Principal& p) {
  const std::string id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such pending invite"));
  SL_RETURN_IF_ERROR(
      app.store.Write([&](StoreTx& tx) { return tx.invites().Revoke(id, core::WallMillis()); }));
  Audit(app, p.user_id, "invite.revoke", id, req);
  http::Response r;
  r.status = 204;
  return r;
}

// Public. The invite is checked before anything expensive (hashing the password), so a
// request without a live invite costs one indexed lookup.
Result<http::Response> SignUp(App& app, http::Request& req) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  SL_RETURN_IF_ERROR(RejectUnknown(body, {"invite", "username", "password"}));
  SL_ASSIGN_OR_RETURN(auto secret, OptString(body, "invite"));
  if (!secret || secret->empty() || secret->size() > 256)
    return Fail(
        Error::InvalidArgument("invite (the secret from the invite link) is required", "invite"));
  SL_ASSIGN_OR_RETURN(auto username, OptString(body, "username"));
  if (!username || username->empty())
    return Fail(Error::InvalidArgument("username is required", "username"));
  auto pw = body.find("password");
  if (pw == body.end()) return Fail(Error::InvalidArgument("password is required", "password"));
  SL_ASSIGN_OR_RETURN(std::string password, CheckPassword(*pw));

  const std::string hash = Authenticator::HashSecret(*secret);
  const auto invite_state = [&](const Invite& i, Millis now) -> Result<void> {
    if (!core::ConstantTimeEquals(i.token_hash, hash))
      return Fail(Error::NotFound("this invite link is not valid"));
    if (i.used_at)
      return Fail(Error::FailedPrecondition("this invite link was already used", "invite_used"));
    if (i.revoked_at)
      return Fail(Error::FailedPrecondition("this invite link was revoked", "invite_revoked"));
    if (i.expires_at <= now)
      return Fail(Error::FailedPrecondition("this invite link has expired", "invite_expired"));
    return {};
  };
  auto found =
      app.store.ReadOne<Invite>([&](StoreTx& tx) { return tx.invites().FindByHash(hash); });
  if (!found) {
    if (found.error().code != ErrorCode::kNotFound) return Fail(found.error());
    Audit(app, "", "signup.failure", *username, req, {{"reason", "unknown_invite"}});
    return Fail(Error::NotFound("this invite link is not valid"));
  }
  if (auto st = invite_state(*found, core::WallMillis()); !st) {
    Audit(app, "", "signup.failure", *username, req,
          {{"reason", http::ApiErrorCode(st.error())}, {"invite_id", found->id}});
    return Fail(st.error());
  }

  User u;
  u.username = *username;
  u.role = found->role;
  SL_ASSIGN_OR_RETURN(u.password_hash, Authenticator::HashPassword(password));
  // One transaction: the user exists if and only if the invite was consumed. Consume is a
  // conditional UPDATE, so of two concurrent sign-ups with one invite exactly one commits.
  std::optional<User> created;
  auto r = app.store.Write([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(Invite i, tx.invites().FindByHash(hash));
    const Millis now = core::WallMillis();
    SL_RETURN_IF_ERROR(invite_state(i, now));
    SL_ASSIGN_OR_RETURN(created, tx.users().Create(u));
    SL_RETURN_IF_ERROR(tx.invites().Consume(i.id, created->id, now));
    AuditEntry a;
    a.user_id = created->id;
    a.action = "user.signup";
    a.target = created->username;
    a.remote_addr = req.remote_addr;
    a.detail_json = json{{"invite_id", i.id}, {"role", ToString(i.role)}}.dump();
    return tx.audit().Append(a);
  });
  if (!r) {
    if (r.error().code == ErrorCode::kFailedPrecondition) {
      Audit(app, "", "signup.failure", *username, req,
            {{"reason", http::ApiErrorCode(r.error())}, {"invite_id", found->id}});
    }
    return Fail(r.error());
  }
  SL_ASSIGN_OR_RETURN(http::Response session, StartSession(app, *created));
  session.status = 201;
  session.headers.Set("Location", "/api/v1/me");
  return session;
}

}  // namespace

void AddInviteRoutes(App& app, http::Router& r) {
  auto admin = [&app](auto fn) {
    return AdminOnly(
        app, [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("GET", "/api/v1/invites", admin(ListInvites));
  r.Add("POST", "/api/v1/invites", admin(CreateInvite));
  r.Add("DELETE", "/api/v1/invites/{id}", admin(RevokeInvite));
  r.Add("POST", "/api/v1/auth/signup",
        Public([&app](http::Request& req) { return SignUp(app, req); }));
}

}  // namespace storyloom::api
