// Restore: a verified backup into an empty data directory and database. A SQLite copy into a
// SQLite target is a file copy; anything else (a PostgreSQL export, or any backup into a
// PostgreSQL URL) is a logical restore: migrate the target to the backup's schema version,
// insert every table parents-first in batches, then apply this binary's newer migrations.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/bounded_json.h"
#include "core/hash.h"
#include "db/database.h"
#include "db/migrations.h"
#include "db/url.h"
#include "ops/backup.h"
#include "ops/backup_format.h"
#include "ops/table_io.h"

namespace storyloom::ops {
namespace fs = std::filesystem;
using db::Value;
using nlohmann::json;

namespace {

constexpr std::size_t kBatch = 1000;

bool DirIsEmpty(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return true;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

Result<void> CheckEmptyDatabase(db::Database& d) {
  return d.Read([&](db::Connection& c) -> Result<void> {
    const char* sql = c.dialect() == db::Dialect::kSqlite
                          ? "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                          : "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                            "current_schema()";
    SL_ASSIGN_OR_RETURN(auto row, c.QueryOne(sql));
    if (row.Int(0) > 0) {
      return Fail(Error::FailedPrecondition("the target database " + d.display_url() +
                                            " is not empty; restore needs an empty one"));
    }
    return {};
  });
}

// Streams the rows of one table of the backup to `sink`, `kBatch` at a time.
using BatchSink = std::function<Result<void>(std::vector<std::vector<Value>>&)>;

struct Source {
  virtual ~Source() = default;
  virtual Result<std::vector<TableInfo>> Tables() = 0;
  virtual Result<void> Scan(const TableInfo& t, const BatchSink& sink) = 0;
};

class SqliteCopySource : public Source {
 public:
  explicit SqliteCopySource(std::unique_ptr<db::Database> d) : d_(std::move(d)) {}
  Result<std::vector<TableInfo>> Tables() override {
    return db::ReadValue<std::vector<TableInfo>>(*d_,
                                                 [](db::Connection& c) { return ListTables(c); });
  }
  Result<void> Scan(const TableInfo& t, const BatchSink& sink) override {
    return d_->Read([&](db::Connection& c) -> Result<void> {
      std::vector<std::vector<Value>> batch;
      SL_RETURN_IF_ERROR(ScanTable(c, t, [&](const db::Row& r) -> Result<void> {
        std::vector<Value> v;
        for (std::size_t i = 0; i < t.columns.size(); ++i) v.push_back(r.at(i));
        batch.push_back(std::move(v));
        if (batch.size() >= kBatch) {
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
  std::unique_ptr<db::Database> d_;
};

class JsonlSource : public Source {
 public:
  JsonlSource(fs::path dir, json tables) : dir_(std::move(dir)), tables_(std::move(tables)) {}
  Result<std::vector<TableInfo>> Tables() override {
    std::vector<TableInfo> out;
    for (const auto& t : tables_) {
      std::ifstream in(dir_ / t.value("file", ""));
      std::string first;
      if (!in || !std::getline(in, first)) {
        return Fail(Error::InvalidArgument("cannot read " + t.value("file", std::string())));
      }
      auto parsed_head = core::ParseJson(first);
      if (!parsed_head) {
        return Fail(Error::InvalidArgument("malformed header in " + t.value("file", std::string()) +
                                           ": " + parsed_head.error().message));
      }
      json head = std::move(*parsed_head);
      if (!head.is_object() || !head["columns"].is_array()) {
        return Fail(
            Error::InvalidArgument("malformed header in " + t.value("file", std::string())));
      }
      out.push_back({head.value("table", ""), head["columns"].get<std::vector<std::string>>(), {}});
      files_[out.back().name] = dir_ / t.value("file", "");
    }
    return out;
  }
  Result<void> Scan(const TableInfo& t, const BatchSink& sink) override {
    std::ifstream in(files_[t.name]);
    std::string line;
    std::getline(in, line);  // header
    std::vector<std::vector<Value>> batch;
    while (std::getline(in, line)) {
      auto parsed_row = core::ParseJson(line);
      if (!parsed_row) {
        return Fail(Error::InvalidArgument("a row of " + files_[t.name].string() + ": " +
                                           parsed_row.error().message));
      }
      json row = std::move(*parsed_row);
      SL_ASSIGN_OR_RETURN(auto values, JsonToValues(row));
      batch.push_back(std::move(values));
      if (batch.size() >= kBatch) {
        SL_RETURN_IF_ERROR(sink(batch));
        batch.clear();
      }
    }
    if (!batch.empty()) SL_RETURN_IF_ERROR(sink(batch));
    return {};
  }

 private:
  fs::path dir_;
  json tables_;
  std::map<std::string, fs::path> files_;
};

Result<std::int64_t> LogicalRestore(Source& src, db::Database& target, int version,
                                    const ProgressFn& progress) {
  db::MigrateOptions mo;
  mo.target_version = version;
  SL_RETURN_IF_ERROR(db::Migrate(target, mo));
  SL_ASSIGN_OR_RETURN(auto source_tables, src.Tables());
  // Across backends the tables differ slightly (SQLite's workflows.seq): write the columns
  // both sides have; a table the target lacks is skipped.
  SL_ASSIGN_OR_RETURN(auto target_tables,
                      db::ReadValue<std::vector<TableInfo>>(
                          target, [](db::Connection& c) { return ListTables(c); }));
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
  SL_RETURN_IF_ERROR(target.Write([&](db::Connection& c) -> Result<void> {
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
      SL_RETURN_IF_ERROR(target.Write([&](db::Connection& c) -> Result<void> {
        SL_RETURN_IF_ERROR(c.Exec(fmt::format("DELETE FROM \"{}\"", t.name)));
        return {};
      }));
    }
    bool has_deferred = false;
    for (const auto& d : DeferredColumns()) has_deferred |= d.table == t.name;
    const auto& src_table = *std::find_if(source_tables.begin(), source_tables.end(),
                                          [&](const TableInfo& x) { return x.name == t.name; });
    const auto& columns = pick[t.name];
    SL_RETURN_IF_ERROR(
        src.Scan(src_table, [&](std::vector<std::vector<Value>>& batch) -> Result<void> {
          if (columns.size() != src_table.columns.size()) {
            for (auto& row : batch) {
              std::vector<Value> kept;
              for (std::size_t i : columns) kept.push_back(i < row.size() ? row[i] : Value{});
              row = std::move(kept);
            }
          }
          SL_RETURN_IF_ERROR(
              target.Write([&](db::Connection& c) { return InsertRows(c, t, batch); }));
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
    for (std::size_t i = 0; i < it->second.size(); i += kBatch) {
      std::vector<std::vector<Value>> part(
          it->second.begin() + static_cast<std::ptrdiff_t>(i),
          it->second.begin() +
              static_cast<std::ptrdiff_t>(std::min(i + kBatch, it->second.size())));
      SL_RETURN_IF_ERROR(
          target.Write([&](db::Connection& c) { return UpdateDeferred(c, t, part); }));
    }
  }
  SL_RETURN_IF_ERROR(target.Write([&](db::Connection& c) { return ResetSequences(c, tables); }));
  return rows;
}

}  // namespace

Result<RestoreReport> RestoreBackup(const std::string& path, const RestoreOptions& options) {
  if (options.data_dir.empty()) {
    return Fail(Error::InvalidArgument("restore needs --data-dir", "data_dir"));
  }
  const fs::path dir = fs::absolute(path);
  SL_ASSIGN_OR_RETURN(json manifest, ReadManifest(dir));
  const fs::path data_dir = fs::absolute(options.data_dir);
  if (!DirIsEmpty(data_dir)) {
    return Fail(Error::FailedPrecondition(data_dir.string() +
                                          " is not empty; restore needs an empty data directory"));
  }
  SL_ASSIGN_OR_RETURN(auto verify, VerifyBackup(dir.string(), options.on_progress));
  if (!verify.ok()) {
    return Fail(Error::FailedPrecondition(
        fmt::format("the backup fails verification ({} problem(s), first: {})",
                    verify.problems.size(), verify.problems.front())));
  }
  RestoreReport report;
  report.database_url = options.database_url.empty()
                            ? "sqlite://" + (data_dir / "storyloom.db").string()
                            : options.database_url;
  SL_ASSIGN_OR_RETURN(auto url, db::ParseDatabaseUrl(report.database_url));
  const json& dbj = manifest["database"];
  report.schema_version = dbj.value("schema_version", 0);
  const int latest =
      db::MigrationsFor(url.dialect).empty() ? 0 : db::MigrationsFor(url.dialect).back().version;
  if (report.schema_version > latest) {
    return Fail(Error::FailedPrecondition(fmt::format(
        "the backup has schema version {}, newer than this binary's {}; use a newer storyloom",
        report.schema_version, latest)));
  }
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec)
    return Fail(Error::Unavailable("cannot create " + data_dir.string() + ": " + ec.message()));
  const bool sqlite_copy = dbj.value("dialect", "") == "sqlite";
  if (sqlite_copy && url.dialect == db::Dialect::kSqlite) {
    const fs::path dest = fs::absolute(url.sqlite_path);
    if (fs::exists(dest, ec) && fs::file_size(dest, ec) > 0) {
      return Fail(Error::FailedPrecondition(dest.string() + " already exists"));
    }
    fs::create_directories(dest.parent_path(), ec);
    fs::copy_file(dir / dbj.value("file", std::string(kSqliteFile)), dest,
                  fs::copy_options::overwrite_existing, ec);
    if (ec) return Fail(Error::Unavailable("cannot copy the database: " + ec.message()));
  } else {
    SL_ASSIGN_OR_RETURN(auto target, db::Open(report.database_url));
    SL_RETURN_IF_ERROR(CheckEmptyDatabase(*target));
    std::unique_ptr<Source> src;
    if (sqlite_copy) {
      SL_ASSIGN_OR_RETURN(
          auto d,
          db::Open("sqlite://" + (dir / dbj.value("file", std::string(kSqliteFile))).string()));
      src = std::make_unique<SqliteCopySource>(std::move(d));
    } else {
      src = std::make_unique<JsonlSource>(dir, dbj.value("tables", json::array()));
    }
    SL_ASSIGN_OR_RETURN(report.rows,
                        LogicalRestore(*src, *target, report.schema_version, options.on_progress));
  }
  {
    SL_ASSIGN_OR_RETURN(auto target, db::Open(report.database_url));
    SL_ASSIGN_OR_RETURN(auto migrated, db::Migrate(*target));
    report.migrated_to = migrated.status.current_version;
    // The snapshot saw this backup (and any other in progress) as running.
    SL_RETURN_IF_ERROR(target->Write([&](db::Connection& c) -> Result<void> {
      const Value v[] = {manifest.value("id", std::string())};
      SL_RETURN_IF_ERROR(c.Exec("UPDATE backups SET status = 'ok' WHERE id = ?", v));
      SL_RETURN_IF_ERROR(
          c.Exec("UPDATE backups SET status = 'failed', error = 'unfinished when "
                 "the restored backup was taken' WHERE status = 'running'"));
      return {};
    }));
  }
  // Files are copied, not linked: the restored tree must not share inodes with the backup.
  const auto& files = manifest.value("files", json::array());
  std::int64_t done = 0;
  for (const auto& f : files) {
    if (options.on_progress)
      options.on_progress("files", done++, static_cast<std::int64_t>(files.size()));
    const std::string rel = f.value("path", "");
    const fs::path dest = data_dir / kOutputsDir / rel;
    fs::create_directories(dest.parent_path(), ec);
    fs::copy_file(dir / kOutputsDir / rel, dest, fs::copy_options::overwrite_existing, ec);
    if (ec) return Fail(Error::Unavailable(fmt::format("cannot copy {}: {}", rel, ec.message())));
    ++report.files;
  }
  fs::create_directories(data_dir / kOutputsDir, ec);
  return report;
}

}  // namespace storyloom::ops
