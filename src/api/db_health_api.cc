// GET /api/v1/admin/db (the database's health and its last check) and POST
// /api/v1/admin/db/check (runs the check, audited as db.check): administrators only.
#include <atomic>

#include "api/db_health_views.h"
#include "api/handler_util.h"
#include "api/routes.h"
#include "ops/db_health.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

// One check at a time in this process: amcheck reads every index.
std::atomic<bool> g_check_running{false};

Result<http::Response> GetDbHealth(App& app, http::Request& req) {
  SL_ASSIGN_OR_RETURN(int seconds, QueryInt(req, "long_transaction_seconds", 60, 1, 86400));
  HealthOptions o;
  o.long_transaction_ms = Millis{seconds} * 1000;
  SL_ASSIGN_OR_RETURN(auto status, ops::CollectDbStatus(app.store, o));
  SL_ASSIGN_OR_RETURN(auto last, app.store.ReadOne<std::optional<AuditEntry>>(
                                     [](StoreTx& tx) { return tx.audit().LatestOf("db.check"); }));
  json body = DbStatusJson(status);
  body["last_check"] = LastDbCheckJson(last);
  return JsonResponse(200, body);
}

Result<http::Response> CheckDb(App& app, http::Request& req, const Principal& p) {
  if (g_check_running.exchange(true)) {
    return Fail(Error::Aborted("a database check is already running; try again when it ends"));
  }
  auto report = ops::RunDbCheck(app.store, {});
  g_check_running = false;
  if (!report) return Fail(report.error());
  const json body = DbCheckJson(*report);
  Audit(app, p.user_id, "db.check", "", req, body);
  return JsonResponse(200, body);
}

}  // namespace

void AddDbHealthRoutes(App& app, http::Router& r) {
  r.Add("GET", "/api/v1/admin/db", AdminOnly(app, [&app](http::Request& req, const Principal&) {
          return GetDbHealth(app, req);
        }));
  r.Add("POST", "/api/v1/admin/db/check",
        AdminOnly(app,
                  [&app](http::Request& req, const Principal& p) { return CheckDb(app, req, p); }));
}

}  // namespace storyloom::api
