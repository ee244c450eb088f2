// SseHub: serves a workflow's events as Server-Sent Events. A stream first replays the
// committed events after Last-Event-ID, then forwards new ones as they are published on
// this instance's EventBus. Events committed by other instances arrive through the
// database: the hub subscribes to the engine's EventRelay (which owns the LISTEN and the
// poll, and is started by the composition root) and, on each wake-up, the named
// workflows' streams (or all, on a poll tick) catch up from the store. The hub starts no
// thread. Each event is sent once, in id order. The stream ends after the workflow
// reaches a final status. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/event_bus.h"
#include "engine/event_relay.h"
#include "http/http.h"
#include "storyloom/store.h"

namespace storyloom::api {

class SseHub : public std::enable_shared_from_this<SseHub> {
 public:
  // Subscribes to `relay` for other instances' events; `relay` must outlive the hub.
  static std::shared_ptr<SseHub> Make(Store& store, engine::EventBus& bus,
                                      engine::EventRelay& relay);
  SseHub(Store& store, engine::EventBus& bus);
  ~SseHub();
  // An SSE source for `workflow_id` resuming after `last_event_id`.
  std::shared_ptr<http::SseSource> Open(const std::string& workflow_id, std::int64_t last_event_id);
  // Unsubscribes from the relay and closes every stream. Idempotent.
  void Shutdown();
  std::size_t streams() const;

  class Stream;

 private:
  friend class Stream;
  void Add(const std::shared_ptr<Stream>& s);
  // Catches up the streams of `workflow_ids` (all when null); the relay's callback.
  void CatchUp(const std::set<std::string>* workflow_ids);
  // The live streams (done ones dropped), or those of `workflow_ids` when it is given.
  std::vector<std::shared_ptr<Stream>> LiveStreams(const std::set<std::string>* workflow_ids);

  Store& store_;
  engine::EventBus& bus_;
  mutable std::mutex mu_;
  std::set<std::shared_ptr<Stream>> streams_;                    // guarded by mu_
  bool stopping_ = false;                                        // guarded by mu_
  std::unique_ptr<engine::EventRelay::Subscription> relay_sub_;  // guarded by mu_
};

// Formats one event in SSE wire format.
std::string FormatSse(const WorkflowEvent& e);

}  // namespace storyloom::api
