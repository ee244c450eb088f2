// POST /api/v1/usage bodies: JsonBody's parse (core::ParseJson), then the record's fields
// (ParseUsageFields).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/handler_util.h"  // OptString (defined in request_parsers.cc)
#include "api/request_parsers.h"
#include "core/bounded_json.h"

using namespace storyloom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // handler_util.cc JsonBody: the depth-bounded parse, then "must be an object".
  auto body = core::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!body || !body->is_object()) return 0;
  (void)api::OptString(*body, "workflow_id");
  ApiUsage u;
  if (!api::ParseUsageFields(*body, u)) return 0;
  // What is accepted is what the database and the reports can hold.
  if (u.operation != "chat" && u.operation != "image" && u.operation != "speech") std::abort();
  if (u.provider.empty() || u.provider.size() > 200 || u.model.size() > 200) std::abort();
  if (u.input_tokens < 0 || u.output_tokens < 0 || u.cached_input_tokens < 0 ||
      u.reasoning_tokens < 0 || u.images < 0 || u.characters < 0 || u.audio_ms < 0 ||
      u.duration_ms < 0)
    std::abort();
  if (u.attempt < 1) std::abort();
  if (u.http_status) {
    // The stored status is the number the client sent, not a wrapped-around one.
    const auto& sent = (*body)["http_status"];
    const bool same = sent.is_number_unsigned()
                          ? sent.get<std::uint64_t>() == static_cast<std::uint64_t>(*u.http_status)
                          : sent.get<std::int64_t>() == *u.http_status;
    if (*u.http_status < 100 || *u.http_status > 599 || !same) std::abort();
  }
  return 0;
}
