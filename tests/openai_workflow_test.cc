// End to end: `storyloom serve` pointed at FakeOpenAI through the environment. A workflow
// runs through 429/500/malformed/truncated/timeout failures to a storyboard; every attempt
// is an api_usage row; the usage report equals the fake's billed usage times the seeded
// prices to the nano-dollar; budgets stop a workflow before a paid call and retry resumes
// it; the API key never reaches the log or the database.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "support/fake_openai.h"
#include "support/server_process.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::FakeBill;
using testing::FakeOpenAI;
using testing::ServerOptions;
using testing::ServerProcess;
using Kind = testing::FakeStep::Kind;

constexpr const char* kKey = "sk-e2e-SECRET-7f3a9c1d2b";

// The seeded prices the fake's models bill at (src/db/migrations/*/0004_prices_budgets.sql),
// written out independently: nano-USD per token for gpt-4o-mini.
NanoUsd Expected(const std::vector<FakeBill>& bills) {
  NanoUsd total = 0;
  for (const auto& b : bills) {
    if (b.endpoint == "chat") {
      EXPECT_EQ(b.model, "gpt-4o-mini");
      total += (b.prompt_tokens - b.cached_tokens) * 150 + b.cached_tokens * 75 +
               b.completion_tokens * 600;
    } else if (b.endpoint == "images") {
      EXPECT_EQ(b.model, "gpt-image-1");
      EXPECT_EQ(b.size, "1536x1024");
      EXPECT_EQ(b.quality, "medium");
      total += b.images * 63000000;
    } else {
      EXPECT_EQ(b.model, "gpt-4o-mini-tts");
      total += b.audio_ms * 15000000 / 60000;  // $0.015 per minute
    }
  }
  return total;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class OpenAIWorkflowTest : public ::testing::Test {
 protected:
  ServerOptions Options() {
    ServerOptions o;
    o.env = {{"STORYLOOM_PROVIDER", "openai"},      {"STORYLOOM_OPENAI_BASE_URL", fake_.base_url()},
             {"STORYLOOM_OPENAI_API_KEY", kKey},    {"STORYLOOM_OPENAI_TIMEOUT_MS", "4000"},
             {"STORYLOOM_OPENAI_BACKOFF_MS", "10"}, {"STORYLOOM_OPENAI_MAX_RETRIES", "3"},
             {"STORYLOOM_LOG_LEVEL", "debug"}};
    return o;
  }
  FakeOpenAI fake_;
};

TEST_F(OpenAIWorkflowTest, StoryboardFromTheServiceWithEveryAttemptRecordedAndPriced) {
  // Story: 429 (Retry-After: 1), 500, ok. Scenes: malformed, ok. Images: 500, truncated,
  // then ok. Speech: a timeout, then ok.
  fake_.Script(
      "chat",
      {{Kind::kStatus, 429, "1"}, {Kind::kStatus, 500}, {Kind::kOk}, {Kind::kMalformedJson}});
  fake_.Script("images", {{Kind::kStatus, 500}, {Kind::kTruncatedImage}});
  // The slow speech reply never comes within the 4 s timeout; every other reply comes well
  // within it even on a loaded machine, so the count of requests is exact.
  fake_.Script("speech", {{Kind::kSleep, 200, "", 600000}});
  ServerProcess server(Options());
  auto alice = server.Client("alice");
  auto r = alice->Post("/api/v1/workflows",
                       {{"prompt", "A lighthouse keeper"}, {"options", {{"scenes", 2}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  json w = testing::WaitForWorkflow(*alice, id, 60000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << server.log();
  EXPECT_EQ(w["title"], "The Lantern Keeper");
  ASSERT_EQ(w["scenes"].size(), 2u);
  for (const auto& s : w["scenes"]) {
    EXPECT_EQ(s["image"]["mime_type"], "image/png");
    EXPECT_EQ(s["audio"]["mime_type"], "audio/wav");
    auto img = alice->Get(s["image"]["url"]);
    ASSERT_EQ(img.status, 200);
    EXPECT_EQ(img.body, FakeOpenAI::Png());
  }
  // Story and scenes asked with structured outputs, with the key.
  for (const auto& req : fake_.requests()) {
    if (req.endpoint == "file") continue;
    EXPECT_EQ(req.authorization, std::string("Bearer ") + kKey);
    if (req.endpoint == "chat") {
      EXPECT_EQ(req.body["response_format"]["type"], "json_schema");
    }
  }

  // One api_usage row per request the fake saw.
  auto store = server.OpenStore();
  auto usage = store->ReadOne<Page<ApiUsage>>(
      [&](StoreTx& tx) { return tx.usage().List({.workflow_id = id, .limit = 200}); });
  ASSERT_TRUE(usage);
  const int requests = fake_.count("chat") + fake_.count("images") + fake_.count("speech");
  EXPECT_EQ(static_cast<int>(usage->items.size()), requests);
  EXPECT_EQ(requests, (3 + 2) + (3 + 1) + (2 + 1));
  std::map<std::string, int> errors;
  for (const auto& u : usage->items) {
    EXPECT_EQ(u.provider, "openai");
    if (u.status == "error") ++errors[u.phase + ":" + u.error_code];
    EXPECT_TRUE(u.cost_nusd.has_value()) << u.model;
    EXPECT_EQ(u.cost_source, "price_table");
  }
  EXPECT_EQ(errors["story:rate_limited"], 1);
  EXPECT_EQ(errors["story:server_error"], 1);
  EXPECT_EQ(errors["scenes:malformed_reply"], 1);
  EXPECT_EQ(errors["images:server_error"], 1);
  EXPECT_EQ(errors["images:invalid_image"], 1);
  EXPECT_EQ(errors["narration:timeout"], 1);

  // Totals equal the fake's billed usage times the listed prices, to the nano-dollar.
  const NanoUsd expected = Expected(fake_.bills());
  EXPECT_EQ(expected, 3 * 330000 + 3 * 63000000 + 2 * 125000);
  auto admin = server.Client("admin");
  auto report = admin->Get("/api/v1/usage?group_by=model");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.Json()["total"]["cost_nusd"].get<NanoUsd>(), expected);
  EXPECT_EQ(report.Json()["total"]["unpriced_calls"], 0);
  auto by_workflow = alice->Get("/api/v1/usage?group_by=workflow");
  ASSERT_EQ(by_workflow.status, 200) << by_workflow.body;
  ASSERT_EQ(by_workflow.Json()["items"].size(), 1u);
  EXPECT_EQ(by_workflow.Json()["items"][0]["workflow"], id);
  EXPECT_EQ(by_workflow.Json()["items"][0]["cost_nusd"].get<NanoUsd>(), expected);
  EXPECT_EQ(alice->Get("/api/v1/workflows/" + id).Json()["cost_usd"], "0.19024");

  // The key is in no log line and no database file.
  server.Stop();
  EXPECT_EQ(server.log().find(kKey), std::string::npos);
  EXPECT_NE(server.log().find("retrying"), std::string::npos);
  for (const auto& e : std::filesystem::recursive_directory_iterator(server.data_dir())) {
    if (!e.is_regular_file()) continue;
    EXPECT_EQ(ReadAll(e.path().string()).find(kKey), std::string::npos) << e.path();
  }
}

// The video is made the same way from the service's pictures and speech: here a 4x2 PNG
// (a 2:1 picture, scaled up to cover 16:9) and 500 ms WAVs at 24 kHz.
TEST_F(OpenAIWorkflowTest, VideoFromTheServicesPicturesAndSpeech) {
  ServerProcess server(Options());
  auto alice = server.Client("alice");
  auto r = alice->Post("/api/v1/workflows", {{"prompt", "A lighthouse keeper"},
                                             {"options", {{"scenes", 2}, {"video", true}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  json w = testing::WaitForWorkflow(*alice, id, 120000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << server.log();
  const json* mp4 = nullptr;
  for (const auto& f : w["files"]) {
    if (f["name"] == "story.mp4") mp4 = &f;
  }
  ASSERT_NE(mp4, nullptr) << w["files"].dump(2);
  const json& meta = (*mp4)["metadata"];
  EXPECT_EQ(meta["provider"], "openai");
  EXPECT_EQ(meta["width"], 1280);
  EXPECT_EQ(meta["height"], 720);
  EXPECT_EQ(meta["audio_codec"], "aac");
  // A 3 s title card, then each scene for its 0.5 s narration and a 0.5 s pause.
  EXPECT_NEAR(meta["duration_s"].get<double>(), 3.0 + 2 * (FakeOpenAI::kWavMs / 1000.0 + 0.5), 0.1);
  auto video = alice->Get((*mp4)["url"]);
  ASSERT_EQ(video.status, 200);
  EXPECT_EQ(video.body.substr(4, 4), "ftyp");
  EXPECT_EQ(static_cast<std::int64_t>(video.body.size()), (*mp4)["size"].get<std::int64_t>());
}

TEST_F(OpenAIWorkflowTest, BudgetStopsBeforeAPaidCallAndRetryResumesAfterRaising) {
  ServerProcess server(Options());
  auto admin = server.Client("admin");
  auto alice = server.Client("alice");
  const std::string alice_id = server.user_id("alice");
  auto put =
      admin->Request("PUT", "/api/v1/budgets/users/" + alice_id, R"({"monthly_usd":"0.0001"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Json()["monthly_usd"], "0.0001");
  EXPECT_EQ(
      alice->Request("PUT", "/api/v1/budgets/users/" + alice_id, R"({"monthly_usd":"100"})").status,
      403);

  auto r = alice->Post("/api/v1/workflows",
                       {{"prompt", "A lighthouse keeper"}, {"options", {{"scenes", 1}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  json w = testing::WaitForWorkflow(*alice, id, 30000);
  ASSERT_EQ(w["status"], "failed") << w.dump(2);
  EXPECT_EQ(w["error"]["code"], "budget_exceeded");
  EXPECT_EQ(fake_.count("chat"), 0);  // refused before the call

  ASSERT_EQ(admin
                ->Request("PUT", "/api/v1/budgets/users/" + alice_id,
                          R"({"monthly_usd":"5.00","soft_usd":"0.01"})")
                .status,
            200);
  auto retry = alice->Post("/api/v1/workflows/" + id + "/retry", json::object());
  ASSERT_EQ(retry.status, 202) << retry.body;
  w = testing::WaitForWorkflow(*alice, id, 30000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << server.log();
  const NanoUsd expected = Expected(fake_.bills());
  auto mine = alice->Get("/api/v1/budgets");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.Json()["user"]["spent_nusd"].get<NanoUsd>(), expected);
  EXPECT_EQ(mine.Json()["user"]["reserved_nusd"], 0);
  EXPECT_EQ(mine.Json()["user"]["monthly_usd"], "5.00");
  auto all = admin->Get("/api/v1/budgets");
  ASSERT_EQ(all.status, 200);
  EXPECT_TRUE(all.Json()["users"].is_array());
  // The soft limit ($0.01) was passed by the image: one warning event.
  auto store = server.OpenStore();
  auto events = store->ReadOne<std::vector<WorkflowEvent>>(
      [&](StoreTx& tx) { return tx.events().List(id, 0, 500); });
  ASSERT_TRUE(events);
  int warnings = 0;
  for (const auto& e : *events) warnings += e.type == "warning";
  EXPECT_EQ(warnings, 1);
}

}  // namespace
}  // namespace storyloom
