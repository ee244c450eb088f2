// PostgreSQL's side of the driver capabilities that differ between backends (its mirror
// image is sqlite/sqlite_maintenance.h): size, and giving free space back. Thread-safe
// (each call runs through the Database's own transactions).
#pragma once

#include "db/database.h"

namespace storyloom::db {

// pg_database_size of the current database; free_pages is -1 (no such count).
[[nodiscard]] Result<DatabaseSize> PostgresSize(Database& db);
// VACUUM on the exclusive connection, outside any transaction. Returns 0: PostgreSQL does
// not say how many pages it freed.
[[nodiscard]] Result<std::int64_t> PostgresCompact(Database& db);
// failed_precondition: PostgreSQL checks its pages itself (data checksums) and its indexes
// need the amcheck extension, which a Storyloom role cannot install.
[[nodiscard]] Result<std::vector<std::string>> PostgresCheckIntegrity(Database& db);

}  // namespace storyloom::db
