// SQLite's catalog and bulk-load hooks (the mirror image of postgres/postgres_catalog.cc):
// sqlite_master and the table_info/foreign_key_list pragmas.
#include <fmt/format.h>

#include <algorithm>
#include <ranges>

#include "db/sqlite/sqlite_connection.h"

namespace storyloom::db {

Result<std::vector<CatalogTable>> SqliteConnection::DescribeTables() {
  SL_ASSIGN_OR_RETURN(auto rows, Query("SELECT name, coalesce(sql, '') FROM sqlite_master "
                                       "WHERE type = 'table' ORDER BY name",
                                       {}));
  std::vector<std::string> virtual_tables;
  for (const auto& r : rows) {
    if (r.Text(1).starts_with("CREATE VIRTUAL TABLE")) virtual_tables.push_back(r.Text(0));
  }
  std::vector<CatalogTable> out;
  for (const auto& r : rows) {
    const std::string name = r.Text(0);
    if (name.starts_with("sqlite_")) continue;
    bool shadow = false;  // a full-text index and the tables that hold it
    for (const auto& v : virtual_tables) shadow |= name == v || name.starts_with(v + "_");
    if (shadow) continue;
    CatalogTable t;
    t.name = name;
    SL_ASSIGN_OR_RETURN(auto cols,
                        Query(fmt::format("PRAGMA table_info({})", QuoteIdentifier(name)), {}));
    std::vector<std::pair<std::int64_t, std::string>> pk;
    for (const auto& col : cols) {
      t.columns.push_back(col.Text(1));
      if (col.Int(5) > 0) pk.emplace_back(col.Int(5), col.Text(1));
    }
    std::sort(pk.begin(), pk.end());
    for (auto& [i, n] : pk) t.key.push_back(n);
    if (t.key.empty()) t.key.emplace_back("rowid");
    SL_ASSIGN_OR_RETURN(
        auto fks, Query(fmt::format("PRAGMA foreign_key_list({})", QuoteIdentifier(name)), {}));
    for (const auto& fk : fks) t.foreign_keys.emplace_back(fk.Text(3), fk.Text(2));
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<std::string>> SqliteConnection::DropSecondaryIndexes(const std::string& table) {
  const Value p[] = {table};
  return DropIndexesListed(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT "
      "NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY 1",
      p);
}

Result<void> SqliteConnection::ResetIdSequence(const std::string&) { return {}; }

Result<void> SqliteConnection::SetUserTriggers(const std::string&, bool) { return {}; }

Result<void> SqliteConnection::EmptyTables(
    std::span<const std::string> parent_first,
    std::span<const std::pair<std::string, std::string>> cycle) {
  // Break the cycle, then children first.
  for (const auto& [table, column] : cycle) {
    if (std::find(parent_first.begin(), parent_first.end(), table) == parent_first.end()) continue;
    SL_RETURN_IF_ERROR(Exec(
        fmt::format("UPDATE {} SET {} = NULL", QuoteIdentifier(table), QuoteIdentifier(column)),
        {}));
  }
  for (const auto& table : std::views::reverse(parent_first)) {
    SL_RETURN_IF_ERROR(Exec("DELETE FROM " + QuoteIdentifier(table), {}));
  }
  return {};
}

}  // namespace storyloom::db
