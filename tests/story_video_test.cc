// The story video (src/media, issue 17), checked the way a user would: real pictures and
// narrations in, story.mp4 / story.vtt / poster.jpg out, inspected with Debian's ffprobe
// and ffmpeg.
#include "media/story_video.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "providers/offline/scene_card.h"
#include "support/temp_dir.h"

namespace storyloom::media {
namespace {

using storyloom::testing::ReadFileOrEmpty;
using storyloom::testing::TempDir;
using storyloom::testing::WriteFile;

// Runs `cmd` with sh and returns its standard output (binary-safe); "" on failure.
std::string Shell(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (status != nullptr) *status = rc;
  return out;
}

std::string Quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// A PCM WAV of a sine tone: `seconds` long, at `rate` Hz with `channels` equal channels.
void WriteSineWav(const std::filesystem::path& path, double seconds, int rate, int channels,
                  double freq, double amplitude) {
  const auto frames = static_cast<std::uint32_t>(std::llround(seconds * rate));
  std::string data;
  for (std::uint32_t i = 0; i < frames; ++i) {
    const auto v = static_cast<std::int16_t>(
        std::lround(amplitude * 32767 * std::sin(2 * M_PI * freq * i / rate)));
    for (int c = 0; c < channels; ++c) data.append(reinterpret_cast<const char*>(&v), 2);
  }
  auto le32 = [](std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  auto le16 = [](std::uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); };
  const auto ch = static_cast<std::uint16_t>(channels);
  std::string wav = "RIFF" + le32(36 + static_cast<std::uint32_t>(data.size())) + "WAVEfmt " +
                    le32(16) + le16(1) + le16(ch) + le32(static_cast<std::uint32_t>(rate)) +
                    le32(static_cast<std::uint32_t>(rate * channels * 2)) + le16(ch * 2) +
                    le16(16) + "data" + le32(static_cast<std::uint32_t>(data.size())) + data;
  WriteFile(path, wav);
}

// A PNG of smooth content that differs per `seed`: a two-colour gradient and a large disc.
void WritePicture(const std::filesystem::path& path, int w, int h, int seed) {
  std::string rgb(static_cast<std::size_t>(w) * h * 3, '\0');
  const double cx = w * (0.3 + 0.4 * ((seed * 37) % 10) / 10.0);
  const double cy = h * (0.3 + 0.4 * ((seed * 53) % 10) / 10.0);
  const double r = std::min(w, h) * 0.3;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double u = static_cast<double>(x) / w;
      const double v = static_cast<double>(y) / h;
      double c[3] = {255 * (seed % 2 ? u : 1 - u), 255 * v, 255 * (seed % 3 == 0 ? 0.8 : 0.2)};
      const double d = std::hypot(x - cx, y - cy);
      if (d < r) {
        const double k = std::min(1.0, (r - d) / 4);  // a soft edge
        const double disc[3] = {seed % 2 ? 250.0 : 20.0, seed % 2 ? 30.0 : 220.0, 120.0};
        for (int i = 0; i < 3; ++i) c[i] = c[i] * (1 - k) + disc[i] * k;
      }
      for (int i = 0; i < 3; ++i) {
        rgb[(static_cast<std::size_t>(y) * w + x) * 3 + i] = static_cast<char>(std::lround(c[i]));
      }
    }
  }
  const auto raw = path.string() + ".rgb";
  WriteFile(raw, rgb);
  int status = 0;
  Shell("ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s " + std::to_string(w) + "x" +
            std::to_string(h) + " -i " + Quote(raw) + " " + Quote(path),
        &status);
  ASSERT_EQ(status, 0);
  std::filesystem::remove(raw);
}

// The frame of `video` at `t` seconds as rgb24.
std::string FrameAt(const std::filesystem::path& video, double t) {
  char ts[32];
  std::snprintf(ts, sizeof ts, "%.3f", t);
  return Shell(std::string("ffmpeg -v error -ss ") + ts + " -i " + Quote(video) +
               " -frames:v 1 -f rawvideo -pix_fmt rgb24 -");
}

// What a scene's picture looks like halfway through: scaled to cover 1.12x the video,
// centre-cropped, then the centred 1/1.08 of it (the Ken Burns view at mid-scene).
std::string ExpectedMidScene(const std::filesystem::path& picture, int w, int h) {
  const int cw = 2 * static_cast<int>(std::lround(w * 1.12 / 2));
  const int ch = 2 * static_cast<int>(std::lround(h * 1.12 / 2));
  const std::string vf =
      "scale=" + std::to_string(cw) + ":" + std::to_string(ch) +
      ":force_original_aspect_ratio=increase:flags=bicubic,crop=" + std::to_string(cw) + ":" +
      std::to_string(ch) + ",crop=iw/1.08:ih/1.08,scale=" + std::to_string(w) + ":" +
      std::to_string(h) + ":flags=bilinear";
  return Shell("ffmpeg -v error -i " + Quote(picture) + " -vf '" + vf +
               "' -frames:v 1 -f rawvideo -pix_fmt rgb24 -");
}

double Psnr(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return 0;
  double se = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<unsigned char>(a[i]) - static_cast<unsigned char>(b[i]);
    se += d * d;
  }
  const double mse = se / static_cast<double>(a.size());
  return mse == 0 ? 99 : 10 * std::log10(255.0 * 255.0 / mse);
}

// RMS (dBFS) of the video's audio in [t, t + len), mono 48 kHz.
double AudioDb(const std::filesystem::path& video, double t, double len) {
  char args[96];
  std::snprintf(args, sizeof args, " -ss %.3f -t %.3f ", t, len);
  const std::string pcm = Shell(std::string("ffmpeg -v error") + args + "-i " + Quote(video) +
                                " -map 0:a -f s16le -ac 1 -ar 48000 -");
  double sum = 0;
  const std::size_t n = pcm.size() / 2;
  for (std::size_t i = 0; i < n; ++i) {
    std::int16_t s;
    std::memcpy(&s, pcm.data() + 2 * i, 2);
    sum += (s / 32768.0) * (s / 32768.0);
  }
  return n == 0 ? -200 : 10 * std::log10(std::max(sum / n, 1e-20));
}

nlohmann::json Probe(const std::filesystem::path& file) {
  const std::string out =
      Shell("ffprobe -v error -show_streams -show_format -of json " + Quote(file));
  return nlohmann::json::parse(out, nullptr, false);
}

// Top-level MP4 boxes in file order.
std::vector<std::string> TopLevelBoxes(const std::string& mp4) {
  std::vector<std::string> boxes;
  std::size_t pos = 0;
  while (pos + 8 <= mp4.size()) {
    auto b = [&](std::size_t i) {
      return static_cast<std::uint64_t>(static_cast<unsigned char>(mp4[i]));
    };
    std::uint64_t size = b(pos) << 24 | b(pos + 1) << 16 | b(pos + 2) << 8 | b(pos + 3);
    if (size == 1 && pos + 16 <= mp4.size()) {
      size = 0;
      for (int i = 0; i < 8; ++i) size = size << 8 | b(pos + 8 + i);
    }
    boxes.push_back(mp4.substr(pos + 4, 4));
    if (size < 8) break;
    pos += size;
  }
  return boxes;
}

struct VttCue {
  double start = 0, end = 0;
  std::string text;
};

// A small WebVTT reader: the header, then blocks of "start --> end" and text lines.
bool ParseVtt(const std::string& vtt, std::vector<VttCue>& cues) {
  if (vtt.rfind("WEBVTT", 0) != 0) return false;
  auto ts = [](const std::string& s, double& out) {
    int h = 0, m = 0, sec = 0, ms = 0;  // HH:MM:SS.mmm, or MM:SS.mmm
    if (std::sscanf(s.c_str(), "%d:%d:%d.%d", &h, &m, &sec, &ms) != 4) {
      h = 0;
      if (std::sscanf(s.c_str(), "%d:%d.%d", &m, &sec, &ms) != 3) return false;
    }
    out = h * 3600 + m * 60 + sec + ms / 1000.0;
    return true;
  };
  std::size_t pos = 0;
  std::vector<std::string> lines;
  while (pos <= vtt.size()) {
    const std::size_t nl = vtt.find('\n', pos);
    lines.push_back(vtt.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t arrow = lines[i].find(" --> ");
    if (arrow == std::string::npos) continue;
    VttCue cue;
    if (!ts(lines[i].substr(0, arrow), cue.start) || !ts(lines[i].substr(arrow + 5), cue.end)) {
      return false;
    }
    while (++i < lines.size() && !lines[i].empty()) {
      cue.text += (cue.text.empty() ? "" : "\n") + lines[i];
    }
    if (cue.text.empty() || cue.end <= cue.start) return false;
    cues.push_back(cue);
  }
  return true;
}

// Expects invalid_argument with detail "media"; returns the message ("" if it succeeded).
template <typename T>
std::string ExpectMediaError(const Result<T>& r) {
  EXPECT_FALSE(r.has_value());
  if (r.has_value()) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().ToString();
  EXPECT_EQ(r.error().detail, "media") << r.error().ToString();
  std::printf("  %s\n", r.error().message.c_str());
  return r.error().message;
}

// A three-scene story: an offline scene card (1280x720) with a 1.2 s narration at
// 22.05 kHz mono, a 4:3 picture with a 1.5 s narration at 44.1 kHz stereo, and a
// portrait picture without narration.
class StoryVideoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    providers::SceneSpec card;
    card.number = 1;
    card.title = "The lighthouse";
    card.description = "A keeper climbs the stairs at dusk.";
    auto png = providers::offline::RenderSceneCard(card, "");
    ASSERT_TRUE(png.has_value());
    WriteFile(dir_ / "scene1.png", *png);
    WritePicture(dir_ / "scene2.png", 1600, 1200, 2);
    WritePicture(dir_ / "scene3.png", 600, 1000, 3);
    WriteSineWav(dir_ / "scene1.wav", 1.2, 22050, 1, 440, 0.5);
    WriteSineWav(dir_ / "scene2.wav", 1.5, 44100, 2, 660, 0.25);

    spec_.title = "The Keeper of the Northern Light & the <Long> Night";
    spec_.title_seconds = 1.0;
    spec_.scene_seconds = 1.5;
    spec_.gap_seconds = 0.5;
    spec_.crossfade_seconds = 0.4;
    spec_.scenes = {
        {1, (dir_ / "scene1.png").string(), (dir_ / "scene1.wav").string(),
         "The keeper climbs the stairs. At the top, the lamp waits for him & the night."},
        {2, (dir_ / "scene2.png").string(), (dir_ / "scene2.wav").string(),
         "A ship's light answers from far out at sea, where the storm is gathering <fast>."},
        {3, (dir_ / "scene3.png").string(), "", ""},
    };
  }

  TempDir dir_;
  VideoSpec spec_;
};

TEST_F(StoryVideoTest, PlanTimelineLaysScenesOutByNarrationLength) {
  auto t = PlanTimeline(spec_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  ASSERT_EQ(t->scenes.size(), 3u);
  EXPECT_DOUBLE_EQ(t->title_end, 1.0);
  const SceneTiming& s1 = t->scenes[0];
  const SceneTiming& s2 = t->scenes[1];
  const SceneTiming& s3 = t->scenes[2];
  EXPECT_EQ(s1.number, 1);
  EXPECT_DOUBLE_EQ(s1.start, 1.0);
  EXPECT_DOUBLE_EQ(s1.speech_start, 1.0);
  EXPECT_NEAR(s1.speech_end - s1.speech_start, 1.2, 0.001);  // exact, not estimated
  EXPECT_NEAR(s1.end, s1.speech_end + 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(s2.start, s1.end);
  EXPECT_NEAR(s2.speech_end - s2.speech_start, 1.5, 0.001);
  EXPECT_NEAR(s2.end, s2.speech_end + 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(s3.start, s2.end);
  EXPECT_DOUBLE_EQ(s3.speech_end, s3.speech_start);  // no narration
  EXPECT_NEAR(s3.end - s3.start, 1.5, 1e-9);         // scene_seconds
  EXPECT_NEAR(t->duration, 1.0 + 1.7 + 2.0 + 1.5, 0.001);
}

TEST_F(StoryVideoTest, SubtitleCuesAreShortAndInsideTheirSpeech) {
  spec_.scenes[0].narration =
      "Night fell over the northern cape, and the keeper, who had kept the light for forty "
      "years, climbed the two hundred steps once more & again. Mr. Hale never missed a night! Did "
      "the sea know? Supercalifragilisticexpialidocious-and-even-longer-words-than-that-one "
      "appear.";
  auto t = PlanTimeline(spec_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const std::vector<Cue> cues = SubtitleCues(spec_, *t);
  std::vector<int> per_scene(3, 0);
  double last_end = 0;
  for (const Cue& cue : cues) {
    EXPECT_GE(cue.start, last_end - 1e-9);
    EXPECT_GT(cue.end, cue.start);
    last_end = cue.end;
    int lines = 1;
    std::size_t from = 0;
    for (std::size_t nl; (nl = cue.text.find('\n', from)) != std::string::npos; from = nl + 1) {
      EXPECT_LE(nl - from, 42u) << cue.text;
      ++lines;
    }
    EXPECT_LE(lines, 2) << cue.text;
    for (std::size_t i = 0; i < 3; ++i) {
      const SceneTiming& s = t->scenes[i];
      if (cue.start >= s.speech_start - 1e-9 && cue.end <= s.speech_end + 1e-9) ++per_scene[i];
    }
  }
  EXPECT_GE(per_scene[0], 4);  // three sentences and a long word: several cues
  EXPECT_GE(per_scene[1], 1);
  EXPECT_EQ(per_scene[2], 0);  // no narration, no cue
  EXPECT_EQ(per_scene[0] + per_scene[1], static_cast<int>(cues.size()));
  // "Mr." does not end a sentence: no cue starts with "Hale".
  for (const Cue& cue : cues) EXPECT_NE(cue.text.rfind("Hale", 0), 0u) << cue.text;

  const std::string vtt = WebVtt(cues);
  std::vector<VttCue> parsed;
  ASSERT_TRUE(ParseVtt(vtt, parsed)) << vtt;
  ASSERT_EQ(parsed.size(), cues.size());
  EXPECT_NE(vtt.find("&amp;"), std::string::npos);
  EXPECT_NE(vtt.find("&lt;fast&gt;"), std::string::npos);
  EXPECT_EQ(vtt.find('<'), std::string::npos);
  EXPECT_NE(vtt.find("00:00:01.000 --> "), std::string::npos) << vtt;
  // FFmpeg's WebVTT demuxer reads it too.
  WriteFile(dir_ / "story.vtt", vtt);
  int status = 0;
  const std::string n = Shell(
      "ffprobe -v error -count_packets -select_streams s:0 -show_entries "
      "stream=nb_read_packets -of csv=p=0 " +
          Quote(dir_ / "story.vtt"),
      &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(std::atoi(n.c_str()), static_cast<int>(cues.size()));
}

TEST_F(StoryVideoTest, EncodesA720pVideoWithPicturesNarrationAndSubtitles) {
  auto t = PlanTimeline(spec_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const auto out = dir_ / "story.mp4";
  std::vector<double> progress;
  std::atomic<bool> cancel{false};
  auto info = EncodeStoryVideo(
      spec_, *t, out.string(), [&](double f) { progress.push_back(f); }, &cancel);
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->width, 1280);
  EXPECT_EQ(info->height, 720);
  EXPECT_EQ(info->fps, 30);
  EXPECT_EQ(info->video_codec, "h264");
  EXPECT_EQ(info->audio_codec, "aac");
  EXPECT_TRUE(info->subtitles);
  EXPECT_GT(info->bitrate, 0);
  EXPECT_NEAR(info->duration_s, t->duration, 0.1);
  ASSERT_FALSE(progress.empty());
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_DOUBLE_EQ(progress.back(), 1.0);

  // Streams: h264 1280x720 30 fps yuv420p, AAC 48 kHz, mov_text.
  const nlohmann::json probe = Probe(out);
  ASSERT_TRUE(probe.contains("streams")) << probe.dump();
  int video = 0, audio = 0, subs = 0;
  for (const auto& s : probe["streams"]) {
    if (s["codec_type"] == "video") {
      ++video;
      EXPECT_EQ(s["codec_name"], "h264");
      EXPECT_EQ(s["width"], 1280);
      EXPECT_EQ(s["height"], 720);
      EXPECT_EQ(s["pix_fmt"], "yuv420p");
      EXPECT_EQ(s["r_frame_rate"], "30/1");
      EXPECT_EQ(s["avg_frame_rate"], "30/1");
    } else if (s["codec_type"] == "audio") {
      ++audio;
      EXPECT_EQ(s["codec_name"], "aac");
      EXPECT_EQ(s["sample_rate"], "48000");
    } else if (s["codec_type"] == "subtitle") {
      ++subs;
      EXPECT_EQ(s["codec_name"], "mov_text");
    }
  }
  EXPECT_EQ(video, 1);
  EXPECT_EQ(audio, 1);
  EXPECT_EQ(subs, 1);
  // Duration: title + narrations + gaps + the silent scene, within 0.1 s.
  const double duration = std::stod(probe["format"]["duration"].get<std::string>());
  EXPECT_NEAR(duration, 1.0 + (1.2 + 0.5) + (1.5 + 0.5) + 1.5, 0.1);
  // +faststart: the index (moov) comes before the media data (mdat).
  const std::vector<std::string> boxes = TopLevelBoxes(ReadFileOrEmpty(out));
  const auto moov = std::find(boxes.begin(), boxes.end(), "moov");
  const auto mdat = std::find(boxes.begin(), boxes.end(), "mdat");
  ASSERT_NE(moov, boxes.end());
  ASSERT_NE(mdat, boxes.end());
  EXPECT_LT(moov - boxes.begin(), mdat - boxes.begin());

  // Pictures: the frame at each scene's midpoint is that scene's picture (same scaling)
  // and clearly not its neighbour's.
  std::vector<std::string> expected;
  for (const VideoScene& s : spec_.scenes)
    expected.push_back(ExpectedMidScene(s.image_path, 1280, 720));
  for (std::size_t i = 0; i < 3; ++i) {
    const SceneTiming& s = t->scenes[i];
    const std::string frame = FrameAt(out, (s.start + s.end) / 2);
    ASSERT_EQ(frame.size(), 1280u * 720 * 3);
    const double own = Psnr(frame, expected[i]);
    const double other = Psnr(frame, expected[(i + 1) % 3]);
    std::printf("scene %zu: PSNR %.1f dB against its picture, %.1f dB against scene %zu's\n", i + 1,
                own, other, (i + 1) % 3 + 1);
    EXPECT_GT(own, 28.0) << "scene " << i + 1;
    EXPECT_LT(other, own - 10) << "scene " << i + 1;
  }
  // The title card: dark.
  const std::string title = FrameAt(out, 0.3);
  double mean = 0;
  for (unsigned char c : title) mean += c;
  EXPECT_LT(mean / static_cast<double>(title.size()), 60);

  // Sound: each narration at its place with its level, silence elsewhere.
  const double tone1 = 20 * std::log10(0.5 / std::sqrt(2.0));   // -9.0 dBFS
  const double tone2 = 20 * std::log10(0.25 / std::sqrt(2.0));  // -15.1 dBFS
  const double mid1 = (t->scenes[0].speech_start + t->scenes[0].speech_end) / 2;
  const double mid2 = (t->scenes[1].speech_start + t->scenes[1].speech_end) / 2;
  EXPECT_NEAR(AudioDb(out, mid1 - 0.2, 0.4), tone1, 1.0);
  EXPECT_NEAR(AudioDb(out, mid2 - 0.2, 0.4), tone2, 1.0);
  EXPECT_LT(AudioDb(out, 0.2, 0.6), -60);                            // title card
  EXPECT_LT(AudioDb(out, t->scenes[0].speech_end + 0.1, 0.3), -60);  // the gap after scene 1
  EXPECT_LT(AudioDb(out, t->scenes[2].start + 0.2, 1.0), -60);       // scene 3: no narration

  // The subtitle track holds the same cues as SubtitleCues.
  const std::vector<Cue> cues = SubtitleCues(spec_, *t);
  std::vector<VttCue> track;
  const std::string track_vtt =
      Shell("ffmpeg -v error -i " + Quote(out) + " -map 0:s:0 -f webvtt -");
  ASSERT_TRUE(ParseVtt(track_vtt, track)) << track_vtt;
  ASSERT_EQ(track.size(), cues.size());
  for (std::size_t i = 0; i < cues.size(); ++i) {
    EXPECT_NEAR(track[i].start, cues[i].start, 0.002);
    EXPECT_NEAR(track[i].end, cues[i].end, 0.002);
  }
  // story.vtt: at least one cue per narrated scene, inside its speech.
  std::vector<VttCue> vtt;
  ASSERT_TRUE(ParseVtt(WebVtt(cues), vtt));
  for (std::size_t i = 0; i < 2; ++i) {
    const SceneTiming& s = t->scenes[i];
    int inside = 0;
    for (const VttCue& c : vtt) {
      if (c.start >= s.speech_start - 0.001 && c.end <= s.speech_end + 0.001) ++inside;
    }
    EXPECT_GE(inside, 1) << "scene " << i + 1;
  }
}

TEST_F(StoryVideoTest, Encodes1080pAndScenesWithoutNarrationLastSceneSeconds) {
  spec_.width = 1920;
  spec_.height = 1080;
  spec_.title_seconds = 0.5;
  spec_.scene_seconds = 1.0;
  spec_.scenes.resize(2);
  spec_.scenes[0].audio_path.clear();  // text but no audio: cues over the whole scene
  spec_.scenes[1].audio_path.clear();
  spec_.scenes[1].narration.clear();
  auto t = PlanTimeline(spec_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_NEAR(t->scenes[0].end - t->scenes[0].start, 1.0, 1e-9);
  EXPECT_NEAR(t->duration, 2.5, 1e-9);
  const auto out = dir_ / "story.mp4";
  auto info = EncodeStoryVideo(spec_, *t, out.string(), nullptr, nullptr);
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  const nlohmann::json probe = Probe(out);
  ASSERT_TRUE(probe.contains("streams"));
  bool saw_video = false;
  for (const auto& s : probe["streams"]) {
    if (s["codec_type"] != "video") continue;
    saw_video = true;
    EXPECT_EQ(s["width"], 1920);
    EXPECT_EQ(s["height"], 1080);
  }
  EXPECT_TRUE(saw_video);
  EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), 2.5, 0.1);
  EXPECT_LT(AudioDb(out, 0.1, 2.3), -60);  // no narration anywhere
  const std::vector<Cue> cues = SubtitleCues(spec_, *t);
  ASSERT_FALSE(cues.empty());
  EXPECT_DOUBLE_EQ(cues.front().start, t->scenes[0].start);
  EXPECT_DOUBLE_EQ(cues.back().end, t->scenes[0].end);
  const std::string frame = FrameAt(out, (t->scenes[1].start + t->scenes[1].end) / 2);
  ASSERT_EQ(frame.size(), 1920u * 1080 * 3);
  EXPECT_GT(Psnr(frame, ExpectedMidScene(spec_.scenes[1].image_path, 1920, 1080)), 28.0);
}

TEST_F(StoryVideoTest, CancelFromProgressStopsAtTheNextFrame) {
  auto t = PlanTimeline(spec_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const auto out = dir_ / "story.mp4";
  std::atomic<bool> cancel{false};
  int calls_after = 0;
  std::chrono::steady_clock::time_point cancelled_at;
  auto r = EncodeStoryVideo(
      spec_, *t, out.string(),
      [&](double f) {
        if (cancel) {
          ++calls_after;
        } else if (f >= 0.2) {
          cancel = true;
          cancelled_at = std::chrono::steady_clock::now();
        }
      },
      &cancel);
  const auto stop_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - cancelled_at)
                           .count();
  std::printf("cancel: stopped %lld ms after the flag was set\n", static_cast<long long>(stop_ms));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().IsInterrupted()) << r.error().ToString();
  EXPECT_LE(calls_after, 1);
  EXPECT_FALSE(std::filesystem::exists(out));  // no half-written video left behind
}

TEST_F(StoryVideoTest, PosterIsTheFirstPictureAsJpeg) {
  auto jpeg = PosterJpeg(spec_);
  ASSERT_TRUE(jpeg.has_value()) << jpeg.error().ToString();
  ASSERT_GT(jpeg->size(), 1000u);
  EXPECT_EQ(jpeg->substr(0, 2), "\xFF\xD8");
  WriteFile(dir_ / "poster.jpg", *jpeg);
  const nlohmann::json probe = Probe(dir_ / "poster.jpg");
  ASSERT_TRUE(probe.contains("streams"));
  EXPECT_EQ(probe["streams"][0]["codec_name"], "mjpeg");
  EXPECT_EQ(probe["streams"][0]["width"], 1280);
  EXPECT_EQ(probe["streams"][0]["height"], 720);
  // Without scenes: the title card.
  spec_.scenes.clear();
  auto title = PosterJpeg(spec_);
  ASSERT_TRUE(title.has_value()) << title.error().ToString();
  EXPECT_EQ(title->substr(0, 2), "\xFF\xD8");

  // The note ("not AI generated" for the offline provider) is drawn in the band near the
  // bottom of the title card, which is plain background without it.
  auto band_brightness = [&](const std::string& jpeg, const char* name) {
    WriteFile(dir_ / name, jpeg);
    const std::string rgb = Shell("ffmpeg -v error -i " + Quote(dir_ / name) +
                                  " -vf crop=1280:40:0:628 -f rawvideo -pix_fmt gray -");
    EXPECT_EQ(rgb.size(), 1280u * 40u);
    int bright = 0;
    for (unsigned char px : rgb) bright += px > 120;
    return bright;
  };
  EXPECT_LT(band_brightness(*title, "plain.jpg"), 50);
  spec_.note = "Made offline from templates - not AI generated";
  auto noted = PosterJpeg(spec_);
  ASSERT_TRUE(noted.has_value()) << noted.error().ToString();
  EXPECT_GT(band_brightness(*noted, "noted.jpg"), 500);
}

std::uint32_t Crc32(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

std::string Be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string PngChunk(const std::string& type, const std::string& data) {
  return Be32(static_cast<std::uint32_t>(data.size())) + type + data + Be32(Crc32(type + data));
}

TEST_F(StoryVideoTest, HostilePicturesAreInvalidArgument) {
  auto t = PlanTimeline(spec_);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const std::string good = ReadFileOrEmpty(spec_.scenes[1].image_path);
  // PNG headers claiming 20000x20000 and 9000x9000 pixels, with a little compressed data.
  auto png_of = [](std::uint32_t w, std::uint32_t h) {
    const std::string ihdr = Be32(w) + Be32(h) + std::string("\x08\x02\x00\x00\x00", 5);
    return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) +
           PngChunk("IDAT", std::string("\x78\x9c\x63\x60\x00\x00\x00\x02\x00\x01", 10)) +
           PngChunk("IEND", "");
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage.png", std::string(5000, '\x5a')},
      {"empty.png", ""},
      {"truncated.png", good.substr(0, good.size() / 3)},
      {"huge.png", png_of(20000, 20000)},
      {"large.png", png_of(9000, 9000)},
      {"text.jpg", "this is not a picture\n"},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    WriteFile(dir_ / name, bytes);
    VideoSpec spec = spec_;
    spec.scenes[1].image_path = (dir_ / name).string();
    const auto out = dir_ / "story.mp4";
    const std::string msg =
        ExpectMediaError(EncodeStoryVideo(spec, *t, out.string(), nullptr, nullptr));
    EXPECT_NE(msg.find(name), std::string::npos) << msg;  // names the file
    if (name == "huge.png" || name == "large.png") {
      EXPECT_NE(msg.find("too large"), std::string::npos) << msg;
    }
    EXPECT_FALSE(std::filesystem::exists(out));
    spec.scenes.erase(spec.scenes.begin());
    ExpectMediaError(PosterJpeg(spec));
  }
}

TEST_F(StoryVideoTest, HostileNarrationsAreInvalidArgument) {
  const std::string good = ReadFileOrEmpty(spec_.scenes[0].audio_path);
  // Eleven minutes of real 8 kHz 8-bit audio: longer than a narration may be.
  std::string wav11 = ReadFileOrEmpty(spec_.scenes[0].audio_path).substr(0, 0);
  {
    const std::uint32_t n = 11 * 60 * 8000;
    auto le32 = [](std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
    wav11 = "RIFF" + le32(36 + n) + "WAVEfmt " + le32(16) + std::string("\x01\x00\x01\x00", 4) +
            le32(8000) + le32(8000) + std::string("\x01\x00\x08\x00", 4) + "data" + le32(n) +
            std::string(n, '\x80');
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated.wav", good.substr(0, good.size() / 2)},
      {"header-only.wav", good.substr(0, 30)},
      {"empty.wav", ""},
      {"garbage.mp3", std::string(20000, '\x17')},
      {"eleven-minutes.wav", wav11},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    WriteFile(dir_ / name, bytes);
    VideoSpec spec = spec_;
    spec.scenes[0].audio_path = (dir_ / name).string();
    const std::string msg = ExpectMediaError(PlanTimeline(spec));
    EXPECT_NE(msg.find(name), std::string::npos) << msg;
    if (name == "truncated.wav") {
      EXPECT_NE(msg.find("cut short"), std::string::npos) << msg;
    }
    if (name == "eleven-minutes.wav") {
      EXPECT_NE(msg.find("too long"), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace storyloom::media
