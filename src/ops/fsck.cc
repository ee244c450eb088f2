#include "ops/fsck.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "core/clock.h"
#include "core/hash.h"
#include "ops/file_deletes.h"

namespace storyloom::ops {
namespace fs = std::filesystem;

Result<FsckReport> RunFsck(Store& store, files::FileStore& files, const FsckOptions& options) {
  FsckReport report;
  // Deletes a crash interrupted are finished by a repair (and never called orphans below).
  if (options.repair) SL_RETURN_IF_ERROR(FinishFileDeletes(store, files));
  std::int64_t total = 0;
  SL_ASSIGN_OR_RETURN(
      auto count, store.ReadOne<std::int64_t>([](StoreTx& tx) { return tx.files().CountAll(); }));
  total = count;
  std::unordered_set<std::string> tracked;
  std::string after;
  while (true) {
    SL_ASSIGN_OR_RETURN(auto page, store.ReadOne<std::vector<FileCheckRow>>([&](StoreTx& tx) {
      return tx.files().CheckPage(after, 500);
    }));
    if (page.empty()) break;
    after = page.back().id;
    for (const FileCheckRow& r : page) {
      tracked.insert(r.path);
      ++report.checked;
      if (options.on_progress) options.on_progress("files", report.checked, total);
      auto abs = files.Resolve(r.path);
      if (!abs) {
        report.problems.push_back({"unsafe_path", r.id, r.path, abs.error().message});
        continue;
      }
      struct stat st {};
      if (::stat(abs->c_str(), &st) != 0) {
        if (r.state == "missing") {
          report.known_missing.push_back(r.path);
          continue;
        }
        report.problems.push_back({"missing", r.id, r.path, "the file does not exist"});
        if (options.repair) {
          SL_RETURN_IF_ERROR(
              store.Write([&](StoreTx& tx) { return tx.files().MarkMissing(r.id); }));
          ++report.marked_missing;
        }
        continue;
      }
      if (st.st_size != r.size) {
        report.problems.push_back(
            {"size", r.id, r.path, fmt::format("size {} but the row says {}", st.st_size, r.size)});
        continue;
      }
      auto sha = core::Sha256File(*abs);
      if (!sha) {
        report.problems.push_back({"sha256", r.id, r.path, sha.error().message});
      } else if (*sha != r.sha256) {
        report.problems.push_back(
            {"sha256", r.id, r.path, fmt::format("sha256 {} but the row says {}", *sha, r.sha256)});
      }
    }
  }
  SL_ASSIGN_OR_RETURN(auto on_disk, files.ListAll());
  const Millis now = core::WallMillis();
  for (const std::string& rel : on_disk) {
    if (tracked.contains(rel)) continue;
    const std::string name = fs::path(rel).filename().string();
    if (name.starts_with(".tmp-")) continue;  // a write in progress
    auto abs = files.Resolve(rel);
    if (!abs) continue;
    struct stat st {};
    if (::stat(abs->c_str(), &st) != 0) continue;
    // The newer of the modification and the status change: a hard link made into the data
    // directory (import --link) keeps its original's old mtime, but the link sets the ctime.
    const auto millis = [](const timespec& t) {
      return static_cast<Millis>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
    };
    const Millis changed = std::max(millis(st.st_mtim), millis(st.st_ctim));
    if (now - changed < options.orphan_grace_ms) continue;
    // A row may have appeared since we read the list (a workflow finishing now).
    auto row = store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.files().GetByPath(rel); });
    if (row) continue;
    // A deleted file whose unlink a crash interrupted: not lost, only late.
    auto pending =
        store.ReadOne<bool>([&](StoreTx& tx) { return tx.storage().IsPendingDelete(rel); });
    if (pending && *pending) continue;
    report.orphans.push_back(rel);
    if (options.repair) {
      SL_ASSIGN_OR_RETURN(auto dest, files.Quarantine(rel));
      report.quarantined.push_back(dest);
    }
  }
  return report;
}

}  // namespace storyloom::ops
