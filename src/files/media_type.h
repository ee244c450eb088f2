// How a stored file may be served: its type decided from its bytes (magic numbers), never
// from what an uploader claimed, and whether a browser may show it inline. Pure functions;
// any thread.
#pragma once

#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::files {

// Bytes read from the start of a file for sniffing.
inline constexpr std::size_t kSniffBytes = 4096;

// The allow-listed type the bytes are, by their magic numbers: "image/png", "image/jpeg",
// "image/webp", "audio/wav", "audio/mpeg", "video/mp4", or "" when none matches.
std::string SniffMagic(std::string_view head);
// True when `head` is UTF-8 text without NUL or other C0 controls than tab, CR, LF and FF
// (a multi-byte sequence cut at the end of `head` is allowed).
bool LooksLikeUtf8Text(std::string_view head);
// "Text/HTML ; charset=x" -> "text/html".
std::string MediaEssence(std::string_view content_type);

struct ServedType {
  std::string content_type;
  bool inline_ok = false;  // false: Content-Disposition: attachment
};
// Allow-listed bytes are shown inline as what they are; UTF-8 text is shown inline as
// text/plain only when it was also stored as text/plain; everything else (HTML, SVG, XML,
// scripts, unknown) is application/octet-stream as an attachment.
ServedType DecideServedType(std::string_view head, std::string_view stored_type);
// The type to record for an upload: the served type when it is shown inline, otherwise the
// claimed type's essence unless it is one a browser would render as active content.
std::string TypeToRecord(std::string_view head, std::string_view claimed);

// Up to `n` bytes from the start of the file at `path`.
[[nodiscard]] Result<std::string> ReadHead(const std::string& path, std::size_t n = kSniffBytes);

}  // namespace storyloom::files
