#include "providers/storyboard.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/text_util.h"

namespace storyloom::providers {
namespace {

bool IsMimeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-';
}

// A MIME type safe to put in a data URI: "type/subtype" in lower-case token characters.
std::string SafeMime(std::string_view mime) {
  const std::size_t slash = mime.find('/');
  bool ok = slash != std::string_view::npos && slash > 0 && slash + 1 < mime.size();
  for (std::size_t i = 0; ok && i < mime.size(); ++i) ok = i == slash || IsMimeChar(mime[i]);
  return ok ? std::string(mime) : "application/octet-stream";
}

std::string ExtensionFor(std::string_view mime) {
  static const std::pair<std::string_view, std::string_view> kKnown[] = {
      {"image/png", "png"}, {"image/jpeg", "jpg"},  {"image/webp", "webp"}, {"image/gif", "gif"},
      {"audio/wav", "wav"}, {"audio/x-wav", "wav"}, {"audio/wave", "wav"},  {"audio/mpeg", "mp3"},
      {"audio/ogg", "ogg"}, {"audio/opus", "opus"}, {"audio/flac", "flac"}, {"audio/aac", "aac"}};
  for (const auto& [type, ext] : kKnown) {
    if (mime == type) return std::string(ext);
  }
  return "bin";
}

// User text for HTML: valid UTF-8, escaped.
std::string Text(std::string_view s) { return core::HtmlEscape(core::SanitizeUtf8(s)); }

std::string DataUri(std::string_view mime, std::string_view bytes) {
  return "data:" + SafeMime(mime) + ";base64," + core::Base64Encode(bytes);
}

std::vector<std::string> Paragraphs(std::string_view story) {
  std::vector<std::string> paragraphs;
  std::string current;
  std::size_t start = 0;
  const auto flush = [&] {
    const std::string p = core::CollapseWhitespace(current);
    if (!p.empty()) paragraphs.push_back(p);
    current.clear();
  };
  while (start <= story.size()) {
    std::size_t end = story.find('\n', start);
    if (end == std::string_view::npos) end = story.size();
    const std::string_view line = story.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      flush();
    } else {
      current += std::string(line) + " ";
    }
    start = end + 1;
  }
  flush();
  return paragraphs;
}

constexpr const char* kStyle = R"css(
:root { color-scheme: light dark; --bg: #f6f3ec; --fg: #1f2328; --muted: #5d6671;
  --card: #ffffff; --line: #e4ded2; --accent: #9a5b22; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #14161a; --fg: #e9e6df; --muted: #9ca5b0; --card: #1c1f25; --line: #2d3139;
    --accent: #e3b06e; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 18px/1.65 Georgia, "DejaVu Serif", serif; }
main { max-width: 960px; margin: 0 auto; padding: 56px 24px 88px; }
.sans { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
h1 { font: 700 2.5rem/1.15 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  margin: 0 0 .5rem; letter-spacing: -.01em; }
.meta { color: var(--muted); font-size: .9rem; }
.note { display: inline-block; margin-top: .6rem; padding: .25rem .7rem; border-radius: 999px;
  border: 1px solid var(--line); color: var(--muted); font-size: .8rem; }
.prompt { margin: 1.6rem 0; padding: .3rem 0 .3rem 1.1rem; border-left: 3px solid var(--accent);
  color: var(--muted); font-style: italic; }
.story { margin: 2rem 0 3rem; }
.story h2, .scenes > h2 { font: 600 .8rem/1 system-ui, "DejaVu Sans", sans-serif;
  text-transform: uppercase; letter-spacing: .14em; color: var(--accent); margin: 0 0 1rem; }
.story p { margin: 0 0 1.05em; }
.scene { background: var(--card); border: 1px solid var(--line); border-radius: 16px;
  overflow: hidden; margin: 0 0 36px; box-shadow: 0 1px 2px rgba(0,0,0,.05),
  0 8px 24px rgba(0,0,0,.05); }
.scene img, .scene .no-image { display: block; width: 100%; height: auto; aspect-ratio: 16 / 9;
  background: #262a33; }
.scene .no-image { display: flex; align-items: center; justify-content: center; color: #aab;
  font-size: .9rem; }
.scene .body { padding: 22px 30px 26px; }
.scene .number { font-size: .78rem; font-weight: 600; text-transform: uppercase;
  letter-spacing: .14em; color: var(--accent); }
.scene h3 { font: 700 1.45rem/1.3 system-ui, -apple-system, "Segoe UI", "DejaVu Sans",
  sans-serif; margin: .25rem 0 .7rem; }
.scene p { margin: 0 0 .8rem; }
.scene .narration { color: var(--muted); font-style: italic; }
.scene audio { display: block; width: 100%; margin-top: .9rem; }
.video video { display: block; width: 100%; border-radius: 10px; background: #000; }
footer { margin-top: 56px; color: var(--muted); font-size: .85rem; text-align: center; }
)css";

}  // namespace

std::string SceneMediaFileName(int number, std::string_view mime) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "scene-%02d.", number);
  return prefix + ExtensionFor(mime);
}

Storyboard AssembleStoryboard(const StoryboardInput& in) {
  using nlohmann::json;
  json scenes = json::array();
  for (const StoryboardScene& s : in.scenes) {
    json scene = {{"number", s.number},       {"title", s.title}, {"description", s.description},
                  {"narration", s.narration}, {"image", nullptr}, {"audio", nullptr}};
    if (!s.image_bytes.empty()) {
      scene["image"] =
          s.image_file.empty() ? SceneMediaFileName(s.number, s.image_mime) : s.image_file;
      scene["image_mime"] = SafeMime(s.image_mime);
    }
    if (!s.audio_bytes.empty()) {
      scene["audio"] =
          s.audio_file.empty() ? SceneMediaFileName(s.number, s.audio_mime) : s.audio_file;
      scene["audio_mime"] = SafeMime(s.audio_mime);
    }
    scenes.push_back(std::move(scene));
  }
  json doc = {{"version", 1},
              {"workflow_id", in.workflow_id},
              {"title", in.title},
              {"prompt", in.prompt},
              {"story", in.story},
              {"provider", in.provider},
              {"created_at", in.created_at},
              {"scenes", std::move(scenes)},
              {"video", nullptr}};

  if (!in.video_file.empty()) {
    doc["video"] = {
        {"file", in.video_file},
        {"subtitles", in.subtitles_file.empty() ? json(nullptr) : json(in.subtitles_file)},
        {"poster", in.poster_file.empty() ? json(nullptr) : json(in.poster_file)}};
  }
  Storyboard out;
  out.json = doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";

  std::string& h = out.html;
  h += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<meta name=\"generator\" content=\"Storyloom\">\n";
  h += "<title>" + Text(in.title) + " \u2014 Storyloom storyboard</title>\n";
  h += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n<main>\n";
  h += "<header class=\"sans\">\n<h1>" + Text(in.title) + "</h1>\n";
  h += "<div class=\"meta\">" + std::to_string(in.scenes.size()) +
       (in.scenes.size() == 1 ? " scene" : " scenes");
  if (!in.created_at.empty()) {
    h += " \u00b7 created <time datetime=\"" + Text(in.created_at) + "\">" + Text(in.created_at) +
         "</time>";
  }
  if (!in.provider.empty()) h += " \u00b7 provider " + Text(in.provider);
  h += "</div>\n";
  if (in.provider == "offline") {
    h += "<div class=\"note\">Made offline from templates, drawn scene cards and synthetic "
         "speech \u2014 not AI generated</div>\n";
  }
  h += "</header>\n";
  if (!in.prompt.empty())
    h += "<blockquote class=\"prompt\">" + Text(in.prompt) + "</blockquote>\n";
  if (!in.story.empty()) {
    h += "<section class=\"story\">\n<h2>The story</h2>\n";
    for (const std::string& p : Paragraphs(in.story)) h += "<p>" + Text(p) + "</p>\n";
    h += "</section>\n";
  }
  if (!in.video_file.empty()) {
    // The video is too large to embed: it sits next to this page (../video/), where a
    // download of the story's folder or the server's /files/ route puts it.
    h += "<section class=\"video\">\n<h2 class=\"sans\">The video</h2>\n";
    h += "<video controls preload=\"metadata\" src=\"" + Text(in.video_file) + "\"";
    if (!in.poster_file.empty()) h += " poster=\"" + Text(in.poster_file) + "\"";
    h += ">\n";
    if (!in.subtitles_file.empty()) {
      h += "<track kind=\"subtitles\" srclang=\"en\" label=\"Narration\" default src=\"" +
           Text(in.subtitles_file) + "\">\n";
    }
    h += "</video>\n<p class=\"sans\"><a href=\"" + Text(in.video_file) +
         "\" download>Download story.mp4</a></p>\n</section>\n";
  }
  h += "<section class=\"scenes\">\n<h2 class=\"sans\">Scenes</h2>\n";
  for (const StoryboardScene& s : in.scenes) {
    const std::string number = std::to_string(s.number);
    h += "<article class=\"scene\" id=\"scene-" + number + "\">\n";
    if (!s.image_bytes.empty()) {
      h += "<img src=\"" + DataUri(s.image_mime, s.image_bytes) + "\" alt=\"Scene " + number +
           ": " + Text(s.title) + "\">\n";
    } else {
      h += "<div class=\"no-image sans\">No picture for this scene</div>\n";
    }
    h += "<div class=\"body\">\n<div class=\"number sans\">Scene " + number + "</div>\n";
    h += "<h3>" + Text(s.title) + "</h3>\n";
    if (!s.description.empty()) h += "<p>" + Text(s.description) + "</p>\n";
    if (!s.narration.empty()) h += "<p class=\"narration\">" + Text(s.narration) + "</p>\n";
    if (!s.audio_bytes.empty()) {
      h += "<audio controls preload=\"metadata\" src=\"" + DataUri(s.audio_mime, s.audio_bytes) +
           "\"></audio>\n";
    }
    h += "</div>\n</article>\n";
  }
  h += "</section>\n<footer class=\"sans\">Storyloom storyboard";
  if (!in.workflow_id.empty()) h += " \u00b7 workflow " + Text(in.workflow_id);
  h += "</footer>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace storyloom::providers
