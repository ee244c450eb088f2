// Backups: create (snapshot, files, manifest) and list. Verify, retention and restore have
// files of their own.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/clock.h"
#include "core/durable_dirs.h"
#include "core/hash.h"
#include "core/ids.h"
#include "core/storage_error.h"
#include "ops/backup.h"
#include "ops/backup_format.h"
#include "ops/backup_io.h"
#include "ops/backup_manifest.h"

namespace storyloom::ops {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TrackedFile {
  std::string path;
  std::int64_t size = 0;
  std::string sha256;
};

std::string BackupDirName(Millis now) {
  // 20260125T183000.123Z: sorts by time, safe in a path.
  std::string s = core::FormatRfc3339(now);  // 2026-01-25T18:30:00.123Z
  std::string out;
  for (char ch : s) {
    if (ch != '-' && ch != ':') out.push_back(ch);
  }
  return out;
}

// Every tracked file, read on the caller's snapshot a page at a time.
Result<std::vector<TrackedFile>> ReadTrackedFiles(StoreTx& tx) {
  std::vector<TrackedFile> out;
  std::string after;
  while (true) {
    SL_ASSIGN_OR_RETURN(auto page, tx.files().CheckPage(after, 2000));
    for (auto& f : page) out.push_back({std::move(f.path), f.size, std::move(f.sha256)});
    if (page.size() < 2000) return out;
    after = page.back().id;
  }
}

// SQLite: the online backup into <dir>/storyloom.db, then the file list and row counts read
// from the copy, so they match it exactly.
Result<void> SnapshotSqlite(Store& store, const fs::path& dir, Manifest& manifest,
                            std::vector<TrackedFile>& files) {
  const fs::path copy = dir / kSqliteFile;
  SL_RETURN_IF_ERROR(store.SnapshotTo(copy.string()));
  {
    SL_ASSIGN_OR_RETURN(auto snap, Store::OpenSnapshot(fs::absolute(copy).string()));
    SL_RETURN_IF_ERROR(snap->Read([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(manifest.schema_version, tx.tables().SchemaVersion());
      SL_ASSIGN_OR_RETURN(files, ReadTrackedFiles(tx));
      SL_ASSIGN_OR_RETURN(auto tables, tx.tables().List());
      for (const auto& t : tables) {
        SL_ASSIGN_OR_RETURN(manifest.rows[t.name], tx.tables().Count(t));
      }
      return {};
    }));
  }
  // Hash after the copy is closed: nothing writes it from here on.
  std::error_code ec;
  MakePrivate(copy);
  SL_RETURN_IF_ERROR(FsyncPath(copy));
  manifest.file_copy = true;
  manifest.database_file.path = kSqliteFile;
  SL_ASSIGN_OR_RETURN(manifest.database_file.sha256, core::Sha256File(copy.string()));
  manifest.database_file.size = static_cast<std::int64_t>(fs::file_size(copy, ec));
  return {};
}

// PostgreSQL (any backend that is not embedded): every table to JSON lines, in one read
// snapshot, parents first.
Result<void> ExportLogical(Store& store, const fs::path& dir, Manifest& manifest,
                           std::vector<TrackedFile>& files, const ProgressFn& progress) {
  SL_RETURN_IF_ERROR(CreatePrivateDirs(dir, kLogicalDir));
  manifest.file_copy = false;
  SL_RETURN_IF_ERROR(store.Read([&](StoreTx& tx) -> Result<void> {
    manifest.tables.clear();
    manifest.rows.clear();
    SL_ASSIGN_OR_RETURN(manifest.schema_version, tx.tables().SchemaVersion());
    SL_ASSIGN_OR_RETURN(files, ReadTrackedFiles(tx));
    SL_ASSIGN_OR_RETURN(auto list, tx.tables().List());
    std::int64_t done = 0;
    for (const auto& t : list) {
      const std::string rel = std::string(kLogicalDir) + "/" + t.name + ".jsonl";
      std::ofstream out(dir / rel, std::ios::binary | std::ios::trunc);
      if (!out) return Fail(core::SysError("cannot write", (dir / rel).string(), errno));
      out << json{{"table", t.name}, {"columns", t.columns}}.dump() << '\n';
      std::int64_t n = 0;
      SL_RETURN_IF_ERROR(tx.tables().Scan(t, [&](const Row& r) -> Result<void> {
        out << RowToJsonLine(r, t.columns.size()) << '\n';
        ++n;
        return {};
      }));
      out.flush();
      if (!out) return Fail(core::SysError("cannot write", (dir / rel).string(), errno));
      out.close();
      manifest.rows[t.name] = n;
      manifest.tables.push_back({t.name, {rel, 0, ""}, n});
      if (progress) progress("database", ++done, static_cast<std::int64_t>(list.size()));
    }
    return {};
  }));
  for (auto& t : manifest.tables) {
    const fs::path p = dir / t.file.path;
    MakePrivate(p);
    SL_RETURN_IF_ERROR(FsyncPath(p));
    SL_ASSIGN_OR_RETURN(t.file.sha256, core::Sha256File(p.string()));
    t.file.size = static_cast<std::int64_t>(fs::file_size(p));
  }
  return {};
}

Result<void> RecordStatus(Store& store, const std::string& id, const std::string& status,
                          std::int64_t size, std::int64_t files, const std::string& manifest_sha,
                          const std::string& error) {
  BackupRecord r;
  r.id = id;
  r.status = status;
  r.size_bytes = size;
  r.files = files;
  r.manifest_sha256 = manifest_sha;
  r.error = error;
  return store.Write([&](StoreTx& tx) { return tx.backups().Finish(r); });
}

Result<BackupResult> CreateInto(Store& store, const files::FileStore& fstore, const fs::path& dir,
                                BackupResult& result, const BackupOptions& options) {
  Manifest manifest;
  manifest.id = result.id;
  manifest.kind = options.kind;
  manifest.created_at = core::FormatRfc3339(core::WallMillis());
  std::vector<TrackedFile> files;
  if (store.capabilities().embedded) {
    if (options.on_progress) options.on_progress("database", 0, 1);
    SL_RETURN_IF_ERROR(SnapshotSqlite(store, dir, manifest, files));
    if (options.on_progress) options.on_progress("database", 1, 1);
    result.bytes += manifest.database_file.size;
  } else {
    SL_RETURN_IF_ERROR(ExportLogical(store, dir, manifest, files, options.on_progress));
    for (const auto& t : manifest.tables) result.bytes += t.file.size;
  }
  // Files: a hard link shares the bytes (FileStore never rewrites a file in place, it renames
  // a new one over it, so the link keeps what it linked); copy across filesystems. The
  // checksum is taken of what was linked, not copied from the snapshot's row: a file replaced
  // between the snapshot and its link would otherwise leave a stale checksum. Such a file is
  // listed in changed_files (the database copy describes the older bytes).
  const fs::path out_root = dir / kOutputsDir;
  SL_RETURN_IF_ERROR(CreatePrivateDirs(dir, kOutputsDir));
  std::int64_t done = 0;
  for (const auto& f : files) {
    if (options.on_progress)
      options.on_progress("files", done++, static_cast<std::int64_t>(files.size()));
    auto src = fstore.Resolve(f.path);
    std::error_code ec;
    if (!src || !fs::exists(*src, ec) || !ValidateRelativePath(f.path)) {
      result.missing.push_back(f.path);
      continue;
    }
    const fs::path dest = out_root / f.path;
    if (const auto slash = f.path.rfind('/'); slash != std::string::npos) {
      SL_RETURN_IF_ERROR(CreatePrivateDirs(out_root, f.path.substr(0, slash)));
    }
    if (::link(src->c_str(), dest.c_str()) == 0) {
      ++result.linked;
    } else {
      fs::copy_file(*src, dest, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        if (!fs::exists(*src)) {  // deleted while we copied
          result.missing.push_back(f.path);
          continue;
        }
        return Fail(core::SysError("cannot copy", *src, ec.value()));
      }
      ++result.copied;
    }
    MakePrivate(dest);
    UniqueFd fd(::open(dest.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return Fail(core::SysError("cannot read", dest.string(), errno));
    std::int64_t size = 0;
    SL_ASSIGN_OR_RETURN(auto sha, Sha256Fd(fd.get(), size));
    if (sha != f.sha256 || size != f.size) {
      result.changed.push_back(f.path);
    }
    manifest.files.push_back({f.path, size, sha});
    result.bytes += size;
    ++result.files;
  }
  if (options.on_progress) {
    options.on_progress("files", static_cast<std::int64_t>(files.size()),
                        static_cast<std::int64_t>(files.size()));
  }
  manifest.missing_files = result.missing;
  manifest.changed_files = result.changed;
  manifest.linked = result.linked;
  manifest.copied = result.copied;
  // Durable before the manifest names it: every byte and directory entry of the backup
  // (syncfs: one flush for the whole filesystem instead of one fsync per file), then the
  // manifest (written aside, fsynced, renamed) and the directories that hold it. Only then
  // is the backup marked ok.
  {
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() < 0 || ::syncfs(d.get()) != 0)
      return Fail(core::SysError("cannot sync", dir.string(), errno));
  }
  const std::string text = ManifestText(manifest);
  {
    const fs::path tmp = dir / "manifest.json.tmp";
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (out.get() < 0) return Fail(core::SysError("cannot write", tmp.string(), errno));
    for (std::size_t w = 0; w < text.size();) {
      const ssize_t n = ::write(out.get(), text.data() + w, text.size() - w);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Fail(core::SysError("cannot write", tmp.string(), errno));
      w += static_cast<std::size_t>(n);
    }
    if (::fsync(out.get()) != 0) return Fail(core::SysError("cannot fsync", tmp.string(), errno));
    std::error_code ec;
    fs::rename(tmp, dir / kManifestFile, ec);
    if (ec) return Fail(core::SysError("cannot rename", tmp.string(), ec.value()));
  }
  SL_RETURN_IF_ERROR(FsyncPath(dir));
  SL_RETURN_IF_ERROR(FsyncPath(dir.parent_path()));
  result.manifest_sha256 = core::Sha256Hex(text);
  return result;
}

}  // namespace

Result<BackupResult> CreateBackup(Store& store, const files::FileStore& fstore,
                                  const BackupOptions& options) {
  if (options.kind != "manual" && options.kind != "scheduled") {
    return Fail(Error::InvalidArgument("backup kind must be manual or scheduled", "kind"));
  }
  const Millis now = core::WallMillis();
  fs::path dir = fs::absolute(options.backups_dir) / BackupDirName(now);
  std::error_code ec;
  SL_RETURN_IF_ERROR(core::MakeDirsDurable(dir.parent_path()));
  MakePrivate(dir.parent_path());
  for (int i = 2; fs::exists(dir, ec); ++i) {
    dir = fs::absolute(options.backups_dir) / fmt::format("{}-{}", BackupDirName(now), i);
  }
  if (::mkdir(dir.c_str(), 0700) != 0)
    return Fail(core::SysError("cannot create", dir.string(), errno));
  MakePrivate(dir);
  BackupResult result;
  result.id = core::NewId();
  result.path = dir.string();
  SL_RETURN_IF_ERROR(store.Write(
      [&](StoreTx& tx) { return tx.backups().Start(result.id, result.path, options.kind, now); }));
  auto r = CreateInto(store, fstore, dir, result, options);
  if (!r) {
    spdlog::error("backup {} failed: {}", dir.string(), r.error().message);
    // A backup without its manifest is no backup: its parts go (on a full disk they are
    // what fills it); the row says it failed and why.
    fs::remove_all(dir, ec);
    (void)RecordStatus(store, result.id, "failed", 0, 0, "", r.error().message);
    return Fail(r.error());
  }
  SL_RETURN_IF_ERROR(
      RecordStatus(store, result.id, "ok", result.bytes, result.files, result.manifest_sha256, ""));
  return result;
}

Result<std::vector<BackupRecord>> ListBackups(Store& store, int limit) {
  return store.ReadOne<std::vector<BackupRecord>>(
      [&](StoreTx& tx) { return tx.backups().List(limit); });
}

Result<std::optional<Millis>> LastGoodBackup(Store& store) {
  return store.ReadOne<std::optional<Millis>>([](StoreTx& tx) { return tx.backups().LastGood(); });
}

}  // namespace storyloom::ops
