// EventBus: in-process publish/subscribe of committed workflow events, keyed by workflow
// id ("" receives every workflow's events). Events are published only after their commit,
// so a subscriber never sees an event the database does not have. Thread-safe; callbacks
// run on the publishing thread and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storyloom/types.h"

namespace storyloom::engine {

class EventBus {
 public:
  using Callback = std::function<void(const WorkflowEvent&)>;

  // Unsubscribes when destroyed.
  class Subscription {
   public:
    Subscription(EventBus* bus, std::uint64_t id) : bus_(bus), id_(id) {}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    EventBus* bus_;
    std::uint64_t id_;
  };

  // Calls `cb` for every later event of `workflow_id` ("" = all workflows).
  [[nodiscard]] std::unique_ptr<Subscription> Subscribe(const std::string& workflow_id, Callback cb);
  void Publish(const WorkflowEvent& e);
  void Publish(const std::vector<WorkflowEvent>& events);
  std::size_t subscribers() const;

 private:
  void Unsubscribe(std::uint64_t id);

  struct Entry {
    std::string workflow_id;
    std::shared_ptr<Callback> cb;
  };
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;            // guarded by mu_
  std::map<std::uint64_t, Entry> subs_;  // guarded by mu_
};

}  // namespace storyloom::engine
