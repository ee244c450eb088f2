#include "db/table_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace storyloom::db {

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

// The catalog's tables as data tables with their parents (deferred columns aside).
Result<std::vector<RawTable>> Discover(Connection& c) {
  SL_ASSIGN_OR_RETURN(auto tables, c.DescribeTables());
  std::vector<RawTable> out;
  for (auto& ct : tables) {
    if (IsRuntimeTable(ct.name)) continue;
    RawTable t;
    t.info.name = ct.name;
    t.info.columns = std::move(ct.columns);
    t.info.key = std::move(ct.key);
    for (const auto& [column, parent] : ct.foreign_keys) {
      if (!IsDeferred(ct.name, column) && parent != ct.name) t.parents.insert(parent);
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string ColumnList(const std::vector<std::string>& cols) {
  std::string s;
  for (std::size_t i = 0; i < cols.size(); ++i) s += (i ? ", " : "") + QuoteIdentifier(cols[i]);
  return s;
}

}  // namespace

Result<std::vector<TableInfo>> ListTables(Connection& c) {
  SL_ASSIGN_OR_RETURN(std::vector<RawTable> raw, Discover(c));
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

Result<void> ScanTable(Connection& c, const TableInfo& t,
                       const std::function<Result<void>(const Row&)>& fn, int page) {
  // Keyset pagination on the primary key: (k1, k2) > (?, ?) works on both dialects.
  std::string select = "SELECT " + ColumnList(t.columns);
  const bool rowid = t.key.size() == 1 && t.key[0] == "rowid";
  if (rowid) select += ", rowid";
  select += " FROM " + QuoteIdentifier(t.name);
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

Result<void> InsertRows(Connection& c, const TableInfo& t,
                        const std::vector<std::vector<Value>>& rows) {
  std::vector<std::size_t> deferred;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (IsDeferred(t.name, t.columns[i])) deferred.push_back(i);
  }
  if (deferred.empty()) return c.BulkInsert(t.name, t.columns, rows);
  std::vector<std::vector<Value>> copy = rows;
  for (auto& row : copy) {
    for (std::size_t i : deferred) {
      if (i < row.size()) row[i] = Null();
    }
  }
  return c.BulkInsert(t.name, t.columns, copy);
}

Result<void> UpdateDeferred(Connection& c, const TableInfo& t,
                            const std::vector<std::vector<Value>>& rows) {
  const auto id_it = std::find(t.columns.begin(), t.columns.end(), "id");
  if (id_it == t.columns.end()) return {};
  const std::size_t id_index = static_cast<std::size_t>(id_it - t.columns.begin());
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (!IsDeferred(t.name, t.columns[i])) continue;
    const std::string sql = fmt::format("UPDATE {} SET {} = ? WHERE id = ?",
                                        QuoteIdentifier(t.name), QuoteIdentifier(t.columns[i]));
    for (const auto& row : rows) {
      if (std::holds_alternative<std::monostate>(row[i])) continue;
      const Value v[] = {row[i], row[id_index]};
      SL_RETURN_IF_ERROR(c.Exec(sql, v));
    }
  }
  return {};
}

Result<std::vector<std::string>> DropIndexesAndForeignKeys(Connection& c,
                                                           const std::string& table) {
  return c.DropSecondaryIndexes(table);
}

Result<void> ResetSequences(Connection& c, const std::vector<TableInfo>& tables) {
  for (const auto& t : tables) {
    if (std::find(t.columns.begin(), t.columns.end(), "id") == t.columns.end()) continue;
    SL_RETURN_IF_ERROR(c.ResetIdSequence(t.name));
  }
  return {};
}

}  // namespace storyloom::db
