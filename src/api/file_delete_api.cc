// DELETE /api/v1/files/{id}: one file, row and bytes. The row goes and a pending delete is
// recorded in one transaction; then the bytes are unlinked (ops/file_deletes.h), so a crash
// in between leaves no row without its file, and the server finishes the unlink at start.
// Refused (409) while the file's workflow is queued or running; audited (file.delete) in
// the delete's transaction.
#include <fmt/format.h>

#include <csignal>

#include "api/handler_util.h"
#include "api/routes.h"
#include "core/failpoint.h"
#include "core/ids.h"
#include "ops/file_deletes.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<http::Response> DeleteFile(App& app, http::Request& req, const Principal& p) {
  const std::string& id = req.path_params["id"];
  const auto none = [] { return Fail(Error::NotFound("no such file")); };
  if (!core::IsUuid(id)) return none();
  GeneratedFile gone;
  SL_RETURN_IF_ERROR(app.store.Write([&](StoreTx& tx) -> Result<void> {
    auto f = tx.files().Get(id);
    if (!f) return f.error().code == ErrorCode::kNotFound ? none() : Fail(f.error());
    // The workflow's row lock (PostgreSQL) orders this against a claim, retry or cancel.
    auto w = tx.workflows().GetForUpdate(f->workflow_id);
    if (!w) return w.error().code == ErrorCode::kNotFound ? none() : Fail(w.error());
    // Another user's file answers exactly like a missing one.
    if (!p.is_admin() && w->user_id != p.user_id) return none();
    if (w->status == WorkflowStatus::kQueued || w->status == WorkflowStatus::kRunning) {
      return Fail(Error::FailedPrecondition(
          fmt::format("the workflow of this file is {}; cancel it or wait until it ends",
                      ToString(w->status)),
          "conflict"));
    }
    SL_ASSIGN_OR_RETURN(gone, tx.storage().DeleteFile(id));
    // Audited in the same transaction: no delete without its entry.
    AuditEntry a;
    a.user_id = p.user_id;
    a.action = "file.delete";
    a.target = gone.id;
    a.remote_addr = req.remote_addr;
    a.detail_json = json{{"workflow_id", gone.workflow_id},
                         {"path", gone.file_path},
                         {"file_type", ToString(gone.file_type)},
                         {"size", gone.file_size}}
                        .dump(-1, ' ', false, json::error_handler_t::replace);
    return tx.audit().Append(a);
  }));
  // Failpoint files.kill_after_delete_commit: a kill -9 between the commit and the unlink.
  if (Failpoint("files.kill_after_delete_commit")) std::raise(SIGKILL);
  ops::UnlinkDeletedFile(app.store, app.files, gone.file_path);
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace

void AddFileDeleteRoutes(App& app, http::Router& r) {
  r.Add("DELETE", "/api/v1/files/{id}", Authed(app, [&app](http::Request& req, const Principal& p) {
          return DeleteFile(app, req, p);
        }));
}

}  // namespace storyloom::api
