#include "api/app.h"

#include "api/routes.h"
#include "api/sse_hub.h"

namespace storyloom::api {

std::shared_ptr<http::Router> BuildRouter(App& app) {
  app.sse = std::make_shared<SseHub>(app.store, app.bus,
                                     std::chrono::milliseconds(app.config.sse_poll_ms));
  auto r = std::make_shared<http::Router>();
  AddHealthRoutes(app, *r);
  AddAuthRoutes(app, *r);
  AddWorkflowRoutes(app, *r);
  AddFileRoutes(app, *r);
  AddUsageRoutes(app, *r);
  AddBudgetRoutes(app, *r);
  AddUserRoutes(app, *r);
  AddTokenRoutes(app, *r);
  AddAuditRoutes(app, *r);
  AddAdminRoutes(app, *r);
  AddAnalyticsRoutes(app, *r);
  AddWebRoutes(app, *r);
  return r;
}

void ShutdownApp(App& app) {
  if (app.sse) app.sse->Shutdown();
}

}  // namespace storyloom::api
