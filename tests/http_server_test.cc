// Server tests over real sockets on 127.0.0.1 with an ephemeral port: a raw socket client for
// byte-exact checks, libcurl for a large streamed upload.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "http/server.h"

namespace storyloom::http {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

// A blocking HTTP/1.1 client over one TCP connection; reads responses with Content-Length.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads more bytes into buf_; false on EOF, error or timeout.
  bool Fill(std::chrono::milliseconds timeout = 5000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  std::optional<RawResponse> Read() {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    RawResponse r;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    r.status = std::stoi(head.substr(9, 3));
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
      std::size_t next = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
      std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      pos = next;
    }
    if (r.status == 100) return Read();
    std::size_t len =
        r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < len) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  // Reads until `needle` shows up in the unread bytes; returns what was read up to it.
  std::optional<std::string> ReadUntil(std::string_view needle) {
    std::size_t at;
    while ((at = buf_.find(needle)) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::string out = buf_.substr(0, at + needle.size());
    buf_.erase(0, at + needle.size());
    return out;
  }

  // Reads exactly `n` more bytes.
  std::optional<std::string> ReadExactly(std::size_t n) {
    while (buf_.size() < n) {
      if (!Fill()) return std::nullopt;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  // True if the server closes the connection within `timeout` (unread data is discarded).
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sl_http_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "uploads");
    options_.port = 0;
    options_.io_threads = 1;
    options_.worker_threads = 4;
    options_.upload_dir = (dir_ / "uploads").string();
    options_.on_complete = [this](const Request& req, const Response& resp,
                                  const std::string& route, double seconds, std::uint64_t bytes) {
      std::lock_guard lock(mu_);
      completed_.push_back({req.method + " " + req.target, route, resp.status, seconds, bytes,
                            std::this_thread::get_id()});
    };
    router_ = std::make_shared<Router>();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  // Serves `source` as the chunked body (Response::stream) of GET `path`.
  void AddStream(const std::string& path, std::shared_ptr<BodySource> source) {
    router_->Add("GET", path, [source](Request&) {
      Response r;
      r.stream = source;
      return r;
    });
  }

  void StartServer() {
    server_ = std::make_unique<Server>(options_, router_);
    auto started = server_->Start();
    ASSERT_TRUE(started.has_value()) << started.error().message;
    ASSERT_NE(server_->port(), 0);
  }

  struct Completed {
    std::string request;
    std::string route;
    int status;
    double seconds;
    std::uint64_t bytes;
    std::thread::id thread;
  };
  // on_complete runs after the response is written, so possibly after the client read it.
  std::vector<Completed> completed(std::size_t at_least = 1) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mu_);
        if (completed_.size() >= at_least) return completed_;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mu_);
    return completed_;
  }

  fs::path dir_;
  ServerOptions options_;
  std::shared_ptr<Router> router_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::vector<Completed> completed_;  // guarded by mu_
};

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  router_->Add("GET", "/hello/{who}", [](Request& req) {
    return Response::Text(200,
                          "hi " + req.path_params["who"] + " q=" + std::string(req.Query("q")));
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(Get("/hello/ann?q=a+b%21", "X-Request-Id: my-id_1.2\r\n")));
  auto r1 = c.Read();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r1->body, "hi ann q=a b!");
  EXPECT_EQ(r1->Header("x-request-id"), "my-id_1.2");
  EXPECT_EQ(r1->Header("server"), "storyloom");
  EXPECT_NE(r1->Header("date").find("GMT"), std::string::npos);
  ASSERT_TRUE(c.Send(Get("/hello/bob", "X-Request-Id: bad id!\r\n")));
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "hi bob q=");
  const std::string id = r2->Header("x-request-id");
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto done = completed(2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].route, "/hello/{who}");
  EXPECT_EQ(done[0].status, 200);
  EXPECT_GT(done[0].bytes, r1->body.size());
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  options_.idle_timeout_ms = 200;
  router_->Add("GET", "/x", [](Request&) { return Response::Text(200, "x"); });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/x")));
  ASSERT_TRUE(c.Read());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitClosed(3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowedAreJsonErrors) {
  router_->Add("GET", "/items", [](Request&) { return Response::Json(200, "[]"); });
  router_->Add("POST", "/items", [](Request&) { return Response::Json(201, "{}"); });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/nothing")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(r->Json()["error"]["code"], "not_found");
  EXPECT_TRUE(r->Json()["error"]["message"].is_string());
  ASSERT_TRUE(c.Send("DELETE /items HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("allow"), "GET, POST");
  EXPECT_EQ(r->Json()["error"]["code"], "method_not_allowed");
  auto done = completed(2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].route, "unmatched");
}

TEST_F(ServerTest, FallbackServesUnmatchedPaths) {
  router_->SetFallback([](Request& req) { return Response::Text(200, "ui:" + req.path); });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/app/page")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ui:/app/page");
  EXPECT_EQ(completed().at(0).route, "fallback");
}

TEST_F(ServerTest, BodyOverRouteLimitGets413) {
  std::atomic<int> calls{0};
  router_->Add("POST", "/small",
               [&](Request& req) {
                 ++calls;
                 return Response::Text(200, req.body);
               },
               {.max_body = 10, .name = "small"});
  StartServer();
  {
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello");
  }
  {
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->Json()["error"]["code"], "payload_too_large");
    EXPECT_TRUE(c.WaitClosed(3000ms));
  }
  {
    // Chunked bodies have no Content-Length: the limit applies while reading.
    RawClient c(server_->port());
    ASSERT_TRUE(
        c.Send("POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(ServerTest, DefaultBodyLimitComesFromServerOptions) {
  options_.default_max_body = 4;
  router_->Add("POST", "/p", [](Request& req) { return Response::Text(200, req.body); });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, HugeHeadersGet431) {
  options_.max_header_bytes = 4096;
  router_->Add("GET", "/x", [](Request&) { return Response::Text(200, "x"); });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/x", "X-Big: " + std::string(8000, 'a') + "\r\n")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->Json()["error"]["code"], "header_too_large");
}

TEST_F(ServerTest, MalformedRequestGets400) {
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nBad Header Line\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServerTest, PathIsDecodedLiterallyAndMalformedEscapesGet400) {
  router_->Add("GET", "/files/{*path}", [](Request& req) {
    nlohmann::json j = {{"path", req.path}, {"rest", req.path_params["path"]}};
    return Response::Json(200, j.dump());
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/files/%2e%2e/%2E%2E/etc/passwd")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->Json()["path"], "/files/../../etc/passwd");
  EXPECT_EQ(r->Json()["rest"], "../../etc/passwd");
  ASSERT_TRUE(c.Send(Get("/files/%zz")));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->Json()["error"]["code"], "invalid_argument");
  ASSERT_TRUE(c.Send(Get("/files/a%00b")));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  ASSERT_TRUE(c.Send(Get("/files/ok?x=%G1")));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

size_t CurlSink(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

TEST_F(ServerTest, BodyToFileUploadIsStreamedToDiskIntact) {
  std::string payload(3 * 1024 * 1024 + 17, '\0');
  std::mt19937 rng(42);
  for (auto& ch : payload) ch = static_cast<char>(rng());
  std::string seen_file, seen_body;
  std::int64_t seen_size = -1;
  std::string received;
  router_->Add("PUT", "/upload/{name}",
               [&](Request& req) {
                 seen_file = req.body_file;
                 seen_body = req.body;
                 seen_size = req.body_size;
                 std::ifstream in(req.body_file, std::ios::binary);
                 received.assign(std::istreambuf_iterator<char>(in), {});
                 fs::remove(req.body_file);
                 return Response::Json(201, "{}");
               },
               {.max_body = 8 << 20, .body_to_file = true, .name = "upload"});
  StartServer();

  CURL* curl = curl_easy_init();
  ASSERT_NE(curl, nullptr);
  std::string url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/upload/a.bin";
  std::string out;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CurlSink);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  EXPECT_EQ(status, 201);
  EXPECT_TRUE(seen_body.empty());
  EXPECT_EQ(fs::path(seen_file).parent_path(), dir_ / "uploads");
  EXPECT_EQ(seen_size, static_cast<std::int64_t>(payload.size()));
  EXPECT_TRUE(received == payload);
  EXPECT_TRUE(fs::is_empty(dir_ / "uploads"));
}

TEST_F(ServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  router_->Add("POST", "/p", [](Request& req) { return Response::Text(200, req.body); });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(
      c.Send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.ReadUntil("\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(*interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.Send("abcd"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abcd");
}

TEST_F(ServerTest, RejectedUploadLeavesNoTempFile) {
  router_->Add("PUT", "/up", [](Request&) { return Response::Json(201, "{}"); },
               {.max_body = 16, .body_to_file = true, .name = "up"});
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(
      c.Send("PUT /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.WaitClosed(3000ms));
  server_->Stop();
  EXPECT_TRUE(fs::is_empty(dir_ / "uploads"));
}

TEST_F(ServerTest, FileRangeIsStreamedFromDisk) {
  const fs::path file = dir_ / "data.bin";
  std::string content(300000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 251);
  std::ofstream(file, std::ios::binary).write(content.data(), content.size());
  router_->Add("GET", "/range", [&](Request&) {
    Response r;
    r.status = 206;
    r.headers.Add("Content-Type", "application/octet-stream");
    r.headers.Add("Content-Range", "bytes 1000-150999/300000");
    r.file = FileBody{file.string(), 1000, 150000};
    return r;
  });
  router_->Add("GET", "/missing", [&](Request&) {
    Response r;
    r.file = FileBody{(dir_ / "nope").string(), 0, 10};
    return r;
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/range")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(r->Header("content-length"), "150000");
  EXPECT_EQ(r->Header("content-range"), "bytes 1000-150999/300000");
  EXPECT_TRUE(r->body == content.substr(1000, 150000));
  ASSERT_TRUE(c.Send(Get("/missing")));  // same connection still usable
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->Json()["error"]["code"], "internal");
}

// Pushes events from its own thread until the sink reports the client gone.
class TickerSource : public SseSource {
 public:
  void Start(std::shared_ptr<SseSink> sink) override {
    thread_ = std::thread([this, sink] {
      for (int i = 0; i < 2000; ++i) {
        if (!sink->Send("id: " + std::to_string(i) + "\ndata: tick\n\n")) {
          stopped_by_client.set_value(i);
          return;
        }
        std::this_thread::sleep_for(5ms);
      }
      stopped_by_client.set_value(-1);
    });
  }
  ~TickerSource() override {
    if (thread_.joinable()) thread_.join();
  }
  std::promise<int> stopped_by_client;

 private:
  std::thread thread_;
};

TEST_F(ServerTest, SseDeliversEventsAndDetectsDisconnect) {
  auto source = std::make_shared<TickerSource>();
  auto stopped = source->stopped_by_client.get_future();
  router_->Add("GET", "/events", [&](Request&) {
    Response r;
    r.sse = source;
    return r;
  });
  StartServer();
  {
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send(Get("/events")));
    auto head = c.ReadUntil("\r\n\r\n");
    ASSERT_TRUE(head);
    EXPECT_NE(head->find("200 OK"), std::string::npos);
    EXPECT_NE(head->find("Content-Type: text/event-stream"), std::string::npos);
    EXPECT_NE(head->find("Cache-Control: no-cache"), std::string::npos);
    EXPECT_EQ(head->find("Content-Length"), std::string::npos);
    ASSERT_TRUE(c.ReadUntil("id: 0\ndata: tick\n\n"));
    ASSERT_TRUE(c.ReadUntil("id: 3\ndata: tick\n\n"));
  }  // the client goes away
  ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready);
  EXPECT_GE(stopped.get(), 4);
  server_->Stop();
  auto done = completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].route, "/events");
  EXPECT_GT(done[0].bytes, 40u);
}

// Holds the sink; the test drives it.
class ManualSource : public SseSource {
 public:
  void Start(std::shared_ptr<SseSink> sink) override { started.set_value(std::move(sink)); }
  std::promise<std::shared_ptr<SseSink>> started;
};

TEST_F(ServerTest, SseSendsKeepalivesAndCloseFlushesThenEnds) {
  options_.sse_keepalive_ms = 100;
  auto source = std::make_shared<ManualSource>();
  auto sink_future = source->started.get_future();
  router_->Add("GET", "/events", [&](Request&) {
    Response r;
    r.sse = source;
    return r;
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/events")));
  ASSERT_EQ(sink_future.wait_for(5s), std::future_status::ready);
  auto sink = sink_future.get();
  ASSERT_TRUE(c.ReadUntil(": keepalive\n\n"));
  EXPECT_TRUE(sink->Send("data: last\n\n"));
  sink->Close();
  EXPECT_TRUE(sink->closed());
  EXPECT_FALSE(sink->Send("data: after\n\n"));
  ASSERT_TRUE(c.ReadUntil("data: last\n\n"));
  EXPECT_TRUE(c.WaitClosed(3000ms));
}

TEST_F(ServerTest, StopClosesSseStreamsAndIdleConnections) {
  auto source = std::make_shared<ManualSource>();
  auto sink_future = source->started.get_future();
  router_->Add("GET", "/events", [&](Request&) {
    Response r;
    r.sse = source;
    return r;
  });
  router_->Add("GET", "/x", [](Request&) { return Response::Text(200, "x"); });
  StartServer();
  RawClient sse(server_->port());
  ASSERT_TRUE(sse.Send(Get("/events")));
  ASSERT_EQ(sink_future.wait_for(5s), std::future_status::ready);
  auto sink = sink_future.get();
  RawClient idle(server_->port());
  ASSERT_TRUE(idle.Send(Get("/x")));
  ASSERT_TRUE(idle.Read());
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop(5000);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(sink->closed());
  EXPECT_FALSE(sink->Send("data: x\n\n"));
  EXPECT_TRUE(sse.WaitClosed(1000ms));
  EXPECT_TRUE(idle.WaitClosed(1000ms));
  RawClient late(server_->port());
  EXPECT_FALSE(late.connected());
  server_->Stop();  // idempotent
}

TEST_F(ServerTest, ReadTimeoutClosesSlowlorisConnection) {
  // The client keeps making progress, one header line every 100 ms for up to 30 s; the
  // headers' deadline does not move with it, so the server closes the connection long
  // before the client is done. No upper bound on the time: a slow machine only makes the
  // client slower, and it still never finishes.
  options_.read_timeout_ms = 500;
  router_->Add("GET", "/x", [](Request&) { return Response::Text(200, "x"); });
  StartServer();
  RawClient c(server_->port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHost: t\r\n"));
  bool closed = false;
  for (int i = 0; i < 300 && !closed; ++i) {
    closed = c.WaitClosed(100ms) || !c.Send("X-Slow: " + std::to_string(i) + "\r\n");
  }
  EXPECT_TRUE(closed) << "the server waited 30 s for headers that kept dripping in";
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 450ms);
}

TEST_F(ServerTest, GracefulStopFinishesInFlightRequest) {
  std::promise<void> entered;
  router_->Add("GET", "/slow", [&](Request&) {
    entered.set_value();
    std::this_thread::sleep_for(400ms);
    return Response::Text(200, "done");
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/slow")));
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);
  auto stopper = std::async(std::launch::async, [&] { server_->Stop(5000); });
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(stopper.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(c.WaitClosed(1000ms));
}

TEST_F(ServerTest, StopAfterGraceAbandonsStuckRequest) {
  std::promise<void> entered;
  router_->Add("GET", "/stuck", [&](Request&) {
    entered.set_value();
    std::this_thread::sleep_for(1500ms);
    return Response::Text(200, "late");
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/stuck")));
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop(200);
  // Stop waits for the running handler's thread, but the connection is closed unanswered.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
  EXPECT_FALSE(c.Read());
}

// Response::Later: a handler hands back a promise of an answer and frees its worker. One
// worker thread serves two requests whose answers are both still owed, then each is
// answered from another thread, in the opposite order.
TEST_F(ServerTest, LaterAnswersDoNotHoldAWorker) {
  options_.worker_threads = 1;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::shared_ptr<Responder>> owed;
  router_->Add("GET", "/later/{name}", [&](Request& req) {
    const std::string name = req.path_params["name"];
    return Response::Later([&, name](std::shared_ptr<Responder> out) {
      std::lock_guard lock(mu);
      owed[name] = std::move(out);
      cv.notify_all();
    });
  });
  StartServer();
  RawClient a(server_->port()), b(server_->port());
  ASSERT_TRUE(a.Send(Get("/later/a")));
  ASSERT_TRUE(b.Send(Get("/later/b")));
  {
    std::unique_lock lock(mu);
    // Both handlers ran on the one worker: the first did not hold it while owing.
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return owed.size() == 2; }));
  }
  std::thread([&] {
    owed["b"]->Send(Response::Text(201, "made b"));
    owed["a"]->Send(Response::Text(200, "made a"));
    owed["a"]->Send(Response::Text(500, "a second answer is ignored"));
  }).join();
  auto rb = b.Read();
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->status, 201);
  EXPECT_EQ(rb->body, "made b");
  auto ra = a.Read();
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->status, 200);
  EXPECT_EQ(ra->body, "made a");
  auto done = completed(2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].status, 201);
  // The connection serves the next request as usual.
  ASSERT_TRUE(a.Send(Get("/later/a2")));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return owed.contains("a2"); }));
  }
  owed["a2"]->Send(Response::Text(200, "again"));
  auto ra2 = a.Read();
  ASSERT_TRUE(ra2);
  EXPECT_EQ(ra2->body, "again");
}

// A completion that is dropped without answering still answers: 500, JSON error format.
TEST_F(ServerTest, ALaterAnswerNeverSentBecomes500) {
  router_->Add("GET", "/forgotten",
               [](Request&) { return Response::Later([](std::shared_ptr<Responder>) {}); });
  router_->Add("GET", "/throws", [](Request&) {
    return Response::Later([](std::shared_ptr<Responder>) -> void {
      throw std::runtime_error("completion setup failed");
    });
  });
  StartServer();
  for (const char* path : {"/forgotten", "/throws"}) {
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send(Get(path)));
    auto r = c.Read();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 500) << path;
    EXPECT_NE(r->body.find("\"internal\""), std::string::npos) << r->body;
  }
}

// SendBuilt runs the builder off the thread that completes (a database writer's): the
// answer arrives as built, a builder that throws answers 500, and only the first answer
// counts.
TEST_F(ServerTest, ALaterAnswerIsBuiltOffTheCompletingThread) {
  std::mutex mu;
  std::vector<std::pair<std::thread::id, std::thread::id>> threads;  // (completing, building)
  std::vector<std::thread> completers;                               // the "database writers"
  auto complete_from_a_thread = [&](bool throws) {
    return [&, throws](Request&) {
      return Response::Later([&, throws](std::shared_ptr<Responder> out) {
        std::lock_guard lock(mu);
        completers.emplace_back([&, out, throws] {
          const auto completing = std::this_thread::get_id();
          out->SendBuilt([&, completing, throws]() -> Response {
            if (throws) throw std::runtime_error("building failed");
            std::lock_guard lock(mu);
            threads.emplace_back(completing, std::this_thread::get_id());
            return Response::Text(201, "built");
          });
          out->Send(Response::Text(200, "second answer, ignored"));
        });
      });
    };
  };
  router_->Add("GET", "/built", complete_from_a_thread(false));
  router_->Add("GET", "/throws", complete_from_a_thread(true));
  StartServer();
  for (int i = 0; i < 3; ++i) {
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send(Get("/built")));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->body, "built");
  }
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(threads.size(), 3u);
    for (const auto& [completing, building] : threads) EXPECT_NE(completing, building);
  }
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/throws")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("\"internal\""), std::string::npos) << r->body;
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mu);
    done.swap(completers);
  }
  for (auto& t : done) t.join();
}

// Stop keeps the io threads until every owed answer has been delivered (a commit in flight
// completes into a live server), then returns.
TEST_F(ServerTest, StopWaitsForAnOwedAnswer) {
  std::promise<std::shared_ptr<Responder>> owed;
  router_->Add("GET", "/owed", [&](Request&) {
    return Response::Later([&](std::shared_ptr<Responder> out) { owed.set_value(std::move(out)); });
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/owed")));
  auto f = owed.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  std::shared_ptr<Responder> out = f.get();
  auto stopper = std::async(std::launch::async, [&] { server_->Stop(100); });
  // It cannot return while the answer is owed.
  EXPECT_EQ(stopper.wait_for(500ms), std::future_status::timeout);
  out->Send(Response::Text(200, "late but delivered"));
  out.reset();
  EXPECT_EQ(stopper.wait_for(20s), std::future_status::ready);
}

TEST_F(ServerTest, InlineIoRouteRunsOnIoThreadOthersOnWorkers) {
  std::thread::id inline_thread, worker_thread;
  router_->Add("GET", "/healthz",
               [&](Request&) {
                 inline_thread = std::this_thread::get_id();
                 return Response::Text(200, "ok");
               },
               {.inline_io = true, .name = "healthz"});
  router_->Add("GET", "/work", [&](Request&) {
    worker_thread = std::this_thread::get_id();
    return Response::Text(200, "ok");
  });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/healthz")));
  ASSERT_TRUE(c.Read());
  ASSERT_TRUE(c.Send(Get("/work")));
  ASSERT_TRUE(c.Read());
  auto done = completed(2);  // on_complete runs on the io thread
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(inline_thread, done[0].thread);
  EXPECT_NE(worker_thread, done[1].thread);
  EXPECT_EQ(done[1].thread, done[0].thread);  // one io thread
}

TEST_F(ServerTest, HandlerExceptionGives500) {
  router_->Add("GET", "/boom", [](Request&) -> Response { throw std::runtime_error("boom"); },
               {.name = "boom"});
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/boom")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->Json()["error"]["code"], "internal");
  ASSERT_TRUE(c.Send(Get("/boom")));  // the connection survives
  ASSERT_TRUE(c.Read());
  EXPECT_EQ(completed().at(0).route, "boom");
}

TEST_F(ServerTest, ConcurrentClientsOnSeveralIoThreads) {
  options_.io_threads = 2;
  router_->Add("GET", "/n/{i}",
               [](Request& req) { return Response::Text(200, req.path_params["i"]); });
  StartServer();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      RawClient c(server_->port());
      for (int i = 0; i < 50; ++i) {
        const std::string n = std::to_string(t * 100 + i);
        if (!c.Send(Get("/n/" + n))) return;
        auto r = c.Read();
        if (r && r->body == n) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(ServerTest, StartFailsWhenPortIsTaken) {
  StartServer();
  ServerOptions other = options_;
  other.port = server_->port();
  Server second(other, router_);
  auto r = second.Start();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

// Serves `pieces` pieces of `piece_bytes` bytes each (a pattern numbered by piece), then
// ends; or fails after `fail_after` pieces. Counts the calls.
class CountingSource : public BodySource {
 public:
  CountingSource(int pieces, std::size_t piece_bytes, int fail_after = -1)
      : pieces_(pieces), piece_bytes_(piece_bytes), fail_after_(fail_after) {}
  Result<bool> Next(std::string& out) override {
    const int i = calls++;
    if (i == fail_after_) return Fail(Error::FailedPrecondition("the source broke"));
    out = Piece(i, piece_bytes_);
    return pieces_ < 0 || i + 1 < pieces_;
  }
  static std::string Piece(int i, std::size_t n) {
    std::string s(n, 'a');
    for (std::size_t k = 0; k < n; ++k) s[k] = static_cast<char>('a' + (i + k) % 26);
    return s;
  }
  std::atomic<int> calls{0};

 private:
  int pieces_;  // < 0: endless
  std::size_t piece_bytes_;
  int fail_after_;
};

// Reads a chunked body after the headers; nullopt when the connection ends before the
// last chunk.
std::optional<std::string> ReadChunkedBody(RawClient& c) {
  std::string body;
  for (;;) {
    auto line = c.ReadUntil("\r\n");
    if (!line) return std::nullopt;
    const std::size_t n = std::stoul(*line, nullptr, 16);
    if (n == 0) {
      if (!c.ReadUntil("\r\n")) return std::nullopt;  // no trailers
      return body;
    }
    auto data = c.ReadExactly(n + 2);
    if (!data) return std::nullopt;
    body += data->substr(0, n);
  }
}

TEST_F(ServerTest, StreamedBodyIsSentChunkedAndWhole) {
  auto source = std::make_shared<CountingSource>(40, 10000);
  AddStream("/stream", source);
  router_->Add("GET", "/after", [](Request&) { return Response::Text(200, "next"); });
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/stream")));
  auto head = c.ReadUntil("\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_NE(head->find("HTTP/1.1 200"), std::string::npos) << *head;
  EXPECT_NE(head->find("Transfer-Encoding: chunked"), std::string::npos) << *head;
  EXPECT_EQ(head->find("Content-Length"), std::string::npos) << *head;
  auto body = ReadChunkedBody(c);
  ASSERT_TRUE(body);
  std::string expected;
  for (int i = 0; i < 40; ++i) expected += CountingSource::Piece(i, 10000);
  EXPECT_TRUE(*body == expected) << body->size();
  EXPECT_EQ(source->calls.load(), 40);
  // The connection is kept alive and serves the next request.
  ASSERT_TRUE(c.Send(Get("/after")));
  auto next = c.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "next");
  auto done = completed(2);
  ASSERT_GE(done.size(), 1u);
  EXPECT_GT(done[0].bytes, expected.size());
  // HEAD sends the headers alone, with no length and no body.
  RawClient h(server_->port());
  ASSERT_TRUE(h.Send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto hh = h.ReadUntil("\r\n\r\n");
  ASSERT_TRUE(hh);
  EXPECT_NE(hh->find("200"), std::string::npos);
  EXPECT_TRUE(h.WaitClosed(5000ms));
}

TEST_F(ServerTest, AFailingStreamEndsWithoutTheLastChunk) {
  auto source = std::make_shared<CountingSource>(10, 5000, /*fail_after=*/3);
  AddStream("/stream", source);
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/stream")));
  ASSERT_TRUE(c.ReadUntil("\r\n\r\n"));
  // Three whole chunks, then the connection closes: never the zero-length last chunk, so
  // the client knows the body is incomplete.
  EXPECT_FALSE(ReadChunkedBody(c));
  EXPECT_EQ(source->calls.load(), 4);
}

TEST_F(ServerTest, AStreamToAReaderThatStopsIsDroppedAfterTheWriteTimeout) {
  options_.write_timeout_ms = 300;
  auto source = std::make_shared<CountingSource>(-1, 64 * 1024);
  AddStream("/stream", source);
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(Get("/stream")));  // and never reads
  std::this_thread::sleep_for(2000ms);
  const int calls = source->calls.load();
  // The pieces pulled are what the socket buffers took, not an unbounded queue.
  EXPECT_LT(calls, 400) << "pieces pulled for a client that reads nothing";
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(source->calls.load(), calls) << "still pulling after the write timeout";
  ASSERT_GE(completed(1).size(), 1u);
}

}  // namespace
}  // namespace storyloom::http
