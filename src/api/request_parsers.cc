// The pure request parsers (see request_parsers.h). Bodies moved unchanged from
// files_api.cc (ParseRange), auth.cc (Cookie, the Bearer check), usage_api.cc (RecordUsage)
// and handler_util.cc (OptString).
#include "api/request_parsers.h"

#include <algorithm>
#include <charconv>

#include "api/handler_util.h"  // OptString
#include "engine/pricing.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

// A whole number in [lo, hi]; `fallback` when absent or null. Floats (even 5.0), strings
// and anything out of range, including values past 2^63, are invalid_argument (422).
Result<std::int64_t> BoundedInt(const json& j, const std::string& key, std::int64_t lo,
                                std::int64_t hi, std::int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  const bool in_range =
      it->is_number_unsigned()
          ? it->get<std::uint64_t>() <= static_cast<std::uint64_t>(hi) &&
                static_cast<std::int64_t>(it->get<std::uint64_t>()) >= lo
          : it->is_number_integer() && it->get<std::int64_t>() >= lo &&
                it->get<std::int64_t>() <= hi;
  if (!in_range) {
    return Fail(Error::InvalidArgument(
        key + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi),
        key));
  }
  return it->get<std::int64_t>();
}

Result<std::int64_t> OptCount(const json& j, const std::string& key, std::int64_t max) {
  return BoundedInt(j, key, 0, max, 0);
}

}  // namespace

// Declared in handler_util.h; defined here so the parsers need nothing else from src/api.
Result<std::optional<std::string>> OptString(const json& j, const std::string& key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Fail(Error::InvalidArgument(key + " must be a string", key));
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<std::pair<std::uint64_t, std::uint64_t>>> ParseRange(std::string_view h,
                                                                          std::uint64_t size) {
  using R = std::optional<std::pair<std::uint64_t, std::uint64_t>>;
  if (!h.starts_with("bytes=") || h.find(',') != std::string_view::npos) return R();
  h.remove_prefix(6);
  const auto dash = h.find('-');
  if (dash == std::string_view::npos) return R();
  auto num = [](std::string_view s, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  };
  std::uint64_t first = 0, last = 0;
  const std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
  if (a.empty()) {
    if (!num(b, last) || last == 0) return Fail(Error::InvalidArgument("unsatisfiable range", "Range"));
    first = size > last ? size - last : 0;
    last = size - 1;
  } else {
    if (!num(a, first)) return R();
    if (b.empty()) {
      last = size - 1;
    } else if (!num(b, last) || last < first) {
      return R();
    }
    if (first >= size) return Fail(Error::InvalidArgument("unsatisfiable range", "Range"));
    last = std::min(last, size - 1);
  }
  if (size == 0) return Fail(Error::InvalidArgument("unsatisfiable range", "Range"));
  return R(std::pair{first, last});
}

std::string CookieValue(std::string_view header, std::string_view name) {
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    std::string_view part = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
  }
  return "";
}

Result<std::string> BearerSecret(std::string_view header) {
  std::string_view v = header;
  if (v.size() < 8 || (v.substr(0, 7) != "Bearer " && v.substr(0, 7) != "bearer ")) {
    return Fail(Error::Unauthenticated("the Authorization header must be 'Bearer <token>'"));
  }
  std::string secret(v.substr(7));
  while (!secret.empty() && secret.back() == ' ') secret.pop_back();
  return secret;
}

Result<void> ParseUsageFields(const json& body, ApiUsage& u) {
  auto str = [&](const char* key, std::string& out, bool required) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto v, OptString(body, key));
    if (required && (!v || v->empty())) return Fail(Error::InvalidArgument(std::string(key) + " is required", key));
    if (v && v->size() > 200) return Fail(Error::InvalidArgument(std::string(key) + " is too long", key));
    if (v) out = *v;
    return {};
  };
  SL_RETURN_IF_ERROR(str("provider", u.provider, true));
  SL_RETURN_IF_ERROR(str("model", u.model, false));
  SL_RETURN_IF_ERROR(str("operation", u.operation, true));
  SL_RETURN_IF_ERROR(str("phase", u.phase, false));
  SL_RETURN_IF_ERROR(str("error_code", u.error_code, false));
  SL_RETURN_IF_ERROR(str("image_size", u.image_size, false));
  SL_RETURN_IF_ERROR(str("image_quality", u.image_quality, false));
  std::string status = "ok";
  SL_RETURN_IF_ERROR(str("status", status, false));
  u.status = status;
  // Bounds from engine/pricing.h: each row's cost fits in 64 bits, and sums of counts
  // cannot overflow.
  SL_ASSIGN_OR_RETURN(u.input_tokens, OptCount(body, "input_tokens", engine::kMaxUsageTokens));
  SL_ASSIGN_OR_RETURN(u.cached_input_tokens,
                      OptCount(body, "cached_input_tokens", engine::kMaxUsageTokens));
  SL_ASSIGN_OR_RETURN(u.output_tokens, OptCount(body, "output_tokens", engine::kMaxUsageTokens));
  SL_ASSIGN_OR_RETURN(u.reasoning_tokens,
                      OptCount(body, "reasoning_tokens", engine::kMaxUsageTokens));
  SL_ASSIGN_OR_RETURN(u.images, OptCount(body, "images", engine::kMaxUsageImages));
  SL_ASSIGN_OR_RETURN(u.characters, OptCount(body, "characters", engine::kMaxUsageCharacters));
  SL_ASSIGN_OR_RETURN(u.audio_ms, OptCount(body, "audio_ms", engine::kMaxUsageMillis));
  SL_ASSIGN_OR_RETURN(u.duration_ms, OptCount(body, "duration_ms", engine::kMaxUsageMillis));
  SL_ASSIGN_OR_RETURN(auto attempt, BoundedInt(body, "attempt", 1, engine::kMaxUsageAttempt, 1));
  u.attempt = static_cast<int>(attempt);
  if (auto it = body.find("http_status"); it != body.end() && !it->is_null()) {
    SL_ASSIGN_OR_RETURN(auto http_status, BoundedInt(body, "http_status", 100, 599, 0));
    u.http_status = static_cast<int>(http_status);
  }
  if (u.cached_input_tokens > u.input_tokens) {
    return Fail(Error::InvalidArgument("cached_input_tokens cannot exceed input_tokens",
                                       "cached_input_tokens"));
  }
  if (u.operation != "chat" && u.operation != "image" && u.operation != "speech") {
    return Fail(Error::InvalidArgument("operation must be chat, image or speech", "operation"));
  }
  return {};
}

}  // namespace storyloom::api
