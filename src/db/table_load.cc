// Loading whole tables into an empty database (see table_load.h).
#include "db/table_load.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "db/migrations.h"

namespace storyloom::db {
namespace {

class DatabaseTableSource : public TableSource {
 public:
  explicit DatabaseTableSource(std::unique_ptr<Database> d) : d_(std::move(d)) {}
  Result<std::vector<TableInfo>> Tables() override {
    return ReadValue<std::vector<TableInfo>>(*d_, [](Connection& c) { return ListTables(c); });
  }
  Result<void> Scan(const TableInfo& t, const BatchSink& sink) override {
    return d_->Read([&](Connection& c) -> Result<void> {
      RowBatch batch;
      SL_RETURN_IF_ERROR(ScanTable(c, t, [&](const Row& r) -> Result<void> {
        std::vector<Value> v;
        for (std::size_t i = 0; i < t.columns.size(); ++i) v.push_back(r.at(i));
        batch.push_back(std::move(v));
        if (batch.size() >= kLoadBatch) {
          SL_RETURN_IF_ERROR(sink(batch));
          batch.clear();
        }
        return {};
      }));
      if (!batch.empty()) SL_RETURN_IF_ERROR(sink(batch));
      return {};
    });
  }

 private:
  std::unique_ptr<Database> d_;
};

}  // namespace

std::unique_ptr<TableSource> DatabaseSource(std::unique_ptr<Database> d) {
  return std::make_unique<DatabaseTableSource>(std::move(d));
}

Result<void> CheckEmptyDatabase(Database& d) {
  SL_ASSIGN_OR_RETURN(auto tables, ReadValue<std::vector<CatalogTable>>(
                                       d, [](Connection& c) { return c.DescribeTables(); }));
  if (!tables.empty()) {
    return Fail(Error::FailedPrecondition("the target database " + d.display_url() +
                                          " is not empty; restore needs an empty one"));
  }
  return {};
}

Result<std::int64_t> LoadTables(TableSource& src, Database& target, int schema_version,
                                const ProgressFn& progress) {
  MigrateOptions mo;
  mo.target_version = schema_version;
  SL_RETURN_IF_ERROR(Migrate(target, mo));
  SL_ASSIGN_OR_RETURN(auto source_tables, src.Tables());
  // Across backends the tables differ slightly (SQLite's workflows.seq): write the columns
  // both sides have; a table the target lacks is skipped.
  SL_ASSIGN_OR_RETURN(auto target_tables, ReadValue<std::vector<TableInfo>>(
                                              target, [](Connection& c) { return ListTables(c); }));
  std::vector<TableInfo> tables;                         // source tables, target's columns
  std::map<std::string, std::vector<std::size_t>> pick;  // source value index per column
  for (const auto& st : source_tables) {
    auto tt = std::find_if(target_tables.begin(), target_tables.end(),
                           [&](const TableInfo& t) { return t.name == st.name; });
    if (tt == target_tables.end()) continue;
    TableInfo out{st.name, {}, tt->key};
    for (std::size_t i = 0; i < st.columns.size(); ++i) {
      if (std::find(tt->columns.begin(), tt->columns.end(), st.columns[i]) == tt->columns.end())
        continue;
      out.columns.push_back(st.columns[i]);
      pick[st.name].push_back(i);
    }
    tables.push_back(std::move(out));
  }
  // Migrations may seed rows (prices...): the backup's rows replace them. Children first.
  SL_RETURN_IF_ERROR(target.Write([&](Connection& c) -> Result<void> {
    for (auto it = tables.rbegin(); it != tables.rend(); ++it) {
      SL_RETURN_IF_ERROR(c.Exec(fmt::format("DELETE FROM \"{}\"", it->name)));
    }
    return {};
  }));
  std::int64_t rows = 0, done = 0;
  std::map<std::string, std::vector<std::vector<Value>>> deferred;
  for (const auto& t : tables) {
    if (IsDerivedTable(t.name)) {
      // Triggers rebuilt these from the rows above; the backup's copy also holds history.
      SL_RETURN_IF_ERROR(target.Write([&](Connection& c) -> Result<void> {
        SL_RETURN_IF_ERROR(c.Exec(fmt::format("DELETE FROM \"{}\"", t.name)));
        return {};
      }));
    }
    bool has_deferred = false;
    for (const auto& d : DeferredColumns()) has_deferred |= d.table == t.name;
    const auto& src_table = *std::find_if(source_tables.begin(), source_tables.end(),
                                          [&](const TableInfo& x) { return x.name == t.name; });
    const auto& columns = pick[t.name];
    SL_RETURN_IF_ERROR(src.Scan(src_table, [&](RowBatch& batch) -> Result<void> {
      if (columns.size() != src_table.columns.size()) {
        for (auto& row : batch) {
          std::vector<Value> kept;
          for (std::size_t i : columns) kept.push_back(i < row.size() ? row[i] : Value{});
          row = std::move(kept);
        }
      }
      SL_RETURN_IF_ERROR(target.Write([&](Connection& c) { return InsertRows(c, t, batch); }));
      rows += static_cast<std::int64_t>(batch.size());
      if (has_deferred) {
        auto& keep = deferred[t.name];
        keep.insert(keep.end(), batch.begin(), batch.end());
      }
      return {};
    }));
    if (progress) progress("restore", ++done, static_cast<std::int64_t>(tables.size()));
  }
  for (const auto& t : tables) {
    auto it = deferred.find(t.name);
    if (it == deferred.end()) continue;
    for (std::size_t i = 0; i < it->second.size(); i += kLoadBatch) {
      RowBatch part(it->second.begin() + static_cast<std::ptrdiff_t>(i),
                    it->second.begin() +
                        static_cast<std::ptrdiff_t>(std::min(i + kLoadBatch, it->second.size())));
      SL_RETURN_IF_ERROR(target.Write([&](Connection& c) { return UpdateDeferred(c, t, part); }));
    }
  }
  SL_RETURN_IF_ERROR(target.Write([&](Connection& c) { return ResetSequences(c, tables); }));
  return rows;
}

}  // namespace storyloom::db
