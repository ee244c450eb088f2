// Storyboard assembly: the final phase's output. From a workflow's story and scenes it
// builds storyboard.json (the structured result, naming each scene's media files) and
// storyboard.html (one self-contained page with images and audio embedded as data URIs,
// readable offline in any browser). Pure functions of their input; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace storyloom::providers {

struct StoryboardScene {
  int number = 0;
  std::string title;
  std::string description;
  std::string narration;
  std::string image_bytes;  // empty: the scene has no picture
  std::string image_mime;   // "image/png", ...
  std::string audio_bytes;  // empty: the scene has no narration audio
  std::string audio_mime;   // "audio/wav", ...
  // Names of the media files next to storyboard.json; empty: SceneMediaFileName's.
  std::string image_file;
  std::string audio_file;
};

struct StoryboardInput {
  std::string workflow_id;
  std::string title;
  std::string prompt;
  std::string story;  // paragraphs separated by blank lines
  std::string provider;
  std::string created_at;  // RFC 3339
  std::vector<StoryboardScene> scenes;
  // The narrated video's files, relative to storyboard.html; empty: no video.
  std::string video_file;      // "../video/story.mp4"
  std::string subtitles_file;  // "../video/story.vtt"
  std::string poster_file;     // "../video/poster.jpg"
};

struct Storyboard {
  std::string json;  // storyboard.json
  std::string html;  // storyboard.html
};

// The default file name of a scene's media: "scene-03.png", "scene-03.wav"; the extension
// follows the MIME type ("bin" when unknown).
std::string SceneMediaFileName(int number, std::string_view mime);

// Builds both documents. User text is HTML-escaped and invalid UTF-8 replaced; a MIME type
// that is not a plain type/subtype becomes application/octet-stream in data URIs.
Storyboard AssembleStoryboard(const StoryboardInput& input);

}  // namespace storyloom::providers
