// Several `storyloom serve` processes on one PostgreSQL database and one shared data dir:
// two instances racing for queued workflows run each exactly once; when the instance
// running a workflow is killed, the other takes it over after the lease expires and finishes
// it with every scene's files exactly once; SSE on one instance streams a workflow that
// another instance runs (through LISTEN/NOTIFY); an idle instance picks up work another
// instance queues at once (LISTEN/NOTIFY on the queue).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "core/hash.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::ExpectEachSceneHasItsFilesOnce;
using testing::ExpectEveryFileTrackedExactlyOnce;
using testing::RunningEvents;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::TestDatabase;
using testing::WaitForWorkflow;

constexpr int kScenes = 12;

ServerOptions PgOptions(const TestDatabase& db, int workers) {
  ServerOptions o;
  o.database_url = db.url();
  o.workers = workers;
  o.env["STORYLOOM_LEASE_MS"] = "3000";  // take-over after 3 s instead of 30
  return o;
}

std::map<std::string, int> CallsByPhase(Store& store, const std::string& id) {
  auto usage = store.ReadOne<Page<ApiUsage>>(
      [&](StoreTx& tx) { return tx.usage().List({.workflow_id = id, .limit = 200}); });
  EXPECT_TRUE(usage.has_value());
  std::map<std::string, int> out;
  for (const auto& u : usage->items) ++out[u.phase];
  return out;
}

TEST(MultiInstanceTest, TwoInstancesRaceForQueuedWorkflowsAndRunEachOnce) {
  TestDatabase pg("postgres");
  ServerProcess api(PgOptions(pg, 0));  // seeds users; serves the API and runs nothing
  ServerProcess one(api, PgOptions(pg, 2));
  ServerProcess two(one, PgOptions(pg, 2));
  auto c = api.Client("alice");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto r = c->Post("/api/v1/workflows", {{"prompt", "race number " + std::to_string(i)},
                                           {"options", {{"scenes", 1}, {"narration", false}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.Json()["id"]);
  }
  for (const auto& id : ids) {
    json w = WaitForWorkflow(*c, id, 180000);
    ASSERT_EQ(w["status"], "completed") << w.dump(2) << one.log() << two.log();
  }
  auto store = api.OpenStore();
  for (const auto& id : ids) {
    EXPECT_EQ(RunningEvents(*store, id), 1) << id << " started more than once";
    EXPECT_EQ(CallsByPhase(*store, id)["story"], 1) << id;
    auto w = store->GetWorkflow(id);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->attempt, 0) << id << " was retried";  // attempt counts retries
  }
}

TEST(MultiInstanceTest, WhenOneInstanceDiesTheOtherFinishesItsWorkflow) {
  TestDatabase pg("postgres");
  ServerProcess a(PgOptions(pg, 1));
  auto ca = a.Client("alice");
  auto r = ca->Post("/api/v1/workflows", {{"prompt", "A long voyage across two servers"},
                                          {"options", {{"scenes", kScenes}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  // B starts while A runs the workflow; it cannot take it while A's lease is live.
  ServerProcess b(a, PgOptions(pg, 1));
  ASSERT_TRUE(testing::WaitForImagesInProgress(*ca, id, kScenes, 120)) << a.log();
  a.Kill();

  auto cb = b.Client("alice");
  json w = WaitForWorkflow(*cb, id, 180000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << b.log();
  ExpectEachSceneHasItsFilesOnce(w, kScenes);
  ExpectEveryFileTrackedExactlyOnce(b, w);
  auto store = b.OpenStore();
  auto calls = CallsByPhase(*store, id);
  EXPECT_EQ(calls["story"], 1);
  EXPECT_LE(calls["images"], kScenes + 1) << "at most the interrupted image is repeated";
  EXPECT_EQ(RunningEvents(*store, id), 2) << "started on A, taken over by B";
}

// The worker instance looks for queued work only once an hour, so it can pick up what the
// API-only instance queues (a new workflow, then a retry) only through LISTEN/NOTIFY.
TEST(MultiInstanceTest, QueuedWorkWakesAnIdleInstanceAtOnce) {
  TestDatabase pg("postgres");
  ServerProcess api(PgOptions(pg, 0));
  ServerOptions worker_options = PgOptions(pg, 1);
  worker_options.env["STORYLOOM_QUEUE_POLL_MS"] = "3600000";
  ServerProcess worker(api, worker_options);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its first look found nothing
  auto c = api.Client("alice");
  auto r = c->Post("/api/v1/workflows", {{"prompt", "picked up by another server"},
                                         {"options", {{"scenes", 1}, {"narration", false}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  json w = WaitForWorkflow(*c, id, 30000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << worker.log();
  // A retry queues it again: the worker hears that too. The workflow to retry is created and
  // cancelled while the worker is down, so it is cancelled before it ever runs (a running
  // one could finish before the cancel lands on a loaded machine: seen beside stress-ng).
  worker.Stop();
  r = c->Post("/api/v1/workflows", {{"prompt", "retried elsewhere"},
                                    {"options", {{"scenes", 1}, {"narration", false}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id2 = r.Json()["id"];
  ASSERT_EQ(c->Post("/api/v1/workflows/" + id2 + "/cancel", json::object()).status, 202);
  ASSERT_EQ(WaitForWorkflow(*c, id2, 30000)["status"], "cancelled");
  worker.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its first look found nothing
  ASSERT_EQ(c->Post("/api/v1/workflows/" + id2 + "/retry", json::object()).status, 202);
  w = WaitForWorkflow(*c, id2, 60000);
  EXPECT_EQ(w["status"], "completed") << w.dump(2) << worker.log();
}

// The viewer polls the database only once an hour, so the runner's events can reach its
// stream only through LISTEN/NOTIFY; the runner starts after the stream has replayed the
// queued status, so replay cannot deliver them either.
TEST(MultiInstanceTest, SseOnOneInstanceStreamsAWorkflowRunByAnother) {
  TestDatabase pg("postgres");
  ServerOptions viewer_options = PgOptions(pg, 0);  // API only: runs nothing itself
  viewer_options.env["STORYLOOM_SSE_POLL_MS"] = "3600000";
  ServerProcess viewer(viewer_options);
  auto c = viewer.Client("alice");
  auto r = c->Post("/api/v1/workflows", {{"prompt", "seen from another server"},
                                         {"options", {{"scenes", 2}, {"narration", false}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];

  testing::TempDir tmp;
  const std::string out = (tmp / "events.txt").string();
  const std::string cmd = "curl -sN --max-time 120 -H 'Authorization: Bearer " +
                          viewer.token("alice") + "' " + viewer.url() + "/api/v1/workflows/" + id +
                          "/events > " + out + " 2>/dev/null & echo $!";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  long pid = 0;
  ASSERT_EQ(std::fscanf(p, "%ld", &pid), 1);
  ::pclose(p);
  auto wait_for = [&](const std::string& needle, int seconds) {
    std::string body;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      body = testing::ReadFileOrEmpty(out);
      if (body.find(needle) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return body;
  };
  const std::string replayed = wait_for("\"queued\"", 10);
  ASSERT_NE(replayed.find("\"queued\""), std::string::npos) << replayed;
  EXPECT_EQ(replayed.find("\"running\""), std::string::npos) << replayed;

  ServerProcess runner(viewer, PgOptions(pg, 1));
  json w = WaitForWorkflow(*c, id, 120000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << runner.log();
  const std::string body = wait_for("\"completed\"", 10);
  ::kill(static_cast<pid_t>(pid), SIGTERM);
  EXPECT_NE(body.find("\"running\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"phase\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"completed\""), std::string::npos) << body;
}

}  // namespace
}  // namespace storyloom
