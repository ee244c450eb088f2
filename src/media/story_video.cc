// EncodeStoryVideo: the title card and the scenes' pictures (Ken Burns, crossfades) encoded
// with libx264, the narrations placed on the timeline and encoded as AAC, the cues as a
// mov_text track, muxed into MP4 with +faststart.
#include "media/story_video.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>

#include "media/video_internal.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace storyloom::media {
namespace {

constexpr double kMaxVideoSeconds = 4 * 3600;

struct OutputDeleter {
  void operator()(AVFormatContext* c) const {
    if (c->pb != nullptr && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
using OutputPtr = std::unique_ptr<AVFormatContext, OutputDeleter>;

// A failure to write the output: the disk, not the story, is at fault for ENOSPC and EIO.
Error WriteError(const std::string& what, int err) {
  const std::string msg = what + ": " + av::AvErrorText(err);
  if (err == AVERROR(ENOSPC) || err == AVERROR(EDQUOT)) return Error::InsufficientStorage(msg);
  if (err == AVERROR(EIO)) return Error::StorageIo(msg);
  return Error::Internal(msg);
}

Result<void> CheckTimeline(const VideoSpec& spec, const Timeline& t) {
  if (t.scenes.size() != spec.scenes.size()) {
    return Fail(Error::InvalidArgument("the timeline does not match the scenes", "media"));
  }
  double at = t.title_end;
  if (!std::isfinite(at) || at < 0) {
    return Fail(Error::InvalidArgument("bad title time", "media"));
  }
  for (const SceneTiming& s : t.scenes) {
    if (!std::isfinite(s.start) || !std::isfinite(s.end) || s.start < at - 1e-6 ||
        s.end <= s.start || s.speech_start < s.start || s.speech_end < s.speech_start ||
        s.speech_end > s.end + 1e-6) {
      return Fail(Error::InvalidArgument("scene times out of order", "media"));
    }
    at = s.end;
  }
  if (!(t.duration > 0) || t.duration > kMaxVideoSeconds || t.duration < at - 1e-6) {
    return Fail(Error::InvalidArgument("video duration out of range", "media"));
  }
  return {};
}

// The picture at each instant: the title card, the scenes' moving pictures, crossfades.
class Pictures {
 public:
  Pictures(const VideoSpec& spec, const Timeline& timeline)
      : spec_(spec), timeline_(timeline), canvases_(spec.scenes.size()) {}

  Result<void> Init() {
    SL_ASSIGN_OR_RETURN(title_, RenderTitleCard(spec_.title, spec_.note, spec_.width, spec_.height,
                                                AV_PIX_FMT_YUV420P));
    SL_ASSIGN_OR_RETURN(a_, av::AllocFrame(AV_PIX_FMT_YUV420P, spec_.width, spec_.height));
    SL_ASSIGN_OR_RETURN(b_, av::AllocFrame(AV_PIX_FMT_YUV420P, spec_.width, spec_.height));
    // Every picture is decoded once up front, so that a broken one fails the encode before
    // minutes of video are spent on it.
    for (const VideoScene& scene : spec_.scenes) {
      SL_ASSIGN_OR_RETURN(av::FramePtr unused, av::DecodePicture(scene.image_path));
    }
    return {};
  }

  // Draws the picture at `t` seconds into `out` (yuv420p, the video's size).
  Result<void> Render(double t, AVFrame& out) {
    const double cf = std::max(0.0, spec_.crossfade_seconds);
    const auto& scenes = timeline_.scenes;
    if (t < timeline_.title_end || scenes.empty()) {
      const double fade = std::min(cf, timeline_.title_end / 2);
      if (!scenes.empty() && fade > 0 && t >= timeline_.title_end - fade) {
        SL_ASSIGN_OR_RETURN(const AVFrame* next, Canvas(0));
        RenderKenBurns(*next, scenes[0].number, 0, *b_);
        Blend(*title_, *b_, (t - (timeline_.title_end - fade)) / fade, out);
      } else {
        CopyPixels(*title_, out);
      }
      return {};
    }
    while (current_ + 1 < scenes.size() && t >= scenes[current_ + 1].start) ++current_;
    const SceneTiming& s = scenes[current_];
    SL_ASSIGN_OR_RETURN(const AVFrame* canvas, Canvas(current_));
    const double progress = (t - s.start) / (s.end - s.start);
    const double fade = std::min(cf, (s.end - s.start) / 2);
    if (current_ + 1 < scenes.size() && fade > 0 && t >= s.end - fade) {
      SL_ASSIGN_OR_RETURN(const AVFrame* next, Canvas(current_ + 1));
      RenderKenBurns(*canvas, s.number, progress, *a_);
      RenderKenBurns(*next, scenes[current_ + 1].number, 0, *b_);
      Blend(*a_, *b_, (t - (s.end - fade)) / fade, out);
    } else {
      RenderKenBurns(*canvas, s.number, progress, out);
    }
    return {};
  }

 private:
  // Scene i's picture covering kCanvasScale times the video; only the current scene's and
  // the next one's are kept.
  Result<const AVFrame*> Canvas(std::size_t i) {
    for (std::size_t k = 0; k < canvases_.size() && k + 1 < i; ++k) canvases_[k].reset();
    if (!canvases_[i]) {
      SL_ASSIGN_OR_RETURN(av::FramePtr picture, av::DecodePicture(spec_.scenes[i].image_path));
      const int cw = 2 * static_cast<int>(std::lround(spec_.width * kCanvasScale / 2));
      const int ch = 2 * static_cast<int>(std::lround(spec_.height * kCanvasScale / 2));
      SL_ASSIGN_OR_RETURN(canvases_[i], av::CoverScale(*picture, cw, ch, AV_PIX_FMT_YUV420P));
    }
    return canvases_[i].get();
  }

  const VideoSpec& spec_;
  const Timeline& timeline_;
  av::FramePtr title_;
  av::FramePtr a_;
  av::FramePtr b_;
  std::vector<av::FramePtr> canvases_;
  std::size_t current_ = 0;
};

// The sound at each sample: the narrations at their places on the timeline, silence
// elsewhere. Asked for samples in increasing order; decodes each narration when it starts.
class Soundtrack {
 public:
  Soundtrack(const VideoSpec& spec, const Timeline& timeline) : spec_(spec), timeline_(timeline) {
    loaded_.resize(spec.scenes.size());
  }

  // Fills `out` with the `n` samples from sample `first` on.
  Result<void> Fill(std::int64_t first, int n, float* out) {
    std::fill(out, out + n, 0.0f);
    const std::int64_t last = first + n;
    for (std::size_t i = 0; i < timeline_.scenes.size(); ++i) {
      const SceneTiming& s = timeline_.scenes[i];
      if (spec_.scenes[i].audio_path.empty()) continue;
      const std::int64_t from = std::llround(s.speech_start * av::kAudioRate);
      const std::int64_t to = std::llround(s.speech_end * av::kAudioRate);
      if (to <= first) {
        loaded_[i].reset();  // played: free it
        continue;
      }
      if (from >= last) break;
      if (!loaded_[i]) {
        SL_ASSIGN_OR_RETURN(loaded_[i], av::DecodeNarration(spec_.scenes[i].audio_path));
      }
      const std::vector<std::int16_t>& pcm = *loaded_[i];
      const std::int64_t end = std::min({to, last, from + static_cast<std::int64_t>(pcm.size())});
      for (std::int64_t k = std::max(first, from); k < end; ++k) {
        out[k - first] = pcm[static_cast<std::size_t>(k - from)] * (1.0f / 32768.0f);
      }
    }
    return {};
  }

 private:
  const VideoSpec& spec_;
  const Timeline& timeline_;
  std::vector<std::optional<std::vector<std::int16_t>>> loaded_;
};

// Sends `frame` (nullptr: flush) to `enc` and writes the packets that come out.
Result<void> EncodeFrame(AVFormatContext* out, AVCodecContext* enc, AVStream* st,
                         const AVFrame* frame, AVPacket* pkt) {
  if (int err = avcodec_send_frame(enc, frame); err < 0 && err != AVERROR_EOF) {
    return Fail(
        Error::Internal("encoder " + std::string(enc->codec->name) + ": " + av::AvErrorText(err)));
  }
  for (;;) {
    int err = avcodec_receive_packet(enc, pkt);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
    if (err < 0) {
      return Fail(Error::Internal("encoder " + std::string(enc->codec->name) + ": " +
                                  av::AvErrorText(err)));
    }
    av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
    pkt->stream_index = st->index;
    err = av_interleaved_write_frame(out, pkt);
    av_packet_unref(pkt);
    if (err < 0) return Fail(WriteError("writing the video", err));
  }
}

Result<av::CodecPtr> OpenEncoder(const char* name) {
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (codec == nullptr) {
    return Fail(Error::Internal(std::string("FFmpeg has no ") + name + " encoder"));
  }
  av::CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return Fail(Error::Internal("avcodec_alloc_context3 failed"));
  return enc;
}

// The ASS header the mov_text encoder reads its default style from.
constexpr char kAssHeader[] =
    "[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n"
    "[V4+ Styles]\r\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
    "OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
    "Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\r\n"
    "Style: Default,Sans,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\r\n"
    "\r\n[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, "
    "Text\r\n";

// A cue's text as an ASS dialogue line: newlines become \N, override braces are dropped.
std::string AssDialogue(const std::string& text) {
  std::string out = "0,0,Default,,0,0,0,,";
  for (char c : text) {
    if (c == '\n') {
      out += "\\N";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c != '{' && c != '}' && c != '\r') {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<VideoInfo> EncodeStoryVideo(const VideoSpec& spec, const Timeline& timeline,
                                   const std::string& out_path,
                                   const std::function<void(double)>& progress,
                                   const std::atomic<bool>* cancel) {
  av::QuietLogs();
  SL_RETURN_IF_ERROR(CheckVideoSpec(spec));
  SL_RETURN_IF_ERROR(CheckTimeline(spec, timeline));
  auto cancelled = [cancel] { return cancel != nullptr && cancel->load(); };
  if (cancelled()) return Fail(Error::Interrupted("video encoding cancelled"));

  Pictures pictures(spec, timeline);
  SL_RETURN_IF_ERROR(pictures.Init());
  Soundtrack soundtrack(spec, timeline);
  const std::vector<Cue> cues = SubtitleCues(spec, timeline);

  // Whatever happens below, a failed encode leaves no file behind (declared before the
  // output so that it runs after the file is closed).
  struct RemoveUnlessDone {
    const std::string& path;
    bool done = false;
    ~RemoveUnlessDone() {
      std::error_code ec;
      if (!done) std::filesystem::remove(path, ec);
    }
  } cleanup{out_path};

  AVFormatContext* raw_out = nullptr;
  if (int err = avformat_alloc_output_context2(&raw_out, nullptr, "mp4", out_path.c_str());
      err < 0 || raw_out == nullptr) {
    return Fail(Error::Internal("mp4 muxer: " + av::AvErrorText(err)));
  }
  OutputPtr out(raw_out);
  const bool global_header = out->oformat->flags & AVFMT_GLOBALHEADER;

  // Video: H.264 (libx264), yuv420p, BT.709.
  SL_ASSIGN_OR_RETURN(av::CodecPtr venc, OpenEncoder("libx264"));
  venc->width = spec.width;
  venc->height = spec.height;
  venc->pix_fmt = AV_PIX_FMT_YUV420P;
  venc->time_base = AVRational{1, spec.fps};
  venc->framerate = AVRational{spec.fps, 1};
  venc->gop_size = spec.fps * 4;
  venc->colorspace = AVCOL_SPC_BT709;
  venc->color_primaries = AVCOL_PRI_BT709;
  venc->color_trc = AVCOL_TRC_BT709;
  venc->color_range = AVCOL_RANGE_MPEG;
  // One thread and a short lookahead: x264's frame buffers are most of the encoder's
  // memory (peak RSS ~118 MB at 720p, docs/PERFORMANCE.md), and one core already encodes
  // 720p at more than 4x real time, leaving the other core to the server.
  venc->thread_count = 1;
  if (global_header) venc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  av_opt_set(venc->priv_data, "preset", "veryfast", 0);
  av_opt_set(venc->priv_data, "crf", "23", 0);
  av_opt_set_int(venc->priv_data, "rc-lookahead", 5, 0);
  if (int err = avcodec_open2(venc.get(), venc->codec, nullptr); err < 0) {
    return Fail(Error::Internal("libx264: " + av::AvErrorText(err)));
  }
  AVStream* vst = avformat_new_stream(out.get(), nullptr);
  if (vst == nullptr) return Fail(Error::Internal("avformat_new_stream failed"));
  vst->time_base = venc->time_base;
  vst->avg_frame_rate = venc->framerate;
  if (avcodec_parameters_from_context(vst->codecpar, venc.get()) < 0) {
    return Fail(Error::Internal("video stream parameters"));
  }

  // Audio: AAC, mono, 48 kHz.
  SL_ASSIGN_OR_RETURN(av::CodecPtr aenc, OpenEncoder("aac"));
  aenc->sample_fmt = AV_SAMPLE_FMT_FLTP;
  aenc->sample_rate = av::kAudioRate;
  aenc->ch_layout = AV_CHANNEL_LAYOUT_MONO;
  aenc->bit_rate = 96000;
  aenc->time_base = AVRational{1, av::kAudioRate};
  if (global_header) aenc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (int err = avcodec_open2(aenc.get(), aenc->codec, nullptr); err < 0) {
    return Fail(Error::Internal("aac: " + av::AvErrorText(err)));
  }
  AVStream* ast = avformat_new_stream(out.get(), nullptr);
  if (ast == nullptr) return Fail(Error::Internal("avformat_new_stream failed"));
  ast->time_base = aenc->time_base;
  if (avcodec_parameters_from_context(ast->codecpar, aenc.get()) < 0) {
    return Fail(Error::Internal("audio stream parameters"));
  }

  // Subtitles: mov_text, when there is anything to say.
  av::CodecPtr senc;
  AVStream* sst = nullptr;
  if (!cues.empty()) {
    SL_ASSIGN_OR_RETURN(senc, OpenEncoder("mov_text"));
    senc->time_base = AVRational{1, 1000};
    senc->subtitle_header = static_cast<std::uint8_t*>(av_malloc(sizeof kAssHeader));
    if (senc->subtitle_header == nullptr) return Fail(Error::Internal("out of memory"));
    std::memcpy(senc->subtitle_header, kAssHeader, sizeof kAssHeader);
    senc->subtitle_header_size = sizeof kAssHeader - 1;
    if (global_header) senc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (int err = avcodec_open2(senc.get(), senc->codec, nullptr); err < 0) {
      return Fail(Error::Internal("mov_text: " + av::AvErrorText(err)));
    }
    sst = avformat_new_stream(out.get(), nullptr);
    if (sst == nullptr) return Fail(Error::Internal("avformat_new_stream failed"));
    sst->time_base = senc->time_base;
    if (avcodec_parameters_from_context(sst->codecpar, senc.get()) < 0) {
      return Fail(Error::Internal("subtitle stream parameters"));
    }
    av_dict_set(&sst->metadata, "language", "eng", 0);
  }

  if (int err = avio_open(&out->pb, out_path.c_str(), AVIO_FLAG_WRITE); err < 0) {
    return Fail(WriteError("cannot create " + out_path, err));
  }
  AVDictionary* mux_opts = nullptr;
  av_dict_set(&mux_opts, "movflags", "+faststart", 0);
  const int header = avformat_write_header(out.get(), &mux_opts);
  av_dict_free(&mux_opts);
  if (header < 0) return Fail(WriteError("writing the MP4 header", header));

  av::PacketPtr pkt(av_packet_alloc());
  if (!pkt) return Fail(Error::Internal("out of memory"));

  // The cues first: the muxer interleaves them by time.
  if (sst != nullptr) {
    std::vector<std::uint8_t> buf(1 << 16);
    for (const Cue& cue : cues) {
      std::string ass = AssDialogue(cue.text);
      AVSubtitleRect rect{};
      rect.type = SUBTITLE_ASS;
      rect.ass = ass.data();
      AVSubtitleRect* rects[] = {&rect};
      AVSubtitle sub{};
      sub.num_rects = 1;
      sub.rects = rects;
      const std::int64_t start_ms = std::llround(cue.start * 1000);
      const std::int64_t end_ms =
          std::max<std::int64_t>(start_ms + 1, std::llround(cue.end * 1000));
      sub.pts = av_rescale_q(start_ms, AVRational{1, 1000}, AV_TIME_BASE_Q);
      sub.end_display_time = static_cast<std::uint32_t>(end_ms - start_ms);
      const int size =
          avcodec_encode_subtitle(senc.get(), buf.data(), static_cast<int>(buf.size()), &sub);
      if (size < 0) return Fail(Error::Internal("mov_text: " + av::AvErrorText(size)));
      if (int err = av_new_packet(pkt.get(), size); err < 0) {
        return Fail(Error::Internal("out of memory"));
      }
      std::memcpy(pkt->data, buf.data(), static_cast<std::size_t>(size));
      pkt->pts = pkt->dts = start_ms;
      pkt->duration = end_ms - start_ms;
      pkt->stream_index = sst->index;
      av_packet_rescale_ts(pkt.get(), senc->time_base, sst->time_base);
      const int err = av_interleaved_write_frame(out.get(), pkt.get());
      av_packet_unref(pkt.get());
      if (err < 0) return Fail(WriteError("writing the subtitles", err));
    }
  }

  const std::int64_t frames = std::max<std::int64_t>(1, std::llround(timeline.duration * spec.fps));
  const std::int64_t total_samples = std::llround(timeline.duration * av::kAudioRate);
  const int audio_frame = aenc->frame_size > 0 ? aenc->frame_size : 1024;
  SL_ASSIGN_OR_RETURN(av::FramePtr vframe,
                      av::AllocFrame(AV_PIX_FMT_YUV420P, spec.width, spec.height));
  vframe->colorspace = AVCOL_SPC_BT709;
  vframe->color_range = AVCOL_RANGE_MPEG;
  av::FramePtr aframe(av_frame_alloc());
  if (!aframe) return Fail(Error::Internal("out of memory"));
  std::int64_t samples_done = 0;
  // Encodes the audio up to sample `until` (whole AAC frames unless `until` is the end).
  auto encode_audio = [&](std::int64_t until) -> Result<void> {
    while (samples_done < until) {
      const int n = static_cast<int>(std::min<std::int64_t>(audio_frame, until - samples_done));
      if (n < audio_frame && until < total_samples) break;
      av_frame_unref(aframe.get());
      aframe->format = AV_SAMPLE_FMT_FLTP;
      aframe->sample_rate = av::kAudioRate;
      aframe->ch_layout = AV_CHANNEL_LAYOUT_MONO;
      aframe->nb_samples = n;
      if (av_frame_get_buffer(aframe.get(), 0) < 0) return Fail(Error::Internal("out of memory"));
      SL_RETURN_IF_ERROR(
          soundtrack.Fill(samples_done, n, reinterpret_cast<float*>(aframe->data[0])));
      aframe->pts = samples_done;
      SL_RETURN_IF_ERROR(EncodeFrame(out.get(), aenc.get(), ast, aframe.get(), pkt.get()));
      samples_done += n;
    }
    return {};
  };

  for (std::int64_t i = 0; i < frames; ++i) {
    if (cancelled()) return Fail(Error::Interrupted("video encoding cancelled"));
    if (av_frame_make_writable(vframe.get()) < 0) return Fail(Error::Internal("out of memory"));
    SL_RETURN_IF_ERROR(pictures.Render(static_cast<double>(i) / spec.fps, *vframe));
    vframe->pts = i;
    SL_RETURN_IF_ERROR(EncodeFrame(out.get(), venc.get(), vst, vframe.get(), pkt.get()));
    const std::int64_t audio_until =
        std::min(total_samples, av_rescale(i + 1, av::kAudioRate, spec.fps));
    SL_RETURN_IF_ERROR(encode_audio(audio_until));
    if (progress) progress(static_cast<double>(i + 1) / static_cast<double>(frames));
  }
  if (cancelled()) return Fail(Error::Interrupted("video encoding cancelled"));
  SL_RETURN_IF_ERROR(encode_audio(total_samples));
  SL_RETURN_IF_ERROR(EncodeFrame(out.get(), venc.get(), vst, nullptr, pkt.get()));
  SL_RETURN_IF_ERROR(EncodeFrame(out.get(), aenc.get(), ast, nullptr, pkt.get()));
  if (int err = av_write_trailer(out.get()); err < 0) {
    return Fail(WriteError("finishing the MP4", err));
  }
  if (int err = avio_closep(&out->pb); err < 0) return Fail(WriteError("closing the MP4", err));

  VideoInfo info;
  info.duration_s = static_cast<double>(frames) / spec.fps;
  info.width = spec.width;
  info.height = spec.height;
  info.fps = spec.fps;
  info.video_codec = "h264";
  info.audio_codec = "aac";
  info.subtitles = sst != nullptr;
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(out_path, ec);
  if (!ec && info.duration_s > 0) {
    info.bitrate = static_cast<std::int64_t>(static_cast<double>(bytes) * 8 / info.duration_s);
  }
  cleanup.done = true;
  return info;
}

}  // namespace storyloom::media
