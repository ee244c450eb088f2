// /healthz (alive) and /readyz (database reachable, migrations current, disk not full).
#include "api/handler_util.h"
#include "api/routes.h"
#include "core/storage_error.h"

namespace storyloom::api {

void AddHealthRoutes(App& app, http::Router& r) {
  r.Add("GET", "/healthz",
        [](http::Request&) { return http::Response::Json(200, R"({"status":"ok"})"); },
        {.inline_io = true});
  r.Add("GET", "/readyz", [&app](http::Request&) {
    // The disk first: a database on a full disk still answers reads.
    const auto space = core::DiskSpaceAt(app.config.data_dir);
    const core::StorageFaultCounts faults = core::StorageFaults();
    nlohmann::json disk = {{"storage_errors", {{"full", faults.full}, {"io", faults.io}}}};
    const bool disk_low = space && space->free_bytes < app.config.min_free_disk_bytes;
    if (space) {
      disk["free_bytes"] = space->free_bytes;
      disk["min_free_bytes"] = app.config.min_free_disk_bytes;
      disk["status"] = disk_low ? "full" : "ok";
    } else {
      disk["status"] = "unknown";
    }
    auto st = app.store.Schema();
    if (!st) {
      return JsonResponse(
          503, {{"status", "unavailable"}, {"database", st.error().message}, {"disk", disk}});
    }
    if (st->pending > 0) {
      return JsonResponse(503, {{"status", "unavailable"},
                                {"database", "ok"},
                                {"disk", disk},
                                {"migrations", "pending"},
                                {"schema_version", st->current_version},
                                {"latest_version", st->latest_version}});
    }
    return JsonResponse(disk_low ? 503 : 200, {{"status", disk_low ? "unavailable" : "ok"},
                                               {"database", "ok"},
                                               {"disk", disk},
                                               {"schema_version", st->current_version},
                                               {"running_workflows", app.manager.running()}});
  });
}

}  // namespace storyloom::api
