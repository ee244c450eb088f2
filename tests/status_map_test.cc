// The storage-fault log of http::ErrorResponse stays bounded under a flood of faults (#14): a
// full disk answering every write with 507 must not write one log line per request, and the
// first fault is always logged with its real cause.
#include "http/status_map.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "http/log_limiter.h"

namespace storyloom::http {
namespace {

using std::chrono::steady_clock;

// Makes the default spdlog logger write into a string for the test's lifetime, one line per
// message, and puts the previous logger back afterwards.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

// A clock the test moves by hand.
struct ManualClock {
  steady_clock::time_point now{std::chrono::hours(1)};
  LogLimiter::Clock Fn() {
    return [this] { return now; };
  }
};

Error DiskFull(int i) {
  return Error::InsufficientStorage("write /data/out/w" + std::to_string(i) +
                                    ".png: No space left on device");
}

TEST(StorageFaultLogTest, TenThousandFaultsInOneWindowWriteABoundedLog) {
  CapturedLog log;
  ManualClock clock;
  LogLimiter limiter(std::chrono::seconds(10), 16, kStorageFaultLinesPerWindow, clock.Fn());
  for (int i = 0; i < 10000; ++i) {
    const Response r = ErrorResponse(DiskFull(i), limiter);
    ASSERT_EQ(r.status, 507);
  }
  const auto lines = log.Lines();
  ASSERT_EQ(lines.size(), kStorageFaultLinesPerWindow);
  // The first fault is logged with its real cause (the path the client never sees).
  EXPECT_EQ(lines[0],
            "warning insufficient storage: write /data/out/w0.png: No space left on device");

  // The next window's first line says how many were left out of the last one.
  clock.now += std::chrono::seconds(10);
  ErrorResponse(DiskFull(10000), limiter);
  const auto after = log.Lines();
  ASSERT_EQ(after.size(), kStorageFaultLinesPerWindow + 1);
  EXPECT_EQ(after.back(),
            "warning insufficient storage: write /data/out/w10000.png: No space left on device (" +
                std::to_string(10000 - kStorageFaultLinesPerWindow) + " similar lines suppressed)");
}

TEST(StorageFaultLogTest, FullDiskAndIoErrorsAreLimitedApart) {
  CapturedLog log;
  ManualClock clock;
  LogLimiter limiter(std::chrono::seconds(10), 16, 1, clock.Fn());
  for (int i = 0; i < 100; ++i) {
    ErrorResponse(DiskFull(i), limiter);
    const Response r =
        ErrorResponse(Error::StorageIo("fsync /data/db: Input/output error"), limiter);
    ASSERT_EQ(r.status, 503);
  }
  // A flood of full-disk errors does not hide the first I/O error.
  EXPECT_EQ(log.Lines(),
            (std::vector<std::string>{
                "warning insufficient storage: write /data/out/w0.png: No space left on device",
                "error storage I/O error: fsync /data/db: Input/output error"}));
}

TEST(StorageFaultLogTest, OtherErrorsAreNotLogged) {
  CapturedLog log;
  ErrorResponse(Error::NotFound("no such workflow"));
  ErrorResponse(Error{ErrorCode::kResourceExhausted, "slow down", "rate_limited"});
  EXPECT_TRUE(log.Lines().empty());
}

// The one-argument ErrorResponse, which every handler calls, goes through the process-wide
// limiter: 10,000 faults are a handful of lines, not 10,000. The bound allows one window per
// kStorageFaultWindow the loop took (it never takes one in practice), so the test does not
// depend on the machine's speed.
TEST(StorageFaultLogTest, ErrorResponseUsesTheProcessWideLimiter) {
  CapturedLog log;
  const auto start = steady_clock::now();
  for (int i = 0; i < 10000; ++i) ErrorResponse(DiskFull(i));
  const auto windows = (steady_clock::now() - start) / kStorageFaultWindow + 2;
  EXPECT_LE(log.Lines().size(), kStorageFaultLinesPerWindow * static_cast<std::size_t>(windows));
}

}  // namespace
}  // namespace storyloom::http
