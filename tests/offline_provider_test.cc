#include "providers/offline/offline_provider.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/text_util.h"
#include "providers/offline/story_template.h"
#include "providers/offline/wav.h"

namespace storyloom::providers {
namespace {

// A CallContext whose record_usage keeps every record.
struct Recorder {
  std::vector<ApiUsage> records;
  CallContext ctx;
  explicit Recorder(std::string phase = "story") {
    ctx.workflow_id = "wf-1";
    ctx.user_id = "user-1";
    ctx.phase = std::move(phase);
    ctx.record_usage = [this](ApiUsage& u) -> Result<void> {
      records.push_back(u);
      return {};
    };
  }
};

StoryRequest Request(std::string prompt, int scenes = 4, std::string style = "") {
  StoryRequest req;
  req.prompt = std::move(prompt);
  req.scenes = scenes;
  req.style = std::move(style);
  return req;
}

std::size_t WordCount(const std::string& text) { return core::SplitWords(text).size(); }

void ExpectFreeUsage(const ApiUsage& u, const std::string& operation) {
  EXPECT_EQ(u.provider, "offline");
  EXPECT_EQ(u.operation, operation);
  EXPECT_EQ(u.status, "ok");
  ASSERT_TRUE(u.cost_nusd.has_value());
  EXPECT_EQ(*u.cost_nusd, 0);
  EXPECT_EQ(u.cost_source, "offline");
  EXPECT_EQ(u.workflow_id, "wf-1");
  EXPECT_EQ(u.user_id, "user-1");
  EXPECT_GE(u.duration_ms, 0);
}

struct PngSize {
  std::uint32_t width = 0, height = 0;
};

// Reads the width and height from a PNG's IHDR chunk.
PngSize ParsePngIhdr(const std::string& png) {
  const auto be32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(png[at])) << 24 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 1])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 2])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 3]));
  };
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 ||
      png.compare(12, 4, "IHDR") != 0) {
    return {};
  }
  return {be32(16), be32(20)};
}

bool HaveEspeak() { return ::access("/usr/bin/espeak-ng", X_OK) == 0; }

TEST(OfflineProviderTest, NameIsOffline) { EXPECT_EQ(MakeOfflineProvider()->name(), "offline"); }

TEST(OfflineProviderTest, WriteStoryIsDeterministicAndTitled) {
  auto provider = MakeOfflineProvider();
  Recorder a, b;
  const StoryRequest req = Request("a lighthouse keeper who befriends a whale");
  auto s1 = provider->WriteStory(req, a.ctx);
  auto s2 = provider->WriteStory(req, b.ctx);
  ASSERT_TRUE(s1.has_value());
  ASSERT_TRUE(s2.has_value());
  EXPECT_EQ(s1->title, "A Lighthouse Keeper Who Befriends a Whale");
  EXPECT_EQ(s1->title, s2->title);
  EXPECT_EQ(s1->text, s2->text);
  EXPECT_EQ(s1->metadata_json, s2->metadata_json);
  // Several paragraphs, a short story's length, and about the prompt.
  EXPECT_GE(std::count(s1->text.begin(), s1->text.end(), '\n'), 8);
  EXPECT_GE(WordCount(s1->text), 300u);
  EXPECT_LE(WordCount(s1->text), 600u);
  EXPECT_NE(s1->text.find("a lighthouse keeper who befriends a whale"), std::string::npos);
  const auto meta = nlohmann::json::parse(s1->metadata_json);
  EXPECT_EQ(meta["provider"], "offline");
  EXPECT_EQ(meta["generator"], "template-v1");
  EXPECT_EQ(meta["ai"], false);
}

TEST(OfflineProviderTest, DifferentPromptsAndStylesGiveDifferentStories) {
  auto provider = MakeOfflineProvider();
  Recorder r;
  auto a = provider->WriteStory(Request("a robot who learns to paint"), r.ctx);
  auto b = provider->WriteStory(Request("the last dragon in Scotland"), r.ctx);
  auto c = provider->WriteStory(Request("the last dragon in Scotland", 4, "noir"), r.ctx);
  ASSERT_TRUE(a && b && c);
  EXPECT_NE(a->text, b->text);
  EXPECT_NE(a->title, b->title);
  EXPECT_NE(b->text, c->text);
}

TEST(OfflineProviderTest, WriteStoryKeepsAGivenTitleAndStripsRequestWording) {
  auto provider = MakeOfflineProvider();
  Recorder r;
  StoryRequest req = Request("Write me a short story about a robot who learns to paint.");
  auto derived = provider->WriteStory(req, r.ctx);
  ASSERT_TRUE(derived.has_value());
  EXPECT_EQ(derived->title, "A Robot Who Learns to Paint");
  EXPECT_EQ(derived->text.find("Write me"), std::string::npos);
  req.title = "Brushes and Bolts";
  auto given = provider->WriteStory(req, r.ctx);
  ASSERT_TRUE(given.has_value());
  EXPECT_EQ(given->title, "Brushes and Bolts");
}

TEST(OfflineProviderTest, WriteStoryReportsOneFreeChatCall) {
  auto provider = MakeOfflineProvider();
  Recorder r("story");
  auto story = provider->WriteStory(Request("a fox who runs a bakery"), r.ctx);
  ASSERT_TRUE(story.has_value());
  ASSERT_EQ(r.records.size(), 1u);
  ExpectFreeUsage(r.records[0], "chat");
  EXPECT_EQ(r.records[0].model, "template-v1");
  EXPECT_EQ(r.records[0].phase, "story");
  EXPECT_GT(r.records[0].output_tokens, 50);
  EXPECT_GT(r.records[0].input_tokens, 0);
}

TEST(OfflineProviderTest, BlankPromptIsInvalid) {
  auto provider = MakeOfflineProvider();
  Recorder r;
  auto story = provider->WriteStory(Request("  \n "), r.ctx);
  ASSERT_FALSE(story.has_value());
  EXPECT_EQ(story.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(r.records.empty());
}

TEST(OfflineProviderTest, CancelledCallsAbortWithoutRecording) {
  auto provider = MakeOfflineProvider();
  Recorder r;
  std::atomic<bool> cancelled{true};
  r.ctx.cancelled = &cancelled;
  const StoryRequest req = Request("a quiet harbor");
  const Story story{"T", "One. Two. Three.", "{}"};
  const SceneSpec scene{1, "T", "A harbor at night.", "p", "Hello there."};
  auto s = provider->WriteStory(req, r.ctx);
  auto sc = provider->BreakdownScenes(req, story, r.ctx);
  auto img = provider->RenderImage(req, scene, r.ctx);
  auto wav = provider->Narrate(req, scene, r.ctx);
  ASSERT_FALSE(s.has_value());
  ASSERT_FALSE(sc.has_value());
  ASSERT_FALSE(img.has_value());
  ASSERT_FALSE(wav.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kAborted);
  EXPECT_EQ(sc.error().code, ErrorCode::kAborted);
  EXPECT_EQ(img.error().code, ErrorCode::kAborted);
  EXPECT_EQ(wav.error().code, ErrorCode::kAborted);
  EXPECT_TRUE(r.records.empty());
}

TEST(OfflineProviderTest, RecordUsageErrorStopsEveryCall) {
  auto provider = MakeOfflineProvider();
  int calls = 0;
  CallContext ctx;
  ctx.record_usage = [&](ApiUsage&) -> Result<void> {
    ++calls;
    return Fail(Error::ResourceExhausted("monthly budget reached", "budget_exceeded"));
  };
  const StoryRequest req = Request("a garden on the moon");
  const Story story{"T", "One is here. Two is there. Three is everywhere.", "{}"};
  const SceneSpec scene{1, "T", "A garden.", "p", "The garden grew."};
  auto s = provider->WriteStory(req, ctx);
  auto sc = provider->BreakdownScenes(req, story, ctx);
  auto img = provider->RenderImage(req, scene, ctx);
  ASSERT_FALSE(s.has_value());
  ASSERT_FALSE(sc.has_value());
  ASSERT_FALSE(img.has_value());
  for (const Error& e : {s.error(), sc.error(), img.error()}) {
    EXPECT_EQ(e.code, ErrorCode::kResourceExhausted);
    EXPECT_EQ(e.detail, "budget_exceeded");
  }
  int expected = 3;
  if (HaveEspeak()) {
    auto wav = provider->Narrate(req, scene, ctx);
    ASSERT_FALSE(wav.has_value());
    EXPECT_EQ(wav.error().detail, "budget_exceeded");
    ++expected;
  }
  EXPECT_EQ(calls, expected);
}

class SceneCountTest : public ::testing::TestWithParam<int> {};

TEST_P(SceneCountTest, BreakdownGivesExactlyNScenesFromTheStory) {
  const int n = GetParam();
  auto provider = MakeOfflineProvider();
  Recorder r("scenes");
  const StoryRequest req = Request("a map that redraws itself every night", n, "watercolor");
  auto story = provider->WriteStory(req, r.ctx);
  ASSERT_TRUE(story.has_value());
  auto scenes = provider->BreakdownScenes(req, *story, r.ctx);
  ASSERT_TRUE(scenes.has_value());
  ASSERT_EQ(scenes->size(), static_cast<std::size_t>(n));
  const std::string flat_story = core::CollapseWhitespace(story->text);
  std::vector<std::string> titles;
  for (int i = 0; i < n; ++i) {
    const SceneSpec& s = (*scenes)[i];
    EXPECT_EQ(s.number, i + 1);
    EXPECT_FALSE(s.title.empty());
    titles.push_back(s.title);
    const auto desc = core::SplitSentences(s.description);
    EXPECT_GE(desc.size(), 2u) << s.description;
    EXPECT_LE(desc.size(), 3u) << s.description;
    for (const std::string& sentence : desc) {
      EXPECT_NE(flat_story.find(sentence), std::string::npos) << sentence;
    }
    const auto narration = core::SplitSentences(s.narration);
    EXPECT_GE(narration.size(), 1u);
    EXPECT_LE(narration.size(), 3u);
    EXPECT_NE(s.image_prompt.find(s.description), std::string::npos);
    EXPECT_NE(s.image_prompt.find("watercolor"), std::string::npos);
  }
  std::sort(titles.begin(), titles.end());
  EXPECT_EQ(std::unique(titles.begin(), titles.end()), titles.end()) << "titles repeat";
  if (n == 1) {
    EXPECT_EQ((*scenes)[0].title, story->title);
  }
  // Same input, same scenes.
  auto again = provider->BreakdownScenes(req, *story, r.ctx);
  ASSERT_TRUE(again.has_value());
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ((*again)[i].title, (*scenes)[i].title);
    EXPECT_EQ((*again)[i].description, (*scenes)[i].description);
    EXPECT_EQ((*again)[i].narration, (*scenes)[i].narration);
  }
  ASSERT_EQ(r.records.size(), 3u);
  ExpectFreeUsage(r.records[1], "chat");
  EXPECT_EQ(r.records[1].phase, "scenes");
}

INSTANTIATE_TEST_SUITE_P(Counts, SceneCountTest, ::testing::Values(1, 4, 20));

TEST(OfflineProviderTest, BreakdownHandlesAShortForeignStory) {
  auto provider = MakeOfflineProvider();
  Recorder r;
  const Story story{"Tiny", "The cat slept. Then it woke up and ate.", "{}"};
  auto scenes = provider->BreakdownScenes(Request("cats", 5), story, r.ctx);
  ASSERT_TRUE(scenes.has_value());
  ASSERT_EQ(scenes->size(), 5u);
  for (const SceneSpec& s : *scenes) {
    EXPECT_FALSE(s.title.empty());
    EXPECT_FALSE(s.description.empty());
    EXPECT_FALSE(s.narration.empty());
  }
}

TEST(OfflineProviderTest, BreakdownRejectsBadCountsAndEmptyStories) {
  auto provider = MakeOfflineProvider();
  Recorder r;
  const Story story{"T", "A sentence. Another one.", "{}"};
  for (int n : {0, -1, 21}) {
    auto scenes = provider->BreakdownScenes(Request("x", n), story, r.ctx);
    ASSERT_FALSE(scenes.has_value());
    EXPECT_EQ(scenes.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(scenes.error().detail, "scenes");
  }
  auto empty = provider->BreakdownScenes(Request("x", 2), Story{"T", " ", "{}"}, r.ctx);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(r.records.empty());
}

TEST(OfflineProviderTest, RenderImageIsADeterministic1280x720Png) {
  auto provider = MakeOfflineProvider();
  Recorder r("images");
  const StoryRequest req = Request("a lighthouse keeper", 4, "watercolor");
  const SceneSpec scene{2, "The Old Lighthouse",
                        "A lighthouse on a windy coast at dusk. Waves crash below.",
                        "A lighthouse at dusk. Style: watercolor.", "The light came on."};
  auto a = provider->RenderImage(req, scene, r.ctx);
  auto b = provider->RenderImage(req, scene, r.ctx);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->mime_type, "image/png");
  EXPECT_EQ(a->extension, "png");
  const PngSize size = ParsePngIhdr(a->bytes);
  EXPECT_EQ(size.width, 1280u);
  EXPECT_EQ(size.height, 720u);
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_GT(a->bytes.size(), 20000u);  // a picture, not a flat fill
  const auto meta = nlohmann::json::parse(a->metadata_json);
  EXPECT_EQ(meta["width"], 1280);
  EXPECT_EQ(meta["height"], 720);
  EXPECT_EQ(meta["provider"], "offline");
  EXPECT_EQ(meta["prompt"], scene.image_prompt);

  SceneSpec other = scene;
  other.title = "A Different Title";
  auto c = provider->RenderImage(req, other, r.ctx);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->bytes, a->bytes);

  ASSERT_EQ(r.records.size(), 3u);
  ExpectFreeUsage(r.records[0], "image");
  EXPECT_EQ(r.records[0].images, 1);
  EXPECT_EQ(r.records[0].image_size, "1280x720");
  EXPECT_EQ(r.records[0].phase, "images");
}

TEST(OfflineProviderTest, RenderImageSurvivesHostileText) {
  auto provider = MakeOfflineProvider();
  Recorder r;
  const std::string long_word(400, 'W');
  const SceneSpec scene{20, "",
                        "bad \xff\xfe utf8 \xe2\x82 and " + long_word +
                            " and a very long description. " + std::string(3000, 'x'),
                        "", ""};
  auto png = provider->RenderImage(Request("x", 20, "noir"), scene, r.ctx);
  ASSERT_TRUE(png.has_value()) << png.error().message;
  EXPECT_EQ(ParsePngIhdr(png->bytes).width, 1280u);
}

TEST(OfflineProviderTest, RenderImageFromSeveralThreadsGivesTheSameBytes) {
  auto provider = MakeOfflineProvider();
  const SceneSpec scene{3, "Into the Forest", "Tall pines in the morning fog.", "p", "n"};
  std::vector<std::string> out(3);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < out.size(); ++i) {
    threads.emplace_back([&, i] {
      CallContext ctx;
      auto png = provider->RenderImage(Request("forest"), scene, ctx);
      if (png) out[i] = png->bytes;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(out[0].empty());
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(out[0], out[2]);
}

class NarrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveEspeak()) GTEST_SKIP() << "espeak-ng is not installed";
    dir_ = std::filesystem::temp_directory_path() /
           ("storyloom-narrate-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    options_.temp_dir = dir_;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
  OfflineOptions options_;
};

TEST_F(NarrateTest, SpeaksAValidWavOfPlausibleLength) {
  auto provider = MakeOfflineProvider(options_);
  Recorder r("narration");
  SceneSpec scene;
  scene.number = 1;
  scene.narration =
      "Every morning Mira walked past the old lighthouse and wondered what lay beyond the "
      "horizon. People said she had a restless heart.";
  auto wav = provider->Narrate(Request("x"), scene, r.ctx);
  ASSERT_TRUE(wav.has_value()) << wav.error().message;
  EXPECT_EQ(wav->mime_type, "audio/wav");
  EXPECT_EQ(wav->extension, "wav");
  ASSERT_GE(wav->bytes.size(), 44u);
  EXPECT_EQ(wav->bytes.substr(0, 4), "RIFF");
  EXPECT_EQ(wav->bytes.substr(8, 4), "WAVE");
  auto info = offline::ParseWav(wav->bytes);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->format, 1);
  EXPECT_GT(info->sample_rate, 8000);
  // 21 words at 165 words a minute is about 7.6 s; allow for pauses and voice pacing.
  EXPECT_GT(info->duration_ms, 4000);
  EXPECT_LT(info->duration_ms, 16000);
  const auto meta = nlohmann::json::parse(wav->metadata_json);
  EXPECT_EQ(meta["duration_ms"], info->duration_ms);
  EXPECT_EQ(meta["sample_rate"], info->sample_rate);
  EXPECT_EQ(meta["voice"], "en-us");
  EXPECT_EQ(meta["provider"], "offline");

  ASSERT_EQ(r.records.size(), 1u);
  ExpectFreeUsage(r.records[0], "speech");
  EXPECT_EQ(r.records[0].characters, static_cast<std::int64_t>(scene.narration.size()));
  EXPECT_EQ(r.records[0].audio_ms, info->duration_ms);
  // The temporary WAV is gone.
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(NarrateTest, LongerTextGivesLongerAudioAndSameTextSameLength) {
  auto provider = MakeOfflineProvider(options_);
  Recorder r;
  SceneSpec short_scene, long_scene;
  short_scene.narration = "Hello.";
  long_scene.narration = "Hello. This sentence is quite a bit longer than the first one was.";
  auto a = provider->Narrate(Request("x"), short_scene, r.ctx);
  auto b = provider->Narrate(Request("x"), long_scene, r.ctx);
  auto c = provider->Narrate(Request("x"), long_scene, r.ctx);
  ASSERT_TRUE(a && b && c);
  EXPECT_LT(offline::ParseWav(a->bytes)->duration_ms, offline::ParseWav(b->bytes)->duration_ms);
  EXPECT_EQ(b->bytes, c->bytes);
}

TEST_F(NarrateTest, EmptyNarrationIsInvalid) {
  auto provider = MakeOfflineProvider(options_);
  Recorder r;
  SceneSpec scene;
  scene.narration = " \n";
  auto wav = provider->Narrate(Request("x"), scene, r.ctx);
  ASSERT_FALSE(wav.has_value());
  EXPECT_EQ(wav.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(NarrateTest, MissingBinaryIsUnavailableAndRecordedAsAnError) {
  options_.espeak_binary = "/nonexistent/espeak-ng";
  auto provider = MakeOfflineProvider(options_);
  Recorder r;
  SceneSpec scene;
  scene.narration = "Hello.";
  auto wav = provider->Narrate(Request("x"), scene, r.ctx);
  ASSERT_FALSE(wav.has_value());
  EXPECT_EQ(wav.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(wav.error().message.find("espeak-ng"), std::string::npos);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].status, "error");
  EXPECT_EQ(r.records[0].error_code, "unavailable");
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(NarrateTest, UnknownVoiceIsUnavailableAndAnOptionLikeVoiceIsRejected) {
  Recorder r;
  SceneSpec scene;
  scene.narration = "Hello.";
  options_.voice = "zz-nosuchvoice";
  auto unknown = MakeOfflineProvider(options_)->Narrate(Request("x"), scene, r.ctx);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnavailable);
  options_.voice = "--help";
  auto option = MakeOfflineProvider(options_)->Narrate(Request("x"), scene, r.ctx);
  ASSERT_FALSE(option.has_value());
  EXPECT_EQ(option.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(NarrateTest, TextIsNeverParsedAsOptions) {
  auto provider = MakeOfflineProvider(options_);
  Recorder r;
  SceneSpec scene;
  scene.narration = "--version; rm -rf / $(echo hi) `id`";
  auto wav = provider->Narrate(Request("x"), scene, r.ctx);
  ASSERT_TRUE(wav.has_value()) << wav.error().message;
  EXPECT_GT(offline::ParseWav(wav->bytes)->duration_ms, 500);
}

TEST(WavTest, ParsesHeadersAndRejectsGarbage) {
  std::string wav = "RIFF____WAVEfmt ";
  const auto le32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                       static_cast<char>((v >> 16) & 0xff), static_cast<char>(v >> 24)};
  };
  wav += le32(16);
  wav += std::string("\x01\x00\x01\x00", 4) + le32(16000) + le32(32000) +
         std::string("\x02\x00\x10\x00", 4);
  wav += "data" + le32(0x7ffff000) + std::string(32000, '\0');  // placeholder size
  auto info = offline::ParseWav(wav);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->sample_rate, 16000);
  EXPECT_EQ(info->data_bytes, 32000);
  EXPECT_EQ(info->duration_ms, 1000);
  EXPECT_FALSE(offline::ParseWav("").has_value());
  EXPECT_FALSE(offline::ParseWav("RIFF____WAVE").has_value());
  EXPECT_FALSE(offline::ParseWav(wav.substr(0, 30)).has_value());
}

TEST(StoryTemplateTest, TitleFromPrompt) {
  EXPECT_EQ(offline::TitleFromPrompt("the last dragon in scotland"), "The Last Dragon in Scotland");
  EXPECT_EQ(offline::TitleFromPrompt("Tell me a story about time travel, and cats."),
            "Time Travel");
  EXPECT_EQ(offline::TitleFromPrompt("one two three four five six seven eight nine"),
            "One Two Three Four Five Six Seven");
  EXPECT_EQ(offline::TitleFromPrompt("?!"), "An Untitled Tale");
}

}  // namespace
}  // namespace storyloom::providers
