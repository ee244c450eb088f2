// The database's health (issue 16 part 7): ops::CollectDbStatus and ops::RunDbCheck on both
// backends, `storyloom db status` / `db check` (table and --json) and GET/POST
// /api/v1/admin/db on a real server. On PostgreSQL: dead rows made by updates are seen,
// a transaction held open in another connection is listed as long-running, table and index
// sizes are read, amcheck runs on every index (and an ordinary user gets its one-line
// "unavailable"), and an index a failed CREATE INDEX CONCURRENTLY left invalid or a
// constraint not validated fails the check with a non-zero exit.
#include "ops/db_health.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "db/database.h"
#include "support/checks.h"
#include "support/pg_server.h"
#include "support/server_process.h"
#include "support/store_access.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::CliResult;
using testing::RunCli;

const TableHealth* FindTable(const DatabaseHealth& h, const std::string& name) {
  for (const auto& t : h.tables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

class DbHealthTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<testing::TestDatabase>(GetParam());
    store_ = db_->OpenMigrated();
    alice_ = testing::MakeUser(*store_, "alice");
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(store_->CreateWorkflow({alice_, "prompt " + std::to_string(i), "", "{}", ""}));
    }
  }
  bool postgres() const { return GetParam() == "postgres"; }
  std::string Flags() const {
    return "--data-dir '" + dir_.str() + "' --database '" + db_->url() + "'";
  }
  db::Database& raw() { return testing::RawDatabase(*store_); }
  void Exec(const std::string& sql) {
    ASSERT_TRUE(raw().Write([&](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Exec(sql));
      return {};
    }));
  }
  json CliJson(const std::string& args, int want_exit = 0) {
    CliResult r = RunCli(Flags() + " " + args + " --json");
    EXPECT_EQ(r.exit_code, want_exit) << r.out;
    // The failure line goes to stderr after the JSON; parse the JSON part.
    const auto end = r.out.rfind('}');
    json j = json::parse(r.out.substr(0, end == std::string::npos ? 0 : end + 1), nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out;
    return j;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string alice_;
};

TEST_P(DbHealthTest, StatusDescribesTheBackend) {
  auto s = ops::CollectDbStatus(*store_, {});
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->backend, postgres() ? "postgresql" : "sqlite");
  EXPECT_EQ(s->schema.pending, 0);
  EXPECT_GT(s->health.size_bytes, 0);
  EXPECT_FALSE(s->health.server_version.empty());
  if (!postgres()) {
    EXPECT_EQ(s->health.size_bytes, s->health.page_count * s->health.page_size);
    EXPECT_EQ(s->health.workflows, 10);
    ASSERT_TRUE(s->health.quick_check);
    EXPECT_TRUE(s->health.quick_check->empty());
    EXPECT_TRUE(s->health.tables.empty());
    return;
  }
  const TableHealth* wf = FindTable(s->health, "workflows");
  ASSERT_NE(wf, nullptr);
  EXPECT_GT(wf->table_bytes, 0);
  EXPECT_GT(wf->index_bytes, 0);  // the primary key and the secondary indexes
  EXPECT_NE(FindTable(s->health, "audit_log"), nullptr);
  EXPECT_GT(s->health.max_connections, 0);
  std::int64_t connections = 0;
  for (const auto& c : s->health.connections) connections += c.count;
  EXPECT_GE(connections, 1);  // this one at least
  ASSERT_TRUE(s->health.in_recovery);
  EXPECT_FALSE(*s->health.in_recovery);
}

TEST_P(DbHealthTest, CommandsAnswerInTheSameShape) {
  const json s = CliJson("db status");
  EXPECT_EQ(s["backend"], postgres() ? "postgresql" : "sqlite");
  EXPECT_EQ(s["database"], db_->url());
  EXPECT_EQ(s["pending_migrations"], json::array());
  EXPECT_GT(s["size_bytes"].get<std::int64_t>(), 0);
  EXPECT_TRUE(s["server_version"].is_string());
  EXPECT_TRUE(s["last_backup"].is_null());
  if (postgres()) {
    EXPECT_EQ(s["long_transactions"]["threshold_ms"], 60000);
    EXPECT_GE(s["connections"]["total"].get<int>(), 1);
    bool found = false;
    for (const auto& t : s["tables"]) found = found || t["name"] == "workflows";
    EXPECT_TRUE(found) << s;
  } else {
    EXPECT_EQ(s["workflows"], 10);
  }
  const json c = CliJson("db check");
  EXPECT_EQ(c["ok"], true) << c;
  EXPECT_EQ(c["problems"], 0);
  EXPECT_EQ(c["migrations"], "current");
  if (postgres()) {
    EXPECT_EQ(c["amcheck"]["status"], "ok") << c;
    EXPECT_GE(c["amcheck"]["indexes_checked"].get<int>(), 10);
    EXPECT_EQ(c["amcheck"]["problems"], json::array());
    EXPECT_EQ(c["constraints"], json::array());
  } else {
    EXPECT_EQ(c["integrity_check"], json::array());
    EXPECT_EQ(c["foreign_key_check"], json::array());
  }
  // The check is recorded for the admin view, by the command line ("").
  auto last = store_->ReadOne<std::optional<AuditEntry>>(
      [](StoreTx& tx) { return tx.audit().LatestOf("db.check"); });
  ASSERT_TRUE(last && *last);
  EXPECT_EQ((*last)->user_id, "");
  EXPECT_EQ(json::parse((*last)->detail_json)["ok"], true);

  // The tables print too.
  CliResult table = RunCli(Flags() + " db status --long-transaction-seconds 5");
  EXPECT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find(postgres() ? "dead rows" : "free pages"), std::string::npos)
      << table.out;
  table = RunCli(Flags() + " db check");
  EXPECT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find(postgres() ? "amcheck            ok" : "integrity_check    ok"),
            std::string::npos)
      << table.out;
  // A threshold out of range is a usage error.
  EXPECT_EQ(RunCli(Flags() + " db status --long-transaction-seconds 0").exit_code, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, DbHealthTest, ::testing::ValuesIn(testing::Backends()));

// --- PostgreSQL only ---

class PgHealthTest : public DbHealthTest {
 protected:
  void SetUp() override {
    if (!postgres()) GTEST_SKIP() << "PostgreSQL only";
    DbHealthTest::SetUp();
  }
};

TEST_P(PgHealthTest, DeadRowsFromUpdatesAreSeen) {
  // 10 rows updated 3 times: 30 dead row versions, below autovacuum's threshold (50).
  for (int i = 0; i < 3; ++i) Exec("UPDATE workflows SET updated_at = updated_at + 1");
  // The statistics reach the server within a second or so of the updating backend going
  // idle.
  std::int64_t dead = 0;
  for (int i = 0; i < 150 && dead < 30; ++i) {
    auto s = ops::CollectDbStatus(*store_, {});
    ASSERT_TRUE(s) << s.error().ToString();
    const TableHealth* wf = FindTable(s->health, "workflows");
    ASSERT_NE(wf, nullptr);
    dead = wf->dead_rows;
    if (dead < 30) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_GE(dead, 30);
  // VACUUM takes them away and is dated.
  ASSERT_TRUE(raw().Exclusive([](db::Connection& c) { return c.ExecScript("VACUUM workflows"); }));
  for (int i = 0; i < 150; ++i) {
    auto s = ops::CollectDbStatus(*store_, {});
    ASSERT_TRUE(s);
    const TableHealth* wf = FindTable(s->health, "workflows");
    ASSERT_NE(wf, nullptr);
    if (wf->last_vacuum && wf->dead_rows == 0) {
      const json j = CliJson("db status");
      for (const auto& t : j["tables"]) {
        if (t["name"] == "workflows") {
          EXPECT_TRUE(t["last_vacuum"].is_string()) << t;
        }
      }
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << "the vacuum was not seen";
}

TEST_P(PgHealthTest, ATransactionHeldOpenIsListed) {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread holder([&] {
    auto r = raw().Read([&](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Query("SELECT 'held by db_health_test'"));
      started.set_value();
      released.wait();
      return {};
    });
    EXPECT_TRUE(r) << r.error().ToString();
  });
  started.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  HealthOptions o;
  o.long_transaction_ms = 1000;
  auto s = ops::CollectDbStatus(*store_, o);
  // Past 60 s (the default) it is not listed.
  auto quiet = ops::CollectDbStatus(*store_, {});
  const json cli = CliJson("db status --long-transaction-seconds 1");
  release.set_value();
  holder.join();
  ASSERT_TRUE(s) << s.error().ToString();
  ASSERT_EQ(s->health.long_transactions.size(), 1u);
  const LongTransaction& t = s->health.long_transactions[0];
  EXPECT_GE(t.age_ms, 1000);
  EXPECT_LT(t.age_ms, 60000);
  EXPECT_EQ(t.state, "idle in transaction");
  EXPECT_EQ(t.query, "SELECT 'held by db_health_test'");
  EXPECT_GT(t.pid, 0);
  EXPECT_FALSE(t.user.empty());
  ASSERT_TRUE(quiet);
  EXPECT_TRUE(quiet->health.long_transactions.empty());
  // The command ran more than a second after the transaction's start too.
  ASSERT_EQ(cli["long_transactions"]["items"].size(), 1u) << cli;
  EXPECT_EQ(cli["long_transactions"]["items"][0]["query"], "SELECT 'held by db_health_test'");
  EXPECT_EQ(cli["long_transactions"]["threshold_ms"], 1000);
}

TEST_P(PgHealthTest, AmcheckIsCreatedOnceThenRunsOnEveryIndex) {
  auto first = ops::RunDbCheck(*store_, {});
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_TRUE(first->amcheck);
  EXPECT_EQ(first->amcheck->status, "ok");
  EXPECT_EQ(first->amcheck->message, "created the amcheck extension");
  auto indexes = store_->ReadOne<std::vector<IndexRef>>(
      [](StoreTx& tx) { return tx.health().BtreeIndexes(); });
  ASSERT_TRUE(indexes);
  EXPECT_GE(indexes->size(), 10u);
  EXPECT_EQ(first->amcheck->indexes_checked, static_cast<std::int64_t>(indexes->size()));
  EXPECT_TRUE(first->amcheck->problems.empty());
  EXPECT_TRUE(first->ok());
  auto second = ops::RunDbCheck(*store_, {});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->amcheck->status, "ok");
  EXPECT_EQ(second->amcheck->message, "");
  // Without leave to create it, a database without it says so and checks the rest.
  testing::TestDatabase other("postgres");
  auto bare = other.OpenMigrated();
  auto skipped = ops::RunDbCheck(*bare, {.install_amcheck = false});
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->amcheck->status, "unavailable");
  EXPECT_EQ(skipped->amcheck->message, "amcheck is not installed in this database");
  EXPECT_TRUE(skipped->ok());
}

// A role of its own, dropped after the database that granted it anything.
struct PgRole {
  std::string name;
  PgRole() {
    std::mt19937_64 rng(std::random_device{}());
    name = "sl_health_" + std::to_string(rng() % 1000000000);
    testing::PgAdminExec("CREATE ROLE " + name + " LOGIN");
  }
  ~PgRole() {
    try {
      testing::PgAdminExec("DROP ROLE IF EXISTS " + name);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "could not drop role %s: %s\n", name.c_str(), e.what());
    }
  }
};

TEST_P(PgHealthTest, AnOrdinaryUserGetsAmcheckUnavailableAndTheOtherChecks) {
  PgRole role;  // declared before the database: dropped after it
  testing::TestDatabase db("postgres");
  std::string url = db.url();
  {
    auto owner = db.OpenMigrated();
    ASSERT_TRUE(testing::RawDatabase(*owner).Write([&](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role.name));
      SL_RETURN_IF_ERROR(c.Exec("GRANT INSERT ON audit_log TO " + role.name));
      return {};
    }));
  }
  const auto at = url.find("storyloom@");
  ASSERT_NE(at, std::string::npos) << url;
  url.replace(at, std::string("storyloom").size(), role.name);
  auto store = Store::Open(url);
  ASSERT_TRUE(store) << store.error().ToString();
  auto r = ops::RunDbCheck(**store, {});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->amcheck->status, "unavailable");
  EXPECT_NE(r->amcheck->message.find("amcheck is not installed and could not be created"),
            std::string::npos)
      << r->amcheck->message;
  EXPECT_NE(r->amcheck->message.find("permission denied"), std::string::npos)
      << r->amcheck->message;
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->migrations, "current");
  // The status reads the catalog, which needs no privilege.
  auto s = ops::CollectDbStatus(**store, {});
  ASSERT_TRUE(s) << s.error().ToString();
  ASSERT_NE(FindTable(s->health, "workflows"), nullptr);
  store->reset();
  // The command says so in one line and exits 0.
  CliResult cli = RunCli("--data-dir '" + dir_.str() + "' --database '" + url + "' db check");
  EXPECT_EQ(cli.exit_code, 0) << cli.out;
  EXPECT_NE(cli.out.find("amcheck            skipped: amcheck is not installed and could not "
                         "be created"),
            std::string::npos)
      << cli.out;
}

TEST_P(PgHealthTest, AnInvalidIndexOrUnvalidatedConstraintFailsTheCheck) {
  // A unique index built concurrently over duplicates fails and stays behind, invalid.
  auto built = raw().Exclusive([](db::Connection& c) {
    return c.ExecScript(
        "CREATE UNIQUE INDEX CONCURRENTLY workflows_one_per_user"
        " ON workflows (user_id)");
  });
  ASSERT_FALSE(built);
  Exec("ALTER TABLE workflows ADD CONSTRAINT workflows_titled CHECK (title <> 'x') NOT VALID");
  auto r = ops::RunDbCheck(*store_, {});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->constraints,
            (std::vector<std::string>{"constraint workflows_titled on workflows is not validated",
                                      "index workflows_one_per_user on workflows is invalid"}));
  EXPECT_EQ(r->problems(), 2);
  EXPECT_EQ(r->amcheck->status, "ok");  // the invalid index is not given to amcheck
  EXPECT_TRUE(r->amcheck->problems.empty());
  const json c = CliJson("db check", 1);
  EXPECT_EQ(c["ok"], false);
  EXPECT_EQ(c["problems"], 2);
  CliResult table = RunCli(Flags() + " db check");
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.out.find("index workflows_one_per_user on workflows is invalid"),
            std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("2 problem(s) found"), std::string::npos) << table.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, PgHealthTest, ::testing::ValuesIn(testing::Backends()));

// --- the admin endpoint, on a real server ---

class DbHealthApiTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DbHealthApiTest, AdminsSeeTheHealthAndRunTheCheck) {
  std::unique_ptr<testing::TestDatabase> db;
  testing::ServerOptions options;
  if (GetParam() == "postgres") {
    db = std::make_unique<testing::TestDatabase>("postgres");
    options.database_url = db->url();
  }
  testing::ServerProcess server(options);
  auto admin = server.Client("admin");
  EXPECT_EQ(server.Client()->Get("/api/v1/admin/db").status, 401);
  EXPECT_EQ(server.Client("alice")->Get("/api/v1/admin/db").status, 403);
  EXPECT_EQ(server.Client("alice")->Post("/api/v1/admin/db/check", json::object()).status, 403);
  for (const char* bad : {"0", "86401", "soon"}) {
    auto r = admin->Get(std::string("/api/v1/admin/db?long_transaction_seconds=") + bad);
    EXPECT_EQ(r.status, 422) << bad << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "invalid_argument") << r.body;
  }

  auto r = admin->Get("/api/v1/admin/db");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["backend"], GetParam() == "postgres" ? "postgresql" : "sqlite");
  EXPECT_GT(j["size_bytes"].get<std::int64_t>(), 0);
  EXPECT_TRUE(j["last_check"].is_null()) << j;

  auto check = admin->Post("/api/v1/admin/db/check", json::object());
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_EQ(check.Json()["ok"], true) << check.body;

  // Held open past a one-second threshold, a transaction shows in the view.
  std::unique_ptr<Store> store;
  std::promise<void> started;
  std::promise<void> release;
  std::thread holder;
  if (GetParam() == "postgres") {
    store = server.OpenStore();
    std::shared_future<void> released = release.get_future().share();
    holder = std::thread([&, released] {
      (void)testing::RawDatabase(*store).Read([&](db::Connection& c) -> Result<void> {
        SL_RETURN_IF_ERROR(c.Query("SELECT 'held by db_health_test'"));
        started.set_value();
        released.wait();
        return {};
      });
    });
    started.get_future().wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  }
  r = admin->Get("/api/v1/admin/db?long_transaction_seconds=1");
  if (holder.joinable()) {
    release.set_value();
    holder.join();
  }
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["last_check"]["ok"], true) << j;
  EXPECT_EQ(j["last_check"]["by"], server.user_id("admin"));
  EXPECT_EQ(j["last_check"]["report"]["backend"], j["backend"]);
  if (GetParam() == "postgres") {
    ASSERT_EQ(j["long_transactions"]["items"].size(), 1u) << j;
    EXPECT_EQ(j["long_transactions"]["items"][0]["query"], "SELECT 'held by db_health_test'");
    EXPECT_EQ(j["last_check"]["report"]["amcheck"]["status"], "ok");
  } else {
    EXPECT_EQ(j["quick_check"]["ok"], true);
  }
  // The check is audited.
  auto audit = admin->Get("/api/v1/admin/audit?limit=5");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("db.check"), std::string::npos) << audit.body;
}

// One check at a time: a second one while the first runs (held 2 s by a failpoint) is 409.
TEST(DbHealthApiConflictTest, ASecondCheckWhileOneRunsIsRefused) {
  testing::ServerOptions options;
  options.env["STORYLOOM_FAILPOINTS"] = "db_check.slow_ms=2000";
  testing::ServerProcess server(options);
  auto first = std::async(std::launch::async, [&] {
    return server.Client("admin")->Post("/api/v1/admin/db/check", json::object()).status;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto second = server.Client("admin")->Post("/api/v1/admin/db/check", json::object());
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.Json()["error"]["code"], "aborted") << second.body;
  EXPECT_EQ(first.get(), 200);
  // Once it is over, the next one runs.
  EXPECT_EQ(server.Client("admin")->Post("/api/v1/admin/db/check", json::object()).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, DbHealthApiTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
