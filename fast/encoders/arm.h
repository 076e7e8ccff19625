// arm (32-bit, A32) encoders of the fast implementation (word-domain
// templates).
//
// Every serializer-patched value on arm lives in a 4-byte constant-pool
// word, found through the pc-relative load at the entry's pc. One row
// describes the load:
//
//   - which instruction words are such a load (an opcode pattern and a
//     pattern inside it that is not a load);
//   - where its offset sits (a magnitude field and a sign bit, counted from
//     the instruction plus the pc read-ahead);
//   - the word it loads (size and alignment): a whole little-endian word
//     holding the value or the tag, unsigned.
//
// One routine reads any load row and encodes the word it loads (and the
// data words of the jump-table slots):
//
//   slot          = site + read_ahead + (sign bit ? +magnitude : -magnitude)
//   word(value)   = value mod 2^32, in range when value < 2^32
//   decode(word)  = zext(word)
//
// and builds a load's offset for a given slot (the jump-table words):
//
//   delta         = slot - (site + read_ahead), in reach when |delta| fits
//                   the magnitude; sign bit = delta >= 0, magnitude = |delta|
//
// The slot is computed in 64 bits: a word before the code start wraps high.

#ifndef WASMCACHE_FAST_ENCODERS_ARM_H_
#define WASMCACHE_FAST_ENCODERS_ARM_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::fast {

struct ArmLoadRow {
  uint32_t class_mask;     // bits that make the instruction class
  uint32_t class_match;    // their value
  uint32_t not_mask;       // a pattern of the class that is not this load
  uint32_t not_match;
  uint8_t magnitude_lsb;   // unsigned offset field
  uint8_t magnitude_bits;
  uint8_t sign_bit;        // set: add the magnitude; clear: subtract it
  uint8_t read_ahead;      // pc reads as the instruction address + this
  uint8_t slot_bytes;      // size of the word loaded
  uint8_t slot_align_log2; // the word's required alignment
};

// ldr rd, [pc, #+/-imm12]: cond | 010 P=1 U B=0 W=0 L=1 | Rn=1111 | rd |
// imm12. Condition 1111 is the unconditional space (pld and friends), not
// a load.
inline constexpr ArmLoadRow kArmLdrLiteral = {
    .class_mask = 0x0f7f0000,
    .class_match = 0x051f0000,
    .not_mask = 0xf0000000,
    .not_match = 0xf0000000,
    .magnitude_lsb = 0,
    .magnitude_bits = 12,
    .sign_bit = 23,
    .read_ahead = 8,
    .slot_bytes = 4,
    .slot_align_log2 = 2,
};

template <class D>
struct ArmLoad {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  static Bool Not(Bool b) {
    return D::Eq(D::Select(b, D::C32(0), D::C32(1)), D::C32(1));
  }
  static Bool Matches(const ArmLoadRow& row, U32 insn) {
    return D::BoolAnd(
        D::Eq(D::And(insn, D::C32(row.class_mask)), D::C32(row.class_match)),
        Not(D::Eq(D::And(insn, D::C32(row.not_mask)), D::C32(row.not_match))));
  }
  // Address of the word the load at `site` reads.
  static U64 Slot(const ArmLoadRow& row, U32 insn, U64 site) {
    const int top = 32 - row.magnitude_lsb - row.magnitude_bits;
    const U64 magnitude = D::ZExt64(
        D::LShr(D::Shl(insn, top), top + row.magnitude_lsb));
    const U64 base = D::Add(site, D::C64(row.read_ahead));
    const Bool add = Not(D::Eq(
        D::And(insn, D::C32(uint32_t{1} << row.sign_bit)), D::C32(0)));
    return D::Select(add, D::Add(base, magnitude), D::Sub(base, magnitude));
  }
  static Bool SlotAligned(const ArmLoadRow& row, U64 slot) {
    return LowBitsZero<D>(slot, row.slot_align_log2);
  }

  // The other way, for building loads: the load at `site` can read the
  // word at `slot` when |slot - (site + read_ahead)| fits the magnitude
  // field; WithSlot writes that offset's sign and magnitude into `insn`
  // (meaningful when in reach). Constant-evaluable: the jump-table words
  // are built with it.
  static constexpr U64 Delta(const ArmLoadRow& row, U64 site, U64 slot) {
    return D::Sub(slot, D::Add(site, D::C64(row.read_ahead)));
  }
  static constexpr Bool SlotInReach(const ArmLoadRow& row, U64 site,
                                    U64 slot) {
    const uint64_t max = (uint64_t{1} << row.magnitude_bits) - 1;
    return D::Ult(D::Add(Delta(row, site, slot), D::C64(max)),
                  D::C64(2 * max + 1));
  }
  static constexpr U32 WithSlot(const ArmLoadRow& row, U32 insn, U64 site,
                                U64 slot) {
    const U64 delta = Delta(row, site, slot);
    const Bool add = D::Eq(D::LShr(delta, 63), D::C64(0));
    const U64 magnitude = D::Select(add, delta, D::Sub(D::C64(0), delta));
    const uint32_t sign = uint32_t{1} << row.sign_bit;
    const uint32_t mask =
        sign | ((uint32_t{1} << row.magnitude_bits) - 1) << row.magnitude_lsb;
    const U32 field = D::Or(D::Select(add, D::C32(sign), D::C32(0)),
                            D::Shl(D::Trunc32(magnitude), row.magnitude_lsb));
    return D::Or(D::And(insn, D::C32(~mask)), D::And(field, D::C32(mask)));
  }

  // The word loaded holds an unsigned value (an absolute address, a 32-bit
  // id, or a tag) of its full width; so do the data words of the jump-table
  // slots, which the same loads read.
  static Bool ValueFits(const ArmLoadRow& row, U64 value) {
    return FitsUnsigned<D>(value, 8 * row.slot_bytes);
  }
  static U32 WordOf(U64 value) { return D::Trunc32(value); }
  static U64 ValueOf(U32 word) { return D::ZExt64(word); }
};

// The load with condition AL, destination `rd` and byte offset `offset`
// (|offset| < 4096): the words of the jump-table slots are such loads.
constexpr uint32_t ArmLdrLiteralWord(uint32_t rd, int32_t offset) {
  const ArmLoadRow& r = kArmLdrLiteral;
  const uint32_t load = 0xe0000000u | r.class_match | (rd << 12);
  return ArmLoad<NativeDomain>::WithSlot(
      r, load, 0, static_cast<uint64_t>(int64_t{r.read_ahead} + offset));
}
inline constexpr uint32_t kArmRegPc = 15;
inline constexpr uint32_t kArmRegR4 = 4;

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_ARM_H_
