// Operations against the real `storyloom serve` and the real CLI binary: a backup taken while
// the server runs and writes, restored into a new data directory; `backup verify` failing on a
// damaged backup; `fsck` and `cleanup --dry-run` exit codes; /metrics through promtool;
// /readyz with pending migrations and with the database gone; admin and analytics endpoints;
// request ids in workflow events.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "core/hash.h"
#include "db/database.h"
#include "support/checks.h"
#include "support/pg_server.h"
#include "support/server_process.h"
#include "support/store_access.h"

namespace storyloom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ServerProcess;
using testing::WaitForWorkflow;

using Cli = testing::CliResult;
using testing::RunCli;

using testing::CliFlags;

json MakeWorkflow(testing::HttpClient& c, const std::string& prompt) {
  auto r = c.Post("/api/v1/workflows",
                  {{"prompt", prompt}, {"options", {{"scenes", 1}, {"narration", false}}}});
  EXPECT_EQ(r.status, 201) << r.body;
  return r.Json();
}

TEST(OpsServerTest, BackupWhileServingRestoresExactlyWhatWasThere) {
  ServerProcess server;
  auto alice = server.Client("alice");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(MakeWorkflow(*alice, "A fox and a lantern " + std::to_string(i))["id"]);
  for (const auto& id : ids) ASSERT_EQ(WaitForWorkflow(*alice, id)["status"], "completed");

  // What is there before the backup starts.
  auto live = server.OpenStore();
  WorkflowFilter wf;
  wf.limit = 200;
  auto before = live->ListWorkflows(wf)->items;
  FileFilter ff;
  ff.limit = 200;
  auto before_files =
      live->ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) { return tx.files().List(ff); })->items;
  UsageFilter uf;
  uf.limit = 200;
  auto before_usage =
      live->ReadOne<Page<ApiUsage>>([&](StoreTx& tx) { return tx.usage().List(uf); })->items;
  ASSERT_FALSE(before_files.empty());

  // Keep writing through the API while the backup runs.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto c = server.Client("bob");
    while (!stop) {
      auto r = c->Post("/api/v1/usage",
                       {{"provider", "during-backup"}, {"operation", "chat"}, {"input_tokens", 1}});
      if (r.status == 201) ++written;
    }
  });
  Cli backup = RunCli(CliFlags(server) + " backup create");
  stop = true;
  writer.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.out;
  EXPECT_GT(written.load(), 0);
  const std::string path = backup.LastLine();
  ASSERT_TRUE(fs::exists(fs::path(path) / "manifest.json")) << backup.out;

  Cli verify = RunCli(CliFlags(server) + " backup verify " + path);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  Cli list = RunCli(CliFlags(server) + " backup list");
  EXPECT_NE(list.out.find(path), std::string::npos) << list.out;

  testing::TempDir target;
  const std::string new_dir = (target / "restored").string();
  Cli restore = RunCli("backup restore " + path + " --data-dir " + new_dir);
  ASSERT_EQ(restore.exit_code, 0) << restore.out;
  auto rs = Store::Open("sqlite://" + new_dir + "/storyloom.db");
  ASSERT_TRUE(rs.has_value());
  Store& r = **rs;
  auto after = r.ListWorkflows(wf)->items;
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].status, before[i].status);
    EXPECT_EQ(after[i].enhanced_story, before[i].enhanced_story);
    EXPECT_EQ(after[i].finished_at, before[i].finished_at);
  }
  auto after_files =
      r.ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) { return tx.files().List(ff); })->items;
  ASSERT_EQ(after_files.size(), before_files.size());
  for (std::size_t i = 0; i < before_files.size(); ++i) {
    EXPECT_EQ(after_files[i].file_path, before_files[i].file_path);
    EXPECT_EQ(after_files[i].sha256, before_files[i].sha256);
    EXPECT_EQ(*core::Sha256File(new_dir + "/save_outputs/" + after_files[i].file_path),
              before_files[i].sha256);
  }
  // Every usage row from before is there unchanged; anything more was written during the
  // backup by the writer above.
  uf.limit = 200;
  std::vector<ApiUsage> after_usage;
  for (std::string cursor;;) {
    uf.cursor = cursor;
    auto page = r.ReadOne<Page<ApiUsage>>([&](StoreTx& tx) { return tx.usage().List(uf); });
    after_usage.insert(after_usage.end(), page->items.begin(), page->items.end());
    if (page->next_cursor.empty()) break;
    cursor = page->next_cursor;
  }
  std::map<std::int64_t, ApiUsage> restored_usage;
  for (const auto& u : after_usage) restored_usage[u.id] = u;
  for (const auto& u : before_usage) {
    ASSERT_TRUE(restored_usage.contains(u.id));
    EXPECT_EQ(restored_usage[u.id].workflow_id, u.workflow_id);
    EXPECT_EQ(restored_usage[u.id].cost_nusd, u.cost_nusd);
    restored_usage.erase(u.id);
  }
  for (const auto& [id, u] : restored_usage) EXPECT_EQ(u.provider, "during-backup");

  // Restoring over a data directory that is not empty is refused.
  Cli again = RunCli("backup restore " + path + " --data-dir " + new_dir);
  EXPECT_NE(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("not empty"), std::string::npos) << again.out;

  // A damaged backup: verify exits non-zero and names the file.
  const std::string victim = before_files.front().file_path;
  const fs::path in_backup = fs::path(path) / "save_outputs" / victim;
  std::string bytes = testing::ReadFileOrEmpty(in_backup);
  bytes[bytes.size() / 2] ^= 0x40;
  fs::remove(in_backup);  // it may be a hard link to the live file
  testing::WriteFile(in_backup, bytes);
  Cli bad = RunCli(CliFlags(server) + " backup verify " + path);
  EXPECT_NE(bad.exit_code, 0) << bad.out;
  EXPECT_NE(bad.out.find(victim), std::string::npos) << bad.out;
  // The live file is untouched.
  EXPECT_EQ(*core::Sha256File(server.outputs_dir() + "/" + victim), before_files.front().sha256);
}

TEST(OpsServerTest, FsckAndCleanupFromTheCommandLine) {
  ServerProcess server;
  auto alice = server.Client("alice");
  const std::string id = MakeWorkflow(*alice, "An owl keeps the night shift")["id"];
  ASSERT_EQ(WaitForWorkflow(*alice, id)["status"], "completed");
  Cli clean = RunCli(CliFlags(server) + " fsck");
  EXPECT_EQ(clean.exit_code, 0) << clean.out;

  auto w = alice->Get("/api/v1/workflows/" + id).Json();
  const std::string victim = w["files"][0]["path"];
  fs::remove(server.outputs_dir() + "/" + victim);
  testing::WriteFile(server.outputs_dir() + "/" + id + "/stray.bin", "orphan");
  Cli bad = RunCli(CliFlags(server) + " fsck --grace-minutes 0");
  EXPECT_NE(bad.exit_code, 0) << bad.out;
  EXPECT_NE(bad.out.find(victim), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find(id + "/stray.bin"), std::string::npos) << bad.out;
  Cli repair = RunCli(CliFlags(server) + " fsck --grace-minutes 0 --repair");
  EXPECT_FALSE(fs::exists(server.outputs_dir() + "/" + id + "/stray.bin"));
  EXPECT_TRUE(fs::exists(server.outputs_dir() + "/" + w["files"][1]["path"].get<std::string>()));

  // Make the workflow old, then a dry run lists it and deletes nothing.
  auto store = server.OpenStore();
  ASSERT_TRUE(testing::RawDatabase(*store)
                  .Write([&](db::Connection& c) -> Result<void> {
                    const db::Value v[] = {std::int64_t{1000}, id};
                    SL_RETURN_IF_ERROR(
                        c.Exec("UPDATE workflows SET finished_at = ? WHERE id = ?", v));
                    return {};
                  })
                  .has_value());
  Cli dry = RunCli(CliFlags(server) + " cleanup --dry-run");
  EXPECT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_NE(dry.out.find("would delete workflow " + id), std::string::npos) << dry.out;
  EXPECT_EQ(alice->Get("/api/v1/workflows/" + id).status, 200);
  // The admin endpoint does the same over HTTP.
  auto admin = server.Client("admin");
  EXPECT_EQ(alice->Post("/api/v1/admin/cleanup", {{"dry_run", true}}).status, 403);
  auto r = admin->Post("/api/v1/admin/cleanup", {{"dry_run", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["workflows"].size(), 1u);
  r = admin->Post("/api/v1/admin/cleanup", {{"dry_run", false}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["workflows"][0]["id"], id);
  EXPECT_EQ(alice->Get("/api/v1/workflows/" + id).status, 404);
  EXPECT_FALSE(fs::exists(server.outputs_dir() + "/" + w["files"][1]["path"].get<std::string>()));
}

TEST(OpsServerTest, MetricsPassPromtoolAndNameTheSeries) {
  ServerProcess server;
  auto alice = server.Client("alice");
  const std::string id = MakeWorkflow(*alice, "A lighthouse counts ships")["id"];
  ASSERT_EQ(WaitForWorkflow(*alice, id)["status"], "completed");
  alice->Get("/api/v1/nope");
  auto admin = server.Client("admin");
  ASSERT_EQ(admin->Post("/api/v1/admin/backups", json::object()).status, 201);
  auto m = admin->Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.Header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  testing::TempDir tmp;
  testing::WriteFile(tmp / "metrics.txt", m.body);
  const std::string cmd = "promtool check metrics < " + (tmp / "metrics.txt").string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[1024];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out << "\n" << m.body;
  for (const char* series :
       {"storyloom_http_requests_total{method=\"POST\",route=\"/api/v1/workflows\",status=\"201\"}",
        "storyloom_http_request_duration_seconds_bucket{route=\"/api/v1/workflows\"",
        "storyloom_workflows{status=\"completed\"} 1", "storyloom_queue_depth 0",
        "storyloom_phase_duration_seconds_bucket{phase=\"story\"",
        "storyloom_provider_calls_total{provider=\"offline\"", "storyloom_provider_tokens_total",
        "storyloom_provider_cost_usd_total", "storyloom_provider_errors_total",
        "storyloom_db_query_duration_seconds_bucket", "storyloom_database_size_bytes",
        "storyloom_database_wal_size_bytes", "storyloom_disk_free_bytes",
        "storyloom_last_backup_age_seconds", "storyloom_last_backup_timestamp_seconds",
        "storyloom_last_cleanup_timestamp_seconds 0", "storyloom_database_up 1"}) {
    EXPECT_NE(m.body.find(series), std::string::npos) << series << "\n" << m.body;
  }
  EXPECT_EQ(m.body.find("storyloom_last_backup_age_seconds +Inf"), std::string::npos);
}

// /metrics is closed by default: the metrics token (which opens nothing else) or an
// administrator; metrics_public opens it to anyone.
TEST(OpsServerTest, MetricsNeedTheMetricsTokenOrAnAdministrator) {
  testing::ServerOptions o;
  o.env["STORYLOOM_METRICS_TOKEN"] = "scrape-secret-1234";
  ServerProcess server(o);
  auto anonymous = server.Client();
  EXPECT_EQ(anonymous->Get("/metrics").status, 401);
  EXPECT_EQ(server.Client("alice")->Get("/metrics").status, 403);
  EXPECT_EQ(server.Client("admin")->Get("/metrics").status, 200);
  auto scraper = server.Client();
  scraper->set_token("scrape-secret-1234");
  auto m = scraper->Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("storyloom_database_up 1"), std::string::npos);
  EXPECT_EQ(scraper->Get("/api/v1/workflows").status, 401)
      << "the metrics token opens nothing else";
  scraper->set_token("scrape-secret-123");
  EXPECT_EQ(scraper->Get("/metrics").status, 401);

  testing::ServerOptions open;
  open.env["STORYLOOM_METRICS_PUBLIC"] = "true";
  ServerProcess public_server(open);
  EXPECT_EQ(public_server.Client()->Get("/metrics").status, 200);
}

TEST(OpsServerTest, ReadyzFailsWhenMigrationsArePending) {
  ServerProcess server;
  EXPECT_EQ(server.Client()->Get("/readyz").status, 200);
  // As if a newer binary's migration had not been applied: forget the latest one.
  auto store = server.OpenStore();
  ASSERT_TRUE(testing::RawDatabase(*store)
                  .Write([](db::Connection& c) -> Result<void> {
                    SL_RETURN_IF_ERROR(
                        c.Exec("DELETE FROM schema_migrations WHERE version = (SELECT max(version) "
                               "FROM schema_migrations)"));
                    return {};
                  })
                  .has_value());
  auto r = server.Client()->Get("/readyz");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Json()["migrations"], "pending") << r.body;
  EXPECT_EQ(server.Client()->Get("/healthz").status, 200);
}

TEST(OpsServerTest, ReadyzFailsWhenTheDatabaseIsGone) {
  const std::string url = testing::CreatePgDatabase();
  testing::ServerOptions so;
  so.database_url = url;
  {
    ServerProcess server(so);
    EXPECT_EQ(server.Client()->Get("/readyz").status, 200);
    const std::string name = url.substr(url.rfind('/') + 1);
    testing::PgAdminExec("DROP DATABASE \"" + name + "\" WITH (FORCE)");
    auto r = server.Client()->Get("/readyz");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.Json()["status"], "unavailable") << r.body;
  }
  testing::DropPgDatabase(url);
}

TEST(OpsServerTest, AnalyticsSummaryScopesUsersAndRequestIdsReachEvents) {
  ServerProcess server;
  auto alice = server.Client("alice");
  auto bob = server.Client("bob");
  auto r = alice->Request("POST", "/api/v1/workflows",
                          json{{"prompt", "A kite over the harbour"},
                               {"options", {{"scenes", 1}, {"narration", false}}}}
                              .dump(),
                          {"Content-Type: application/json", "X-Request-Id: req-ops-42"});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  ASSERT_EQ(WaitForWorkflow(*alice, id)["status"], "completed");
  const std::string bid = MakeWorkflow(*bob, "A crab learns chess")["id"];
  ASSERT_EQ(WaitForWorkflow(*bob, bid)["status"], "completed");

  auto mine = alice->Get("/api/v1/analytics/summary");
  ASSERT_EQ(mine.status, 200) << mine.body;
  json s = mine.Json();
  EXPECT_EQ(s["scope"], "user");
  EXPECT_EQ(s["workflows"]["total"], 1);
  EXPECT_EQ(s["workflows"]["success_rate"], 1.0);
  EXPECT_EQ(s["cost_by_user"].size(), 1u);
  EXPECT_TRUE(s["phase_duration_ms"].contains("story")) << s.dump();
  EXPECT_GT(s["files"]["files"].get<int>(), 0);
  auto all = server.Client("admin")->Get("/api/v1/analytics/summary?from=2000-01-01");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.Json()["workflows"]["total"], 2);
  EXPECT_EQ(all.Json()["workflows"]["completed"], 2);
  EXPECT_EQ(alice->Get("/api/v1/analytics/summary?from=nonsense").status, 422);

  auto store = server.OpenStore();
  auto ids = db::ReadValue<std::vector<std::string>>(
      testing::RawDatabase(*store), [&](db::Connection& c) -> Result<std::vector<std::string>> {
        const db::Value v[] = {id};
        SL_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT DISTINCT coalesce(request_id, '') FROM "
                                               "workflow_events WHERE workflow_id = ?",
                                               v));
        std::vector<std::string> out;
        for (const auto& row : rows) out.push_back(row.Text(0));
        return out;
      });
  ASSERT_TRUE(ids.has_value());
  EXPECT_NE(std::find(ids->begin(), ids->end(), "req-ops-42"), ids->end());
}

TEST(OpsServerTest, JsonLogsAreValidJsonLines) {
  testing::ServerOptions so;
  so.env["STORYLOOM_LOG_JSON"] = "true";
  so.env["STORYLOOM_ACCESS_LOG"] = "true";
  ServerProcess server(so);
  server.Client("alice")->Get("/api/v1/workflows");
  server.Stop();
  std::istringstream in(server.log());
  int json_lines = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    if (!j.is_discarded()) {
      EXPECT_TRUE(j.contains("level") && j.contains("msg")) << line;
      ++json_lines;
    }
  }
  EXPECT_GE(json_lines, 2) << server.log();
}

}  // namespace
}  // namespace storyloom
