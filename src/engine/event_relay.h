// EventRelay: tells this instance when other instances may have committed workflow events.
// It owns the cross-instance listening: on PostgreSQL a LISTEN on `storyloom_events`
// (migration 0005 NOTIFYs each committed event's workflow id) names the workflows with news
// at once; a tick every `poll` (every 5 x `poll` while that listener is healthy, and once
// when it reconnects, since notifications sent while it was away are lost) says "any
// workflow may have news", the fallback and SQLite's only way. It relays wake-ups, not
// events: each subscriber reads what it has not seen from the store by event id, so nothing
// is lost or sent twice.
//
// Threads: the composition root calls Start() and Stop() from its controlling thread (they
// start and join the relay's two threads; nothing else starts them). Subscribe and the
// Subscription's destructor are safe from any thread. Callbacks run on the relay's threads,
// outside its lock; they may read the store but must not call Stop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "storyloom/store.h"

namespace storyloom::engine {

class EventRelay {
 public:
  // `workflow_ids` names the workflows with news; nullptr means any workflow may have some.
  using Callback = std::function<void(const std::set<std::string>* workflow_ids)>;

  // Unsubscribes when destroyed. A callback already running may finish after that.
  class Subscription {
   public:
    Subscription(EventRelay* relay, std::uint64_t id) : relay_(relay), id_(id) {}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    EventRelay* relay_;
    std::uint64_t id_;
  };

  EventRelay(Store& store, std::chrono::milliseconds poll);
  ~EventRelay();  // Stop()
  EventRelay(const EventRelay&) = delete;
  EventRelay& operator=(const EventRelay&) = delete;

  // Starts the poll thread, and the listener thread when the store has notifications.
  // Once only; a relay that was stopped is not started again.
  void Start();
  // Wakes and joins both threads; no callback runs after it returns. Idempotent.
  void Stop();

  // Calls `cb` on every wake-up until the subscription is destroyed. The relay must
  // outlive the subscription.
  [[nodiscard]] std::unique_ptr<Subscription> Subscribe(Callback cb);
  std::size_t subscribers() const;
  // True while the LISTEN connection is up (polling is then 5x slower).
  bool listening() const { return listening_; }

 private:
  void Unsubscribe(std::uint64_t id);
  void Notify(const std::set<std::string>* workflow_ids);
  void PollLoop();
  void ListenLoop();

  Store& store_;
  const std::chrono::milliseconds poll_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_id_ = 1;                                // guarded by mu_
  std::map<std::uint64_t, std::shared_ptr<Callback>> subs_;  // guarded by mu_
  bool started_ = false;                                     // guarded by mu_
  bool stopping_ = false;                                    // guarded by mu_
  std::atomic<bool> listening_{false};
  std::thread poller_;
  std::thread listener_;
};

}  // namespace storyloom::engine
