#include "api/app.h"

#include "api/handler_util.h"
#include "api/routes.h"
#include "api/slot_limiter.h"
#include "api/sse_hub.h"

namespace storyloom::api {

std::shared_ptr<http::Router> BuildRouter(App& app) {
  app.sse = SseHub::Make(app.store, app.bus, app.relay);
  app.uploads = SlotLimiter::Make(app.config.max_uploads_per_user, app.config.max_uploads_total);
  app.sse_streams = SlotLimiter::Make(app.config.max_sse_per_user, app.config.max_sse_total);
  auto r = std::make_shared<http::Router>();
  AddHealthRoutes(app, *r);
  AddAuthRoutes(app, *r);
  AddWorkflowRoutes(app, *r);
  AddFileRoutes(app, *r);
  AddFileDeleteRoutes(app, *r);
  AddStorageRoutes(app, *r);
  AddUsageRoutes(app, *r);
  AddBudgetRoutes(app, *r);
  AddUserRoutes(app, *r);
  AddTokenRoutes(app, *r);
  AddAuditRoutes(app, *r);
  AddAccountRoutes(app, *r);
  AddInviteRoutes(app, *r);
  AddAdminRoutes(app, *r);
  AddDbHealthRoutes(app, *r);
  AddAnalyticsRoutes(app, *r);
  AddWebRoutes(app, *r);
  // Every authenticated route decides authentication from the headers, before any body byte
  // is read; no route can forget.
  AuthenticateBeforeBody(app, *r);
  return r;
}

void ShutdownApp(App& app) {
  if (app.sse) app.sse->Shutdown();
}

}  // namespace storyloom::api
