// Table I/O for logical backups, restores and `db copy`: discovers the data tables of a
// database in foreign-key order (from the backend's catalog, Connection::DescribeTables),
// reads them in key order page by page, and writes rows back into an empty, migrated
// database. Written once over the Connection's catalog hooks; no dialect is named here.
// Used from one thread at a time per Connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "db/database.h"
#include "storyloom/error.h"

namespace storyloom::db {

using TableInfo = storyloom::TableInfo;  // storyloom/table_data.h

// Rollup tables kept current by triggers (migration 0003): a restore overwrites what the
// triggers built while the base rows went in with the backup's own copy, so history kept in
// them (of workflows deleted since) survives.
bool IsDerivedTable(const std::string& name);

// Data tables (not schema_migrations or job_leases, not SQLite's internal or full-text
// shadow tables), parents before children; derived tables last.
[[nodiscard]] Result<std::vector<TableInfo>> ListTables(Connection& c);

// Calls `fn` for each row of `t` in key order, reading `page` rows per query.
[[nodiscard]] Result<void> ScanTable(Connection& c, const TableInfo& t,
                                     const std::function<Result<void>(const Row&)>& fn,
                                     int page = 2000);

// Foreign keys that form a cycle (scenes <-> generated_files): inserted NULL first and
// set once every table is in.
struct DeferredColumn {
  std::string table;
  std::string column;
};
const std::vector<DeferredColumn>& DeferredColumns();

// Inserts rows of `t` (values in t.columns order); columns in DeferredColumns() go in NULL.
[[nodiscard]] Result<void> InsertRows(Connection& c, const TableInfo& t,
                                      const std::vector<std::vector<Value>>& rows);
// Sets the deferred columns of rows already inserted (by primary key "id").
[[nodiscard]] Result<void> UpdateDeferred(Connection& c, const TableInfo& t,
                                          const std::vector<std::vector<Value>>& rows);
// Drops the secondary indexes of `table` (not its primary key, not unique ones) and, on
// PostgreSQL, its foreign keys, and returns the statements that put them back: a bulk load
// into an empty table then builds each index once from sorted data and checks each foreign
// key with one join, instead of row by row (3x faster on PostgreSQL). Call inside the
// load's transaction, so a failure leaves the schema as it was.
[[nodiscard]] Result<std::vector<std::string>> DropIndexesAndForeignKeys(Connection& c,
                                                                         const std::string& table);

// Moves id sequences past the largest restored id (where the backend has them).
[[nodiscard]] Result<void> ResetSequences(Connection& c, const std::vector<TableInfo>& tables);

}  // namespace storyloom::db
