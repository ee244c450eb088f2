// The database's own health as its catalog and statistics tell it (HealthRepo, reached as
// tx.health()): sizes, per-table statistics, connections, long transactions and replication
// on PostgreSQL; pages, free pages and quick_check on SQLite; and the checks `db check` runs
// (amcheck's bt_index_check, invalid indexes and constraints, foreign keys). Every read is
// bounded: catalog estimates, never a count of a big table. Used on its thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

// One table as the server's statistics see it (PostgreSQL).
struct TableHealth {
  std::string name;
  std::int64_t rows_estimate = 0;  // the planner's estimate, or the live rows counted
  std::int64_t table_bytes = 0;    // heap and TOAST
  std::int64_t index_bytes = 0;
  std::int64_t dead_rows = 0;
  std::optional<Millis> last_vacuum;
  std::optional<Millis> last_autovacuum;
  std::optional<Millis> last_analyze;
  std::optional<Millis> last_autoanalyze;
};

// Connections to the server in one state ("active", "idle", "idle in transaction", ...).
struct ConnectionCount {
  std::string state;
  std::int64_t count = 0;
};

// A transaction of this database open longer than the threshold asked for.
struct LongTransaction {
  std::int64_t pid = 0;
  std::string state;
  std::string user;
  std::string application;
  Millis age_ms = 0;
  std::string query;  // the last statement, truncated
};

// A standby streaming from this server.
struct ReplicaHealth {
  std::string application;
  std::string client_addr;
  std::string state;
  std::string sync_state;
  std::optional<Millis> replay_lag_ms;
};

// What HealthRepo::Status reads. Members a backend does not have stay empty or -1.
struct DatabaseHealth {
  std::string server_version;
  std::int64_t size_bytes = 0;
  // SQLite: the file's pages.
  std::int64_t page_count = -1;
  std::int64_t page_size = -1;
  std::int64_t free_pages = -1;
  std::optional<std::vector<std::string>> quick_check;  // SQLite: its complaints
  // SQLite: rows counted (cheap at the sizes SQLite serves here).
  std::int64_t workflows = -1;
  std::int64_t files = -1;
  std::int64_t file_bytes = -1;
  std::int64_t usage_rows = -1;
  // The newest backup that finished well.
  std::optional<Millis> last_backup_at;
  std::string last_backup_path;
  // PostgreSQL: the largest tables first.
  std::vector<TableHealth> tables;
  std::int64_t max_connections = -1;
  std::vector<ConnectionCount> connections;  // the server's client connections, by state
  std::vector<LongTransaction> long_transactions;
  std::optional<bool> in_recovery;
  std::vector<ReplicaHealth> replicas;
};

struct HealthOptions {
  Millis long_transaction_ms = 60'000;  // a transaction open longer is listed
  int max_tables = 200;
  int max_long_transactions = 50;
  int query_chars = 200;  // of each long transaction's statement
};

// Whether amcheck can run here (PostgreSQL).
struct AmcheckState {
  bool installed = false;  // the extension is in this database
  bool available = false;  // the server has it (contrib), installed or not
  bool allowed = false;    // this user may run bt_index_check
  std::string schema;      // where it is installed
};

// A row whose foreign key names a missing parent (SQLite's foreign_key_check).
struct ForeignKeyProblem {
  std::string table;
  std::int64_t rowid = 0;
  std::string parent;
};

// A B-tree index of our schema.
struct IndexRef {
  std::int64_t oid = 0;
  std::string name;
  std::string table;
};

class HealthRepo {
 public:
  explicit HealthRepo(db::Connection& c) : c_(c) {}

  // The backend's health as described by DatabaseHealth.
  [[nodiscard]] Result<DatabaseHealth> Status(const HealthOptions& options);

  // --- db check (PostgreSQL) ---
  [[nodiscard]] Result<AmcheckState> Amcheck();
  // CREATE EXTENSION IF NOT EXISTS amcheck (in a write transaction); the server's error
  // when this user may not.
  [[nodiscard]] Result<void> InstallAmcheck();
  // The valid B-tree indexes of our schema, by name.
  [[nodiscard]] Result<std::vector<IndexRef>> BtreeIndexes();
  // bt_index_check on `index`, its complaint as the error. A failed check ends the
  // transaction: give each index a read transaction of its own.
  [[nodiscard]] Result<void> CheckBtreeIndex(const AmcheckState& amcheck, const IndexRef& index);
  // Indexes a failed build left invalid and constraints not validated, one line each, at
  // most 1000 (PostgreSQL; none on SQLite).
  [[nodiscard]] Result<std::vector<std::string>> ConstraintProblems();
  // SQLite's foreign_key_check, at most 1000 rows (none on PostgreSQL, which enforces them).
  [[nodiscard]] Result<std::vector<ForeignKeyProblem>> ForeignKeyProblems();

 private:
  Result<void> PostgresStatus(const HealthOptions& options, DatabaseHealth& out);
  Result<void> SqliteStatus(DatabaseHealth& out);
  db::Connection& c_;
};

}  // namespace storyloom
