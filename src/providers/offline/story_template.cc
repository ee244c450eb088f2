#include "providers/offline/story_template.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <utility>

#include "core/text_util.h"
#include "providers/offline/seeded_random.h"

namespace storyloom::providers::offline {
namespace {

// A paragraph of the story: its sentences and one beat title per sentence. Placeholders
// in braces are filled from the story's cast; a capitalised placeholder ("{Hero}")
// capitalises its value.
struct Beat {
  std::vector<std::string> sentences;
  std::vector<std::string> titles;
};

struct Setting {
  std::string setting;   // "a harbor town on a windy coast"
  std::string landmark;  // "the old lighthouse"
};

struct Thing {
  std::string intro;  // first mention
  std::string name;   // later mentions
};

const std::vector<std::string> kHeroes = {
    "Mira", "Tobias", "Anika", "Jonah", "Ilse",  "Rafael", "Noor", "Felix", "Wren",  "Kofi",
    "Lena", "Mateo",  "Sana",  "Oskar", "Priya", "Elias",  "Yara", "Hugo",  "Amara", "Theo"};

const std::vector<Thing> kFriends = {
    {"an old clockmaker named Bertram", "Bertram"},
    {"a retired sea captain called Rosa", "Rosa"},
    {"the town librarian, Amos Okafor", "Amos"},
    {"a quiet girl from the bakery named Tilly", "Tilly"},
    {"Aunt Delphine, who had travelled further than anyone", "Aunt Delphine"},
    {"a young mapmaker named Ezra", "Ezra"},
    {"Grandmother Ines, who kept bees and secrets", "Grandmother Ines"},
    {"a wandering musician called Sol", "Sol"},
};

const std::vector<std::string> kPlaces = {"Hollowmere", "Saltmarsh", "Brindlewick", "Eastwhistle",
                                          "Cobble End", "Marrowby",  "Larkspur",    "Fennick Ford",
                                          "Quillhaven", "Ashgrove",  "Thistledown", "Wickerby"};

const std::vector<Setting> kSettings = {
    {"a harbor town on a windy coast", "the old lighthouse"},
    {"a village at the edge of an ancient forest", "the hollow oak at the crossroads"},
    {"a valley beneath snow-capped mountains", "the stone bridge over the river"},
    {"a desert town where the dunes sang at dusk", "the dry well in the market square"},
    {"a city of canals and crooked bridges", "the clock tower above the market"},
    {"a farming village among rolling green hills", "the windmill on the hill"},
};

const std::vector<Thing> kObjects = {
    {"a brass key that hummed when it was held", "the key"},
    {"a map drawn in silver ink", "the map"},
    {"a lantern that never went out", "the lantern"},
    {"a compass that pointed somewhere other than north", "the compass"},
    {"a notebook full of someone else's dreams", "the notebook"},
    {"a seashell that whispered in an unknown voice", "the seashell"},
    {"a wooden bird with glass eyes", "the wooden bird"},
};

const std::vector<Thing> kObstacles = {
    {"a storm that rolled in without warning", "the storm"},
    {"a bridge that had collapsed in the night", "the broken bridge"},
    {"a fog so thick it swallowed every sound", "the fog"},
    {"a locked gate watched by a stubborn keeper", "the gate"},
    {"a river that had burst its banks", "the flooded river"},
    {"a maze of hedges taller than houses", "the maze"},
};

const std::vector<std::string> kSeasons = {"late autumn", "the first warm week of spring",
                                           "the middle of a long summer", "a cold, bright winter"};

// Six beats, two variants each: opening, the call, setting out, the obstacle, the turn,
// the return.
// NOLINTBEGIN(bugprone-suspicious-missing-comma): long sentences wrap onto a second literal
const std::array<std::array<Beat, 2>, 6> kBeats = {{
    {{
        {{"In {setting} called {place}, there lived {hero}, who knew every street and every "
          "shortcut.",
          "It was {season}, and the days had settled into a gentle, ordinary rhythm.",
          "Every morning {hero} walked past {landmark} and wondered what lay beyond the horizon.",
          "People said {hero} had a restless heart, though nobody meant it unkindly.",
          "Nothing about that week suggested it would be remembered for years."},
         {"Life in {place}", "A Gentle Rhythm", "Past {landmark}", "A Restless Heart",
          "Before It All Began"}},
        {{"{Place} was {setting}, and {hero} had lived there for as long as anyone could "
          "remember.",
          "The mornings smelled of bread and rain, and the evenings ended early.",
          "From a small window above the bakery, {hero} could see {landmark}.",
          "It was {season}, a time when most people in {place} stayed close to home.",
          "{Hero} was not most people."},
         {"Home in {place}", "Small Comforts", "The View From the Window", "Staying Close to Home",
          "Not Like the Others"}},
    }},
    {{
        {{"Then something happened that nobody in {place} could explain, and it had everything "
          "to do with {theme}.",
          "{Hero} found {object_intro} lying where it had no reason to be, near {landmark}.",
          "Beside it was a note in careful handwriting that said only: follow me.",
          "{Hero} turned {object} over and over, and felt the world tilt a little.",
          "That night, sleep would not come."},
         {"Something Unexplained", "A Strange Discovery", "The Note", "The World Tilts",
          "A Sleepless Night"}},
        {{"It started with a rumor about {theme}, passed from the market to the schoolyard in a "
          "single afternoon.",
          "Most people laughed it off, but {hero} could not stop thinking about it.",
          "The next morning, on the steps of {landmark}, {hero} found {object_intro}.",
          "It was warm to the touch, as if someone had been holding it a moment before.",
          "Somehow {hero} knew that {object} and the rumor were part of the same puzzle."},
         {"A Rumor Spreads", "Impossible to Forget", "On the Steps", "Still Warm",
          "Pieces of a Puzzle"}},
    }},
    {{
        {{"{Hero} took {object} to {friend_intro}.",
          "{Friend} studied it for a long time, then said quietly that the story behind it was "
          "older than {place} itself.",
          "Together they packed bread, a blanket, a lamp and a little courage.",
          "They left before sunrise, while the streets were still blue and silent.",
          "Neither of them looked back, though both of them wanted to."},
         {"Asking {friend}", "An Old Story", "Packing for the Road", "Leaving Before Dawn",
          "No Looking Back"}},
        {{"The only person {hero} trusted with the secret was {friend_intro}.",
          "{Friend} listened, asked three careful questions, and then fetched a coat.",
          "If this was really about {theme}, {friend} said, then it could not wait until morning.",
          "So they set out under a sky full of stars, following wherever {object} seemed to lead.",
          "The road out of {place} had never looked so long, or so inviting."},
         {"A Trusted Friend", "Three Questions", "It Cannot Wait", "Under the Stars",
          "The Long Road"}},
    }},
    {{
        {{"By the second day they came upon {obstacle_intro}.",
          "{Hero} wanted to turn around, and for a moment it seemed the journey was over.",
          "{Friend} sat down on a rock, shared the last of the bread, and told a story from long "
          "ago.",
          "In that story, the answer was never to push harder, but to look more closely.",
          "So {hero} looked, and noticed that {object} had begun to glow."},
         {"Trouble on the Way", "Almost Turning Back", "A Story From Long Ago", "Looking Closer",
          "The Glow"}},
        {{"The journey went smoothly until they reached {obstacle_intro}.",
          "Hours passed, and every path they tried led them back to where they started.",
          "{Hero} felt tired, cold, and a little foolish for believing any of it.",
          "{Friend} only laughed and said that doubt was simply courage catching its breath.",
          "At that moment {object} stirred, as if it had been waiting for them to stop and "
          "listen."},
         {"An Unexpected Obstacle", "Going in Circles", "Doubt", "Courage Catching Its Breath",
          "Stop and Listen"}},
    }},
    {{
        {{"Beyond {obstacle}, the land opened into a wide, bright clearing that appeared on no "
          "map.",
          "In the middle of it waited the answer to the whole mystery, stranger and gentler than "
          "any rumor.",
          "{Hero} understood at last that {object} had never been leading them to a place, but "
          "to a person.",
          "Someone long ago had hoped that a curious heart from {place} would find the way.",
          "{Hero} laughed out loud, and the sound rang across the clearing."},
         {"The Hidden Clearing", "The Answer", "Not a Place but a Person", "A Message Across Time",
          "Laughter in the Clearing"}},
        {{"When {obstacle} was finally behind them, they stood at the edge of something vast "
          "and quiet.",
          "Here, at last, was the truth behind {theme}.",
          "It was not treasure, and it was not danger, but something in between: a promise "
          "someone had kept for a very long time.",
          "{Object} grew warm again in {hero}'s hands, and then, softly, went still.",
          "{Friend} wiped an eye and said nothing, because nothing needed to be said."},
         {"The Edge of Something Vast", "The Truth Revealed", "A Promise Kept", "Stillness",
          "Nothing Needed Saying"}},
    }},
    {{
        {{"They came home to {place} on a clear evening, tired and happy.",
          "{Hero} placed {object} on the windowsill, where it caught the last of the light.",
          "Life went back to its gentle rhythm, but {hero} was no longer quite the same.",
          "Years later, whenever children asked about {theme}, {hero} would smile and tell them "
          "to pack a little courage.",
          "And somewhere beyond {landmark}, the horizon waited patiently for the next curious "
          "heart."},
         {"Homecoming", "On the Windowsill", "Changed", "Advice for the Young",
          "The Horizon Waits"}},
        {{"The walk home felt shorter than the journey out, as walks home always do.",
          "{Place} looked just as it always had, yet {hero} saw it with new eyes.",
          "{Friend} went back to a quiet life, but came by every week with a new question.",
          "As for {theme}, it became the story {place} told on long winter nights.",
          "And {hero} kept {object} close, just in case the world should ever need reminding."},
         {"The Walk Home", "New Eyes", "Weekly Visits", "A Story for Winter Nights", "Kept Close"}},
    }},
}};
// NOLINTEND(bugprone-suspicious-missing-comma)

bool IsAsciiLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }

std::string CapitalizeFirst(std::string s) {
  if (!s.empty() && IsAsciiLower(s[0])) s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// Replaces {key} and {Key} in `pattern` with vars["key"] (capitalised for {Key}).
std::string Fill(std::string_view pattern, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      const std::size_t close = pattern.find('}', i);
      if (close != std::string_view::npos) {
        std::string key(pattern.substr(i + 1, close - i - 1));
        const bool capital = !key.empty() && IsAsciiUpper(key[0]);
        const auto it = vars.find(core::AsciiLower(key));
        if (it != vars.end()) {
          out += capital ? CapitalizeFirst(it->second) : it->second;
          i = close;
          continue;
        }
      }
    }
    out += pattern[i];
  }
  return out;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && core::AsciiLower(text.substr(0, prefix.size())) == prefix;
}

std::string TrimPunctuation(std::string s) {
  const auto is_trim = [](char c) {
    return c == ' ' || c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' ||
           c == '"' || c == '\'' || c == '-';
  };
  while (!s.empty() && is_trim(s.back())) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && is_trim(s[start])) ++start;
  return s.substr(start);
}

// The prompt without a "write me a story about"-style opening and trailing punctuation.
std::string PromptSubject(std::string_view prompt) {
  std::string text = core::CollapseWhitespace(core::SanitizeUtf8(prompt));
  static const std::array<std::string_view, 22> kRequestWords = {
      "please", "write", "tell", "me",  "us",    "create", "make",    "generate",
      "give",   "a",     "an",   "the", "short", "little", "bedtime", "i",
      "want",   "would", "like", "can", "you",   "could"};
  static const std::array<std::string_view, 5> kLinks = {"about ", "of ", "where ", "featuring ",
                                                         "involving "};
  const std::string lower = core::AsciiLower(text);
  for (std::string_view marker : {std::string_view("story "), std::string_view("tale ")}) {
    const std::size_t pos = lower.find(marker);
    if (pos == std::string::npos || pos > 40) continue;
    // Only a request made of request words ("please write me a short story about")
    // is stripped, so "a robot's story of..." keeps its words.
    const std::vector<std::string> lead = core::SplitWords(lower.substr(0, pos));
    const bool request = std::all_of(lead.begin(), lead.end(), [](const std::string& w) {
      return std::find(kRequestWords.begin(), kRequestWords.end(), w) != kRequestWords.end();
    });
    if (!request) continue;
    std::string_view rest = std::string_view(text).substr(pos + marker.size());
    for (std::string_view link : kLinks) {
      if (StartsWithNoCase(rest, link)) {
        rest.remove_prefix(link.size());
        break;
      }
    }
    if (!TrimPunctuation(std::string(rest)).empty()) text = std::string(rest);
    break;
  }
  return TrimPunctuation(text);
}

// The prompt as a noun phrase to use mid-sentence: its first sentence, at most 16 words,
// with a leading article lower-cased.
std::string Theme(std::string_view prompt) {
  const std::vector<std::string> sentences = core::SplitSentences(PromptSubject(prompt));
  std::vector<std::string> words = core::SplitWords(sentences.empty() ? "" : sentences[0]);
  if (words.size() > 16) words.resize(16);
  if (words.empty()) return "a mystery nobody could name";
  static const std::array<std::string_view, 9> kLowerable = {"A",   "An",   "The",  "Some", "My",
                                                             "Our", "Your", "This", "That"};
  if (std::find(kLowerable.begin(), kLowerable.end(), words[0]) != kLowerable.end()) {
    words[0][0] = static_cast<char>(words[0][0] - 'A' + 'a');
  }
  std::string theme;
  for (const std::string& w : words) theme += (theme.empty() ? "" : " ") + w;
  return TrimPunctuation(theme);
}

std::string TitleCase(std::string_view text) {
  static const std::array<std::string_view, 16> kSmall = {"a",   "an",  "the",  "and", "but", "or",
                                                          "nor", "for", "of",   "in",  "on",  "at",
                                                          "to",  "by",  "with", "from"};
  std::vector<std::string> words = core::SplitWords(text);
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    const bool small = std::find(kSmall.begin(), kSmall.end(), core::AsciiLower(w)) != kSmall.end();
    if (i > 0 && small) {
      w = core::AsciiLower(w);
    } else {
      w = CapitalizeFirst(w);
    }
    out += (i ? " " : "") + w;
  }
  return out;
}

std::string JoinSentences(const std::vector<std::string>& sentences,
                          const std::vector<std::size_t>& picks) {
  std::string out;
  for (std::size_t i : picks) out += (out.empty() ? "" : " ") + sentences[i];
  return out;
}

// A title from a sentence's opening words: "The storm broke over…".
std::string OpeningWordsTitle(std::string_view sentence) {
  std::vector<std::string> words = core::SplitWords(sentence);
  const bool truncated = words.size() > 6;
  if (truncated) words.resize(6);
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  out = TrimPunctuation(out);
  if (truncated) out += "\u2026";
  return out.empty() ? "Untitled" : out;
}

}  // namespace

std::string TitleFromPrompt(std::string_view prompt) {
  const std::string subject = PromptSubject(prompt);
  // First clause: up to the first sentence or clause punctuation.
  const std::size_t cut = subject.find_first_of(".!?;:,\n");
  std::vector<std::string> words = core::SplitWords(subject.substr(0, cut));
  if (words.size() > 7) words.resize(7);
  std::string clause;
  for (const std::string& w : words) clause += (clause.empty() ? "" : " ") + w;
  const std::string title = TitleCase(TrimPunctuation(clause));
  return title.empty() ? "An Untitled Tale" : title;
}

ComposedStory ComposeStory(std::string_view prompt, std::string_view title,
                           std::string_view style) {
  SeededRandom rng(StableHash({"story-v1", prompt, style}));
  const Thing& friend_ = rng.Pick(kFriends);
  const Setting& setting = rng.Pick(kSettings);
  const Thing& object = rng.Pick(kObjects);
  const Thing& obstacle = rng.Pick(kObstacles);
  const std::map<std::string, std::string> vars = {
      {"hero", rng.Pick(kHeroes)},        {"friend", friend_.name},
      {"friend_intro", friend_.intro},    {"place", rng.Pick(kPlaces)},
      {"setting", setting.setting},       {"landmark", setting.landmark},
      {"season", rng.Pick(kSeasons)},     {"object", object.name},
      {"object_intro", object.intro},     {"obstacle", obstacle.name},
      {"obstacle_intro", obstacle.intro}, {"theme", Theme(prompt)},
  };

  ComposedStory story;
  const std::string given = core::CollapseWhitespace(core::SanitizeUtf8(title));
  story.title = given.empty() ? TitleFromPrompt(prompt) : given;
  for (const auto& variants : kBeats) {
    const Beat& beat = variants[rng.Below(variants.size())];
    if (!story.text.empty()) story.text += "\n\n";
    std::string paragraph;
    for (std::size_t i = 0; i < beat.sentences.size(); ++i) {
      if (i) paragraph += ' ';
      paragraph += Fill(beat.sentences[i], vars);
      story.beat_titles.push_back(TitleCase(Fill(beat.titles[i], vars)));
    }
    story.text += paragraph;
  }
  return story;
}

std::vector<SceneSpec> ComposeScenes(const StoryRequest& req, const Story& story) {
  const std::vector<std::string> sentences = core::SplitSentences(core::SanitizeUtf8(story.text));
  std::vector<std::string> titles;
  if (const ComposedStory own = ComposeStory(req.prompt, story.title, req.style);
      own.text == story.text && core::SplitSentences(own.text).size() == own.beat_titles.size()) {
    titles = own.beat_titles;
  }
  const std::size_t total = sentences.size();
  const auto n = static_cast<std::size_t>(req.scenes);
  const std::string style = req.style.empty() ? "storybook illustration, soft light" : req.style;

  std::vector<SceneSpec> scenes;
  for (std::size_t i = 0; i < n; ++i) {
    // Scene i covers sentences [begin, end); with fewer sentences than scenes, neighbours
    // share one.
    std::size_t begin = i * total / n;
    std::size_t end = (i + 1) * total / n;
    if (begin >= total) begin = total - 1;
    if (end <= begin) end = begin + 1;

    SceneSpec scene;
    scene.number = static_cast<int>(i + 1);
    if (n == 1) {
      scene.title = story.title;
    } else if (!titles.empty()) {
      scene.title = titles[begin];
    } else {
      scene.title = OpeningWordsTitle(sentences[begin]);
    }
    for (const SceneSpec& earlier : scenes) {
      if (earlier.title == scene.title) {
        scene.title += " (part " + std::to_string(i + 1) + ")";
        break;
      }
    }
    // The description is two or three consecutive sentences from the scene's start.
    std::size_t desc_begin = begin;
    std::size_t desc_end = std::min(begin + 3, std::max(end, begin + 2));
    if (desc_end > total) {
      desc_end = total;
      desc_begin = total >= 2 ? std::min(desc_begin, total - 2) : 0;
    }
    std::vector<std::size_t> desc;
    for (std::size_t k = desc_begin; k < desc_end; ++k) desc.push_back(k);
    scene.description = JoinSentences(sentences, desc);
    // The narration is the scene's closing sentences (at most three), so that with long
    // scenes picture text and spoken text complement each other.
    std::vector<std::size_t> spoken;
    for (std::size_t k = end > begin + 3 ? end - 3 : begin; k < end; ++k) spoken.push_back(k);
    scene.narration = JoinSentences(sentences, spoken);
    scene.image_prompt = "Illustration for \"" + story.title + "\", scene " +
                         std::to_string(i + 1) + ": " + scene.description + " Style: " + style +
                         ".";
    scenes.push_back(std::move(scene));
  }
  return scenes;
}

}  // namespace storyloom::providers::offline
