// /healthz (alive) and /readyz (database reachable, migrations current).
#include "api/handler_util.h"
#include "api/routes.h"
#include "db/migrations.h"

namespace storyloom::api {

void AddHealthRoutes(App& app, http::Router& r) {
  r.Add("GET", "/healthz",
        [](http::Request&) { return http::Response::Json(200, R"({"status":"ok"})"); },
        {.inline_io = true});
  r.Add("GET", "/readyz", [&app](http::Request&) {
    auto st = db::GetMigrationStatus(app.store.database());
    if (!st) {
      return JsonResponse(503, {{"status", "unavailable"}, {"database", st.error().message}});
    }
    if (!st->pending.empty()) {
      return JsonResponse(503, {{"status", "unavailable"},
                                {"database", "ok"},
                                {"migrations", "pending"},
                                {"schema_version", st->current_version},
                                {"latest_version", st->latest_version}});
    }
    return JsonResponse(200, {{"status", "ok"},
                              {"database", "ok"},
                              {"schema_version", st->current_version},
                              {"running_workflows", app.manager.running()}});
  });
}

}  // namespace storyloom::api
