#include "db/postgres/postgres_maintenance.h"

namespace storyloom::db {

Result<DatabaseSize> PostgresSize(Database& db) {
  return ReadValue<DatabaseSize>(db, [](Connection& c) -> Result<DatabaseSize> {
    SL_ASSIGN_OR_RETURN(auto r, c.QueryOne("SELECT pg_database_size(current_database())"));
    return DatabaseSize{r.Int(0), -1};
  });
}

Result<std::int64_t> PostgresCompact(Database& db) {
  SL_RETURN_IF_ERROR(db.Exclusive([](Connection& c) { return c.ExecScript("VACUUM"); }));
  return std::int64_t{0};
}

Result<std::vector<std::string>> PostgresCheckIntegrity(Database&) {
  return Fail(Error::FailedPrecondition(
      "PostgreSQL has no integrity check here; it verifies its own pages with data checksums"));
}

}  // namespace storyloom::db
