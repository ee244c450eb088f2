// StoryVideo: turns a finished story (a title, and per scene a picture, an optional
// narration and its text) into story.mp4 (H.264 + AAC + mov_text subtitles, +faststart),
// story.vtt and poster.jpg, with FFmpeg's libraries in process. Stateless functions; any
// thread; every input file is untrusted (any size, any format FFmpeg can decode, or junk).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storyloom/error.h"

namespace storyloom::media {

struct VideoScene {
  int number = 0;          // 1-based, as in the scenes table
  std::string image_path;  // absolute path of the scene's picture (png, jpeg, webp, ...)
  std::string audio_path;  // absolute path of its narration (wav, mp3, ...); "" = none
  std::string narration;   // the narration text, for the subtitles
};

struct VideoSpec {
  std::string title;  // drawn on the title card
  std::string note;   // a line under it, e.g. "not AI generated"; "" = none
  std::vector<VideoScene> scenes;
  int width = 1280;  // 1280x720 or 1920x1080
  int height = 720;
  int fps = 30;
  double title_seconds = 3.0;      // the title card
  double scene_seconds = 5.0;      // a scene without narration
  double gap_seconds = 0.5;        // silence after each scene's narration
  double crossfade_seconds = 0.5;  // between two pictures (inside the gap)
};

// When each part of the video plays, in seconds from the start.
struct SceneTiming {
  int number = 0;
  double start = 0;         // the picture is on screen from start...
  double end = 0;           // ...to end (the next scene starts here)
  double speech_start = 0;  // the narration plays in [speech_start, speech_end)
  double speech_end = 0;    // == speech_start without narration
};
struct Timeline {
  double title_end = 0;
  std::vector<SceneTiming> scenes;
  double duration = 0;  // == scenes.back().end
};

// Reads each narration's duration and lays the scenes out one after the other: a scene
// lasts its narration plus gap_seconds, or scene_seconds without one. invalid_argument
// (detail "media") when a narration cannot be decoded or lasts more than 10 minutes.
[[nodiscard]] Result<Timeline> PlanTimeline(const VideoSpec& spec);

// The subtitles as WebVTT: each scene's narration split into cues of at most two lines of
// about 42 characters, timed in proportion to their length over [speech_start, speech_end)
// (over the scene's whole span when it has no audio). Scenes without text get no cue.
struct Cue {
  double start = 0;
  double end = 0;
  std::string text;  // lines separated by '\n'
};
std::vector<Cue> SubtitleCues(const VideoSpec& spec, const Timeline& timeline);
std::string WebVtt(const std::vector<Cue>& cues);

struct VideoInfo {
  double duration_s = 0;
  int width = 0;
  int height = 0;
  int fps = 0;
  std::string video_codec;   // "h264"
  std::string audio_codec;   // "aac"
  std::int64_t bitrate = 0;  // bits per second, whole file
  bool subtitles = false;    // a mov_text track
};

// Encodes the video to `out_path` (created or truncated; the caller renames it into place
// and fsyncs). `progress` is called with the fraction done (0..1) at most once per frame.
// Returns interrupted as soon as `cancel` is set (checked every frame), invalid_argument
// (detail "media") for an input it cannot decode, internal for an encoder failure.
[[nodiscard]] Result<VideoInfo> EncodeStoryVideo(const VideoSpec& spec, const Timeline& timeline,
                                                 const std::string& out_path,
                                                 const std::function<void(double)>& progress,
                                                 const std::atomic<bool>* cancel);

// A poster for the player: the first scene's picture (the title card without scenes),
// scaled and cropped to the video's size, as JPEG bytes.
[[nodiscard]] Result<std::string> PosterJpeg(const VideoSpec& spec);

}  // namespace storyloom::media
