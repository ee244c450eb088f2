// SQLite's side of the driver capabilities that differ between backends (its mirror image is
// postgres/postgres_maintenance.h): size, and giving free pages back. Thread-safe (each
// call runs through the Database's own transactions).
#pragma once

#include "db/database.h"

namespace storyloom::db {

// page_count × page_size and the freelist, read on one snapshot.
[[nodiscard]] Result<DatabaseSize> SqliteSize(Database& db);
// incremental_vacuum in steps of 2,000 pages, one short write transaction each, then
// wal_checkpoint(TRUNCATE) so the file shrinks. Returns the pages handed back.
[[nodiscard]] Result<std::int64_t> SqliteCompact(Database& db);

}  // namespace storyloom::db
