// /api/v1/budgets: monthly budgets and month-to-date spending. Admins see the server's
// limits and every user's, and set users' limits; a user sees their own.
#include <fmt/format.h>

#include "api/admin_views.h"
#include "api/handler_util.h"
#include "api/routes.h"
#include "engine/pricing.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<json> UserBudget(App& app, const User& u) {
  SL_ASSIGN_OR_RETURN(engine::BudgetStatus st, app.usage.Status(u.id));
  return UserBudgetJson(u, st);
}

Result<http::Response> GetBudgets(App& app, http::Request&, const Principal& p) {
  if (!p.is_admin()) {
    SL_ASSIGN_OR_RETURN(
        User me, app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(p.user_id); }));
    SL_ASSIGN_OR_RETURN(json mine, UserBudget(app, me));
    return JsonResponse(200, {{"user", mine}});
  }
  SL_ASSIGN_OR_RETURN(engine::BudgetStatus global, app.usage.Status(""));
  SL_ASSIGN_OR_RETURN(auto users, app.store.ReadOne<std::vector<User>>(
                                      [](StoreTx& tx) { return tx.users().List(); }));
  json items = json::array();
  for (const User& u : users) {
    SL_ASSIGN_OR_RETURN(json j, UserBudget(app, u));
    items.push_back(std::move(j));
  }
  return JsonResponse(200, {{"global", BudgetJson(global)}, {"users", items}});
}

// A USD amount as a decimal string or number; null clears the limit.
Result<std::optional<NanoUsd>> UsdField(const json& body, const std::string& key,
                                        std::optional<NanoUsd> current) {
  auto it = body.find(key);
  if (it == body.end()) return current;
  if (it->is_null()) return std::optional<NanoUsd>();
  std::string text = it->is_string() ? it->get<std::string>() : it->is_number() ? it->dump() : "";
  auto v = engine::ParseUsdNano(text);
  if (!v)
    return Fail(
        Error::InvalidArgument(key + " must be an amount in USD such as \"25.00\", or null", key));
  return std::optional<NanoUsd>(*v);
}

Result<http::Response> PutUserBudget(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  const std::string id = req.path_params.at("id");
  json out;
  SL_RETURN_IF_ERROR(app.store.Write([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(User u, tx.users().Get(id));
    SL_ASSIGN_OR_RETURN(BudgetLimits cur, tx.budgets().GetLimits(u.id));
    BudgetLimits next;
    SL_ASSIGN_OR_RETURN(next.hard_nusd, UsdField(body, "monthly_usd", cur.hard_nusd));
    SL_ASSIGN_OR_RETURN(next.soft_nusd, UsdField(body, "soft_usd", cur.soft_nusd));
    SL_RETURN_IF_ERROR(tx.budgets().SetLimits(u.id, next));
    AuditEntry a;
    a.user_id = p.user_id;
    a.action = "user.budget";
    a.target = u.username;
    a.remote_addr = req.remote_addr;
    a.detail_json =
        json{{"monthly_usd", UsdOrNull(next.hard_nusd)}, {"soft_usd", UsdOrNull(next.soft_nusd)}}
            .dump();
    SL_RETURN_IF_ERROR(tx.audit().Append(a));
    out = {{"user_id", u.id}, {"username", u.username}};
    return {};
  }));
  SL_ASSIGN_OR_RETURN(User u,
                      app.store.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(id); }));
  SL_ASSIGN_OR_RETURN(json j, UserBudget(app, u));
  return JsonResponse(200, j);
}

}  // namespace

void AddBudgetRoutes(App& app, http::Router& r) {
  r.Add("GET", "/api/v1/budgets", Authed(app, [&app](http::Request& req, const Principal& p) {
          return GetBudgets(app, req, p);
        }));
  r.Add("PUT", "/api/v1/budgets/users/{id}",
        AdminOnly(app, [&app](http::Request& req, const Principal& p) {
          return PutUserBudget(app, req, p);
        }));
}

}  // namespace storyloom::api
