// Small text helpers shared by the offline provider, the storyboard and the subtitles. Pure
// functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace storyloom::core {

// Returns `text` as valid UTF-8: invalid or truncated sequences become U+FFFD and ASCII
// control characters other than '\n' and '\t' become spaces.
std::string SanitizeUtf8(std::string_view text);
// Collapses runs of whitespace (including newlines) into single spaces and trims.
std::string CollapseWhitespace(std::string_view text);
// Splits prose into sentences ending in '.', '!' or '?' (a trailing fragment counts as one);
// a full stop after a title or an initial ("Dr.", "J.", "e.g.") does not end one.
std::vector<std::string> SplitSentences(std::string_view text);
// Splits `text` on whitespace into words.
std::vector<std::string> SplitWords(std::string_view text);
// Lower-cases ASCII letters only.
std::string AsciiLower(std::string_view text);
// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);
// Standard base64 (RFC 4648, with padding).
std::string Base64Encode(std::string_view bytes);

}  // namespace storyloom::core
