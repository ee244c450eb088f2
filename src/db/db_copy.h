// Database copy: every table of one Storyloom database into another, across backends
// (SQLite -> PostgreSQL and back), ids and timestamps preserved, then verified by row counts
// and per-table checksums. Used by `storyloom db copy`. Thread-safe: calls share no state;
// the source should not be written to while a copy runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/table_io.h"
#include "storyloom/error.h"

namespace storyloom::db {

struct CopyOptions {
  // Empty the target first when it holds data; otherwise a non-empty target is refused.
  bool force = false;
  // Rows per bulk insert (one COPY on PostgreSQL, multi-row INSERTs on SQLite); the whole
  // copy is one transaction on the target.
  int rows_per_batch = 50000;
  // Tables with at least this many rows get their secondary indexes (and on PostgreSQL
  // their foreign keys) dropped before the load and put back after it, in the same
  // transaction (DropIndexesAndForeignKeys).
  std::int64_t rebuild_indexes_from_rows = 10000;
  // Stages "copy" (done/total rows) and "verify" (done/total tables).
  ProgressFn on_progress;
};

struct TableCopyReport {
  std::string name;
  std::int64_t source_rows = 0;
  std::int64_t target_rows = 0;
  std::string source_checksum;
  std::string target_checksum;
  bool ok() const { return source_rows == target_rows && source_checksum == target_checksum; }
};

struct CopyReport {
  std::vector<TableCopyReport> tables;
  std::int64_t rows = 0;
  double copy_seconds = 0;    // reading and writing the rows
  double verify_seconds = 0;  // counting and checksumming both sides
  bool ok() const;
};

// Migrates the target to the latest schema, refuses (failed_precondition) a target with
// data unless options.force, then in one target transaction (so a failed copy changes
// nothing) empties it (rows seeded by migrations, such as default prices, are always
// replaced), copies every table both databases have in foreign-key order (the columns both
// have) and moves PostgreSQL identity sequences past the copied ids; then verifies. Returns
// failed_precondition if the source's migrations are not current. A verification mismatch is
// reported in the result (CopyReport::ok() is false), not as an error.
[[nodiscard]] Result<CopyReport> CopyDatabase(const std::string& from_url,
                                              const std::string& to_url,
                                              const CopyOptions& options = {});

// Row count and an order-independent checksum of `columns` of table `t` (which must be
// a subset of t.columns). Values are normalised so both backends agree: numbers as
// decimal text (integral doubles as integers), JSON text re-serialised canonically
// (sorted keys, no spaces), NULL distinct from "".
struct TableChecksum {
  std::int64_t rows = 0;
  std::string checksum;
};
[[nodiscard]] Result<TableChecksum> ChecksumTable(Connection& c, const TableInfo& t,
                                                  const std::vector<std::string>& columns);

}  // namespace storyloom::db
