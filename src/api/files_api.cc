// Files: /api/v1/files (metadata), /files/{path} (content with ETag and Range), and
// PUT /api/v1/workflows/{id}/files/{name} (raw uploads of files made elsewhere).
#include <fmt/format.h>
#include <sys/stat.h>

#include <charconv>
#include <filesystem>

#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/request_parsers.h"
#include "api/routes.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<http::Response> FileContent(App& app, http::Request& req, const Principal& p) {
  // The URL path is only ever a key into generated_files; it is never joined onto the disk.
  const std::string& rel = req.path_params["path"];
  auto f = app.store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.GetFileByPath(rel); });
  if (!f) {
    if (f.error().code == ErrorCode::kNotFound) return Fail(Error::NotFound("no such file"));
    return Fail(f.error());
  }
  if (!p.is_admin()) {
    SL_RETURN_IF_ERROR(OwnedWorkflow(app, f->workflow_id, p));
  }
  SL_ASSIGN_OR_RETURN(std::string path, app.files.Resolve(f->file_path));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(Error::NotFound("the file is tracked but missing on disk; run storyloom fsck"));
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const std::string etag = "\"" + f->sha256 + "\"";
  http::Response r;
  r.headers.Set("ETag", etag);
  r.headers.Set("Accept-Ranges", "bytes");
  r.headers.Set("Cache-Control", "private, max-age=0, must-revalidate");
  r.headers.Set("X-Content-Type-Options", "nosniff");
  // Uploaded HTML must not run with this origin's rights.
  if (f->mime_type.starts_with("text/html")) r.headers.Set("Content-Security-Policy", "sandbox allow-scripts");
  if (auto inm = req.headers.Get("If-None-Match"); inm && (*inm == etag || *inm == "*")) {
    r.status = 304;
    return r;
  }
  r.headers.Set("Content-Type", f->mime_type);
  if (req.Query("download") == "1") {
    r.headers.Set("Content-Disposition", fmt::format("attachment; filename=\"{}\"", f->file_name));
  }
  std::uint64_t first = 0, length = size;
  r.status = 200;
  if (auto range = req.headers.Get("Range")) {
    bool use = true;
    if (auto ir = req.headers.Get("If-Range"); ir && *ir != etag) use = false;
    if (use) {
      auto parsed = ParseRange(*range, size);
      if (!parsed) {
        http::Response bad = ErrorResponse(Error::InvalidArgument("the range is outside the file", "Range"));
        bad.status = 416;
        bad.headers.Set("Content-Range", fmt::format("bytes */{}", size));
        return bad;
      }
      if (*parsed) {
        first = (*parsed)->first;
        length = (*parsed)->second - first + 1;
        r.status = 206;
        r.headers.Set("Content-Range", fmt::format("bytes {}-{}/{}", first, (*parsed)->second, size));
      }
    }
  }
  r.file = http::FileBody{path, first, length};
  return r;
}

Result<http::Response> ListFiles(App& app, http::Request& req, const Principal& p) {
  FileFilter f;
  if (!p.is_admin()) f.user_id = p.user_id;
  if (auto wid = req.Query("workflow_id"); !wid.empty()) {
    SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, std::string(wid), p));
    f.workflow_id = w.id;
  }
  if (auto t = req.Query("type"); !t.empty()) {
    f.type = ParseFileType(t);
    if (!f.type) return Fail(Error::InvalidArgument("type must be image, audio, video, text, json or other", "type"));
  }
  SL_ASSIGN_OR_RETURN(f.limit, QueryInt(req, "limit", 100, 1, 200));
  f.cursor = std::string(req.Query("cursor"));
  SL_ASSIGN_OR_RETURN(auto page, app.store.ReadOne<Page<GeneratedFile>>(
                                     [&](StoreTx& tx) { return tx.ListFiles(f); }));
  json items = json::array();
  for (const auto& file : page.items) items.push_back(FileJson(file));
  return JsonResponse(200, {{"items", items},
                            {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}});
}

Result<http::Response> GetFile(App& app, http::Request& req, const Principal& p) {
  const std::string& id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such file"));
  auto f = app.store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.GetFile(id); });
  if (!f) return Fail(f.error().code == ErrorCode::kNotFound ? Error::NotFound("no such file") : f.error());
  if (!p.is_admin()) SL_RETURN_IF_ERROR(OwnedWorkflow(app, f->workflow_id, p));
  return JsonResponse(200, FileJson(*f));
}

std::string GuessMime(const std::string& name) {
  const std::string ext = std::filesystem::path(name).extension().string();
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".webp") return "image/webp";
  if (ext == ".gif") return "image/gif";
  if (ext == ".wav") return "audio/wav";
  if (ext == ".mp3") return "audio/mpeg";
  if (ext == ".ogg") return "audio/ogg";
  if (ext == ".mp4") return "video/mp4";
  if (ext == ".webm") return "video/webm";
  if (ext == ".json") return "application/json";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".html") return "text/html; charset=utf-8";
  return "application/octet-stream";
}

FileType GuessType(const std::string& mime) {
  if (mime.starts_with("image/")) return FileType::kImage;
  if (mime.starts_with("audio/")) return FileType::kAudio;
  if (mime.starts_with("video/")) return FileType::kVideo;
  if (mime.starts_with("application/json")) return FileType::kJson;
  if (mime.starts_with("text/")) return FileType::kText;
  return FileType::kOther;
}

Result<http::Response> UploadFile(App& app, http::Request& req, const Principal& p) {
  // The upload is already on disk in data_dir/tmp; whatever happens, don't leave it there.
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove(path, ec);
    }
  } cleanup{req.body_file};
  SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, req.path_params["id"], p));
  const std::string& name = req.path_params["name"];
  if (!files::FileStore::IsSafeName(name)) {
    return Fail(Error::InvalidArgument(
        "the file name may use letters, digits, '.', '_' and '-' (up to 128, not starting with '.')", "name"));
  }
  std::string mime(req.headers.Get("Content-Type").value_or(""));
  if (mime.empty() || mime == "application/octet-stream") mime = GuessMime(name);
  if (mime.size() > 200 || mime.find_first_of("\r\n") != std::string::npos) {
    return Fail(Error::InvalidArgument("Content-Type is not a media type", "Content-Type"));
  }
  FileType type = GuessType(mime);
  if (auto t = req.Query("type"); !t.empty()) {
    auto parsed = ParseFileType(t);
    if (!parsed) return Fail(Error::InvalidArgument("type must be image, audio, video, text, json or other", "type"));
    type = *parsed;
  }
  std::string scene_id;
  int scene_number = 0;
  if (auto s = req.Query("scene"); !s.empty()) {
    SL_ASSIGN_OR_RETURN(scene_number, QueryInt(req, "scene", 0, 1, 1000));
    SL_ASSIGN_OR_RETURN(auto scenes, app.store.ReadOne<std::vector<Scene>>(
                                         [&](StoreTx& tx) { return tx.ListScenes(w.id); }));
    for (const auto& sc : scenes) {
      if (sc.scene_number == scene_number) scene_id = sc.id;
    }
    if (scene_id.empty()) return Fail(Error::InvalidArgument("the workflow has no such scene", "scene"));
  }
  std::string metadata = "{}";
  if (auto m = req.Query("metadata"); !m.empty()) {
    json mj = json::parse(m, nullptr, false);
    if (mj.is_discarded() || !mj.is_object()) {
      return Fail(Error::InvalidArgument("metadata must be a JSON object", "metadata"));
    }
    metadata = mj.dump();
  }
  if (req.body_file.empty()) return Fail(Malformed("the upload has no body"));
  const std::string rel = w.id + "/uploads/" + name;
  auto existing = app.store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.GetFileByPath(rel); });
  if (existing) return Fail(Error::AlreadyExists("a file named " + name + " was already uploaded to this workflow"));
  SL_ASSIGN_OR_RETURN(files::StoredFile stored, app.files.Adopt(req.body_file, rel));
  cleanup.path.clear();
  NewFile nf{w.id, scene_id, type, stored.rel_path, name, mime, stored.size, stored.sha256, metadata};
  auto row = app.store.AddGeneratedFile(nf);
  if (!row) {
    (void)app.files.Remove(rel);
    return Fail(row.error());
  }
  http::Response r = JsonResponse(201, FileJson(*row));
  r.headers.Set("Location", "/api/v1/files/" + row->id);
  return r;
}

}  // namespace

void AddFileRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app, [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("GET", "/api/v1/files", bind(ListFiles));
  r.Add("GET", "/api/v1/files/{id}", bind(GetFile));
  r.Add("GET", "/files/{*path}", bind(FileContent), {.name = "/files"});
  r.Add("HEAD", "/files/{*path}", bind(FileContent), {.name = "/files"});
  http::RouteOptions upload;
  upload.max_body = app.config.max_upload_bytes;
  upload.body_to_file = true;
  upload.before_body = BeforeUpload(app);  // owner and quota from the headers
  r.Add("PUT", "/api/v1/workflows/{id}/files/{name}", bind(UploadFile), upload);
}

}  // namespace storyloom::api
