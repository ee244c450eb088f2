// DELETE /api/v1/files/{id}: one file, row and bytes (ops::DeleteFile): refused (409) while
// the file's workflow is queued or running; another user's file is 404 like a missing one.
#include "api/handler_util.h"
#include "api/routes.h"
#include "ops/file_deletes.h"

namespace storyloom::api {

namespace {

Result<http::Response> DeleteFile(App& app, http::Request& req, const Principal& p) {
  SL_RETURN_IF_ERROR(ops::DeleteFile(app.store, app.files, req.path_params["id"],
                                     {p.user_id, p.is_admin(), req.remote_addr}));
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
