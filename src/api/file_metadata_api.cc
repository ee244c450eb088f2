// PATCH /api/v1/files/{id}: edits a file's metadata object with a JSON merge patch (RFC
// 7396): members of the patch replace the file's, null removes one, nested objects merge.
// The keys the server records about the bytes and how they were made are reserved: a patch
// may repeat their current value (a client sending back what it read) but not change or
// remove them. Bounded: the server's body limit (1 MiB), 16 KiB of resulting metadata, 8
// levels of nesting and 256 keys in all.
#include <fmt/format.h>

#include <array>
#include <string_view>

#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "core/bounded_json.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxMetadataBytes = std::size_t{16} * 1024;
constexpr int kMaxMetadataDepth = 8;  // levels inside the metadata object
constexpr int kMaxMetadataKeys = 256;

// Facts the server records (pipeline, provider, video encoder) or derives from the bytes.
constexpr std::array<std::string_view, 19> kReservedKeys = {
    "scene_number", "provider",    "prompt",      "style",     "model", "width",     "height",
    "duration_s",   "video_codec", "audio_codec", "bitrate",   "fps",   "subtitles", "cues",
    "video",        "sha256",      "size",        "mime_type", "type"};

bool IsReserved(std::string_view key) {
  for (std::string_view r : kReservedKeys) {
    if (r == key) return true;
  }
  return false;
}

// Every object key at any depth (the depth is already bounded, so recursion is too).
int CountKeys(const json& j) {
  int n = 0;
  if (j.is_object()) {
    for (const auto& item : j.items()) n += 1 + CountKeys(item.value());
  } else if (j.is_array()) {
    for (const auto& v : j) n += CountKeys(v);
  }
  return n;
}

bool MergePatchType(std::string_view content_type) {
  const std::string_view media = content_type.substr(0, content_type.find(';'));
  auto trimmed = media;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string m = lower(trimmed);
  return m == "application/merge-patch+json" || m == "application/json";
}

// The file `id` as `p` may edit it (another user's answers like a missing one), with its
// workflow's owner.
Result<std::pair<GeneratedFile, std::string>> EditableFile(StoreTx& tx, const std::string& id,
                                                           const Principal& p) {
  auto f = tx.files().Get(id);
  if (!f) {
    return Fail(f.error().code == ErrorCode::kNotFound ? Error::NotFound("no such file")
                                                       : f.error());
  }
  auto w = OwnedWorkflow(tx, f->workflow_id, p);
  if (!w) {
    return Fail(w.error().code == ErrorCode::kNotFound ? Error::NotFound("no such file")
                                                       : w.error());
  }
  return std::pair{std::move(*f), w->user_id};
}

Result<http::Response> PatchFile(App& app, http::Request& req, const Principal& p) {
  const std::string& id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such file"));
  // Whose file it is comes first: another user's file answers 404 whatever the body.
  using Found = std::pair<GeneratedFile, std::string>;
  auto read = [&] {
    return app.store.ReadOne<Found>([&](StoreTx& tx) { return EditableFile(tx, id, p); });
  };
  SL_ASSIGN_OR_RETURN(Found found, read());
  const std::string_view type = req.headers.Get("Content-Type").value_or("");
  if (!MergePatchType(type)) {
    return http::Response::Error(
        415, "unsupported_media_type",
        "send the patch as application/merge-patch+json (or application/json)");
  }
  if (req.body.empty()) return Fail(Malformed("the request needs a JSON object body"));
  auto parsed = core::ParseJson(req.body);
  if (!parsed) {
    if (parsed.error().too_deep) return Fail(Error::InvalidArgument(parsed.error().message));
    return Fail(Malformed("the body is not valid JSON"));
  }
  const json patch = std::move(*parsed);
  if (!patch.is_object()) {
    return Fail(Error::InvalidArgument("the patch must be a JSON object", "metadata"));
  }
  // The patch nests one level deeper than the metadata (its own object).
  if (core::JsonNestingDepth(req.body, kMaxMetadataDepth + 2) > kMaxMetadataDepth + 1) {
    return Fail(Error::InvalidArgument(
        fmt::format("metadata may nest at most {} levels", kMaxMetadataDepth), "metadata"));
  }

  // Read, merge, compare-and-set: a concurrent edit makes the set fail and the merge rerun
  // on what it wrote, so no edit is lost.
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      SL_ASSIGN_OR_RETURN(found, read());
    }
    const auto& [file, owner] = found;
    json current = core::ParseJson(file.metadata_json).value_or(json::object());
    if (!current.is_object()) current = json::object();
    for (const auto& [key, value] : patch.items()) {
      if (!IsReserved(key)) continue;
      if (current.contains(key) ? current[key] == value : value.is_null()) continue;
      return Fail(Error::InvalidArgument(
          fmt::format("metadata.{} is recorded by the server and cannot be changed", key),
          "metadata." + key));
    }
    json merged = current;
    merged.merge_patch(patch);
    const std::string text = merged.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > kMaxMetadataBytes) {
      return http::Response::Error(
          413, "payload_too_large",
          fmt::format("the metadata would be {} bytes; at most {} are kept", text.size(),
                      kMaxMetadataBytes));
    }
    if (const int keys = CountKeys(merged); keys > kMaxMetadataKeys) {
      return Fail(Error::InvalidArgument(
          fmt::format("the metadata would have {} keys; at most {}", keys, kMaxMetadataKeys),
          "metadata"));
    }
    auto set = app.store.Write(
        [&](StoreTx& tx) { return tx.files().SetMetadata(id, file.metadata_json, text); });
    if (!set && set.error().code == ErrorCode::kAborted && attempt < 4) continue;
    if (!set) {
      return Fail(set.error().code == ErrorCode::kNotFound ? Error::NotFound("no such file")
                                                           : set.error());
    }
    if (owner != p.user_id) {
      // An administrator editing another user's file.
      Audit(app, p.user_id, "file.metadata", id, req,
            {{"user_id", owner}, {"keys", json(patch.size())}});
    }
    GeneratedFile updated = file;
    updated.metadata_json = text;
    return JsonResponse(200, FileJson(updated));
  }
}

}  // namespace

void AddFileMetadataRoutes(App& app, http::Router& r) {
  // The body limit is the server's default for JSON bodies (1 MiB); what is kept is bounded
  // by kMaxMetadataBytes.
  r.Add("PATCH", "/api/v1/files/{id}", Authed(app, [&app](http::Request& req, const Principal& p) {
          return PatchFile(app, req, p);
        }));
}

}  // namespace storyloom::api
