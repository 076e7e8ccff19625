// reloc_fuzzer's generator and oracle: random words, sites and values
// through every relocation form of every target, in both implementations,
// and random targets through both implementations' jump-table slots.
//
// What is exercised. The forms are the proofs' bindings
// (proofs::FormsOf<NativeDomain>, proofs/forms/<arch>.h): the range checks,
// encoders and decoders the library ships, instantiated with machine
// integers, exactly as the library calls them. So a case the fuzzer
// refutes is a counterexample to a proved property of the shipped code: a
// finding here means the proofs, the bindings or the compiler are wrong,
// and is worth a close look. The fuzzer is the proofs' native, independent
// check, and it runs where Z3 does not (no Z3 is linked or included).
//
// Properties, per form (proofs/README.md numbers them), for words that are
// an instance of the form (`shape`) at a site a code space can hold
// (`site_ok`):
//
//   shape            fast's own recogniser (fast_shape) accepts exactly
//                    the reference's instances, on any words
//   fast=reference   same verdict of the range check, same encoded words,
//                    same decoded value (decode-only forms: decode only)
//   round-trip       an accepted value decodes back to itself
//   exact-range      a value (in the form's value domain) that decodes
//                    back to itself is accepted
//   frame            encoding changes only field bits, and the result is
//                    still an instance of the form
//   injective        two different accepted values encode differently
//
// the last four for each implementation. Jump-table slots (reference/
// jump_table.h against fast/arch.h's ArchOps), per target:
//
//   near, far and lazy slot writers: same verdict and same bytes; a
//   refused near or lazy write writes nothing; no writer touches a byte
//   past its slot; a written near or far slot reads back as its target in
//   both implementations; bit-flipped slot bytes read alike (both refuse
//   or both read the same target).
//
// Input layout (every byte string is a case; ByteSource reads zeros past
// the end, little-endian):
//
//   0      u8   target: value mod 10, in spec/arch.h's Arch order
//   1      u8   what: value mod (forms of the target + 1): form i of
//                proofs::FormsOf(target), or, for the last value, the
//                jump-table slots
//   2      u8   bits 0-1: site kind, bits 2-4: value kind, bits 5-6:
//                second-value kind, bit 7: raw words (else an instance)
//   3      u64  site (slots: the code space's base)
//   11     u64  value (slots: the target)
//   19     u64  second value (slots: the second target)
//   27     u8   bits 0-3: instance of the form (slots: the filler byte
//                around the slots is this nibble x 0x11); bit 7: move to
//                the range boundary, bits 4-5: log2 of its step, bit 6:
//                the value is the accepted side
//   28     u8   bit flips: count = value mod 4
//   29     3 x u8  flip positions (forms: bit = position mod (32 x words);
//                slots: a bit of the slot's first 32 bytes)
//   32     u32 x words  the words, when raw (slots: u32 near slot index,
//                u32 far slot index, u32 lazy slot's function index)
//
// Site kinds: the raw u64; below 2^bits (bits: 32 on 32-bit targets, 47
// elsewhere); a small address; just below 2^bits. The site is then
// aligned down (and truncated to 32 bits) until the form's site_ok holds.
// Value kinds: the raw u64; site + int32; site + edge (the edges of every
// reach); edge (the edges of absolute and tag ranges); u32; the value the
// words hold + int8; site + int16; the low 48 bits. An edge is +/-2^k,
// plus or minus a carry point of split immediates (0, 0x800, 0x8000,
// 2^31), + int8.
// Second-value kinds: value + int8; value with one bit flipped; the raw
// u64; site + int32.
//
// Boundary: when the reference's range check (slots: its near slot
// writer) accepts one of the two values and rejects the other, bisection
// between them finds two neighbours (on the lattice of the chosen step) on
// either side of the range's edge, and they become the value and the
// second value. A difference of range checks at a single value (an
// off-by-one bound) is then as easy to hit as any other.
//
// Words: a known instance of the form (kFormInstances in the .cc, words
// found in synthesized caches and in the reference's jump-table slots),
// with the second value encoded into it by the reference, then 0-3 bits
// flipped, so that both instances (flips in field bits) and non-instances
// (flips in opcode or register bits) are frequent; or raw words from the
// input.
//
// Cost: one case is a few dozen encoder calls; the form registry is built
// once per process.

#ifndef WASMCACHE_FUZZ_LIB_RELOC_ORACLE_H_
#define WASMCACHE_FUZZ_LIB_RELOC_ORACLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "fuzz/lib/byte_source.h"
#include "spec/arch.h"

namespace wasmcache::fuzz {

inline constexpr size_t kRelocHeaderSize = 32;  // bytes before raw words

// One case, as drawn from the input.
struct RelocCase {
  Arch arch = Arch::kX64;
  // A form index of proofs::FormsOf(arch); the number of forms means the
  // jump-table slots.
  size_t form = 0;
  bool slots = false;
  uint64_t site = 0;    // slots: the near slot's address
  uint64_t value = 0;   // slots: the target
  uint64_t value2 = 0;  // the value the words held; injectivity's partner
  std::vector<uint32_t> words;  // the form's words (empty for slots)
  // Slots only: where the far and lazy slots run, the lazy slot's
  // function, the byte the slot buffers are filled with, and the bit flips
  // applied before the junk reads.
  uint64_t far_slot = 0;
  uint64_t lazy_slot = 0;
  uint32_t function_index = 0;
  uint8_t filler = 0;
  std::vector<uint32_t> flips;  // bit positions
};

// Draws a case from `source` (see the layout above). Never fails.
RelocCase DrawRelocCase(ByteSource& source);

// Checks every property above on `c`; on a disagreement, reports it with
// ReportFinding (signatures such as
// reloc-arm64-branch26-reference-fast-encode-difference or
// reloc-riscv64-li-ptr-fast-roundtrip) and does not return.
void CheckRelocCase(const RelocCase& c);

// DrawRelocCase then CheckRelocCase: what reloc_fuzzer runs.
void RunRelocInput(absl::Span<const uint8_t> input);

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_RELOC_ORACLE_H_
