#include "http/sse_stream.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <mutex>

namespace storyloom::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

// The SseSink handed to an SseSource: posts chunks to the stream's strand.
class SseSinkImpl : public SseSink {
 public:
  explicit SseSinkImpl(std::weak_ptr<SseStream> stream) : stream_(std::move(stream)) {}
  bool Send(std::string chunk) override;
  void Close() override;
  bool closed() const override { return closed_.load(); }
  // Called on the strand when the connection ends: no more posts.
  void MarkClosed() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  std::mutex mu_;  // orders Send/Close against MarkClosed so nothing posts to a dead stream
  std::atomic<bool> closed_{false};
  // Not the strand itself: a sink may outlive the io_context, a strand may not.
  std::weak_ptr<SseStream> stream_;
};

bool SseSinkImpl::Send(std::string chunk) {
  std::shared_ptr<SseStream> stream;  // released after the lock: it may be the last owner
  std::lock_guard lock(mu_);
  if (closed_) return false;
  stream = stream_.lock();
  if (!stream) {
    closed_ = true;
    return false;
  }
  net::post(stream->executor(),
            [stream, chunk = std::move(chunk)]() mutable { stream->Queue(std::move(chunk)); });
  return true;
}

void SseSinkImpl::Close() {
  std::shared_ptr<SseStream> stream;
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  stream = stream_.lock();
  if (stream) net::post(stream->executor(), [stream] { stream->End(true); });
}

SseStream::SseStream(beast::tcp_stream& stream, Env env)
    : stream_(stream), env_(std::move(env)), keepalive_timer_(stream.get_executor()) {}

SseStream::~SseStream() {
  if (sink_) sink_->MarkClosed();
}

void SseStream::Start(std::shared_ptr<SseStream> self, bhttp::response<bhttp::empty_body> header,
                      std::shared_ptr<SseSource> source) {
  self_ = self;
  source_ = std::move(source);
  header_.emplace(std::move(header));
  header_->set(bhttp::field::content_type, "text/event-stream");
  header_->set(bhttp::field::cache_control, "no-cache");
  header_->set("X-Accel-Buffering", "no");
  // No Content-Length and no chunking: the event stream lasts until the connection closes.
  stream_.expires_after(std::chrono::milliseconds(env_.write_timeout_ms));
  bhttp::async_write(stream_, *header_,
                     [self = std::move(self)](beast::error_code ec, std::size_t bytes) {
                       self->OnHeader(ec, bytes);
                     });
}

void SseStream::OnHeader(beast::error_code ec, std::size_t bytes) {
  bytes_ += bytes;
  header_.reset();
  sink_ = std::make_shared<SseSinkImpl>(self_);
  if (ec || finished_ || ending_) {
    sink_->MarkClosed();
    return Finish();
  }
  env_.register_sink(sink_);
  // A read that completes only when the client goes away (or misbehaves); untimed.
  stream_.expires_never();
  stream_.async_read_some(net::buffer(read_buf_),
                          [self = self_.lock()](beast::error_code ec, std::size_t) {
                            if (ec) self->Finish();
                            // Clients have nothing to say on an event stream; drop it.
                            else
                              self->End(false);
                          });
  ArmKeepalive();
  env_.run_on_worker([source = std::move(source_), sink = sink_] {
    try {
      source->Start(sink);
    } catch (const std::exception& e) {
      spdlog::error("http: SSE source threw: {}", e.what());
      sink->Close();
    }
  });
}

void SseStream::ArmKeepalive() {
  keepalive_timer_.expires_after(std::chrono::milliseconds(env_.keepalive_ms));
  keepalive_timer_.async_wait([self = self_.lock()](beast::error_code ec) {
    if (ec || self->finished_ || self->ending_) return;
    self->Queue(": keepalive\n\n");
    self->ArmKeepalive();
  });
}

void SseStream::Queue(std::string chunk) {
  if (finished_ || ending_) return;
  queued_bytes_ += chunk.size();
  queue_.push_back(std::move(chunk));
  if (queued_bytes_ > kMaxQueueBytes) {
    env_.log->Log(spdlog::level::warn, "sse-slow",
                  "http: SSE client " + env_.remote_addr + " too slow, dropping it");
    return End(false);
  }
  if (!writing_) WriteNext();
}

void SseStream::End(bool flush) {
  if (finished_) return;
  ending_ = true;
  if (flush && writing_) return;  // OnWrite finishes once the queue drains
  Finish();
}

void SseStream::Abandon() {
  finished_ = true;
  keepalive_timer_.cancel();
}

void SseStream::WriteNext() {
  writing_ = true;
  // Only the write is timed: the read watching for the client's close stays untimed.
  stream_.expires_after(std::chrono::milliseconds(env_.write_timeout_ms));
  net::async_write(
      stream_, net::buffer(queue_.front()),
      [self = self_.lock()](beast::error_code ec, std::size_t n) { self->OnWrite(ec, n); });
}

void SseStream::OnWrite(beast::error_code ec, std::size_t n) {
  writing_ = false;
  if (finished_) return;
  bytes_ += n;
  queued_bytes_ -= queue_.front().size();
  queue_.pop_front();
  if (ec) return Finish();
  if (!queue_.empty()) return WriteNext();
  if (ending_) Finish();
}

void SseStream::Finish() {
  if (finished_) return;
  finished_ = true;
  if (sink_) sink_->MarkClosed();
  keepalive_timer_.cancel();
  queue_.clear();
  env_.on_finished(bytes_);  // the owner closes the connection
}

}  // namespace storyloom::http
