#include "core/failpoint.h"

#ifdef STORYLOOM_FAILPOINTS

#include <cstdlib>
#include <map>

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

}  // namespace

bool Failpoint(std::string_view name) { return Active().contains(name); }

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
}  // namespace storyloom

#endif  // STORYLOOM_FAILPOINTS
