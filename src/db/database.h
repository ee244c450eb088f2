// db::Database: the only door to a SQL database. Portable SQL with `?` placeholders runs
// through a Connection handed to a Read or Write callback; the driver (SQLite or
// PostgreSQL) is chosen by db::Open from the URL. Thread-safe: any thread may call Read
// and Write concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "storyloom/backend.h"
#include "storyloom/error.h"
#include "storyloom/table_data.h"

namespace storyloom::db {

// A bound parameter or a column value, and a result row (storyloom/table_data.h).
using Value = storyloom::Value;
using Row = storyloom::Row;

inline Value Null() { return std::monostate{}; }
// Maps "" to NULL; for optional text columns such as foreign keys.
inline Value TextOrNull(std::string_view s) { return s.empty() ? Value{} : Value{std::string(s)}; }
template <typename T>
Value OptInt(const std::optional<T>& v) {
  return v ? Value{static_cast<std::int64_t>(*v)} : Value{};
}

// `ident` as a quoted SQL identifier ("name", any " doubled): the same on both backends.
std::string QuoteIdentifier(std::string_view ident);

enum class Dialect { kSqlite, kPostgres };

// A table as the catalog describes it.
struct CatalogTable {
  std::string name;
  std::vector<std::string> columns;  // in ordinal order
  // Primary key columns; without one, what identifies a row: SQLite's "rowid", elsewhere
  // every column.
  std::vector<std::string> key;
  std::vector<std::pair<std::string, std::string>> foreign_keys;  // (column, parent table)
};

// A statement with its parameters, for Connection::QueryBatch.
struct Statement {
  std::string sql;
  std::vector<Value> params;
};

// A connection inside a Read or Write callback. Not thread-safe: used by one callback at a
// time. Statements are prepared once and cached per connection.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;

  // Runs `sql` and returns all rows.
  [[nodiscard]] virtual Result<std::vector<Row>> Query(std::string_view sql,
                                                       std::span<const Value> params = {}) = 0;
  // Runs `sql` and returns the number of rows it changed.
  [[nodiscard]] virtual Result<std::int64_t> Exec(std::string_view sql,
                                                  std::span<const Value> params = {}) = 0;
  // Runs independent queries (none needs another's result) and returns each one's rows, in
  // order; the first failure fails the batch. PostgreSQL sends them in one pipeline, so
  // the batch costs one round trip; elsewhere they run one after another.
  [[nodiscard]] virtual Result<std::vector<std::vector<Row>>> QueryBatch(
      std::span<const Statement> statements);
  // Runs several `;`-separated statements without parameters (migrations).
  [[nodiscard]] virtual Result<void> ExecScript(std::string_view sql) = 0;

  // Inserts `rows` (each with one value per column, in `columns` order) into `table` as
  // fast as the backend allows: multi-row INSERTs by default, COPY FROM STDIN on
  // PostgreSQL. For restores and `db copy`; `table` and `columns` are trusted identifiers.
  [[nodiscard]] virtual Result<void> BulkInsert(std::string_view table,
                                                std::span<const std::string> columns,
                                                std::span<const std::vector<Value>> rows);

  // --- catalog and bulk load: each backend's own (sqlite/sqlite_catalog.cc,
  // postgres/postgres_catalog.cc); `table` names are trusted identifiers ---
  // Every base table of the current schema (not the engine's internal ones, not full-text
  // shadow tables), by name, with its columns, primary key and foreign keys.
  [[nodiscard]] virtual Result<std::vector<CatalogTable>> DescribeTables() = 0;
  // Drops the secondary indexes of `table` (not its primary key, not unique ones) and, where
  // foreign keys can be dropped (PostgreSQL), its foreign keys; returns the statements that
  // put them back.
  [[nodiscard]] virtual Result<std::vector<std::string>> DropSecondaryIndexes(
      const std::string& table) = 0;
  // Moves `table`'s id sequence past its largest id (PostgreSQL identity columns; SQLite
  // needs nothing).
  [[nodiscard]] virtual Result<void> ResetIdSequence(const std::string& table) = 0;
  // Turns the user triggers of `table` off or on for a bulk load (PostgreSQL; SQLite's
  // triggers stay on).
  [[nodiscard]] virtual Result<void> SetUserTriggers(const std::string& table, bool enabled) = 0;
  // Deletes every row of `parent_first` tables; `cycle` columns (table, column) are set NULL
  // first where the backend cannot truncate a cycle of foreign keys at once.
  [[nodiscard]] virtual Result<void> EmptyTables(
      std::span<const std::string> parent_first,
      std::span<const std::pair<std::string, std::string>> cycle) = 0;

  // Convenience: the first row, or not_found.
  [[nodiscard]] Result<Row> QueryOne(std::string_view sql, std::span<const Value> params = {});
  // Convenience: the first row, or nullopt.
  [[nodiscard]] Result<std::optional<Row>> QueryOpt(std::string_view sql,
                                                    std::span<const Value> params = {});

 protected:
  // For DropSecondaryIndexes: runs `catalog_sql`, whose rows are (index name, the statement
  // that creates it), drops each index and returns those statements.
  [[nodiscard]] Result<std::vector<std::string>> DropIndexesListed(std::string_view catalog_sql,
                                                                   std::span<const Value> params);
};

struct Options {
  // SQLite: "FULL" (default), "NORMAL" or "OFF".
  std::string synchronous = "FULL";
  int busy_timeout_ms = 10000;
  int readers = 4;  // SQLite reader connections / PostgreSQL pool size
  // Asynchronous writes (WriteAsync) waiting for their commit at once; past it they are
  // refused, so a flood is answered instead of queued without bound.
  int max_queued_writes = 4096;
  // SQLite WAL checkpoints: past `wal_checkpoint_pages` pages in the WAL after a commit a
  // background thread checkpoints (passively, beside the writes); past `wal_max_pages` the
  // writer checkpoints itself after its commit, so the WAL stays bounded.
  int wal_checkpoint_pages = 1000;
  int wal_max_pages = 10000;
};

// The outcome of an asynchronous write, once its commit is durable (or failed).
using WriteDone = std::function<void(Result<void>)>;

using Stats = DatabaseStats;

using Listener = storyloom::Listener;  // storyloom/backend.h

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // The URL it was opened with, with any password removed.
  virtual std::string display_url() const = 0;

  // Runs `fn` inside a write transaction. Returns after the transaction is durable. If
  // `fn` fails, its changes are rolled back and its error returned; other writes that
  // shared the commit are unaffected. `fn` may be called again after a transient failure,
  // so it must not have side effects outside the connection.
  [[nodiscard]] virtual Result<void> Write(const std::function<Result<void>(Connection&)>& fn) = 0;

  // Write without waiting: queues `fn` for the next group commit and returns at once, so
  // the caller's thread is free while the commit happens (SQLite: the writer's next batch;
  // PostgreSQL: the next transaction of one of two writer threads, up to 64 writes each).
  // `done` gets what Write would have returned, exactly once, on a writer thread (it must
  // not block, and should post longer work elsewhere); on a backend without writer threads
  // (the default), on the caller's, before WriteAsync returns. Refused, with `done` never
  // called, when Options::max_queued_writes writes are waiting (unavailable, reason
  // overloaded) or the database is closing.
  [[nodiscard]] virtual Result<void> WriteAsync(std::function<Result<void>(Connection&)> fn,
                                                WriteDone done);

  // Runs `fn` on a read connection inside one read transaction (a consistent snapshot).
  [[nodiscard]] virtual Result<void> Read(const std::function<Result<void>(Connection&)>& fn) = 0;

  // A read transaction that runs just `statements` (independent queries, one snapshot) and
  // returns each one's rows. PostgreSQL sends BEGIN, the statements and COMMIT in one
  // pipeline: one round trip for the whole read. By default, Read with QueryBatch.
  [[nodiscard]] virtual Result<std::vector<std::vector<Row>>> ReadBatch(
      std::span<const Statement> statements);

  // Runs `fn` on a dedicated connection outside any transaction, with exclusive use of
  // the writer: migrations, VACUUM, backups. Blocks other writes while it runs.
  [[nodiscard]] virtual Result<void> Exclusive(
      const std::function<Result<void>(Connection&)>& fn) = 0;

  // Writes a consistent copy of the whole database to the file `path` while it stays in
  // use (SQLite online backup API). Returns failed_precondition on backends that cannot.
  [[nodiscard]] virtual Result<void> SnapshotTo(const std::string& path) = 0;

  // Listens on `channel` on a connection of its own (connected now if the server is up,
  // otherwise by the first Wait). Returns failed_precondition on backends without
  // notifications (SQLite).
  [[nodiscard]] virtual Result<std::unique_ptr<Listener>> Listen(const std::string& channel);

  virtual Stats stats() const = 0;

  // The driver's capabilities (sqlite/…, postgres/… answer for their backend).
  virtual BackendCapabilities capabilities() const = 0;
  // Size of the database and its reclaimable pages.
  [[nodiscard]] virtual Result<DatabaseSize> Size() = 0;
  // Gives free space back: SQLite incremental vacuum in short write transactions, then a
  // WAL checkpoint; PostgreSQL VACUUM. Returns the pages handed back (0 when not counted).
  [[nodiscard]] virtual Result<std::int64_t> Compact() = 0;
  // The backend's own consistency check of every page and index (SQLite integrity_check);
  // its complaints, empty when sound. failed_precondition where the backend has none.
  [[nodiscard]] virtual Result<std::vector<std::string>> CheckIntegrity() = 0;
};

// Opens the database named by `url`: sqlite:///abs/path.db, sqlite:rel/path.db, or
// postgresql://user@host:port/db. Returns invalid_argument for a URL it cannot parse and
// unavailable when the database cannot be reached.
[[nodiscard]] Result<std::unique_ptr<Database>> Open(std::string_view url,
                                                     const Options& options = {});

// Helper for writing a callback with a typed result.
template <typename T, typename Fn>
Result<T> ReadValue(Database& db, Fn&& fn) {
  std::optional<T> out;
  auto r = db.Read([&](Connection& c) -> Result<void> {
    auto v = fn(c);
    if (!v) return std::unexpected(std::move(v).error());
    out = std::move(*v);
    return {};
  });
  if (!r) return std::unexpected(std::move(r).error());
  return std::move(*out);
}

template <typename T, typename Fn>
Result<T> WriteValue(Database& db, Fn&& fn) {
  std::optional<T> out;
  auto r = db.Write([&](Connection& c) -> Result<void> {
    auto v = fn(c);
    if (!v) return std::unexpected(std::move(v).error());
    out = std::move(*v);
    return {};
  });
  if (!r) return std::unexpected(std::move(r).error());
  return std::move(*out);
}

}  // namespace storyloom::db
