// WorkflowOptions: the validated `options` object of a workflow. Value type; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::engine {

struct WorkflowOptions {
  int scenes = 4;     // 1..20
  std::string style;  // free text, <= 200 characters
  bool narration = true;
  std::string provider;    // "" = the server's default
  std::string chat_model;  // "" = the provider's default
  std::string image_model;
  std::string speech_model;
  // The narrated video (story.mp4, story.vtt, poster.jpg) of the assemble phase. Unset in
  // a request: the server's default (config `video.default`) is written in at create.
  std::optional<bool> video;
  double scene_seconds = 5;         // how long a scene without narration lasts, 1..60
  std::string resolution = "720p";  // "720p" (1280x720) or "1080p" (1920x1080)

  bool VideoOn() const { return video.value_or(true); }

  std::string ToJson() const;
};

// Parses and validates an options object (JSON text; "" or "null" = defaults). Returns
// invalid_argument whose detail names the offending field ("options.scenes").
[[nodiscard]] Result<WorkflowOptions> ParseWorkflowOptions(std::string_view json);

}  // namespace storyloom::engine
