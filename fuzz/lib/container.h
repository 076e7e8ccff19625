// The input of deserialize_fuzzer, and the unit the structure-aware
// mutator works on: a target, a module's wire bytes and a cache.
//
//   byte 0      bits 0-3: the target, (value mod 10) as spec/arch.h's Arch
//               enum (0 x64, 1 ia32, 2 arm64, 3 arm, 4 riscv64, 5 riscv32,
//               6 mips64, 7 ppc64, 8 s390x, 9 loong64);
//               bit 4: the fast implementation runs on one thread (else
//               on all); bit 5: the fast implementation loads the cache
//               from a file, reading it a page at a time and at most a
//               page ahead of its oldest batch still loading (else from
//               memory); bits 6-7: reserved, kept as found
//   bytes 1-4   u32, little-endian: length of the wire bytes (a length
//               beyond the input means "the rest")
//   then        the wire bytes, then the cache to the end of the input
//
// Every byte string is a container (a short one has an empty module or
// cache), so an engine's own mutations never make inputs the target
// cannot read. corpus/fuzz/deserialize_fuzzer holds real V8 caches and
// synthesized ones of every target in this form; `wasmcache-mutate
// --pack` and `--unpack` convert.

#ifndef WASMCACHE_FUZZ_LIB_CONTAINER_H_
#define WASMCACHE_FUZZ_LIB_CONTAINER_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "spec/arch.h"

namespace wasmcache::fuzz {

inline constexpr size_t kContainerHeaderSize = 5;
inline constexpr uint8_t kOneThreadBit = 0x10;
inline constexpr uint8_t kFromFileBit = 0x20;

struct Container {
  Arch arch = Arch::kX64;
  uint8_t flags = 0;  // byte 0 without the target bits
  std::vector<uint8_t> wasm;
  std::vector<uint8_t> cache;

  bool one_thread() const { return (flags & kOneThreadBit) != 0; }
  bool from_file() const { return (flags & kFromFileBit) != 0; }
};

// Never fails (see above).
Container ParseContainer(absl::Span<const uint8_t> bytes);
std::vector<uint8_t> WriteContainer(const Container& container);

// Views into the input, without copying (what the targets use).
struct ContainerView {
  Arch arch = Arch::kX64;
  bool one_thread = false;
  bool from_file = false;
  absl::Span<const uint8_t> wasm;
  absl::Span<const uint8_t> cache;
};
ContainerView ViewContainer(absl::Span<const uint8_t> bytes);

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_CONTAINER_H_
