#include "db/migrations.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "core/clock.h"
#include "core/durable_dirs.h"
#include "core/hash.h"
#include "core/ids.h"

namespace storyloom::db {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";
// pg_advisory_lock key: "storyloom" folded into 64 bits.
constexpr std::int64_t kAdvisoryLockKey = 0x73746f72796c6f6fLL;

const char* DialectName(Dialect d) { return d == Dialect::kSqlite ? "sqlite" : "postgres"; }

Result<std::vector<AppliedMigration>> ReadApplied(Connection& c) {
  SL_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT version, name, checksum, applied_at "
                                         "FROM schema_migrations ORDER BY version"));
  std::vector<AppliedMigration> out;
  for (const Row& r : rows) {
    out.push_back({static_cast<int>(r.Int(0)), r.Text(1), r.Text(2), r.Int(3)});
  }
  return out;
}

Result<MigrationStatus> Check(Dialect dialect, const std::vector<AppliedMigration>& applied) {
  MigrationStatus st;
  const auto all = MigrationsFor(dialect);
  st.latest_version = all.empty() ? 0 : all.back().version;
  st.applied = applied;
  for (const AppliedMigration& a : applied) {
    st.current_version = std::max(st.current_version, a.version);
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const Migration& m) { return m.version == a.version; });
    if (it == all.end()) {
      return Fail(Error::FailedPrecondition(fmt::format(
          "the database has migration {} ({}), which this storyloom binary does not know: "
          "the database is newer than the binary; upgrade storyloom",
          a.version, a.name)));
    }
    if (it->checksum != a.checksum) {
      return Fail(Error::FailedPrecondition(fmt::format(
          "applied migration {:04}_{} has checksum {} but this binary's copy has {}: the "
          "migration was changed after it ran; restore the original migration file",
          a.version, a.name, a.checksum.substr(0, 12), it->checksum.substr(0, 12))));
    }
  }
  for (const Migration& m : all) {
    const bool done = std::any_of(applied.begin(), applied.end(), [&](const AppliedMigration& a) {
      return a.version == m.version;
    });
    if (!done) st.pending.push_back(m);
  }
  return st;
}

bool HasUserTables(Connection& c) {
  auto rows = c.Query(c.dialect() == Dialect::kSqlite
                          ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
                            "NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'"
                          : "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                            "current_schema() AND table_name <> 'schema_migrations'");
  return rows && !rows->empty() && (*rows)[0].Int(0) > 0;
}

}  // namespace

std::vector<Migration> MigrationsFor(Dialect dialect) {
  std::vector<Migration> out;
  for (const EmbeddedMigration& e : EmbeddedMigrations()) {
    if (std::string_view(e.dialect) != DialectName(dialect)) continue;
    out.push_back({e.version, e.name, e.sql, core::Sha256Hex(e.sql)});
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

Result<MigrationStatus> GetMigrationStatus(Database& db) {
  std::vector<AppliedMigration> applied;
  SL_RETURN_IF_ERROR(db.Read([&](Connection& c) -> Result<void> {
    auto exists = c.Query(c.dialect() == Dialect::kSqlite
                              ? "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"
                              : "SELECT 1 FROM information_schema.tables WHERE table_schema = "
                                "current_schema() AND table_name = 'schema_migrations'");
    if (!exists) return Fail(exists.error());
    if (exists->empty()) return {};
    SL_ASSIGN_OR_RETURN(applied, ReadApplied(c));
    return {};
  }));
  return Check(db.dialect(), applied);
}

Result<MigrateReport> Migrate(Database& db, const MigrateOptions& options) {
  MigrateReport report;
  const Dialect dialect = db.dialect();
  // Look before taking the writer: the common case (nothing pending) stays read-only, and
  // a pre-migration snapshot needs the writer free.
  SL_ASSIGN_OR_RETURN(MigrationStatus before, GetMigrationStatus(db));
  const bool any_pending =
      std::any_of(before.pending.begin(), before.pending.end(),
                  [&](const Migration& m) { return m.version <= options.target_version; });
  if (!any_pending) {
    report.status = std::move(before);
    return report;
  }
  if (dialect == Dialect::kSqlite && !options.backup_dir.empty()) {
    bool existing = false;
    SL_RETURN_IF_ERROR(db.Read([&](Connection& c) -> Result<void> {
      existing = HasUserTables(c);
      return {};
    }));
    if (existing) {
      SL_RETURN_IF_ERROR(core::MakeDirsDurable(options.backup_dir));
      report.backup_path =
          (std::filesystem::path(options.backup_dir) /
           fmt::format("pre-migration-v{}-{}.db", before.current_version, core::WallMillis()))
              .string();
      SL_RETURN_IF_ERROR(db.SnapshotTo(report.backup_path));
      spdlog::info("backed up the database to {} before migrating", report.backup_path);
    }
  }
  SL_RETURN_IF_ERROR(db.Exclusive([&](Connection& c) -> Result<void> {
    if (dialect == Dialect::kPostgres) {
      // Lock first: concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL.
      const Value key[] = {kAdvisoryLockKey};
      SL_RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_lock(?)", key));
    }
    auto run = [&]() -> Result<void> {
      SL_RETURN_IF_ERROR(c.Exec(kCreateTable));
      for (;;) {
        // Re-read inside the lock: another process may have migrated meanwhile.
        SL_ASSIGN_OR_RETURN(auto applied, ReadApplied(c));
        SL_ASSIGN_OR_RETURN(MigrationStatus st, Check(dialect, applied));
        if (st.pending.empty() || st.pending.front().version > options.target_version) {
          return {};
        }
        const Migration& m = st.pending.front();
        if (options.on_apply) options.on_apply(m);
        SL_RETURN_IF_ERROR(c.Exec(dialect == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN"));
        auto apply = [&]() -> Result<void> {
          // Another process may have applied it between our read and BEGIN.
          const Value v[] = {std::int64_t{m.version}};
          SL_ASSIGN_OR_RETURN(auto seen,
                              c.Query("SELECT 1 FROM schema_migrations WHERE version = ?", v));
          if (!seen.empty()) return {};
          if (auto r = c.ExecScript(m.sql); !r) {
            return Fail(Error{
                r.error().code,
                fmt::format("migration {:04}_{} failed: {}", m.version, m.name, r.error().message),
                {}});
          }
          const Value row[] = {std::int64_t{m.version}, m.name, m.checksum, core::WallMillis()};
          SL_RETURN_IF_ERROR(
              c.Exec("INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                     "VALUES (?, ?, ?, ?)",
                     row));
          return {};
        };
        if (auto r = apply(); !r) {
          (void)c.ExecScript("ROLLBACK");
          return r;
        }
        SL_RETURN_IF_ERROR(c.Exec("COMMIT"));
        report.applied.push_back(m);
        spdlog::info("applied migration {:04}_{}", m.version, m.name);
      }
    };
    Result<void> result = run();
    if (dialect == Dialect::kPostgres) {
      const Value key[] = {kAdvisoryLockKey};
      (void)c.Exec("SELECT pg_advisory_unlock(?)", key);
    }
    return result;
  }));
  SL_ASSIGN_OR_RETURN(report.status, GetMigrationStatus(db));
  if (!report.backup_path.empty()) {
    // Record the pre-migration copy once the backups table exists.
    (void)db.Write([&](Connection& c) -> Result<void> {
      std::error_code ec;
      const auto size = std::filesystem::file_size(report.backup_path, ec);
      const Value v[] = {core::NewId(), report.backup_path,
                         ec ? Value{} : Value{static_cast<std::int64_t>(size)}, core::WallMillis()};
      SL_RETURN_IF_ERROR(
          c.Exec("INSERT INTO backups (id, path, kind, status, size_bytes, created_at, "
                 "finished_at) VALUES (?, ?, 'pre_migration', 'ok', ?, ?, NULL)",
                 v));
      return {};
    });
  }
  return report;
}

int LatestVersion(const DatabaseUrl& url) {
  const auto all = MigrationsFor(url.dialect);
  return all.empty() ? 0 : all.back().version;
}

}  // namespace storyloom::db
