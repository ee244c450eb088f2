// Backups: consistent snapshots of the database and every tracked file, taken while the
// server runs, with a manifest (sizes, sha256, schema version, row counts); list, verify,
// restore into an empty target, and retention. Thread-safe: the functions share no state
// (two backups at once each get their own directory).
//
// Layout of backups/<UTC timestamp>/:
//   storyloom.db            SQLite: the online-backup copy of the database
//   database/<table>.jsonl  PostgreSQL: a logical export (first line: {"table","columns"};
//                           then one JSON array of values per row), read in one
//                           REPEATABLE READ snapshot; the same binary restores it into
//                           PostgreSQL or SQLite
//   save_outputs/...        every file the snapshot's generated_files rows track (hard links
//                           on the same filesystem, copies otherwise)
//   manifest.json
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "files/file_store.h"
#include "storyloom/error.h"
#include "storyloom/store.h"
#include "storyloom/types.h"

namespace storyloom::ops {

using storyloom::ProgressFn;  // storyloom/backend.h

struct BackupOptions {
  std::string backups_dir;      // <data_dir>/backups
  std::string kind = "manual";  // manual | scheduled
  ProgressFn on_progress;
};

struct BackupResult {
  std::string id;
  std::string path;
  std::int64_t files = 0;
  std::int64_t bytes = 0;  // database copy plus files
  std::int64_t linked = 0;
  std::int64_t copied = 0;
  std::vector<std::string> missing;  // tracked files gone by the time they were copied
  // Tracked files replaced between the database snapshot and their link: the backup holds
  // (and its manifest describes) the newer bytes.
  std::vector<std::string> changed;
  std::string manifest_sha256;
};

// Takes a backup and records it in `backups` (running, then ok or failed). A file deleted
// between the snapshot and its copy is listed in `missing`, not an error. Every checksum in
// the manifest is of the bytes the backup holds; the backup is fsynced (files, manifest,
// directories) before it is marked ok. Directories are 0700 and files 0600.
[[nodiscard]] Result<BackupResult> CreateBackup(Store& store, const files::FileStore& files,
                                                const BackupOptions& options);

// Newest first.
[[nodiscard]] Result<std::vector<BackupRecord>> ListBackups(Store& store, int limit = 100);

struct VerifyReport {
  std::int64_t files_checked = 0;
  std::vector<std::string> problems;  // each names the file and what is wrong
  std::vector<std::string> warnings;
  bool ok() const { return problems.empty(); }
};

// Checks a backup directory: the database copy (sha256, then integrity_check) and every
// file against the manifest. not_found if `path` has no manifest.json.
[[nodiscard]] Result<VerifyReport> VerifyBackup(const std::string& path,
                                                const ProgressFn& on_progress = {});

struct RestoreOptions {
  std::string data_dir;      // must be absent or empty
  std::string database_url;  // "" = sqlite:<data_dir>/storyloom.db; otherwise must be empty
  ProgressFn on_progress;
};

struct RestoreReport {
  std::string database_url;
  int schema_version = 0;  // of the backup
  int migrated_to = 0;     // after applying this binary's newer migrations
  std::int64_t files = 0;
  std::int64_t rows = 0;  // rows written by a logical restore (0 for a file copy)
};

// Restores `path` into an empty data directory (and database). failed_precondition if the
// target is not empty or the backup fails verification.
[[nodiscard]] Result<RestoreReport> RestoreBackup(const std::string& path,
                                                  const RestoreOptions& options);

struct RetentionReport {
  std::vector<std::string> removed;  // backup paths deleted
};

struct RetentionPolicy {
  int keep_daily = 7;
  int keep_weekly = 4;
};

// The backups retention deletes, of `newest_first` (ListBackups' order): it keeps the newest
// successful scheduled backup of each of the last `policy.keep_daily` days (UTC) and of each
// of the last `policy.keep_weekly` weeks (Monday to Sunday), the newest successful one
// always, every running one (another process may be writing it) and every manual one; the
// other scheduled backups go, failed ones included. A pure function of its arguments.
[[nodiscard]] std::vector<BackupRecord> PlanBackupRetention(
    const std::vector<BackupRecord>& newest_first, const RetentionPolicy& policy);

// Deletes what PlanBackupRetention picks: each backup's directory, then its row.
[[nodiscard]] Result<RetentionReport> ApplyBackupRetention(Store& store, int keep_daily,
                                                           int keep_weekly);

// The newest successful backup's finish time, or nullopt.
[[nodiscard]] Result<std::optional<Millis>> LastGoodBackup(Store& store);

}  // namespace storyloom::ops
