// Checks that bytes a service returned are a whole image or audio file before they are
// stored: PNG (every chunk present with a valid CRC, ending in IEND), JPEG (a frame header
// and the end-of-image marker), WebP (the RIFF size) for images; WAV (header and data),
// MP3 and others (non-empty, not an error document) for audio. Also base64 decoding.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::providers::openai {

struct ImageInfo {
  std::string mime_type;  // image/png, image/jpeg, image/webp
  std::string extension;  // png, jpg, webp
  int width = 0;
  int height = 0;
};

// invalid_argument (detail "invalid_image") when the bytes are not a complete image.
[[nodiscard]] Result<ImageInfo> InspectImage(std::string_view bytes);

struct AudioInfo {
  std::string mime_type;
  std::string extension;
  std::int64_t duration_ms = 0;  // 0 when unknown
};

// `format` is the requested response_format (mp3, wav, opus, aac, flac, pcm).
// invalid_argument (detail "invalid_audio") for empty or truncated audio.
[[nodiscard]] Result<AudioInfo> InspectAudio(std::string_view bytes, std::string_view format);

// Standard base64 (whitespace ignored); nullopt-like error on any other character.
[[nodiscard]] Result<std::string> DecodeBase64(std::string_view text);

}  // namespace storyloom::providers::openai
