// The workflow API over real HTTP against the real `storyloom serve`: the whole
// prompt-to-storyboard path, idempotency, SSE, cancel/retry/delete and every error status,
// on SQLite and on PostgreSQL (one server per backend, shared by the suite's tests).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "core/hash.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/temp_dir.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::ServerProcess;
using testing::WaitForWorkflow;

class WorkflowApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }
  void SetUp() override { server_ = &servers().Get(GetParam()); }
  ServerProcess* server_ = nullptr;
};

TEST_P(WorkflowApiTest, PromptBecomesAFinishedStoryboard) {
  auto alice = server_->Client("alice");
  auto r =
      alice->Post("/api/v1/workflows", {{"prompt", "A lighthouse keeper finds a map to the moon"},
                                        {"options", {{"scenes", 3}, {"style", "watercolor"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json created = r.Json();
  const std::string id = created["id"];
  EXPECT_EQ(r.Header("location"), "/api/v1/workflows/" + id);
  EXPECT_EQ(created["status"], "queued");
  EXPECT_EQ(created["prompt"], "A lighthouse keeper finds a map to the moon");
  ASSERT_EQ(created["phases"].size(), 5u);

  json w = WaitForWorkflow(*alice, id);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << server_->log();
  EXPECT_DOUBLE_EQ(w["progress"].get<double>(), 1.0);
  EXPECT_FALSE(w["title"].get<std::string>().empty());
  EXPECT_GT(w["story"].get<std::string>().size(), 200u);
  EXPECT_EQ(w["cost_usd"], "0.00");
  for (const auto& p : w["phases"]) EXPECT_EQ(p["status"], "completed") << p.dump();
  ASSERT_EQ(w["scenes"].size(), 3u);
  for (const auto& s : w["scenes"]) {
    ASSERT_TRUE(s["image"].is_object()) << s.dump();
    ASSERT_TRUE(s["audio"].is_object()) << s.dump();
    EXPECT_EQ(s["image"]["mime_type"], "image/png");
    EXPECT_EQ(s["audio"]["mime_type"], "audio/wav");
    // The image opens from the server and its bytes match the tracked sha256.
    auto img = alice->Get(s["image"]["url"]);
    ASSERT_EQ(img.status, 200);
    EXPECT_EQ(img.Header("content-type"), "image/png");
    EXPECT_EQ(core::Sha256Hex(img.body), s["image"]["sha256"]);
    EXPECT_EQ(img.Header("etag"), "\"" + s["image"]["sha256"].get<std::string>() + "\"");
  }
  // 3 images + 3 audio + story.txt + storyboard.json + storyboard.html
  ASSERT_EQ(w["files"].size(), 9u);
  std::string html_url;
  for (const auto& f : w["files"]) {
    if (f["name"] == "storyboard.html") html_url = f["url"];
    const auto on_disk =
        std::filesystem::path(server_->outputs_dir()) / f["path"].get<std::string>();
    ASSERT_TRUE(std::filesystem::exists(on_disk)) << on_disk;
    EXPECT_EQ(std::filesystem::file_size(on_disk), f["size"].get<std::uint64_t>());
  }
  ASSERT_FALSE(html_url.empty());
  auto html = alice->Get(html_url);
  ASSERT_EQ(html.status, 200);
  EXPECT_NE(html.body.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.body.find("<audio"), std::string::npos);
}

TEST_P(WorkflowApiTest, IdempotencyKeyNeverMakesASecondWorkflow) {
  auto alice = server_->Client("alice");
  const json body = {{"prompt", "Idempotent tale"},
                     {"options", {{"scenes", 1}, {"narration", false}}}};
  auto a = alice->Post("/api/v1/workflows", body, {"Idempotency-Key: tale-42"});
  auto b = alice->Post("/api/v1/workflows", body, {"Idempotency-Key: tale-42"});
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(a.Json()["id"], b.Json()["id"]);
  EXPECT_EQ(b.Header("idempotent-replayed"), "true");
  // Concurrent requests with one new key still make one workflow.
  std::vector<std::string> ids(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c(server_->url());
      c.set_token(server_->token("alice"));
      ids[i] =
          c.Post("/api/v1/workflows", body, {"Idempotency-Key: race-1"}).Json().value("id", "");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_FALSE(ids[0].empty());
}

// The 201 of a create is the workflow as it was committed: the same document a GET returns
// while nothing has run it (no workers here), field for field, on both backends. The
// server builds it from the row it inserted, without reading it back.
TEST_P(WorkflowApiTest, CreatedAnswerIsTheDetailAGetReturns) {
  testing::ServerOptions o;
  o.workers = 0;
  std::unique_ptr<testing::TestDatabase> db;
  if (GetParam() == "postgres") {
    db = std::make_unique<testing::TestDatabase>("postgres");
    o.database_url = db->url();
  }
  ServerProcess server(o);
  auto alice = server.Client("alice");
  for (const json& body :
       {json{{"prompt", "A quiet prompt"}},
        json{{"prompt", "A lighthouse keeper finds a map"},
             {"title", "The Map"},
             {"options", {{"scenes", 2}, {"style", "watercolor"}, {"narration", false}}}}}) {
    auto created = alice->Post("/api/v1/workflows", body, {"Idempotency-Key: k-" + body.dump()});
    ASSERT_EQ(created.status, 201) << created.body;
    const json c = created.Json();
    auto got = alice->Get("/api/v1/workflows/" + c["id"].get<std::string>());
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(c, got.Json()) << "created: " << c.dump(2) << "\nread: " << got.body;
    // A replay reads the workflow: the same document again.
    auto again = alice->Post("/api/v1/workflows", body, {"Idempotency-Key: k-" + body.dump()});
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.Json(), got.Json());
  }
}

// A create waiting for its commit holds no handler thread (issue 14, part 1). With one
// handler thread and the SQLite commit held (failpoint), creates queue for the commit while
// other requests are still served; released, every create is answered 201 and committed.
TEST(WorkflowCreateAsyncTest, CreatesWaitingForTheCommitLeaveTheHandlerFree) {
  testing::TempDir hold_dir;
  testing::ServerOptions o;
  o.workers = 0;
  o.env["STORYLOOM_HTTP_WORKERS"] = "1";
  o.env["STORYLOOM_FAILPOINTS"] = "sqlite.commit_hold=" + hold_dir.path().string();
  ServerProcess server(o);
  auto alice = server.Client("alice");
  ASSERT_EQ(alice->Get("/api/v1/workflows").status, 200);  // its token's first use is written
  { std::ofstream(hold_dir.path() / "hold") << "1\n"; }
  const json body = {{"prompt", "Held at the commit"}};
  std::vector<int> statuses(6, 0);
  std::vector<std::thread> creates;
  creates.emplace_back([&] { statuses[0] = alice->Post("/api/v1/workflows", body).status; });
  // The first create's commit is now held...
  for (int i = 0; i < 2000 && !std::filesystem::exists(hold_dir.path() / "held"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(std::filesystem::exists(hold_dir.path() / "held")) << server.log();
  for (int i = 1; i < 6; ++i) {
    creates.emplace_back([&, i] {
      HttpClient c(server.url());
      c.set_token(server.token("alice"));
      statuses[i] = c.Post("/api/v1/workflows", body).status;
    });
  }
  // ...and the one handler thread still serves: a create waiting on it does not hold it.
  HttpClient reader(server.url());
  reader.set_token(server.token("alice"));
  auto list = reader.Request("GET", "/api/v1/workflows", "", {}, 10000);
  EXPECT_EQ(list.status, 200) << "the handler thread was held by a create waiting for its commit";
  std::filesystem::remove(hold_dir.path() / "hold");
  for (auto& t : creates) t.join();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(statuses[i], 201) << "create " << i;
  auto after = alice->Get("/api/v1/workflows?limit=50");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.Json()["items"].size(), 6u);
}

TEST_P(WorkflowApiTest, ListFiltersSearchesAndPages) {
  auto bob = server_->Client("bob");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = bob->Post("/api/v1/workflows", {{"prompt", "Bob's saga part " + std::to_string(i)},
                                             {"title", i == 2 ? "The Crimson Kite" : "Saga"},
                                             {"options", {{"scenes", 1}, {"narration", false}}}});
    ASSERT_EQ(r.status, 201);
    ids.push_back(r.Json()["id"]);
  }
  auto page1 = bob->Get("/api/v1/workflows?limit=2");
  ASSERT_EQ(page1.status, 200);
  ASSERT_EQ(page1.Json()["items"].size(), 2u);
  EXPECT_EQ(page1.Json()["items"][0]["id"], ids[4]);
  const std::string cursor = page1.Json()["next_cursor"];
  auto page2 = bob->Get("/api/v1/workflows?limit=2&cursor=" + cursor);
  EXPECT_EQ(page2.Json()["items"][0]["id"], ids[2]);
  auto found = bob->Get("/api/v1/workflows?q=crimson");
  ASSERT_EQ(found.Json()["items"].size(), 1u);
  EXPECT_EQ(found.Json()["items"][0]["id"], ids[2]);
  // Alice sees none of Bob's.
  auto alice = server_->Client("alice");
  const json alices = alice->Get("/api/v1/workflows?limit=200").Json();
  for (const auto& item : alices["items"]) {
    EXPECT_EQ(item["user_id"], server_->user_id("alice"));
  }
  for (const auto& id : ids) WaitForWorkflow(*bob, id);
  auto done = bob->Get("/api/v1/workflows?status=completed&limit=200");
  EXPECT_GE(done.Json()["items"].size(), 5u);
}

TEST_P(WorkflowApiTest, ServerSentEventsDeliverEveryPhaseAndResume) {
  auto alice = server_->Client("alice");
  auto r =
      alice->Post("/api/v1/workflows", {{"prompt", "Events please"}, {"options", {{"scenes", 2}}}});
  ASSERT_EQ(r.status, 201);
  const std::string id = r.Json()["id"];
  // The stream ends by itself once the workflow is final.
  auto sse = alice->Request("GET", "/api/v1/workflows/" + id + "/events", "", {}, 60000);
  ASSERT_EQ(sse.status, 200);
  EXPECT_EQ(sse.Header("content-type"), "text/event-stream");
  std::set<std::string> completed;
  std::vector<long> ids;
  std::string last_status;
  std::size_t pos = 0;
  while ((pos = sse.body.find("id: ", pos)) != std::string::npos) {
    const auto end = sse.body.find("\n\n", pos);
    const std::string block = sse.body.substr(pos, end - pos);
    ids.push_back(std::stol(block.substr(4)));
    const auto data = json::parse(block.substr(block.find("data: ") + 6));
    if (block.find("event: phase") != std::string::npos && data["status"] == "completed") {
      completed.insert(data["phase"]);
    }
    if (block.find("event: status") != std::string::npos) last_status = data["status"];
    pos = end;
  }
  EXPECT_EQ(completed,
            (std::set<std::string>{"story", "scenes", "images", "narration", "assemble"}))
      << sse.body;
  EXPECT_EQ(last_status, "completed");
  ASSERT_GE(ids.size(), 10u);
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);
  // Last-Event-ID resumes after that event: the replay is exactly the tail.
  auto tail = alice->Request("GET", "/api/v1/workflows/" + id + "/events", "",
                             {"Last-Event-ID: " + std::to_string(ids[ids.size() - 3])}, 10000);
  ASSERT_EQ(tail.status, 200);
  EXPECT_EQ(tail.body.find("id: " + std::to_string(ids[ids.size() - 3]) + "\n"), std::string::npos);
  EXPECT_NE(tail.body.find("id: " + std::to_string(ids.back()) + "\n"), std::string::npos);
}

TEST_P(WorkflowApiTest, CancelRetryAndDelete) {
  auto alice = server_->Client("alice");
  auto r =
      alice->Post("/api/v1/workflows", {{"prompt", "Cancel me"}, {"options", {{"scenes", 20}}}});
  ASSERT_EQ(r.status, 201);
  const std::string id = r.Json()["id"];
  auto c = alice->Post("/api/v1/workflows/" + id + "/cancel", json::object());
  ASSERT_EQ(c.status, 202) << c.body;
  json w = WaitForWorkflow(*alice, id);
  ASSERT_EQ(w["status"], "cancelled") << w.dump();
  EXPECT_EQ(alice->Post("/api/v1/workflows/" + id + "/cancel", json::object()).status, 409);
  auto retry = alice->Post("/api/v1/workflows/" + id + "/retry", json::object());
  ASSERT_EQ(retry.status, 202) << retry.body;
  w = WaitForWorkflow(*alice, id, 120000);
  ASSERT_EQ(w["status"], "completed") << w.dump();
  ASSERT_EQ(w["scenes"].size(), 20u);
  // Retrying a completed workflow is a conflict.
  auto again = alice->Post("/api/v1/workflows/" + id + "/retry", json::object());
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.Json()["error"]["code"], "conflict");
  // Delete removes rows and files together.
  std::vector<std::string> paths;
  for (const auto& f : w["files"])
    paths.push_back(server_->outputs_dir() + "/" + f["path"].get<std::string>());
  ASSERT_EQ(alice->Delete("/api/v1/workflows/" + id).status, 204);
  EXPECT_EQ(alice->Get("/api/v1/workflows/" + id).status, 404);
  for (const auto& p : paths) EXPECT_FALSE(std::filesystem::exists(p)) << p;
  EXPECT_EQ(alice->Get(w["files"][0]["url"]).status, 404);
}

// A cancel that lands between a worker's claim and the start of its run must win: the
// workflow stays cancelled and never runs (it used to come back as running and finish).
TEST_P(WorkflowApiTest, CancelRightAfterCreateIsNeverUndoneByAWorker) {
  // Four clients at once widen the window between a worker's claim and its first commit.
  // Twelve scenes: a run takes long enough that an accepted cancel always lands before its
  // last step (a cancel during the last step may let the workflow complete).
  constexpr int kClients = 4, kEach = 15;
  std::vector<std::vector<std::string>> ids(kClients);
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto alice = server_->Client("alice");
      for (int i = 0; i < kEach; ++i) {
        auto r = alice->Post("/api/v1/workflows",
                             {{"prompt", "Cancelled at once " + std::to_string(t * kEach + i)},
                              {"options", {{"scenes", 12}, {"narration", false}}}});
        if (r.status != 201) {
          ADD_FAILURE() << r.status << " " << r.body;
          return;
        }
        const std::string id = r.Json()["id"];
        auto c = alice->Post("/api/v1/workflows/" + id + "/cancel", json::object());
        if (c.status == 202) ids[t].push_back(id);  // 409: it finished first
      }
    });
  }
  for (auto& c : clients) c.join();
  auto alice = server_->Client("alice");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int checked = 0;
  for (const auto& list : ids) {
    for (const auto& id : list) {
      EXPECT_EQ(WaitForWorkflow(*alice, id)["status"], "cancelled") << id;
      ++checked;
    }
  }
  EXPECT_GT(checked, kClients * kEach / 2);
}

TEST_P(WorkflowApiTest, BadInputGetsTheRightStatusAndJsonError) {
  auto alice = server_->Client("alice");
  auto expect = [&](const testing::HttpResult& r, long status, const std::string& code,
                    const std::string& field = "") {
    EXPECT_EQ(r.status, status) << r.body;
    const json j = r.Json();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
    EXPECT_EQ(j["error"]["code"], code) << r.body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    if (!field.empty()) {
      EXPECT_EQ(j["error"]["field"], field) << r.body;
    }
  };
  expect(alice->Request("POST", "/api/v1/workflows", "{not json"), 400, "malformed_request");
  expect(alice->Request("POST", "/api/v1/workflows", "[1,2]"), 400, "malformed_request");
  expect(alice->Post("/api/v1/workflows", json::object()), 422, "invalid_argument", "prompt");
  expect(alice->Post("/api/v1/workflows", {{"prompt", 7}}), 422, "invalid_argument", "prompt");
  expect(alice->Post("/api/v1/workflows", {{"prompt", "   "}}), 422, "invalid_argument", "prompt");
  expect(alice->Post("/api/v1/workflows", {{"prompt", "x"}, {"options", {{"scenes", 0}}}}), 422,
         "invalid_argument", "options.scenes");
  expect(alice->Post("/api/v1/workflows", {{"prompt", "x"}, {"options", {{"scenes", 21}}}}), 422,
         "invalid_argument", "options.scenes");
  expect(alice->Post("/api/v1/workflows", {{"prompt", "x"}, {"options", {{"narration", "yes"}}}}),
         422, "invalid_argument", "options.narration");
  expect(alice->Post("/api/v1/workflows", {{"prompt", "x"}, {"colour", "red"}}), 422,
         "invalid_argument", "colour");
  expect(alice->Get("/api/v1/workflows?status=sleeping"), 422, "invalid_argument", "status");
  expect(alice->Get("/api/v1/workflows?limit=0"), 422, "invalid_argument", "limit");
  expect(alice->Get("/api/v1/workflows?cursor=garbage"), 422, "invalid_argument", "cursor");
  expect(alice->Get("/api/v1/workflows/01900000-0000-7000-8000-000000000000"), 404, "not_found");
  expect(alice->Get("/api/v1/workflows/not-an-id"), 404, "not_found");
  expect(alice->Request("PATCH", "/api/v1/workflows"), 405, "method_not_allowed");
  expect(alice->Get("/api/v1/nothing-here"), 404, "not_found");
  expect(alice->Request("POST", "/api/v1/workflows", std::string(2 << 20, 'x')), 413,
         "payload_too_large");
  expect(server_->Client()->Get("/api/v1/workflows"), 401, "unauthenticated");
  // The server is still fine.
  EXPECT_EQ(alice->Get("/healthz").status, 200);
}

TEST_P(WorkflowApiTest, FileContentHonoursEtagRangeAndNeverEscapes) {
  auto alice = server_->Client("alice");
  auto r = alice->Post("/api/v1/workflows",
                       {{"prompt", "Files"}, {"options", {{"scenes", 1}, {"narration", false}}}});
  json w = WaitForWorkflow(*alice, r.Json()["id"]);
  ASSERT_EQ(w["status"], "completed");
  const json img = w["scenes"][0]["image"];
  const std::string url = img["url"];
  auto full = alice->Get(url);
  ASSERT_EQ(full.status, 200);
  auto not_modified =
      alice->Get(url, {"If-None-Match: \"" + img["sha256"].get<std::string>() + "\""});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
  auto part = alice->Get(url, {"Range: bytes=10-19"});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, full.body.substr(10, 10));
  EXPECT_EQ(part.Header("content-range"), "bytes 10-19/" + std::to_string(full.body.size()));
  auto suffix = alice->Get(url, {"Range: bytes=-5"});
  EXPECT_EQ(suffix.body, full.body.substr(full.body.size() - 5));
  EXPECT_EQ(alice->Get(url, {"Range: bytes=999999999-"}).status, 416);
  // Traversal in every spelling resolves to nothing: paths are looked up, never joined.
  for (const std::string& bad : std::vector<std::string>{
           "/files/../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd",
           "/files/..%2f..%2fetc%2fpasswd", "/files//etc/passwd", "/files/%2fetc%2fpasswd",
           "/files/" + w["id"].get<std::string>() + "/../../storyloom.db",
           "/files/%252e%252e/etc/passwd"}) {
    auto res = alice->Get(bad);
    EXPECT_TRUE(res.status == 404 || res.status == 400) << bad << " -> " << res.status;
    EXPECT_EQ(res.body.find("root:"), std::string::npos) << bad;
  }
  // Another user's file is not found, not forbidden.
  EXPECT_EQ(server_->Client("bob")->Get(url).status, 404);
}

TEST_P(WorkflowApiTest, UploadAndRecordExternalUsage) {
  auto alice = server_->Client("alice");
  auto r = alice->Post("/api/v1/workflows",
                       {{"prompt", "Uploads"}, {"options", {{"scenes", 1}, {"narration", false}}}});
  const std::string id = r.Json()["id"];
  WaitForWorkflow(*alice, id);
  // An MP4's first box is `ftyp`: the type is read from the bytes (docs/SECURITY.md, class 3).
  std::string bytes(
      "\0\0\0\x18"
      "ftypisom\0\0\x02\0isomiso2",
      24);
  bytes += std::string(300000, 'v');
  auto up = alice->Request("PUT", "/api/v1/workflows/" + id + "/files/cut.mp4?scene=1", bytes,
                           {"Content-Type: video/mp4"});
  ASSERT_EQ(up.status, 201) << up.body;
  EXPECT_EQ(up.Json()["type"], "video");
  EXPECT_EQ(up.Json()["sha256"], core::Sha256Hex(bytes));
  EXPECT_EQ(up.Json()["scene_number"], 1);
  EXPECT_EQ(alice->Get(up.Json()["url"]).body, bytes);
  EXPECT_EQ(alice->Request("PUT", "/api/v1/workflows/" + id + "/files/cut.mp4", "again").status,
            409);
  // An encoded slash splits the path, so no route matches: never a file outside the folder.
  const long escape =
      alice->Request("PUT", "/api/v1/workflows/" + id + "/files/..%2fescape", "x").status;
  EXPECT_TRUE(escape == 404 || escape == 422) << escape;
  EXPECT_EQ(alice->Request("PUT", "/api/v1/workflows/" + id + "/files/a%20b.txt", "x").status, 422);
  EXPECT_EQ(alice->Request("PUT", "/api/v1/workflows/" + id + "/files/.hidden", "x").status, 422);
  EXPECT_EQ(server_->Client("bob")
                ->Request("PUT", "/api/v1/workflows/" + id + "/files/b.txt", "x")
                .status,
            404);
  auto files = alice->Get("/api/v1/files?workflow_id=" + id + "&type=video");
  ASSERT_EQ(files.Json()["items"].size(), 1u);

  auto u = alice->Post("/api/v1/usage", {{"workflow_id", id},
                                         {"provider", "elsewhere"},
                                         {"model", "m-1"},
                                         {"operation", "chat"},
                                         {"input_tokens", 1200},
                                         {"output_tokens", 300}});
  ASSERT_EQ(u.status, 201) << u.body;
  EXPECT_EQ(u.Json()["input_tokens"], 1200);
  EXPECT_EQ(alice->Post("/api/v1/usage", {{"provider", "x"}, {"operation", "dance"}}).status, 422);
  EXPECT_EQ(
      alice->Post("/api/v1/usage", {{"provider", "x"}, {"operation", "chat"}, {"input_tokens", -1}})
          .status,
      422);
  auto report = alice->Get("/api/v1/usage?group_by=provider");
  ASSERT_EQ(report.status, 200);
  bool found = false;
  const json report_json = report.Json();
  for (const auto& item : report_json["items"]) {
    if (item["provider"] == "elsewhere") {
      found = true;
      EXPECT_EQ(item["input_tokens"], 1200);
    }
  }
  EXPECT_TRUE(found) << report.body;
  auto csv = alice->Get("/api/v1/usage?group_by=day,provider&format=csv");
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body.rfind("day,provider,calls", 0), 0u) << csv.body;
}

TEST_P(WorkflowApiTest, HealthAndReadiness) {
  auto anon = server_->Client();
  EXPECT_EQ(anon->Get("/healthz").status, 200);
  auto ready = anon->Get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.Json()["database"], "ok");
}

INSTANTIATE_TEST_SUITE_P(Backends, WorkflowApiTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
