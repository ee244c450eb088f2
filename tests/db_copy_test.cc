// `db copy` on a database with every table populated (a real offline workflow run by the
// binary, then direct rows for the rest): SQLite -> PostgreSQL -> a fresh SQLite file, every
// table's count and checksum identical, spot rows equal, and a non-empty target refused
// without --force, through the library and through the CLI's exit codes.
#include "db/db_copy.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <set>

#include "db/database.h"
#include "db/table_io.h"
#include "support/checks.h"
#include "support/store_access.h"
#include "support/test_db.h"
#include "support/usage_rows.h"

namespace storyloom {
namespace {

using db::Value;
using testing::TempDir;
using testing::TestDatabase;

using Cli = testing::CliResult;
using testing::RunCli;

std::map<std::string, std::int64_t> RowCounts(const std::string& url) {
  std::map<std::string, std::int64_t> out;
  auto d = db::Open(url);
  EXPECT_TRUE(d.has_value());
  auto r = (*d)->Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto tables, db::ListTables(c));
    for (const auto& t : tables) {
      SL_ASSIGN_OR_RETURN(auto row, c.QueryOne("SELECT count(*) FROM \"" + t.name + "\""));
      out[t.name] = row.Int(0);
    }
    return {};
  });
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return out;
}

// The names of the indexes and (PostgreSQL) foreign keys of every table, with their
// definitions.
std::set<std::string> Schema(const std::string& url) {
  std::set<std::string> out;
  auto d = db::Open(url);
  EXPECT_TRUE(d.has_value());
  auto r = (*d)->Read([&](db::Connection& c) -> Result<void> {
    const bool pg = c.dialect() == db::Dialect::kPostgres;
    SL_ASSIGN_OR_RETURN(
        auto rows,
        c.Query(pg ? "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = "
                     "current_schema() UNION ALL SELECT conname::text, "
                     "pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f'"
                   : "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index'"));
    for (const auto& row : rows) out.insert(row.Text(0) + ": " + row.Text(1));
    return {};
  });
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_GT(out.size(), 20u);
  return out;
}

class DbCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = (dir_.path() / "data").string();
    src_url_ = "sqlite://" + data_ + "/storyloom.db";
    const std::string flags = "--data-dir " + data_;
    Cli add = RunCli(flags + " users add ada --admin");
    ASSERT_EQ(add.exit_code, 0) << add.out;
    Cli token = RunCli(flags + " tokens create ada --name copytest");
    ASSERT_EQ(token.exit_code, 0) << token.out;
    Cli run = RunCli(flags + " run 'a lighthouse keeper finds a map' --scenes 2");
    ASSERT_EQ(run.exit_code, 0) << run.out;
    Cli backup = RunCli(flags + " backup create");
    ASSERT_EQ(backup.exit_code, 0) << backup.out;

    auto store = Store::Open(src_url_);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
    // Rows the commands above do not write; JSON with spaces and unsorted keys (JSONB
    // re-formats it), and unicode.
    std::string user_id;
    auto w = testing::RawDatabase(*store_).Write([&](db::Connection& c) -> Result<void> {
      SL_ASSIGN_OR_RETURN(auto user, c.QueryOne("SELECT id FROM users LIMIT 1"));
      user_id = user.Text(0);
      const Value r[] = {user.at(0)};
      SL_RETURN_IF_ERROR(c.Exec(
          "INSERT INTO budget_reservations (id, user_id, amount_nusd, created_at, expires_at) "
          "VALUES ('res-1', ?, 1234567, 1700000000000, 1700000600000)",
          r));
      SL_RETURN_IF_ERROR(
          c.Exec("INSERT INTO audit_log (user_id, action, target, detail, remote_addr, created_at) "
                 "VALUES (?, 'copy.test', 'caf\xc3\xa9', '{\"z\": 1, \"a\": [1, 2.5, \"x\"]}', "
                 "'127.0.0.1', 1700000000001)",
                 r));
      SL_RETURN_IF_ERROR(
          c.Exec("INSERT INTO budget_alerts (scope, period, kind, created_at) "
                 "VALUES ('global', '2026-11', 'soft', 1700000000002)"));
      // A used invite: both of its references to users set.
      const Value both[] = {user.at(0), user.at(0)};
      SL_RETURN_IF_ERROR(
          c.Exec("INSERT INTO invites (id, token_hash, role, created_by, created_at, expires_at, "
                 "used_at, used_by) VALUES ('inv-1', 'hash-1', 'user', ?, 1700000000003, "
                 "1700000600000, 1700000000004, ?)",
                 both));
      // A delete a crash interrupted (its unlink pending), and a user's storage quota.
      SL_RETURN_IF_ERROR(
          c.Exec("INSERT INTO file_deletes (file_path, sha256, requested_at) "
                 "VALUES ('w-gone/images/scene_1.png', 'ab12', 1700000000005)"));
      SL_RETURN_IF_ERROR(c.Exec("UPDATE users SET storage_quota_bytes = 5000000000"));
      return {};
    });
    ASSERT_TRUE(w.has_value()) << w.error().ToString();
    ASSERT_TRUE(
        store_->RecordUsage(testing::DistinctUsageCall(user_id, "", 987654321)).has_value());
  }

  TempDir dir_;
  std::string data_;
  std::string src_url_;
  std::unique_ptr<Store> store_;
};

TEST_F(DbCopyTest, SqliteToPostgresAndBackIsLossless) {
  const auto source_counts = RowCounts(src_url_);
  for (const auto& [table, n] : source_counts) EXPECT_GT(n, 0) << table << " is empty";

  TestDatabase pg("postgres");
  // Every table takes the bulk path: indexes and foreign keys dropped, rows in, both back.
  db::CopyOptions bulk;
  bulk.rebuild_indexes_from_rows = 1;
  bulk.rows_per_batch = 3;  // several batches per table
  auto there = db::CopyDatabase(src_url_, pg.url(), bulk);
  ASSERT_TRUE(there.has_value()) << there.error().ToString();
  EXPECT_TRUE(there->ok());
  std::map<std::string, std::string> checksums;
  for (const auto& t : there->tables) {
    EXPECT_TRUE(t.ok()) << t.name << ": " << t.source_rows << " vs " << t.target_rows;
    EXPECT_EQ(t.source_rows, source_counts.at(t.name)) << t.name;
    checksums[t.name] = t.source_checksum;
  }
  EXPECT_EQ(there->tables.size(), source_counts.size());

  // Back into a fresh SQLite file: the same checksums as the original.
  const std::string back_url = "sqlite://" + (dir_.path() / "back.db").string();
  auto back = db::CopyDatabase(pg.url(), back_url, bulk);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_TRUE(back->ok());
  for (const auto& t : back->tables) {
    EXPECT_EQ(t.target_checksum, checksums[t.name]) << t.name;
  }
  EXPECT_EQ(RowCounts(back_url), source_counts);

  // The schema came back whole: the same indexes as a freshly migrated database of each
  // backend, and foreign keys enforced again.
  TestDatabase fresh_pg("postgres");
  TestDatabase fresh_sqlite("sqlite");
  fresh_pg.OpenMigrated();
  fresh_sqlite.OpenMigrated();
  EXPECT_EQ(Schema(pg.url()), Schema(fresh_pg.url()));
  EXPECT_EQ(Schema(back_url), Schema(fresh_sqlite.url()));
  for (const std::string& url : {pg.url(), back_url}) {
    auto d = db::Open(url);
    ASSERT_TRUE(d.has_value());
    auto orphan = (*d)->Write([](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(
          c.Exec("INSERT INTO api_usage (user_id, provider, operation, status, created_at) "
                 "VALUES ('no-such-user', 'p', 'chat', 'ok', 1)"));
      return {};
    });
    ASSERT_FALSE(orphan.has_value()) << url;
    EXPECT_TRUE(orphan.error().IsForeignKey()) << orphan.error().ToString();
  }

  // Spot rows through the store API on every copy.
  auto original = store_->ListWorkflows(WorkflowFilter{});
  ASSERT_TRUE(original.has_value());
  ASSERT_EQ(original->items.size(), 1u);
  const Workflow& w = original->items[0];
  for (const std::string& url : {pg.url(), back_url}) {
    auto s = Store::Open(url);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    auto c = (*s)->GetWorkflow(w.id);
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    EXPECT_EQ(c->status, WorkflowStatus::kCompleted);
    EXPECT_EQ(c->enhanced_story, w.enhanced_story);
    EXPECT_EQ(c->created_at, w.created_at);
    EXPECT_EQ(c->finished_at, w.finished_at);
    auto scenes =
        (*s)->ReadOne<std::vector<Scene>>([&](StoreTx& tx) { return tx.scenes().List(w.id); });
    auto orig_scenes =
        store_->ReadOne<std::vector<Scene>>([&](StoreTx& tx) { return tx.scenes().List(w.id); });
    ASSERT_EQ(scenes->size(), orig_scenes->size());
    for (std::size_t i = 0; i < scenes->size(); ++i) {
      EXPECT_EQ((*scenes)[i].image_file_id, (*orig_scenes)[i].image_file_id);
      EXPECT_EQ((*scenes)[i].audio_file_id, (*orig_scenes)[i].audio_file_id);
      EXPECT_FALSE((*scenes)[i].image_file_id.empty());
    }
    auto usage = (*s)->ReadOne<Page<ApiUsage>>([](StoreTx& tx) { return tx.usage().List({}); });
    auto orig_usage =
        store_->ReadOne<Page<ApiUsage>>([](StoreTx& tx) { return tx.usage().List({}); });
    ASSERT_EQ(usage->items.size(), orig_usage->items.size());
    for (std::size_t i = 0; i < usage->items.size(); ++i) {
      EXPECT_EQ(usage->items[i].id, orig_usage->items[i].id);
      EXPECT_EQ(usage->items[i].cost_nusd, orig_usage->items[i].cost_nusd);
    }
    // New rows get fresh ids (sequences moved past the copied ones).
    auto added = (*s)->RecordUsage(testing::DistinctUsageCall(w.user_id, "", 1));
    ASSERT_TRUE(added.has_value()) << added.error().ToString();
  }
}

TEST_F(DbCopyTest, RefusesANonEmptyTargetUnlessForced) {
  TestDatabase pg("postgres");
  ASSERT_TRUE(db::CopyDatabase(src_url_, pg.url()).has_value());
  auto again = db::CopyDatabase(src_url_, pg.url());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);

  // The CLI: refused (exit 1), then forced (exit 0, verified).
  Cli refused = RunCli("db copy --from " + src_url_ + " --to '" + pg.url() + "'");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("--force"), std::string::npos) << refused.out;
  Cli forced = RunCli("db copy --from " + src_url_ + " --to '" + pg.url() + "' --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.out;
  EXPECT_NE(forced.out.find("checksums match"), std::string::npos) << forced.out;

  // PostgreSQL -> SQLite through the CLI, then the copy matches the original.
  const std::string back_url = "sqlite://" + (dir_.path() / "cli-back.db").string();
  Cli back = RunCli("db copy --from '" + pg.url() + "' --to " + back_url);
  EXPECT_EQ(back.exit_code, 0) << back.out;
  EXPECT_EQ(RowCounts(back_url), RowCounts(src_url_));
}

}  // namespace
}  // namespace storyloom
