// Pending deletes of single files (see file_deletes.h).
#include "ops/file_deletes.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/hash.h"

namespace storyloom::ops {

void UnlinkDeletedFile(Store& store, files::FileStore& files, const std::string& rel_path) {
  if (auto r = files.Remove(rel_path); !r) {
    spdlog::warn("could not remove deleted file {}: {}", rel_path, r.error().message);
    return;
  }
  auto forgot = store.Write([&](StoreTx& tx) { return tx.storage().ForgetDelete(rel_path); });
  if (!forgot) {
    spdlog::warn("could not drop the pending delete of {}: {}", rel_path, forgot.error().message);
  }
}

Result<int> FinishFileDeletes(Store& store, files::FileStore& files, int limit) {
  SL_ASSIGN_OR_RETURN(auto pending, store.ReadOne<std::vector<PendingFileDelete>>([&](StoreTx& tx) {
    return tx.storage().PendingDeletes(limit);
  }));
  int finished = 0;
  for (const PendingFileDelete& d : pending) {
    SL_ASSIGN_OR_RETURN(bool tracked, store.ReadOne<bool>([&](StoreTx& tx) {
      return tx.storage().IsTracked(d.file_path);
    }));
    bool remove = !tracked;
    if (remove) {
      // Only the deleted bytes: a file written at the path since belongs to someone else.
      auto abs = files.Resolve(d.file_path);
      struct stat st {};
      if (abs && ::stat(abs->c_str(), &st) == 0) {
        auto sha = core::Sha256File(*abs);
        remove = sha && *sha == d.sha256;
      } else {
        remove = false;  // already gone (or a path no file can be at)
      }
    }
    if (remove) {
      if (auto r = files.Remove(d.file_path); !r) {
        spdlog::warn("could not remove deleted file {}: {}", d.file_path, r.error().message);
        continue;
      }
      spdlog::info("removed {}, deleted before a crash", d.file_path);
    }
    SL_RETURN_IF_ERROR(
        store.Write([&](StoreTx& tx) { return tx.storage().ForgetDelete(d.file_path); }));
    ++finished;
  }
  return finished;
}

}  // namespace storyloom::ops
