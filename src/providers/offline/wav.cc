#include "providers/offline/wav.h"

#include <algorithm>

namespace storyloom::providers::offline {
namespace {

std::uint32_t Le32(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

std::uint16_t Le16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) |
                                    static_cast<unsigned char>(b[at + 1]) << 8);
}

}  // namespace

Result<WavInfo> ParseWav(std::string_view bytes) {
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" || bytes.substr(8, 4) != "WAVE") {
    return Fail(Error::InvalidArgument("not a RIFF/WAVE file"));
  }
  WavInfo info;
  bool have_fmt = false;
  bool have_data = false;
  std::size_t at = 12;
  while (at + 8 <= bytes.size() && !have_data) {
    const std::string_view id = bytes.substr(at, 4);
    const std::uint64_t size = Le32(bytes, at + 4);
    const std::size_t body = at + 8;
    if (id == "fmt ") {
      if (size < 16 || body + 16 > bytes.size()) {
        return Fail(Error::InvalidArgument("truncated WAV fmt chunk"));
      }
      info.format = Le16(bytes, body);
      info.channels = Le16(bytes, body + 2);
      info.sample_rate = static_cast<int>(Le32(bytes, body + 4));
      info.byte_rate = Le32(bytes, body + 8);
      info.bits_per_sample = Le16(bytes, body + 14);
      have_fmt = true;
    } else if (id == "data") {
      // Streaming writers leave a placeholder size; trust the bytes that are there.
      info.data_bytes =
          static_cast<std::int64_t>(std::min<std::uint64_t>(size, bytes.size() - body));
      have_data = true;
    }
    at = body + size + (size & 1);  // chunks are padded to even sizes
  }
  if (!have_fmt || !have_data) {
    return Fail(Error::InvalidArgument("WAV file lacks a fmt or data chunk"));
  }
  if (info.byte_rate <= 0 || info.channels <= 0 || info.sample_rate <= 0) {
    return Fail(Error::InvalidArgument("WAV file has a zero byte rate"));
  }
  info.duration_ms = info.data_bytes * 1000 / info.byte_rate;
  return info;
}

}  // namespace storyloom::providers::offline
