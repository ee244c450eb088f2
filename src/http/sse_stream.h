// SseStream: the Server-Sent-Events half of a connection. Once a handler answers with an
// SseSource, the Session hands its socket over: the stream writes the response headers
// (text/event-stream, no length: it lasts until the connection closes), starts the source on
// the worker pool with a thread-safe SseSink, writes the chunks the source sends (already in
// SSE wire format; sources such as api::SseHub frame events and resume after Last-Event-ID)
// one at a time under the write timeout, sends a ": keepalive" comment every keepalive_ms,
// drops a client more than kMaxQueueBytes behind, and ends on the client's close, the
// source's Close (after flushing) or the server's stop (at once).
//
// Threads: every member function runs on the connection's strand, except through the sink,
// whose Send/Close/closed may be called from any thread (they post to the strand). Private
// to src/http: only server.cc and sse_stream.cc include it (it includes Beast).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/http.h"
#include "http/log_limiter.h"

namespace storyloom::http {

class SseSinkImpl;

class SseStream {
 public:
  static constexpr std::size_t kMaxQueueBytes = 8 << 20;  // a client this far behind is dropped

  // What the stream needs from its connection and server.
  struct Env {
    int write_timeout_ms = 60000;
    int keepalive_ms = 15000;
    std::string remote_addr;    // for the log line of a dropped slow client
    LogLimiter* log = nullptr;  // the server's
    // Runs the source's Start off the io threads (the server's worker pool).
    std::function<void(std::function<void()>)> run_on_worker;
    // Lets Server::Stop close the sink (closes it at once when the server is stopping).
    std::function<void(const std::shared_ptr<SseSink>&)> register_sink;
    // Called once on the strand when the stream ends, with the bytes written (headers
    // included); the owner then closes the connection.
    std::function<void(std::uint64_t bytes)> on_finished;
  };

  SseStream(boost::beast::tcp_stream& stream, Env env);
  // Marks the sink closed: the source's later sends return false and post nothing.
  ~SseStream();
  SseStream(const SseStream&) = delete;
  SseStream& operator=(const SseStream&) = delete;

  // Writes `header` and starts `source`. `self` points at this stream and shares ownership
  // of the connection that owns it (an aliasing pointer): every pending operation and the
  // sink hold it, so the connection lives while they do.
  void Start(std::shared_ptr<SseStream> self,
             boost::beast::http::response<boost::beast::http::empty_body> header,
             std::shared_ptr<SseSource> source);
  // Queues one chunk; past kMaxQueueBytes queued the client is dropped.
  void Queue(std::string chunk);
  // Ends the stream: after the queued chunks are written when `flush`, else at once.
  void End(bool flush);
  // The owner closed the connection itself: stop without calling on_finished.
  void Abandon();
  // The connection's strand.
  boost::asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void OnHeader(boost::beast::error_code ec, std::size_t bytes);
  void ArmKeepalive();
  void WriteNext();
  void OnWrite(boost::beast::error_code ec, std::size_t n);
  void Finish();

  boost::beast::tcp_stream& stream_;  // owned by the connection
  Env env_;
  std::weak_ptr<SseStream> self_;
  std::optional<boost::beast::http::response<boost::beast::http::empty_body>> header_;
  std::shared_ptr<SseSource> source_;  // until handed to the worker
  std::shared_ptr<SseSinkImpl> sink_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t bytes_ = 0;
  bool writing_ = false;
  bool ending_ = false;
  bool finished_ = false;
  boost::asio::steady_timer keepalive_timer_;
  char read_buf_[512];
};

}  // namespace storyloom::http
