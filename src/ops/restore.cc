// Restore: a verified backup into an empty data directory and database. A SQLite copy into a
// SQLite target is a file copy; anything else (a PostgreSQL export, or any backup into a
// PostgreSQL URL) is a logical restore: migrate the target to the backup's schema version,
// insert every table parents-first in batches, then apply this binary's newer migrations.
#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/bounded_json.h"
#include "core/durable_dirs.h"
#include "core/hash.h"
#include "db/database.h"
#include "db/migrations.h"
#include "db/table_io.h"
#include "db/url.h"
#include "ops/backup.h"
#include "ops/backup_format.h"
#include "ops/backup_io.h"

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

// Reads one line (without its newline) of at most kMaxRowLineBytes; false at the end.
Result<bool> ReadLine(std::istream& in, std::string& line) {
  line.clear();
  std::streambuf* sb = in.rdbuf();
  bool any = false;
  while (true) {
    const int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) return any;
    any = true;
    if (c == '\n') return true;
    if (line.size() >= kMaxRowLineBytes) {
      return Fail(Error::InvalidArgument("a line of the backup is longer than 256 MiB"));
    }
    line.push_back(static_cast<char>(c));
  }
}

bool IsPlainName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Streams the rows of one table of the backup to `sink`, `kBatch` at a time.
using BatchSink = std::function<Result<void>(std::vector<std::vector<Value>>&)>;

struct Source {
  virtual ~Source() = default;
  virtual Result<std::vector<db::TableInfo>> Tables() = 0;
  virtual Result<void> Scan(const db::TableInfo& t, const BatchSink& sink) = 0;
};

class SqliteCopySource : public Source {
 public:
  explicit SqliteCopySource(std::unique_ptr<db::Database> d) : d_(std::move(d)) {}
  Result<std::vector<db::TableInfo>> Tables() override {
    return db::ReadValue<std::vector<db::TableInfo>>(
        *d_, [](db::Connection& c) { return db::ListTables(c); });
  }
  Result<void> Scan(const db::TableInfo& t, const BatchSink& sink) override {
    return d_->Read([&](db::Connection& c) -> Result<void> {
      std::vector<std::vector<Value>> batch;
      SL_RETURN_IF_ERROR(db::ScanTable(c, t, [&](const db::Row& r) -> Result<void> {
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
  Result<std::vector<db::TableInfo>> Tables() override {
    std::vector<db::TableInfo> out;
    for (const auto& t : tables_) {
      const std::string file = t["file"].get<std::string>();
      std::ifstream in(dir_ / file, std::ios::binary);
      std::string first;
      if (!in) return Fail(Error::InvalidArgument("cannot read " + file));
      SL_ASSIGN_OR_RETURN(bool got, ReadLine(in, first));
      if (!got) return Fail(Error::InvalidArgument("cannot read " + file));
      auto parsed_head = core::ParseJson(first);
      if (!parsed_head) {
        return Fail(Error::InvalidArgument("malformed header in " + file + ": " +
                                           parsed_head.error().message));
      }
      json head = std::move(*parsed_head);
      // The header names the table the manifest listed, and plain column names.
      bool ok = head.is_object() && head.value("table", json()) == t["name"] &&
                head.value("columns", json()).is_array() && !head["columns"].empty() &&
                head["columns"].size() <= 1000;
      std::vector<std::string> columns;
      if (ok) {
        for (const auto& c : head["columns"]) {
          ok = ok && c.is_string() && IsPlainName(c.get_ref<const std::string&>());
          if (ok) columns.push_back(c.get<std::string>());
        }
      }
      if (!ok) return Fail(Error::InvalidArgument("malformed header in " + file));
      out.push_back({t["name"].get<std::string>(), std::move(columns), {}});
      files_[out.back().name] = dir_ / file;
    }
    return out;
  }
  Result<void> Scan(const db::TableInfo& t, const BatchSink& sink) override {
    std::ifstream in(files_[t.name], std::ios::binary);
    std::string line;
    SL_RETURN_IF_ERROR(ReadLine(in, line));  // header
    std::vector<std::vector<Value>> batch;
    while (true) {
      SL_ASSIGN_OR_RETURN(bool got, ReadLine(in, line));
      if (!got) break;
      auto parsed_row = core::ParseJson(line);
      if (!parsed_row) {
        return Fail(Error::InvalidArgument("a row of " + files_[t.name].string() + ": " +
                                           parsed_row.error().message));
      }
      json row = std::move(*parsed_row);
      SL_ASSIGN_OR_RETURN(auto values, JsonToValues(row));
      if (values.size() != t.columns.size()) {
        return Fail(Error::InvalidArgument(fmt::format("a row of {} has {} values for {} columns",
                                                       files_[t.name].string(), values.size(),
                                                       t.columns.size())));
      }
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
                      db::ReadValue<std::vector<db::TableInfo>>(
                          target, [](db::Connection& c) { return db::ListTables(c); }));
  std::vector<db::TableInfo> tables;                     // source tables, target's columns
  std::map<std::string, std::vector<std::size_t>> pick;  // source value index per column
  for (const auto& st : source_tables) {
    auto tt = std::find_if(target_tables.begin(), target_tables.end(),
                           [&](const db::TableInfo& t) { return t.name == st.name; });
    if (tt == target_tables.end()) continue;
    db::TableInfo out{st.name, {}, tt->key};
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
    if (db::IsDerivedTable(t.name)) {
      // Triggers rebuilt these from the rows above; the backup's copy also holds history.
      SL_RETURN_IF_ERROR(target.Write([&](db::Connection& c) -> Result<void> {
        SL_RETURN_IF_ERROR(c.Exec(fmt::format("DELETE FROM \"{}\"", t.name)));
        return {};
      }));
    }
    bool has_deferred = false;
    for (const auto& d : db::DeferredColumns()) has_deferred |= d.table == t.name;
    const auto& src_table = *std::find_if(source_tables.begin(), source_tables.end(),
                                          [&](const db::TableInfo& x) { return x.name == t.name; });
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
              target.Write([&](db::Connection& c) { return db::InsertRows(c, t, batch); }));
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
          target.Write([&](db::Connection& c) { return db::UpdateDeferred(c, t, part); }));
    }
  }
  SL_RETURN_IF_ERROR(
      target.Write([&](db::Connection& c) { return db::ResetSequences(c, tables); }));
  return rows;
}

}  // namespace

namespace {

// The restore under construction: a private directory next to the target (and, for a SQLite
// database outside the data directory, a file next to it); removed unless committed.
struct RestoreTemp {
  fs::path dir;
  fs::path sqlite_file;
  bool committed = false;
  ~RestoreTemp() {
    if (committed) return;
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
    if (!sqlite_file.empty()) {
      for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(sqlite_file.string() + suffix, ec);
    }
  }
};

// A problem with the backup's contents (missing, not what the manifest says, a symlink) is a
// failed verification; anything else (disk full...) stays what it is.
Error AsVerification(const Error& e) {
  if (e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kInternal) return e;
  return Error::FailedPrecondition("the backup fails verification: " + e.message);
}

// Opens `rel` beneath the backup and copies it, checked, to `dest`.
Result<void> CopyFromBackup(const fs::path& backup, const std::string& rel, const fs::path& dest,
                            const json& entry, const std::string& what) {
  auto fd = OpenBeneath(backup, rel);
  if (!fd) return Fail(AsVerification(fd.error()));
  auto copied = CopyVerified(fd->get(), dest, entry["size"].get<std::int64_t>(),
                             entry["sha256"].get<std::string>(), what);
  if (!copied) return Fail(AsVerification(copied.error()));
  return {};
}

Result<fs::path> MakeTempDir(const fs::path& parent, const std::string& name) {
  std::string tmpl = (parent / ("." + name + ".restore-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Fail(Error::Unavailable("cannot create a temporary directory in " + parent.string()));
  }
  return fs::path(tmpl);
}

}  // namespace

Result<RestoreReport> RestoreBackup(const std::string& path, const RestoreOptions& options) {
  if (options.data_dir.empty()) {
    return Fail(Error::InvalidArgument("restore needs --data-dir", "data_dir"));
  }
  const fs::path dir = fs::absolute(path);
  // The backup is untrusted input: its manifest is validated (paths, sizes, checksums,
  // counts) before anything it names is opened.
  SL_ASSIGN_OR_RETURN(json manifest, ReadManifest(dir));
  SL_RETURN_IF_ERROR(ValidateManifest(manifest));
  fs::path data_dir = fs::absolute(options.data_dir).lexically_normal();
  if (!data_dir.has_filename()) data_dir = data_dir.parent_path();
  if (!DirIsEmpty(data_dir)) {
    return Fail(Error::FailedPrecondition(data_dir.string() +
                                          " is not empty; restore needs an empty data directory"));
  }
  RestoreReport report;
  report.database_url = options.database_url.empty()
                            ? "sqlite://" + (data_dir / "storyloom.db").string()
                            : options.database_url;
  SL_ASSIGN_OR_RETURN(auto url, db::ParseDatabaseUrl(report.database_url));
  const json& dbj = manifest["database"];
  report.schema_version = dbj["schema_version"].get<int>();
  const int latest =
      db::MigrationsFor(url.dialect).empty() ? 0 : db::MigrationsFor(url.dialect).back().version;
  if (report.schema_version > latest) {
    return Fail(Error::FailedPrecondition(fmt::format(
        "the backup has schema version {}, newer than this binary's {}; use a newer storyloom",
        report.schema_version, latest)));
  }
  std::error_code ec;
  fs::path sqlite_dest;
  if (url.dialect == db::Dialect::kSqlite) {
    sqlite_dest = fs::absolute(url.sqlite_path).lexically_normal();
    if (fs::exists(sqlite_dest, ec) && fs::file_size(sqlite_dest, ec) > 0) {
      return Fail(Error::FailedPrecondition(sqlite_dest.string() + " already exists"));
    }
  } else {
    SL_ASSIGN_OR_RETURN(auto target, db::Open(report.database_url));
    SL_RETURN_IF_ERROR(CheckEmptyDatabase(*target));
  }

  // Everything is built in a private directory next to the target and renamed into place at
  // the end: a failed restore leaves no partial target.
  if (auto made = core::MakeDirsDurable(data_dir.parent_path()); !made) {
    return Fail(made.error());
  }
  RestoreTemp temp;
  SL_ASSIGN_OR_RETURN(temp.dir, MakeTempDir(data_dir.parent_path(), data_dir.filename().string()));
  const fs::path work = temp.dir / ".restore-work";
  SL_RETURN_IF_ERROR(CreatePrivateDirs(temp.dir, ".restore-work"));

  // 1. The database part, copied and checked before it is opened or parsed.
  const bool sqlite_copy = dbj["dialect"] == "sqlite";
  if (sqlite_copy) {
    SL_RETURN_IF_ERROR(
        CopyFromBackup(dir, kSqliteFile, work / kSqliteFile, dbj, "the database copy"));
    SL_ASSIGN_OR_RETURN(auto problems,
                        IntegrityCheckOwnedSqliteFile((work / kSqliteFile).string()));
    if (!problems.empty()) {
      return Fail(Error::FailedPrecondition(
          fmt::format("the backup fails verification: the database copy: {}", problems.front())));
    }
  } else {
    SL_RETURN_IF_ERROR(CreatePrivateDirs(work, kLogicalDir));
    for (const auto& t : dbj["tables"]) {
      const std::string rel = t["file"].get<std::string>();
      SL_RETURN_IF_ERROR(CopyFromBackup(dir, rel, work / rel, t, rel));
    }
  }

  // 2. Every file, copied and checked (never linked: the restored tree must not share inodes
  // with the backup), each path validated and opened without following symlinks.
  const auto& files = manifest.value("files", json::array());
  SL_RETURN_IF_ERROR(CreatePrivateDirs(temp.dir, kOutputsDir));
  const fs::path outputs = temp.dir / kOutputsDir;
  std::int64_t done = 0;
  for (const auto& f : files) {
    if (options.on_progress)
      options.on_progress("files", done++, static_cast<std::int64_t>(files.size()));
    const std::string rel = f["path"].get<std::string>();
    if (const auto slash = rel.rfind('/'); slash != std::string::npos) {
      SL_RETURN_IF_ERROR(CreatePrivateDirs(outputs, rel.substr(0, slash)));
    }
    SL_RETURN_IF_ERROR(
        CopyFromBackup(dir, std::string(kOutputsDir) + "/" + rel, outputs / rel, f, rel));
    ++report.files;
  }
  if (options.on_progress) {
    options.on_progress("files", static_cast<std::int64_t>(files.size()),
                        static_cast<std::int64_t>(files.size()));
  }

  // 3. The database, into the temporary directory (or next to a SQLite file elsewhere).
  std::string build_url = report.database_url;
  fs::path build_sqlite;
  if (url.dialect == db::Dialect::kSqlite) {
    const fs::path rel = sqlite_dest.lexically_relative(data_dir);
    if (!rel.empty() && *rel.begin() != ".." && rel != ".") {
      build_sqlite = temp.dir / rel;
      fs::create_directories(build_sqlite.parent_path(), ec);
    } else {
      SL_RETURN_IF_ERROR(core::MakeDirsDurable(sqlite_dest.parent_path()));
      build_sqlite = sqlite_dest.parent_path() /
                     ("." + sqlite_dest.filename().string() + ".restore-" +
                      temp.dir.filename().string().substr(temp.dir.filename().string().size() - 6));
      temp.sqlite_file = build_sqlite;
    }
    build_url = "sqlite://" + build_sqlite.string();
  }
  if (sqlite_copy && url.dialect == db::Dialect::kSqlite) {
    fs::rename(work / kSqliteFile, build_sqlite, ec);
    if (ec) return Fail(Error::Unavailable("cannot place the database: " + ec.message()));
  } else {
    SL_ASSIGN_OR_RETURN(auto target, db::Open(build_url));
    SL_RETURN_IF_ERROR(CheckEmptyDatabase(*target));
    std::unique_ptr<Source> src;
    if (sqlite_copy) {
      SL_ASSIGN_OR_RETURN(auto d, db::Open("sqlite://" + (work / kSqliteFile).string()));
      src = std::make_unique<SqliteCopySource>(std::move(d));
    } else {
      src = std::make_unique<JsonlSource>(work, dbj["tables"]);
    }
    SL_ASSIGN_OR_RETURN(report.rows,
                        LogicalRestore(*src, *target, report.schema_version, options.on_progress));
  }
  {
    SL_ASSIGN_OR_RETURN(auto target, db::Open(build_url));
    SL_ASSIGN_OR_RETURN(auto migrated, db::Migrate(*target));
    report.migrated_to = migrated.status.current_version;
    // The snapshot saw this backup (and any other in progress) as running.
    SL_RETURN_IF_ERROR(target->Write([&](db::Connection& c) -> Result<void> {
      const Value v[] = {manifest.value("id", json()).is_string()
                             ? manifest["id"].get<std::string>()
                             : std::string()};
      SL_RETURN_IF_ERROR(c.Exec("UPDATE backups SET status = 'ok' WHERE id = ?", v));
      SL_RETURN_IF_ERROR(
          c.Exec("UPDATE backups SET status = 'failed', error = 'unfinished when "
                 "the restored backup was taken' WHERE status = 'running'"));
      return {};
    }));
  }

  // 4. Into place: durable first, then one rename.
  fs::remove_all(work, ec);
  if (!build_sqlite.empty()) {
    for (const char* suffix : {"", "-wal", "-shm"}) MakePrivate(build_sqlite.string() + suffix);
  }
  {
    UniqueFd d(::open(temp.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() < 0 || ::syncfs(d.get()) != 0)
      return Fail(Error::Unavailable("cannot sync " + temp.dir.string()));
  }
  if (!temp.sqlite_file.empty()) {
    fs::rename(temp.sqlite_file, sqlite_dest, ec);
    if (ec) return Fail(Error::Unavailable("cannot place the database: " + ec.message()));
    temp.sqlite_file = sqlite_dest;  // removed again if the directory cannot be placed
  }
  fs::rename(temp.dir, data_dir, ec);
  if (ec) {
    return Fail(Error::Unavailable("cannot rename the restored directory to " + data_dir.string() +
                                   ": " + ec.message()));
  }
  temp.committed = true;
  (void)FsyncPath(data_dir.parent_path());
  return report;
}

}  // namespace storyloom::ops
