// The database's health for `storyloom db status`, `db check` and GET/POST
// /api/v1/admin/db: what the catalog says (sizes, dead rows, connections, long transactions)
// and the checks (SQLite integrity_check and foreign_key_check; PostgreSQL amcheck on every
// B-tree index, invalid indexes and unvalidated constraints), both backends in one shape.
// Thread-safe: shares no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storyloom/store.h"

namespace storyloom::ops {

struct DbStatusReport {
  std::string backend;   // "sqlite" | "postgresql"
  std::string database;  // the URL without its password
  SchemaStatus schema;
  DatabaseHealth health;
  std::int64_t wal_bytes = -1;  // SQLite: the -wal file's length
  HealthOptions options;        // what it was asked with (the long transaction threshold)
};

// Reads the status on one snapshot; bounded on any size of database (catalog estimates).
[[nodiscard]] Result<DbStatusReport> CollectDbStatus(Store& store, const HealthOptions& options);

struct IndexProblem {
  std::string index;
  std::string table;
  std::string message;
};

// amcheck's part of a PostgreSQL check.
struct AmcheckReport {
  std::string status;   // "ok" (it ran) | "unavailable" (why in message)
  std::string message;  // for "unavailable"; "created the amcheck extension" when it did
  std::int64_t indexes_checked = 0;
  std::vector<IndexProblem> problems;
};

struct DbCheckOptions {
  // CREATE EXTENSION amcheck when the server has it and the database does not.
  bool install_amcheck = true;
};

struct DbCheckReport {
  std::string backend;
  Millis checked_at = 0;
  Millis duration_ms = 0;
  std::optional<std::vector<std::string>> integrity_check;  // SQLite
  std::vector<ForeignKeyProblem> foreign_key_check;         // SQLite
  std::vector<std::string> constraints;                     // PostgreSQL
  std::optional<AmcheckReport> amcheck;                     // PostgreSQL
  std::string migrations;  // "current" | "pending" | why they could not be read
  bool migrations_ok = true;

  std::int64_t problems() const;
  bool ok() const { return problems() == 0; }
};

// Runs every check of the backend. An error only when the database cannot be read at all;
// what the checks find is in the report (amcheck being unavailable is not a problem).
[[nodiscard]] Result<DbCheckReport> RunDbCheck(Store& store, const DbCheckOptions& options);

}  // namespace storyloom::ops
