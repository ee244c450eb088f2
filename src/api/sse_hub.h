// SseHub: serves a workflow's events as Server-Sent Events. A stream first replays the
// committed events after Last-Event-ID, then forwards new ones as they are published on
// this instance's EventBus. Events committed by other instances arrive through the
// database: on PostgreSQL a LISTEN on `storyloom_events` (migration 0005 NOTIFYs each
// event's workflow id) makes that workflow's streams catch up at once; a poll every
// `poll` (5x that while the listener is healthy) is the fallback and SQLite's only way.
// Each event is sent once, in id order. The stream ends after the workflow reaches a
// final status. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/event_bus.h"
#include "http/http.h"
#include "storyloom/store.h"

namespace storyloom::api {

class SseHub : public std::enable_shared_from_this<SseHub> {
 public:
  SseHub(Store& store, engine::EventBus& bus,
         std::chrono::milliseconds poll = std::chrono::seconds(1));
  ~SseHub();
  // An SSE source for `workflow_id` resuming after `last_event_id`.
  std::shared_ptr<http::SseSource> Open(const std::string& workflow_id, std::int64_t last_event_id);
  void Shutdown();
  std::size_t streams() const;

  class Stream;

 private:
  friend class Stream;
  void Add(const std::shared_ptr<Stream>& s);
  void PollLoop();
  void ListenLoop();
  // The live streams (done ones dropped), or those of `workflow_ids` when it is given.
  std::vector<std::shared_ptr<Stream>> LiveStreams(const std::set<std::string>* workflow_ids);

  Store& store_;
  engine::EventBus& bus_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::shared_ptr<Stream>> streams_;  // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_
  const std::chrono::milliseconds poll_;
  std::atomic<bool> listening_{false};  // a healthy LISTEN connection: poll less often
  std::thread poller_;
  std::thread listener_;
};

// Formats one event in SSE wire format.
std::string FormatSse(const WorkflowEvent& e);

}  // namespace storyloom::api
