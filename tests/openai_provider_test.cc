// The OpenAI-compatible provider against FakeOpenAI on loopback: structured outputs,
// per-phase models, retries (429 + Retry-After, 5xx, timeouts, malformed replies, truncated
// images), usage reported for every attempt, cancellation, budgets, and no key in errors.
#include "providers/openai/openai_provider.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <thread>

#include "providers/openai/http_client.h"
#include "providers/openai/json_schema.h"
#include "providers/openai/media_check.h"
#include "support/fake_openai.h"

namespace storyloom {
namespace {

using providers::CallContext;
using testing::FakeOpenAI;
using testing::FakeStep;
using Kind = testing::FakeStep::Kind;

constexpr const char* kKey = "sk-test-0123456789abcdef";

class OpenAIProviderTest : public ::testing::Test {
 protected:
  std::unique_ptr<providers::Provider> Make(providers::OpenAIOptions o = {}) {
    o.base_url = fake_.base_url();
    o.api_key = kKey;
    o.backoff_ms = 5;
    o.max_backoff_ms = 20;
    if (o.timeout_ms == providers::OpenAIOptions{}.timeout_ms) o.timeout_ms = 2000;
    return providers::MakeOpenAIProvider(o);
  }
  CallContext Ctx(const std::string& phase) {
    CallContext ctx;
    ctx.phase = phase;
    ctx.record_usage = [this](ApiUsage& u) -> Result<void> {
      std::lock_guard lock(mu_);
      usage_.push_back(u);
      return {};
    };
    ctx.cancelled = &cancelled_;
    return ctx;
  }
  providers::StoryRequest Req(int scenes = 3) {
    providers::StoryRequest r;
    r.prompt = "a lighthouse keeper";
    r.scenes = scenes;
    return r;
  }

  FakeOpenAI fake_;
  std::mutex mu_;
  std::vector<ApiUsage> usage_;
  std::atomic<bool> cancelled_{false};
};

TEST_F(OpenAIProviderTest, StoryUsesStructuredOutputsAndReportsTokens) {
  auto p = Make();
  auto ctx = Ctx("story");
  auto story = p->WriteStory(Req(), ctx);
  ASSERT_TRUE(story) << story.error().ToString();
  EXPECT_EQ(story->title, "The Lantern Keeper");
  EXPECT_NE(story->text.find("lantern"), std::string::npos);
  auto reqs = fake_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].authorization, std::string("Bearer ") + kKey);
  EXPECT_EQ(reqs[0].body["model"], "gpt-4o-mini");
  const auto& rf = reqs[0].body["response_format"];
  EXPECT_EQ(rf["type"], "json_schema");
  EXPECT_EQ(rf["json_schema"]["name"], "story");
  EXPECT_EQ(rf["json_schema"]["strict"], true);
  EXPECT_EQ(rf["json_schema"]["schema"]["required"], nlohmann::json({"title", "story"}));
  ASSERT_EQ(usage_.size(), 1u);
  const ApiUsage& u = usage_[0];
  EXPECT_EQ(u.provider, "openai");
  EXPECT_EQ(u.model, "gpt-4o-mini");
  EXPECT_EQ(u.operation, "chat");
  EXPECT_EQ(u.phase, "story");
  EXPECT_EQ(u.status, "ok");
  EXPECT_EQ(u.http_status, 200);
  EXPECT_EQ(u.attempt, 1);
  EXPECT_EQ(u.input_tokens, 1200);
  EXPECT_EQ(u.cached_input_tokens, 400);
  EXPECT_EQ(u.output_tokens, 300);
  EXPECT_EQ(u.reasoning_tokens, 50);
}

TEST_F(OpenAIProviderTest, ScenesHaveExactCountAndPerPhaseModels) {
  providers::OpenAIOptions o;
  o.phase_models["scenes"] = "gpt-4.1-mini";
  auto p = Make(o);
  auto ctx = Ctx("scenes");
  auto scenes = p->BreakdownScenes(Req(4), {"T", "story text", ""}, ctx);
  ASSERT_TRUE(scenes) << scenes.error().ToString();
  ASSERT_EQ(scenes->size(), 4u);
  EXPECT_EQ((*scenes)[3].number, 4);
  auto body = fake_.requests().back().body;
  EXPECT_EQ(body["model"], "gpt-4.1-mini");
  EXPECT_EQ(body["response_format"]["json_schema"]["schema"]["properties"]["scenes"]["minItems"],
            4);
  // The workflow's own choice beats the per-phase default.
  auto req = Req(2);
  req.chat_model = "my-local-llama";
  ASSERT_TRUE(p->BreakdownScenes(req, {"T", "story", ""}, ctx));
  EXPECT_EQ(fake_.requests().back().body["model"], "my-local-llama");
}

TEST_F(OpenAIProviderTest, RateLimitHonoursRetryAfterThenServerErrorThenSucceeds) {
  fake_.Script("chat", {{Kind::kStatus, 429, "1"}, {Kind::kStatus, 500}});
  auto p = Make();
  auto ctx = Ctx("story");
  const auto start = std::chrono::steady_clock::now();
  auto story = p->WriteStory(Req(), ctx);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  ASSERT_TRUE(story) << story.error().ToString();
  EXPECT_GE(ms, 950);  // waited as Retry-After: 1 asked
  ASSERT_EQ(usage_.size(), 3u);
  EXPECT_EQ(usage_[0].status, "error");
  EXPECT_EQ(usage_[0].http_status, 429);
  EXPECT_EQ(usage_[0].error_code, "rate_limited");
  EXPECT_EQ(usage_[0].attempt, 1);
  EXPECT_EQ(usage_[1].http_status, 500);
  EXPECT_EQ(usage_[1].error_code, "server_error");
  EXPECT_EQ(usage_[2].status, "ok");
  EXPECT_EQ(usage_[2].attempt, 3);
}

TEST_F(OpenAIProviderTest, TimeoutIsRetried) {
  // The scripted reply never comes within the timeout (the fake's sleep ends when the test
  // does), and the timeout is wide enough that the retry answers in time on a loaded machine.
  fake_.Script("chat", {{Kind::kSleep, 200, "", 600000}});
  providers::OpenAIOptions o;
  o.timeout_ms = 3000;
  auto p = Make(o);
  auto ctx = Ctx("story");
  auto story = p->WriteStory(Req(), ctx);
  ASSERT_TRUE(story) << story.error().ToString();
  ASSERT_EQ(usage_.size(), 2u);
  EXPECT_EQ(usage_[0].error_code, "timeout");
  EXPECT_FALSE(usage_[0].http_status.has_value());
  EXPECT_EQ(usage_[1].status, "ok");
}

TEST_F(OpenAIProviderTest, MalformedRepliesAreRetriedThenFailClearly) {
  providers::OpenAIOptions o;
  o.max_retries = 2;
  fake_.Script("chat", {{Kind::kMalformedJson}, {Kind::kSchemaMismatch}, {Kind::kMalformedJson}});
  auto p = Make(o);
  auto ctx = Ctx("story");
  auto story = p->WriteStory(Req(), ctx);
  ASSERT_FALSE(story);
  EXPECT_EQ(story.error().detail, "malformed_reply");
  EXPECT_NE(story.error().message.find("after 3 attempts"), std::string::npos)
      << story.error().message;
  ASSERT_EQ(usage_.size(), 3u);
  for (const auto& u : usage_) {
    EXPECT_EQ(u.status, "error");
    EXPECT_EQ(u.error_code, "malformed_reply");
    EXPECT_EQ(u.input_tokens, 1200);  // the service still billed the reply
  }
}

TEST_F(OpenAIProviderTest, TruncatedImageIsRetriedAndBilled) {
  fake_.Script("images", {{Kind::kTruncatedImage}});
  auto p = Make();
  auto ctx = Ctx("images");
  providers::SceneSpec scene{1, "t", "d", "a cliff", "n"};
  auto media = p->RenderImage(Req(), scene, ctx);
  ASSERT_TRUE(media) << media.error().ToString();
  EXPECT_EQ(media->mime_type, "image/png");
  EXPECT_EQ(media->bytes, FakeOpenAI::Png());
  EXPECT_NE(media->metadata_json.find("\"width\":4"), std::string::npos);
  ASSERT_EQ(usage_.size(), 2u);
  EXPECT_EQ(usage_[0].error_code, "invalid_image");
  EXPECT_EQ(usage_[0].images, 1);
  EXPECT_EQ(usage_[1].images, 1);
  EXPECT_EQ(usage_[1].image_size, "1536x1024");
  EXPECT_EQ(usage_[1].image_quality, "medium");
  auto body = fake_.requests().back().body;
  EXPECT_EQ(body["model"], "gpt-image-1");
  EXPECT_FALSE(body.contains("response_format"));
}

TEST_F(OpenAIProviderTest, ImageUrlIsDownloaded) {
  fake_.Script("images", {{Kind::kImageUrl}});
  providers::OpenAIOptions o;
  o.image_model = "dall-e-3";
  auto p = Make(o);
  auto ctx = Ctx("images");
  auto media = p->RenderImage(Req(), {1, "t", "d", "a cliff", "n"}, ctx);
  ASSERT_TRUE(media) << media.error().ToString();
  EXPECT_EQ(media->bytes, FakeOpenAI::Png());
  EXPECT_EQ(fake_.count("file"), 1);
  EXPECT_EQ(usage_.back().image_size, "1792x1024");
  EXPECT_EQ(usage_.back().image_quality, "standard");
}

TEST_F(OpenAIProviderTest, SpeechReturnsWavWithDuration) {
  auto p = Make();
  auto ctx = Ctx("narration");
  auto media = p->Narrate(Req(), {1, "t", "d", "i", "Héllo there"}, ctx);
  ASSERT_TRUE(media) << media.error().ToString();
  EXPECT_EQ(media->mime_type, "audio/wav");
  EXPECT_EQ(media->extension, "wav");
  ASSERT_EQ(usage_.size(), 1u);
  EXPECT_EQ(usage_[0].characters, 11);
  EXPECT_EQ(usage_[0].audio_ms, FakeOpenAI::kWavMs);
  auto body = fake_.requests().back().body;
  EXPECT_EQ(body["model"], "gpt-4o-mini-tts");
  EXPECT_EQ(body["response_format"], "wav");
}

TEST_F(OpenAIProviderTest, ClientErrorsAreNotRetriedAndNeverShowTheKey) {
  fake_.Script("chat",
               {{Kind::kStatus, 401, "", 0, std::string("Incorrect API key provided: ") + kKey}});
  auto p = Make();
  auto ctx = Ctx("story");
  auto story = p->WriteStory(Req(), ctx);
  ASSERT_FALSE(story);
  EXPECT_EQ(story.error().detail, "http_401");
  EXPECT_EQ(story.error().message.find(kKey), std::string::npos) << story.error().message;
  EXPECT_NE(story.error().message.find("Incorrect API key"), std::string::npos);
  EXPECT_EQ(usage_.size(), 1u);
}

TEST_F(OpenAIProviderTest, RetryCapStopsAfterMaxRetries) {
  providers::OpenAIOptions o;
  o.max_retries = 1;
  fake_.Script("speech", {{Kind::kStatus, 503}, {Kind::kStatus, 503}, {Kind::kStatus, 503}});
  auto p = Make(o);
  auto ctx = Ctx("narration");
  auto media = p->Narrate(Req(), {1, "t", "d", "i", "hi"}, ctx);
  ASSERT_FALSE(media);
  EXPECT_EQ(media.error().detail, "server_error");
  EXPECT_EQ(fake_.count("speech"), 2);
  EXPECT_EQ(usage_.size(), 2u);
}

TEST_F(OpenAIProviderTest, AbsurdReportedUsageIsBoundedNotBelieved) {
  // A hostile or broken service claims 4e18 tokens in every field (about 2^62: the fake adds
  // two of them for total_tokens): the call still succeeds and what is recorded stays within
  // the bounds the store and the cost arithmetic accept.
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 2 - 1;
  fake_.SetChatUsage(huge, huge, huge, huge);
  auto p = Make();
  auto ctx = Ctx("story");
  auto story = p->WriteStory(Req(), ctx);
  ASSERT_TRUE(story) << story.error().ToString();
  ASSERT_EQ(usage_.size(), 1u);
  EXPECT_EQ(usage_[0].input_tokens, 100'000'000);
  EXPECT_EQ(usage_[0].output_tokens, 100'000'000);
  EXPECT_LE(usage_[0].cached_input_tokens, usage_[0].input_tokens);
  EXPECT_LE(usage_[0].reasoning_tokens, 100'000'000);
}

TEST_F(OpenAIProviderTest, CancellationAbortsAnInFlightCall) {
  // The reply would take ten minutes and the timeout is longer still: only the cancellation
  // can end this call.
  fake_.Script("chat", {{Kind::kSleep, 200, "", 600000}});
  providers::OpenAIOptions o;
  o.timeout_ms = 1200000;
  auto p = Make(o);
  auto ctx = Ctx("story");
  std::thread canceller([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancelled_ = true;
  });
  auto story = p->WriteStory(Req(), ctx);
  canceller.join();
  ASSERT_FALSE(story);
  // Aborted by the progress callback (about once a second while idle), not by the timeout.
  EXPECT_TRUE(story.error().IsInterrupted()) << story.error().ToString();
  ASSERT_EQ(usage_.size(), 1u);
  EXPECT_EQ(usage_[0].error_code, "cancelled");
}

TEST_F(OpenAIProviderTest, BudgetRefusalStopsBeforeTheCall) {
  auto p = Make();
  auto ctx = Ctx("images");
  std::vector<ApiUsage> planned;
  ctx.reserve = [&](const ApiUsage& u) -> Result<void> {
    planned.push_back(u);
    return Fail(Error::ResourceExhausted("over budget", "budget_exceeded"));
  };
  auto media = p->RenderImage(Req(), {1, "t", "d", "i", "n"}, ctx);
  ASSERT_FALSE(media);
  EXPECT_EQ(media.error().detail, "budget_exceeded");
  EXPECT_EQ(fake_.count("images"), 0);
  ASSERT_EQ(planned.size(), 1u);
  EXPECT_EQ(planned[0].images, 1);
  EXPECT_EQ(planned[0].image_size, "1536x1024");
}

TEST(OpenAIHelpersTest, RetryAfterSecondsAndHttpDate) {
  using providers::openai::RetryAfterMs;
  EXPECT_EQ(RetryAfterMs({{"retry-after", "3"}}, 0), 3000);
  EXPECT_EQ(RetryAfterMs({{"retry-after-ms", "250"}}, 0), 250);
  EXPECT_EQ(RetryAfterMs({}, 0), -1);
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 s.
  EXPECT_EQ(RetryAfterMs({{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}}, 1445412478000), 2000);
  EXPECT_EQ(RetryAfterMs({{"retry-after", "soon"}}, 0), -1);
}

TEST(OpenAIHelpersTest, SchemaValidatorSubset) {
  using providers::openai::ValidateJson;
  nlohmann::json schema = {
      {"type", "object"},
      {"properties",
       {{"xs",
         {{"type", "array"}, {"minItems", 2}, {"maxItems", 2}, {"items", {{"type", "string"}}}}}}},
      {"required", {"xs"}},
      {"additionalProperties", false}};
  EXPECT_EQ(ValidateJson(schema, {{"xs", {"a", "b"}}}), "");
  EXPECT_NE(ValidateJson(schema, {{"xs", nlohmann::json::array({"a"})}}).find("at least 2"),
            std::string::npos);
  EXPECT_NE(ValidateJson(schema, {{"xs", {"a", 1}}}).find("$.xs[1]"), std::string::npos);
  EXPECT_NE(ValidateJson(schema, nlohmann::json::object()).find("missing"), std::string::npos);
  EXPECT_NE(ValidateJson(schema, {{"xs", {"a", "b"}}, {"y", 1}}).find("unexpected"),
            std::string::npos);
  EXPECT_NE(ValidateJson(schema, "text").find("expected object"), std::string::npos);
}

TEST(OpenAIHelpersTest, ImageChecksCatchTruncationAndCorruption) {
  using providers::openai::InspectImage;
  const std::string png = FakeOpenAI::Png();
  auto ok = InspectImage(png);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->width, 4);
  EXPECT_EQ(ok->height, 2);
  for (std::size_t cut : {std::size_t{7}, std::size_t{20}, png.size() / 2, png.size() - 1}) {
    auto bad = InspectImage(png.substr(0, cut));
    ASSERT_FALSE(bad) << cut;
    EXPECT_EQ(bad.error().detail, "invalid_image");
  }
  std::string flipped = png;
  flipped[40] ^= 0x01;
  EXPECT_FALSE(InspectImage(flipped));
  EXPECT_FALSE(InspectImage("{\"error\":1}"));
  // A minimal JPEG: SOI, SOF0 (8x16), SOS, EOI.
  std::string jpeg = "\xFF\xD8\xFF\xC0" +
                     std::string("\x00\x0B\x08\x00\x10\x00\x08\x01\x01\x11\x00", 11) +
                     std::string("\xFF\xDA\x00\x02\x00\xFF\xD9", 7);
  auto j = InspectImage(jpeg);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(j->width, 8);
  EXPECT_EQ(j->height, 16);
  EXPECT_FALSE(InspectImage(jpeg.substr(0, jpeg.size() - 2)));
}

}  // namespace
}  // namespace storyloom
