#include "http/log_limiter.h"

namespace storyloom::http {

bool LogLimiter::Allow(std::string_view key, std::uint64_t* suppressed) {
  std::lock_guard lock(mu_);
  const auto now = clock_ ? clock_() : std::chrono::steady_clock::now();
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) {
      std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.start >= interval_; });
    }
    // Still full: every new key shares one entry, so a flood of keys is one line too.
    const std::string k = entries_.size() >= max_keys_ ? std::string("(other)") : std::string(key);
    auto [ins, fresh] = entries_.try_emplace(k, Entry{now, 1, 0});
    if (fresh) {
      *suppressed = 0;
      return true;
    }
    it = ins;
  }
  Entry& e = it->second;
  if (now - e.start < interval_) {
    if (e.lines >= lines_per_interval_) {
      ++e.suppressed;
      return false;
    }
    // Below the interval's quota nothing has been refused in it yet: nothing to report.
    ++e.lines;
    *suppressed = 0;
    return true;
  }
  *suppressed = e.suppressed;
  e.suppressed = 0;
  e.lines = 1;
  e.start = now;
  return true;
}

void LogLimiter::Log(spdlog::level::level_enum level, std::string_view key,
                     std::string_view message) {
  std::uint64_t suppressed = 0;
  if (!Allow(key, &suppressed)) return;
  if (suppressed == 0) {
    spdlog::log(level, "{}", message);
  } else {
    spdlog::log(level, "{} ({} similar lines suppressed)", message, suppressed);
  }
}

}  // namespace storyloom::http
