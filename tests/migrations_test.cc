// Migrations: from empty, from each earlier version, no-op re-runs, checksum and
// newer-database refusal, the pre-migration backup.
#include "db/migrations.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "db/database.h"
#include "support/temp_dir.h"

namespace storyloom {
namespace {

using testing::TempDir;

std::unique_ptr<db::Database> OpenDb(const std::string& path) {
  auto db = db::Open("sqlite://" + path);
  EXPECT_TRUE(db) << db.error().ToString();
  return std::move(*db);
}

std::int64_t Count(db::Database& db, const std::string& sql) {
  std::int64_t n = -1;
  EXPECT_TRUE(db.Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto row, c.QueryOne(sql));
    n = row.Int(0);
    return {};
  }));
  return n;
}

TEST(MigrationsTest, EmbeddedMigrationsAreNumberedFromOneWithoutGaps) {
  auto all = db::MigrationsFor(db::Dialect::kSqlite);
  ASSERT_GE(all.size(), 2u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_EQ(all[i].checksum.size(), 64u);
  }
}

// The claim's per-user count of live leases (WorkflowRepo::CountLeased) reads the partial
// index of leased workflows (0010), not every queued one.
TEST(MigrationsTest, CountingAUsersLiveLeasesUsesTheLeaseIndex) {
  TempDir dir;
  auto db = OpenDb((dir / "s.db").string());
  ASSERT_TRUE(db::Migrate(*db, {.backup_dir = (dir / "backups").string()}));
  std::string plan;
  ASSERT_TRUE(db->Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(
        auto rows, c.Query("EXPLAIN QUERY PLAN SELECT count(*) FROM workflows WHERE user_id = 'u' "
                           "AND status IN ('queued', 'running') AND lease_owner IS NOT NULL AND "
                           "lease_expires_at >= 0"));
    for (const auto& r : rows) plan += r.Text(3) + "\n";
    return {};
  }));
  EXPECT_NE(plan.find("workflows_leased"), std::string::npos) << plan;
}

TEST(MigrationsTest, FromEmptyCreatesEveryTableAndRerunIsANoOp) {
  TempDir dir;
  auto db = OpenDb((dir / "s.db").string());
  auto report = db::Migrate(*db, {.backup_dir = (dir / "backups").string()});
  ASSERT_TRUE(report) << report.error().ToString();
  const auto latest = db::MigrationsFor(db::Dialect::kSqlite).back().version;
  EXPECT_EQ(report->status.current_version, latest);
  EXPECT_TRUE(report->status.pending.empty());
  EXPECT_EQ(report->backup_path, "") << "an empty database needs no backup";
  for (auto table : {"workflows", "workflow_phases", "scenes", "generated_files", "api_usage",
                     "usage_daily", "model_prices", "users", "api_tokens", "workflow_events",
                     "audit_log", "backups", "schema_migrations", "budget_reservations"}) {
    EXPECT_EQ(Count(*db, std::string("SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                                     "name='") +
                             table + "'"),
              1)
        << table;
  }
  auto again = db::Migrate(*db);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM schema_migrations"), latest);
  // Foreign keys have an index each: no unindexed foreign key column.
  EXPECT_EQ(Count(*db,
                  "SELECT count(*) FROM sqlite_master m, pragma_foreign_key_list(m.name) fk "
                  "WHERE m.type = 'table' AND NOT EXISTS (SELECT 1 FROM "
                  "pragma_index_list(m.name) il, pragma_index_info(il.name) ii WHERE ii.seqno = "
                  "0 AND ii.name = fk.\"from\")"),
            0);
}

TEST(MigrationsTest, UpgradesFromEachEarlierVersionKeepingData) {
  const auto all = db::MigrationsFor(db::Dialect::kSqlite);
  for (const auto& start : all) {
    if (start.version == all.back().version) continue;
    TempDir dir;
    const std::string path = (dir / "s.db").string();
    {
      auto db = OpenDb(path);
      ASSERT_TRUE(db::Migrate(*db, {.target_version = start.version}));
      ASSERT_TRUE(db->Write([](db::Connection& c) -> Result<void> {
        SL_RETURN_IF_ERROR(
            c.Exec("INSERT INTO users (id, username, created_at, updated_at) "
                   "VALUES ('u1', 'old', 1, 1)"));
        SL_RETURN_IF_ERROR(
            c.Exec("INSERT INTO workflows (id, user_id, title, original_prompt, "
                   "created_at, updated_at) VALUES ('w1', 'u1', 'Old Tale', "
                   "'an old prompt', 1, 1)"));
        return {};
      }));
    }
    auto db = OpenDb(path);
    auto st = db::GetMigrationStatus(*db);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->current_version, start.version);
    EXPECT_FALSE(st->pending.empty());
    auto report = db::Migrate(*db, {.backup_dir = (dir / "backups").string()});
    ASSERT_TRUE(report) << "from v" << start.version << ": " << report.error().ToString();
    EXPECT_EQ(report->status.current_version, all.back().version);
    // An existing database is backed up before it is changed, and the copy opens at the
    // old version with the data.
    ASSERT_FALSE(report->backup_path.empty());
    ASSERT_TRUE(std::filesystem::exists(report->backup_path));
    auto copy = OpenDb(report->backup_path);
    EXPECT_EQ(db::GetMigrationStatus(*copy)->current_version, start.version);
    EXPECT_EQ(Count(*copy, "SELECT count(*) FROM workflows"), 1);
    EXPECT_EQ(Count(*db, "SELECT count(*) FROM workflows WHERE title = 'Old Tale'"), 1);
    EXPECT_EQ(Count(*db, "SELECT count(*) FROM backups WHERE kind = 'pre_migration'"), 1);
  }
}

TEST(MigrationsTest, ChangedAppliedMigrationIsRefusedByName) {
  TempDir dir;
  auto db = OpenDb((dir / "s.db").string());
  ASSERT_TRUE(db::Migrate(*db));
  ASSERT_TRUE(db->Write([](db::Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(
        c.Exec("UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1"));
    return {};
  }));
  auto st = db::GetMigrationStatus(*db);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(st.error().message.find("0001_init"), std::string::npos) << st.error().message;
  auto m = db::Migrate(*db);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("0001_init"), std::string::npos);
}

TEST(MigrationsTest, DatabaseNewerThanBinaryIsRefused) {
  TempDir dir;
  auto db = OpenDb((dir / "s.db").string());
  ASSERT_TRUE(db::Migrate(*db));
  ASSERT_TRUE(db->Write([](db::Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(c.Exec("INSERT INTO schema_migrations VALUES (999, 'future', 'x', 1)"));
    return {};
  }));
  auto m = db::Migrate(*db);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("newer than the binary"), std::string::npos);
}

TEST(MigrationsTest, ForeignKeysAndChecksAreEnforced) {
  TempDir dir;
  auto db = OpenDb((dir / "s.db").string());
  ASSERT_TRUE(db::Migrate(*db));
  auto fk = db->Write([](db::Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(
        c.Exec("INSERT INTO scenes (id, workflow_id, scene_number, created_at, "
               "updated_at) VALUES ('s', 'missing', 1, 1, 1)"));
    return {};
  });
  ASSERT_FALSE(fk);
  EXPECT_TRUE(fk.error().IsForeignKey()) << fk.error().ToString();
  auto check = db->Write([](db::Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(
        c.Exec("INSERT INTO users (id, username, role, created_at, updated_at) "
               "VALUES ('u', 'x', 'emperor', 1, 1)"));
    return {};
  });
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace storyloom
