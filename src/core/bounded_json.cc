#include "core/bounded_json.h"

#include <fmt/format.h>

namespace storyloom::core {

int JsonNestingDepth(std::string_view text, int stop_after) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > stop_after) return deepest;
        }
        break;
      case ']':
      case '}':
        // Unbalanced closers make the text invalid; the parser reports that.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

std::expected<nlohmann::json, JsonParseError> ParseJson(std::string_view text, int max_depth) {
  if (JsonNestingDepth(text, max_depth) > max_depth) {
    return std::unexpected(JsonParseError{
        true, fmt::format("the JSON nests arrays/objects deeper than the limit of {} levels",
                          max_depth)});
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return std::unexpected(JsonParseError{false, "not valid JSON"});
  return j;
}

Result<nlohmann::json> ParseJsonOr(std::string_view text, std::string_view what, ErrorCode code) {
  auto j = ParseJson(text);
  if (!j) return Fail(Error{code, fmt::format("{}: {}", what, j.error().message), {}});
  return std::move(*j);
}

Result<void> CheckTomlNesting(std::string_view text, int max_depth) {
  int brackets = 0, dots = 0, line = 1;
  auto too_deep = [&] {
    return Fail(Error::InvalidArgument(
        fmt::format("line {}: tables, arrays or dotted keys nest deeper than the limit of {} "
                    "levels",
                    line, max_depth)));
  };
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      // Basic ("..."), literal ('...') and their multi-line forms ("""...""", '''...''').
      const bool multi = text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''");
      const std::size_t quote_len = multi ? 3 : 1;
      i += quote_len;
      while (i < n) {
        if (text[i] == '\n') ++line;
        if (c == '"' && text[i] == '\\') {
          i += 2;
          continue;
        }
        if (text[i] == c && (!multi || (i + 2 < n && text[i + 1] == c && text[i + 2] == c))) {
          i += quote_len;
          break;
        }
        if (!multi && text[i] == '\n') {  // unterminated: the parser reports it
          --line;
          break;
        }
        ++i;
      }
      continue;
    }
    switch (c) {
      case '#':
        while (i < n && text[i] != '\n') ++i;
        continue;
      case '\n':
        ++line;
        dots = 0;
        break;
      case '[':
      case '{':
        dots = 0;
        if (++brackets > max_depth) return too_deep();
        break;
      case ']':
      case '}':
        dots = 0;
        if (brackets > 0) --brackets;
        break;
      case '=':
      case ',':
        dots = 0;
        break;
      case '.':
        if (brackets + ++dots + 1 > max_depth) return too_deep();
        break;
      default:
        break;
    }
    ++i;
  }
  return {};
}

}  // namespace storyloom::core
