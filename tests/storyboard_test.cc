#include "providers/storyboard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/text_util.h"

namespace storyloom::providers {
namespace {

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

StoryboardInput Sample() {
  StoryboardInput in;
  in.workflow_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  in.title = "The Lighthouse";
  in.prompt = "a lighthouse keeper";
  in.story = "First paragraph, line one.\nStill the first.\n\nSecond paragraph.\n\n\nThird.";
  in.provider = "offline";
  in.created_at = "2025-01-02T03:04:05Z";
  StoryboardScene s1;
  s1.number = 1;
  s1.title = "Dawn";
  s1.description = "The sun rises.";
  s1.narration = "It was early.";
  s1.image_bytes = std::string("\x89PNG\r\n\x1a\n\x00\x01\xff", 11);
  s1.image_mime = "image/png";
  s1.audio_bytes = std::string("RIFF\x00\x00\x00\x00WAVE", 12);
  s1.audio_mime = "audio/wav";
  StoryboardScene s2;
  s2.number = 2;
  s2.title = "Night";
  s2.description = "Stars.";
  in.scenes = {s1, s2};
  return in;
}

TEST(Base64Test, MatchesRfc4648Vectors) {
  EXPECT_EQ(core::Base64Encode(""), "");
  EXPECT_EQ(core::Base64Encode("f"), "Zg==");
  EXPECT_EQ(core::Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(core::Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(core::Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(core::Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(core::Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(core::Base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(TextUtilTest, EscapesHtmlAndRepairsUtf8) {
  EXPECT_EQ(core::HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(core::SanitizeUtf8("ok \xff end"), "ok \xEF\xBF\xBD end");
  EXPECT_EQ(core::SanitizeUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(core::SanitizeUtf8("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(core::SanitizeUtf8(std::string("a\x00"
                                           "b\x1b",
                                           4)),
            "a b ");
  EXPECT_EQ(core::SplitSentences("One. Two! Three? \"Four.\" Pi is 3.14 yes"),
            (std::vector<std::string>{"One.", "Two!", "Three?", "\"Four.\"", "Pi is 3.14 yes"}));
  // Titles and initials do not end a sentence; a full stop at the very end always does.
  EXPECT_EQ(core::SplitSentences("Dr. Ng met J. R. Smith, e.g. at noon. Then (Mr. Li) left. Ms."),
            (std::vector<std::string>{"Dr. Ng met J. R. Smith, e.g. at noon.",
                                      "Then (Mr. Li) left.", "Ms."}));
}

TEST(StoryboardTest, JsonNamesScenesAndTheirFiles) {
  StoryboardInput in = Sample();
  in.scenes[1].audio_bytes = "ID3";
  in.scenes[1].audio_mime = "audio/mpeg";
  in.scenes[1].audio_file = "narration/2.mp3";
  const Storyboard board = AssembleStoryboard(in);
  const auto doc = nlohmann::json::parse(board.json);
  EXPECT_EQ(doc["title"], "The Lighthouse");
  EXPECT_EQ(doc["prompt"], "a lighthouse keeper");
  EXPECT_EQ(doc["story"], in.story);
  EXPECT_EQ(doc["workflow_id"], in.workflow_id);
  EXPECT_EQ(doc["provider"], "offline");
  EXPECT_EQ(doc["created_at"], "2025-01-02T03:04:05Z");
  ASSERT_EQ(doc["scenes"].size(), 2u);
  EXPECT_EQ(doc["scenes"][0]["number"], 1);
  EXPECT_EQ(doc["scenes"][0]["title"], "Dawn");
  EXPECT_EQ(doc["scenes"][0]["image"], "scene-01.png");
  EXPECT_EQ(doc["scenes"][0]["audio"], "scene-01.wav");
  EXPECT_TRUE(doc["scenes"][1]["image"].is_null());
  EXPECT_EQ(doc["scenes"][1]["audio"], "narration/2.mp3");
  EXPECT_EQ(SceneMediaFileName(12, "image/jpeg"), "scene-12.jpg");
  EXPECT_EQ(SceneMediaFileName(3, "application/x-weird"), "scene-03.bin");
}

TEST(StoryboardTest, HtmlEmbedsMediaAsDataUris) {
  const StoryboardInput in = Sample();
  const Storyboard board = AssembleStoryboard(in);
  const std::string& html = board.html;
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/png;base64," +
                      core::Base64Encode(in.scenes[0].image_bytes) + "\""),
            std::string::npos);
  EXPECT_NE(html.find("<audio controls"), std::string::npos);
  EXPECT_NE(html.find("src=\"data:audio/wav;base64," +
                      core::Base64Encode(in.scenes[0].audio_bytes) + "\""),
            std::string::npos);
  EXPECT_EQ(Count(html, "<article class=\"scene\""), 2u);
  EXPECT_EQ(Count(html, "<audio"), 1u);  // scene 2 has no audio
  EXPECT_EQ(Count(html, "<img "), 1u);   // nor a picture
  EXPECT_NE(html.find("No picture for this scene"), std::string::npos);
  // The story's three paragraphs, each its own <p>.
  EXPECT_NE(html.find("<p>First paragraph, line one. Still the first.</p>"), std::string::npos);
  EXPECT_NE(html.find("<p>Second paragraph.</p>"), std::string::npos);
  EXPECT_NE(html.find("<p>Third.</p>"), std::string::npos);
  EXPECT_NE(html.find("not AI generated"), std::string::npos);
  // Nothing outside the page: no external scripts, styles or images.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(StoryboardTest, EscapesEverythingFromTheUser) {
  StoryboardInput in = Sample();
  in.title = "<script>alert('title')</script>";
  in.prompt = "Tell me about <script>alert(1)</script> & friends";
  in.story = "<b>bold</b> story";
  in.created_at = "\"><script>x</script>";
  in.workflow_id = "<i>id</i>";
  in.scenes[0].title = "\"><img src=x onerror=alert(1)>";
  in.scenes[0].description = "<iframe src=evil>";
  in.scenes[0].narration = "</p><script>n</script>";
  in.scenes[0].image_mime = "text/html\"><script>";
  const Storyboard board = AssembleStoryboard(in);
  const std::string& html = board.html;
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<iframe"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_EQ(html.find("onerror=alert(1)>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends"), std::string::npos);
  EXPECT_NE(html.find("alt=\"Scene 1: &quot;&gt;&lt;img src=x onerror=alert(1)&gt;\""),
            std::string::npos);
  // A MIME type that is not a plain type/subtype is not trusted.
  EXPECT_NE(html.find("src=\"data:application/octet-stream;base64,"), std::string::npos);
  const auto doc = nlohmann::json::parse(board.json);
  EXPECT_EQ(doc["title"], in.title);  // JSON keeps the text as given
}

TEST(StoryboardTest, InvalidUtf8DoesNotBreakEitherDocument) {
  StoryboardInput in = Sample();
  in.title = "bad \xff\xfe title";
  in.scenes[0].description = "trunc \xe2\x82";
  const Storyboard board = AssembleStoryboard(in);
  const auto doc = nlohmann::json::parse(board.json);  // throws if not valid UTF-8
  EXPECT_EQ(doc["title"], "bad \xEF\xBF\xBD\xEF\xBF\xBD title");
  EXPECT_NE(board.html.find("bad \xEF\xBF\xBD\xEF\xBF\xBD title"), std::string::npos);
}

}  // namespace
}  // namespace storyloom::providers
