// FFmpeg helpers of the media layer: owning pointers for libav objects, a quiet log, and
// bounded decoding of untrusted pictures and narrations. Internal to src/media; any thread
// (each call owns its contexts).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include "storyloom/error.h"

namespace storyloom::media::av {

// Limits for untrusted inputs.
inline constexpr int kMaxPictureSide = 8192;
inline constexpr std::int64_t kMaxPicturePixels = 40'000'000;
inline constexpr double kMaxNarrationSeconds = 600;  // 10 minutes
inline constexpr int kAudioRate = 48000;             // the video's audio: mono, 48 kHz

struct FormatInputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* c) const { sws_freeContext(c); }
};
struct SwrDeleter {
  void operator()(SwrContext* c) const { swr_free(&c); }
};
using FormatInputPtr = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

// Routes FFmpeg's log to spdlog (debug level) once per process; thread-safe.
void QuietLogs();

// "Invalid data found when processing input" for an AVERROR code.
std::string AvErrorText(int err);

// invalid_argument with detail "media": "<what> <path>: <why>".
Error MediaError(const std::string& what, const std::string& path, const std::string& why);

// An allocated frame of `format` and `width` x `height`, or internal.
Result<FramePtr> AllocFrame(AVPixelFormat format, int width, int height);

// Decodes the first picture of `path` (any format libavformat opens). Refuses pictures
// larger than kMaxPictureSide per side or kMaxPicturePixels before decoding a frame:
// invalid_argument (detail "media") for those and for anything it cannot decode.
Result<FramePtr> DecodePicture(const std::string& path);

// `src` scaled to cover `width` x `height` and centre-cropped (no distortion), in `format`.
// BT.709 limited range for YUV formats, full range for yuvj formats.
Result<FramePtr> CoverScale(const AVFrame& src, int width, int height, AVPixelFormat format);

// The exact length of a narration, by decoding it: invalid_argument (detail "media") when it
// cannot be decoded, is cut short (fewer samples than its header says), has no samples or
// lasts more than kMaxNarrationSeconds.
Result<double> NarrationSeconds(const std::string& path);

// The narration decoded and resampled to mono kAudioRate, as 16-bit samples (at most
// kMaxNarrationSeconds of it: ~58 MB). Same errors as NarrationSeconds.
Result<std::vector<std::int16_t>> DecodeNarration(const std::string& path);

}  // namespace storyloom::media::av
