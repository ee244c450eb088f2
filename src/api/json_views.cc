#include "api/json_views.h"

#include <fmt/format.h>
#include <sodium.h>

#include <charconv>

#include "core/clock.h"
#include "core/hash.h"
#include "engine/pipeline.h"
#include "http/http.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

json ParseOr(const std::string& text, json fallback) {
  if (text.empty()) return fallback;
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

}  // namespace

std::string FormatUsd(NanoUsd nusd) {
  const bool neg = nusd < 0;
  const unsigned long long v = neg ? -static_cast<unsigned long long>(nusd) : nusd;
  std::string frac = fmt::format("{:09}", v % 1000000000ULL);
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return fmt::format("{}{}.{}", neg ? "-" : "", v / 1000000000ULL, frac);
}

json TimeJson(std::optional<Millis> ms) {
  return ms ? json(core::FormatRfc3339(*ms)) : json(nullptr);
}

namespace {

// Written once by ConfigureFileLinks before the server starts; read-only afterwards.
std::string g_files_origin;
unsigned char g_link_key[crypto_auth_hmacsha256_KEYBYTES];

std::string LinkSignature(const std::string& file_path, std::int64_t exp) {
  const std::string msg = fmt::format("{}\n{}", file_path, exp);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                         g_link_key);
  return core::HexEncode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

}  // namespace

void ConfigureFileLinks(const std::string& files_origin, const std::string& secret) {
  g_files_origin = files_origin;
  if (secret.empty()) {
    randombytes_buf(g_link_key, sizeof g_link_key);
  } else {
    crypto_hash_sha256(g_link_key, reinterpret_cast<const unsigned char*>(secret.data()),
                       secret.size());
  }
}

const std::string& FilesOrigin() { return g_files_origin; }

bool VerifyFileLink(const std::string& file_path, const std::string& exp, const std::string& sig) {
  std::int64_t when = 0;
  auto [p, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), when);
  if (ec != std::errc() || p != exp.data() + exp.size()) return false;
  if (when < core::WallMillis() / 1000) return false;
  return core::ConstantTimeEquals(LinkSignature(file_path, when), sig);
}

std::string FileUrl(const std::string& file_path) {
  std::string path = "/files/" + http::PercentEncode(file_path);
  if (g_files_origin.empty()) return path;
  // Valid until the end of the next whole hour: 1 to 2 hours, and the same link for an
  // hour, so browsers can cache it.
  const std::int64_t exp = (core::WallMillis() / 1000 / 3600 + 2) * 3600;
  return fmt::format("{}{}?exp={}&sig={}", g_files_origin, path, exp,
                     LinkSignature(file_path, exp));
}

std::string FileUrl(const GeneratedFile& f) { return FileUrl(f.file_path); }

json FileJson(const GeneratedFile& f) {
  return {{"id", f.id},
          {"workflow_id", f.workflow_id},
          {"scene_number", f.scene_number > 0 ? json(f.scene_number) : json(nullptr)},
          {"type", ToString(f.file_type)},
          {"name", f.file_name},
          {"path", f.file_path},
          {"url", FileUrl(f)},
          {"mime_type", f.mime_type},
          {"size", f.file_size},
          {"sha256", f.sha256},
          {"metadata", ParseOr(f.metadata_json, json::object())},
          {"created_at", core::FormatRfc3339(f.created_at)}};
}

json WorkflowJson(const Workflow& w) {
  json error = nullptr;
  if (!w.error_code.empty()) error = {{"code", w.error_code}, {"message", w.error_message}};
  json options = ParseOr(w.options_json, json::object());
  // A completed story with a video has its poster at a fixed path (the assemble phase
  // tracks it with the video), so lists show it without a query per row.
  json poster = nullptr;
  if (w.status == WorkflowStatus::kCompleted && options.is_object() &&
      options.value("video", false) == true) {
    poster = FileUrl(engine::PosterPath(w.id));
  }
  return {{"id", w.id},
          {"user_id", w.user_id},
          {"title", w.title},
          {"prompt", w.original_prompt},
          {"story", w.enhanced_story},
          {"status", ToString(w.status)},
          {"phase", w.current_phase},
          {"progress", w.progress},
          {"options", std::move(options)},
          {"poster_url", std::move(poster)},
          {"attempt", w.attempt},
          {"cancel_requested", w.cancel_requested},
          {"error", error},
          {"created_at", core::FormatRfc3339(w.created_at)},
          {"updated_at", core::FormatRfc3339(w.updated_at)},
          {"started_at", TimeJson(w.started_at)},
          {"finished_at", TimeJson(w.finished_at)}};
}

json PhaseJson(const WorkflowPhase& p) {
  return {{"name", ToString(p.phase)},
          {"status", ToString(p.status)},
          {"attempts", p.attempts},
          {"started_at", TimeJson(p.started_at)},
          {"finished_at", TimeJson(p.finished_at)},
          {"error", p.error.empty() ? json(nullptr) : json(p.error)},
          {"output", ParseOr(p.output_json, nullptr)}};
}

json SceneJson(const Scene& s, const std::vector<GeneratedFile>& files) {
  auto find = [&](const std::string& id) -> json {
    if (id.empty()) return nullptr;
    for (const auto& f : files) {
      if (f.id == id) return FileJson(f);
    }
    return nullptr;
  };
  return {{"number", s.scene_number},      {"title", s.title},
          {"description", s.description},  {"image_prompt", s.image_prompt},
          {"narration", s.narration},      {"image", find(s.image_file_id)},
          {"audio", find(s.audio_file_id)}};
}

json UsageJson(const ApiUsage& u) {
  return {{"id", u.id},
          {"workflow_id", u.workflow_id.empty() ? json(nullptr) : json(u.workflow_id)},
          {"user_id", u.user_id},
          {"phase", u.phase},
          {"provider", u.provider},
          {"model", u.model},
          {"operation", u.operation},
          {"status", u.status},
          {"http_status", u.http_status ? json(*u.http_status) : json(nullptr)},
          {"error_code", u.error_code.empty() ? json(nullptr) : json(u.error_code)},
          {"attempt", u.attempt},
          {"input_tokens", u.input_tokens},
          {"cached_input_tokens", u.cached_input_tokens},
          {"output_tokens", u.output_tokens},
          {"reasoning_tokens", u.reasoning_tokens},
          {"images", u.images},
          {"image_size", u.image_size.empty() ? json(nullptr) : json(u.image_size)},
          {"image_quality", u.image_quality.empty() ? json(nullptr) : json(u.image_quality)},
          {"characters", u.characters},
          {"audio_ms", u.audio_ms},
          {"duration_ms", u.duration_ms},
          {"cost_usd", u.cost_nusd ? json(FormatUsd(*u.cost_nusd)) : json(nullptr)},
          {"cost_nusd", u.cost_nusd ? json(*u.cost_nusd) : json(nullptr)},
          {"cost_source", u.cost_source.empty() ? json(nullptr) : json(u.cost_source)},
          {"created_at", core::FormatRfc3339(u.created_at)}};
}

json UsageCallJson(const ApiUsage& u) {
  json j = UsageJson(u);
  j["priced"] = u.cost_nusd.has_value();
  j["error"] = u.status == "error"
                   ? json{{"code", u.error_code.empty() ? json(nullptr) : json(u.error_code)},
                          {"http_status", u.http_status ? json(*u.http_status) : json(nullptr)}}
                   : json(nullptr);
  return j;
}

json UsageTotalsJson(const UsageTotals& t) {
  return {{"calls", t.calls},
          {"errors", t.errors},
          {"input_tokens", t.input_tokens},
          {"cached_input_tokens", t.cached_input_tokens},
          {"output_tokens", t.output_tokens},
          {"reasoning_tokens", t.reasoning_tokens},
          {"images", t.images},
          {"characters", t.characters},
          {"audio_ms", t.audio_ms},
          {"cost_usd", FormatUsd(t.cost_nusd)},
          {"cost_nusd", t.cost_nusd},
          {"unpriced_calls", t.unpriced_calls}};
}

json UserJson(const User& u) {
  return {{"id", u.id},
          {"username", u.username},
          {"email", u.email.empty() ? json(nullptr) : json(u.email)},
          {"role", ToString(u.role)},
          {"disabled", u.disabled},
          {"monthly_budget_usd",
           u.monthly_budget_nusd ? json(FormatUsd(*u.monthly_budget_nusd)) : json(nullptr)},
          {"created_at", core::FormatRfc3339(u.created_at)},
          {"updated_at", core::FormatRfc3339(u.updated_at)}};
}

json TokenJson(const ApiToken& t) {
  return {{"id", t.id},
          {"user_id", t.user_id},
          {"name", t.name},
          {"created_at", core::FormatRfc3339(t.created_at)},
          {"expires_at", TimeJson(t.expires_at)},
          {"last_used_at", TimeJson(t.last_used_at)},
          {"revoked_at", TimeJson(t.revoked_at)}};
}

}  // namespace storyloom::api
