#include "engine/event_relay.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace storyloom::engine {

EventRelay::Subscription::~Subscription() { relay_->Unsubscribe(id_); }

EventRelay::EventRelay(Store& store, std::chrono::milliseconds poll) : store_(store), poll_(poll) {}

EventRelay::~EventRelay() { Stop(); }

void EventRelay::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
  }
  poller_ = std::thread([this] { PollLoop(); });
  if (store_.capabilities().notifications) listener_ = std::thread([this] { ListenLoop(); });
}

void EventRelay::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  if (listener_.joinable()) listener_.join();
}

std::unique_ptr<EventRelay::Subscription> EventRelay::Subscribe(Callback cb) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_id_++;
  subs_.emplace(id, std::make_shared<Callback>(std::move(cb)));
  return std::make_unique<Subscription>(this, id);
}

void EventRelay::Unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mu_);
  subs_.erase(id);
}

std::size_t EventRelay::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

void EventRelay::Notify(const std::set<std::string>* workflow_ids) {
  // Copied so the callbacks run without the lock (they read the store, and may unsubscribe).
  std::vector<std::shared_ptr<Callback>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, cb] : subs_) targets.push_back(cb);
  }
  for (const auto& cb : targets) (*cb)(workflow_ids);
}

void EventRelay::PollLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, listening_ ? poll_ * 5 : poll_, [&] { return stopping_; });
      if (stopping_) return;
    }
    Notify(nullptr);
  }
}

void EventRelay::ListenLoop() {
  // Wakes at least twice a second to notice Stop.
  constexpr auto kWait = std::chrono::milliseconds(500);
  auto listener = store_.Listen("storyloom_events");
  if (!listener) {
    spdlog::warn("SSE: cannot LISTEN for other instances' events ({}); polling every {} ms",
                 listener.error().message, poll_.count());
    return;
  }
  bool healthy = false;
  bool warned = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    auto payloads = (*listener)->Wait(kWait);
    if (!payloads) {
      if (!warned) spdlog::warn("SSE: {}; polling until it is back", payloads.error().message);
      warned = true;
      healthy = listening_ = false;
      continue;
    }
    warned = false;
    listening_ = true;
    if (!healthy) {
      // Reconnected: notifications sent while it was away are lost; everyone catches up.
      healthy = true;
      Notify(nullptr);
    }
    if (payloads->empty()) continue;
    const std::set<std::string> ids(payloads->begin(), payloads->end());
    Notify(&ids);
  }
  listening_ = false;
}

}  // namespace storyloom::engine
