// backup_format.cc also holds IntegrityCheckSqliteFile, which opens a SQLite database. The
// backup target does not call it; this definition lets the targets link without the
// database drivers, and aborts if ever reached.
#include <cstdio>
#include <cstdlib>

#include "db/database.h"

namespace storyloom::db {

Result<std::unique_ptr<Database>> Open(std::string_view, const Options&) {
  std::fputs("fuzz link stub: db::Open called\n", stderr);
  std::abort();
}

}  // namespace storyloom::db
