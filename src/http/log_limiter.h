// LogLimiter: keeps the server's logs bounded under attack. At most `lines_per_interval`
// lines (default one) per key per interval are written; the first line written for that key
// in a later interval says how many were suppressed. Keys are few and server-chosen (an error
// kind, a client address); the table is bounded, and past `max_keys` keys share one.
// Thread-safe; `clock` (tests move it by hand) is called under the limiter's mutex.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace storyloom::http {

class LogLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` empty: std::chrono::steady_clock.
  explicit LogLimiter(std::chrono::milliseconds interval = std::chrono::seconds(10),
                      std::size_t max_keys = 1024, std::uint64_t lines_per_interval = 1,
                      Clock clock = {})
      : interval_(interval),
        max_keys_(max_keys),
        lines_per_interval_(lines_per_interval),
        clock_(std::move(clock)) {}

  // True if a line for `key` may be written now; `*suppressed` is then the number of lines
  // for `key` refused since the last one allowed.
  bool Allow(std::string_view key, std::uint64_t* suppressed);

  // Writes `message` at `level` if Allow(key), with a "(N similar suppressed)" suffix.
  void Log(spdlog::level::level_enum level, std::string_view key, std::string_view message);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point start;  // of the key's current interval
    std::uint64_t lines = 0;                      // written in it
    std::uint64_t suppressed = 0;                 // refused since the last interval began
  };
  const std::chrono::milliseconds interval_;
  const std::size_t max_keys_;
  const std::uint64_t lines_per_interval_;
  const Clock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace storyloom::http
