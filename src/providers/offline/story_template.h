// Template stories for the offline provider: a short story and its scene breakdown built
// from the prompt with fixed templates, every choice seeded by a stable hash of the prompt
// and style, so the same request always gives the same text. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.h"

namespace storyloom::providers::offline {

struct ComposedStory {
  std::string title;
  std::string text;  // paragraphs separated by blank lines
  // One short title per sentence of `text` (as split by SplitSentences), in order; the
  // scene breakdown names a scene after the sentence it starts with.
  std::vector<std::string> beat_titles;
};

// Proposes a title from the prompt: its first clause, at most seven words, title-cased.
std::string TitleFromPrompt(std::string_view prompt);

// Writes a story of six paragraphs (roughly 400-550 words) about `prompt`. `title` is used
// as given when not empty, otherwise derived with TitleFromPrompt. `prompt` must not be
// blank.
ComposedStory ComposeStory(std::string_view prompt, std::string_view title, std::string_view style);

// Splits `story` into exactly `req.scenes` scenes numbered 1..n (the caller validates
// 1 <= n <= 20 and a non-empty story). Scene titles come from the template when `story` is
// the one ComposeStory wrote for `req`, and from the scene's opening words otherwise.
std::vector<SceneSpec> ComposeScenes(const StoryRequest& req, const Story& story);

}  // namespace storyloom::providers::offline
