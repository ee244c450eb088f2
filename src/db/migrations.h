// Schema migrations: numbered SQL files per dialect (src/db/migrations/<dialect>/), compiled
// into the binary, each applied in its own transaction and recorded in schema_migrations
// with a SHA-256 checksum. Call from one thread; several processes may race safely.
#pragma once

#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/url.h"
#include "storyloom/types.h"

namespace storyloom::db {

struct EmbeddedMigration {
  const char* dialect;  // "sqlite" | "postgres"
  int version;
  const char* name;
  const char* sql;
};
// Defined in the generated migrations_data.cc.
const std::vector<EmbeddedMigration>& EmbeddedMigrations();

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
  std::string checksum;  // sha256 hex of sql
};

struct AppliedMigration {
  int version = 0;
  std::string name;
  std::string checksum;
  Millis applied_at = 0;
};

struct MigrationStatus {
  int current_version = 0;  // highest applied
  int latest_version = 0;   // highest this binary knows
  std::vector<AppliedMigration> applied;
  std::vector<Migration> pending;
};

// The binary's migrations for `dialect`, in version order.
std::vector<Migration> MigrationsFor(Dialect dialect);
// The newest schema version this binary has for the database at `url` (0 if none).
int LatestVersion(const DatabaseUrl& url);

// Reads what is applied. Returns failed_precondition, naming the migration, when an
// applied migration's checksum differs from the binary's, or when the database has a
// version this binary does not know (it is newer than the binary).
[[nodiscard]] Result<MigrationStatus> GetMigrationStatus(Database& db);

struct MigrateOptions {
  // SQLite: where to put the copy taken before migrating a database that already has
  // tables ("" skips it). The copy's path is returned in MigrateReport.
  std::string backup_dir;
  int target_version = INT_MAX;                    // stop after this version (tests of upgrades)
  std::function<void(const Migration&)> on_apply;  // progress
};

struct MigrateReport {
  std::vector<Migration> applied;
  std::string backup_path;  // "" when none was taken
  MigrationStatus status;   // after migrating
};

// Applies pending migrations up to options.target_version. A no-op when none is pending.
[[nodiscard]] Result<MigrateReport> Migrate(Database& db, const MigrateOptions& options = {});

}  // namespace storyloom::db
