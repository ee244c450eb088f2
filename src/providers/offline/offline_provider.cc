#include "providers/offline/offline_provider.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "providers/offline/narration.h"
#include "providers/offline/scene_card.h"
#include "providers/offline/story_template.h"
#include "providers/offline/wav.h"

namespace storyloom::providers {
namespace {

constexpr const char* kProvider = "offline";
constexpr const char* kStoryModel = "template-v1";
constexpr const char* kImageModel = "scene-card-v1";
constexpr const char* kSpeechModel = "espeak-ng";

using Clock = std::chrono::steady_clock;

std::int64_t ElapsedMs(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// Roughly four characters per token, as tokenizers of English text average.
std::int64_t EstimateTokens(std::size_t chars) {
  return static_cast<std::int64_t>((chars + 3) / 4);
}

ApiUsage BaseUsage(const CallContext& ctx, const char* model, const char* operation,
                   Clock::time_point start) {
  ApiUsage usage;
  usage.workflow_id = ctx.workflow_id;
  usage.user_id = ctx.user_id;
  usage.phase = ctx.phase;
  usage.provider = kProvider;
  usage.model = model;
  usage.operation = operation;
  usage.status = "ok";
  usage.duration_ms = ElapsedMs(start);
  usage.cost_nusd = 0;
  usage.cost_source = "offline";
  return usage;
}

// Hands `usage` to the engine; its error (e.g. a budget) becomes the call's error.
Result<void> Record(CallContext& ctx, ApiUsage& usage) {
  if (!ctx.record_usage) return {};
  return ctx.record_usage(usage);
}

Result<void> CheckCancelled(const CallContext& ctx) {
  if (ctx.IsCancelled()) return Fail(Error::Aborted("cancelled"));
  return {};
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

OfflineProvider::OfflineProvider(OfflineOptions options) : options_(std::move(options)) {}

Result<Story> OfflineProvider::WriteStory(const StoryRequest& req, CallContext& ctx) {
  SL_RETURN_IF_ERROR(CheckCancelled(ctx));
  if (IsBlank(req.prompt)) return Fail(Error::InvalidArgument("prompt is empty", "prompt"));
  const auto start = Clock::now();
  offline::ComposedStory composed = offline::ComposeStory(req.prompt, req.title, req.style);
  Story story;
  story.title = std::move(composed.title);
  story.text = std::move(composed.text);
  story.metadata_json =
      nlohmann::json{{"provider", kProvider}, {"generator", kStoryModel}, {"ai", false}}.dump();

  ApiUsage usage = BaseUsage(ctx, kStoryModel, "chat", start);
  usage.input_tokens = EstimateTokens(req.prompt.size() + req.title.size() + req.style.size());
  usage.output_tokens = EstimateTokens(story.title.size() + story.text.size());
  SL_RETURN_IF_ERROR(Record(ctx, usage));
  return story;
}

Result<std::vector<SceneSpec>> OfflineProvider::BreakdownScenes(const StoryRequest& req,
                                                                const Story& story,
                                                                CallContext& ctx) {
  SL_RETURN_IF_ERROR(CheckCancelled(ctx));
  if (req.scenes < 1 || req.scenes > 20) {
    return Fail(Error::InvalidArgument("scenes must be between 1 and 20", "scenes"));
  }
  if (IsBlank(story.text)) return Fail(Error::InvalidArgument("story is empty", "story"));
  const auto start = Clock::now();
  std::vector<SceneSpec> scenes = offline::ComposeScenes(req, story);

  std::size_t out_chars = 0;
  for (const SceneSpec& s : scenes) {
    out_chars += s.title.size() + s.description.size() + s.image_prompt.size() + s.narration.size();
  }
  ApiUsage usage = BaseUsage(ctx, kStoryModel, "chat", start);
  usage.input_tokens = EstimateTokens(story.title.size() + story.text.size());
  usage.output_tokens = EstimateTokens(out_chars);
  SL_RETURN_IF_ERROR(Record(ctx, usage));
  return scenes;
}

Result<Media> OfflineProvider::RenderImage(const StoryRequest& req, const SceneSpec& scene,
                                           CallContext& ctx) {
  SL_RETURN_IF_ERROR(CheckCancelled(ctx));
  const auto start = Clock::now();
  SL_ASSIGN_OR_RETURN(std::string png, offline::RenderSceneCard(scene, req.style));
  Media media;
  media.bytes = std::move(png);
  media.mime_type = "image/png";
  media.extension = "png";
  media.metadata_json = nlohmann::json{
      {"width", offline::kSceneCardWidth},
      {"height", offline::kSceneCardHeight},
      {"provider", kProvider},
      {"generator", kImageModel},
      {"ai", false},
      {"prompt",
       scene.image_prompt}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  ApiUsage usage = BaseUsage(ctx, kImageModel, "image", start);
  usage.images = 1;
  usage.image_size = "1280x720";
  SL_RETURN_IF_ERROR(Record(ctx, usage));
  return media;
}

Result<Media> OfflineProvider::Narrate(const StoryRequest& /*req*/, const SceneSpec& scene,
                                       CallContext& ctx) {
  SL_RETURN_IF_ERROR(CheckCancelled(ctx));
  if (IsBlank(scene.narration)) {
    return Fail(Error::InvalidArgument("scene has no narration", "narration"));
  }
  const auto start = Clock::now();
  offline::SpeechOptions speech;
  speech.binary = options_.espeak_binary;
  speech.voice = options_.voice;
  speech.words_per_minute = options_.words_per_minute;
  speech.temp_dir = options_.temp_dir;
  speech.timeout_ms = options_.speech_timeout_ms;

  ApiUsage usage = BaseUsage(ctx, kSpeechModel, "speech", start);
  usage.characters = static_cast<std::int64_t>(scene.narration.size());
  Result<std::string> wav = offline::SynthesizeSpeech(speech, scene.narration, ctx.cancelled);
  Result<offline::WavInfo> info =
      wav ? offline::ParseWav(*wav) : Result<offline::WavInfo>(std::unexpected(wav.error()));
  if (wav && !info) {
    info = Fail(Error::Unavailable("espeak-ng wrote an unreadable WAV: " + info.error().message));
  }
  if (!info) {
    // A failed attempt is still recorded (unless it was a cancellation, which is no attempt
    // the engine needs to account for); the synthesis error is the one returned.
    if (info.error().code != ErrorCode::kAborted) {
      usage.status = "error";
      usage.error_code = std::string(ErrorCodeName(info.error().code));
      usage.duration_ms = ElapsedMs(start);
      (void)Record(ctx, usage);
    }
    return Fail(info.error());
  }
  usage.duration_ms = ElapsedMs(start);
  usage.audio_ms = info->duration_ms;
  SL_RETURN_IF_ERROR(Record(ctx, usage));

  Media media;
  media.bytes = std::move(*wav);
  media.mime_type = "audio/wav";
  media.extension = "wav";
  media.metadata_json =
      nlohmann::json{{"duration_ms", info->duration_ms}, {"sample_rate", info->sample_rate},
                     {"channels", info->channels},       {"provider", kProvider},
                     {"generator", kSpeechModel},        {"ai", false},
                     {"voice", options_.voice}}
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return media;
}

std::unique_ptr<Provider> MakeOfflineProvider(OfflineOptions options) {
  return std::make_unique<OfflineProvider>(std::move(options));
}

}  // namespace storyloom::providers
