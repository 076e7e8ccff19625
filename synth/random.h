// A deterministic random source for the generator.
//
// std::mt19937_64's output sequence is fixed by the C++ standard, but the
// standard distributions are not (libstdc++ and libc++ map the same bits to
// different numbers). Every range mapping used by the generator is therefore
// written here, by rejection sampling on the raw 64-bit output, so a seed
// gives the same bytes with any standard library on any host.

#ifndef WASMCACHE_SYNTH_RANDOM_H_
#define WASMCACHE_SYNTH_RANDOM_H_

#include <cassert>
#include <cstdint>
#include <random>
#include <vector>

namespace wasmcache::synth {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  uint32_t Next32() { return static_cast<uint32_t>(engine_() >> 32); }

  // Uniform in [lo, hi] (inclusive). Unbiased: rejects the top partial
  // bucket of the 64-bit range.
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    assert(lo <= hi);
    const uint64_t span = hi - lo;
    if (span == UINT64_MAX) return Next();
    const uint64_t n = span + 1;
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
    uint64_t x;
    do {
      x = Next();
    } while (x > limit);
    return lo + x % n;
  }
  uint32_t Uniform32(uint32_t lo, uint32_t hi) {
    return static_cast<uint32_t>(Uniform(lo, hi));
  }
  // True with probability numerator / denominator.
  bool Chance(uint32_t numerator, uint32_t denominator) {
    return Uniform(0, denominator - 1) < numerator;
  }
  template <class T>
  const T& Pick(const std::vector<T>& items) {
    assert(!items.empty());
    return items[Uniform(0, items.size() - 1)];
  }
  template <class T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Uniform(0, N - 1)];
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace wasmcache::synth

#endif  // WASMCACHE_SYNTH_RANDOM_H_
