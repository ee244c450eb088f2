// DELETE /api/v1/files/{id} over real HTTP against the real `storyloom serve`, on SQLite and
// PostgreSQL (issue 16, part 3a): the row and the bytes go together, the scene that showed
// the file shows nothing, a second delete and another user's delete answer 404, a queued
// workflow's file is refused (409), every delete is in the audit log, and fsck and the
// database check stay clean. A kill -9 between the commit and the unlink loses nothing
// tracked and leaves no orphan: fsck is clean at once, and the restarted server removes the
// bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "support/checks.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::AuditRows;
using testing::HttpClient;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::UploadText;
using testing::WaitForWorkflow;
namespace fs = std::filesystem;

class FileDeleteTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }
  ServerProcess& Server() { return servers().Get(GetParam()); }
  // An instance that runs nothing: its workflows stay queued.
  ServerProcess& ApiOnly() {
    ServerOptions o;
    o.workers = 0;
    return servers().Get(GetParam(), o, "api-only");
  }

  // A finished one-scene workflow of alice's, without narration or video.
  json FinishedWorkflow() {
    auto c = Server().Client("alice");
    auto r = c->Post("/api/v1/workflows",
                     {{"prompt", "A lighthouse keeper finds a letter"},
                      {"options", {{"scenes", 1}, {"narration", false}, {"video", false}}}});
    EXPECT_EQ(r.status, 201) << r.body;
    json w = WaitForWorkflow(*c, r.Json()["id"]);
    EXPECT_EQ(w["status"], "completed") << w.dump();
    return w;
  }
};

TEST_P(FileDeleteTest, DeleteRemovesTheRowAndTheBytesAndIsAudited) {
  json w = FinishedWorkflow();
  ASSERT_EQ(w["scenes"].size(), 1u);
  const json image = w["scenes"][0]["image"];
  ASSERT_TRUE(image.is_object()) << w.dump();
  const std::string id = image["id"];
  const fs::path on_disk = fs::path(Server().outputs_dir()) / image["path"].get<std::string>();
  ASSERT_TRUE(fs::exists(on_disk));
  auto alice = Server().Client("alice");
  auto bob = Server().Client("bob");

  // Another user's file answers exactly like a missing one, and stays.
  auto other = bob->Delete("/api/v1/files/" + id);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.Json()["error"]["code"], "not_found");
  auto missing = alice->Delete("/api/v1/files/0190aaaa-0000-7000-8000-000000000000");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(other.Json()["error"]["message"], missing.Json()["error"]["message"]);
  EXPECT_EQ(alice->Delete("/api/v1/files/not-an-id").status, 404);
  EXPECT_TRUE(fs::exists(on_disk));
  EXPECT_EQ(HttpClient(Server().url()).Delete("/api/v1/files/" + id).status, 401);

  auto del = alice->Delete("/api/v1/files/" + id);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_FALSE(fs::exists(on_disk)) << "the bytes stayed: " << on_disk;
  EXPECT_EQ(alice->Get("/api/v1/files/" + id).status, 404);
  EXPECT_EQ(alice->Get("/files/" + image["path"].get<std::string>()).status, 404);
  auto again = alice->Delete("/api/v1/files/" + id);
  EXPECT_EQ(again.status, 404) << again.body;

  // The scene shows no image; the workflow's other files stay.
  auto detail = alice->Get("/api/v1/workflows/" + w["id"].get<std::string>());
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_TRUE(detail.Json()["scenes"][0]["image"].is_null()) << detail.body;
  auto files = alice->Get("/api/v1/files?workflow_id=" + w["id"].get<std::string>());
  ASSERT_EQ(files.status, 200);
  const json items = files.Json()["items"];
  EXPECT_FALSE(items.empty());
  for (const auto& f : items) {
    EXPECT_NE(f["id"], id);
    EXPECT_TRUE(fs::exists(fs::path(Server().outputs_dir()) / f["path"].get<std::string>()));
  }

  auto admin = Server().Client("admin");
  auto audit = AuditRows(*admin, "file.delete", id);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["user_id"], Server().user_id("alice"));
  EXPECT_EQ(testing::QueryText(Server().database_url(), "SELECT count(*) FROM file_deletes"), "0");
  testing::ExpectStoreClean(Server());
}

TEST_P(FileDeleteTest, AnAdministratorMayDeleteAnyonesFile) {
  json w = FinishedWorkflow();
  auto alice = Server().Client("alice");
  auto up = UploadText(*alice, w["id"], "notes.txt", "alice's notes\n");
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string id = up.Json()["id"];
  const fs::path on_disk = fs::path(Server().outputs_dir()) / up.Json()["path"].get<std::string>();
  ASSERT_TRUE(fs::exists(on_disk));
  auto del = Server().Client("admin")->Delete("/api/v1/files/" + id);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_FALSE(fs::exists(on_disk));
  EXPECT_EQ(alice->Get("/api/v1/files/" + id).status, 404);
  auto audit = AuditRows(*Server().Client("admin"), "file.delete", id);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["user_id"], Server().user_id("admin"));
  // The name is free again.
  EXPECT_EQ(UploadText(*alice, w["id"], "notes.txt", "new notes\n").status, 201);
}

TEST_P(FileDeleteTest, AQueuedWorkflowsFileIsRefused) {
  ServerProcess& api = ApiOnly();
  auto alice = api.Client("alice");
  auto r = alice->Post("/api/v1/workflows", {{"prompt", "A tale that waits"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string wid = r.Json()["id"];
  auto up = UploadText(*alice, wid, "draft.txt", "a draft\n");
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string id = up.Json()["id"];
  auto del = alice->Delete("/api/v1/files/" + id);
  EXPECT_EQ(del.status, 409) << del.body;
  EXPECT_EQ(del.Json()["error"]["code"], "conflict");
  EXPECT_NE(del.Json()["error"]["message"].get<std::string>().find("queued"), std::string::npos);
  EXPECT_EQ(alice->Get("/api/v1/files/" + id).status, 200);
  EXPECT_TRUE(fs::exists(fs::path(api.outputs_dir()) / up.Json()["path"].get<std::string>()));
  // Once it is cancelled the file may go.
  ASSERT_EQ(alice->Post("/api/v1/workflows/" + wid + "/cancel", json::object()).status, 202);
  EXPECT_EQ(alice->Delete("/api/v1/files/" + id).status, 204);
}

TEST_P(FileDeleteTest, AKillBetweenTheCommitAndTheUnlinkLeavesNothingTracked) {
  std::unique_ptr<testing::TestDatabase> db;
  ServerOptions o;
  o.workers = 0;
  if (GetParam() == "postgres") {
    db = std::make_unique<testing::TestDatabase>("postgres");
    o.database_url = db->url();
  }
  o.env["STORYLOOM_FAILPOINTS"] = "files.kill_after_delete_commit";
  auto server = std::make_unique<ServerProcess>(o);
  auto alice = server->Client("alice");
  auto r = alice->Post("/api/v1/workflows", {{"prompt", "A tale cut short"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string wid = r.Json()["id"];
  ASSERT_EQ(alice->Post("/api/v1/workflows/" + wid + "/cancel", json::object()).status, 202);
  auto up = UploadText(*alice, wid, "doomed.txt", "these bytes are deleted\n");
  ASSERT_EQ(up.status, 201) << up.body;
  const fs::path on_disk = fs::path(server->outputs_dir()) / up.Json()["path"].get<std::string>();

  auto del = alice->Delete("/api/v1/files/" + up.Json()["id"].get<std::string>());
  EXPECT_EQ(del.status, 0) << "the server answered instead of dying: " << del.body;
  server->Kill();
  // Committed: the row is gone. The bytes are still there, pending, and fsck (run while the
  // server is down) neither misses a tracked file nor calls them an orphan.
  EXPECT_TRUE(fs::exists(on_disk));
  EXPECT_EQ(testing::QueryText(server->database_url(), "SELECT count(*) FROM file_deletes"), "1");
  testing::ExpectStoreClean(*server);

  ServerOptions again = o;
  again.env.erase("STORYLOOM_FAILPOINTS");
  ServerProcess restarted(*server, again);
  EXPECT_FALSE(fs::exists(on_disk)) << "the restarted server left the deleted bytes";
  EXPECT_EQ(testing::QueryText(restarted.database_url(), "SELECT count(*) FROM file_deletes"), "0");
  EXPECT_EQ(
      restarted.Client("alice")->Get("/api/v1/files/" + up.Json()["id"].get<std::string>()).status,
      404);
  testing::ExpectStoreClean(restarted);
  restarted.Stop();
}

TEST_P(FileDeleteTest, TheCommandLineDeletesAFile) {
  ServerProcess& api = ApiOnly();
  auto alice = api.Client("alice");
  auto r = alice->Post("/api/v1/workflows", {{"prompt", "A tale for the command line"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string wid = r.Json()["id"];
  auto up = UploadText(*alice, wid, "cli.txt", "deleted from a terminal\n");
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string id = up.Json()["id"];
  const fs::path on_disk = fs::path(api.outputs_dir()) / up.Json()["path"].get<std::string>();
  const std::string flags = testing::CliFlags(api);
  auto queued = testing::RunCli(flags + " files delete " + id);
  EXPECT_EQ(queued.exit_code, 1) << queued.out;
  EXPECT_NE(queued.out.find("queued"), std::string::npos) << queued.out;
  ASSERT_EQ(alice->Post("/api/v1/workflows/" + wid + "/cancel", json::object()).status, 202);
  auto del = testing::RunCli(flags + " files delete " + id);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_NE(del.out.find("deleted " + up.Json()["path"].get<std::string>()), std::string::npos)
      << del.out;
  EXPECT_FALSE(fs::exists(on_disk));
  EXPECT_EQ(alice->Get("/api/v1/files/" + id).status, 404);
  auto again = testing::RunCli(flags + " files delete " + id);
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_EQ(again.LastLine(), "storyloom: no such file") << again.out;
  EXPECT_EQ(AuditRows(*api.Client("admin"), "file.delete", id).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, FileDeleteTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
