// WorkflowOptions: the validated `options` object of a workflow. Value type; any thread.
#pragma once

#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::engine {

struct WorkflowOptions {
  int scenes = 4;          // 1..20
  std::string style;       // free text, <= 200 characters
  bool narration = true;
  std::string provider;    // "" = the server's default
  std::string chat_model;  // "" = the provider's default
  std::string image_model;
  std::string speech_model;

  std::string ToJson() const;
};

// Parses and validates an options object (JSON text; "" or "null" = defaults). Returns
// invalid_argument whose detail names the offending field ("options.scenes").
[[nodiscard]] Result<WorkflowOptions> ParseWorkflowOptions(std::string_view json);

}  // namespace storyloom::engine
