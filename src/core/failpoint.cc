#include "core/failpoint.h"

#ifdef STORYLOOM_FAILPOINTS

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <map>
#include <memory>

namespace storyloom {
namespace {

// "a,b=1,c" -> {a:"", b:"1", c:""}.
std::map<std::string, std::string, std::less<>> Parse(const char* text) {
  std::map<std::string, std::string, std::less<>> out;
  std::string_view rest = text ? text : "";
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    out.emplace(std::string(item.substr(0, eq)),
                eq == std::string_view::npos ? std::string() : std::string(item.substr(eq + 1)));
  }
  return out;
}

const std::map<std::string, std::string, std::less<>>& Active() {
  static const auto active = Parse(std::getenv("STORYLOOM_FAILPOINTS"));
  return active;
}

// How many times each failpoint has fired, for `name=EIO:N`.
const std::map<std::string, std::unique_ptr<std::atomic<long>>, std::less<>>& Hits() {
  static const auto hits = [] {
    std::map<std::string, std::unique_ptr<std::atomic<long>>, std::less<>> out;
    for (const auto& [name, arg] : Active())
      out.emplace(name, std::make_unique<std::atomic<long>>(0));
    return out;
  }();
  return hits;
}

int ErrnoNamed(std::string_view name) {
  if (name == "EIO") return EIO;
  if (name == "ENOSPC") return ENOSPC;
  if (name == "EDQUOT") return EDQUOT;
  if (name == "EROFS") return EROFS;
  return EIO;
}

}  // namespace

bool Failpoint(std::string_view name) { return Active().contains(name); }

int FailpointErrno(std::string_view name) {
  auto it = Active().find(name);
  if (it == Active().end()) return 0;
  const std::string_view arg = it->second;
  const std::size_t colon = arg.find(':');
  if (colon != std::string_view::npos) {
    long limit = 0;
    const std::string_view count = arg.substr(colon + 1);
    std::from_chars(count.data(), count.data() + count.size(), limit);
    if (Hits().find(name)->second->fetch_add(1) >= limit) return 0;
  }
  return ErrnoNamed(arg.substr(0, colon));
}

std::optional<std::string> FailpointArg(std::string_view name) {
  const auto& active = Active();
  auto it = active.find(name);
  if (it == active.end()) return std::nullopt;
  return it->second;
}

}  // namespace storyloom

#else  // a build without failpoints: nothing is ever switched on

namespace storyloom {
bool Failpoint(std::string_view) { return false; }
std::optional<std::string> FailpointArg(std::string_view) { return std::nullopt; }
int FailpointErrno(std::string_view) { return 0; }
}  // namespace storyloom

#endif  // STORYLOOM_FAILPOINTS
