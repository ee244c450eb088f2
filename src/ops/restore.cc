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
#include "ops/backup.h"
#include "ops/backup_format.h"
#include "ops/backup_io.h"
#include "ops/backup_manifest.h"
#include "storyloom/store.h"
#include "storyloom/table_data.h"

namespace storyloom::ops {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool DirIsEmpty(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return true;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
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

// Streams the rows of one table of the backup to `sink`, kRowBatchSize at a time.
// A logical export: one JSON-lines file per table, a header line then one row a line.
class JsonlSource : public TableSource {
 public:
  JsonlSource(fs::path dir, std::vector<ManifestTable> tables)
      : dir_(std::move(dir)), tables_(std::move(tables)) {}
  Result<std::vector<TableInfo>> Tables() override {
    std::vector<TableInfo> out;
    for (const auto& t : tables_) {
      const std::string& file = t.file.path;
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
      bool ok = head.is_object() && head.value("table", json()) == t.name &&
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
      out.push_back({t.name, std::move(columns), {}});
      files_[out.back().name] = dir_ / file;
    }
    return out;
  }
  Result<void> Scan(const TableInfo& t, const BatchSink& sink) override {
    std::ifstream in(files_[t.name], std::ios::binary);
    std::string line;
    SL_RETURN_IF_ERROR(ReadLine(in, line));  // header
    RowBatch batch;
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
      if (batch.size() >= kRowBatchSize) {
        SL_RETURN_IF_ERROR(sink(batch));
        batch.clear();
      }
    }
    if (!batch.empty()) SL_RETURN_IF_ERROR(sink(batch));
    return {};
  }

 private:
  fs::path dir_;
  std::vector<ManifestTable> tables_;
  std::map<std::string, fs::path> files_;
};

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

// Opens `rel` beneath the backup and copies it, checked against `entry`, to `dest`.
Result<void> CopyFromBackup(const fs::path& backup, const std::string& rel, const fs::path& dest,
                            const ManifestEntry& entry, const std::string& what) {
  auto fd = OpenBeneath(backup, rel);
  if (!fd) return Fail(AsVerification(fd.error()));
  auto copied = CopyVerified(fd->get(), dest, entry.size, entry.sha256, what);
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
  SL_ASSIGN_OR_RETURN(const Manifest manifest, ReadManifest(dir));
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
  SL_ASSIGN_OR_RETURN(auto url, Store::Locate(report.database_url));
  report.schema_version = manifest.schema_version;
  const int latest = url.latest_schema_version;
  if (report.schema_version > latest) {
    return Fail(Error::FailedPrecondition(fmt::format(
        "the backup has schema version {}, newer than this binary's {}; use a newer storyloom",
        report.schema_version, latest)));
  }
  std::error_code ec;
  fs::path sqlite_dest;
  if (url.is_file) {
    sqlite_dest = fs::absolute(url.file_path).lexically_normal();
    if (fs::exists(sqlite_dest, ec) && fs::file_size(sqlite_dest, ec) > 0) {
      return Fail(Error::FailedPrecondition(sqlite_dest.string() + " already exists"));
    }
  } else {
    SL_ASSIGN_OR_RETURN(auto target, Store::Open(report.database_url));
    SL_RETURN_IF_ERROR(target->CheckEmpty());
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
  const bool sqlite_copy = manifest.file_copy;
  if (sqlite_copy) {
    SL_RETURN_IF_ERROR(CopyFromBackup(dir, kSqliteFile, work / kSqliteFile, manifest.database_file,
                                      "the database copy"));
    SL_ASSIGN_OR_RETURN(auto copy, Store::OpenSnapshot((work / kSqliteFile).string()));
    SL_ASSIGN_OR_RETURN(auto problems, copy->CheckIntegrity());
    if (!problems.empty()) {
      return Fail(Error::FailedPrecondition(
          fmt::format("the backup fails verification: the database copy: {}", problems.front())));
    }
  } else {
    SL_RETURN_IF_ERROR(CreatePrivateDirs(work, kLogicalDir));
    for (const auto& t : manifest.tables) {
      SL_RETURN_IF_ERROR(CopyFromBackup(dir, t.file.path, work / t.file.path, t.file, t.file.path));
    }
  }

  // 2. Every file, copied and checked (never linked: the restored tree must not share inodes
  // with the backup), each path validated and opened without following symlinks.
  const auto& files = manifest.files;
  SL_RETURN_IF_ERROR(CreatePrivateDirs(temp.dir, kOutputsDir));
  const fs::path outputs = temp.dir / kOutputsDir;
  std::int64_t done = 0;
  for (const auto& f : files) {
    if (options.on_progress)
      options.on_progress("files", done++, static_cast<std::int64_t>(files.size()));
    const std::string& rel = f.path;
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
  if (url.is_file) {
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
  if (sqlite_copy && url.is_file) {
    fs::rename(work / kSqliteFile, build_sqlite, ec);
    if (ec) return Fail(Error::Unavailable("cannot place the database: " + ec.message()));
  } else {
    SL_ASSIGN_OR_RETURN(auto target, Store::Open(build_url));
    SL_RETURN_IF_ERROR(target->CheckEmpty());
    std::unique_ptr<TableSource> src;
    if (sqlite_copy) {
      SL_ASSIGN_OR_RETURN(auto copy, Store::OpenSnapshot((work / kSqliteFile).string()));
      src = Store::TablesOf(std::move(copy));
    } else {
      src = std::make_unique<JsonlSource>(work, manifest.tables);
    }
    SL_ASSIGN_OR_RETURN(report.rows,
                        target->LoadTables(*src, report.schema_version, options.on_progress));
  }
  {
    SL_ASSIGN_OR_RETURN(auto restored, Store::Open(build_url));
    SL_ASSIGN_OR_RETURN(auto migrated, restored->Migrate());
    report.migrated_to = migrated.current_version;
    // The snapshot saw this backup (and any other in progress) as running.
    const std::string& id = manifest.id;
    SL_RETURN_IF_ERROR(
        restored->Write([&](StoreTx& tx) { return tx.backups().SettleAfterRestore(id); }));
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
