// ParseQuery (see query.h), moved out of server.cc so it can be fuzzed without sockets.
#include "http/query.h"

#include "http/http.h"

namespace storyloom::http {

bool ParseQuery(std::string_view qs, std::unordered_map<std::string, std::string>& out) {
  while (!qs.empty()) {
    const std::size_t amp = qs.find('&');
    std::string_view pair = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    out.emplace(std::move(*key), std::move(*value));
  }
  return true;
}

}  // namespace storyloom::http
