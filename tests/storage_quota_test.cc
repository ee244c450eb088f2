// Per-user storage use and quotas over real HTTP against the real `storyloom serve`, on
// SQLite and PostgreSQL (issue 16, part 3a): GET /api/v1/me/storage, the administrators'
// GET/PATCH /api/v1/users/{id}/storage (audited), uploads over the quota refused with 507
// before anything reaches save_outputs (with and without Content-Length), concurrent uploads
// that never go over it together, a create at the quota refused, a phase over it failing
// the workflow cleanly (resumable with retry), the server-wide default, and
// `storyloom users quota`.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/checks.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResult;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::UploadText;
using testing::WaitForWorkflow;
namespace fs = std::filesystem;

HttpResult Patch(HttpClient& c, const std::string& path, const json& body) {
  return c.Request("PATCH", path, body.dump(), {"Content-Type: application/json"});
}

json MyStorage(HttpClient& c) {
  auto r = c.Get("/api/v1/me/storage");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.Json();
}

class StorageQuotaTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }
  ServerProcess& Server() { return servers().Get(GetParam()); }
  // Workflows stay queued here: uploads without a run writing beside them.
  ServerProcess& ApiOnly() {
    ServerOptions o;
    o.workers = 0;
    return servers().Get(GetParam(), o, "api-only");
  }
  void TearDown() override {
    // Every test leaves alice without a quota of her own.
    for (ServerProcess* s : used_) {
      auto r = Patch(*s->Client("admin"), "/api/v1/users/" + s->user_id("alice") + "/storage",
                     {{"quota_bytes", nullptr}});
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }

  // Sets alice's quota on `s` (as the admin) and returns the answer.
  json SetAliceQuota(ServerProcess& s, const json& quota) {
    used_.push_back(&s);
    auto r = Patch(*s.Client("admin"), "/api/v1/users/" + s.user_id("alice") + "/storage",
                   {{"quota_bytes", quota}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  std::string QueuedWorkflow(ServerProcess& s) {
    auto r = s.Client("alice")->Post("/api/v1/workflows", {{"prompt", "A tale of many files"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json()["id"];
  }

  std::vector<ServerProcess*> used_;
};

TEST_P(StorageQuotaTest, UseIsReportedAndOnlyAdministratorsSetQuotas) {
  ServerProcess& s = ApiOnly();
  auto alice = s.Client("alice");
  const json before = MyStorage(*alice);
  EXPECT_EQ(before["user_id"], s.user_id("alice"));
  EXPECT_TRUE(before["quota_bytes"].is_null()) << before.dump();
  EXPECT_TRUE(before["bytes_free"].is_null());
  const std::string wid = QueuedWorkflow(s);
  ASSERT_EQ(UploadText(*alice, wid, "a.txt", std::string(1000, 'a')).status, 201);
  const json after = MyStorage(*alice);
  EXPECT_EQ(after["bytes_used"].get<std::int64_t>(),
            before["bytes_used"].get<std::int64_t>() + 1000);
  EXPECT_EQ(after["file_count"].get<std::int64_t>(), before["file_count"].get<std::int64_t>() + 1);

  const std::string path = "/api/v1/users/" + s.user_id("alice") + "/storage";
  EXPECT_EQ(Patch(*alice, path, {{"quota_bytes", 1}}).status, 403);
  EXPECT_EQ(alice->Get(path).status, 403);
  EXPECT_EQ(HttpClient(s.url()).Get("/api/v1/me/storage").status, 401);
  auto admin = s.Client("admin");
  for (const json& bad : {json(-1), json("lots"), json(1.5), json(true), json("2X")}) {
    auto r = Patch(*admin, path, {{"quota_bytes", bad}});
    EXPECT_EQ(r.status, 422) << bad.dump() << ": " << r.body;
  }
  EXPECT_EQ(Patch(*admin, path, {{"quota", 1}}).status, 422);
  EXPECT_EQ(Patch(*admin, path, json::object()).status, 422);
  EXPECT_EQ(Patch(*admin, "/api/v1/users/0190aaaa-0000-7000-8000-000000000000/storage",
                  {{"quota_bytes", 1}})
                .status,
            404);
  EXPECT_EQ(admin->Get("/api/v1/users/nobody/storage").status, 404);

  const json set = SetAliceQuota(s, "2M");
  EXPECT_EQ(set["quota_bytes"], 2 * 1024 * 1024);
  EXPECT_EQ(set["user_quota_bytes"], 2 * 1024 * 1024);
  EXPECT_EQ(set["bytes_free"].get<std::int64_t>(),
            2 * 1024 * 1024 - after["bytes_used"].get<std::int64_t>());
  auto seen = admin->Get(path);
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(seen.Json()["quota_bytes"], 2 * 1024 * 1024);
  EXPECT_EQ(MyStorage(*alice)["quota_bytes"], 2 * 1024 * 1024);
  // The change is in the audit log.
  auto audit = admin->Get("/api/v1/admin/audit?limit=50");
  ASSERT_EQ(audit.status, 200);
  bool found = false;
  const json entries = audit.Json()["items"];
  for (const auto& e : entries) {
    found = found || (e["action"] == "user.quota" && e["target"] == "alice");
  }
  EXPECT_TRUE(found) << audit.body;
}

TEST_P(StorageQuotaTest, AnUploadOverTheQuotaIs507AndWritesNothing) {
  ServerProcess& s = ApiOnly();
  auto alice = s.Client("alice");
  const std::string wid = QueuedWorkflow(s);
  const std::int64_t used = MyStorage(*alice)["bytes_used"];
  SetAliceQuota(s, used + 1500);
  const fs::path uploads = fs::path(s.outputs_dir()) / wid / "uploads";

  auto over = UploadText(*alice, wid, "big.txt", std::string(2000, 'b'));
  EXPECT_EQ(over.status, 507) << over.body;
  EXPECT_EQ(over.Json()["error"]["code"], "resource_exhausted");
  const std::string message = over.Json()["error"]["message"];
  EXPECT_NE(message.find("quota"), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(used + 1500)), std::string::npos) << message;
  // Without Content-Length the body is read (up to max_upload_bytes) and thrown away.
  auto chunked = UploadText(*alice, wid, "big2.txt", std::string(2000, 'c'), /*chunked=*/true);
  EXPECT_EQ(chunked.status, 507) << chunked.body;
  EXPECT_EQ(chunked.Json()["error"]["code"], "resource_exhausted");
  EXPECT_FALSE(fs::exists(uploads / "big.txt"));
  EXPECT_FALSE(fs::exists(uploads / "big2.txt"));
  auto listed = alice->Get("/api/v1/files?workflow_id=" + wid);
  ASSERT_EQ(listed.status, 200);
  const json items = listed.Json()["items"];
  for (const auto& f : items) EXPECT_NE(f["name"], "big.txt");
  EXPECT_EQ(MyStorage(*alice)["bytes_used"].get<std::int64_t>(), used);

  // Under the quota is fine, up to the last byte.
  auto fits = UploadText(*alice, wid, "fits.txt", std::string(1500, 'f'));
  EXPECT_EQ(fits.status, 201) << fits.body;
  EXPECT_EQ(MyStorage(*alice)["bytes_free"], 0);
  EXPECT_EQ(UploadText(*alice, wid, "one.txt", "1").status, 507);
  // Deleting a file makes room (the workflow is done with).
  ASSERT_EQ(alice->Post("/api/v1/workflows/" + wid + "/cancel", json::object()).status, 202);
  EXPECT_EQ(alice->Delete("/api/v1/files/" + fits.Json()["id"].get<std::string>()).status, 204);
  EXPECT_EQ(UploadText(*alice, wid, "one.txt", "1").status, 201);
  testing::ExpectStoreClean(s);
}

TEST_P(StorageQuotaTest, ConcurrentUploadsNeverGoOverTogether) {
  ServerProcess& s = ApiOnly();
  const std::string wid = QueuedWorkflow(s);
  const std::int64_t used = MyStorage(*s.Client("alice"))["bytes_used"];
  SetAliceQuota(s, used + 2 * 1000);  // room for two of the four
  std::vector<long> status(4, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto c = s.Client("alice");
      status[i] =
          UploadText(*c, wid, "race-" + std::to_string(i) + ".txt", std::string(1000, 'r')).status;
    });
  }
  for (auto& t : threads) t.join();
  int created = 0, refused = 0;
  for (long st : status) {
    created += st == 201;
    refused += st == 507;
  }
  EXPECT_EQ(created, 2) << status[0] << " " << status[1] << " " << status[2] << " " << status[3];
  EXPECT_EQ(refused, 2);
  const json now = MyStorage(*s.Client("alice"));
  EXPECT_EQ(now["bytes_used"].get<std::int64_t>(), used + 2000);
  testing::ExpectStoreClean(s);
}

TEST_P(StorageQuotaTest, GenerationStopsAtTheQuotaAndResumesWhenRaised) {
  ServerProcess& s = Server();
  auto alice = s.Client("alice");
  const std::int64_t used = MyStorage(*alice)["bytes_used"];
  // At the quota: a new workflow is refused at once.
  SetAliceQuota(s, used);
  auto refused = alice->Post("/api/v1/workflows", {{"prompt", "A tale with no room"}});
  EXPECT_EQ(refused.status, 507) << refused.body;
  EXPECT_EQ(refused.Json()["error"]["code"], "resource_exhausted");

  // Room for the story's text but not for the scene's image: the images phase fails.
  SetAliceQuota(s, used + 4096);
  auto r = alice->Post("/api/v1/workflows",
                       {{"prompt", "A tale that outgrows its shelf"},
                        {"options", {{"scenes", 1}, {"narration", false}, {"video", false}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  json w = WaitForWorkflow(*alice, id);
  ASSERT_EQ(w["status"], "failed") << w.dump();
  EXPECT_EQ(w["error"]["code"], "resource_exhausted") << w.dump();
  EXPECT_NE(w["error"]["message"].get<std::string>().find("quota"), std::string::npos);
  EXPECT_LE(MyStorage(*alice)["bytes_used"].get<std::int64_t>(), used + 4096);
  testing::ExpectStoreClean(s);  // nothing written and left untracked

  SetAliceQuota(s, nullptr);
  auto retry = alice->Post("/api/v1/workflows/" + id + "/retry", json::object());
  ASSERT_EQ(retry.status, 202) << retry.body;
  w = WaitForWorkflow(*alice, id);
  EXPECT_EQ(w["status"], "completed") << w.dump();
  EXPECT_TRUE(w["scenes"][0]["image"].is_object()) << w.dump();
  testing::ExpectStoreClean(s);
}

TEST_P(StorageQuotaTest, TheServersDefaultQuotaAppliesToUsersWithoutTheirOwn) {
  ServerOptions o;
  o.workers = 0;
  o.env["STORYLOOM_STORAGE_DEFAULT_QUOTA"] = "1K";
  ServerProcess& s = servers().Get(GetParam(), o, "default-quota");
  auto bob = s.Client("bob");
  const json mine = MyStorage(*bob);
  EXPECT_EQ(mine["quota_bytes"], 1024);
  EXPECT_EQ(mine["default_quota_bytes"], 1024);
  EXPECT_TRUE(mine["user_quota_bytes"].is_null());
  auto r = bob->Post("/api/v1/workflows", {{"prompt", "Bob's tale"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string wid = r.Json()["id"];
  EXPECT_EQ(UploadText(*bob, wid, "big.txt", std::string(2000, 'x')).status, 507);
  // A quota of the user's own wins over the default.
  auto set = Patch(*s.Client("admin"), "/api/v1/users/" + s.user_id("bob") + "/storage",
                   {{"quota_bytes", "1M"}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(UploadText(*bob, wid, "big.txt", std::string(2000, 'x')).status, 201);
}

TEST_P(StorageQuotaTest, TheCliShowsAndSetsQuotas) {
  ServerProcess& s = ApiOnly();
  used_.push_back(&s);
  const std::string flags = testing::CliFlags(s);
  auto set = testing::RunCli(flags + " users quota alice 500M");
  EXPECT_EQ(set.exit_code, 0) << set.out;
  EXPECT_NE(set.out.find("quota 500 MiB (the user's own)"), std::string::npos) << set.out;
  EXPECT_EQ(MyStorage(*s.Client("alice"))["quota_bytes"], 500ll * 1024 * 1024);
  auto shown = testing::RunCli(flags + " users quota alice --json");
  EXPECT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_EQ(json::parse(shown.out, nullptr, false)["quota_bytes"], 500ll * 1024 * 1024)
      << shown.out;
  auto cleared = testing::RunCli(flags + " users quota alice none");
  EXPECT_EQ(cleared.exit_code, 0) << cleared.out;
  EXPECT_NE(cleared.out.find("no quota"), std::string::npos) << cleared.out;
  auto bad = testing::RunCli(flags + " users quota alice 12Q");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_EQ(bad.out.find('\n'), bad.out.size() - 1) << "one line: " << bad.out;
  auto nobody = testing::RunCli(flags + " users quota nobody 1G");
  EXPECT_EQ(nobody.exit_code, 1) << nobody.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageQuotaTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
