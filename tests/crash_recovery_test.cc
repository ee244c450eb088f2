// Durability over a real crash: `kill -9` the server in the middle of the images phase,
// restart it on the same data, and check the workflow completes with every scene's image
// and audio exactly once and every file on disk tracked with its sha256.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "core/hash.h"
#include "db/database.h"
#include "support/checks.h"
#include "support/server_process.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::ExpectEachSceneHasItsFilesOnce;
using testing::ExpectEveryFileTrackedExactlyOnce;
using testing::ServerProcess;
using testing::WaitForWorkflow;

constexpr int kScenes = 12;

TEST(CrashRecoveryTest, KillDashNineDuringImagesThenRestartCompletesExactlyOnce) {
  testing::ServerOptions options;
  options.workers = 1;
  ServerProcess first(options);
  auto c = first.Client("alice");
  auto r = c->Post("/api/v1/workflows", {{"prompt", "A long voyage in many scenes"},
                                         {"options", {{"scenes", kScenes}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  ASSERT_TRUE(testing::WaitForImagesInProgress(*c, id, kScenes, 60)) << first.log();
  first.Kill();

  // The database says what was acknowledged before the crash.
  json before;
  {
    auto store = first.OpenStore();
    auto scenes =
        store->ReadOne<std::vector<Scene>>([&](StoreTx& tx) { return tx.scenes().List(id); });
    ASSERT_TRUE(scenes);
    ASSERT_EQ(scenes->size(), static_cast<std::size_t>(kScenes));
    int done = 0;
    for (const auto& s : *scenes) done += !s.image_file_id.empty();
    EXPECT_GE(done, 1);
    EXPECT_LT(done, kScenes);
    auto w = store->GetWorkflow(id);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->status, WorkflowStatus::kRunning);
  }

  ServerProcess second(first, options);
  auto c2 = second.Client("alice");
  json w = WaitForWorkflow(*c2, id, 120000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << second.log();
  ExpectEachSceneHasItsFilesOnce(w, kScenes);
  ExpectEveryFileTrackedExactlyOnce(second, w);

  // Steps that had finished were not paid for twice: at most the one interrupted image
  // call is repeated.
  auto store = second.OpenStore();
  auto usage = store->ReadOne<Page<ApiUsage>>(
      [&](StoreTx& tx) { return tx.usage().List({.workflow_id = id, .limit = 200}); });
  ASSERT_TRUE(usage);
  int story_calls = 0, image_calls = 0, speech_calls = 0;
  for (const auto& u : usage->items) {
    story_calls += u.phase == "story";
    image_calls += u.operation == "image";
    speech_calls += u.operation == "speech";
  }
  EXPECT_EQ(story_calls, 1);
  EXPECT_GE(image_calls, kScenes);
  EXPECT_LE(image_calls, kScenes + 1);
  EXPECT_EQ(speech_calls, kScenes);
  // The timeline shows the restart: the workflow went back to running.
  auto events = store->ReadOne<std::vector<WorkflowEvent>>(
      [&](StoreTx& tx) { return tx.events().List(id, 0, 1000); });
  int running = 0;
  for (const auto& e : *events)
    running += e.type == "status" && e.data_json.find("running") != std::string::npos;
  EXPECT_EQ(running, 2);
}

TEST(CrashRecoveryTest, GracefulStopLeavesRunningWorkResumable) {
  testing::ServerOptions options;
  options.workers = 1;
  ServerProcess first(options);
  auto c = first.Client("bob");
  auto r =
      c->Post("/api/v1/workflows", {{"prompt", "Stop and go"}, {"options", {{"scenes", kScenes}}}});
  ASSERT_EQ(r.status, 201);
  const std::string id = r.Json()["id"];
  ASSERT_TRUE(testing::WaitForImagesInProgress(*c, id, kScenes, 60)) << first.log();
  first.Stop();  // SIGTERM: finishes the step in hand, then exits
  {
    auto store = first.OpenStore();
    auto w = store->GetWorkflow(id);
    ASSERT_TRUE(w);
    EXPECT_NE(w->status, WorkflowStatus::kCancelled);
    EXPECT_NE(w->status, WorkflowStatus::kFailed);
  }
  ServerProcess second(first, options);
  json w = WaitForWorkflow(*second.Client("bob"), id, 120000);
  ASSERT_EQ(w["status"], "completed") << second.log();
  ExpectEveryFileTrackedExactlyOnce(second, w);
}

}  // namespace
}  // namespace storyloom
