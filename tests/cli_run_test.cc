// `storyloom run` beside a running `storyloom serve` on the same data (issue 16 part 5): the
// workflow it creates runs once, under its own lease, and the server's own work is not
// disturbed; it uses the configured provider. Real binaries, both backends.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "support/checks.h"
#include "support/fake_openai.h"
#include "support/server_process.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::CliFlags;
using testing::CliResult;
using testing::QueryText;
using testing::RunCli;
using testing::ServerOptions;
using testing::ServerProcess;

// The workflow id `storyloom run` printed ("workflow <id> ..."), "" when none.
std::string RunWorkflowId(const std::string& out) {
  std::smatch m;
  static const std::regex re("workflow ([0-9a-f-]{36})");
  return std::regex_search(out, m, re) ? m[1].str() : "";
}

// Sets environment variables for the CLI children of this test, and unsets them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<std::string, std::string>> vars) {
    for (const auto& [k, v] : vars) {
      ::setenv(k.c_str(), v.c_str(), 1);
      names_.push_back(k);
    }
  }
  ~ScopedEnv() {
    for (const auto& k : names_) ::unsetenv(k.c_str());
  }

 private:
  std::vector<std::string> names_;
};

// Polls until the workflow's status is "running" (true) or it finished or `timeout_s`
// passed (false).
bool WaitForRunning(testing::HttpClient& c, const std::string& id, int timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    auto r = c.Get("/api/v1/workflows/" + id);
    if (r.status == 200) {
      const std::string s = r.Json().value("status", "");
      if (s == "running") return true;
      if (s != "queued") return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class CliRunTest : public ::testing::TestWithParam<std::string> {
 protected:
  ServerOptions Options() {
    ServerOptions o;
    o.workers = 2;
    if (GetParam() == "postgres") {
      db_ = std::make_unique<testing::TestDatabase>("postgres");
      o.database_url = db_->url();
    }
    return o;
  }
  std::string Count(const ServerProcess& s, const std::string& sql) {
    return QueryText(s.database_url(), sql);
  }
  std::unique_ptr<testing::TestDatabase> db_;
};

TEST_P(CliRunTest, RunBesideAServerRunsItsWorkflowOnceAndLeavesTheServersAlone) {
  ServerOptions o = Options();
  // The server's own workflow encodes a video slowly, so it is running while `run` starts
  // (and would lose its lease, and run twice, if `run` released the leases of others).
  o.env["STORYLOOM_FAILPOINTS"] = "video.slow_frame_ms=5";
  ServerProcess server(o);
  auto c = server.Client("alice");
  auto r = c->Post(
      "/api/v1/workflows",
      {{"prompt", "A ferryman who counts the stars"},
       {"options", {{"scenes", 2}, {"video", true}, {"narration", false}, {"scene_seconds", 2}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string server_id = r.Json()["id"];
  ASSERT_TRUE(WaitForRunning(*c, server_id, 120)) << server.log();

  CliResult run =
      RunCli(CliFlags(server) + " run 'a lighthouse keeper finds a map' --scenes 2 --no-video");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const std::string id = RunWorkflowId(run.out);
  ASSERT_FALSE(id.empty()) << run.out;
  EXPECT_NE(run.out.find(id + "/story/storyboard.html"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("story.mp4"), std::string::npos) << run.out;  // --no-video

  // `run`'s workflow: completed once, by `run` alone.
  EXPECT_EQ(Count(server, "SELECT status FROM workflows WHERE id = '" + id + "'"), "completed");
  // Every phase that ran (all but the video's share of assemble) ran exactly once.
  EXPECT_EQ(Count(server, "SELECT count(*) FROM workflow_phases WHERE workflow_id = '" + id +
                              "' AND status = 'completed' AND attempts = 1"),
            "5");
  EXPECT_EQ(Count(server, "SELECT count(*) FROM workflow_phases WHERE workflow_id = '" + id +
                              "' AND status <> 'skipped' AND attempts <> 1"),
            "0");
  EXPECT_EQ(Count(server, "SELECT count(*) FROM api_usage WHERE workflow_id = '" + id +
                              "' AND phase = 'story'"),
            "1");
  EXPECT_EQ(Count(server, "SELECT count(*) FROM workflow_events WHERE workflow_id = '" + id +
                              "' AND type = 'status' AND CAST(data AS TEXT) LIKE '%running%'"),
            "1");
  EXPECT_EQ(Count(server, "SELECT count(*) FROM workflows WHERE id = '" + id +
                              "' AND lease_owner IS NOT NULL"),
            "0");  // released at the end

  // The server's workflow was not disturbed: it completes, each phase run once, with one
  // "running" status event (a released lease would have made the server stop and resume it).
  json w = testing::WaitForWorkflow(*c, server_id, 300000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << server.log();
  EXPECT_EQ(Count(server, "SELECT count(*) FROM workflow_phases WHERE workflow_id = '" + server_id +
                              "' AND attempts > 1"),
            "0");
  EXPECT_EQ(Count(server, "SELECT count(*) FROM workflow_events WHERE workflow_id = '" + server_id +
                              "' AND type = 'status' AND CAST(data AS TEXT) LIKE '%running%'"),
            "1");
  EXPECT_EQ(server.log().find("lost the lease"), std::string::npos) << server.log();
  testing::ExpectStoreClean(server);
}

TEST_P(CliRunTest, RunUsesTheConfiguredProvider) {
  testing::FakeOpenAI fake;
  ServerProcess server(Options());
  CliResult run;
  {
    ScopedEnv env({{"STORYLOOM_PROVIDER", "openai"},
                   {"STORYLOOM_OPENAI_BASE_URL", fake.base_url()},
                   {"STORYLOOM_OPENAI_API_KEY", "sk-test"}});
    run = RunCli(CliFlags(server) + " run 'a fox who keeps a diary' --scenes 2 --no-video");
  }
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const std::string id = RunWorkflowId(run.out);
  ASSERT_FALSE(id.empty()) << run.out;
  EXPECT_GT(fake.count("chat"), 0);
  EXPECT_GT(fake.count("images"), 0);
  EXPECT_EQ(Count(server, "SELECT count(*) FROM api_usage WHERE workflow_id = '" + id + "'"),
            Count(server, "SELECT count(*) FROM api_usage WHERE workflow_id = '" + id +
                              "' AND provider = 'openai'"));
  EXPECT_NE(Count(server, "SELECT count(*) FROM api_usage WHERE workflow_id = '" + id +
                              "' AND provider = 'openai'"),
            "0");
}

TEST_P(CliRunTest, UnconfiguredProviderFailsWithExitCodeOne) {
  ServerProcess server(Options());
  CliResult run = RunCli(CliFlags(server) + " run 'a quiet harbour' --scenes 1 --provider nope");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("provider"), std::string::npos) << run.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, CliRunTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace storyloom
