// Stable hashing and a seeded pseudo-random sequence for the offline provider: the same
// input gives the same choices on every build and machine (unlike std::hash). Values and
// pure functions; SeededRandom objects are single-threaded, the functions thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace storyloom::providers::offline {

// FNV-1a, 64 bits, over the bytes of `parts`, each followed by a 0xff separator so that
// ("ab","c") and ("a","bc") hash differently.
inline std::uint64_t StableHash(std::initializer_list<std::string_view> parts) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::string_view part : parts) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// SplitMix64: a tiny generator with good statistical quality for picking templates.
class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}

  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform-enough integer in [0, n); n must be > 0.
  std::size_t Below(std::size_t n) { return static_cast<std::size_t>(Next() % n); }
  // Double in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  double Range(double lo, double hi) { return lo + (hi - lo) * Unit(); }

  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }

 private:
  std::uint64_t state_;
};

}  // namespace storyloom::providers::offline
