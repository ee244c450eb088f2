// Route registration, one function per handler file. Internal to src/api.
#pragma once

#include "api/app.h"

namespace storyloom::api {

void AddWorkflowRoutes(App& app, http::Router& r);
void AddFileRoutes(App& app, http::Router& r);
// file_metadata_api.cc: PATCH /api/v1/files/{id}; archive_api.cc: GET
// /api/v1/workflows/{id}/archive (AddFileRoutes adds both).
void AddFileMetadataRoutes(App& app, http::Router& r);
void AddArchiveRoutes(App& app, http::Router& r);
void AddUsageRoutes(App& app, http::Router& r);
// usage_calls_api.cc: /api/v1/usage/calls and /api/v1/analytics/performance (AddUsageRoutes
// adds them).
void AddUsageCallRoutes(App& app, http::Router& r);
void AddBudgetRoutes(App& app, http::Router& r);
void AddAuthRoutes(App& app, http::Router& r);
void AddHealthRoutes(App& app, http::Router& r);
void AddWebRoutes(App& app, http::Router& r);
void AddAdminRoutes(App& app, http::Router& r);
// db_health_api.cc: /api/v1/admin/db and /api/v1/admin/db/check.
void AddDbHealthRoutes(App& app, http::Router& r);
void AddAnalyticsRoutes(App& app, http::Router& r);
void AddUserRoutes(App& app, http::Router& r);
void AddTokenRoutes(App& app, http::Router& r);
void AddAuditRoutes(App& app, http::Router& r);
void AddAccountRoutes(App& app, http::Router& r);
void AddInviteRoutes(App& app, http::Router& r);
// file_delete_api.cc: DELETE /api/v1/files/{id}.
void AddFileDeleteRoutes(App& app, http::Router& r);
// storage_api.cc: /api/v1/me/storage and /api/v1/users/{id}/storage.
void AddStorageRoutes(App& app, http::Router& r);

}  // namespace storyloom::api
