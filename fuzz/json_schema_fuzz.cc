// Provider output checked against the structured-output schemas (json_schema.cc): the
// content of a chat reply, depth-bounded-parsed as openai_provider.cc does, validated
// against the story schema and the storyboard schema for 1..20 scenes. Input after a
// "\n--schema--\n" line is used as the schema instead, so the validator also meets
// schemas it does not expect.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/bounded_json.h"
#include "providers/openai/json_schema.h"

using nlohmann::json;
using storyloom::providers::openai::ValidateJson;

namespace {

// Copies of openai_provider.cc's StorySchema and ScenesSchema.
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const json kStory = StorySchema();
  static const json kScenes[] = {ScenesSchema(1), ScenesSchema(4), ScenesSchema(20)};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSep = "\n--schema--\n";
  if (auto at = in.find(kSep); at != std::string_view::npos) {
    auto schema = storyloom::core::ParseJson(in.substr(at + kSep.size()));
    auto value = storyloom::core::ParseJson(in.substr(0, at));
    if (schema && value) (void)ValidateJson(*schema, *value);
    return 0;
  }
  auto value = storyloom::core::ParseJson(in);
  if (!value) return 0;
  const std::string story = ValidateJson(kStory, *value);
  if (story.empty()) {
    // Accepted story output has exactly the two string fields.
    if (!value->is_object() || value->size() != 2 || !(*value)["title"].is_string() ||
        !(*value)["story"].is_string())
      std::abort();
  }
  for (const json& s : kScenes) {
    const std::string err = ValidateJson(s, *value);
    if (err.empty() && (!value->is_object() || !value->contains("scenes"))) std::abort();
    // Messages quote the provider's output: they must be printable as JSON.
    (void)json(err).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return 0;
}
