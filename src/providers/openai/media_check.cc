#include "providers/openai/media_check.h"

#include <fmt/format.h>

#include <array>

namespace storyloom::providers::openai {

namespace {

std::uint32_t Be32(std::string_view b, std::size_t at) {
  return (std::uint32_t(std::uint8_t(b[at])) << 24) |
         (std::uint32_t(std::uint8_t(b[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(b[at + 2])) << 8) | std::uint32_t(std::uint8_t(b[at + 3]));
}
std::uint32_t Le32(std::string_view b, std::size_t at) {
  return std::uint32_t(std::uint8_t(b[at])) | (std::uint32_t(std::uint8_t(b[at + 1])) << 8) |
         (std::uint32_t(std::uint8_t(b[at + 2])) << 16) |
         (std::uint32_t(std::uint8_t(b[at + 3])) << 24);
}
// Three bytes, little-endian (the 24-bit sizes of a WebP VP8X header).
std::uint32_t Le24(std::string_view b, std::size_t at) {
  return std::uint32_t(std::uint8_t(b[at])) | (std::uint32_t(std::uint8_t(b[at + 1])) << 8) |
         (std::uint32_t(std::uint8_t(b[at + 2])) << 16);
}

std::uint16_t Le16(std::string_view b, std::size_t at) {
  return std::uint16_t(std::uint8_t(b[at]) | (std::uint8_t(b[at + 1]) << 8));
}

std::uint32_t Crc32(std::string_view data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : data) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Error BadImage(std::string msg) {
  return Error{ErrorCode::kInvalidArgument, "invalid image: " + std::move(msg), "invalid_image"};
}
Error BadAudio(std::string msg) {
  return Error{ErrorCode::kInvalidArgument, "invalid audio: " + std::move(msg), "invalid_audio"};
}

Result<ImageInfo> Png(std::string_view b) {
  ImageInfo info{"image/png", "png", 0, 0};
  std::size_t at = 8;
  bool first = true;
  while (true) {
    if (at + 12 > b.size()) return Fail(BadImage("PNG is truncated (no IEND chunk)"));
    const std::uint32_t len = Be32(b, at);
    const std::string_view type = b.substr(at + 4, 4);
    if (len > b.size() || at + 12 + len > b.size()) {
      return Fail(BadImage(fmt::format("PNG is truncated inside its {} chunk", type)));
    }
    if (Crc32(b.substr(at + 4, 4 + len)) != Be32(b, at + 8 + len)) {
      return Fail(BadImage(fmt::format("PNG {} chunk fails its CRC", type)));
    }
    if (first) {
      if (type != "IHDR" || len != 13) return Fail(BadImage("PNG does not start with IHDR"));
      info.width = static_cast<int>(Be32(b, at + 8));
      info.height = static_cast<int>(Be32(b, at + 12));
      if (info.width <= 0 || info.height <= 0) return Fail(BadImage("PNG has no size"));
      first = false;
    }
    if (type == "IEND") return info;
    at += 12 + len;
  }
}

Result<ImageInfo> Jpeg(std::string_view b) {
  ImageInfo info{"image/jpeg", "jpg", 0, 0};
  if (b.size() < 4 || std::uint8_t(b[b.size() - 2]) != 0xFF ||
      std::uint8_t(b[b.size() - 1]) != 0xD9) {
    return Fail(BadImage("JPEG is truncated (no end-of-image marker)"));
  }
  std::size_t at = 2;
  while (at + 4 <= b.size()) {
    if (std::uint8_t(b[at]) != 0xFF) return Fail(BadImage("JPEG segment marker missing"));
    const std::uint8_t marker = std::uint8_t(b[at + 1]);
    if (marker == 0xFF) {
      ++at;
      continue;
    }
    const std::size_t len = (std::uint8_t(b[at + 2]) << 8) | std::uint8_t(b[at + 3]);
    if (len < 2 || at + 2 + len > b.size()) return Fail(BadImage("JPEG is truncated"));
    const bool sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof && len >= 7) {
      info.height = (std::uint8_t(b[at + 5]) << 8) | std::uint8_t(b[at + 6]);
      info.width = (std::uint8_t(b[at + 7]) << 8) | std::uint8_t(b[at + 8]);
    }
    if (marker == 0xDA) break;  // start of scan: entropy-coded data follows
    at += 2 + len;
  }
  if (info.width <= 0 || info.height <= 0) return Fail(BadImage("JPEG has no frame header"));
  return info;
}

Result<ImageInfo> Webp(std::string_view b) {
  ImageInfo info{"image/webp", "webp", 0, 0};
  if (b.size() < 30 || static_cast<std::uint64_t>(Le32(b, 4)) + 8 > b.size()) {
    return Fail(BadImage("WebP is truncated"));
  }
  const std::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8X") {
    // Canvas width-1 and height-1 are 24-bit fields at 24 and 27: the header ends at 30, so a
    // 4-byte read at 27 went one byte past a 30-byte file.
    info.width = 1 + static_cast<int>(Le24(b, 24));
    info.height = 1 + static_cast<int>(Le24(b, 27));
  } else if (chunk == "VP8 ") {
    info.width = Le16(b, 26) & 0x3FFF;
    info.height = Le16(b, 28) & 0x3FFF;
  } else if (chunk == "VP8L") {
    const std::uint32_t bits = Le32(b, 21);
    info.width = 1 + static_cast<int>(bits & 0x3FFF);
    info.height = 1 + static_cast<int>((bits >> 14) & 0x3FFF);
  }
  if (info.width <= 0 || info.height <= 0) return Fail(BadImage("WebP has no size"));
  return info;
}

}  // namespace

Result<ImageInfo> InspectImage(std::string_view b) {
  if (b.empty()) return Fail(BadImage("no bytes"));
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return Png(b);
  if (b.size() >= 3 && std::uint8_t(b[0]) == 0xFF && std::uint8_t(b[1]) == 0xD8) return Jpeg(b);
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return Webp(b);
  return Fail(BadImage("not a PNG, JPEG or WebP file"));
}

Result<AudioInfo> InspectAudio(std::string_view b, std::string_view format) {
  if (b.empty()) return Fail(BadAudio("no bytes"));
  if (b.front() == '{') return Fail(BadAudio("the service sent a JSON document, not audio"));
  if (format == "wav") {
    if (b.size() < 12 || b.substr(0, 4) != "RIFF" || b.substr(8, 4) != "WAVE") {
      return Fail(BadAudio("not a WAV file"));
    }
    std::size_t at = 12;
    std::uint32_t byte_rate = 0;
    while (at + 8 <= b.size()) {
      const std::string_view id = b.substr(at, 4);
      const std::uint32_t len = Le32(b, at + 4);
      if (id == "fmt " && at + 8 + 16 <= b.size()) byte_rate = Le32(b, at + 16);
      if (id == "data") {
        if (byte_rate == 0) return Fail(BadAudio("WAV has no format chunk"));
        // Streamed WAVs declare 0xFFFFFFFF; trust the bytes that arrived.
        const std::uint64_t avail = b.size() - (at + 8);
        const std::uint64_t data = std::min<std::uint64_t>(len, avail);
        if (len != 0xFFFFFFFFu && len > avail) return Fail(BadAudio("WAV is truncated"));
        if (data == 0) return Fail(BadAudio("WAV has no samples"));
        return AudioInfo{"audio/wav", "wav", static_cast<std::int64_t>(data * 1000 / byte_rate)};
      }
      if (static_cast<std::uint64_t>(at) + 8 + len > b.size()) break;
      at += 8 + len + (len & 1);
    }
    return Fail(BadAudio("WAV is truncated (no data chunk)"));
  }
  if (format == "mp3" || format.empty()) {
    const bool id3 = b.size() >= 3 && b.substr(0, 3) == "ID3";
    const bool sync =
        b.size() >= 2 && std::uint8_t(b[0]) == 0xFF && (std::uint8_t(b[1]) & 0xE0) == 0xE0;
    if (!id3 && !sync) return Fail(BadAudio("not an MP3 file"));
    return AudioInfo{"audio/mpeg", "mp3", 0};
  }
  if (format == "opus") return AudioInfo{"audio/ogg", "opus", 0};
  if (format == "aac") return AudioInfo{"audio/aac", "aac", 0};
  if (format == "flac") return AudioInfo{"audio/flac", "flac", 0};
  if (format == "pcm")
    return AudioInfo{"audio/L16; rate=24000; channels=1", "pcm",
                     static_cast<std::int64_t>(b.size() * 1000 / 48000)};
  return AudioInfo{"application/octet-stream", "bin", 0};
}

Result<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
      continue;
    else
      return Fail(BadImage("the base64 image data is malformed"));
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace storyloom::providers::openai
