#include "files/media_type.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace storyloom::files {

std::string SniffMagic(std::string_view h) {
  auto at = [&](std::size_t pos, std::string_view magic) {
    return h.size() >= pos + magic.size() && h.substr(pos, magic.size()) == magic;
  };
  if (at(0, std::string_view("\x89PNG\r\n\x1a\n", 8))) return "image/png";
  if (at(0, "\xFF\xD8\xFF")) return "image/jpeg";
  if (at(0, "RIFF") && at(8, "WEBP")) return "image/webp";
  if (at(0, "RIFF") && at(8, "WAVE")) return "audio/wav";
  if (at(0, "ID3")) return "audio/mpeg";
  // An MPEG audio frame: 11 sync bits, then a version and a layer that are not reserved.
  if (h.size() >= 2 && static_cast<unsigned char>(h[0]) == 0xFF &&
      (static_cast<unsigned char>(h[1]) & 0xE0) == 0xE0 &&
      (static_cast<unsigned char>(h[1]) & 0x18) != 0x08 &&
      (static_cast<unsigned char>(h[1]) & 0x06) != 0) {
    return "audio/mpeg";
  }
  if (at(4, "ftyp")) return "video/mp4";
  return "";
}

bool LooksLikeUtf8Text(std::string_view h) {
  std::size_t i = 0;
  while (i < h.size()) {
    const auto c = static_cast<unsigned char>(h[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') return false;
      if (c == 0x7F) return false;
      ++i;
      continue;
    }
    int more = 0;
    if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      more = 1;
    } else if ((c & 0xF0) == 0xE0) {
      more = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      more = 3;
    } else {
      return false;
    }
    for (int k = 1; k <= more; ++k) {
      if (i + k >= h.size()) return true;  // cut by the sniff window
      if ((static_cast<unsigned char>(h[i + k]) & 0xC0) != 0x80) return false;
    }
    i += more + 1;
  }
  return true;
}

std::string MediaEssence(std::string_view t) {
  t = t.substr(0, t.find(';'));
  std::string out;
  for (char c : t) {
    if (c == ' ' || c == '\t') continue;
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

ServedType DecideServedType(std::string_view head, std::string_view stored_type) {
  if (std::string magic = SniffMagic(head); !magic.empty()) return {std::move(magic), true};
  if (MediaEssence(stored_type) == "text/plain" && LooksLikeUtf8Text(head)) {
    return {"text/plain; charset=utf-8", true};
  }
  return {"application/octet-stream", false};
}

std::string TypeToRecord(std::string_view head, std::string_view claimed) {
  ServedType served = DecideServedType(head, claimed);
  if (served.inline_ok) return served.content_type;
  const std::string essence = MediaEssence(claimed);
  const auto slash = essence.find('/');
  bool token = slash != std::string::npos && slash > 0 && slash + 1 < essence.size() &&
               essence.size() <= 100;
  for (char c : essence) {
    token = token && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      std::strchr("/.+-_", c) != nullptr);
  }
  // Only a label (serving never trusts it), but it must not advertise active content, nor
  // an allow-listed type the bytes turned out not to be.
  for (std::string_view active : {"html", "svg", "xml", "script"}) {
    if (essence.find(active) != std::string::npos) token = false;
  }
  for (std::string_view listed : {"image/png", "image/jpeg", "image/webp", "audio/wav",
                                  "audio/x-wav", "audio/mpeg", "video/mp4", "text/plain"}) {
    if (essence == listed) token = false;
  }
  return token ? essence : "application/octet-stream";
}

Result<std::string> ReadHead(const std::string& path, std::size_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(Error::Unavailable("cannot open " + path + ": " + std::strerror(errno)));
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

}  // namespace storyloom::files
