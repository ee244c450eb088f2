// The request path our code runs after Beast has parsed a request line (server.cc): the
// target split at '?', the path percent-decoded, the query parsed, the router matched
// against the API's route shapes. Also PercentEncode -> PercentDecode round trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/http.h"
#include "http/query.h"

using namespace storyloom::http;

namespace {

const Router& TheRouter() {
  static const Router* router = [] {
    auto* r = new Router;
    Handler h = [](Request&) { return Response::Text(200, "ok"); };
    for (const char* p :
         {"/healthz", "/readyz", "/metrics", "/api/v1/workflows", "/api/v1/workflows/{id}",
          "/api/v1/workflows/{id}/events", "/api/v1/workflows/{id}/cancel",
          "/api/v1/workflows/{id}/retry", "/api/v1/workflows/{id}/files/{name}", "/api/v1/files",
          "/api/v1/files/{id}", "/files/{*path}", "/api/v1/usage",
          "/api/v1/users/{id}/tokens/{token_id}", "/api/v1/admin/{*rest}"}) {
      r->Add("GET", p, h);
      r->Add("POST", p, h);
    }
    r->Add("PUT", "/api/v1/workflows/{id}/files/{name}", h);
    r->Add("DELETE", "/api/v1/workflows/{id}", h);
    r->SetFallback(h);
    return r;
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // "METHOD target" when there is a space, as on a request line; else GET.
  std::string_view method = "GET", target = in;
  if (auto sp = in.find(' '); sp != std::string_view::npos && sp < 8) {
    method = in.substr(0, sp);
    target = in.substr(sp + 1);
  }

  // server.cc, Session::OnHeader.
  Request req;
  req.method = std::string(method);
  req.target = std::string(target);
  const std::size_t qmark = target.find('?');
  auto path = PercentDecode(target.substr(0, qmark));
  if (!target.empty() && target.front() == '/' && path) {
    req.path = std::move(*path);
    bool query_ok = true;
    if (qmark != std::string_view::npos) query_ok = ParseQuery(target.substr(qmark + 1), req.query);
    if (query_ok) {
      Router::Match m = TheRouter().Find(req.method, req.path, req.path_params);
      if (!m.route && !m.method_not_allowed) std::abort();  // the fallback takes the rest
      if (m.method_not_allowed && m.allow.empty()) std::abort();
      for (const auto& [k, v] : req.path_params) {
        if (k == "path" || k == "rest") continue;
        if (v.empty() || v.find('/') != std::string::npos) std::abort();
      }
      (void)req.Query("limit", "50");
    }
  }

  // Every decoded string survives an encode/decode round trip.
  for (bool plus_space : {false, true}) {
    if (auto d = PercentDecode(in, plus_space)) {
      auto back = PercentDecode(PercentEncode(*d), plus_space);
      if (!back || *back != *d) std::abort();
    }
  }
  // The error body echoes client input: it must never throw on bad UTF-8.
  (void)Response::Error(404, "not_found", "no route for " + std::string(in));
  return 0;
}
