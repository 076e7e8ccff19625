// Drawing parameters from fuzzer bytes. Every read succeeds: once the
// bytes run out, reads return zeros, so every input means something and a
// short input means a small case. Multi-byte values are little-endian, so
// a dictionary word or a CMPLOG operand lands as the fuzzer sees it.

#ifndef WASMCACHE_FUZZ_LIB_BYTE_SOURCE_H_
#define WASMCACHE_FUZZ_LIB_BYTE_SOURCE_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace wasmcache::fuzz {

class ByteSource {
 public:
  explicit ByteSource(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t remaining() const { return bytes_.size() - at_; }
  bool empty() const { return remaining() == 0; }

  uint8_t U8() { return at_ < bytes_.size() ? bytes_[at_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Little(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Little(4)); }
  uint64_t U64() { return Little(8); }
  bool Bool() { return (U8() & 1) != 0; }

  // A value in [lo, hi] (lo <= hi), from as few bytes as the span needs.
  uint64_t InRange(uint64_t lo, uint64_t hi) {
    const uint64_t span = hi - lo;
    if (span == 0) return lo;
    int bytes = 0;
    for (uint64_t s = span; s != 0; s >>= 8) ++bytes;
    const uint64_t raw = Little(bytes);
    return span == UINT64_MAX ? raw : lo + raw % (span + 1);
  }

  // The next `n` bytes (fewer if fewer remain).
  absl::Span<const uint8_t> Bytes(size_t n) {
    if (n > remaining()) n = remaining();
    auto out = bytes_.subspan(at_, n);
    at_ += n;
    return out;
  }
  absl::Span<const uint8_t> Rest() { return Bytes(remaining()); }

 private:
  uint64_t Little(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t{U8()} << (8 * i);
    return v;
  }

  absl::Span<const uint8_t> bytes_;
  size_t at_ = 0;
};

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_BYTE_SOURCE_H_
