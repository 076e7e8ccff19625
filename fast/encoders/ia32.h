// ia32 encoders of the fast implementation (word-domain templates).
//
// Every ia32 site is a little-endian 32-bit field at the entry's pc, and
// every address is 32 bits wide. The forms differ in two facts only, which
// one table row per form records:
//
//   - whether the field is relative to the end of the field (call/jmp
//     rel32) or holds the value itself (imm32, disp32, data word);
//   - which opcode byte, if any, must stand right before the field.
//
// One encoder serves every row, in 32-bit arithmetic as the CPU does it:
//
//   bias(site)     = relative ? site + 4 : 0
//   field(target)  = (target - bias) mod 2^32
//   in range       = target < 2^32 and (not relative or site < 2^32)
//   decode(field)  = (bias + field) mod 2^32
//
// A rel32 therefore reaches the whole 32-bit address space; "out of reach"
// only means an address of 2^32 or more. A tag is the raw field.

#ifndef WASMCACHE_FAST_ENCODERS_IA32_H_
#define WASMCACHE_FAST_ENCODERS_IA32_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::fast {

struct Ia32FormRow {
  bool relative;         // value counted from the end of the field
  uint8_t prefix_bytes;  // opcode bytes checked before the field (0 or 1)
  uint8_t prefix_mask;   // bits of that byte that are checked
  uint8_t prefix_match;  // their required value
};

inline constexpr uint32_t kIa32FieldBytes = 4;

// Form ids index this table.
enum Ia32Form : uint8_t { kIa32Rel32 = 0, kIa32Abs32 };
inline constexpr Ia32FormRow kIa32Forms[] = {
    // rel32 of call (E8) or jmp (E9): E8 and E9 differ in bit 0 only.
    {true, 1, 0xfe, 0xe8},
    // imm32 / disp32 / data word: nothing is required before it.
    {false, 0, 0x00, 0x00},
};

// Jump-table opcodes.
inline constexpr uint8_t kIa32JmpRel32 = 0xe9;
inline constexpr uint8_t kIa32MovEdiImm32 = 0xbf;

template <class D>
struct Ia32Field {
  using U32 = typename D::U32;
  using U64 = typename D::U64;

  // What the field is counted from, truncated to the 32-bit address space.
  static U32 Bias(const Ia32FormRow& row, U64 site) {
    return row.relative
               ? D::Add(D::Trunc32(site), D::C32(kIa32FieldBytes))
               : D::C32(0);
  }
  static typename D::Bool InRange(const Ia32FormRow& row, U64 site,
                                  U64 target) {
    const U64 base = row.relative ? site : D::C64(0);
    return D::BoolAnd(FitsUnsigned<D>(target, 32), FitsUnsigned<D>(base, 32));
  }
  static U32 Encode(const Ia32FormRow& row, U64 site, U64 target) {
    return D::Sub(D::Trunc32(target), Bias(row, site));
  }
  static U64 Decode(const Ia32FormRow& row, U64 site, U32 field) {
    return D::ZExt64(D::Add(Bias(row, site), field));
  }
  // Every form holds a whole u32 tag, stored and read back raw.
  static typename D::Bool TagFits(U64 tag) { return FitsUnsigned<D>(tag, 32); }
  static U32 EncodeTag(U64 tag) { return D::Trunc32(tag); }
  static U64 DecodeTag(U32 field) { return D::ZExt64(field); }
  // The byte before the field satisfies the row (`byte` is the byte at
  // field - prefix_bytes, which is the field's own first byte when the row
  // checks nothing: its mask is then zero).
  static typename D::Bool PrefixMatches(const Ia32FormRow& row, U32 byte) {
    return D::Eq(D::And(byte, D::C32(row.prefix_mask)),
                 D::C32(row.prefix_match));
  }
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_IA32_H_
