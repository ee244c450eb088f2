// Internal parts of the story video shared by its files: the spec check, the title card
// and the Ken Burns renderer. Internal to src/media; pure functions, any thread.
#pragma once

#include <string>
#include <vector>

#include "media/av_util.h"
#include "media/story_video.h"

namespace storyloom::media {

// invalid_argument (detail "media") for a size, fps or duration out of range.
Result<void> CheckVideoSpec(const VideoSpec& spec);

// The title card: `title` in white, wrapped and centred on a dark background, with `note`
// (may be empty) in small letters under it, as a width x height frame in `format`.
// internal if Cairo fails.
Result<av::FramePtr> RenderTitleCard(const std::string& title, const std::string& note, int width,
                                     int height, AVPixelFormat format);

// How much larger than the video a scene's picture is kept, and the zoom range of its
// Ken Burns move, relative to the picture scaled to cover the video: at progress 0 the
// view shows 1/kZoomStart of it, at progress 1 1/kZoomEnd, panning along the scene's
// direction; at progress 0.5 the view is centred.
inline constexpr double kCanvasScale = 1.12;
inline constexpr double kZoomStart = 1.04;
inline constexpr double kZoomEnd = 1.12;

// Renders into `out` (yuv420p, the video's size) the view of `canvas` (yuv420p, the
// picture covering kCanvasScale times the video) for scene `number` at `progress` (0..1).
void RenderKenBurns(const AVFrame& canvas, int number, double progress, AVFrame& out);

// out = a * (1 - alpha) + b * alpha, all yuv420p of one size.
void Blend(const AVFrame& a, const AVFrame& b, double alpha, AVFrame& out);

// Copies a yuv420p frame's pixels.
void CopyPixels(const AVFrame& from, AVFrame& to);

}  // namespace storyloom::media
