// `--json` on every listing command of the real binary: the output parses as JSON, holds the
// rows the database holds, under the field names the HTTP API uses for the same things
// (compared with a running server's answers where the API has the resource).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "api/json_views.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/test_db.h"
#include "support/usage_rows.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::CliResult;
using testing::RunCli;

std::set<std::string> Keys(const json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

json ParseJson(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out;
  return j;
}

// A SQLite database with a user with a budget, an API token, two usage rows, a backup
// record and the seeded prices.
class CliJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.OpenMigrated();
    alice_ = testing::MakeUser(*store_, "alice");
    auto w = store_->CreateWorkflow({alice_, "prompt", "", "{}", ""});
    ASSERT_TRUE(w) << w.error().ToString();
    ApiUsage u = testing::DistinctUsageCall(alice_, w->workflow.id, 1234500000);
    ASSERT_TRUE(store_->RecordUsage(u));
    ASSERT_TRUE(store_->RecordUsage(u));
    ASSERT_TRUE(store_->Write([&](StoreTx& tx) -> Result<void> {
      SL_RETURN_IF_ERROR(tx.budgets().SetLimits(alice_, {25000000000, 20000000000}));
      SL_RETURN_IF_ERROR(tx.backups().Start("b1", "/backups/b1", "manual", 1764000000000));
      BackupRecord b;
      b.id = "b1";
      b.path = "/backups/b1";
      b.kind = "manual";
      b.status = "ok";
      b.size_bytes = 4096;
      b.files = 3;
      b.manifest_sha256 = std::string(64, 'a');
      b.created_at = 1764000000000;
      b.finished_at = 1764000001000;
      return tx.backups().Finish(b);
    }));
    store_.reset();
    ASSERT_EQ(Cli("tokens create alice --name ci").exit_code, 0);
  }

  CliResult Cli(const std::string& args) {
    return RunCli(args + " --log-level off --data-dir '" + dir_.str() + "' --database '" +
                  db_.url() + "'");
  }
  json CliJson(const std::string& args) {
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << args << ":\n" << r.out;
    return ParseJson(r);
  }

  testing::TestDatabase db_{"sqlite"};
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::string alice_;
};

TEST_F(CliJsonTest, UsersListIsTheApisUserJson) {
  const json j = CliJson("users list --json");
  ASSERT_EQ(j["items"].size(), 1u) << j;
  auto store = db_.Open();
  auto alice = store->ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(alice_); });
  ASSERT_TRUE(alice);
  EXPECT_EQ(j, (json{{"items", {api::UserJson(*alice)}}}));
}

TEST_F(CliJsonTest, TokensListIsTheApisTokenJsonWithOwnerAndState) {
  ASSERT_EQ(Cli("tokens create alice --name old").exit_code, 0);
  json all = CliJson("tokens list --all --json");
  ASSERT_EQ(all["items"].size(), 2u) << all;
  std::string old_id;
  for (const auto& t : all["items"]) {
    if (t["name"] == "old") old_id = t["id"];
  }
  ASSERT_EQ(Cli("tokens revoke " + old_id).exit_code, 0);

  json active = CliJson("tokens list --json");
  ASSERT_EQ(active["items"].size(), 1u) << active;  // revoked ones only with --all
  const json& t = active["items"][0];
  EXPECT_EQ(Keys(t),
            (std::set<std::string>{"id", "user_id", "name", "created_at", "expires_at",
                                   "last_used_at", "revoked_at", "active", "state", "username"}));
  EXPECT_EQ(t["name"], "ci");
  EXPECT_EQ(t["user_id"], alice_);
  EXPECT_EQ(t["username"], "alice");
  EXPECT_EQ(t["active"], true);
  EXPECT_EQ(t["state"], "active");
  EXPECT_TRUE(t["revoked_at"].is_null());

  all = CliJson("tokens list alice --all --json");
  ASSERT_EQ(all["items"].size(), 2u) << all;
  for (const auto& tok : all["items"]) {
    if (tok["id"] != old_id) continue;
    EXPECT_EQ(tok["state"], "revoked");
    EXPECT_EQ(tok["active"], false);
    EXPECT_TRUE(tok["revoked_at"].is_string()) << tok;
  }
}

TEST_F(CliJsonTest, UsageReportJsonIsFormatJson) {
  const json j = CliJson("usage report --by user --json");
  EXPECT_EQ(j, CliJson("usage report --by user --format json"));
  ASSERT_EQ(j["items"].size(), 1u) << j;
  EXPECT_EQ(j["items"][0]["user"], "alice");
  EXPECT_EQ(j["items"][0]["calls"], 2);
  EXPECT_EQ(j["total"]["cost_usd"], "2.469");
  EXPECT_EQ(j["total"]["cost_nusd"], 2469000000);
}

TEST_F(CliJsonTest, PricesListJsonHasEveryPriceAndImportsAgain) {
  const json j = CliJson("prices list --json");
  ASSERT_FALSE(j["items"].empty()) << j;
  for (const auto& p : j["items"]) {
    EXPECT_EQ(Keys(p), (std::set<std::string>{"id", "provider", "model", "operation", "image_size",
                                              "image_quality", "input_per_mtok_usd",
                                              "cached_input_per_mtok_usd", "output_per_mtok_usd",
                                              "per_image_usd", "per_mchar_usd", "per_minute_usd",
                                              "effective_from", "effective_to", "source"}));
  }
  // The table and the JSON list the same prices.
  CliResult table = Cli("prices list");
  ASSERT_EQ(table.exit_code, 0);
  // header + one line per price + the units line
  EXPECT_EQ(static_cast<std::size_t>(std::count(table.out.begin(), table.out.end(), '\n')),
            j["items"].size() + 2)
      << table.out;
  // What --json prints is an import file: importing it adds every price once more.
  const auto file = dir_ / "prices.json";
  testing::WriteFile(file, j.dump());
  CliResult imported = Cli("prices import '" + file.string() + "'");
  ASSERT_EQ(imported.exit_code, 0) << imported.out;
  const json all = CliJson("prices list --all --json");
  EXPECT_EQ(all["items"].size(), 2 * j["items"].size()) << imported.out;
}

TEST_F(CliJsonTest, UsersBudgetJsonHasTheLimitsAndTheMonth) {
  const json j = CliJson("users budget alice --json");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"user_id", "username", "period", "monthly_usd",
                                            "soft_usd", "spent_usd", "reserved_usd", "spent_nusd",
                                            "reserved_nusd", "remaining_usd"}));
  EXPECT_EQ(j["username"], "alice");
  EXPECT_EQ(j["user_id"], alice_);
  EXPECT_EQ(j["monthly_usd"], "25.00");
  EXPECT_EQ(j["soft_usd"], "20.00");
  // Setting prints the new limits.
  const json set = CliJson("users budget alice 30 --json");
  EXPECT_EQ(set["monthly_usd"], "30.00");
  EXPECT_EQ(set["soft_usd"], "20.00");
}

TEST_F(CliJsonTest, BackupListJsonHasTheRecord) {
  const json j = CliJson("backup list --json");
  EXPECT_EQ(j, (json{{"items",
                      {{{"id", "b1"},
                        {"path", "/backups/b1"},
                        {"kind", "manual"},
                        {"status", "ok"},
                        {"size_bytes", 4096},
                        {"files", 3},
                        {"manifest_sha256", std::string(64, 'a')},
                        {"error", nullptr},
                        {"created_at", "2025-11-24T16:00:00.000Z"},
                        {"finished_at", "2025-11-24T16:00:01.000Z"}}}}}));
}

TEST_F(CliJsonTest, DbStatusJsonHasTheSchemaAndCounts) {
  const json j = CliJson("db status --json");
  EXPECT_EQ(j["database"], db_.url()) << j;
  EXPECT_GE(j["schema_version"].get<int>(), 1);
  EXPECT_EQ(j["schema_version"], j["latest_version"]);
  EXPECT_EQ(j["pending_migrations"], json::array());
  EXPECT_EQ(j["workflows"], 1);
  EXPECT_EQ(j["usage_rows"], 2);
  EXPECT_EQ(j["files"], 0);
  EXPECT_EQ(j["quick_check"], (json{{"ok", true}, {"problems", json::array()}}));
  EXPECT_EQ(j["last_backup"],
            (json{{"created_at", "2025-11-24T16:00:00.000Z"}, {"path", "/backups/b1"}}));
  EXPECT_EQ(j["size_bytes"],
            j["page_count"].get<std::int64_t>() * j["page_size"].get<std::int64_t>());
  for (const char* key : {"free_pages", "file_bytes", "wal_bytes"}) {
    EXPECT_TRUE(j[key].is_number_integer()) << key << ": " << j;
  }
}

TEST_F(CliJsonTest, DbCheckJson) {
  json check = CliJson("db check --json");
  EXPECT_TRUE(check["checked_at"].is_string()) << check;
  EXPECT_TRUE(check["duration_ms"].is_number_integer()) << check;
  check.erase("checked_at");
  check.erase("duration_ms");
  EXPECT_EQ(check, (json{{"backend", "sqlite"},
                         {"ok", true},
                         {"problems", 0},
                         {"integrity_check", json::array()},
                         {"foreign_key_check", json::array()},
                         {"migrations", "current"}}));
  // The table says the same.
  CliResult table = Cli("db check");
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_EQ(table.out,
            "integrity_check    ok\nforeign_key_check  ok\nmigrations         current\n");
}

TEST_F(CliJsonTest, CleanupAndFsckJson) {
  const json c = CliJson("cleanup --dry-run --json");
  EXPECT_EQ(c["dry_run"], true);
  EXPECT_EQ(c["workflows"], json::array());  // the workflow is not finished
  EXPECT_EQ(Keys(c),
            (std::set<std::string>{"dry_run", "workflows", "files", "bytes", "usage_rows",
                                   "sessions", "file_errors", "vacuumed_pages", "policy"}));
  EXPECT_EQ(Keys(c["policy"]),
            (std::set<std::string>{"completed_days", "failed_days", "usage_days"}));

  const json f = CliJson("fsck --json --grace-minutes 0");
  EXPECT_EQ(f, (json{{"ok", true},
                     {"checked", 0},
                     {"problems", json::array()},
                     {"known_missing", json::array()},
                     {"orphans", json::array()},
                     {"quarantined", json::array()},
                     {"marked_missing", 0}}));
  // A file nothing tracks: listed, and the exit status is still 1 with --json.
  std::filesystem::create_directories(dir_ / "save_outputs");
  testing::WriteFile(dir_ / "save_outputs" / "stray.txt", "x");
  CliResult bad = Cli("fsck --json --grace-minutes 0");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  const std::string out = bad.out.substr(0, bad.out.rfind("storyloom: "));  // the last line
  const json j = json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << bad.out;
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["orphans"], json::array({"stray.txt"}));
}

// Against a running server: where the HTTP API has the resource, the CLI's JSON has the
// same fields with the same values.
TEST(CliJsonApiTest, MatchesTheHttpApi) {
  testing::ServerProcess server;
  const std::string flags = testing::CliFlags(server) + " --log-level off";
  auto cli = [&](const std::string& args) {
    CliResult r = RunCli(args + " " + flags);
    EXPECT_EQ(r.exit_code, 0) << args << ":\n" << r.out;
    return ParseJson(r);
  };
  auto admin = server.Client("admin");
  auto api = [&](const std::string& path) {
    auto r = admin->Get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body);
  };
  auto by_id = [](const json& items) {
    std::map<std::string, json> out;
    for (const auto& i : items) out[i["id"].get<std::string>()] = i;
    return out;
  };
  // Users: the same objects.
  EXPECT_EQ(by_id(cli("users list --json")["items"]), by_id(api("/api/v1/users")["items"]));
  // Tokens: every field the API has, equal; the CLI adds the owner's name and the state.
  const auto cli_tokens = by_id(cli("tokens list --all --json")["items"]);
  const auto api_tokens = by_id(api("/api/v1/tokens")["items"]);
  ASSERT_FALSE(api_tokens.empty());
  for (const auto& [id, t] : api_tokens) {
    ASSERT_TRUE(cli_tokens.contains(id)) << id;
    for (const auto& [k, v] : t.items()) {
      if (k == "last_used_at") continue;  // the admin's token is used by these requests
      EXPECT_EQ(cli_tokens.at(id)[k], v) << id << " " << k;
    }
  }
  // Budgets: `users budget NAME --json` is GET /api/v1/budgets's item for NAME.
  ASSERT_EQ(RunCli("users budget alice 12.5 --soft 10 " + flags).exit_code, 0);
  json api_alice;
  const json budgets = api("/api/v1/budgets");
  for (const auto& u : budgets["users"]) {
    if (u["username"] == "alice") api_alice = u;
  }
  EXPECT_EQ(cli("users budget alice --json"), api_alice);
  // Backups: the same records.
  auto made = admin->Post("/api/v1/admin/backups", json::object());
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(cli("backup list --json"), api("/api/v1/admin/backups"));
  // Cleanup: the same answer as POST /api/v1/admin/cleanup with dry_run.
  auto cleanup = admin->Post("/api/v1/admin/cleanup", json{{"dry_run", true}});
  ASSERT_EQ(cleanup.status, 200) << cleanup.body;
  EXPECT_EQ(cli("cleanup --dry-run --json"), json::parse(cleanup.body));
  // Usage: the CLI's counters are named and valued as the API's.
  const json cli_usage = cli("usage report --by day --json")["total"];
  const json api_usage = api("/api/v1/usage?group_by=day")["total"];
  for (const auto& [k, v] : cli_usage.items()) EXPECT_EQ(api_usage[k], v) << k;
}

}  // namespace
}  // namespace storyloom
