#include "core/ids.h"

#include <sodium.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/clock.h"

namespace storyloom::core {
namespace {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string NewId() {
  EnsureSodium();
  // 48-bit ms timestamp, then a 12-bit counter (rand_a) that keeps ids monotonic within one
  // millisecond, then 62 random bits. The counter restarts from a random value each ms.
  static std::mutex mu;
  static std::uint64_t last_ms = 0;  // guarded by mu
  static std::uint32_t counter = 0;  // guarded by mu
  std::uint64_t ms = static_cast<std::uint64_t>(WallMillis());
  std::uint32_t seq;
  {
    std::lock_guard lock(mu);
    if (ms <= last_ms) {
      ms = last_ms;
      if (++counter > 0xfff) {  // counter exhausted: borrow the next millisecond
        ++ms;
        counter = randombytes_uniform(0x400);
      }
    } else {
      counter = randombytes_uniform(0x400);
    }
    last_ms = ms;
    seq = counter;
  }
  unsigned char b[16];
  randombytes_buf(b + 8, 8);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((seq >> 8) & 0x0f));
  b[7] = static_cast<unsigned char>(seq & 0xff);
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3f));
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

Millis UuidV7Time(std::string_view id) {
  if (!IsUuid(id)) return 0;
  std::string hex;
  hex += id.substr(0, 8);
  hex += id.substr(9, 4);
  return static_cast<Millis>(std::stoull(hex, nullptr, 16));
}

std::string RandomHex(std::size_t bytes) {
  EnsureSodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string RandomToken(std::size_t bytes) {
  EnsureSodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_encoded_len(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

}  // namespace storyloom::core
