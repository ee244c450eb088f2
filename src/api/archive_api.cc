// GET /api/v1/workflows/{id}/archive: the whole story as one zip (files/story_archive.h),
// streamed with chunked transfer encoding as it is made (http::BodySource), so memory stays
// at about one 64 KiB piece per download whatever the story's size.
//
// Only a finished story (completed, failed or cancelled) is archived: a queued or running
// one answers 409, since its files and rows are still changing. The rows are read in one
// transaction when the download starts; each file's bytes are checked against its row's
// size and sha256 as they are sent, and a file that no longer matches ends the download
// without the zip's central directory and the last chunk (the client sees an incomplete
// transfer, the server logs which file), never a whole-looking bad archive.
#include <fmt/format.h>

#include "api/handler_util.h"
#include "api/routes.h"
#include "files/story_archive.h"
#include "ops/story_export.h"

namespace storyloom::api {

namespace {

class ArchiveBody : public http::BodySource {
 public:
  explicit ArchiveBody(std::unique_ptr<files::ZipStream> zip) : zip_(std::move(zip)) {}
  Result<bool> Next(std::string& out) override { return zip_->Next(out); }

 private:
  std::unique_ptr<files::ZipStream> zip_;
};

Result<http::Response> GetArchive(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, req.path_params["id"], p));
  SL_ASSIGN_OR_RETURN(files::StoryArchive archive, ops::OpenStoryArchive(app.store, app.files, w));
  if (w.user_id != p.user_id) {
    Audit(app, p.user_id, "workflow.archive", w.id, req,
          {{"user_id", w.user_id}, {"files", archive.files}, {"bytes", archive.file_bytes}});
  }
  http::Response r;
  r.status = 200;
  r.headers.Set("Content-Type", "application/zip");
  // The name is letters, digits and '-' only (ArchiveFolderName): nothing to quote.
  r.headers.Set("Content-Disposition",
                fmt::format("attachment; filename=\"{}\"", archive.file_name));
  r.headers.Set("Cache-Control", "no-store");
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.stream = std::make_shared<ArchiveBody>(std::move(archive.zip));
  return r;
}

}  // namespace

void AddArchiveRoutes(App& app, http::Router& r) {
  r.Add("GET", "/api/v1/workflows/{id}/archive",
        Authed(app,
               [&app](http::Request& req, const Principal& p) { return GetArchive(app, req, p); }));
}

}  // namespace storyloom::api
