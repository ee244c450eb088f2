// The browser UI: embedded files under /, with index.html for the app's own paths; and the
// API description: GET /api/v1/openapi.json and its browsable reference at /api/docs (both
// public, like the UI's files: they describe the API, they hold no data).
#include <algorithm>

#include "api/handler_util.h"
#include "api/routes.h"
#include "api/web_assets.h"

namespace storyloom::api {

namespace {

std::string MimeFor(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

const WebAsset* Find(std::string_view path) {
  for (const auto& a : WebAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

http::Response Serve(const WebAsset& a) {
  http::Response r;
  r.status = 200;
  r.body = std::string(a.bytes);
  r.headers.Set("Content-Type", MimeFor(a.path));
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.headers.Set("Cache-Control", a.path == "/index.html" ? "no-cache" : "public, max-age=300");
  if (a.path.ends_with(".html")) {
    r.headers.Set("Content-Security-Policy",
                  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                  "style-src 'self' 'unsafe-inline'; frame-src 'self'; frame-ancestors 'none'");
    r.headers.Set("X-Frame-Options", "DENY");
    r.headers.Set("Referrer-Policy", "no-referrer");
  }
  return r;
}

}  // namespace

void AddWebRoutes(App&, http::Router& r) {
  r.Add("GET", "/api/v1/openapi.json",
        [](http::Request&) {
          http::Response resp = http::Response::Json(200, std::string(OpenApiJson()));
          resp.headers.Set("X-Content-Type-Options", "nosniff");
          resp.headers.Set("Cache-Control", "public, max-age=300");
          return resp;
        },
        {.inline_io = true});
  r.Add("GET", "/api/docs",
        [](http::Request&) -> http::Response {
          if (const WebAsset* page = Find("/api-docs.html")) return Serve(*page);
          return ErrorResponse(Error::NotFound("no such page"));
        },
        {.inline_io = true});
  r.SetFallback(
      [](http::Request& req) -> http::Response {
        if (req.path.starts_with("/api/")) {
          return ErrorResponse(Error::NotFound("no such API endpoint: " + req.path));
        }
        if (req.method != "GET" && req.method != "HEAD") {
          http::Response m = ErrorResponse(Error{ErrorCode::kNotFound, "no such endpoint", ""});
          return m;
        }
        if (const WebAsset* a = Find(req.path)) return Serve(*a);
        // The single-page app's own routes all load index.html.
        if (const WebAsset* index = Find("/index.html")) return Serve(*index);
        return ErrorResponse(Error::NotFound("no such page"));
      },
      {.inline_io = true});
}

}  // namespace storyloom::api
