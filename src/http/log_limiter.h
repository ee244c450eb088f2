// LogLimiter: keeps the server's logs bounded under attack. At most one line per key per
// interval is written; the next line written for that key says how many were suppressed.
// Keys are few and server-chosen (an error kind, a client address); the table is bounded,
// and past `max_keys` keys share one. Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace storyloom::http {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::milliseconds interval = std::chrono::seconds(10),
                      std::size_t max_keys = 1024)
      : interval_(interval), max_keys_(max_keys) {}

  // True if a line for `key` may be written now; `*suppressed` is then the number of lines
  // for `key` refused since the last one allowed.
  bool Allow(std::string_view key, std::uint64_t* suppressed);

  // Writes `message` at `level` if Allow(key), with a "(N similar suppressed)" suffix.
  void Log(spdlog::level::level_enum level, std::string_view key, std::string_view message);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  const std::chrono::milliseconds interval_;
  const std::size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace storyloom::http
