// /api/v1/admin/cleanup and /api/v1/admin/backups (administrators), and GET /metrics.
#include "api/admin_views.h"
#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/hash.h"
#include "ops/backup.h"
#include "ops/cleanup.h"
#include "ops/server_metrics.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<http::Response> Cleanup(App& app, http::Request& req, const Principal& p) {
  bool dry_run = false;
  if (!req.body.empty()) {
    SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
    if (auto it = body.find("dry_run"); it != body.end() && !it->is_null()) {
      if (!it->is_boolean())
        return Fail(Error::InvalidArgument("dry_run must be true or false", "dry_run"));
      dry_run = it->get<bool>();
    }
  }
  ops::CleanupOptions o;
  o.completed_days = app.config.retention_completed_days;
  o.failed_days = app.config.retention_failed_days;
  o.usage_days = app.config.retention_usage_days;
  o.dry_run = dry_run;
  SL_ASSIGN_OR_RETURN(auto r, ops::RunCleanup(app.store, app.files, o));
  if (!dry_run) {
    AuditEntry e;
    e.user_id = p.user_id;
    e.action = "admin.cleanup";
    e.remote_addr = req.remote_addr;
    (void)app.store.Write([&](StoreTx& tx) { return tx.audit().Append(e); });
  }
  return JsonResponse(200, CleanupJson(r, o));
}

Result<http::Response> ListBackups(App& app, http::Request& req, const Principal&) {
  SL_ASSIGN_OR_RETURN(int limit, QueryInt(req, "limit", 50, 1, 500));
  SL_ASSIGN_OR_RETURN(auto list, ops::ListBackups(app.store, limit));
  json items = json::array();
  for (const auto& b : list) items.push_back(BackupJson(b));
  return JsonResponse(200, {{"items", items}});
}

Result<http::Response> CreateBackup(App& app, http::Request& req, const Principal& p) {
  ops::BackupOptions o;
  o.backups_dir = app.config.BackupsDir();
  o.kind = "manual";
  SL_ASSIGN_OR_RETURN(auto r, ops::CreateBackup(app.store, app.files, o));
  AuditEntry e;
  e.user_id = p.user_id;
  e.action = "admin.backup";
  e.target = r.path;
  e.remote_addr = req.remote_addr;
  (void)app.store.Write([&](StoreTx& tx) { return tx.audit().Append(e); });
  SL_ASSIGN_OR_RETURN(auto list, ops::ListBackups(app.store, 20));
  for (const auto& b : list) {
    if (b.id != r.id) continue;
    json body = BackupJson(b);
    body["missing_files"] = r.missing;
    body["changed_files"] = r.changed;
    return JsonResponse(201, body);
  }
  return Fail(Error::Internal("the backup row vanished"));
}

// True when the request carries `Authorization: Bearer <metrics_token>` (compared by
// SHA-256 in constant time, so neither content nor length leaks).
bool IsMetricsToken(const App& app, const http::Request& req) {
  if (app.config.metrics_token.empty()) return false;
  auto auth = req.headers.Get("Authorization");
  if (!auth || auth->size() < 8 ||
      !(auth->starts_with("Bearer ") || auth->starts_with("bearer "))) {
    return false;
  }
  return core::ConstantTimeEquals(core::Sha256Hex(auth->substr(7)),
                                  core::Sha256Hex(app.config.metrics_token));
}

}  // namespace

void AddAdminRoutes(App& app, http::Router& r) {
  r.Add("POST", "/api/v1/admin/cleanup",
        AdminOnly(app,
                  [&app](http::Request& req, const Principal& p) { return Cleanup(app, req, p); }));
  r.Add("GET", "/api/v1/admin/backups",
        AdminOnly(app, [&app](http::Request& req, const Principal& p) {
          return ListBackups(app, req, p);
        }));
  r.Add("POST", "/api/v1/admin/backups",
        AdminOnly(app, [&app](http::Request& req, const Principal& p) {
          return CreateBackup(app, req, p);
        }));
  // Prometheus scrapes with `Authorization: Bearer <metrics_token>` (a secret that opens
  // nothing else); an administrator's token or session also works, and metrics_public
  // opens it to anyone who can reach the port.
  r.Add("GET", "/metrics", [&app](http::Request& req) -> http::Response {
    if (!app.metrics) return http::Response::Error(404, "not_found", "metrics are not enabled");
    if (!app.config.metrics_public && !IsMetricsToken(app, req)) {
      auto p = app.auth.Authenticate(req);
      if (!p) return ErrorResponse(p.error());
      if (!p->is_admin()) {
        return ErrorResponse(
            Error::PermissionDenied("metrics need the metrics token or an administrator"));
      }
    }
    return http::Response::Text(200, app.metrics->Render(),
                                "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace storyloom::api
