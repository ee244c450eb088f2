// Fsck: checks that the files the database tracks and the files under save_outputs/ agree.
// Every tracked file must exist with its recorded size and sha256; files no row tracks are
// orphans. --repair quarantines orphans and marks rows whose file is gone; it never deletes
// or moves a file a row references. Thread-safe (no shared state); safe beside a running
// server (in-flight temporary files and files younger than the grace period are left alone).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "files/file_store.h"
#include "ops/backup.h"
#include "storyloom/store.h"

namespace storyloom::ops {

struct FsckOptions {
  bool repair = false;
  // Files modified more recently than this are not called orphans: a writer may be about to
  // commit the row that tracks them.
  Millis orphan_grace_ms = Millis{15} * 60 * 1000;
  ProgressFn on_progress;
};

struct FsckProblem {
  std::string kind;  // missing | size | sha256 | unsafe_path
  std::string file_id;
  std::string path;  // relative to save_outputs/
  std::string detail;
};

struct FsckReport {
  std::int64_t checked = 0;
  std::vector<FsckProblem> problems;       // tracked files that are missing or differ
  std::vector<std::string> known_missing;  // rows already marked missing by an earlier repair
  std::vector<std::string> orphans;        // untracked files under save_outputs/
  std::int64_t marked_missing = 0;         // rows marked by this run (--repair)
  std::vector<std::string> quarantined;    // where orphans went (--repair)
  // Non-zero exit: a tracked file is bad, or orphans remain.
  bool ok() const { return problems.empty() && orphans.size() == quarantined.size(); }
};

[[nodiscard]] Result<FsckReport> RunFsck(Store& store, files::FileStore& files,
                                         const FsckOptions& options);

}  // namespace storyloom::ops
