// Verifying a backup: every part it holds against its manifest, the database copy with the
// backend's own integrity check, and nothing on disk the manifest does not list.
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "ops/backup.h"
#include "ops/backup_format.h"
#include "ops/backup_io.h"
#include "ops/backup_manifest.h"
#include "storyloom/store.h"

namespace storyloom::ops {
namespace fs = std::filesystem;

namespace {

// Checks one file of the backup against its manifest entry, reading it beneath `root` without
// following symlinks; appends what is wrong to `problems` (keyed by `name`).
void CheckFile(const fs::path& root, const std::string& rel, std::int64_t size,
               const std::string& sha256, const std::string& name,
               std::vector<std::string>& problems) {
  auto fd = OpenBeneath(root, rel);
  if (!fd) {
    problems.push_back(fd.error().code == ErrorCode::kNotFound
                           ? fmt::format("{}: missing", name)
                           : fmt::format("{}: {}", name, fd.error().message));
    return;
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || st.st_size != size) {
    problems.push_back(fmt::format("{}: size {} but the manifest says {}", name, st.st_size, size));
    return;
  }
  std::int64_t got = 0;
  auto sha = Sha256Fd(fd->get(), got);
  if (!sha || *sha != sha256 || got != size) {
    problems.push_back(fmt::format("{}: sha256 differs from the manifest", name));
  }
}

}  // namespace

Result<VerifyReport> VerifyBackup(const std::string& path, const ProgressFn& on_progress) {
  VerifyReport report;
  const fs::path dir(path);
  // A manifest is input like any other: its paths are checked before any is opened.
  SL_ASSIGN_OR_RETURN(const Manifest manifest, ReadManifest(dir));
  if (manifest.file_copy) {
    const std::string name = "database copy " + (dir / kSqliteFile).string();
    auto fd = OpenBeneath(dir, kSqliteFile);
    if (!fd) {
      report.problems.push_back(fd.error().code == ErrorCode::kNotFound
                                    ? name + ": missing"
                                    : name + ": " + fd.error().message);
    } else {
      // integrity_check reads every page; run it on a private copy (made from the file
      // checked here, with its checksum) so the backup is never opened for writing.
      std::string tmpl = (fs::temp_directory_path() / "storyloom-verify-XXXXXX").string();
      if (::mkdtemp(tmpl.data()) == nullptr)
        return Fail(Error::Unavailable("cannot create a temporary directory"));
      struct Cleanup {
        std::string dir;
        ~Cleanup() {
          std::error_code ec;
          fs::remove_all(dir, ec);
        }
      } cleanup{tmpl};
      const fs::path copy = fs::path(tmpl) / "check.db";
      auto copied = CopyVerified(fd->get(), copy, manifest.database_file.size,
                                 manifest.database_file.sha256, name);
      if (!copied) {
        report.problems.push_back(copied.error().code == ErrorCode::kFailedPrecondition
                                      ? fmt::format("{}: sha256 differs from the manifest", name)
                                      : copied.error().message);
      } else {
        auto opened = Store::OpenSnapshot(copy.string());
        auto check = opened ? (*opened)->CheckIntegrity()
                            : Result<std::vector<std::string>>(Fail(opened.error()));
        if (!check) {
          report.problems.push_back(fmt::format("{}: {}", name, check.error().message));
        } else {
          for (const auto& p : *check) report.problems.push_back("database copy: " + p);
        }
      }
    }
  } else {
    for (const auto& t : manifest.tables) {
      CheckFile(dir, t.file.path, t.file.size, t.file.sha256, (dir / t.file.path).string(),
                report.problems);
    }
  }
  const auto& files = manifest.files;
  std::set<std::string> listed;
  std::int64_t done = 0;
  const fs::path root = dir / kOutputsDir;
  for (const auto& f : files) {
    if (on_progress) on_progress("verify", done++, static_cast<std::int64_t>(files.size()));
    const std::string& rel = f.path;
    listed.insert(rel);
    const std::size_t before = report.problems.size();
    CheckFile(dir, std::string(kOutputsDir) + "/" + rel, f.size, f.sha256, rel, report.problems);
    if (report.problems.size() == before ||
        report.problems.back().find(": missing") == std::string::npos)
      ++report.files_checked;
  }
  if (on_progress) on_progress("verify", done, static_cast<std::int64_t>(files.size()));
  for (const auto& m : manifest.missing_files) {
    report.warnings.push_back(fmt::format("{}: was already gone when the backup was taken", m));
  }
  for (const auto& m : manifest.changed_files) {
    report.warnings.push_back(fmt::format(
        "{}: was replaced after the database snapshot; the backup holds the newer bytes", m));
  }
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(root, ec))) {
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      const auto st = it->symlink_status(ec);
      const std::string rel = fs::relative(it->path(), root, ec).generic_string();
      if (fs::is_symlink(st)) {
        report.problems.push_back(fmt::format("{}: a symlink", Quote(rel)));
        continue;
      }
      if (!fs::is_regular_file(st)) continue;
      if (!listed.contains(rel))
        report.problems.push_back(fmt::format("{}: not in the manifest", Quote(rel)));
    }
  } else if (fs::exists(fs::symlink_status(root, ec))) {
    report.problems.push_back(fmt::format("{}: not a directory", kOutputsDir));
  }
  return report;
}

}  // namespace storyloom::ops
