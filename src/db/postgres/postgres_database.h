// The PostgreSQL backend over libpq: a pool of connections shared by reads and writes,
// each checked (and reconnected once) before use. Writes run in READ COMMITTED
// transactions retried on serialization failure or deadlock; reads in REPEATABLE READ
// READ ONLY snapshots. Thread-safe. Only src/db/open.cc constructs it.
#pragma once

#include <memory>
#include <string>

#include "db/database.h"

namespace storyloom::db {

// Connects options.readers (at least 2) connections to the server named by `conninfo` (a
// postgresql:// URL). Returns unavailable when the server cannot be reached.
[[nodiscard]] Result<std::unique_ptr<Database>> OpenPostgres(const std::string& conninfo,
                                                             const std::string& display,
                                                             const Options& options);

}  // namespace storyloom::db
