// Server: the Boost.Beast HTTP/1.1 server. Io threads accept and parse; handlers run on a
// worker pool unless their route is inline_io. Start/Stop from one controlling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/http.h"
#include "storyloom/error.h"

namespace storyloom::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: pick a free port (see Server::port())
  int io_threads = 1;
  int worker_threads = 8;
  std::uint64_t default_max_body = 1 << 20;
  std::uint32_t max_header_bytes = 16 * 1024;
  // Per request: the headers must arrive within it, and the body must make progress at
  // least this often (a stalled or slowloris client is disconnected).
  int read_timeout_ms = 30000;
  int idle_timeout_ms = 60000;  // keep-alive between requests
  // Headers plus body of one request must arrive within this, however steadily they drip.
  int request_timeout_ms = 600000;
  // A response (or event stream) whose write makes no progress for this long is dropped,
  // releasing the socket and any file it was sending.
  int write_timeout_ms = 60000;
  // Open connections in total (0: 3/4 of the soft RLIMIT_NOFILE at Start) and per client
  // address; connections past either cap get a short 503/429 and are closed.
  int max_connections = 0;
  int max_connections_per_ip = 256;
  // Temporary disk space of body_to_file uploads in flight: checked against Content-Length
  // and while streaming; past it, 507.
  std::uint64_t max_upload_tmp_bytes = 2ull << 30;
  std::string upload_dir;        // for body_to_file routes; must be set if any use it
  int sse_keepalive_ms = 15000;  // ": keepalive" comment interval on SSE streams
  // Called once per finished request (access log, metrics). Any thread.
  std::function<void(const Request&, const Response&, const std::string& route_name, double seconds,
                     std::uint64_t bytes_sent)>
      on_complete;
};

class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<const Router> router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the io and worker threads. Returns unavailable if it cannot bind.
  [[nodiscard]] Result<void> Start();
  // The bound port (useful with port 0).
  std::uint16_t port() const;
  // The connection cap in force (after Start).
  int max_connections() const;
  // Stops accepting, lets in-flight requests finish (up to `grace_ms`), closes SSE streams
  // and joins all threads. Idempotent.
  void Stop(int grace_ms = 5000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace storyloom::http
