// PlanTimeline: when the title card, each picture and each narration play.
#include <cmath>

#include "media/av_util.h"
#include "media/story_video.h"

namespace storyloom::media {
namespace {

bool InRange(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

Result<void> CheckSpec(const VideoSpec& spec) {
  if (spec.width < 64 || spec.width > 3840 || spec.height < 64 || spec.height > 2160 ||
      spec.width % 2 != 0 || spec.height % 2 != 0) {
    return Fail(Error::InvalidArgument("video size " + std::to_string(spec.width) + "x" +
                                           std::to_string(spec.height) +
                                           " is not an even size up to 3840x2160",
                                       "media"));
  }
  if (spec.fps < 1 || spec.fps > 60) {
    return Fail(Error::InvalidArgument("fps must be 1..60", "media"));
  }
  if (!InRange(spec.title_seconds, 0, 60) || !InRange(spec.scene_seconds, 0.1, 600) ||
      !InRange(spec.gap_seconds, 0, 60) || !InRange(spec.crossfade_seconds, 0, 10)) {
    return Fail(Error::InvalidArgument(
        "title_seconds, scene_seconds, gap_seconds or crossfade_seconds out of range", "media"));
  }
  if (spec.scenes.size() > 1000) {
    return Fail(Error::InvalidArgument("more than 1000 scenes", "media"));
  }
  return {};
}

}  // namespace

Result<void> CheckVideoSpec(const VideoSpec& spec) { return CheckSpec(spec); }

Result<Timeline> PlanTimeline(const VideoSpec& spec) {
  SL_RETURN_IF_ERROR(CheckSpec(spec));
  Timeline t;
  t.title_end = spec.title_seconds;
  double at = t.title_end;
  for (const VideoScene& scene : spec.scenes) {
    SceneTiming s;
    s.number = scene.number;
    s.start = at;
    s.speech_start = at;
    s.speech_end = at;
    if (!scene.audio_path.empty()) {
      SL_ASSIGN_OR_RETURN(const double seconds, av::NarrationSeconds(scene.audio_path));
      s.speech_end = at + seconds;
      s.end = s.speech_end + spec.gap_seconds;
    } else {
      s.end = at + spec.scene_seconds;
    }
    at = s.end;
    t.scenes.push_back(s);
  }
  t.duration = at;
  return t;
}

}  // namespace storyloom::media
