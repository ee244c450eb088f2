#include "db/migrations.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

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
// pg_advisory_xact_lock key: "storyloom" folded into 64 bits.
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

// The extensions `sql` creates: the name after each CREATE EXTENSION IF NOT EXISTS.
std::vector<std::string> ExtensionsCreatedBy(std::string_view sql) {
  constexpr std::string_view kCreate = "CREATE EXTENSION IF NOT EXISTS ";
  std::vector<std::string> out;
  for (auto at = sql.find(kCreate); at != std::string_view::npos; at = sql.find(kCreate, at)) {
    at += kCreate.size();
    std::string name;
    while (at < sql.size() &&
           (std::isalnum(static_cast<unsigned char>(sql[at])) != 0 || sql[at] == '_')) {
      name += sql[at++];
    }
    if (!name.empty()) out.push_back(std::move(name));
  }
  return out;
}

// Before migrating PostgreSQL as a role without superuser: each extension the pending
// migrations create is installed already or creatable by this role (a trusted extension
// needs CREATE on the database), and the role may create tables in its schema. Otherwise
// failed_precondition, one line naming what is missing and the SQL an administrator runs.
Result<void> CheckPostgresPrivileges(Database& db, const std::vector<Migration>& pending,
                                     int target_version) {
  std::vector<std::string> extensions;
  for (const Migration& m : pending) {
    if (m.version > target_version) break;
    for (auto& e : ExtensionsCreatedBy(m.sql)) {
      if (std::find(extensions.begin(), extensions.end(), e) == extensions.end()) {
        extensions.push_back(std::move(e));
      }
    }
  }
  return db.Read([&](Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(
        Row who,
        c.QueryOne("SELECT current_database(), current_user, "
                   "coalesce(current_schema(), ''), "
                   "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)::int, "
                   "has_database_privilege(current_database(), 'CREATE')::int, "
                   "coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)::int"));
    const std::string database = who.Text(0);
    const std::string role = who.Text(1);
    const std::string schema = who.Text(2);
    const bool superuser = who.Int(3) != 0;
    const bool create_on_database = who.Int(4) != 0;
    if (superuser) return {};
    if (who.Int(5) == 0) {
      return Fail(Error::FailedPrecondition(fmt::format(
          "PostgreSQL role {} may not create tables in schema {} of database {}; an "
          "administrator must run, in database {}: GRANT USAGE, CREATE ON SCHEMA {} TO {};",
          role, schema.empty() ? "public" : schema, database, database,
          QuoteIdentifier(schema.empty() ? "public" : schema), QuoteIdentifier(role))));
    }
    for (const std::string& name : extensions) {
      const Value v[] = {name, name, name};
      SL_ASSIGN_OR_RETURN(
          Row ext,
          c.QueryOne("SELECT (SELECT count(*) FROM pg_extension WHERE extname = ?), "
                     "(SELECT count(*) FROM pg_available_extension_versions WHERE name = ?), "
                     "(SELECT count(*) FROM pg_available_extension_versions WHERE name = ? "
                     "AND trusted)",
                     v));
      if (ext.Int(0) > 0) continue;  // installed
      if (ext.Int(1) == 0) {
        return Fail(Error::FailedPrecondition(fmt::format(
            "PostgreSQL extension {} is not available on the server: install it (on Debian "
            "it comes with the postgresql package, e.g. postgresql-15), then run, in database "
            "{}: CREATE EXTENSION IF NOT EXISTS {};",
            name, database, name)));
      }
      if (ext.Int(2) > 0 && create_on_database) continue;  // a trusted extension it may create
      return Fail(Error::FailedPrecondition(fmt::format(
          "PostgreSQL extension {} is not installed in database {} and role {} may not create "
          "it; an administrator must run, in database {}: CREATE EXTENSION IF NOT EXISTS {};",
          name, database, role, database, name)));
    }
    return {};
  });
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
  if (dialect == Dialect::kPostgres) {
    SL_RETURN_IF_ERROR(CheckPostgresPrivileges(db, before.pending, options.target_version));
  }
  SL_RETURN_IF_ERROR(db.Exclusive([&](Connection& c) -> Result<void> {
    for (;;) {
      // One transaction per migration. It takes the write lock first (SQLite's BEGIN
      // IMMEDIATE; on PostgreSQL a transaction-scoped advisory lock, which, unlike a session
      // lock, also holds behind a transaction pooler, and goes with COMMIT or a lost
      // connection), then reads what is applied: another process may have migrated meanwhile.
      SL_RETURN_IF_ERROR(c.Exec(dialect == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN"));
      std::optional<Migration> applying;
      auto step = [&]() -> Result<void> {
        if (dialect == Dialect::kPostgres) {
          // Before CREATE TABLE IF NOT EXISTS, which can still collide on PostgreSQL.
          const Value key[] = {kAdvisoryLockKey};
          SL_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock(?)", key));
        }
        SL_RETURN_IF_ERROR(c.Exec(kCreateTable));
        SL_ASSIGN_OR_RETURN(auto applied, ReadApplied(c));
        SL_ASSIGN_OR_RETURN(MigrationStatus st, Check(dialect, applied));
        if (st.pending.empty() || st.pending.front().version > options.target_version) return {};
        const Migration& m = st.pending.front();
        applying = m;
        if (options.on_apply) options.on_apply(m);
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
      if (auto r = step(); !r) {
        (void)c.ExecScript("ROLLBACK");
        return r;
      }
      SL_RETURN_IF_ERROR(c.Exec("COMMIT"));
      if (!applying) return {};
      spdlog::info("applied migration {:04}_{}", applying->version, applying->name);
      report.applied.push_back(std::move(*applying));
    }
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
