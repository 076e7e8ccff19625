// arm64 encoders of the fast implementation (word-domain templates).
//
// Every arm64 form is a bit field of a little-endian word at the site: the
// imm26 of b/bl (a signed, word-scaled offset from the site), or the whole
// 4- or 8-byte word of a constant-pool slot or of an internal reference (an
// unsigned value). One table row per form gives the word's size, the
// field's position and width, and whether it is pc-relative; one encoder
// serves every row:
//
//   relative:  field = (target - site) >> scale, in range when the low
//              `scale` bits of target - site are zero and target - site
//              fits (bits + scale) signed bits;
//              decode = site + (sext(field) << scale)
//   absolute:  field = target, in range when it fits `bits` unsigned bits;
//              decode = field
//
// A tag is stored in the same field. A pc-relative field holds a signed
// 32-bit tag that fits the field (V8 truncates it with a check) and reads
// it back sign-extended to 32 bits; an absolute field holds the tag
// zero-extended.
//
// Instructions are recognised by (mask, match) patterns; the literal loads
// find their slot through another signed, word-scaled pc-relative field
// (imm19), read with the same routine as the branch's.

#ifndef WASMCACHE_FAST_ENCODERS_ARM64_H_
#define WASMCACHE_FAST_ENCODERS_ARM64_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::fast {

// A bit field of an instruction or data word.
struct Arm64Bits {
  uint8_t lsb;
  uint8_t bits;
  uint8_t scale_log2;  // pc-relative fields count units of 2^scale bytes
};

struct Arm64FormRow {
  uint8_t bytes;   // size of the word: 4 or 8
  Arm64Bits field;
  bool relative;   // signed offset from the site (else an unsigned value)
};

// Form ids index this table.
enum Arm64Form : uint8_t { kArm64Branch26 = 0, kArm64Data32, kArm64Data64 };
inline constexpr Arm64FormRow kArm64Forms[] = {
    {4, {0, 26, 2}, true},    // b / bl imm26
    {4, {0, 32, 0}, false},   // 4-byte pool slot (ldr w literal)
    {8, {0, 64, 0}, false},   // 8-byte pool slot (ldr x literal), or an
                              // absolute internal reference
};

// ldr (literal): imm19 in bits 23:5, in words from the instruction.
inline constexpr Arm64Bits kArm64LiteralOffset = {5, 19, 2};

// An instruction pattern at the site, and the form it gives: the field at
// the site itself, or the pool slot its literal offset names.
struct Arm64Pattern {
  uint32_t mask;
  uint32_t match;
  uint8_t form;
  bool pool;
};
inline constexpr Arm64Pattern kArm64BranchPattern = {
    0x7c000000, 0x14000000, kArm64Branch26, false};  // b; bl sets bit 31
inline constexpr Arm64Pattern kArm64LdrXPattern = {
    0xff000000, 0x58000000, kArm64Data64, true};
inline constexpr Arm64Pattern kArm64LdrWPattern = {
    0xff000000, 0x18000000, kArm64Data32, true};

// Jump-table words.
inline constexpr uint32_t kArm64B = 0x14000000;             // b #0
inline constexpr uint32_t kArm64LdrX16Plus8 = 0x58000050;   // ldr x16, #8
inline constexpr uint32_t kArm64BrX16 = 0xd61f0200;         // br x16
inline constexpr uint32_t kArm64BtiJc = 0xd50324df;         // bti jc
inline constexpr uint32_t kArm64MovzW8 = 0x52800008;        // movz w8, #0
inline constexpr uint32_t kArm64MovkW8Lsl16 = 0x72a00008;   // movk w8, #0, lsl 16
inline constexpr Arm64Bits kArm64MovImm16 = {5, 16, 0};

template <class D>
struct Arm64Field {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  static constexpr uint64_t Mask(const Arm64Bits& f) {
    return f.bits == 64 ? ~uint64_t{0}
                        : ((uint64_t{1} << f.bits) - 1) << f.lsb;
  }
  static U64 Unsigned(const Arm64Bits& f, U64 word) {
    return D::LShr(D::Shl(word, 64 - f.lsb - f.bits), 64 - f.bits);
  }
  static U64 Signed(const Arm64Bits& f, U64 word) {
    return D::AShr(D::Shl(word, 64 - f.lsb - f.bits), 64 - f.bits);
  }
  // `word` with the field replaced by the low bits of `value`.
  static U64 Insert(const Arm64Bits& f, U64 word, U64 value) {
    const uint64_t mask = Mask(f);
    return D::Or(D::And(word, D::C64(~mask)),
                 D::And(D::Shl(value, f.lsb), D::C64(mask)));
  }
  // The address a signed, scaled pc-relative field names from `site`.
  static U64 PcRelative(const Arm64Bits& f, U64 word, U64 site) {
    return D::Add(site, D::Shl(Signed(f, word), f.scale_log2));
  }

  static Bool Matches(const Arm64Pattern& p, U32 insn) {
    return D::Eq(D::And(insn, D::C32(p.mask)), D::C32(p.match));
  }

  static Bool InRange(const Arm64FormRow& row, U64 site, U64 target) {
    const Arm64Bits& f = row.field;
    if (!row.relative) {
      return f.bits == 64 ? D::True() : FitsUnsigned<D>(target, f.bits);
    }
    const U64 delta = D::Sub(target, site);
    const Bool fits = FitsSigned<D>(delta, f.bits + f.scale_log2);
    return f.scale_log2 == 0
               ? fits
               : D::BoolAnd(LowBitsZero<D>(delta, f.scale_log2), fits);
  }
  // `word` (the zero-extended word at the site) holding `target`;
  // meaningful when InRange.
  static U64 Encode(const Arm64FormRow& row, U64 word, U64 site, U64 target) {
    const U64 value =
        row.relative ? D::AShr(D::Sub(target, site), row.field.scale_log2)
                     : target;
    return Insert(row.field, word, value);
  }
  static U64 Decode(const Arm64FormRow& row, U64 word, U64 site) {
    return row.relative ? PcRelative(row.field, word, site)
                        : Unsigned(row.field, word);
  }

  static Bool TagFits(const Arm64FormRow& row, U64 tag) {
    const Arm64Bits& f = row.field;
    if (!row.relative) {
      return f.bits == 64 ? D::True() : FitsUnsigned<D>(tag, f.bits);
    }
    return D::BoolAnd(FitsUnsigned<D>(tag, 32),
                      FitsSigned<D>(D::SExt64(D::Trunc32(tag)), f.bits));
  }
  static U64 EncodeTag(const Arm64FormRow& row, U64 word, U64 tag) {
    return Insert(row.field, word, tag);
  }
  static U64 DecodeTag(const Arm64FormRow& row, U64 word) {
    return row.relative ? D::ZExt64(D::Trunc32(Signed(row.field, word)))
                        : Unsigned(row.field, word);
  }
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_ARM64_H_
