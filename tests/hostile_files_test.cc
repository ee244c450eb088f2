// Hostile uploads and hostile users around files, over real HTTP against the real
// `storyloom serve`, on SQLite and on PostgreSQL (issue #12, classes 3, 5, 11 and 14):
// uploaded content never runs as the site (nosniff, sandbox CSP, an inline allow-list
// checked against magic bytes, the optional files_origin with signed links); tracked files
// survive concurrent uploads of one name and uploads racing a resume, and a resume keeps
// every tracked file however many there are; another user's file answers exactly like a
// missing one on every route; deleting a running workflow answers at once and leaves no
// file and no row once its run (on any instance) has stopped.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "core/hash.h"
#include "db/database.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/store_access.h"
#include "support/temp_dir.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResult;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::TestDatabase;
using testing::WaitForWorkflow;

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The path part of a file URL (which is absolute when files_origin is set).
std::string PathOf(const std::string& url) {
  if (url.starts_with("http://") || url.starts_with("https://")) {
    return url.substr(url.find('/', url.find("//") + 2));
  }
  return url;
}

const std::string kPng = std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + std::string(64, 'x');

// Every file of a workflow, following next_cursor.
std::vector<json> AllFiles(HttpClient& c, const std::string& wid) {
  return testing::AllItems(c, "/api/v1/files?limit=200&workflow_id=" + wid);
}

class HostileFilesTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }
  void SetUp() override { server_ = &servers().Get(GetParam()); }

  // A finished one-scene workflow of `user`.
  std::string FinishedWorkflow(const std::string& user) {
    auto c = server_->Client(user);
    auto r = c->Post("/api/v1/workflows", {{"prompt", "A small tale for " + user},
                                           {"options", {{"scenes", 1}, {"narration", false}}}});
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = r.Json()["id"];
    json w = WaitForWorkflow(*c, id);
    EXPECT_EQ(w["status"], "completed") << w.dump();
    return id;
  }

  // A cancelled workflow of alice's (so that retry resumes it).
  std::string CancelledWorkflow() {
    auto c = server_->Client("alice");
    for (int i = 0; i < 5; ++i) {
      auto r = c->Post("/api/v1/workflows", {{"prompt", "A tale to be resumed"},
                                             {"options", {{"scenes", 12}, {"narration", true}}}});
      EXPECT_EQ(r.status, 201) << r.body;
      const std::string id = r.Json()["id"];
      (void)c->Post("/api/v1/workflows/" + id + "/cancel", json::object());
      json w = WaitForWorkflow(*c, id);
      if (w["status"] == "cancelled") return id;
    }
    ADD_FAILURE() << "could not get a cancelled workflow";
    return "";
  }

  HttpResult Upload(HttpClient& c, const std::string& wid, const std::string& name,
                    const std::string& bytes, const std::string& content_type = "") {
    std::vector<std::string> h;
    if (!content_type.empty()) h.push_back("Content-Type: " + content_type);
    return c.Request("PUT", "/api/v1/workflows/" + wid + "/files/" + name, bytes, h);
  }

  // Every listed file is on disk with the size and sha256 of its row.
  void ExpectFilesIntact(const std::vector<json>& files) {
    for (const auto& f : files) {
      const auto p = std::filesystem::path(server_->outputs_dir()) / f["path"].get<std::string>();
      ASSERT_TRUE(std::filesystem::exists(p)) << "tracked file lost: " << p;
      EXPECT_EQ(core::Sha256Hex(ReadAll(p)), f["sha256"]) << p;
    }
  }

  ServerProcess* server_ = nullptr;
};

// --- class 3: uploaded content never runs as the site -----------------------------------

void ExpectSandboxed(const HttpResult& r, const std::string& what) {
  EXPECT_EQ(Lower(r.Header("x-content-type-options")), "nosniff") << what;
  const std::string csp = r.Header("content-security-policy");
  EXPECT_NE(csp.find("sandbox"), std::string::npos) << what << ": " << csp;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << what << ": " << csp;
}

TEST_P(HostileFilesTest, UploadedContentIsServedInlineOnlyWhenItsBytesAreAllowListed) {
  const std::string wid = FinishedWorkflow("alice");
  auto alice = server_->Client("alice");
  const std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>fetch('/api/v1/users')</script></svg>";
  const std::string xhtml =
      "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><script>alert(1)</script></body></html>";
  const std::string html = "<html><body><script>alert(document.cookie)</script></body></html>";
  struct Case {
    std::string name, bytes, claimed;
    bool inline_ok;
    std::string served;  // Content-Type prefix
  };
  const Case cases[] = {
      {"evil.svg", svg, "image/svg+xml", false, "application/octet-stream"},
      {"evil2.svg", svg, "IMAGE/SVG+XML; charset=utf-8", false, "application/octet-stream"},
      {"evil.xhtml", xhtml, "application/xhtml+xml", false, "application/octet-stream"},
      {"evil.html", html, "Text/HTML", false, "application/octet-stream"},
      {"evil2.html", html, "text/html; charset=utf-8", false, "application/octet-stream"},
      {"evil3.html", html, "", false, "application/octet-stream"},
      {"evil.xml", svg, "text/xml", false, "application/octet-stream"},
      {"picture.txt", kPng, "text/plain", true, "image/png"},
      {"text.png", "just some words, not a picture", "image/png", false,
       "application/octet-stream"},
      {"real.png", kPng, "image/png", true, "image/png"},
      {"anim.gif", "GIF89a" + std::string(40, '\0'), "image/gif", false,
       "application/octet-stream"},
      {"note.txt", "a plain note\n", "text/plain", true, "text/plain"},
      {"html-as-text.txt", html, "text/plain", true, "text/plain"},
  };
  for (const Case& c : cases) {
    auto up = Upload(*alice, wid, c.name, c.bytes, c.claimed);
    ASSERT_EQ(up.status, 201) << c.name << ": " << up.body;
    const std::string url = up.Json()["url"];
    for (const std::string method : {"GET", "HEAD"}) {
      auto r = alice->Request(method, url);
      const std::string what = method + " " + c.name + " (sent as " + c.claimed + ")";
      ASSERT_EQ(r.status, 200) << what << r.body;
      ExpectSandboxed(r, what);
      EXPECT_TRUE(Lower(r.Header("content-type")).starts_with(c.served))
          << what << ": " << r.Header("content-type");
      const std::string disposition = Lower(r.Header("content-disposition"));
      if (c.inline_ok) {
        EXPECT_EQ(disposition.find("attachment"), std::string::npos) << what << ": " << disposition;
      } else {
        EXPECT_TRUE(disposition.starts_with("attachment")) << what << ": " << disposition;
      }
      if (method == "GET") {
        EXPECT_EQ(r.body, c.bytes) << what;
      }
    }
    // A revalidation answers with the same protection.
    auto etag = alice->Get(url).Header("etag");
    auto not_modified = alice->Get(url, {"If-None-Match: " + etag});
    EXPECT_EQ(not_modified.status, 304) << c.name;
    ExpectSandboxed(not_modified, "304 of " + c.name);
    // The metadata no longer repeats a dangerous claim as the file's type.
    const std::string stored = Lower(up.Json()["mime_type"].get<std::string>());
    EXPECT_EQ(stored.find("html"), std::string::npos) << c.name << ": " << stored;
    EXPECT_EQ(stored.find("svg"), std::string::npos) << c.name << ": " << stored;
  }
  // Errors on /files carry the same headers.
  auto missing = alice->Get("/files/" + wid + "/uploads/none.txt");
  EXPECT_EQ(missing.status, 404);
  ExpectSandboxed(missing, "404");
  // The pipeline's own outputs keep working: images inline, the story as text.
  json w = alice->Get("/api/v1/workflows/" + wid).Json();
  for (const auto& f : w["files"]) {
    auto r = alice->Get(f["url"]);
    ASSERT_EQ(r.status, 200) << f.dump();
    ExpectSandboxed(r, f["name"]);
    if (f["path"].get<std::string>().find("/images/") != std::string::npos) {
      EXPECT_EQ(r.Header("content-type"), "image/png");
      EXPECT_EQ(r.Header("content-disposition").find("attachment"), std::string::npos);
    }
  }
}

// --- class 5: tracked files are never lost ------------------------------------------------

TEST_P(HostileFilesTest, ConcurrentUploadsOfOneNameNeverLeaveARowWithoutItsFile) {
  const std::string wid = FinishedWorkflow("alice");
  constexpr int kTrials = 8, kClients = 4;
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::string name = "same-" + std::to_string(trial) + ".bin";
    std::vector<long> status(kClients);
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        HttpClient c(server_->url());
        c.set_token(server_->token("alice"));
        const std::string body = "client " + std::to_string(i) + " " + std::string(200000, 'a' + i);
        ready.fetch_add(1);
        while (ready.load() < kClients) std::this_thread::yield();
        status[i] = Upload(c, wid, name, body, "application/octet-stream").status;
      });
    }
    for (auto& t : threads) t.join();
    int created = 0;
    for (long s : status) {
      EXPECT_TRUE(s == 201 || s == 409) << "trial " << trial << ": " << s;
      created += s == 201;
    }
    EXPECT_EQ(created, 1) << "trial " << trial;
  }
  auto alice = server_->Client("alice");
  auto files = AllFiles(*alice, wid);
  int uploads = 0;
  for (const auto& f : files) {
    uploads += f["path"].get<std::string>().find("/uploads/") != std::string::npos;
    auto r = alice->Get(f["url"]);
    ASSERT_EQ(r.status, 200) << f.dump() << r.body;
    EXPECT_EQ(core::Sha256Hex(r.body), f["sha256"]) << f.dump();
  }
  EXPECT_EQ(uploads, kTrials);
  ExpectFilesIntact(files);
}

TEST_P(HostileFilesTest, ResumeKeepsEveryUploadedFileAndDetailSaysWhenItIsPartial) {
  const std::string wid = CancelledWorkflow();
  ASSERT_FALSE(wid.empty());
  auto alice = server_->Client("alice");
  constexpr int kUploads = 230;
  for (int i = 0; i < kUploads; ++i) {
    auto up = Upload(*alice, wid, "up-" + std::to_string(i) + ".txt",
                     "upload number " + std::to_string(i), "text/plain");
    ASSERT_EQ(up.status, 201) << up.body;
  }
  auto retry = alice->Post("/api/v1/workflows/" + wid + "/retry", json::object());
  ASSERT_EQ(retry.status, 202) << retry.body;
  json w = WaitForWorkflow(*alice, wid, 180000);
  ASSERT_EQ(w["status"], "completed") << w.dump().substr(0, 2000);
  auto files = AllFiles(*alice, wid);
  int uploads = 0;
  for (const auto& f : files) uploads += f["name"].get<std::string>().starts_with("up-");
  EXPECT_EQ(uploads, kUploads) << "a resume deleted tracked uploads";
  ExpectFilesIntact(files);
  // The detail cannot hold every file: it says so, and says where the rest are.
  ASSERT_LT(w["files"].size(), files.size());
  EXPECT_EQ(w["files_truncated"], true) << w.dump().substr(0, 500);
  ASSERT_TRUE(w["files_next"].is_string());
  auto next = alice->Get(w["files_next"].get<std::string>());
  ASSERT_EQ(next.status, 200) << next.body;
  ASSERT_FALSE(next.Json()["items"].empty());
  // It continues where the detail's files stop: the next ones made, none seen twice.
  EXPECT_GT(next.Json()["items"][0]["id"].get<std::string>(),
            w["files"].back()["id"].get<std::string>());
  // Scenes still show their images although those files come late in the list.
  for (const auto& s : w["scenes"]) EXPECT_TRUE(s["image"].is_object()) << s.dump();
  // A small workflow's detail is complete and says so.
  json small = alice->Get("/api/v1/workflows/" + FinishedWorkflow("alice")).Json();
  EXPECT_EQ(small["files_truncated"], false);
}

// Lists come newest first (docs/API.md), files and tokens too; `?order=oldest` pages files
// in the order they were made, which is how the detail's files_next continues.
TEST_P(HostileFilesTest, FilesAndTokensAreListedNewestFirst) {
  const std::string wid = CancelledWorkflow();
  ASSERT_FALSE(wid.empty());
  auto alice = server_->Client("alice");
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) {
    auto up = Upload(*alice, wid, "order-" + std::to_string(i) + ".txt",
                     "file " + std::to_string(i), "text/plain");
    ASSERT_EQ(up.status, 201) << up.body;
    made.push_back(up.Json()["id"]);
  }
  // Every page of two, following next_cursor; only the files made here are kept.
  auto listed = [&](const std::string& order) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int pages = 0; pages < 50; ++pages) {
      auto r = alice->Get("/api/v1/files?workflow_id=" + wid + "&limit=2" + order +
                          (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const json page = r.Json();
      for (const auto& f : page["items"]) {
        const std::string id = f["id"];
        if (std::find(made.begin(), made.end(), id) != made.end()) ids.push_back(id);
      }
      if (page["next_cursor"].is_null()) break;
      cursor = page["next_cursor"];
    }
    return ids;
  };
  EXPECT_EQ(listed("&order=oldest"), made);
  std::vector<std::string> newest(made.rbegin(), made.rend());
  EXPECT_EQ(listed(""), newest);
  EXPECT_EQ(listed("&order=newest"), newest);
  auto bad = alice->Get("/api/v1/files?workflow_id=" + wid + "&order=sideways");
  EXPECT_EQ(bad.status, 422) << bad.body;  // invalid_argument, as every bad parameter
  EXPECT_EQ(bad.Json()["error"]["field"], "order") << bad.body;

  std::vector<std::string> tokens;
  for (const char* name : {"older", "newer"}) {
    auto t = alice->Post("/api/v1/tokens", {{"name", name}});
    ASSERT_EQ(t.status, 201) << t.body;
    tokens.push_back(t.Json()["id"]);
  }
  auto list = alice->Get("/api/v1/tokens");
  ASSERT_EQ(list.status, 200) << list.body;
  const json listed_tokens = list.Json();
  std::vector<std::string> seen;
  for (const auto& t : listed_tokens["items"]) seen.push_back(t["id"]);
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[0], tokens[1]) << list.body;
  EXPECT_EQ(seen[1], tokens[0]) << list.body;
}

TEST_P(HostileFilesTest, UploadsRacingAResumeAreNeverDeleted) {
  auto alice = server_->Client("alice");
  for (int trial = 0; trial < 4; ++trial) {
    const std::string wid = CancelledWorkflow();
    ASSERT_FALSE(wid.empty());
    std::vector<std::string> created;
    std::thread uploader([&] {
      HttpClient c(server_->url());
      c.set_token(server_->token("alice"));
      for (int i = 0; i < 40; ++i) {
        auto r = Upload(c, wid, "race-" + std::to_string(i) + ".txt", "racing " + std::to_string(i),
                        "text/plain");
        if (r.status == 201) created.push_back(r.Json()["path"]);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(trial * 15));
    auto retry = alice->Post("/api/v1/workflows/" + wid + "/retry", json::object());
    EXPECT_EQ(retry.status, 202) << retry.body;
    uploader.join();
    json w = WaitForWorkflow(*alice, wid, 180000);
    ASSERT_EQ(w["status"], "completed") << w.dump().substr(0, 2000);
    EXPECT_EQ(created.size(), 40u);
    for (const auto& path : created) {
      EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(server_->outputs_dir()) / path))
          << "trial " << trial << ": the resume deleted " << path;
    }
    ExpectFilesIntact(AllFiles(*alice, wid));
  }
}

// --- class 11: no existence oracle -------------------------------------------------------

TEST_P(HostileFilesTest, AnotherUsersFileAnswersExactlyLikeAMissingOne) {
  const std::string alice_wid = FinishedWorkflow("alice");
  const std::string bob_wid = FinishedWorkflow("bob");
  auto alice = server_->Client("alice");
  auto up = Upload(*alice, alice_wid, "secret.txt", "alice's secret", "text/plain");
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string file_id = up.Json()["id"], path = up.Json()["path"];
  const std::string missing_id = "01890000-0000-7000-8000-000000000000";
  auto bob = server_->Client("bob");
  struct Probe {
    std::string method, theirs, missing;
  };
  const std::string a = "/api/v1/workflows/" + alice_wid, m = "/api/v1/workflows/" + missing_id;
  const Probe probes[] = {
      {"GET", "/api/v1/files/" + file_id, "/api/v1/files/" + missing_id},
      {"GET", "/api/v1/files/" + file_id, "/api/v1/files/not-an-id"},
      {"GET", "/files/" + path, "/files/" + bob_wid + "/uploads/secret.txt"},
      {"GET", "/files/" + path, "/files/" + alice_wid + "/uploads/none.txt"},
      {"GET", "/files/" + path, "/files/" + missing_id + "/uploads/secret.txt"},
      {"GET", "/files/" + path, "/files/nothing"},
      {"HEAD", "/files/" + path, "/files/" + bob_wid + "/uploads/secret.txt"},
      {"GET", "/api/v1/files?workflow_id=" + alice_wid, "/api/v1/files?workflow_id=" + missing_id},
      {"GET", a, m},
      {"GET", a + "/events", m + "/events"},
      {"POST", a + "/cancel", m + "/cancel"},
      {"POST", a + "/retry", m + "/retry"},
      {"PUT", a + "/files/x.txt", m + "/files/x.txt"},
      {"DELETE", a, m},
  };
  auto answer = [](const HttpResult& r) {
    json e = r.Json();
    return std::tuple(r.status, e.is_object() ? e["error"].dump() : std::string(),
                      r.Header("content-type"));
  };
  for (const Probe& p : probes) {
    const std::string body = p.method == "PUT" ? "x" : (p.method == "POST" ? "{}" : "");
    auto theirs = bob->Request(p.method, p.theirs, body);
    auto missing = bob->Request(p.method, p.missing, body);
    EXPECT_EQ(theirs.status, 404) << p.method << " " << p.theirs;
    EXPECT_EQ(answer(theirs), answer(missing))
        << p.method << " " << p.theirs << " vs " << p.missing << ":\n"
        << theirs.body << "\n"
        << missing.body;
  }
  // Alice's file is still there and still hers.
  EXPECT_EQ(alice->Get("/files/" + path).body, "alice's secret");
}

// --- class 14: deletes never block and leave nothing behind --------------------------------

bool NothingLeft(const ServerProcess& server, const std::string& wid, std::string* why) {
  // Raw counts: the store's reads hide workflows that are marked for deletion.
  auto store = server.OpenStore();
  auto rows = db::ReadValue<std::pair<std::int64_t, std::int64_t>>(
      testing::RawDatabase(*store),
      [&](db::Connection& c) -> Result<std::pair<std::int64_t, std::int64_t>> {
        const db::Value v[] = {wid};
        SL_ASSIGN_OR_RETURN(auto w, c.QueryOne("SELECT count(*) FROM workflows WHERE id = ?", v));
        SL_ASSIGN_OR_RETURN(
            auto f, c.QueryOne("SELECT count(*) FROM generated_files WHERE workflow_id = ?", v));
        return std::pair{w.Int(0), f.Int(0)};
      });
  if (!rows) {
    *why = rows.error().message;
    return false;
  }
  if (rows->first != 0) {
    *why = "the workflow row remains";
    return false;
  }
  if (rows->second != 0) {
    *why = "file rows remain";
    return false;
  }
  const auto dir = std::filesystem::path(server.outputs_dir()) / wid;
  if (std::filesystem::exists(dir)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) {
        *why = "orphan on disk: " + e.path().string();
        return false;
      }
    }
  }
  return true;
}

void WaitUntilNothingLeft(const ServerProcess& server, const std::string& wid) {
  std::string why;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!NothingLeft(server, wid, &why) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(NothingLeft(server, wid, &why)) << why << "\n" << server.log().substr(0, 4000);
}

TEST_P(HostileFilesTest, DeletingARunningWorkflowAnswersAtOnceAndLeavesNothing) {
  auto alice = server_->Client("alice");
  for (int trial = 0; trial < 3; ++trial) {
    auto r = alice->Post("/api/v1/workflows", {{"prompt", "A long tale to delete mid-way"},
                                               {"options", {{"scenes", 12}, {"narration", true}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = r.Json()["id"];
    ASSERT_TRUE(testing::WaitForImagesInProgress(*alice, id, 12, 120)) << server_->log();
    (void)Upload(*alice, id, "mine.txt", "an upload of mine", "text/plain");
    auto del = alice->Delete("/api/v1/workflows/" + id);
    ASSERT_EQ(del.status, 204) << del.body;
    EXPECT_EQ(alice->Get("/api/v1/workflows/" + id).status, 404);
    EXPECT_EQ(alice->Delete("/api/v1/workflows/" + id).status, 404);
    WaitUntilNothingLeft(*server_, id);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, HostileFilesTest, ::testing::ValuesIn(testing::Backends()));

// Two instances on one PostgreSQL database: the API-only instance takes the DELETE while the
// other one is inside a slow narration (espeak behind a script that sleeps 2 s first). The
// DELETE answers while the run is still going (its events are still there), and once the
// run stops nothing of it remains: no row, no file, no folder.
TEST(HostileFilesMultiInstanceTest, DeleteOnOneInstanceStopsTheRunOnAnotherWithoutOrphans) {
  TestDatabase pg("postgres");
  testing::TempDir tmp;
  const std::string slow_espeak = tmp.str() + "/slow-espeak";
  {
    std::ofstream script(slow_espeak);
    script << "#!/bin/sh\nsleep 2\nexec espeak-ng \"$@\"\n";
  }
  std::filesystem::permissions(slow_espeak, std::filesystem::perms::owner_all);
  ServerOptions o;
  o.database_url = pg.url();
  o.env = {{"STORYLOOM_ESPEAK_BINARY", slow_espeak}, {"STORYLOOM_LEASE_MS", "3000"}};
  o.workers = 0;
  ServerProcess api(o);
  o.workers = 1;
  ServerProcess worker(api, o);
  auto c = api.Client("alice");
  for (int trial = 0; trial < 2; ++trial) {
    auto r = c->Post("/api/v1/workflows", {{"prompt", "A slow tale on another server"},
                                           {"options", {{"scenes", 6}, {"narration", true}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = r.Json()["id"];
    // Wait until the worker is narrating (some scenes done, not all).
    bool narrating = false;
    for (int i = 0; i < 2400 && !narrating; ++i) {
      json w = c->Get("/api/v1/workflows/" + id).Json();
      int audio = 0;
      for (const auto& s : w["scenes"]) audio += s["audio"].is_object();
      narrating = w["phase"] == "narration" && audio >= 1 && audio < 6;
      if (!narrating) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(narrating) << worker.log();
    auto del = c->Delete("/api/v1/workflows/" + id);
    ASSERT_EQ(del.status, 204) << del.body;
    // The worker is inside a narration that sleeps 2 s, so its run cannot have stopped yet:
    // the DELETE did not wait for it, and the rows are still there for it.
    auto store = api.OpenStore();
    auto events = store->ReadOne<std::vector<WorkflowEvent>>(
        [&](StoreTx& tx) { return tx.events().List(id, 0, 1000); });
    ASSERT_TRUE(events.has_value());
    EXPECT_FALSE(events->empty()) << "the DELETE waited for the run to stop";
    EXPECT_EQ(c->Get("/api/v1/workflows/" + id).status, 404);
    EXPECT_EQ(worker.Client("alice")->Get("/api/v1/workflows/" + id).status, 404);
    WaitUntilNothingLeft(api, id);
  }
}

// files_origin: files are served only on their own origin, through short-lived signed links.
TEST(HostileFilesOriginTest, FilesAreServedOnlyOnTheFilesOriginThroughSignedLinks) {
  ServerOptions o;
  o.env["STORYLOOM_FILES_ORIGIN"] = "http://files.storyloom.test";
  ServerProcess server(o);
  auto alice = server.Client("alice");
  auto r = alice->Post("/api/v1/workflows", {{"prompt", "Files elsewhere"},
                                             {"options", {{"scenes", 1}, {"narration", false}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string wid = r.Json()["id"];
  ASSERT_EQ(WaitForWorkflow(*alice, wid)["status"], "completed");
  auto up = alice->Request("PUT", "/api/v1/workflows/" + wid + "/files/pic.png", kPng,
                           {"Content-Type: image/png"});
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string url = up.Json()["url"];
  ASSERT_TRUE(url.starts_with("http://files.storyloom.test/files/")) << url;
  const std::string signed_path = PathOf(url);
  const std::string host = "Host: files.storyloom.test";

  // On the files origin the signed link works without credentials.
  HttpClient anon(server.url());
  auto got = anon.Request("GET", signed_path, "", {host});
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, kPng);
  ExpectSandboxed(got, "files origin");
  // A tampered or missing signature opens nothing.
  std::string tampered = signed_path;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(anon.Request("GET", tampered, "", {host}).status, 401);
  const std::string bare = signed_path.substr(0, signed_path.find('?'));
  EXPECT_EQ(anon.Request("GET", bare, "", {host}).status, 401);
  // Another path with this signature opens nothing either.
  const std::string other =
      "/files/" + wid + "/story/story.txt" + signed_path.substr(signed_path.find('?'));
  EXPECT_EQ(anon.Request("GET", other, "", {host}).status, 401);

  // On the main origin /files never serves content: it sends the signed-in owner to a
  // signed link on the files origin.
  auto main = alice->Get(bare);
  EXPECT_EQ(main.status, 302) << main.body;
  EXPECT_TRUE(main.body.empty() || main.body.find("PNG") == std::string::npos);
  const std::string location = main.Header("location");
  ASSERT_TRUE(location.starts_with("http://files.storyloom.test/files/")) << location;
  EXPECT_EQ(anon.Request("GET", PathOf(location), "", {host}).status, 200);
  // ...and only the owner gets one.
  EXPECT_EQ(server.Client("bob")->Get(bare).status, 404);
  EXPECT_EQ(anon.Get(bare).status, 401);
}

}  // namespace
}  // namespace storyloom
