#include "db/postgres/postgres_database.h"

namespace storyloom::db {

Result<std::unique_ptr<Database>> OpenPostgres(const std::string&, const std::string& display,
                                               const Options&) {
  return Fail(Error::Unavailable("PostgreSQL support is not in this build yet (" + display + ")"));
}

}  // namespace storyloom::db
