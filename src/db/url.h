// Database URL parsing: sqlite:///abs/path.db, sqlite:rel/path.db,
// postgresql://user:pass@host:port/db?host=/socket/dir&sslmode=verify-full. A PostgreSQL
// URL's query parameters go to libpq as they are (sslmode, sslrootcert, sslcert, sslkey,
// sslcrl, target_session_attrs…; libpq rejects the ones it does not know), except
// Storyloom's own `pool_mode=session|transaction`, which is taken out: it says a connection
// pooler (PgBouncer) is in between, so no startup `options` are sent (PgBouncer refuses
// them), and `transaction` (PgBouncer pool_mode=transaction) that the driver must keep no
// session state (postgres/postgres_database.h). Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "db/database.h"

namespace storyloom::db {

// What is between Storyloom and PostgreSQL: the URL's pool_mode parameter.
enum class PoolMode { kNone, kSession, kTransaction };

struct DatabaseUrl {
  Dialect dialect = Dialect::kSqlite;
  std::string sqlite_path;               // SQLite: the file path as given (absolute or relative)
  std::string postgres_conninfo;         // PostgreSQL: the URL passed to libpq (without pool_mode)
  PoolMode pool_mode = PoolMode::kNone;  // PostgreSQL: the pool_mode parameter
  // The URL with any password (user:***@, password=***, sslpassword=***) hidden.
  std::string display;
  // An embedded database in one file (SQLite): copied, placed and renamed as a file.
  bool is_file() const { return dialect == Dialect::kSqlite; }
};

// Returns invalid_argument naming what is wrong with `url`.
[[nodiscard]] Result<DatabaseUrl> ParseDatabaseUrl(std::string_view url);

}  // namespace storyloom::db
