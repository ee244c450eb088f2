// Headers, Request, Response helpers, the Router and percent-encoding (see http.h).
#include "http/http.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace storyloom::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "/a/b/c" into {"a", "b", "c"}; "/" gives {""}; a trailing slash gives a last "".
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}
bool IsRest(std::string_view seg) { return IsParam(seg) && seg.size() >= 3 && seg[1] == '*'; }

}  // namespace

void Headers::Set(std::string_view name, std::string value) {
  auto it = std::find_if(items_.begin(), items_.end(),
                         [&](const auto& kv) { return EqualsIgnoreCase(kv.first, name); });
  if (it == items_.end()) {
    items_.emplace_back(std::string(name), std::move(value));
    return;
  }
  it->second = std::move(value);
  // Set replaces every earlier value of the header.
  items_.erase(std::remove_if(it + 1, items_.end(),
                              [&](const auto& kv) { return EqualsIgnoreCase(kv.first, name); }),
               items_.end());
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Request::Query(const std::string& name, std::string_view fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : std::string_view(it->second);
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::Later(std::function<void(std::shared_ptr<Responder>)> start) {
  Response r;
  r.later = std::make_shared<Deferred>(Deferred{std::move(start)});
  return r;
}

Response Response::Error(int status, std::string_view code, std::string_view message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  // Replace, not throw, on invalid UTF-8 in messages that echo client input.
  return Json(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  if (options.name.empty()) options.name = pattern;
  std::vector<std::string> segments;
  bool exact = true;
  for (std::string_view seg : SplitPath(pattern)) {
    if (IsParam(seg)) exact = false;
    segments.emplace_back(seg);
  }
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(handler), std::move(options)});
  compiled_.push_back(CompiledRoute{std::move(segments), exact});
}

void Router::SetFallback(Handler handler, RouteOptions options) {
  if (options.name.empty()) options.name = "fallback";
  fallback_ = Route{"*", "*", std::move(handler), std::move(options)};
}

// Specificity of a route matching a path: literal segments beat {params}, which beat {*rest}.
// Returns -1 if the route does not match; fills `params` only when it does.
int Router::MatchRoute(const CompiledRoute& c, const std::vector<std::string_view>& parts,
                       std::unordered_map<std::string, std::string>* params) {
  const auto& segs = c.segments;
  int score = 0;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string& seg = segs[i];
    if (IsRest(seg)) {
      if (i != segs.size() - 1 || parts.size() < segs.size()) return -1;
      if (params) {
        std::string rest;
        for (std::size_t j = i; j < parts.size(); ++j) {
          if (j > i) rest += '/';
          rest += parts[j];
        }
        (*params)[seg.substr(2, seg.size() - 3)] = std::move(rest);
      }
      return score;
    }
    if (i >= parts.size()) return -1;
    if (IsParam(seg)) {
      if (parts[i].empty()) return -1;
      score += 1;
    } else if (seg != parts[i]) {
      return -1;
    } else {
      score += 2;
    }
  }
  if (parts.size() != segs.size()) return -1;
  if (params) {
    for (std::size_t i = 0; i < segs.size(); ++i) {
      if (IsParam(segs[i])) (*params)[segs[i].substr(1, segs[i].size() - 2)] = parts[i];
    }
  }
  return score + 1;  // a full match beats a {*rest} match of the same prefix
}

void Router::ForEachRoute(const std::function<void(Route&)>& fn) {
  for (Route& r : routes_) fn(r);
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           std::unordered_map<std::string, std::string>& params) const {
  Match m = FindExact(method, path, params);
  if (method == "HEAD" && m.method_not_allowed) {
    Match get = FindExact("GET", path, params);
    if (get.route) return get;
  }
  return m;
}

Router::Match Router::FindExact(std::string_view method, std::string_view path,
                                std::unordered_map<std::string, std::string>& params) const {
  Match m;
  const auto parts = SplitPath(path);
  int best_score = -1;
  std::size_t best = 0;
  std::vector<std::string_view> methods;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const CompiledRoute& c = compiled_[i];
    if (c.exact) {
      // Cheap rejection for literal patterns before the segment walk.
      if (c.segments.size() != parts.size()) continue;
    }
    int score = MatchRoute(c, parts, nullptr);
    if (score < 0) continue;
    if (routes_[i].method != method) {
      methods.push_back(routes_[i].method);
      continue;
    }
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  if (best_score >= 0) {
    MatchRoute(compiled_[best], parts, &params);
    m.route = &routes_[best];
    return m;
  }
  if (!methods.empty()) {
    std::sort(methods.begin(), methods.end());
    methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
    m.method_not_allowed = true;
    for (std::string_view meth : methods) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += meth;
    }
    return m;
  }
  if (fallback_) m.route = &*fallback_;
  return m;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace storyloom::http
