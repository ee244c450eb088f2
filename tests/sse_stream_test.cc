// SseStream's backpressure over a real socket on 127.0.0.1: a client that stops reading is
// dropped once more than SseStream::kMaxQueueBytes wait for it, the source learns so from
// Send returning false, and the stream is reported finished once with status 200.
#include "http/sse_stream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>

#include "http/server.h"

namespace storyloom::http {
namespace {

// Sends 64 KiB chunks until the sink refuses one (or `limit` bytes, which fails the test).
class FloodingSource : public SseSource {
 public:
  static constexpr std::uint64_t kLimit = 512ull << 20;
  void Start(std::shared_ptr<SseSink> sink) override {
    const std::string chunk = "data: " + std::string(64 * 1024 - 8, 'x') + "\n\n";
    std::uint64_t sent = 0;
    while (sent < kLimit && sink->Send(chunk)) sent += chunk.size();
    result.set_value({sent, sink->closed()});
  }
  struct Result {
    std::uint64_t sent;
    bool closed;
  };
  std::promise<Result> result;
};

TEST(SseStreamTest, AClientThatStopsReadingIsDroppedAndItsSinkCloses) {
  auto source = std::make_shared<FloodingSource>();
  auto result = source->result.get_future();
  auto router = std::make_shared<Router>();
  router->Add("GET", "/events", [&](Request&) {
    Response r;
    r.sse = source;
    return r;
  });
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> statuses;  // guarded by mu
  ServerOptions options;
  options.port = 0;
  options.worker_threads = 2;
  options.on_complete = [&](const Request&, const Response& res, const std::string&, double,
                            std::uint64_t) {
    std::lock_guard lock(mu);
    statuses.push_back(res.status);
    cv.notify_all();
  };
  Server server(options, router);
  ASSERT_TRUE(server.Start().has_value());

  // A client that asks for the stream and then never reads a byte.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int small = 16 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = "GET /events HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));

  ASSERT_EQ(result.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  const auto r = result.get();
  EXPECT_LT(r.sent, FloodingSource::kLimit) << "the slow client was never dropped";
  EXPECT_GT(r.sent, SseStream::kMaxQueueBytes) << "dropped before its queue was full";
  EXPECT_TRUE(r.closed);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return !statuses.empty(); }));
    EXPECT_EQ(statuses, std::vector<int>{200});
  }
  ::close(fd);
  server.Stop();
}

}  // namespace
}  // namespace storyloom::http
