#include "ops/table_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace storyloom::ops {

using db::Value;

bool IsDerivedTable(const std::string& name) {
  static const std::set<std::string> kDerived = {
      "workflow_daily",   "phase_duration_daily", "workflow_cost_daily", "workflow_cost_state",
      "file_stats_daily", "usage_model_daily",    "usage_user_daily"};
  return kDerived.contains(name);
}

const std::vector<DeferredColumn>& DeferredColumns() {
  static const std::vector<DeferredColumn> kDeferred = {{"scenes", "image_file_id"},
                                                        {"scenes", "audio_file_id"}};
  return kDeferred;
}

namespace {

bool IsDeferred(const std::string& table, const std::string& column) {
  for (const auto& d : DeferredColumns()) {
    if (d.table == table && d.column == column) return true;
  }
  return false;
}

struct RawTable {
  TableInfo info;
  std::set<std::string> parents;
};

// Not data: the schema's own bookkeeping and the leases of running instances' jobs.
bool IsRuntimeTable(const std::string& name) {
  return name == "schema_migrations" || name == "job_leases";
}

Result<std::vector<RawTable>> DiscoverSqlite(db::Connection& c) {
  SL_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT name, coalesce(sql, '') FROM sqlite_master "
                                         "WHERE type = 'table' ORDER BY name"));
  std::vector<std::string> virtual_tables;
  for (const auto& r : rows) {
    if (r.Text(1).starts_with("CREATE VIRTUAL TABLE")) virtual_tables.push_back(r.Text(0));
  }
  std::vector<RawTable> out;
  for (const auto& r : rows) {
    const std::string name = r.Text(0);
    if (name.starts_with("sqlite_") || IsRuntimeTable(name)) continue;
    bool shadow = false;
    for (const auto& v : virtual_tables) shadow |= name == v || name.starts_with(v + "_");
    if (shadow) continue;
    RawTable t;
    t.info.name = name;
    SL_ASSIGN_OR_RETURN(auto cols, c.Query(fmt::format("PRAGMA table_info(\"{}\")", name)));
    std::vector<std::pair<std::int64_t, std::string>> pk;
    for (const auto& col : cols) {
      t.info.columns.push_back(col.Text(1));
      if (col.Int(5) > 0) pk.emplace_back(col.Int(5), col.Text(1));
    }
    std::sort(pk.begin(), pk.end());
    for (auto& [i, n] : pk) t.info.key.push_back(n);
    if (t.info.key.empty()) t.info.key.push_back("rowid");
    SL_ASSIGN_OR_RETURN(auto fks, c.Query(fmt::format("PRAGMA foreign_key_list(\"{}\")", name)));
    for (const auto& fk : fks) {
      if (!IsDeferred(name, fk.Text(3)) && fk.Text(2) != name) t.parents.insert(fk.Text(2));
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<RawTable>> DiscoverPostgres(db::Connection& c) {
  SL_ASSIGN_OR_RETURN(auto tables,
                      c.Query("SELECT table_name::text FROM information_schema.tables WHERE "
                              "table_schema = current_schema() AND table_type = 'BASE TABLE' "
                              "ORDER BY table_name"));
  std::vector<RawTable> out;
  for (const auto& tr : tables) {
    const std::string name = tr.Text(0);
    if (IsRuntimeTable(name)) continue;
    RawTable t;
    t.info.name = name;
    const Value p[] = {name};
    SL_ASSIGN_OR_RETURN(auto cols,
                        c.Query("SELECT column_name::text FROM information_schema.columns WHERE "
                                "table_schema = current_schema() AND table_name = ? "
                                "ORDER BY ordinal_position",
                                p));
    for (const auto& col : cols) t.info.columns.push_back(col.Text(0));
    SL_ASSIGN_OR_RETURN(auto pk,
                        c.Query("SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON "
                                "a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE "
                                "i.indrelid = to_regclass(?) AND i.indisprimary "
                                "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                                p));
    for (const auto& k : pk) t.info.key.push_back(k.Text(0));
    if (t.info.key.empty()) t.info.key = t.info.columns;
    SL_ASSIGN_OR_RETURN(
        auto fks,
        c.Query("SELECT a.attname::text, con.confrelid::regclass::text FROM pg_constraint con "
                "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] "
                "WHERE con.contype = 'f' AND con.conrelid = to_regclass(?)",
                p));
    for (const auto& fk : fks) {
      if (!IsDeferred(name, fk.Text(0)) && fk.Text(1) != name) t.parents.insert(fk.Text(1));
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string Quoted(const std::string& ident) { return "\"" + ident + "\""; }

std::string ColumnList(const std::vector<std::string>& cols) {
  std::string s;
  for (std::size_t i = 0; i < cols.size(); ++i) s += (i ? ", " : "") + Quoted(cols[i]);
  return s;
}

}  // namespace

Result<std::vector<TableInfo>> ListTables(db::Connection& c) {
  std::vector<RawTable> raw;
  if (c.dialect() == db::Dialect::kSqlite) {
    SL_ASSIGN_OR_RETURN(raw, DiscoverSqlite(c));
  } else {
    SL_ASSIGN_OR_RETURN(raw, DiscoverPostgres(c));
  }
  // Kahn's algorithm; ties keep alphabetical order so the output is stable.
  std::vector<TableInfo> ordered, derived;
  std::set<std::string> placed;
  std::set<std::string> names;
  for (const auto& t : raw) names.insert(t.info.name);
  while (placed.size() < raw.size()) {
    bool progress = false;
    for (auto& t : raw) {
      if (placed.contains(t.info.name)) continue;
      bool ready = true;
      for (const auto& p : t.parents) ready &= placed.contains(p) || !names.contains(p);
      if (!ready) continue;
      placed.insert(t.info.name);
      (IsDerivedTable(t.info.name) ? derived : ordered).push_back(t.info);
      progress = true;
    }
    if (!progress) {
      std::string left;
      for (const auto& t : raw) {
        if (!placed.contains(t.info.name)) left += " " + t.info.name;
      }
      return Fail(Error::Internal("foreign keys form a cycle among:" + left));
    }
  }
  for (auto& d : derived) ordered.push_back(std::move(d));
  return ordered;
}

Result<void> ScanTable(db::Connection& c, const TableInfo& t,
                       const std::function<Result<void>(const db::Row&)>& fn, int page) {
  // Keyset pagination on the primary key: (k1, k2) > (?, ?) works on both dialects.
  std::string select = "SELECT " + ColumnList(t.columns);
  const bool rowid = t.key.size() == 1 && t.key[0] == "rowid";
  if (rowid) select += ", rowid";
  select += " FROM " + Quoted(t.name);
  const std::string key_list = rowid ? "rowid" : ColumnList(t.key);
  std::vector<std::size_t> key_index;
  for (const auto& k : t.key) {
    if (rowid) {
      key_index.push_back(t.columns.size());
      continue;
    }
    key_index.push_back(static_cast<std::size_t>(std::find(t.columns.begin(), t.columns.end(), k) -
                                                 t.columns.begin()));
  }
  std::vector<Value> last;
  while (true) {
    std::string sql = select;
    std::vector<Value> params = last;
    if (!last.empty()) {
      std::string marks;
      for (std::size_t i = 0; i < last.size(); ++i) marks += i ? ", ?" : "?";
      sql += fmt::format(" WHERE ({}) > ({})", key_list, marks);
    }
    sql += fmt::format(" ORDER BY {} LIMIT {}", key_list, page);
    SL_ASSIGN_OR_RETURN(auto rows, c.Query(sql, params));
    for (const auto& r : rows) SL_RETURN_IF_ERROR(fn(r));
    if (static_cast<int>(rows.size()) < page) return {};
    last.clear();
    for (std::size_t i : key_index) last.push_back(rows.back().at(i));
  }
}

Result<void> InsertRows(db::Connection& c, const TableInfo& t,
                        const std::vector<std::vector<Value>>& rows) {
  std::vector<std::size_t> deferred;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (IsDeferred(t.name, t.columns[i])) deferred.push_back(i);
  }
  if (deferred.empty()) return c.BulkInsert(t.name, t.columns, rows);
  std::vector<std::vector<Value>> copy = rows;
  for (auto& row : copy) {
    for (std::size_t i : deferred) {
      if (i < row.size()) row[i] = db::Null();
    }
  }
  return c.BulkInsert(t.name, t.columns, copy);
}

Result<void> UpdateDeferred(db::Connection& c, const TableInfo& t,
                            const std::vector<std::vector<Value>>& rows) {
  const auto id_it = std::find(t.columns.begin(), t.columns.end(), "id");
  if (id_it == t.columns.end()) return {};
  const std::size_t id_index = static_cast<std::size_t>(id_it - t.columns.begin());
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (!IsDeferred(t.name, t.columns[i])) continue;
    const std::string sql =
        fmt::format("UPDATE {} SET {} = ? WHERE id = ?", Quoted(t.name), Quoted(t.columns[i]));
    for (const auto& row : rows) {
      if (std::holds_alternative<std::monostate>(row[i])) continue;
      const Value v[] = {row[i], row[id_index]};
      SL_RETURN_IF_ERROR(c.Exec(sql, v));
    }
  }
  return {};
}

Result<std::vector<std::string>> DropIndexesAndForeignKeys(db::Connection& c,
                                                          const std::string& table) {
  const Value p[] = {table};
  SL_ASSIGN_OR_RETURN(
      auto rows,
      c.Query(c.dialect() == db::Dialect::kPostgres
                  ? "SELECT ic.relname::text, pg_get_indexdef(ic.oid) FROM pg_index x "
                    "JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = to_regclass(?) "
                    "AND NOT x.indisprimary AND NOT x.indisunique ORDER BY 1"
                  : "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                    "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY 1",
              p));
  std::vector<std::string> restore;
  for (const auto& r : rows) {
    SL_RETURN_IF_ERROR(c.Exec("DROP INDEX " + Quoted(r.Text(0))));
    restore.push_back(r.Text(1));
  }
  if (c.dialect() != db::Dialect::kPostgres) return restore;
  SL_ASSIGN_OR_RETURN(auto fks, c.Query("SELECT conname::text, pg_get_constraintdef(oid) FROM "
                                        "pg_constraint WHERE conrelid = to_regclass(?) AND "
                                        "contype = 'f' ORDER BY 1",
                                        p));
  for (const auto& r : fks) {
    SL_RETURN_IF_ERROR(
        c.Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", Quoted(table), Quoted(r.Text(0)))));
    restore.push_back(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", Quoted(table),
                                  Quoted(r.Text(0)), r.Text(1)));
  }
  return restore;
}

Result<void> ResetSequences(db::Connection& c, const std::vector<TableInfo>& tables) {
  if (c.dialect() != db::Dialect::kPostgres) return {};
  for (const auto& t : tables) {
    if (std::find(t.columns.begin(), t.columns.end(), "id") == t.columns.end()) continue;
    const Value p[] = {t.name};
    SL_ASSIGN_OR_RETURN(auto seq, c.QueryOne("SELECT pg_get_serial_sequence(?, 'id')", p));
    if (seq.IsNull(0)) continue;
    const Value s[] = {seq.Text(0)};
    SL_RETURN_IF_ERROR(
        c.Query(fmt::format("SELECT setval(?, (SELECT coalesce(max(id), 0) + 1 FROM {}), false)",
                            Quoted(t.name)),
                s));
  }
  return {};
}

}  // namespace storyloom::ops
