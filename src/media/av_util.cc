#include "media/av_util.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
}

namespace storyloom::media::av {
namespace {

void LogToSpdlog(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_WARNING) return;
  static thread_local int print_prefix = 1;
  std::array<char, 1024> line{};
  av_log_format_line2(avcl, level, fmt, vl, line.data(), static_cast<int>(line.size()),
                      &print_prefix);
  std::string_view text(line.data());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (!text.empty()) spdlog::debug("ffmpeg: {}", text);
}

bool IsWav(const AVFormatContext& fmt) {
  return fmt.iformat != nullptr && std::strcmp(fmt.iformat->name, "wav") == 0;
}

std::uint32_t Le32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

// FFmpeg's WAV demuxer clamps a data chunk to the bytes present, so a cut-short file would
// decode as a shorter narration. Returns true when the RIFF header declares a data chunk
// longer than the file holds (sizes 0 and 0xFFFFFFFF mean "unknown", from streaming writers).
bool WavDataCutShort(const std::string& path) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) return false;
  std::ifstream in(path, std::ios::binary);
  unsigned char head[12];
  if (!in.read(reinterpret_cast<char*>(head), 12)) return false;
  if (std::memcmp(head, "RIFF", 4) != 0 || std::memcmp(head + 8, "WAVE", 4) != 0) return false;
  std::uint64_t pos = 12;
  for (int chunk = 0; chunk < 64; ++chunk) {
    unsigned char hdr[8];
    if (!in.read(reinterpret_cast<char*>(hdr), 8)) return false;
    const std::uint32_t size = Le32(hdr + 4);
    pos += 8;
    if (std::memcmp(hdr, "data", 4) == 0) {
      if (size == 0 || size == 0xFFFFFFFFu) return false;
      return pos + size > file_size;
    }
    pos += size + (size & 1);
    in.seekg(static_cast<std::streamoff>(pos));
  }
  return false;
}

struct AudioInput {
  FormatInputPtr fmt;
  CodecPtr dec;
  int stream = -1;
  double declared_seconds = 0;  // 0 when unknown or only estimated from the bitrate
};

Result<AudioInput> OpenAudio(const std::string& path) {
  QuietLogs();
  AudioInput in;
  AVFormatContext* raw = nullptr;
  if (int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); err < 0) {
    return Fail(MediaError("cannot open narration", path, AvErrorText(err)));
  }
  in.fmt.reset(raw);
  if (int err = avformat_find_stream_info(in.fmt.get(), nullptr); err < 0) {
    return Fail(MediaError("cannot read narration", path, AvErrorText(err)));
  }
  const AVCodec* codec = nullptr;
  in.stream = av_find_best_stream(in.fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (in.stream < 0 || codec == nullptr) {
    return Fail(MediaError("no audio in narration", path, AvErrorText(in.stream)));
  }
  const AVStream* st = in.fmt->streams[in.stream];
  if (in.fmt->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE) {
    if (st->duration > 0 && st->duration != AV_NOPTS_VALUE) {
      in.declared_seconds = static_cast<double>(st->duration) * av_q2d(st->time_base);
    } else if (in.fmt->duration > 0 && in.fmt->duration != AV_NOPTS_VALUE) {
      in.declared_seconds = static_cast<double>(in.fmt->duration) / AV_TIME_BASE;
    }
  }
  if (in.declared_seconds > kMaxNarrationSeconds + 1) {
    return Fail(MediaError(
        "narration too long", path,
        fmt::format("{:.0f} s (at most {:.0f} s)", in.declared_seconds, kMaxNarrationSeconds)));
  }
  const AVCodecParameters* par = st->codecpar;
  if (par->sample_rate <= 0 || par->sample_rate > 384000 || par->ch_layout.nb_channels <= 0 ||
      par->ch_layout.nb_channels > 16) {
    return Fail(MediaError(
        "unsupported narration", path,
        fmt::format("{} Hz, {} channels", par->sample_rate, par->ch_layout.nb_channels)));
  }
  if (IsWav(*in.fmt) && WavDataCutShort(path)) {
    return Fail(MediaError("narration is cut short", path, "the WAV data chunk is truncated"));
  }
  in.dec.reset(avcodec_alloc_context3(codec));
  if (!in.dec) return Fail(Error::Internal("avcodec_alloc_context3 failed"));
  if (int err = avcodec_parameters_to_context(in.dec.get(), par); err < 0) {
    return Fail(MediaError("cannot read narration", path, AvErrorText(err)));
  }
  in.dec->thread_count = 1;
  in.dec->pkt_timebase = st->time_base;
  if (int err = avcodec_open2(in.dec.get(), codec, nullptr); err < 0) {
    return Fail(MediaError("cannot decode narration", path, AvErrorText(err)));
  }
  return in;
}

// Decodes every frame of `in`, handing each to `on_frame`; returns the decoded length in
// seconds.
Result<double> DecodeAudio(AudioInput& in, const std::string& path,
                           const std::function<Result<void>(const AVFrame&)>& on_frame) {
  PacketPtr pkt(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  if (!pkt || !frame) return Fail(Error::Internal("out of memory"));
  double seconds = 0;
  std::int64_t samples = 0;
  auto drain = [&]() -> Result<void> {
    for (;;) {
      int err = avcodec_receive_frame(in.dec.get(), frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
      if (err < 0) return Fail(MediaError("cannot decode narration", path, AvErrorText(err)));
      if (frame->sample_rate <= 0) {
        return Fail(MediaError("cannot decode narration", path, "no sample rate"));
      }
      samples += frame->nb_samples;
      seconds += static_cast<double>(frame->nb_samples) / frame->sample_rate;
      if (seconds > kMaxNarrationSeconds) {
        return Fail(MediaError("narration too long", path,
                               fmt::format("more than {:.0f} s", kMaxNarrationSeconds)));
      }
      auto r = on_frame(*frame);
      av_frame_unref(frame.get());
      SL_RETURN_IF_ERROR(r);
    }
  };
  for (;;) {
    int err = av_read_frame(in.fmt.get(), pkt.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) return Fail(MediaError("cannot read narration", path, AvErrorText(err)));
    if (pkt->stream_index != in.stream) {
      av_packet_unref(pkt.get());
      continue;
    }
    err = avcodec_send_packet(in.dec.get(), pkt.get());
    av_packet_unref(pkt.get());
    if (err < 0 && err != AVERROR(EAGAIN)) {
      return Fail(MediaError("cannot decode narration", path, AvErrorText(err)));
    }
    SL_RETURN_IF_ERROR(drain());
  }
  if (int err = avcodec_send_packet(in.dec.get(), nullptr); err < 0 && err != AVERROR_EOF) {
    return Fail(MediaError("cannot decode narration", path, AvErrorText(err)));
  }
  SL_RETURN_IF_ERROR(drain());
  if (samples == 0) return Fail(MediaError("narration has no sound", path, "no samples"));
  if (in.declared_seconds > 0 && seconds < in.declared_seconds * 0.98 - 0.05) {
    return Fail(MediaError(
        "narration is cut short", path,
        fmt::format("{:.2f} s decoded of {:.2f} s declared", seconds, in.declared_seconds)));
  }
  return seconds;
}

}  // namespace

void QuietLogs() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(&LogToSpdlog);
  });
}

std::string AvErrorText(int err) {
  std::array<char, AV_ERROR_MAX_STRING_SIZE> buf{};
  av_strerror(err, buf.data(), buf.size());
  return buf.data();
}

Error MediaError(const std::string& what, const std::string& path, const std::string& why) {
  const std::string name = std::filesystem::path(path).filename().string();
  return Error::InvalidArgument(what + " " + name + ": " + why, "media");
}

Result<FramePtr> AllocFrame(AVPixelFormat format, int width, int height) {
  FramePtr f(av_frame_alloc());
  if (!f) return Fail(Error::Internal("av_frame_alloc failed"));
  f->format = format;
  f->width = width;
  f->height = height;
  if (int err = av_frame_get_buffer(f.get(), 0); err < 0) {
    return Fail(Error::Internal("av_frame_get_buffer: " + AvErrorText(err)));
  }
  return f;
}

// The size a PNG's IHDR declares, or {0, 0} for anything else: FFmpeg refuses the largest
// sizes with a bare "invalid data", and this names the reason before anything is decoded.
std::pair<std::int64_t, std::int64_t> PngDeclaredSize(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[24];
  if (!in.read(reinterpret_cast<char*>(head), sizeof head)) return {0, 0};
  if (std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) != 0 || std::memcmp(head + 12, "IHDR", 4) != 0) {
    return {0, 0};
  }
  auto be32 = [](const unsigned char* p) {
    return static_cast<std::int64_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
  };
  return {be32(head + 16), be32(head + 20)};
}

Result<FramePtr> DecodePicture(const std::string& path) {
  QuietLogs();
  auto too_big = [](std::int64_t w, std::int64_t h) {
    return w > kMaxPictureSide || h > kMaxPictureSide || w * h > kMaxPicturePixels;
  };
  auto too_big_error = [&](std::int64_t w, std::int64_t h) {
    return MediaError("picture too large", path,
                      fmt::format("{}x{} (at most {} per side, {} pixels)", w, h, kMaxPictureSide,
                                  kMaxPicturePixels));
  };
  if (const auto [w, h] = PngDeclaredSize(path); too_big(w, h)) return Fail(too_big_error(w, h));
  AVFormatContext* raw = nullptr;
  if (int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); err < 0) {
    return Fail(MediaError("cannot open picture", path, AvErrorText(err)));
  }
  FormatInputPtr fmt(raw);
  // find_stream_info may decode a frame to learn the size: bound it there too.
  const std::string max_pixels = std::to_string(kMaxPicturePixels);
  std::vector<AVDictionary*> opts(fmt->nb_streams, nullptr);
  for (auto& d : opts) av_dict_set(&d, "max_pixels", max_pixels.c_str(), 0);
  const int info = avformat_find_stream_info(fmt.get(), opts.empty() ? nullptr : opts.data());
  for (auto& d : opts) av_dict_free(&d);
  const AVCodec* codec = nullptr;
  const int idx = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (idx < 0 || codec == nullptr) {
    return Fail(MediaError("no picture in", path, AvErrorText(info < 0 ? info : idx)));
  }
  const AVCodecParameters* par = fmt->streams[idx]->codecpar;
  if (too_big(par->width, par->height)) return Fail(too_big_error(par->width, par->height));
  if (info < 0) return Fail(MediaError("cannot read picture", path, AvErrorText(info)));
  CodecPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return Fail(Error::Internal("avcodec_alloc_context3 failed"));
  if (int err = avcodec_parameters_to_context(dec.get(), par); err < 0) {
    return Fail(MediaError("cannot read picture", path, AvErrorText(err)));
  }
  dec->thread_count = 1;
  dec->max_pixels = kMaxPicturePixels;
  if (int err = avcodec_open2(dec.get(), codec, nullptr); err < 0) {
    return Fail(MediaError("cannot decode picture", path, AvErrorText(err)));
  }
  PacketPtr pkt(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  if (!pkt || !frame) return Fail(Error::Internal("out of memory"));
  bool flushed = false;
  for (int packets = 0; packets < 64;) {
    int err = avcodec_receive_frame(dec.get(), frame.get());
    if (err == 0) break;
    if (err != AVERROR(EAGAIN) || flushed) {
      return Fail(MediaError("cannot decode picture", path, AvErrorText(err)));
    }
    err = av_read_frame(fmt.get(), pkt.get());
    if (err == AVERROR_EOF) {
      flushed = true;
      avcodec_send_packet(dec.get(), nullptr);
      continue;
    }
    if (err < 0) return Fail(MediaError("cannot read picture", path, AvErrorText(err)));
    if (pkt->stream_index == idx) {
      ++packets;
      err = avcodec_send_packet(dec.get(), pkt.get());
      if (err < 0 && err != AVERROR(EAGAIN)) {
        av_packet_unref(pkt.get());
        return Fail(MediaError("cannot decode picture", path, AvErrorText(err)));
      }
    }
    av_packet_unref(pkt.get());
  }
  if (frame->width <= 0 || frame->height <= 0 || frame->format < 0) {
    return Fail(MediaError("cannot decode picture", path, "no frame"));
  }
  if (too_big(frame->width, frame->height)) {
    return Fail(too_big_error(frame->width, frame->height));
  }
  return frame;
}

Result<FramePtr> CoverScale(const AVFrame& src, int width, int height, AVPixelFormat format) {
  // The largest centred region of the source with the target's aspect ratio.
  const double target_aspect = static_cast<double>(width) / height;
  int crop_w = src.width;
  int crop_h = src.height;
  if (static_cast<double>(src.width) / src.height > target_aspect) {
    crop_w = std::max(1, static_cast<int>(std::lround(src.height * target_aspect)));
  } else {
    crop_h = std::max(1, static_cast<int>(std::lround(src.width / target_aspect)));
  }
  FramePtr view(av_frame_alloc());
  if (!view) return Fail(Error::Internal("av_frame_alloc failed"));
  if (int err = av_frame_ref(view.get(), &src); err < 0) {
    return Fail(Error::Internal("av_frame_ref: " + AvErrorText(err)));
  }
  view->crop_left = static_cast<size_t>((src.width - crop_w) / 2);
  view->crop_right = static_cast<size_t>(src.width - crop_w) - view->crop_left;
  view->crop_top = static_cast<size_t>((src.height - crop_h) / 2);
  view->crop_bottom = static_cast<size_t>(src.height - crop_h) - view->crop_top;
  // Bitstream formats (1-bit PNG) cannot be cropped in place: those are scaled whole, which
  // only distorts when their aspect ratio differs.
  if (av_frame_apply_cropping(view.get(), AV_FRAME_CROP_UNALIGNED) < 0) {
    av_frame_unref(view.get());
    if (int err = av_frame_ref(view.get(), &src); err < 0) {
      return Fail(Error::Internal("av_frame_ref: " + AvErrorText(err)));
    }
  }
  SL_ASSIGN_OR_RETURN(FramePtr out, AllocFrame(format, width, height));
  SwsPtr sws(sws_getContext(view->width, view->height, static_cast<AVPixelFormat>(view->format),
                            width, height, format, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr,
                            nullptr));
  if (!sws) {
    return Fail(Error::InvalidArgument(
        fmt::format("cannot convert a picture in pixel format {}", view->format), "media"));
  }
  const AVPixFmtDescriptor* src_desc =
      av_pix_fmt_desc_get(static_cast<AVPixelFormat>(view->format));
  const bool src_rgb = src_desc != nullptr && (src_desc->flags & AV_PIX_FMT_FLAG_RGB);
  const bool src_full = src_rgb || src.color_range == AVCOL_RANGE_JPEG ||
                        view->format == AV_PIX_FMT_YUVJ420P ||
                        view->format == AV_PIX_FMT_YUVJ422P || view->format == AV_PIX_FMT_YUVJ444P;
  const bool dst_full = format == AV_PIX_FMT_YUVJ420P;
  const int* src_coeffs =
      sws_getCoefficients(src.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT);
  const int* dst_coeffs = sws_getCoefficients(dst_full ? SWS_CS_DEFAULT : SWS_CS_ITU709);
  sws_setColorspaceDetails(sws.get(), src_coeffs, src_full ? 1 : 0, dst_coeffs, dst_full ? 1 : 0, 0,
                           1 << 16, 1 << 16);
  if (int err = sws_scale_frame(sws.get(), out.get(), view.get()); err < 0) {
    return Fail(Error::InvalidArgument("cannot scale a picture: " + AvErrorText(err), "media"));
  }
  return out;
}

Result<double> NarrationSeconds(const std::string& path) {
  SL_ASSIGN_OR_RETURN(AudioInput in, OpenAudio(path));
  return DecodeAudio(in, path, [](const AVFrame&) -> Result<void> { return {}; });
}

Result<std::vector<std::int16_t>> DecodeNarration(const std::string& path) {
  SL_ASSIGN_OR_RETURN(AudioInput in, OpenAudio(path));
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  AVChannelLayout in_layout{};
  if (in.dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
    av_channel_layout_default(&in_layout, in.dec->ch_layout.nb_channels);
  } else if (av_channel_layout_copy(&in_layout, &in.dec->ch_layout) < 0) {
    return Fail(Error::Internal("av_channel_layout_copy failed"));
  }
  SwrContext* raw_swr = nullptr;
  int err = swr_alloc_set_opts2(&raw_swr, &mono, AV_SAMPLE_FMT_S16, kAudioRate, &in_layout,
                                in.dec->sample_fmt, in.dec->sample_rate, 0, nullptr);
  av_channel_layout_uninit(&in_layout);
  SwrPtr swr(raw_swr);
  if (err >= 0 && swr) err = swr_init(swr.get());
  if (err < 0 || !swr) {
    return Fail(MediaError("cannot resample narration", path, AvErrorText(err)));
  }
  std::vector<std::int16_t> out;
  auto convert = [&](const std::uint8_t** in_data, int in_samples) -> Result<void> {
    const int room = swr_get_out_samples(swr.get(), in_samples);
    if (room < 0) return Fail(MediaError("cannot resample narration", path, AvErrorText(room)));
    const std::size_t used = out.size();
    out.resize(used + static_cast<std::size_t>(room));
    auto* dst = reinterpret_cast<std::uint8_t*>(out.data() + used);
    const int got = swr_convert(swr.get(), &dst, room, in_data, in_samples);
    if (got < 0) return Fail(MediaError("cannot resample narration", path, AvErrorText(got)));
    out.resize(used + static_cast<std::size_t>(got));
    return {};
  };
  auto decoded = DecodeAudio(in, path, [&](const AVFrame& frame) -> Result<void> {
    if (frame.sample_rate != in.dec->sample_rate || frame.format != in.dec->sample_fmt ||
        frame.ch_layout.nb_channels != in.dec->ch_layout.nb_channels) {
      return Fail(MediaError("narration changes format midway", path, "unsupported"));
    }
    return convert(const_cast<const std::uint8_t**>(frame.extended_data), frame.nb_samples);
  });
  if (!decoded) return Fail(decoded.error());
  SL_RETURN_IF_ERROR(convert(nullptr, 0));
  return out;
}

}  // namespace storyloom::media::av
