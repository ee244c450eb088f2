#include "support/usage_rows.h"

namespace storyloom::testing {

ApiUsage DistinctUsageCall(const std::string& user_id, const std::string& workflow_id,
                           NanoUsd cost_nusd) {
  ApiUsage u;
  u.user_id = user_id;
  u.workflow_id = workflow_id;
  u.provider = "openai";
  u.model = "gpt-4o-mini";
  u.operation = "chat";
  u.input_tokens = 1100;
  u.cached_input_tokens = 700;
  u.output_tokens = 1300;
  u.reasoning_tokens = 1700;
  u.images = 19;
  u.characters = 2300;
  u.audio_ms = 2900;
  u.cost_nusd = cost_nusd;
  u.created_at = 1764000000000;  // 2025-11-24
  return u;
}

}  // namespace storyloom::testing
