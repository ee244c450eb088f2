// App: everything the HTTP handlers need, wired by the CLI's `serve`, and BuildRouter, which
// registers every route of the API contract (docs/API.md). The App outlives the server.
#pragma once

#include <memory>

#include "api/auth.h"
#include "core/config.h"
#include "engine/event_bus.h"
#include "engine/usage_recorder.h"
#include "engine/workflow_manager.h"
#include "files/file_store.h"
#include "http/http.h"
#include "storyloom/store.h"

namespace storyloom::ops {
class ServerMetrics;
}  // namespace storyloom::ops

namespace storyloom::api {

class SseHub;
class SlotLimiter;

struct App {
  core::Config config;
  Store& store;
  files::FileStore& files;
  engine::EventBus& bus;
  engine::WorkflowManager& manager;
  engine::UsageRecorder& usage;
  Authenticator& auth;
  std::shared_ptr<SseHub> sse;            // set by BuildRouter
  ops::ServerMetrics* metrics = nullptr;  // GET /metrics; null: 404
  // Set by BuildRouter from the config: uploads in flight and open event streams, per user
  // and in total.
  std::shared_ptr<SlotLimiter> uploads;
  std::shared_ptr<SlotLimiter> sse_streams;
};

// Registers every route. The router keeps references into `app`.
std::shared_ptr<http::Router> BuildRouter(App& app);

// Stops SSE streams' background polling (before the App goes away).
void ShutdownApp(App& app);

}  // namespace storyloom::api
