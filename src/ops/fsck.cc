#include "ops/fsck.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <unordered_set>

#include "core/clock.h"
#include "core/hash.h"
#include "db/database.h"

namespace storyloom::ops {
namespace fs = std::filesystem;
using db::Value;

namespace {

struct Row {
  std::string id, path, sha256, state;
  std::int64_t size = 0;
};

// One page of generated_files in id order (keyset), outside any long transaction.
Result<std::vector<Row>> Page(Store& store, const std::string& after, int limit) {
  return db::ReadValue<std::vector<Row>>(
      store.database(), [&](db::Connection& c) -> Result<std::vector<Row>> {
        const Value v[] = {after, std::int64_t{limit}};
        SL_ASSIGN_OR_RETURN(auto rows,
                            c.Query("SELECT id, file_path, file_size, sha256, state FROM "
                                    "generated_files WHERE id > ? ORDER BY id LIMIT ?",
                                    v));
        std::vector<Row> out;
        for (const auto& r : rows)
          out.push_back({r.Text(0), r.Text(1), r.Text(3), r.Text(4), r.Int(2)});
        return out;
      });
}

}  // namespace

Result<FsckReport> RunFsck(Store& store, files::FileStore& files, const FsckOptions& options) {
  FsckReport report;
  std::int64_t total = 0;
  SL_ASSIGN_OR_RETURN(
      auto count,
      db::ReadValue<std::int64_t>(store.database(), [](db::Connection& c) -> Result<std::int64_t> {
        SL_ASSIGN_OR_RETURN(auto r, c.QueryOne("SELECT count(*) FROM generated_files"));
        return r.Int(0);
      }));
  total = count;
  std::unordered_set<std::string> tracked;
  std::string after;
  while (true) {
    SL_ASSIGN_OR_RETURN(auto page, Page(store, after, 500));
    if (page.empty()) break;
    after = page.back().id;
    for (const Row& r : page) {
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
          SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) { return tx.MarkFileMissing(r.id); }));
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
    const Millis mtime =
        static_cast<Millis>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    if (now - mtime < options.orphan_grace_ms) continue;
    // A row may have appeared since we read the list (a workflow finishing now).
    auto row = store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.GetFileByPath(rel); });
    if (row) continue;
    report.orphans.push_back(rel);
    if (options.repair) {
      SL_ASSIGN_OR_RETURN(auto dest, files.Quarantine(rel));
      report.quarantined.push_back(dest);
    }
  }
  return report;
}

}  // namespace storyloom::ops
