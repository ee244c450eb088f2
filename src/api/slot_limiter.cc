#include "api/slot_limiter.h"

namespace storyloom::api {

std::shared_ptr<void> SlotLimiter::TryAcquire(const std::string& key, Refusal* why) {
  {
    std::lock_guard lock(mu_);
    if (held_ >= total_) {
      *why = Refusal::kTotal;
      return nullptr;
    }
    int& mine = by_key_[key];
    if (mine >= per_key_) {
      *why = Refusal::kPerKey;
      return nullptr;
    }
    ++mine;
    ++held_;
  }
  *why = Refusal::kNone;
  // The ticket keeps the limiter alive; its deleter gives the slot back.
  auto self = shared_from_this();
  return std::shared_ptr<void>(new int(0), [self, key](void* p) {
    delete static_cast<int*>(p);
    self->Release(key);
  });
}

void SlotLimiter::Release(const std::string& key) {
  std::lock_guard lock(mu_);
  --held_;
  if (auto it = by_key_.find(key); it != by_key_.end() && --it->second <= 0) by_key_.erase(it);
}

int SlotLimiter::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

}  // namespace storyloom::api
