// TableRepo: the database as whole tables, for backups. Its schema version, its data tables
// parents first (the catalog's foreign-key order, rollup tables last; not the migrations'
// bookkeeping or the leases of running jobs), how many rows each holds, and the rows in key
// order. Reached from a transaction (tx.tables()); inside Store::Read every call sees the
// same snapshot. Used on its thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/table_data.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

class TableRepo {
 public:
  explicit TableRepo(db::Connection& c) : c_(c) {}

  // The newest migration applied (0 for an empty database).
  [[nodiscard]] Result<int> SchemaVersion();
  [[nodiscard]] Result<std::vector<TableInfo>> List();
  [[nodiscard]] Result<std::int64_t> Count(const TableInfo& t);
  // Calls `fn` for each row of `t` (values in t.columns order), in key order, reading a page
  // at a time; stops at the first error `fn` returns.
  [[nodiscard]] Result<void> Scan(const TableInfo& t,
                                  const std::function<Result<void>(const Row&)>& fn);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
