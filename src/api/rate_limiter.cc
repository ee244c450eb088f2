#include "api/rate_limiter.h"

#include <algorithm>
#include <vector>

namespace storyloom::api {

std::optional<Millis> FailureLimiter::RetryAfter(const std::string& key, Millis now) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.blocked_until <= now) return std::nullopt;
  return it->second.blocked_until - now;
}

std::optional<Millis> FailureLimiter::RecordFailure(const std::string& key, Millis now) {
  std::lock_guard lock(mu_);
  return CountLocked(key, now);
}

std::optional<Millis> FailureLimiter::TryAttempt(const std::string& key, Millis now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.blocked_until > now) {
    return it->second.blocked_until - now;
  }
  (void)CountLocked(key, now);
  return std::nullopt;
}

void FailureLimiter::Forgive(const std::string& key, Millis now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.failures > 0) --e.failures;
  // Only a lockout this attempt started is lifted; one earned by other failures stays.
  if (e.failures < options_.max_failures) {
    e.blocked_until = std::min(e.blocked_until, now);
  } else if (e.blocked_until > now) {
    e.blocked_until = e.blocked_before;
  }
}

std::optional<Millis> FailureLimiter::CountLocked(const std::string& key, Millis now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_keys) EvictLocked(now);
    it = entries_.emplace(key, Entry{0, now, now, 0, 0}).first;
  }
  Entry& e = it->second;
  // A quiet window (no failure and no lockout in force) starts the count afresh.
  if (now - e.last_failure > options_.window_ms && e.blocked_until <= now) {
    e.failures = 0;
    e.window_start = now;
  }
  ++e.failures;
  e.last_failure = now;
  e.blocked_before = e.blocked_until;
  if (e.failures < options_.max_failures) return std::nullopt;
  // The max_failures-th failure locks for base; each one after that doubles it.
  const int doublings = std::min(e.failures - options_.max_failures, 30);
  Millis lockout = options_.base_lockout_ms;
  for (int i = 0; i < doublings && lockout < options_.max_lockout_ms; ++i) lockout *= 2;
  lockout = std::min(lockout, options_.max_lockout_ms);
  e.blocked_until = now + lockout;
  return lockout;
}

void FailureLimiter::Reset(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

std::size_t FailureLimiter::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void FailureLimiter::EvictLocked(Millis now) {
  // First drop keys that are neither blocked nor inside their window.
  std::erase_if(entries_, [&](const auto& kv) {
    return kv.second.blocked_until <= now && now - kv.second.last_failure > options_.window_ms;
  });
  if (entries_.size() < options_.max_keys) return;
  // Still full (a flood of distinct keys): drop an eighth, keys not locked out first and the
  // least recently failed among them, so a flood does not lift a lockout in force and the
  // cost of a sweep is paid once per many inserts.
  std::vector<std::pair<std::pair<bool, Millis>, std::string>> by_age;
  by_age.reserve(entries_.size());
  for (const auto& [k, e] : entries_)
    by_age.push_back({{e.blocked_until > now, e.last_failure}, k});
  const std::size_t drop = std::max<std::size_t>(1, by_age.size() / 8);
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                   by_age.end());
  for (std::size_t i = 0; i < drop; ++i) entries_.erase(by_age[i].second);
}

}  // namespace storyloom::api
