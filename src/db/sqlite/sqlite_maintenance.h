// SQLite's side of the driver capabilities that differ between backends (its mirror image is
// postgres/postgres_maintenance.h): size, and giving free pages back. Thread-safe (each
// call runs through the Database's own transactions). Also the consistency check.
#pragma once

#include "db/database.h"

namespace storyloom::db {

// page_count × page_size and the freelist, read on one snapshot.
[[nodiscard]] Result<DatabaseSize> SqliteSize(Database& db);
// incremental_vacuum in steps of 2,000 pages, one short write transaction each, then
// wal_checkpoint(TRUNCATE) so the file shrinks. Returns the pages handed back.
[[nodiscard]] Result<std::int64_t> SqliteCompact(Database& db);
// PRAGMA integrity_check: every page and index read; its complaints (empty when sound).
[[nodiscard]] Result<std::vector<std::string>> SqliteCheckIntegrity(Database& db);

}  // namespace storyloom::db
