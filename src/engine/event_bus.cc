#include "engine/event_bus.h"

namespace storyloom::engine {

EventBus::Subscription::~Subscription() { bus_->Unsubscribe(id_); }

std::unique_ptr<EventBus::Subscription> EventBus::Subscribe(const std::string& workflow_id,
                                                            Callback cb) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_id_++;
  subs_.emplace(id, Entry{workflow_id, std::make_shared<Callback>(std::move(cb))});
  return std::make_unique<Subscription>(this, id);
}

void EventBus::Unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mu_);
  subs_.erase(id);
}

void EventBus::Publish(const WorkflowEvent& e) {
  // Copy the matching callbacks so they run without the lock (they may unsubscribe).
  std::vector<std::shared_ptr<Callback>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, entry] : subs_) {
      if (entry.workflow_id.empty() || entry.workflow_id == e.workflow_id) targets.push_back(entry.cb);
    }
  }
  for (const auto& cb : targets) (*cb)(e);
}

void EventBus::Publish(const std::vector<WorkflowEvent>& events) {
  for (const auto& e : events) Publish(e);
}

std::size_t EventBus::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

}  // namespace storyloom::engine
