// FailureLimiter: counts failures (sign-in attempts) per key — a (username, address) pair or a
// remote address — and, once a key has too many within a window, blocks it for a lockout that
// doubles with each further failure. In memory, per process, bounded in size. Thread-safe.
//
// Callers that check something expensive (a password) use TryAttempt before the check and
// Forgive after a success: the attempt is counted in the same critical section that decides
// whether it may go ahead, so N concurrent attempts never get more than max_failures checks.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "storyloom/types.h"

namespace storyloom::api {

struct FailureLimiterOptions {
  int max_failures = 5;                        // failures allowed in one window before a lockout
  Millis window_ms = Millis{15} * 60 * 1000;   // failures older than this are forgotten
  Millis base_lockout_ms = Millis{30} * 1000;  // first lockout; doubles per further failure
  Millis max_lockout_ms = Millis{60} * 60 * 1000;  // lockouts never exceed this
  std::size_t max_keys = 10000;                    // memory bound: oldest keys are dropped first
};

class FailureLimiter {
 public:
  explicit FailureLimiter(FailureLimiterOptions options = {}) : options_(options) {}

  // Milliseconds until `key` may try again, or nullopt if it may try now.
  std::optional<Millis> RetryAfter(const std::string& key, Millis now) const;
  // Counts a failure of `key` at `now`. Returns the lockout now in force (nullopt if none).
  std::optional<Millis> RecordFailure(const std::string& key, Millis now);
  // Counts an attempt of `key` at `now` before it is checked, atomically with the decision:
  // nullopt if it may go ahead (it counts as a failure until Forgive takes it back; the
  // max_failures-th one already starts the lockout), or the milliseconds to wait (a refused
  // attempt is not counted).
  std::optional<Millis> TryAttempt(const std::string& key, Millis now);
  // The attempt TryAttempt let through succeeded: un-counts it and lifts the lockout it
  // started, if any.
  void Forgive(const std::string& key, Millis now);
  // Forgets `key` (after a success).
  void Reset(const std::string& key);
  std::size_t size() const;
  const FailureLimiterOptions& options() const { return options_; }

 private:
  struct Entry {
    int failures = 0;
    Millis window_start = 0;
    Millis last_failure = 0;
    Millis blocked_until = 0;
    Millis blocked_before = 0;  // blocked_until before the last attempt changed it
  };
  // Counts one failure of the entry for `key` and returns the lockout it starts; caller
  // holds mu_.
  std::optional<Millis> CountLocked(const std::string& key, Millis now);
  // Makes room for one more key; caller holds mu_.
  void EvictLocked(Millis now);

  const FailureLimiterOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace storyloom::api
