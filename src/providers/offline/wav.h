// RIFF/WAVE header parsing for narration audio. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::providers::offline {

struct WavInfo {
  int format = 0;  // 1 = PCM
  int channels = 0;
  int sample_rate = 0;
  int bits_per_sample = 0;
  std::int64_t byte_rate = 0;
  std::int64_t data_bytes = 0;  // clamped to the bytes actually present
  std::int64_t duration_ms = 0;
};

// Parses the "fmt " and "data" chunks of a WAV file. Returns invalid_argument if `bytes`
// is not a RIFF/WAVE file with both chunks and a non-zero byte rate.
Result<WavInfo> ParseWav(std::string_view bytes);

}  // namespace storyloom::providers::offline
