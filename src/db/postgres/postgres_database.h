// The PostgreSQL backend over libpq: a pool of connections shared by reads and writes,
// each checked (and reconnected once) before use. Writes run in READ COMMITTED
// transactions retried on serialization failure or deadlock; reads in REPEATABLE READ
// READ ONLY snapshots. Thread-safe. Only src/db/open.cc constructs it.
#pragma once

#include <memory>
#include <string>

#include "db/database.h"
#include "db/url.h"

namespace storyloom::db {

// Opens a pool of up to options.readers (at least 2) connections, plus one per asynchronous
// writer, to the server named by `url` (its postgres_conninfo); one is connected now.
// Returns unavailable when the server cannot be reached. With url.pool_mode kTransaction (a
// transaction pooler such as PgBouncer pool_mode=transaction in between) it keeps no
// session state: statements go unnamed, and there is no LISTEN (capabilities() says no
// notifications, so the engine polls).
[[nodiscard]] Result<std::unique_ptr<Database>> OpenPostgres(const DatabaseUrl& url,
                                                             const Options& options);

}  // namespace storyloom::db
