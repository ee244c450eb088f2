// PostgreSQL's catalog and bulk-load hooks (the mirror image of sqlite/sqlite_catalog.cc):
// information_schema and pg_catalog of the current schema.
#include <fmt/format.h>

#include "db/postgres/postgres_connection.h"

namespace storyloom::db {

Result<std::vector<CatalogTable>> PostgresConnection::DescribeTables() {
  SL_ASSIGN_OR_RETURN(auto tables,
                      Query("SELECT table_name::text FROM information_schema.tables WHERE "
                            "table_schema = current_schema() AND table_type = 'BASE TABLE' "
                            "ORDER BY table_name",
                            {}));
  std::vector<CatalogTable> out;
  for (const auto& tr : tables) {
    CatalogTable t;
    t.name = tr.Text(0);
    const Value p[] = {t.name};
    SL_ASSIGN_OR_RETURN(auto cols,
                        Query("SELECT column_name::text FROM information_schema.columns WHERE "
                              "table_schema = current_schema() AND table_name = ? "
                              "ORDER BY ordinal_position",
                              p));
    for (const auto& col : cols) t.columns.push_back(col.Text(0));
    SL_ASSIGN_OR_RETURN(auto pk,
                        Query("SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON "
                              "a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE "
                              "i.indrelid = to_regclass(?) AND i.indisprimary "
                              "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                              p));
    for (const auto& k : pk) t.key.push_back(k.Text(0));
    if (t.key.empty()) t.key = t.columns;
    SL_ASSIGN_OR_RETURN(
        auto fks,
        Query("SELECT a.attname::text, con.confrelid::regclass::text FROM pg_constraint con "
              "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] "
              "WHERE con.contype = 'f' AND con.conrelid = to_regclass(?)",
              p));
    for (const auto& fk : fks) t.foreign_keys.emplace_back(fk.Text(0), fk.Text(1));
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<std::string>> PostgresConnection::DropSecondaryIndexes(
    const std::string& table) {
  const Value p[] = {table};
  SL_ASSIGN_OR_RETURN(
      auto restore,
      DropIndexesListed("SELECT ic.relname::text, pg_get_indexdef(ic.oid) FROM pg_index x "
                        "JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = "
                        "to_regclass(?) AND NOT x.indisprimary AND NOT x.indisunique ORDER BY 1",
                        p));
  SL_ASSIGN_OR_RETURN(auto fks, Query("SELECT conname::text, pg_get_constraintdef(oid) FROM "
                                      "pg_constraint WHERE conrelid = to_regclass(?) AND "
                                      "contype = 'f' ORDER BY 1",
                                      p));
  for (const auto& r : fks) {
    SL_RETURN_IF_ERROR(Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", QuoteIdentifier(table),
                                        QuoteIdentifier(r.Text(0))),
                            {}));
    restore.push_back(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", QuoteIdentifier(table),
                                  QuoteIdentifier(r.Text(0)), r.Text(1)));
  }
  return restore;
}

Result<void> PostgresConnection::ResetIdSequence(const std::string& table) {
  const Value p[] = {table};
  SL_ASSIGN_OR_RETURN(auto seq, QueryOne("SELECT pg_get_serial_sequence(?, 'id')", p));
  if (seq.IsNull(0)) return {};
  const Value s[] = {seq.Text(0)};
  SL_RETURN_IF_ERROR(
      Query(fmt::format("SELECT setval(?, (SELECT coalesce(max(id), 0) + 1 FROM {}), false)",
                        QuoteIdentifier(table)),
            s));
  return {};
}

Result<void> PostgresConnection::SetUserTriggers(const std::string& table, bool enabled) {
  SL_RETURN_IF_ERROR(Exec(fmt::format("ALTER TABLE {} {} TRIGGER USER", QuoteIdentifier(table),
                                      enabled ? "ENABLE" : "DISABLE"),
                          {}));
  return {};
}

Result<void> PostgresConnection::EmptyTables(std::span<const std::string> parent_first,
                                             std::span<const std::pair<std::string, std::string>>) {
  // One TRUNCATE of them all: foreign keys among them, cycles included, are satisfied.
  std::string list;
  for (const auto& t : parent_first) list += (list.empty() ? "" : ", ") + QuoteIdentifier(t);
  if (!list.empty()) SL_RETURN_IF_ERROR(Exec("TRUNCATE " + list, {}));
  return {};
}

}  // namespace storyloom::db
