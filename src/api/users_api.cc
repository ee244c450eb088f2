// /api/v1/users (administrators only): list, create, read and change accounts — role,
// disabled flag, password, email and monthly budget. Every change goes to the audit log;
// disabling, demoting or a new password take effect at once on this instance.
#include <algorithm>
#include <cmath>

#include "api/accounts.h"
#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<std::string> CheckEmail(const json& j) {
  if (j.is_null()) return std::string();
  if (!j.is_string()) return Fail(Error::InvalidArgument("email must be a string", "email"));
  std::string e = j.get<std::string>();
  if (e.empty()) return e;
  const auto at = e.find('@');
  bool ok = e.size() <= 254 && at != std::string::npos && at > 0 && at + 1 < e.size();
  for (unsigned char c : e) ok = ok && c > 0x20 && c != 0x7f;
  if (!ok) return Fail(Error::InvalidArgument("email must look like name@example.org", "email"));
  return e;
}

Result<Role> CheckRole(const json& j) {
  auto r = j.is_string() ? ParseRole(j.get<std::string>()) : std::nullopt;
  if (!r) return Fail(Error::InvalidArgument("role must be admin or user", "role"));
  return *r;
}

// A budget in USD as a JSON number or decimal string ("12.50"); null clears it.
Result<std::optional<NanoUsd>> CheckBudget(const json& j) {
  const auto bad = [] {
    return Fail(
        Error::InvalidArgument("monthly_budget_usd must be an amount in USD from 0 to 1e9, or null",
                               "monthly_budget_usd"));
  };
  if (j.is_null()) return std::optional<NanoUsd>();
  if (j.is_number()) {
    const double d = j.get<double>();
    if (!(d >= 0 && d <= 1e9)) return bad();
    return std::optional<NanoUsd>(std::llround(d * 1e9));
  }
  if (!j.is_string()) return bad();
  // Decimal text, parsed exactly: up to 9 digits after the point.
  const std::string s = j.get<std::string>();
  NanoUsd whole = 0, frac = 0;
  int frac_digits = -1;
  if (s.empty() || s.size() > 24) return bad();
  for (char c : s) {
    if (c == '.' && frac_digits < 0) {
      frac_digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (frac_digits < 0) {
        whole = whole * 10 + (c - '0');
        if (whole > 1000000000) return bad();
      } else if (++frac_digits <= 9) {
        frac = frac * 10 + (c - '0');
      }
    } else {
      return bad();
    }
  }
  for (int i = std::max(frac_digits, 0); i < 9; ++i) frac *= 10;
  return std::optional<NanoUsd>(whole * 1000000000 + frac);
}

Result<void> RejectUnknown(const json& body, std::initializer_list<std::string_view> known) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      return Fail(Error::InvalidArgument("unknown field '" + it.key() + "'", it.key()));
    }
  }
  return {};
}

Result<User> FindUser(App& app, const std::string& id) {
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such user"));
  auto u = app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(id); });
  if (!u && u.error().code == ErrorCode::kNotFound) return Fail(Error::NotFound("no such user"));
  return u;
}

Result<http::Response> ListUsers(App& app, http::Request&, const Principal&) {
  SL_ASSIGN_OR_RETURN(auto users, app.store.ReadOne<std::vector<User>>(
                                      [](StoreTx& tx) { return tx.users().List(); }));
  json items = json::array();
  for (const auto& u : users) items.push_back(UserJson(u));
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

Result<http::Response> CreateUser(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  SL_RETURN_IF_ERROR(
      RejectUnknown(body, {"username", "password", "role", "email", "monthly_budget_usd"}));
  User u;
  SL_ASSIGN_OR_RETURN(auto username, OptString(body, "username"));
  if (!username) return Fail(Error::InvalidArgument("username is required", "username"));
  u.username = *username;
  std::string password;
  bool generated = false;
  if (auto it = body.find("password"); it != body.end() && !it->is_null()) {
    SL_ASSIGN_OR_RETURN(password, CheckPassword(*it));
  } else {
    password = core::RandomToken(12);
    generated = true;
  }
  if (auto it = body.find("role"); it != body.end() && !it->is_null()) {
    SL_ASSIGN_OR_RETURN(u.role, CheckRole(*it));
  }
  if (auto it = body.find("email"); it != body.end()) {
    SL_ASSIGN_OR_RETURN(u.email, CheckEmail(*it));
  }
  if (auto it = body.find("monthly_budget_usd"); it != body.end()) {
    SL_ASSIGN_OR_RETURN(u.monthly_budget_nusd, CheckBudget(*it));
  }
  SL_ASSIGN_OR_RETURN(u.password_hash, Authenticator::HashPassword(password));
  SL_ASSIGN_OR_RETURN(User created,
                      app.store.WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(u); }));
  json detail = {{"role", ToString(created.role)}};
  if (created.monthly_budget_nusd) detail["monthly_budget_nusd"] = *created.monthly_budget_nusd;
  Audit(app, p.user_id, "user.create", created.username, req, detail);
  json out = UserJson(created);
  // A generated password is shown once, here; only its hash is kept.
  if (generated) out["password"] = password;
  http::Response r = JsonResponse(201, out);
  r.headers.Set("Location", "/api/v1/users/" + created.id);
  return r;
}

Result<http::Response> GetUser(App& app, http::Request& req, const Principal&) {
  SL_ASSIGN_OR_RETURN(User u, FindUser(app, req.path_params["id"]));
  return JsonResponse(200, UserJson(u));
}

Result<http::Response> UpdateUser(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  SL_RETURN_IF_ERROR(
      RejectUnknown(body, {"disabled", "role", "password", "email", "monthly_budget_usd"}));
  std::optional<bool> disabled;
  std::optional<Role> role;
  std::optional<std::string> password_hash, email;
  std::optional<std::optional<NanoUsd>> budget;
  if (auto it = body.find("disabled"); it != body.end()) {
    if (!it->is_boolean())
      return Fail(Error::InvalidArgument("disabled must be true or false", "disabled"));
    disabled = it->get<bool>();
  }
  if (auto it = body.find("role"); it != body.end()) {
    SL_ASSIGN_OR_RETURN(role, CheckRole(*it));
  }
  if (auto it = body.find("password"); it != body.end()) {
    SL_ASSIGN_OR_RETURN(std::string pw, CheckPassword(*it));
    SL_ASSIGN_OR_RETURN(password_hash, Authenticator::HashPassword(pw));
  }
  if (auto it = body.find("email"); it != body.end()) {
    SL_ASSIGN_OR_RETURN(email, CheckEmail(*it));
  }
  if (auto it = body.find("monthly_budget_usd"); it != body.end()) {
    SL_ASSIGN_OR_RETURN(budget, CheckBudget(*it));
  }

  const std::string id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such user"));
  User before, after;
  std::int64_t sessions_revoked = 0;
  // Read, check and write in one transaction, so two admins cannot both remove the last
  // active administrator.
  auto r = app.store.Write([&](StoreTx& tx) -> Result<void> {
    auto got = tx.users().Get(id);
    if (!got)
      return Fail(got.error().code == ErrorCode::kNotFound ? Error::NotFound("no such user")
                                                           : got.error());
    before = after = *got;
    if (disabled) after.disabled = *disabled;
    if (role) after.role = *role;
    if (password_hash) after.password_hash = *password_hash;
    if (email) after.email = *email;
    if (budget) after.monthly_budget_nusd = *budget;
    const bool was_active_admin = before.role == Role::kAdmin && !before.disabled;
    const bool is_active_admin = after.role == Role::kAdmin && !after.disabled;
    if (was_active_admin && !is_active_admin) {
      SL_ASSIGN_OR_RETURN(auto users, tx.users().List());
      int others = 0;
      for (const auto& u : users) others += u.id != id && u.role == Role::kAdmin && !u.disabled;
      if (others == 0) {
        return Fail(Error::FailedPrecondition(
            "the last active administrator cannot be disabled or demoted", "last_admin"));
      }
    }
    SL_RETURN_IF_ERROR(tx.users().Update(after));
    // Browser sessions end when the account is disabled or its password changes.
    if ((after.disabled && !before.disabled) || password_hash) {
      SL_ASSIGN_OR_RETURN(sessions_revoked,
                          tx.tokens().RevokeAllOfUser(id, "session", core::WallMillis()));
    }
    return {};
  });
  SL_RETURN_IF_ERROR(r);
  app.auth.ForgetUser(id);

  const std::string& target = after.username;
  if (disabled && *disabled != before.disabled) {
    Audit(app, p.user_id, *disabled ? "user.disable" : "user.enable", target, req,
          {{"sessions_revoked", sessions_revoked}});
  }
  if (role && *role != before.role) {
    Audit(app, p.user_id, "user.role", target, req,
          {{"from", ToString(before.role)}, {"to", ToString(*role)}});
  }
  if (password_hash)
    Audit(app, p.user_id, "user.passwd", target, req, {{"sessions_revoked", sessions_revoked}});
  if (email && *email != before.email) {
    Audit(app, p.user_id, "user.email", target, req, {{"from", before.email}, {"to", *email}});
  }
  if (budget && *budget != before.monthly_budget_nusd) {
    auto usd = [](const std::optional<NanoUsd>& n) {
      return n ? json(FormatUsd(*n)) : json(nullptr);
    };
    Audit(app, p.user_id, "user.budget", target, req,
          {{"from_usd", usd(before.monthly_budget_nusd)}, {"to_usd", usd(*budget)}});
  }
  SL_ASSIGN_OR_RETURN(User now, FindUser(app, id));
  return JsonResponse(200, UserJson(now));
}

}  // namespace

void AddUserRoutes(App& app, http::Router& r) {
  auto admin = [&app](auto fn) {
    return AdminOnly(
        app, [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("GET", "/api/v1/users", admin(ListUsers));
  r.Add("POST", "/api/v1/users", admin(CreateUser));
  r.Add("GET", "/api/v1/users/{id}", admin(GetUser));
  r.Add("PATCH", "/api/v1/users/{id}", admin(UpdateUser));
}

}  // namespace storyloom::api
