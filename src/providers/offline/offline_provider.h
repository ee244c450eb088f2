// OfflineProvider: the default provider. It needs no network and no account: stories and
// scene breakdowns come from templates, pictures are Cairo-drawn scene cards and narration
// is espeak-ng speech. Output is deterministic for a given request and options, and is
// labelled as not AI generated. Holds only its immutable options: thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "providers/provider.h"

namespace storyloom::providers {

struct OfflineOptions {
  std::string espeak_binary = "espeak-ng";  // PATH lookup unless it contains a '/'
  std::string voice = "en-us";
  int words_per_minute = 165;      // clamped to 80..450
  std::filesystem::path temp_dir;  // for espeak-ng's WAV; empty: the system temp dir
  int speech_timeout_ms = 60000;
};

class OfflineProvider : public Provider {
 public:
  explicit OfflineProvider(OfflineOptions options);

  std::string name() const override { return "offline"; }

  // Returns invalid_argument for a blank prompt, aborted if cancelled, or the error of
  // ctx.record_usage; otherwise a titled template story of about 400-550 words.
  [[nodiscard]] Result<Story> WriteStory(const StoryRequest& req, CallContext& ctx) override;
  // Returns exactly req.scenes scenes (invalid_argument unless 1..20, or for an empty
  // story), each with a title, a 2-3 sentence description, an image prompt and 1-3
  // sentences of narration taken from the story.
  [[nodiscard]] Result<std::vector<SceneSpec>> BreakdownScenes(const StoryRequest& req,
                                                               const Story& story,
                                                               CallContext& ctx) override;
  // Returns a 1280x720 PNG scene card.
  [[nodiscard]] Result<Media> RenderImage(const StoryRequest& req, const SceneSpec& scene,
                                          CallContext& ctx) override;
  // Returns a WAV of the narration spoken by espeak-ng: invalid_argument for empty
  // narration, unavailable if espeak-ng is missing or fails.
  [[nodiscard]] Result<Media> Narrate(const StoryRequest& req, const SceneSpec& scene,
                                      CallContext& ctx) override;

 private:
  const OfflineOptions options_;
};

// The provider behind `provider = "offline"`.
std::unique_ptr<Provider> MakeOfflineProvider(OfflineOptions options = {});

}  // namespace storyloom::providers
