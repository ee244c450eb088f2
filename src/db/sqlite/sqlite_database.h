// The SQLite backend: one writer connection on its own thread that group-commits queued
// writes (each in a savepoint, one BEGIN IMMEDIATE ... COMMIT per batch), and a pool of
// reader connections. WAL mode, foreign keys on, synchronous=FULL by default.
// Thread-safe. Only src/db/open.cc constructs it.
#pragma once

#include <memory>
#include <string>

#include "db/database.h"

namespace storyloom::db {

// Opens (creating if needed) the SQLite database file at `path`.
[[nodiscard]] Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path,
                                                           const Options& options);

}  // namespace storyloom::db
