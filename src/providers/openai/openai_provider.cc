#include "providers/openai/openai_provider.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/bounded_json.h"
#include "providers/openai/http_client.h"
#include "providers/openai/json_schema.h"
#include "providers/openai/media_check.h"

namespace storyloom::providers {

namespace {

using nlohmann::json;
using openai::HttpCall;

// A provider reply, depth-bounded before parsing (core/bounded_json.h). `why` gets a short
// reason when the result is discarded.
json ParseReply(std::string_view body, std::string* why = nullptr) {
  auto j = core::ParseJson(body);
  if (j) return std::move(*j);
  if (why) *why = j.error().message;
  return json(json::value_t::discarded);
}
using openai::HttpReply;

// What one attempt produced: success, or an error and whether trying again may help.
struct Outcome {
  bool ok = false;
  bool retryable = false;
  std::int64_t retry_after_ms = -1;
  Error error;
  ApiUsage usage;    // counts only; Run fills in the rest
  std::string body;  // the reply body of a 2xx answer
};

Outcome Failed(Error e, bool retryable) {
  Outcome o;
  o.error = std::move(e);
  o.retryable = retryable;
  return o;
}

Error Interrupted() { return Error::Interrupted("interrupted"); }

std::int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t CodePoints(const std::string& s) {
  std::int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Fills token counts from an OpenAI `usage` object (chat and image shapes).
// The most tokens one reply may claim in any field: the bound the store puts on recorded
// counts (engine/pricing.h, kMaxUsageTokens). A service that reports more is not believed,
// and its numbers can then neither overflow the sums below nor the cost.
constexpr std::int64_t kMaxReportedTokens = 100'000'000;

void ReadUsage(const json& j, ApiUsage& u) {
  auto it = j.find("usage");
  if (it == j.end() || !it->is_object()) return;
  auto num = [](const json& o, const char* k) -> std::int64_t {
    auto f = o.find(k);
    if (f == o.end() || !f->is_number_integer()) return 0;
    if (f->is_number_unsigned())
      return static_cast<std::int64_t>(
          std::min<std::uint64_t>(f->get<std::uint64_t>(), kMaxReportedTokens));
    return std::clamp<std::int64_t>(f->get<std::int64_t>(), 0, kMaxReportedTokens);
  };
  const json& us = *it;
  u.input_tokens = num(us, "prompt_tokens") + num(us, "input_tokens");
  u.output_tokens = num(us, "completion_tokens") + num(us, "output_tokens");
  for (const char* details : {"prompt_tokens_details", "input_tokens_details"}) {
    if (auto d = us.find(details); d != us.end() && d->is_object()) {
      u.cached_input_tokens += num(*d, "cached_tokens");
    }
  }
  if (auto d = us.find("completion_tokens_details"); d != us.end() && d->is_object()) {
    u.reasoning_tokens = num(*d, "reasoning_tokens");
  }
  u.input_tokens = std::min(u.input_tokens, kMaxReportedTokens);
  u.output_tokens = std::min(u.output_tokens, kMaxReportedTokens);
  u.cached_input_tokens = std::min(u.cached_input_tokens, u.input_tokens);
}

json StorySchema() {
  return {{"type", "object"},
          {"properties", {{"title", {{"type", "string"}}}, {"story", {{"type", "string"}}}}},
          {"required", {"title", "story"}},
          {"additionalProperties", false}};
}

json ScenesSchema(int n) {
  json scene = {{"type", "object"},
                {"properties",
                 {{"title", {{"type", "string"}}},
                  {"description", {{"type", "string"}}},
                  {"image_prompt", {{"type", "string"}}},
                  {"narration", {{"type", "string"}}}}},
                {"required", {"title", "description", "image_prompt", "narration"}},
                {"additionalProperties", false}};
  return {{"type", "object"},
          {"properties",
           {{"scenes", {{"type", "array"}, {"minItems", n}, {"maxItems", n}, {"items", scene}}}}},
          {"required", {"scenes"}},
          {"additionalProperties", false}};
}

class OpenAIProvider final : public Provider {
 public:
  explicit OpenAIProvider(OpenAIOptions o) : o_(std::move(o)) {
    while (!o_.base_url.empty() && o_.base_url.back() == '/') o_.base_url.pop_back();
  }

  std::string name() const override { return "openai"; }

  Result<Story> WriteStory(const StoryRequest& req, CallContext& ctx) override {
    const std::string model = ModelFor("story", req.chat_model, o_.chat_model);
    std::string system = fmt::format(
        "You are a skilled storyteller. Write an original story from the user's prompt. It will "
        "be illustrated as a storyboard of {} scenes, so give it {} clear, visual moments{}. "
        "Reply in JSON: `title` is a short title; `story` is the whole story as plain text, "
        "paragraphs separated by blank lines, about {} words.",
        req.scenes, req.scenes, req.style.empty() ? "" : ", suited to the style: " + req.style,
        std::clamp(req.scenes * 120, 150, 1500));
    std::string user = req.prompt;
    if (!req.title.empty()) user += "\n\nUse this title: " + req.title;
    SL_ASSIGN_OR_RETURN(json j, Chat(ctx, model, system, user, "story", StorySchema()));
    Story s;
    s.title = j["title"].get<std::string>();
    s.text = j["story"].get<std::string>();
    if (!req.title.empty()) s.title = req.title;
    s.metadata_json =
        json{{"provider", "openai"}, {"model", model}, {"generator", "chat.completions"}}.dump();
    return s;
  }

  Result<std::vector<SceneSpec>> BreakdownScenes(const StoryRequest& req, const Story& story,
                                                 CallContext& ctx) override {
    const std::string model = ModelFor("scenes", req.chat_model, o_.chat_model);
    std::string system = fmt::format(
        "You turn a story into a storyboard. Split the story into exactly {} consecutive scenes "
        "covering it from start to end. For each scene give: `title` (a few words), "
        "`description` (what happens, one to three sentences), `image_prompt` (a self-contained "
        "visual description of the scene for an image generator: characters, setting, light, "
        "composition{}), and `narration` (the words a narrator reads for this scene, from the "
        "story).",
        req.scenes, req.style.empty() ? "" : "; style: " + req.style);
    const std::string user = "Title: " + story.title + "\n\n" + story.text;
    SL_ASSIGN_OR_RETURN(json j,
                        Chat(ctx, model, system, user, "storyboard", ScenesSchema(req.scenes)));
    std::vector<SceneSpec> out;
    int number = 0;
    for (const json& s : j["scenes"]) {
      SceneSpec spec;
      spec.number = ++number;
      spec.title = s["title"].get<std::string>();
      spec.description = s["description"].get<std::string>();
      spec.image_prompt = s["image_prompt"].get<std::string>();
      spec.narration = s["narration"].get<std::string>();
      out.push_back(std::move(spec));
    }
    return out;
  }

  Result<Media> RenderImage(const StoryRequest& req, const SceneSpec& scene,
                            CallContext& ctx) override {
    const std::string model = ModelFor("images", req.image_model, o_.image_model);
    const bool gpt_image = model.starts_with("gpt-image");
    const bool dalle3 = model.starts_with("dall-e-3");
    std::string size = o_.image_size;
    if (size.empty()) size = gpt_image ? "1536x1024" : dalle3 ? "1792x1024" : "1024x1024";
    std::string quality = o_.image_quality;
    if (quality.empty()) quality = gpt_image ? "medium" : dalle3 ? "standard" : "";
    std::string prompt = scene.image_prompt.empty() ? scene.description : scene.image_prompt;
    if (!req.style.empty()) prompt += "\n\nStyle: " + req.style;
    json body = {{"model", model}, {"prompt", prompt}, {"n", 1}, {"size", size}};
    if (!quality.empty()) body["quality"] = quality;
    // gpt-image models always answer base64 and refuse the parameter.
    if (!gpt_image) body["response_format"] = "b64_json";
    const std::string payload = body.dump();

    ApiUsage planned = Planned(ctx, model, "image");
    planned.images = 1;
    planned.image_size = size;
    planned.image_quality = quality;
    Media media;
    SL_RETURN_IF_ERROR(Run(ctx, planned, [&](int) {
      Outcome o = Post(ctx, "/images/generations", payload);
      o.usage.image_size = size;
      o.usage.image_quality = quality;
      if (!o.ok) return o;
      std::string why;
      json j = ParseReply(o.body, &why);
      o.ok = false;
      if (j.is_discarded()) return Malformed(std::move(o), "the images reply: " + why);
      if (!j.is_object() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
          !j["data"][0].is_object()) {
        return Malformed(std::move(o), "the images reply has no data[0]");
      }
      ReadUsage(j, o.usage);
      o.usage.images = static_cast<std::int64_t>(j["data"].size());  // made, hence charged
      const json& d = j["data"][0];
      std::string bytes;
      if (d.contains("b64_json") && d["b64_json"].is_string()) {
        auto decoded = openai::DecodeBase64(d["b64_json"].get_ref<const std::string&>());
        if (!decoded) return Failed(decoded.error(), true);
        bytes = std::move(*decoded);
      } else if (d.contains("url") && d["url"].is_string()) {
        auto fetched = Download(ctx, d["url"].get<std::string>());
        if (!fetched) {
          Outcome f = Failed(fetched.error(), !fetched.error().IsInterrupted());
          f.usage = o.usage;
          return f;
        }
        bytes = std::move(*fetched);
      } else {
        return Malformed(std::move(o), "data[0] has neither b64_json nor url");
      }
      auto info = openai::InspectImage(bytes);
      if (!info) {
        Outcome f = Failed(info.error(), true);
        f.usage = o.usage;
        return f;
      }
      json meta = {
          {"width", info->width}, {"height", info->height}, {"model", model}, {"size", size}};
      if (!quality.empty()) meta["quality"] = quality;
      if (d.contains("revised_prompt") && d["revised_prompt"].is_string()) {
        meta["revised_prompt"] = d["revised_prompt"];
      }
      media = Media{std::move(bytes), info->mime_type, info->extension, meta.dump()};
      o.ok = true;
      return o;
    }));
    return media;
  }

  Result<Media> Narrate(const StoryRequest& req, const SceneSpec& scene,
                        CallContext& ctx) override {
    const std::string model = ModelFor("narration", req.speech_model, o_.speech_model);
    const std::string text = scene.narration.empty() ? scene.description : scene.narration;
    json body = {{"model", model},
                 {"input", text},
                 {"voice", o_.speech_voice},
                 {"response_format", o_.speech_format}};
    const std::string payload = body.dump();
    const std::int64_t chars = CodePoints(text);
    ApiUsage planned = Planned(ctx, model, "speech");
    planned.characters = chars;
    planned.audio_ms = chars * 150;  // slower than any narrator: an upper bound
    Media media;
    SL_RETURN_IF_ERROR(Run(ctx, planned, [&](int) {
      Outcome o = Post(ctx, "/audio/speech", payload);
      o.usage.characters = chars;
      if (!o.ok) return o;
      const std::string bytes = std::move(o.body);
      o.ok = false;
      auto info = openai::InspectAudio(bytes, o_.speech_format);
      if (!info) {
        Outcome f = Failed(info.error(), true);
        f.usage = o.usage;
        return f;
      }
      o.usage.audio_ms = info->duration_ms;
      json meta = {{"model", model},
                   {"voice", o_.speech_voice},
                   {"format", o_.speech_format},
                   {"characters", chars}};
      if (info->duration_ms > 0) meta["duration_ms"] = info->duration_ms;
      media = Media{bytes, info->mime_type, info->extension, meta.dump()};
      o.ok = true;
      return o;
    }));
    return media;
  }

 private:
  std::string ModelFor(const std::string& phase, const std::string& requested,
                       const std::string& fallback) const {
    if (!requested.empty()) return requested;
    if (auto it = o_.phase_models.find(phase); it != o_.phase_models.end() && !it->second.empty()) {
      return it->second;
    }
    return fallback;
  }

  ApiUsage Planned(const CallContext& ctx, const std::string& model, const std::string& op) const {
    ApiUsage u;
    u.provider = "openai";
    u.model = model;
    u.operation = op;
    u.phase = ctx.phase;
    return u;
  }

  // Removes the API key (and anything that looks like one) from text from the service.
  std::string Redact(std::string s) const {
    if (!o_.api_key.empty()) {
      for (auto at = s.find(o_.api_key); at != std::string::npos; at = s.find(o_.api_key, at)) {
        s.replace(at, o_.api_key.size(), "[redacted]");
      }
    }
    for (auto at = s.find("sk-"); at != std::string::npos; at = s.find("sk-", at + 3)) {
      auto end = s.find_first_of(" \t\r\n\"',.;)", at);
      s.replace(at, (end == std::string::npos ? s.size() : end) - at, "sk-[redacted]");
    }
    if (s.size() > 300) s = s.substr(0, 300) + "...";
    return s;
  }

  std::vector<std::string> Headers() const {
    std::vector<std::string> h = {"Content-Type: application/json", "Accept: */*"};
    if (!o_.api_key.empty()) h.push_back("Authorization: Bearer " + o_.api_key);
    return h;
  }

  Outcome Malformed(Outcome o, const std::string& why) const {
    o.ok = false;
    o.retryable = true;
    o.error = Error{ErrorCode::kUnavailable, "malformed reply: " + why, "malformed_reply"};
    return o;
  }

  // POSTs `payload`; on a 2xx the outcome is ok and carries the body. Otherwise a classified
  // error.
  Outcome Post(const CallContext& ctx, const std::string& path, const std::string& payload) const {
    HttpCall call;
    call.url = o_.base_url + path;
    call.headers = Headers();
    call.body = payload;
    call.connect_timeout_ms = o_.connect_timeout_ms;
    call.timeout_ms = o_.timeout_ms;
    call.cancelled = ctx.cancelled;
    auto r = openai::Perform(call);
    if (!r) {
      const std::string& d = r.error().detail;
      return Failed(r.error(), d == "timeout" || d == "network_error");
    }
    Outcome o;
    o.usage.http_status = r->status;
    if (r->status >= 200 && r->status < 300) {
      o.ok = true;
      o.body = std::move(r->body);
      return o;
    }
    o.retry_after_ms = openai::RetryAfterMs(r->headers, WallMs());
    const int s = r->status;
    o.retryable = s == 408 || s == 409 || s == 429 || s >= 500;
    std::string detail = s == 429   ? "rate_limited"
                         : s >= 500 ? "server_error"
                                    : fmt::format("http_{}", s);
    std::string said;
    json j = ParseReply(r->body);
    if (j.is_object() && j.contains("error") && j["error"].is_object() &&
        j["error"].contains("message") && j["error"]["message"].is_string()) {
      said = Redact(j["error"]["message"].get<std::string>());
    }
    // 4xx messages explain configuration mistakes (model names, keys); 5xx ones are noise.
    std::string msg = fmt::format("{} answered HTTP {}", path.substr(1), s);
    if (!said.empty() && s < 500) msg += ": " + said;
    o.error =
        Error{o.retryable ? ErrorCode::kUnavailable : ErrorCode::kFailedPrecondition, msg, detail};
    ReadUsage(j.is_object() ? j : json::object(), o.usage);
    return o;
  }

  // Fetches an image URL. Credentials go only to the configured API's own origin.
  Result<std::string> Download(const CallContext& ctx, const std::string& url) const {
    HttpCall call;
    call.method = "GET";
    call.url = url;
    call.follow_redirects = true;
    call.connect_timeout_ms = o_.connect_timeout_ms;
    call.timeout_ms = o_.timeout_ms;
    call.cancelled = ctx.cancelled;
    auto origin = [](const std::string& u) {
      auto s = u.find("://");
      auto e = s == std::string::npos ? std::string::npos : u.find('/', s + 3);
      return u.substr(0, e);
    };
    if (!o_.api_key.empty() && origin(url) == origin(o_.base_url)) {
      call.headers.push_back("Authorization: Bearer " + o_.api_key);
    }
    SL_ASSIGN_OR_RETURN(HttpReply r, openai::Perform(call));
    if (r.status < 200 || r.status >= 300) {
      return Fail(Error{ErrorCode::kUnavailable,
                        fmt::format("downloading the image answered HTTP {}", r.status),
                        "download_failed"});
    }
    return std::move(r.body);
  }

  Result<json> Chat(CallContext& ctx, const std::string& model, const std::string& system,
                    const std::string& user, const std::string& schema_name, const json& schema) {
    json body = {
        {"model", model},
        {"messages",
         {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}}},
        {"response_format",
         {{"type", "json_schema"},
          {"json_schema", {{"name", schema_name}, {"strict", true}, {"schema", schema}}}}},
        {"max_completion_tokens", o_.max_output_tokens}};
    const std::string payload = body.dump();
    ApiUsage planned = Planned(ctx, model, "chat");
    // A token is at least one byte of the request, so its size bounds the input tokens.
    planned.input_tokens = static_cast<std::int64_t>(payload.size()) + 64;
    planned.output_tokens = o_.max_output_tokens;
    json result;
    SL_RETURN_IF_ERROR(Run(ctx, planned, [&](int) {
      Outcome o = Post(ctx, "/chat/completions", payload);
      if (!o.ok) return o;
      std::string why;
      json j = ParseReply(o.body, &why);
      o.ok = false;
      if (j.is_discarded()) return Malformed(std::move(o), "the body: " + why);
      if (!j.is_object()) return Malformed(std::move(o), "the body is not a JSON object");
      ReadUsage(j, o.usage);
      if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
          !j["choices"][0].is_object() || !j["choices"][0].contains("message") ||
          !j["choices"][0]["message"].is_object()) {
        return Malformed(std::move(o), "no choices[0].message");
      }
      const json& msg = j["choices"][0]["message"];
      if (msg.contains("refusal") && msg["refusal"].is_string() &&
          !msg["refusal"].get_ref<const std::string&>().empty()) {
        Outcome f = Failed(
            Error{ErrorCode::kFailedPrecondition,
                  "the model refused: " + Redact(msg["refusal"].get<std::string>()), "refused"},
            false);
        f.usage = o.usage;
        return f;
      }
      if (!msg.contains("content") || !msg["content"].is_string()) {
        return Malformed(std::move(o), "the message has no text content");
      }
      json content = ParseReply(msg["content"].get_ref<const std::string&>(), &why);
      if (content.is_discarded() && why.starts_with("the JSON nests")) {
        return Malformed(std::move(o), "the content: " + why);
      }
      if (content.is_discarded()) {
        const bool cut = j["choices"][0].value("finish_reason", json()) == "length";
        return Malformed(std::move(o), cut ? "the JSON was cut off at the output token limit"
                                           : "the content is not valid JSON");
      }
      if (std::string err = openai::ValidateJson(schema, content); !err.empty()) {
        return Malformed(std::move(o), "it does not match the " + schema_name + " schema: " + err);
      }
      for (const char* key : {"story", "title"}) {
        if (content.contains(key) && content[key].is_string() &&
            content[key].get_ref<const std::string&>().empty()) {
          return Malformed(std::move(o), std::string("`") + key + "` is empty");
        }
      }
      result = std::move(content);
      o.ok = true;
      return o;
    }));
    return result;
  }

  // Runs `attempt` until it succeeds, fails for good, or retries run out, reporting each
  // attempt and reserving budget before each one.
  Result<void> Run(CallContext& ctx, const ApiUsage& planned,
                   const std::function<Outcome(int)>& attempt) {
    const int max_attempts = std::max(1, o_.max_retries + 1);
    Error last;
    int n = 1;
    for (;; ++n) {
      if (ctx.IsCancelled()) return Fail(Interrupted());
      SL_RETURN_IF_ERROR(ctx.Reserve(planned));
      const auto start = std::chrono::steady_clock::now();
      Outcome o = attempt(n);
      ApiUsage u = o.usage;
      u.provider = "openai";
      u.model = planned.model;
      u.operation = planned.operation;
      u.phase = ctx.phase;
      u.attempt = n;
      u.status = o.ok ? "ok" : "error";
      if (!o.ok) u.error_code = o.error.IsInterrupted() ? "cancelled" : o.error.detail;
      if (!o.ok && u.operation == "image" && u.image_size.empty())
        u.image_size = planned.image_size;
      u.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      if (ctx.record_usage) SL_RETURN_IF_ERROR(ctx.record_usage(u));
      if (o.ok) return {};
      if (o.error.IsInterrupted()) return Fail(Interrupted());
      last = std::move(o.error);
      if (!o.retryable || n >= max_attempts) break;
      std::int64_t delay = std::min<std::int64_t>(
          o_.max_backoff_ms, static_cast<std::int64_t>(o_.backoff_ms) << std::min(n - 1, 20));
      thread_local std::mt19937_64 rng{std::random_device{}()};
      delay =
          delay / 2 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(delay / 2 + 1));
      if (o.retry_after_ms >= 0) delay = std::min<std::int64_t>(o.retry_after_ms, 120000);
      spdlog::warn("openai {} with {} (attempt {} of {}) failed: {}; retrying in {} ms",
                   planned.operation, planned.model, n, max_attempts, last.message, delay);
      for (auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
           std::chrono::steady_clock::now() < until;) {
        if (ctx.IsCancelled()) return Fail(Interrupted());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    const std::string code = last.detail.empty() ? "provider_error" : last.detail;
    return Fail(
        Error{last.code == ErrorCode::kFailedPrecondition ? ErrorCode::kFailedPrecondition
                                                          : ErrorCode::kUnavailable,
              fmt::format("openai {} with model {} failed after {} attempt{}: {}",
                          planned.operation, planned.model, n, n == 1 ? "" : "s", last.message),
              code});
  }

  OpenAIOptions o_;
};

}  // namespace

std::unique_ptr<Provider> MakeOpenAIProvider(OpenAIOptions options) {
  return std::make_unique<OpenAIProvider>(std::move(options));
}

}  // namespace storyloom::providers
