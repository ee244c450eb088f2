#include "storyloom/table_repo.h"

#include "db/database.h"
#include "db/table_io.h"

namespace storyloom {

Result<int> TableRepo::SchemaVersion() {
  SL_ASSIGN_OR_RETURN(auto row,
                      c_.QueryOne("SELECT coalesce(max(version), 0) FROM schema_migrations"));
  return static_cast<int>(row.Int(0));
}

Result<std::vector<TableInfo>> TableRepo::List() { return db::ListTables(c_); }

Result<std::int64_t> TableRepo::Count(const TableInfo& t) {
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne("SELECT count(*) FROM " + db::QuoteIdentifier(t.name)));
  return row.Int(0);
}

Result<void> TableRepo::Scan(const TableInfo& t,
                             const std::function<Result<void>(const Row&)>& fn) {
  return db::ScanTable(c_, t, fn);
}

}  // namespace storyloom
