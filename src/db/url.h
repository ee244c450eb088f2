// Database URL parsing: sqlite:///abs/path.db, sqlite:rel/path.db,
// postgresql://user:pass@host:port/db?host=/socket/dir. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "db/database.h"

namespace storyloom::db {

struct DatabaseUrl {
  Dialect dialect = Dialect::kSqlite;
  std::string sqlite_path;        // SQLite: the file path as given (absolute or relative)
  std::string postgres_conninfo;  // PostgreSQL: the URL passed to libpq
  std::string display;            // the URL with any password replaced by "***"
  // An embedded database in one file (SQLite): copied, placed and renamed as a file.
  bool is_file() const { return dialect == Dialect::kSqlite; }
};

// Returns invalid_argument naming what is wrong with `url`.
[[nodiscard]] Result<DatabaseUrl> ParseDatabaseUrl(std::string_view url);

}  // namespace storyloom::db
