// Bytes a provider returned for an image or narration (media_check.cc): InspectImage,
// InspectAudio for each requested format, and the base64 decoding of b64_json images.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "providers/openai/media_check.h"

using namespace storyloom::providers::openai;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto img = InspectImage(bytes)) {
    if (img->width <= 0 || img->height <= 0) std::abort();
    if (img->mime_type != "image/png" && img->mime_type != "image/jpeg" &&
        img->mime_type != "image/webp")
      std::abort();
  }
  for (std::string_view format : {"wav", "mp3", "opus", "aac", "flac", "pcm"}) {
    if (auto a = InspectAudio(bytes, format)) {
      if (a->duration_ms < 0) std::abort();
    }
  }
  if (auto decoded = DecodeBase64(bytes)) {
    if (decoded->size() > bytes.size()) std::abort();
    (void)InspectImage(*decoded);
  }
  return 0;
}
