// Plain HTTP request/response values and the router, independent of Boost.Beast so that
// handlers are request -> response functions testable without sockets. Values; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storyloom/error.h"

namespace storyloom::http {

// Case-insensitive header lookup over a small vector (requests carry few headers).
class Headers {
 public:
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  void Set(std::string_view name, std::string value);
  // Returns the first value of `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target: path and query, percent-encoded
  std::string path;    // percent-decoded path, without the query
  std::unordered_map<std::string, std::string> query;        // decoded query parameters
  std::unordered_map<std::string, std::string> path_params;  // from the route pattern
  Headers headers;
  std::string body;
  // When the route streams its body to disk: the temporary file holding it ("" otherwise).
  // The handler owns it: it must move or delete it.
  std::string body_file;
  std::int64_t body_size = 0;
  std::string remote_addr;
  std::string request_id;  // X-Request-Id from the client or a generated one
  // Whatever a RouteOptions::before_body hook reserved for this request (an upload slot);
  // released when the response has been written or the connection ends.
  std::shared_ptr<void> hold;

  std::string_view Query(const std::string& name, std::string_view fallback = {}) const;
};

// A server-sent-events sink. Send/Close may be called from any thread.
class SseSink {
 public:
  virtual ~SseSink() = default;
  // Queues bytes already in SSE wire format ("id: 3\nevent: phase\ndata: {...}\n\n").
  // Returns false once the client has gone; the producer should stop.
  virtual bool Send(std::string chunk) = 0;
  virtual void Close() = 0;
  virtual bool closed() const = 0;
};

// Produces events for one SSE response. Start is called once, after the response headers
// are written, on a worker thread; it may keep the sink and push from other threads.
class SseSource {
 public:
  virtual ~SseSource() = default;
  virtual void Start(std::shared_ptr<SseSink> sink) = 0;
};

// A response body made piece by piece and sent with chunked transfer encoding: for bodies
// too large to hold, whose length is not known up front (a story's zip archive). The server
// calls Next on a worker thread, one call at a time, and calls it again only once the
// previous piece has been written to the client: memory stays at one piece per connection,
// a slow reader holds no thread, and one that stops reading is dropped after the write
// timeout. The source is destroyed when the response ends (any thread).
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Replaces `out` with the next piece (an empty piece is skipped). Returns true while more
  // follows, false after the last piece. An error aborts the response: it is logged and the
  // connection is closed without the last chunk, so the client sees an incomplete body
  // rather than a short one that looks whole.
  virtual Result<bool> Next(std::string& out) = 0;
};

struct FileBody {
  std::string path;  // absolute path on disk, resolved by the handler
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Deferred;

struct Response {
  int status = 200;
  Headers headers;
  std::string body;                    // used unless `file`, `stream` or `sse` is set
  std::optional<FileBody> file;        // stream a file range
  std::shared_ptr<BodySource> stream;  // a chunked body made while it is sent
  std::shared_ptr<SseSource> sse;      // keep the connection open for events
  // Answered later (see Later): the handler's thread is free while the answer waits.
  std::shared_ptr<Deferred> later;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // The JSON error format: {"error":{"code":"not_found","message":"..."}}.
  static Response Error(int status, std::string_view code, std::string_view message);
  // A response finished later, from any thread, typically by the completion of an
  // asynchronous commit (Store::WriteAsync). Once the handler has returned it, the server
  // calls `start` on the handler's thread with a Responder; Responder::Send delivers the
  // real response. A Responder destroyed without Send answers 500, so a forgotten
  // completion never leaves a client waiting or a shutdown hanging. Server::Stop waits
  // for every response in flight this way.
  static Response Later(std::function<void(std::shared_ptr<class Responder>)> start);
};

// The handle a deferred response is delivered through. Thread-safe; the first Send wins.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Send(Response r) = 0;
  // Sends what `build` returns, built off the calling thread (the server builds it on the
  // connection's io thread): for completions that run on a thread with better things to do
  // (a database writer), so that building the answer does not delay the next commit. A
  // `build` that throws answers 500. By default it builds at once.
  virtual void SendBuilt(std::function<Response()> build) {
    const auto built = std::move(build);
    Send(built());
  }
};

struct Deferred {
  std::function<void(std::shared_ptr<Responder>)> start;
};

using Handler = std::function<Response(Request&)>;
// Decides a request from its headers alone; a response answers it (see RouteOptions).
using BeforeBody = std::function<std::optional<Response>(Request&)>;

struct RouteOptions {
  // Run on the io thread instead of the worker pool: only for handlers that never block
  // (no database, no disk), like /healthz.
  bool inline_io = false;
  // Largest accepted request body; larger gets 413. 0: ServerOptions::default_max_body.
  std::uint64_t max_body = 0;
  // Stream the request body to a temporary file under the server's upload dir instead of
  // memory (Request::body_file).
  bool body_to_file = false;
  // Route name for metrics and logs (the pattern by default).
  std::string name;
  // Run on the worker pool once the headers of a request with a body are parsed, before any
  // body byte is read and before `100 Continue` is sent. Returning a response answers the
  // request with it and closes the connection without reading the body (authentication,
  // ownership, quotas). May set Request::hold. Nothing: the body is read and the handler runs.
  BeforeBody before_body;
};

struct Route {
  std::string method;
  std::string pattern;  // "/api/v1/workflows/{id}", "/files/{*path}" (rest of path)
  Handler handler;
  RouteOptions options;
};

// Matches requests to routes. Build it before serving; Match is then thread-safe.
class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  // Fallback for paths no route matches (e.g. the web UI's static files); default 404.
  void SetFallback(Handler handler, RouteOptions options = {});
  // Visits every route (not the fallback), e.g. to add options to a kind of handler. Before
  // serving only.
  void ForEachRoute(const std::function<void(Route&)>& fn);

  struct Match {
    const Route* route = nullptr;     // nullptr: no route for this path
    bool method_not_allowed = false;  // the path exists with other methods
    std::string allow;                // "GET, POST" for 405 responses
  };
  // Finds the route for `method` and decoded `path`, filling req.path_params. HEAD falls back
  // to the GET route of the path when it has no HEAD route of its own.
  Match Find(std::string_view method, std::string_view path,
             std::unordered_map<std::string, std::string>& params) const;

 private:
  // A pattern split into segments once, at Add time.
  struct CompiledRoute {
    std::vector<std::string> segments;
    bool exact = true;  // no {param} segments
  };
  Match FindExact(std::string_view method, std::string_view path,
                  std::unordered_map<std::string, std::string>& params) const;
  static int MatchRoute(const CompiledRoute& c, const std::vector<std::string_view>& parts,
                        std::unordered_map<std::string, std::string>* params);

  std::vector<Route> routes_;
  std::vector<CompiledRoute> compiled_;  // parallel to routes_
  std::optional<Route> fallback_;
};

// Percent-decodes `s` ('+' stays '+' in paths, becomes ' ' in queries when `plus_space`).
// Returns nullopt for malformed escapes or an encoded NUL.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_space = false);
std::string PercentEncode(std::string_view s);

}  // namespace storyloom::http
