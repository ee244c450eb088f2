// Provider: a generation service behind one interface (offline, OpenAI-compatible, ...).
// Providers never touch the database: they return what they made and report each paid or
// unpaid call attempt through CallContext, and the engine records it. One Provider object
// is shared by all workers: implementations must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom::providers {

struct StoryRequest {
  std::string prompt;
  std::string title;  // may be empty: the provider proposes one
  std::string style;  // e.g. "watercolor"; may be empty
  int scenes = 4;     // 1..20
  bool narration = true;
  // Per-workflow model choice (options.*_model); "" = the provider's configured default.
  std::string chat_model;
  std::string image_model;
  std::string speech_model;
};

struct Story {
  std::string title;
  std::string text;            // the enhanced story, plain text with paragraphs
  std::string metadata_json;   // e.g. {"provider":"offline","generator":"template-v1"}
};

struct SceneSpec {
  int number = 0;  // 1-based
  std::string title;
  std::string description;
  std::string image_prompt;
  std::string narration;
};

// Bytes a provider made, with what is known about them.
struct Media {
  std::string bytes;
  std::string mime_type;      // image/png, audio/wav, ...
  std::string extension;      // "png", "wav", ...
  std::string metadata_json;  // {"width":1280,"height":720} or {"duration_ms":...}
};

// Per-call context: who is calling, where usage goes, and whether to stop.
struct CallContext {
  std::string workflow_id;
  std::string user_id;
  std::string phase;
  // Called once per attempt (also failed ones) with provider, model, operation, status,
  // tokens/images/characters and duration filled in; the engine adds cost and persists.
  // Returns an error (e.g. budget_exceeded) to stop the provider before a paid call.
  std::function<Result<void>(ApiUsage&)> record_usage;
  // Called before each paid attempt with its worst-case usage (provider, model, operation,
  // planned tokens/images/characters); returns resource_exhausted (detail
  // "budget_exceeded") when the call must not be made. The reservation it takes is settled
  // by the next record_usage. Unset: no budgets apply.
  std::function<Result<void>(const ApiUsage&)> reserve;
  Result<void> Reserve(const ApiUsage& planned) const {
    return reserve ? reserve(planned) : Result<void>{};
  }
  // Set when the workflow is cancelled or the server stops.
  const std::atomic<bool>* cancelled = nullptr;
  bool IsCancelled() const { return cancelled && cancelled->load(); }
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string name() const = 0;

  // Writes a titled story from the prompt.
  [[nodiscard]] virtual Result<Story> WriteStory(const StoryRequest& req, CallContext& ctx) = 0;
  // Breaks `story` into exactly req.scenes scenes, numbered from 1.
  [[nodiscard]] virtual Result<std::vector<SceneSpec>> BreakdownScenes(
      const StoryRequest& req, const Story& story, CallContext& ctx) = 0;
  // Draws the picture for one scene.
  [[nodiscard]] virtual Result<Media> RenderImage(const StoryRequest& req, const SceneSpec& scene,
                                                  CallContext& ctx) = 0;
  // Speaks one scene's narration.
  [[nodiscard]] virtual Result<Media> Narrate(const StoryRequest& req, const SceneSpec& scene,
                                              CallContext& ctx) = 0;
};

}  // namespace storyloom::providers
