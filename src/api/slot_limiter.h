// SlotLimiter: caps things held at once (uploads in flight, open event streams) per key (a
// user) and in total. A slot is a ticket; destroying it frees the slot. Thread-safe; tickets
// may outlive the limiter's other owners.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace storyloom::api {

class SlotLimiter : public std::enable_shared_from_this<SlotLimiter> {
 public:
  static std::shared_ptr<SlotLimiter> Make(int per_key, int total) {
    return std::shared_ptr<SlotLimiter>(new SlotLimiter(per_key, total));
  }

  enum class Refusal { kNone, kPerKey, kTotal };
  // A ticket for one slot of `key`, or nullptr with `*why` saying which cap is full.
  std::shared_ptr<void> TryAcquire(const std::string& key, Refusal* why);
  int held() const;

 private:
  SlotLimiter(int per_key, int total) : per_key_(per_key), total_(total) {}
  void Release(const std::string& key);

  const int per_key_;
  const int total_;
  mutable std::mutex mu_;
  int held_ = 0;                                 // guarded by mu_
  std::unordered_map<std::string, int> by_key_;  // guarded by mu_
};

}  // namespace storyloom::api
