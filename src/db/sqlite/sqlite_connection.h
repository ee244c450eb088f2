// SqliteConnection: one sqlite3 handle with a prepared-statement cache. Not thread-safe;
// owned and serialised by SqliteDatabase.
#pragma once

#include <sqlite3.h>

#include <string>
#include <unordered_map>

#include "db/database.h"

namespace storyloom::db {

class SqliteConnection final : public Connection {
 public:
  // Opens `path`; `read_only` connections are opened with SQLITE_OPEN_READONLY.
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, bool read_only,
                                                        const Options& options);
  ~SqliteConnection() override;

  Dialect dialect() const override { return Dialect::kSqlite; }
  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) override;
  Result<std::int64_t> Exec(std::string_view sql, std::span<const Value> params) override;
  Result<void> ExecScript(std::string_view sql) override;

  // Catalog and bulk load (sqlite/sqlite_catalog.cc | postgres/postgres_catalog.cc).
  Result<std::vector<CatalogTable>> DescribeTables() override;
  Result<std::vector<std::string>> DropSecondaryIndexes(const std::string& table) override;
  Result<void> ResetIdSequence(const std::string& table) override;
  Result<void> SetUserTriggers(const std::string& table, bool enabled) override;
  Result<void> EmptyTables(std::span<const std::string> parent_first,
                           std::span<const std::pair<std::string, std::string>> cycle) override;

  sqlite3* handle() { return db_; }
  // Maps the connection's last error to an Error, prefixed with `what`.
  Error LastError(std::string_view what) const;

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  Result<sqlite3_stmt*> Prepare(std::string_view sql);
  Result<void> Bind(sqlite3_stmt* stmt, std::span<const Value> params);

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Maps a SQLite result code (extended) and message to an Error.
Error SqliteError(int code, std::string_view message);

}  // namespace storyloom::db
