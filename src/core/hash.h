// SHA-256 (streaming and one-shot) and hex helpers over libsodium. Sha256 objects are
// single-threaded; the free functions are thread-safe.
#pragma once

#include <sodium.h>

#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::core {

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view bytes);
  // Returns the lowercase hex digest; the object must not be updated afterwards.
  std::string HexDigest();

 private:
  crypto_hash_sha256_state state_;
};

// Lowercase hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);
// Lowercase hex SHA-256 of the file at `path`, streamed; not_found/unavailable on errors.
Result<std::string> Sha256File(const std::string& path);
// Constant-time comparison of two strings of any length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
std::string HexEncode(std::string_view bytes);

}  // namespace storyloom::core
