// The test harness notices what goes wrong inside the servers and CLIs it runs: a sanitizer
// report, a non-zero exit after SIGTERM, a stop slower than the grace period. Each case runs
// a real `storyloom serve` with a failpoint (core/failpoint.h) that misbehaves on purpose and
// expects the harness to fail the test; a clean server must not.
#include "support/server_process.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "support/checks.h"
#include "support/sanitizer_report.h"

namespace storyloom {
namespace {

using testing::ServerOptions;
using testing::ServerProcess;

ServerOptions WithFailpoints(const std::string& failpoints) {
  ServerOptions o;
  o.workers = 0;
  o.env["STORYLOOM_FAILPOINTS"] = failpoints;
  return o;
}

// Starts a server with `failpoints`, checks it answers, and stops it.
void RunAndStop(const std::string& failpoints, int stop_grace_ms = 20000) {
  ServerOptions o = WithFailpoints(failpoints);
  o.stop_grace_ms = stop_grace_ms;
  ServerProcess server(o);
  EXPECT_EQ(server.Client("alice")->Get("/api/v1/me").status, 200);
  server.Stop();
}

TEST(ServerProcessTest, ACleanServerStopsWithoutFailures) {
  ServerProcess server(WithFailpoints(""));
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.Client("alice")->Get("/api/v1/me").status, 200);
  server.Stop();
  EXPECT_TRUE(testing::SanitizerReport(server.log()).empty()) << server.log();
}

TEST(ServerProcessTest, TwoServersGetTheirOwnPortsFromTheKernel) {
  ServerProcess a(WithFailpoints("")), b(WithFailpoints(""));
  EXPECT_NE(a.port(), b.port());
  EXPECT_EQ(a.Client("alice")->Get("/healthz").status, 200);
  EXPECT_EQ(b.Client("alice")->Get("/healthz").status, 200);
}

TEST(ServerProcessTest, AServerThatExitsNonZeroFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(RunAndStop("exit.status=3"), "exit status 3 after SIGTERM");
}

TEST(ServerProcessTest, AServerSlowerThanTheGracePeriodFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(RunAndStop("exit.delay_ms=4000", 1000),
                          "did not stop within 1000 ms of SIGTERM");
}

#if defined(__SANITIZE_ADDRESS__)
TEST(ServerProcessTest, ALeakInTheServerFailsTheTest) {
  // LeakSanitizer reports at exit and turns the exit status to 23: both are caught.
  EXPECT_NONFATAL_FAILURE(RunAndStop("exit.leak"), "ERROR: LeakSanitizer");
}

void RunLeakingCli() {
  testing::TempDir dir;
  ::setenv("STORYLOOM_FAILPOINTS", "exit.leak", 1);
  const auto r = testing::RunCli("--data-dir " + dir.str() + " db migrate");
  ::unsetenv("STORYLOOM_FAILPOINTS");
  EXPECT_NE(r.exit_code, 0) << r.out;  // LeakSanitizer's exit status
}

TEST(ServerProcessTest, ALeakInACliCommandFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(RunLeakingCli(), "printed a sanitizer report");
}
#endif

#if defined(__SANITIZE_THREAD__)
TEST(ServerProcessTest, ADataRaceInTheServerFailsTheTest) {
  // ThreadSanitizer reports on the server's stderr (its log) and exits 66 at the end.
  EXPECT_NONFATAL_FAILURE(RunAndStop("exit.race"), "WARNING: ThreadSanitizer: data race");
}
#endif

TEST(SanitizerReportTest, FindsEachRuntimesReportAndNothingElse) {
  EXPECT_EQ(testing::SanitizerReport("info: started\nGET /x 200\n"), "");
  EXPECT_NE(
      testing::SanitizerReport("a\n==1==ERROR: AddressSanitizer: heap-use-after-free\n#0 x\n"), "");
  EXPECT_NE(testing::SanitizerReport("src/a.cc:3:5: runtime error: signed integer overflow\n"), "");
  EXPECT_NE(testing::SanitizerReport("==2==ERROR: LeakSanitizer: detected memory leaks\n"), "");
  EXPECT_NE(testing::SanitizerReport("WARNING: ThreadSanitizer: data race (pid=1)\n"), "");
  const std::string r =
      testing::SanitizerReport("before\n==1==ERROR: AddressSanitizer: x\nline2\n");
  EXPECT_TRUE(r.starts_with("==1==ERROR: AddressSanitizer")) << r;
}

}  // namespace
}  // namespace storyloom
