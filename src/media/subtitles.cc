// SubtitleCues and WebVtt: each narration split into short cues timed over its speech.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "core/text_util.h"
#include "media/story_video.h"

namespace storyloom::media {
namespace {

constexpr std::size_t kLineChars = 42;

// Characters as the reader sees them: UTF-8 continuation bytes do not count.
std::size_t Width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Splits a word wider than a line into pieces of kLineChars characters (not mid-UTF-8).
std::vector<std::string> Pieces(const std::string& word) {
  std::vector<std::string> pieces;
  std::string piece;
  std::size_t width = 0;
  for (unsigned char c : word) {
    const bool starts_char = (c & 0xC0) != 0x80;
    if (starts_char && width == kLineChars) {
      pieces.push_back(std::move(piece));
      piece.clear();
      width = 0;
    }
    piece += static_cast<char>(c);
    width += starts_char;
  }
  if (!piece.empty()) pieces.push_back(std::move(piece));
  return pieces;
}

// Greedy word wrap to lines of at most kLineChars (a longer word gets a line of its own).
std::vector<std::string> Wrap(const std::vector<std::string>& words) {
  std::vector<std::string> lines;
  std::string line;
  for (const std::string& word : words) {
    for (const std::string& w : Pieces(word)) {
      if (!line.empty() && Width(line) + 1 + Width(w) > kLineChars) {
        lines.push_back(std::move(line));
        line.clear();
      }
      if (!line.empty()) line += ' ';
      line += w;
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// The cue texts of one narration: sentences, each cut into pieces of at most two lines.
std::vector<std::string> CueTexts(std::string_view narration) {
  std::vector<std::string> texts;
  for (const std::string& sentence : core::SplitSentences(narration)) {
    const std::vector<std::string> lines = Wrap(core::SplitWords(sentence));
    for (std::size_t i = 0; i < lines.size(); i += 2) {
      texts.push_back(i + 1 < lines.size() ? lines[i] + "\n" + lines[i + 1] : lines[i]);
    }
  }
  return texts;
}

std::string Timestamp(double seconds) {
  const std::int64_t ms = std::llround(std::max(0.0, seconds) * 1000);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%03lld",
                static_cast<long long>(ms / 3600000), static_cast<long long>(ms / 60000 % 60),
                static_cast<long long>(ms / 1000 % 60), static_cast<long long>(ms % 1000));
  return buf;
}

}  // namespace

std::vector<Cue> SubtitleCues(const VideoSpec& spec, const Timeline& timeline) {
  std::vector<Cue> cues;
  const std::size_t n = std::min(spec.scenes.size(), timeline.scenes.size());
  for (std::size_t i = 0; i < n; ++i) {
    const SceneTiming& t = timeline.scenes[i];
    const std::vector<std::string> texts = CueTexts(spec.scenes[i].narration);
    if (texts.empty()) continue;
    double from = t.speech_start;
    double to = t.speech_end;
    if (to <= from) {  // no audio: the whole time the picture is on screen
      from = t.start;
      to = t.end;
    }
    std::size_t total = 0;
    for (const std::string& s : texts) total += Width(s);
    double at = from;
    std::size_t done = 0;
    for (const std::string& s : texts) {
      done += Width(s);
      // Proportional to the characters spoken so far; the last cue ends exactly at `to`.
      const double end = from + (to - from) * static_cast<double>(done) / total;
      cues.push_back({at, end, s});
      at = end;
    }
  }
  return cues;
}

std::string WebVtt(const std::vector<Cue>& cues) {
  std::string out = "WEBVTT\n\n";
  for (const Cue& cue : cues) {
    out += Timestamp(cue.start) + " --> " + Timestamp(cue.end) + "\n";
    for (char c : cue.text) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '\r':
          break;
        default:
          out += c;
      }
    }
    out += "\n\n";
  }
  return out;
}

}  // namespace storyloom::media
