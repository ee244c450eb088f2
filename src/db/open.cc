#include <fmt/format.h>

#include "db/database.h"
#include "db/postgres/postgres_database.h"
#include "db/sqlite/sqlite_database.h"
#include "db/url.h"

namespace storyloom::db {

Result<std::unique_ptr<Database>> Open(std::string_view url, const Options& options) {
  SL_ASSIGN_OR_RETURN(DatabaseUrl parsed, ParseDatabaseUrl(url));
  if (parsed.dialect == Dialect::kSqlite) return OpenSqlite(parsed.sqlite_path, options);
  return OpenPostgres(parsed, options);
}

}  // namespace storyloom::db
