// App: everything the HTTP handlers need, wired by the CLI's `serve`, and BuildRouter, which
// registers every route of the API contract (docs/API.md). The App outlives the server.
// Building the router starts no thread: the engine objects it refers to (the manager, the
// event relay) are started and stopped by the composition root. Main thread.
#pragma once

#include <memory>

#include "api/auth.h"
#include "core/config.h"
#include "engine/event_bus.h"
#include "engine/event_relay.h"
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
  engine::EventRelay& relay;  // other instances' events; the SSE hub subscribes
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

// Registers every route. The router keeps references into `app`. Starts no thread.
std::shared_ptr<http::Router> BuildRouter(App& app);

// Closes the SSE streams and unsubscribes them from the relay (before the App goes away).
void ShutdownApp(App& app);

}  // namespace storyloom::api
