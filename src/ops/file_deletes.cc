// Pending deletes of single files (see file_deletes.h).
#include "ops/file_deletes.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "core/failpoint.h"
#include "core/hash.h"
#include "core/ids.h"

namespace storyloom::ops {

Result<GeneratedFile> DeleteFile(Store& store, files::FileStore& files, const std::string& file_id,
                                 const FileDeleter& by) {
  const auto none = [] { return Fail(Error::NotFound("no such file")); };
  if (!core::IsUuid(file_id)) return none();
  GeneratedFile gone;
  SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) -> Result<void> {
    auto f = tx.files().Get(file_id);
    if (!f) return f.error().code == ErrorCode::kNotFound ? none() : Fail(f.error());
    // The workflow's row lock (PostgreSQL) orders this against a claim, retry or cancel.
    auto w = tx.workflows().GetForUpdate(f->workflow_id);
    if (!w) return w.error().code == ErrorCode::kNotFound ? none() : Fail(w.error());
    // Another user's file answers exactly like a missing one.
    if (!by.is_admin && w->user_id != by.user_id) return none();
    if (w->status == WorkflowStatus::kQueued || w->status == WorkflowStatus::kRunning) {
      return Fail(Error::FailedPrecondition(
          fmt::format("the workflow of this file is {}; cancel it or wait until it ends",
                      ToString(w->status)),
          "conflict"));
    }
    SL_ASSIGN_OR_RETURN(gone, tx.storage().DeleteFile(file_id));
    // Audited in the same transaction: no delete without its entry.
    AuditEntry a;
    a.user_id = by.user_id;
    a.action = "file.delete";
    a.target = gone.id;
    a.remote_addr = by.remote_addr;
    a.detail_json = nlohmann::json{{"workflow_id", gone.workflow_id},
                                   {"path", gone.file_path},
                                   {"file_type", ToString(gone.file_type)},
                                   {"size", gone.file_size}}
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return tx.audit().Append(a);
  }));
  // Failpoint files.kill_after_delete_commit: a kill -9 between the commit and the unlink.
  if (Failpoint("files.kill_after_delete_commit")) std::raise(SIGKILL);
  UnlinkDeletedFile(store, files, gone.file_path);
  return gone;
}

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
