// s390x encoders of the fast implementation (word-domain templates).
//
// s390x is big-endian and its instructions are streams of halfwords. Every
// value the cache touches is made of whole 32-bit big-endian immediates at
// fixed byte offsets from a site: the imm32 of a RIL instruction (iihf,
// iilf, brcl) or a word of an 8-byte data field. So a layout lists, per
// immediate, its byte offset, which 32 bits of the value it carries and
// whether it is sign-extended; the halfword scaling of relative offsets is
// a value bit offset of 1. One Gather and one Scatter serve every layout;
// one Matches checks the leading halfwords of any sequence; one reach check
// decides what a form holds.
//
// The forms (facts from spec/forms/s390x.md):
//   pair     iihf rN, h (C0 N8 h) ; iilf rN, l (C0 N9 l), the same rN:
//            value = h << 32 | l. Addresses take 64 bits, 32-bit constants
//            (signature ids, code-pointer handles) 32; the on-disk tag is 32
//            bits (iihf 0, iilf the tag).
//   data64   INTERNAL_REFERENCE: 8 bytes at pc, big-endian.
//   brcl     brcl 15, i (C0 F4 i), jump-table near slots only:
//            target = site + sext(i) * 2; the delta must be even and fit
//            int33.

#ifndef WASMCACHE_FAST_ENCODERS_S390X_H_
#define WASMCACHE_FAST_ENCODERS_S390X_H_

#include <array>
#include <cstdint>

#include "fast/encoders/reach.h"
#include "spec/word_domain.h"

namespace wasmcache::fast {

// The 32-bit immediate at byte `offset` from the site carries value bits
// [value_lsb, value_lsb + 32), sign-extended above them if `is_signed` (so
// a signed immediate must be a layout's most significant one).
struct S390xImm {
  uint8_t offset;
  uint8_t value_lsb;
  bool is_signed;
};

struct S390xLayout {
  uint8_t size;  // bytes from the site the layout's instructions span
  uint8_t num_imms;
  std::array<S390xImm, 2> imms;
};

// The halfword at byte `offset` must satisfy (halfword & mask) == match,
// or'ed with the R1 field (bits 7:4) of the first halfword when `same_r1`.
struct S390xHeadCheck {
  uint8_t offset;
  uint16_t mask;
  uint16_t match;
  bool same_r1;
};

struct S390xPattern {
  uint8_t num_checks;
  std::array<S390xHeadCheck, 2> checks;
};

// The values a form holds (fast/encoders/reach.h).
using S390xReach = Reach;

struct S390xFormRow {
  const S390xLayout* layout;
  S390xReach target;  // addresses in code space
  S390xReach tag;     // tags on disk (absolute)
};

// --- The tables ------------------------------------------------------------

inline constexpr S390xLayout kS390xPairLayout = {
    12, 2, {{{2, 32, false}, {8, 0, false}}}};
inline constexpr S390xLayout kS390xData64Layout = {
    8, 2, {{{0, 32, false}, {4, 0, false}}}};
inline constexpr S390xLayout kS390xBrclLayout = {6, 1, {{{2, 1, true}}}};

// iihf rN followed by iilf rN. This also rules out brcl and brasl (C0 m4,
// C0 r5) at a site.
inline constexpr S390xPattern kS390xPairPattern = {
    2, {{{0, 0xff0f, 0xc008, false}, {6, 0xffff, 0xc009, true}}}};
// The near slot: brcl 15 (jg), then lr r0, r0.
inline constexpr S390xPattern kS390xNearSlotPattern = {
    2, {{{0, 0xffff, 0xc0f4, false}, {6, 0xffff, 0x1800, false}}}};

inline constexpr S390xReach kS390xAny = {false, 0, 64};
inline constexpr S390xReach kS390xLow32 = {false, 0, 32};
inline constexpr S390xReach kS390xBrclReach = {true, 1, 33};

// Form ids index this table.
enum S390xForm : uint8_t {
  kS390xPairAddress = 0,  // WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE
  kS390xPairValue32,      // WASM_CANONICAL_SIG_ID, CODE_POINTER_TABLE_ENTRY
  kS390xData64,           // INTERNAL_REFERENCE
};
inline constexpr S390xFormRow kS390xForms[] = {
    {&kS390xPairLayout, kS390xAny, kS390xLow32},
    {&kS390xPairLayout, kS390xLow32, kS390xLow32},
    {&kS390xData64Layout, kS390xAny, kS390xAny},
};

// --- The routines ----------------------------------------------------------

template <class D>
struct S390xImms {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  // The value imms[0, layout.num_imms) carry.
  static U64 Gather(const S390xLayout& layout, const U32* imms) {
    U64 value = D::C64(0);
    for (int i = 0; i < layout.num_imms; ++i) {
      const S390xImm& imm = layout.imms[i];
      const U64 wide = imm.is_signed ? D::SExt64(imms[i]) : D::ZExt64(imms[i]);
      value = D::Or(value, D::Shl(wide, imm.value_lsb));
    }
    return value;
  }

  static void Scatter(const S390xLayout& layout, U32* imms, U64 value) {
    for (int i = 0; i < layout.num_imms; ++i) {
      imms[i] = D::Trunc32(D::LShr(value, layout.imms[i].value_lsb));
    }
  }

  // `heads[i]`: the (zero-extended) halfword at pattern.checks[i].offset.
  static Bool Matches(const S390xPattern& pattern, const U32* heads) {
    const U32 r1 = D::And(heads[0], D::C32(0x00f0));
    Bool ok = D::True();
    for (int i = 0; i < pattern.num_checks; ++i) {
      const S390xHeadCheck& c = pattern.checks[i];
      const U32 want = c.same_r1 ? D::Or(D::C32(c.match), r1) : D::C32(c.match);
      ok = D::BoolAnd(ok, D::Eq(D::And(heads[i], D::C32(c.mask)), want));
    }
    return ok;
  }

  static U64 ToValue(const Reach& reach, U64 site, U64 target) {
    return ReachCodec<D>::ToValue(reach, site, target);
  }
  static Bool InReach(const Reach& reach, U64 value) {
    return ReachCodec<D>::InReach(reach, value);
  }
  static U64 FromValue(const Reach& reach, U64 site, U64 value) {
    return ReachCodec<D>::FromValue(reach, site, value);
  }

  // An address (site: where the form lies) or a tag (site 0) of `reach`
  // in the immediates of `layout`, as the target operations apply them:
  // Fits decides, Write puts ToValue into the immediates, Read takes
  // FromValue of them.
  static Bool Fits(const Reach& reach, U64 site, U64 target) {
    return ReachCodec<D>::Fits(reach, site, target);
  }
  static void Write(const S390xLayout& layout, const Reach& reach, U32* imms,
                    U64 site, U64 target) {
    Scatter(layout, imms, ToValue(reach, site, target));
  }
  static U64 Read(const S390xLayout& layout, const Reach& reach,
                  const U32* imms, U64 site) {
    return FromValue(reach, site, Gather(layout, imms));
  }
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_S390X_H_
