// Range, Cookie and Authorization header values (src/api/request_parsers.cc).
// Input: 8 bytes of file size, then the header value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "api/request_parsers.h"

using namespace storyloom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint64_t file_size = 0;
  if (size >= 8) {
    std::memcpy(&file_size, data, 8);
    data += 8;
    size -= 8;
    // Mostly small files, sometimes any size up to 2^64 - 1.
    if (file_size >> 63) file_size &= 0xFFFF;
  }
  const std::string_view h(reinterpret_cast<const char*>(data), size);

  auto r = api::ParseRange(h, file_size);
  if (r && *r) {
    const auto [first, last] = **r;
    // A satisfiable range lies inside the file, first <= last.
    if (file_size == 0 || first > last || last >= file_size) std::abort();
  }

  for (std::string_view name : {"sl_session", "sl_csrf", ""}) {
    std::string v = api::CookieValue(h, name);
    if (v.size() > h.size()) std::abort();
  }

  auto secret = api::BearerSecret(h);
  if (secret) {
    if (secret->size() + 7 > h.size()) std::abort();
    if (!secret->empty() && secret->back() == ' ') std::abort();
  }
  return 0;
}
