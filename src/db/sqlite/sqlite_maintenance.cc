#include "db/sqlite/sqlite_maintenance.h"

#include <algorithm>

namespace storyloom::db {

Result<DatabaseSize> SqliteSize(Database& db) {
  return ReadValue<DatabaseSize>(db, [](Connection& c) -> Result<DatabaseSize> {
    SL_ASSIGN_OR_RETURN(auto pages, c.QueryOne("PRAGMA page_count"));
    SL_ASSIGN_OR_RETURN(auto size, c.QueryOne("PRAGMA page_size"));
    SL_ASSIGN_OR_RETURN(auto free, c.QueryOne("PRAGMA freelist_count"));
    return DatabaseSize{pages.Int(0) * size.Int(0), free.Int(0)};
  });
}

Result<std::int64_t> SqliteCompact(Database& db) {
  constexpr std::int64_t kStep = 2000;
  std::int64_t handed_back = 0;
  // A few thousand pages per transaction: other writes get their turn in between.
  for (int i = 0; i < 100000; ++i) {
    std::int64_t free_pages = 0;
    SL_RETURN_IF_ERROR(db.Write([&](Connection& c) -> Result<void> {
      SL_ASSIGN_OR_RETURN(auto before, c.QueryOne("PRAGMA freelist_count"));
      free_pages = before.Int(0);
      if (free_pages > 0) SL_RETURN_IF_ERROR(c.Query("PRAGMA incremental_vacuum(2000)"));
      return {};
    }));
    if (free_pages == 0) break;
    handed_back += std::min(free_pages, kStep);
  }
  // The file only shrinks once the WAL is checkpointed into it.
  SL_RETURN_IF_ERROR(db.Exclusive([](Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(c.Query("PRAGMA wal_checkpoint(TRUNCATE)"));
    return {};
  }));
  return handed_back;
}

Result<std::vector<std::string>> SqliteCheckIntegrity(Database& db) {
  return ReadValue<std::vector<std::string>>(
      db, [](Connection& c) -> Result<std::vector<std::string>> {
        std::vector<std::string> problems;
        SL_ASSIGN_OR_RETURN(auto rows, c.Query("PRAGMA integrity_check"));
        for (const auto& r : rows) {
          if (r.Text(0) != "ok") problems.push_back(r.Text(0));
        }
        return problems;
      });
}

}  // namespace storyloom::db
