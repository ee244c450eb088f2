#include "engine/workflow_options.h"

#include <nlohmann/json.hpp>

#include "core/bounded_json.h"

namespace storyloom::engine {

using nlohmann::json;

std::string WorkflowOptions::ToJson() const {
  json j = {{"scenes", scenes}, {"style", style}, {"narration", narration}};
  if (!provider.empty()) j["provider"] = provider;
  if (!chat_model.empty()) j["chat_model"] = chat_model;
  if (!image_model.empty()) j["image_model"] = image_model;
  if (!speech_model.empty()) j["speech_model"] = speech_model;
  if (video) {
    j["video"] = *video;
    j["scene_seconds"] = scene_seconds;
    j["resolution"] = resolution;
  }
  return j.dump();
}

Result<WorkflowOptions> ParseWorkflowOptions(std::string_view text) {
  WorkflowOptions o;
  if (text.empty() || text == "null") return o;
  auto parsed = core::ParseJson(text);
  if (!parsed) {
    if (parsed.error().too_deep) {
      return Fail(Error::InvalidArgument("options: " + parsed.error().message, "options"));
    }
    return Fail(Error::InvalidArgument("options must be a JSON object", "options"));
  }
  const json j = std::move(*parsed);
  if (!j.is_object()) {
    return Fail(Error::InvalidArgument("options must be a JSON object", "options"));
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    const std::string field = "options." + key;
    if (key == "scenes") {
      if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 20) {
        return Fail(
            Error::InvalidArgument("options.scenes must be a whole number from 1 to 20", field));
      }
      o.scenes = v.get<int>();
    } else if (key == "narration") {
      if (!v.is_boolean())
        return Fail(Error::InvalidArgument("options.narration must be true or false", field));
      o.narration = v.get<bool>();
    } else if (key == "video") {
      if (!v.is_boolean())
        return Fail(Error::InvalidArgument("options.video must be true or false", field));
      o.video = v.get<bool>();
    } else if (key == "scene_seconds") {
      if (!v.is_number() || !(v.get<double>() >= 1 && v.get<double>() <= 60)) {
        return Fail(
            Error::InvalidArgument("options.scene_seconds must be a number from 1 to 60", field));
      }
      o.scene_seconds = v.get<double>();
    } else if (key == "resolution") {
      if (!v.is_string() || (v.get_ref<const std::string&>() != "720p" &&
                             v.get_ref<const std::string&>() != "1080p")) {
        return Fail(Error::InvalidArgument("options.resolution must be 720p or 1080p", field));
      }
      o.resolution = v.get<std::string>();
    } else if (key == "style" || key == "provider" || key == "chat_model" || key == "image_model" ||
               key == "speech_model") {
      if (!v.is_string() || v.get_ref<const std::string&>().size() > 200) {
        return Fail(
            Error::InvalidArgument(field + " must be a string of at most 200 characters", field));
      }
      const std::string& s = v.get_ref<const std::string&>();
      if (key == "style") o.style = s;
      if (key == "provider") {
        if (!s.empty() && s != "offline" && s != "openai") {
          return Fail(Error::InvalidArgument("options.provider must be offline or openai", field));
        }
        o.provider = s;
      }
      if (key == "chat_model") o.chat_model = s;
      if (key == "image_model") o.image_model = s;
      if (key == "speech_model") o.speech_model = s;
    } else {
      return Fail(Error::InvalidArgument("unknown option '" + key + "'", field));
    }
  }
  return o;
}

}  // namespace storyloom::engine
