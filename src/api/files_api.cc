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
#include "api/storage_quota.h"
#include "core/bounded_json.h"
#include "core/failpoint.h"
#include "core/ids.h"
#include "core/storage_error.h"
#include "files/media_type.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

// Every /files response, errors and redirects included: the body never runs as a page of
// any origin (no sniffing; a sandboxed, script-less, opaque-origin document at most).
constexpr const char* kFilesCsp =
    "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self' data:; "
    "style-src 'unsafe-inline'; frame-ancestors 'none'";

void ProtectFileResponse(http::Response& r) {
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.headers.Set("Content-Security-Policy", kFilesCsp);
}

// The storyboard the pipeline assembles is the one HTML document shown inline: the server
// writes it (every user text escaped), uploads can never land at its path, and the
// sandbox above keeps it script-less in an opaque origin.
bool IsAssembledStoryboard(const GeneratedFile& f) {
  return f.file_path == f.workflow_id + "/story/storyboard.html";
}

// Whether the request came to the files origin (by its Host header).
bool OnFilesOrigin(const http::Request& req) {
  const std::string& origin = FilesOrigin();
  if (origin.empty()) return false;
  const std::string authority = origin.substr(origin.find("://") + 3);
  const std::string_view host = req.headers.Get("Host").value_or("");
  if (host.size() != authority.size()) return false;
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(host[i])) !=
        std::tolower(static_cast<unsigned char>(authority[i]))) {
      return false;
    }
  }
  return true;
}

// The file row at the request's path that `p` may read (p == nullptr: a verified signed
// link). Another user's file and a missing file give the same not_found.
Result<GeneratedFile> ReadableFile(App& app, const std::string& rel, const Principal* p) {
  auto f = app.store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.files().GetByPath(rel); });
  if (!f) {
    if (f.error().code == ErrorCode::kNotFound) return Fail(Error::NotFound("no such file"));
    return Fail(f.error());
  }
  if (p && !p->is_admin()) {
    if (auto w = OwnedWorkflow(app, f->workflow_id, *p); !w) {
      if (w.error().code == ErrorCode::kNotFound) return Fail(Error::NotFound("no such file"));
      return Fail(w.error());
    }
  }
  return f;
}

// Streams the file's content with its served type decided from its bytes.
Result<http::Response> ServeFile(App& app, http::Request& req, const GeneratedFile& f) {
  SL_ASSIGN_OR_RETURN(std::string path, app.files.Resolve(f.file_path));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(Error::NotFound("the file is tracked but missing on disk; run storyloom fsck"));
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const std::string etag = "\"" + f.sha256 + "\"";
  http::Response r;
  r.headers.Set("ETag", etag);
  r.headers.Set("Accept-Ranges", "bytes");
  r.headers.Set("Cache-Control", "private, max-age=0, must-revalidate");
  if (auto inm = req.headers.Get("If-None-Match"); inm && (*inm == etag || *inm == "*")) {
    r.status = 304;
    return r;
  }
  files::ServedType served{"text/html; charset=utf-8", true};
  if (!IsAssembledStoryboard(f)) {
    SL_ASSIGN_OR_RETURN(std::string head, files::ReadHead(path));
    served = files::DecideServedType(head, f.mime_type);
  }
  r.headers.Set("Content-Type", served.content_type);
  if (!served.inline_ok || req.Query("download") == "1") {
    r.headers.Set("Content-Disposition", fmt::format("attachment; filename=\"{}\"", f.file_name));
  }
  std::uint64_t first = 0, length = size;
  r.status = 200;
  if (auto range = req.headers.Get("Range")) {
    bool use = true;
    if (auto ir = req.headers.Get("If-Range"); ir && *ir != etag) use = false;
    if (use) {
      auto parsed = ParseRange(*range, size);
      if (!parsed) {
        http::Response bad =
            ErrorResponse(Error::InvalidArgument("the range is outside the file", "Range"));
        bad.status = 416;
        bad.headers.Set("Content-Range", fmt::format("bytes */{}", size));
        return bad;
      }
      if (*parsed) {
        first = (*parsed)->first;
        length = (*parsed)->second - first + 1;
        r.status = 206;
        r.headers.Set("Content-Range",
                      fmt::format("bytes {}-{}/{}", first, (*parsed)->second, size));
      }
    }
  }
  r.file = http::FileBody{path, first, length};
  return r;
}

Result<http::Response> FileContent(App& app, http::Request& req, const Principal& p) {
  // The URL path is only ever a key into generated_files; it is never joined onto the disk.
  SL_ASSIGN_OR_RETURN(GeneratedFile f, ReadableFile(app, req.path_params["path"], &p));
  if (!FilesOrigin().empty() && !OnFilesOrigin(req)) {
    // Content is only ever served on the files origin: send the reader to a signed link.
    http::Response r;
    r.status = 302;
    std::string location = FileUrl(f);
    if (req.Query("download") == "1") location += "&download=1";
    r.headers.Set("Location", location);
    r.headers.Set("Cache-Control", "no-store");
    return r;
  }
  return ServeFile(app, req, f);
}

// A signed link on the files origin: no credentials, the signature is the permission.
Result<http::Response> SignedFileContent(App& app, http::Request& req) {
  const std::string& rel = req.path_params["path"];
  if (!VerifyFileLink(rel, std::string(req.Query("exp")), std::string(req.Query("sig")))) {
    return Fail(Error::Unauthenticated("the link is invalid or has expired"));
  }
  SL_ASSIGN_OR_RETURN(GeneratedFile f, ReadableFile(app, rel, nullptr));
  return ServeFile(app, req, f);
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
    if (!f.type)
      return Fail(
          Error::InvalidArgument("type must be image, audio, video, text, json or other", "type"));
  }
  if (auto order = req.Query("order"); order == "oldest") {
    f.oldest_first = true;
  } else if (!order.empty() && order != "newest") {
    return Fail(Error::InvalidArgument("order must be newest or oldest", "order"));
  }
  SL_ASSIGN_OR_RETURN(f.limit, QueryInt(req, "limit", 100, 1, 200));
  f.cursor = std::string(req.Query("cursor"));
  SL_ASSIGN_OR_RETURN(auto page, app.store.ReadOne<Page<GeneratedFile>>(
                                     [&](StoreTx& tx) { return tx.files().List(f); }));
  json items = json::array();
  for (const auto& file : page.items) items.push_back(FileJson(file));
  return JsonResponse(
      200, {{"items", items},
            {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}});
}

Result<http::Response> GetFile(App& app, http::Request& req, const Principal& p) {
  const std::string& id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such file"));
  auto f = app.store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.files().Get(id); });
  if (!f)
    return Fail(f.error().code == ErrorCode::kNotFound ? Error::NotFound("no such file")
                                                       : f.error());
  if (!p.is_admin()) {
    if (auto w = OwnedWorkflow(app, f->workflow_id, p); !w) {
      // Another user's file answers exactly like a missing one.
      if (w.error().code == ErrorCode::kNotFound) return Fail(Error::NotFound("no such file"));
      return Fail(w.error());
    }
  }
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
    return Fail(
        Error::InvalidArgument("the file name may use letters, digits, '.', '_' and '-' (up to "
                               "128, not starting with '.')",
                               "name"));
  }
  std::string mime(req.headers.Get("Content-Type").value_or(""));
  if (mime.empty() || mime == "application/octet-stream") mime = GuessMime(name);
  if (mime.size() > 200 || mime.find_first_of("\r\n") != std::string::npos) {
    return Fail(Error::InvalidArgument("Content-Type is not a media type", "Content-Type"));
  }
  FileType type = GuessType(mime);
  if (auto t = req.Query("type"); !t.empty()) {
    auto parsed = ParseFileType(t);
    if (!parsed)
      return Fail(
          Error::InvalidArgument("type must be image, audio, video, text, json or other", "type"));
    type = *parsed;
  }
  std::string scene_id;
  int scene_number = 0;
  if (auto s = req.Query("scene"); !s.empty()) {
    SL_ASSIGN_OR_RETURN(scene_number, QueryInt(req, "scene", 0, 1, 1000));
    SL_ASSIGN_OR_RETURN(auto scenes, app.store.ReadOne<std::vector<Scene>>(
                                         [&](StoreTx& tx) { return tx.scenes().List(w.id); }));
    for (const auto& sc : scenes) {
      if (sc.scene_number == scene_number) scene_id = sc.id;
    }
    if (scene_id.empty())
      return Fail(Error::InvalidArgument("the workflow has no such scene", "scene"));
  }
  std::string metadata = "{}";
  if (auto m = req.Query("metadata"); !m.empty()) {
    auto mj = core::ParseJson(m);  // depth-bounded: dump() below recurses
    if (!mj || !mj->is_object()) {
      return Fail(Error::InvalidArgument(
          mj ? "metadata must be a JSON object" : "metadata: " + mj.error().message, "metadata"));
    }
    metadata = mj->dump();
  }
  if (req.body_file.empty()) return Fail(Malformed("the upload has no body"));
  // The recorded type is what the bytes are, not only what the client said (serving decides
  // from the bytes again in any case).
  SL_ASSIGN_OR_RETURN(std::string head, files::ReadHead(req.body_file));
  mime = files::TypeToRecord(head, mime);
  if (req.Query("type").empty()) type = GuessType(mime);
  const std::string rel = w.id + "/uploads/" + name;
  const Error taken =
      Error::AlreadyExists("a file named " + name + " was already uploaded to this workflow");
  auto existing =
      app.store.ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.files().GetByPath(rel); });
  if (existing) return Fail(taken);
  // Over the owner's quota (a body sent without Content-Length): nothing reaches save_outputs.
  SL_RETURN_IF_ERROR(CheckStorageRoom(app, w.user_id, req.body_size));
  // Uploads never replace a file: of concurrent uploads of one name exactly one moves its
  // bytes into place (atomically, RENAME_NOREPLACE) and the others get 409, so the file
  // under a row is never swapped or removed by another request.
  auto adopted = app.files.AdoptNew(req.body_file, rel);
  if (!adopted)
    return Fail(adopted.error().code == ErrorCode::kAlreadyExists ? taken : adopted.error());
  const files::StoredFile& stored = *adopted;
  cleanup.path.clear();
  NewFile nf{w.id, scene_id,    type,          stored.rel_path, name,
             mime, stored.size, stored.sha256, metadata};
  const auto add = [&](StoreTx& tx) -> Result<GeneratedFile> {
    // Under the owner's row lock: concurrent uploads never go over the quota together.
    SL_RETURN_IF_ERROR(
        tx.storage().Reserve(w.user_id, stored.size, app.config.storage_default_quota));
    return tx.files().Add(nf);
  };
  // files.before_row: the moment between the rename into place and the row's commit.
  const int injected = FailpointErrno("files.before_row");
  auto row = injected != 0 ? Result<GeneratedFile>(Fail(core::SysError(
                                 "failpoint before the row of", stored.rel_path, injected)))
                           : app.store.WriteOne<GeneratedFile>(add);
  if (!row) {
    // The file at rel is ours (nobody else could have put one there), so removing it is safe.
    (void)app.files.Remove(rel);
    if (row.error().code == ErrorCode::kNotFound && row.error().message.starts_with("workflow")) {
      return Fail(Error::NotFound("no such workflow"));  // deleted meanwhile
    }
    return Fail(row.error().code == ErrorCode::kAlreadyExists ? taken : row.error());
  }
  http::Response r = JsonResponse(201, FileJson(*row));
  r.headers.Set("Location", "/api/v1/files/" + row->id);
  return r;
}

}  // namespace

void AddFileRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("GET", "/api/v1/files", bind(ListFiles));
  r.Add("GET", "/api/v1/files/{id}", bind(GetFile));
  AddFileMetadataRoutes(app, r);
  AddArchiveRoutes(app, r);
  ConfigureFileLinks(app.config.files_origin, app.config.files_url_secret);
  // /files: signed links on the files origin need no credentials; everything else is
  // authenticated. Every answer, errors included, gets the protective headers.
  http::Handler authed = bind(FileContent);
  http::Handler content = [&app, authed](http::Request& req) {
    http::Response r;
    if (OnFilesOrigin(req) && !req.Query("sig").empty()) {
      auto signed_r = SignedFileContent(app, req);
      r = signed_r ? std::move(*signed_r) : ErrorResponse(signed_r.error());
    } else {
      r = authed(req);
    }
    ProtectFileResponse(r);
    return r;
  };
  r.Add("GET", "/files/{*path}", content, {.name = "/files"});
  r.Add("HEAD", "/files/{*path}", content, {.name = "/files"});
  http::RouteOptions upload;
  upload.max_body = app.config.max_upload_bytes;
  upload.body_to_file = true;
  upload.before_body = BeforeUpload(app);  // owner and quota from the headers
  r.Add("PUT", "/api/v1/workflows/{id}/files/{name}", bind(UploadFile), upload);
}

}  // namespace storyloom::api
