// The Boost.Beast HTTP/1.1 server behind server.h, modelled on Beast's advanced_server: a
// listener accepts onto strands; each Session reads one request at a time on its strand,
// runs the handler on the worker pool (or inline for inline_io routes), posts the response
// back to the strand and writes it. An SSE response hands the connection to an SseStream
// (sse_stream.h). This and sse_stream.cc are the translation units that include Beast.
#include "http/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/storage_error.h"
#include "http/log_limiter.h"
#include "http/query.h"
#include "http/range_file_body.h"
#include "http/sse_stream.h"

namespace storyloom::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kMaxLingerBytes = 1 << 20;
// Accepting again right after EMFILE/ENFILE would spin: wait this long first.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(200);

// The answer to a connection past a cap, written without waiting and then closed.
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    "Retry-After: 1\r\nConnection: close\r\nContent-Length: 67\r\n\r\n"
    "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections\"}}";
constexpr std::string_view kTooManyFromAddress =
    "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
    "Retry-After: 1\r\nConnection: close\r\nContent-Length: 88\r\n\r\n"
    "{\"error\":{\"code\":\"rate_limited\",\"message\":\"too many connections from this "
    "address\"}}";

// The Date header value, formatted at most once per second per thread.
std::string_view HttpDate() {
  thread_local std::time_t last = 0;
  thread_local char buf[64];
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    last = now;
  }
  return {buf, len};
}

std::string RandomHex(int chars) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(chars);
  while (static_cast<int>(out.size()) < chars) {
    std::uint64_t v = rng();
    for (int i = 0; i < 16 && static_cast<int>(out.size()) < chars; ++i, v >>= 4) {
      out.push_back(kHex[v & 15]);
    }
  }
  return out;
}

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()),
                        beast::string_view(b.data(), b.size()));
}

class Session;

// State shared by the listener, sessions and Server::Stop. Outlives every session: Stop
// joins the threads and destroys the io_context (and with it every session) first.
struct ServerCore {
  ServerCore(ServerOptions o, std::shared_ptr<const Router> r)
      : options(std::move(o)), router(std::move(r)) {}

  ServerOptions options;
  std::shared_ptr<const Router> router;
  std::unique_ptr<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;  // runs on its own strand
  std::unique_ptr<net::thread_pool> workers;
  std::vector<std::thread> io_threads;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;
  std::uint16_t port = 0;

  int max_connections = 0;                          // set by Start
  std::optional<net::steady_timer> accept_backoff;  // on the acceptor's strand
  LogLimiter log_limiter;
  std::atomic<std::uint64_t> upload_tmp_bytes{0};  // reserved by uploads in flight
  int deferred_in_flight = 0;  // Response::Later answers not yet delivered; guarded by mu

  std::mutex mu;
  std::condition_variable cv;                                     // signalled when a session ends
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;  // guarded by mu
  std::vector<std::weak_ptr<SseSink>> sinks;                      // guarded by mu
  int connections = 0;                                            // guarded by mu
  std::unordered_map<std::string, int> per_address;               // guarded by mu

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Register(const std::shared_ptr<Session>& s);
  void Unregister(Session* s, const std::string& address);
  // Reserves `n` bytes of upload space; false (nothing reserved) past the cap.
  bool ReserveUploadBytes(std::uint64_t n) {
    const std::uint64_t before = upload_tmp_bytes.fetch_add(n);
    if (before + n <= options.max_upload_tmp_bytes) return true;
    upload_tmp_bytes.fetch_sub(n);
    return false;
  }
  void AddSink(const std::shared_ptr<SseSink>& sink);
  void CloseAllSinks();
  std::vector<std::shared_ptr<Session>> LiveSessions();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `remote_addr` has been counted against the connection caps; the destructor uncounts it.
  Session(tcp::socket&& socket, ServerCore* core, std::string remote_addr)
      : stream_(std::move(socket)), core_(core), remote_addr_(std::move(remote_addr)) {}

  ~Session() {
    RemoveUpload();
    ReleaseUploadBytes();
    core_->Unregister(this, remote_addr_);
  }

  void Run() {
    core_->Register(shared_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->StartRead(true); });
  }

  // Posted by Server::Stop: closes idle connections and SSE streams now, busy ones only when
  // `force` (they otherwise close after their response).
  void Shutdown(bool force) {
    net::post(stream_.get_executor(), [self = shared_from_this(), force] {
      if (self->state_ == State::kSse) {
        self->sse_->End(/*flush=*/false);
      } else if (self->state_ != State::kBusy || force) {  // idle or lingering
        self->HardClose();
      }
    });
  }

 private:
  enum class State { kIdle, kBusy, kSse, kClosed };

  // ---- reading a request ----------------------------------------------------------------

  void StartRead(bool first) {
    state_ = State::kIdle;
    if (core_->stopping) return HardClose();
    header_parser_.emplace();
    header_parser_->header_limit(core_->options.max_header_bytes);
    // Checked against the route's limit once the route is known. (Not boost::none: Beast
    // 1.74 compares Content-Length > none as true and fails every request with a body.)
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (first || buffer_.size() > 0) {
      request_deadline_ =
          Clock::now() + std::chrono::milliseconds(core_->options.request_timeout_ms);
      return ReadHeader();
    }
    // Between keep-alive requests wait for the first byte under the idle timeout; the read
    // timeout then covers the request itself.
    stream_.expires_after(std::chrono::milliseconds(core_->options.idle_timeout_ms));
    stream_.async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          if (ec) return self->HardClose();
          self->request_deadline_ =
              Clock::now() + std::chrono::milliseconds(self->core_->options.request_timeout_ms);
          self->buffer_.commit(n);
          self->ParseBufferedHeader();
        });
  }

  // A keep-alive request usually arrives in one segment: parse it from the buffer right
  // away rather than paying for another async operation (a post and a timer) to do so.
  void ParseBufferedHeader() {
    beast::error_code ec;
    const std::size_t used = header_parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) return ReadHeader();
    if (!ec && !header_parser_->is_header_done()) return ReadHeader();
    OnHeader(ec);
  }

  // The read timeout bounds each stall; the request deadline the whole request.
  void ExpireRead() {
    stream_.expires_at(
        std::min(Clock::now() + std::chrono::milliseconds(core_->options.read_timeout_ms),
                 request_deadline_));
  }

  void ReadHeader() {
    ExpireRead();
    bhttp::async_read_header(
        stream_, buffer_, *header_parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    started_ = Clock::now();
    req_ = Request{};
    req_.remote_addr = remote_addr_;
    route_ = nullptr;
    route_name_ = "unmatched";
    if (ec == bhttp::error::header_limit) {
      state_ = State::kBusy;
      req_.request_id = RandomHex(16);
      return SendError(431, "header_too_large", "request headers are too large", true);
    }
    if (ec) {
      // Closed, timed out or cancelled: nothing to answer. A parse error gets a 400.
      const bool parse_error =
          ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
      if (!parse_error) return HardClose();
      state_ = State::kBusy;
      req_.request_id = RandomHex(16);
      return SendError(400, "invalid_argument", "malformed HTTP request", true);
    }
    state_ = State::kBusy;
    auto& h = header_parser_->get();
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    for (const auto& field : h) {
      req_.headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    auto id = req_.headers.Get("X-Request-Id");
    req_.request_id = id && SaneRequestId(*id) ? std::string(*id) : RandomHex(16);
    keep_alive_ = h.keep_alive();
    const bool has_body = !header_parser_->is_done();

    std::string_view target = req_.target;
    const std::size_t qmark = target.find('?');
    auto path = PercentDecode(target.substr(0, qmark));
    if (target.empty() || target.front() != '/' || !path) {
      return SendError(400, "invalid_argument", "malformed request target", has_body);
    }
    req_.path = std::move(*path);
    if (qmark != std::string_view::npos && !ParseQuery(target.substr(qmark + 1), req_.query)) {
      return SendError(400, "invalid_argument", "malformed query string", has_body);
    }

    Router::Match m = core_->router->Find(req_.method, req_.path, req_.path_params);
    if (m.method_not_allowed) {
      resp_ = Response::Error(405, "method_not_allowed", "method " + req_.method + " not allowed");
      resp_.headers.Add("Allow", m.allow);
      if (has_body) {
        keep_alive_ = false;
        linger_ = true;
      }
      return Write();
    }
    if (!m.route) return SendError(404, "not_found", "no route for " + req_.path, has_body);
    route_ = m.route;
    route_name_ = route_->options.name;

    const std::uint64_t limit =
        route_->options.max_body ? route_->options.max_body : core_->options.default_max_body;
    if (auto len = header_parser_->content_length(); len && *len > limit) {
      return SendError(413, "payload_too_large",
                       "request body exceeds " + std::to_string(limit) + " bytes", true);
    }
    if (!has_body) return Dispatch();
    if (!route_->options.before_body) return StartBody();
    // Authentication, ownership and quotas come from the headers, before any body byte.
    net::post(*core_->workers, [self = shared_from_this()] {
      std::optional<Response> early;
      try {
        early = self->route_->options.before_body(self->req_);
      } catch (const std::exception& e) {
        spdlog::error("http: before_body of {} threw: {}", self->route_name_, e.what());
        early = Response::Error(500, "internal", "internal error");
      }
      net::post(self->stream_.get_executor(), [self, early = std::move(early)]() mutable {
        if (!early) return self->StartBody();
        self->resp_ = std::move(*early);
        self->keep_alive_ = false;
        self->linger_ = true;
        self->Write();
      });
    });
  }

  void StartBody() {
    const std::uint64_t limit =
        route_->options.max_body ? route_->options.max_body : core_->options.default_max_body;
    if (route_->options.body_to_file) {
      if (auto len = header_parser_->content_length()) {
        if (!core_->ReserveUploadBytes(*len)) return RefuseUploadSpace();
        upload_reserved_ = *len;
        upload_len_known_ = true;
      }
      upload_path_ =
          (std::filesystem::path(core_->options.upload_dir) / ("upload-" + RandomHex(16) + ".part"))
              .string();
      file_parser_.emplace(std::move(*header_parser_));
      file_parser_->body_limit(limit);
      beast::error_code fec;
      file_parser_->get().body().open(upload_path_.c_str(), beast::file_mode::write_new, fec);
      if (fec) {
        core_->log_limiter.Log(
            spdlog::level::err, "upload-create",
            "http: cannot create upload file " + upload_path_ + ": " + fec.message());
        upload_path_.clear();
        if (IsDiskFull(fec)) return RefuseUploadDiskFull();
        return SendError(503, "unavailable", "cannot store the upload now", true);
      }
    } else {
      string_parser_.emplace(std::move(*header_parser_));
      string_parser_->body_limit(limit);
    }
    auto expect = req_.headers.Get("Expect");
    if (expect && EqualsIgnoreCase(*expect, "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->HardClose();
                                self->ReadBody();
                              });
    }
    ReadBody();
  }

  void ReadBody() {
    if (file_parser_) return ReadBodyWith(*file_parser_);
    ReadBodyWith(*string_parser_);
  }

  void RefuseUploadSpace() {
    RemoveUpload();
    ReleaseUploadBytes();
    core_->log_limiter.Log(spdlog::level::warn, "upload-space",
                           "http: temporary upload space is full (max_upload_tmp_bytes)");
    SendError(507, "insufficient_storage", "the server has no temporary space for this upload now",
              true);
  }

  static bool IsDiskFull(const beast::error_code& ec) {
    const bool os = ec.category() == boost::system::generic_category() ||
                    ec.category() == boost::system::system_category();
    return os && (ec.value() == ENOSPC || ec.value() == EDQUOT);
  }

  void RefuseUploadDiskFull() {
    RemoveUpload();
    ReleaseUploadBytes();
    core::CountStorageFault(Error::InsufficientStorage("upload"));
    core_->log_limiter.Log(spdlog::level::warn, "upload-disk-full",
                           "http: the disk of data_dir/tmp is full; upload refused");
    SendError(507, "insufficient_storage",
              "the server is out of disk space; try again once space is freed", true);
  }

  void ReleaseUploadBytes() {
    if (upload_reserved_ == 0) return;
    core_->upload_tmp_bytes.fetch_sub(upload_reserved_);
    upload_reserved_ = 0;
  }

  // Reads the body piecewise so the timeout bounds each stall, and the request deadline the
  // whole upload.
  template <class Parser>
  void ReadBodyWith(Parser& parser) {
    ExpireRead();
    bhttp::async_read_some(
        stream_, buffer_, parser,
        [self = shared_from_this(), &parser](beast::error_code ec, std::size_t n) {
          if (ec == bhttp::error::body_limit) {
            self->RemoveUpload();
            return self->SendError(413, "payload_too_large", "request body is too large", true);
          }
          // The disk filled while the body streamed into data_dir/tmp.
          if (ec && self->file_parser_ && IsDiskFull(ec)) return self->RefuseUploadDiskFull();
          if (ec) return self->HardClose();
          // Without a declared length, space is reserved as bytes arrive.
          if (self->file_parser_ && !self->upload_len_known_ && n > 0) {
            if (!self->core_->ReserveUploadBytes(n)) {
              return self->RefuseUploadSpace();
            }
            self->upload_reserved_ += n;
          }
          if (!parser.is_done()) return self->ReadBodyWith(parser);
          self->OnBody();
        });
  }

  void OnBody() {
    if (file_parser_) {
      std::error_code ec;
      file_parser_->get().body().close();
      req_.body_file = upload_path_;
      req_.body_size = static_cast<std::int64_t>(std::filesystem::file_size(upload_path_, ec));
      upload_path_.clear();  // the handler owns it now
      file_parser_.reset();
    } else {
      req_.body = std::move(string_parser_->get().body());
      req_.body_size = static_cast<std::int64_t>(req_.body.size());
      string_parser_.reset();
    }
    Dispatch();
  }

  // ---- running the handler --------------------------------------------------------------

  Response Invoke() {
    try {
      return route_->handler(req_);
    } catch (const std::exception& e) {
      spdlog::error("http: handler {} threw: {} (request {})", route_name_, e.what(),
                    req_.request_id);
    } catch (...) {
      spdlog::error("http: handler {} threw a non-exception (request {})", route_name_,
                    req_.request_id);
    }
    return Response::Error(500, "internal", "internal error");
  }

  // Delivers a Response::Later answer: posts it to the session's strand once, or a 500 if
  // the handler's completion was dropped. Holds the session (and Server::Stop keeps the
  // io_context running) until then.
  class SessionResponder : public Responder {
   public:
    explicit SessionResponder(std::shared_ptr<Session> s) : session_(std::move(s)) {
      std::lock_guard lock(session_->core_->mu);
      ++session_->core_->deferred_in_flight;
    }
    ~SessionResponder() override {
      if (!sent_.load()) Send(Response::Error(500, "internal", "internal error"));
    }
    void Send(Response r) override {
      SendBuilt([r = std::move(r)]() mutable { return std::move(r); });
    }

    // Built on the connection's io thread, which stays up until every owed answer is sent
    // (Server::Stop), so no answer is dropped on the way. The session goes with the
    // answer: the io thread, not this one, releases it.
    void SendBuilt(std::function<Response()> build) override {
      if (sent_.exchange(true)) return;
      auto self = std::move(session_);
      net::post(self->stream_.get_executor(), [self, build = std::move(build)]() mutable {
        try {
          self->resp_ = build();
        } catch (const std::exception& e) {
          spdlog::error("http: building a deferred answer threw: {}", e.what());
          self->resp_ = Response::Error(500, "internal", "internal error");
        }
        if (self->resp_.later) {  // no chains
          self->resp_ = Response::Error(500, "internal", "internal error");
        }
        self->Write();
        {
          std::lock_guard lock(self->core_->mu);
          --self->core_->deferred_in_flight;
        }
        self->core_->cv.notify_all();
      });
    }

   private:
    std::shared_ptr<Session> session_;
    std::atomic<bool> sent_{false};
  };

  // On a worker, right after the handler returned a Response::Later.
  void StartLater(const std::shared_ptr<Deferred>& later) {
    auto responder = std::make_shared<SessionResponder>(shared_from_this());
    try {
      later->start(responder);
    } catch (const std::exception& e) {
      spdlog::error("http: handler {} threw starting its answer: {} (request {})", route_name_,
                    e.what(), req_.request_id);
      responder->Send(Response::Error(500, "internal", "internal error"));
    }
  }

  void Dispatch() {
    stream_.expires_never();
    if (route_->options.inline_io) {
      resp_ = Invoke();
      if (resp_.later) resp_ = Response::Error(500, "internal", "internal error");
      return Write();
    }
    // The worker touches only req_ and route_: the strand leaves them alone until the
    // response is posted back.
    net::post(*core_->workers, [self = shared_from_this()] {
      Response r = self->Invoke();
      if (r.later) return self->StartLater(r.later);
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        self->resp_ = std::move(r);
        self->Write();
      });
    });
  }

  // ---- writing the response -------------------------------------------------------------

  void SendError(int status, std::string_view code, const std::string& message, bool unread_body) {
    resp_ = Response::Error(status, code, message);
    if (unread_body) {
      keep_alive_ = false;
      linger_ = true;
    }
    Write();
  }

  template <class Message>
  void FillHeaders(Message& res) {
    res.version(11);
    res.result(static_cast<unsigned>(resp_.status));
    res.set(bhttp::field::server, "storyloom");
    const std::string_view date = HttpDate();
    res.set(bhttp::field::date, beast::string_view(date.data(), date.size()));
    res.set("X-Request-Id", req_.request_id);
    for (const auto& [name, value] : resp_.headers.items()) {
      if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding")) {
        continue;
      }
      if (EqualsIgnoreCase(name, "Connection")) {
        if (EqualsIgnoreCase(value, "close")) keep_alive_ = false;
        continue;
      }
      res.insert(beast::string_view(name.data(), name.size()), value);
    }
  }

  void Write() {
    if (core_->stopping) keep_alive_ = false;
    if (req_.method == "HEAD") return WriteHead();
    if (resp_.sse) return StartSse();
    if (resp_.stream) return StartStream();
    if (resp_.file) {
      file_res_.emplace();
      auto& body = file_res_->body();
      beast::error_code ec;
      body.file.open(resp_.file->path.c_str(), beast::file_mode::read, ec);
      const std::uint64_t size = ec ? 0 : body.file.size(ec);
      if (ec || resp_.file->offset + resp_.file->length > size) {
        spdlog::error("http: cannot send {} [{}+{}]: {}", resp_.file->path, resp_.file->offset,
                      resp_.file->length, ec ? ec.message() : "range past end of file");
        file_res_.reset();
        resp_ = Response::Error(500, "internal", "cannot read file");
        return Write();
      }
      body.offset = resp_.file->offset;
      body.length = resp_.file->length;
      FillHeaders(*file_res_);
      file_res_->keep_alive(keep_alive_);
      file_res_->prepare_payload();
      file_sr_.emplace(*file_res_);
      return WriteSome(*file_sr_);
    }
    str_res_.emplace();
    FillHeaders(*str_res_);
    str_res_->body() = std::move(resp_.body);
    str_res_->keep_alive(keep_alive_);
    str_res_->prepare_payload();
    str_sr_.emplace(*str_res_);
    WriteSome(*str_sr_);
  }

  // HEAD: the headers GET would send, with its Content-Length, and no body.
  void WriteHead() {
    head_res_.emplace();
    FillHeaders(*head_res_);
    if (resp_.sse) {
      resp_.sse.reset();  // no stream to start; releases whatever it held
      head_res_->set(bhttp::field::content_type, "text/event-stream");
      keep_alive_ = false;
    } else if (resp_.stream) {
      resp_.stream.reset();  // its length is unknown until it is made: none is sent
      keep_alive_ = false;
    } else {
      head_res_->content_length(resp_.file ? resp_.file->length : resp_.body.size());
    }
    head_res_->keep_alive(keep_alive_);
    head_sr_.emplace(*head_res_);
    WriteSome(*head_sr_);
  }

  // Writes piecewise so the write timeout bounds each stall: a client that stops reading is
  // dropped, however large the response.
  template <class Serializer>
  void WriteSome(Serializer& sr) {
    stream_.expires_after(std::chrono::milliseconds(core_->options.write_timeout_ms));
    bhttp::async_write_some(stream_, sr,
                            [self = shared_from_this(), &sr](beast::error_code ec, std::size_t n) {
                              self->written_ += n;
                              if (!ec && !sr.is_done()) return self->WriteSome(sr);
                              self->OnWrite(ec, self->written_);
                            });
  }

  // ---- a chunked body made while it is sent (Response::stream) --------------------------

  // Writes the headers (Transfer-Encoding: chunked), then pulls one piece at a time from the
  // source on a worker and writes it as a chunk under the write timeout; only one piece is
  // ever held, and the next is asked for once the previous one is written.
  void StartStream() {
    stream_res_.emplace();
    FillHeaders(*stream_res_);
    stream_res_->chunked(true);
    stream_res_->keep_alive(keep_alive_);
    stream_sr_.emplace(*stream_res_);
    stream_.expires_after(std::chrono::milliseconds(core_->options.write_timeout_ms));
    bhttp::async_write_header(stream_, *stream_sr_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                self->written_ += n;
                                if (ec) return self->OnWrite(ec, self->written_);
                                self->PullPiece();
                              });
  }

  void PullPiece() {
    stream_.expires_never();  // making the piece is not the client's stall
    net::post(*core_->workers, [self = shared_from_this()] {
      Result<bool> more = false;
      try {
        more = self->resp_.stream->Next(self->piece_);
      } catch (const std::exception& e) {
        more = Fail(Error::Internal(e.what()));
      }
      net::post(self->stream_.get_executor(), [self, more = std::move(more)] {
        if (self->state_ == State::kClosed) return;  // closed by Server::Stop meanwhile
        self->OnPiece(more);
      });
    });
  }

  void OnPiece(const Result<bool>& more) {
    if (!more) {
      // Never the last chunk: the client must not take a cut-short body for a whole one.
      core_->log_limiter.Log(spdlog::level::err, "stream-abort",
                             "http: " + route_name_ + " aborted its streamed response (request " +
                                 req_.request_id + "): " + more.error().message);
      keep_alive_ = false;
      return OnWrite({}, written_, /*aborted=*/true);
    }
    if (piece_.empty()) {
      if (*more) return PullPiece();
      return WriteLastChunk();
    }
    stream_.expires_after(std::chrono::milliseconds(core_->options.write_timeout_ms));
    net::async_write(
        stream_, bhttp::make_chunk(net::buffer(piece_)),
        [self = shared_from_this(), last = !*more](beast::error_code ec, std::size_t n) {
          self->written_ += n;
          if (ec) return self->OnWrite(ec, self->written_);
          if (last) return self->WriteLastChunk();
          self->PullPiece();
        });
  }

  void WriteLastChunk() {
    stream_.expires_after(std::chrono::milliseconds(core_->options.write_timeout_ms));
    net::async_write(stream_, bhttp::make_chunk_last(),
                     [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                       self->written_ += n;
                       self->OnWrite(ec, self->written_);
                     });
  }

  void OnWrite(beast::error_code ec, std::size_t bytes, bool aborted = false) {
    Complete(bytes);
    written_ = 0;
    str_sr_.reset();
    file_sr_.reset();
    head_sr_.reset();
    str_res_.reset();
    file_res_.reset();
    head_res_.reset();
    stream_sr_.reset();
    stream_res_.reset();
    resp_.stream.reset();
    piece_ = std::string();
    req_.hold.reset();
    ReleaseUploadBytes();
    upload_len_known_ = false;
    if (ec || aborted) {
      if (ec == beast::error::timeout) {
        core_->log_limiter.Log(
            spdlog::level::info, "write-timeout",
            "http: dropped a client that stopped reading (" + remote_addr_ + ")");
      }
      return HardClose();
    }
    if (!keep_alive_ || core_->stopping) return Close();
    StartRead(false);
  }

  void Complete(std::uint64_t bytes) {
    if (!core_->options.on_complete) return;
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    try {
      core_->options.on_complete(req_, resp_, route_name_, seconds, bytes);
    } catch (const std::exception& e) {
      spdlog::error("http: on_complete threw: {}", e.what());
    }
  }

  // ---- server-sent events ---------------------------------------------------------------

  // The connection is the SseStream's from here until it finishes.
  void StartSse() {
    state_ = State::kSse;
    bhttp::response<bhttp::empty_body> header;
    FillHeaders(header);
    SseStream::Env env;
    env.write_timeout_ms = core_->options.write_timeout_ms;
    env.keepalive_ms = core_->options.sse_keepalive_ms;
    env.remote_addr = remote_addr_;
    env.log = &core_->log_limiter;
    env.run_on_worker = [core = core_](std::function<void()> fn) {
      net::post(*core->workers, std::move(fn));
    };
    env.register_sink = [core = core_](const std::shared_ptr<SseSink>& sink) {
      core->AddSink(sink);
    };
    // Runs inside one of the stream's handlers, which keeps this session alive.
    env.on_finished = [this](std::uint64_t bytes) {
      Complete(bytes);
      HardClose();
    };
    sse_ = std::make_unique<SseStream>(stream_, std::move(env));
    sse_->Start(std::shared_ptr<SseStream>(shared_from_this(), sse_.get()), std::move(header),
                resp_.sse);
  }

  // ---- closing ----------------------------------------------------------------------------

  // Closes after a response. With unread request bytes pending, shuts down our side first
  // and drains a little so the client sees the response instead of a reset.
  void Close() {
    beast::error_code ec;
    if (!linger_) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return HardClose();
    }
    state_ = State::kClosed;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_buf_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kMaxLingerBytes) return self->HardClose();
                              self->Drain();
                            });
  }

  void HardClose() {
    state_ = State::kClosed;
    if (sse_) sse_->Abandon();
    beast::error_code ec;
    stream_.socket().close(ec);
  }

  void RemoveUpload() {
    if (upload_path_.empty()) return;
    file_parser_.reset();  // closes the file
    std::error_code ec;
    std::filesystem::remove(upload_path_, ec);
    upload_path_.clear();
  }

  beast::tcp_stream stream_;
  ServerCore* core_;
  beast::flat_buffer buffer_;
  std::string remote_addr_;
  State state_ = State::kIdle;
  bool keep_alive_ = true;
  bool linger_ = false;
  std::size_t lingered_ = 0;

  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> string_parser_;
  std::optional<bhttp::request_parser<bhttp::file_body>> file_parser_;
  std::string upload_path_;  // a body_to_file upload not yet handed to a handler

  Request req_;
  Response resp_;
  const Route* route_ = nullptr;
  std::string route_name_;
  Clock::time_point started_;
  std::optional<bhttp::response<bhttp::string_body>> str_res_;
  std::optional<bhttp::response<RangeFileBody>> file_res_;
  std::optional<bhttp::response<bhttp::empty_body>> head_res_;
  std::optional<bhttp::response_serializer<bhttp::string_body>> str_sr_;
  std::optional<bhttp::response_serializer<RangeFileBody>> file_sr_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> head_sr_;
  std::optional<bhttp::response<bhttp::empty_body>> stream_res_;  // Response::stream's headers
  std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_sr_;
  std::string piece_;  // the piece being written (Response::stream)
  std::uint64_t written_ = 0;
  Clock::time_point request_deadline_ = Clock::time_point::max();
  std::uint64_t upload_reserved_ = 0;  // bytes of ServerCore::upload_tmp_bytes held
  bool upload_len_known_ = false;      // reserved from Content-Length up front

  std::unique_ptr<SseStream> sse_;  // set once the response is an event stream
  char drain_buf_[512];
};

void ServerCore::DoAccept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void ServerCore::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || !acceptor->is_open()) return;
  if (ec) {
    log_limiter.Log(spdlog::level::warn, "accept", "http: accept failed: " + ec.message());
    // Out of descriptors or memory: accepting again at once would fail again, in a loop.
    if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
        ec == net::error::no_memory || ec.value() == ENFILE) {
      accept_backoff->expires_after(kAcceptBackoff);
      accept_backoff->async_wait([this](beast::error_code wec) {
        if (!wec && !stopping && acceptor->is_open()) DoAccept();
      });
      return;
    }
    return DoAccept();
  }
  beast::error_code aec;
  const auto ep = socket.remote_endpoint(aec);
  std::string address = aec ? std::string() : ep.address().to_string();
  std::string_view refusal;
  {
    std::lock_guard lock(mu);
    if (connections >= max_connections) {
      refusal = kTooManyConnections;
    } else if (per_address[address] >= options.max_connections_per_ip) {
      refusal = kTooManyFromAddress;
    } else {
      ++connections;
      ++per_address[address];
    }
  }
  if (refusal.empty()) {
    std::make_shared<Session>(std::move(socket), this, std::move(address))->Run();
  } else {
    if (refusal == kTooManyConnections) {
      log_limiter.Log(spdlog::level::warn, "max-connections",
                      "http: refusing connections: " + std::to_string(max_connections) +
                          " open (max_connections)");
    } else {
      log_limiter.Log(spdlog::level::warn, "per-address:" + address,
                      "http: refusing connections from " + address + ": " +
                          std::to_string(options.max_connections_per_ip) +
                          " open (max_connections_per_ip)");
    }
    // Best effort, never blocking: the client learns why instead of seeing a bare reset.
    socket.non_blocking(true, aec);
    socket.send(net::buffer(refusal.data(), refusal.size()), 0, aec);
    socket.shutdown(tcp::socket::shutdown_both, aec);
    socket.close(aec);
  }
  DoAccept();
}

void ServerCore::Register(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu);
  sessions.emplace(s.get(), s);
}

void ServerCore::Unregister(Session* s, const std::string& address) {
  std::lock_guard lock(mu);
  sessions.erase(s);
  --connections;
  if (auto it = per_address.find(address); it != per_address.end() && --it->second <= 0) {
    per_address.erase(it);
  }
  cv.notify_all();
}

void ServerCore::AddSink(const std::shared_ptr<SseSink>& sink) {
  {
    std::lock_guard lock(mu);
    if (!stopping) {
      std::erase_if(sinks, [](const auto& w) { return w.expired(); });
      sinks.push_back(sink);
      return;
    }
  }
  sink->Close();
}

void ServerCore::CloseAllSinks() {
  std::vector<std::shared_ptr<SseSink>> live;
  {
    std::lock_guard lock(mu);
    for (auto& w : sinks) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    sinks.clear();
  }
  for (auto& s : live) s->Close();  // outside mu: Close may drop the last session reference
}

std::vector<std::shared_ptr<Session>> ServerCore::LiveSessions() {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lock(mu);
  for (auto& [ptr, weak] : sessions) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

struct Server::Impl : ServerCore {
  using ServerCore::ServerCore;
};

Server::Server(ServerOptions options, std::shared_ptr<const Router> router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() { Stop(); }

std::uint16_t Server::port() const { return impl_->port; }

int Server::max_connections() const { return impl_->max_connections; }

Result<void> Server::Start() {
  Impl& s = *impl_;
  if (s.started) return Fail(Error::FailedPrecondition("server already started"));
  const int io_threads = std::max(1, s.options.io_threads);
  s.ioc = std::make_unique<net::io_context>(io_threads);
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(s.options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, s.options.port);
  } else {
    tcp::resolver resolver(*s.ioc);
    auto results = resolver.resolve(s.options.host, std::to_string(s.options.port), ec);
    if (ec || results.empty()) {
      return Fail(Error::Unavailable("cannot resolve " + s.options.host + ": " + ec.message()));
    }
    endpoint = results.begin()->endpoint();
  }
  s.acceptor.emplace(net::make_strand(*s.ioc));
  auto fail = [&](const char* what) {
    std::string msg = std::string("cannot ") + what + " " + s.options.host + ":" +
                      std::to_string(s.options.port) + ": " + ec.message();
    s.acceptor.reset();
    s.ioc.reset();
    return Fail(Error::Unavailable(std::move(msg)));
  };
  if (s.acceptor->open(endpoint.protocol(), ec)) return fail("open socket for");
  if (s.acceptor->set_option(net::socket_base::reuse_address(true), ec)) return fail("configure");
  if (s.acceptor->bind(endpoint, ec)) return fail("bind");
  if (s.acceptor->listen(net::socket_base::max_listen_connections, ec)) return fail("listen on");
  s.port = s.acceptor->local_endpoint(ec).port();

  s.max_connections = s.options.max_connections;
  if (s.max_connections <= 0) {
    // Leave a quarter of the descriptors to the database, files being served and uploads.
    rlimit rl{};
    const rlim_t soft =
        ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 1024;
    s.max_connections = static_cast<int>(std::clamp<rlim_t>(soft / 4 * 3, 16, 1 << 24));
  }
  s.accept_backoff.emplace(s.acceptor->get_executor());
  s.started = true;
  s.workers = std::make_unique<net::thread_pool>(std::max(1, s.options.worker_threads));
  s.work.emplace(s.ioc->get_executor());
  net::post(s.acceptor->get_executor(), [&s] { s.DoAccept(); });
  for (int i = 0; i < io_threads; ++i) {
    s.io_threads.emplace_back([&s] {
      for (;;) {
        try {
          s.ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: io thread caught: {}", e.what());
        }
      }
    });
  }
  return {};
}

void Server::Stop(int grace_ms) {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  net::post(s.acceptor->get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
    s.accept_backoff->cancel();
  });
  s.CloseAllSinks();
  for (auto& session : s.LiveSessions()) session->Shutdown(false);

  auto wait_sessions = [&s](Clock::time_point deadline) {
    std::unique_lock lock(s.mu);
    return s.cv.wait_until(lock, deadline, [&s] { return s.sessions.empty(); });
  };
  if (!wait_sessions(Clock::now() + std::chrono::milliseconds(std::max(0, grace_ms)))) {
    spdlog::warn("http: closing connections still busy after {} ms", grace_ms);
    for (auto& session : s.LiveSessions()) session->Shutdown(true);
  }
  // Running handlers finish; queued ones are dropped (their connections are closed).
  s.workers->stop();
  s.workers->join();
  s.workers.reset();
  s.CloseAllSinks();
  wait_sessions(Clock::now() + std::chrono::seconds(1));
  // Answers still owed (Response::Later) are delivered through the io threads: keep them
  // running until each has been (their commits finish, or fail, within moments).
  {
    std::unique_lock lock(s.mu);
    if (!s.cv.wait_for(lock, std::chrono::seconds(30),
                       [&s] { return s.deferred_in_flight == 0; })) {
      spdlog::error("http: {} deferred answers still owed after 30 s", s.deferred_in_flight);
    }
  }

  s.work.reset();
  s.ioc->stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  s.accept_backoff.reset();
  s.acceptor.reset();
  s.ioc.reset();  // destroys whatever handlers (and sessions) were still queued
}

}  // namespace storyloom::http
