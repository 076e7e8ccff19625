// ppc64 (ppc64le) encoders of the fast implementation (word-domain
// templates).
//
// Every ppc64 value the cache touches lives in 32-bit little-endian words
// starting at a site: immediates of an instruction sequence, a pc-relative
// branch field, or a data doubleword (two words). Four kinds of table rows
// describe them, and one routine of each kind serves every row:
//
//   Ppc64Layout   which bits of which word carry which bits of the value
//                 (Gather reads them, Scatter writes them);
//   Ppc64Pattern  what the words of a sequence must be (Matches), with the
//                 register of the first word repeated where the sequence
//                 names it again;
//   Ppc64Reach    which values a form holds and how a value relates to the
//                 address or tag it stands for (ToValue, FromValue,
//                 InReach);
//   Ppc64FormRow  a site form: its layout, the reach of addresses written
//                 into it and the reach of tags stored in it on disk.
//
// The forms (facts from spec/forms/ppc64.md):
//   mov      lis rD,a; ori rD,rD,b; sldi rD,rD,32; oris rD,rD,c; ori rD,rD,d
//            value = a<<48 | b<<32 | c<<16 | d. Addresses take 64 bits,
//            32-bit constants (signature ids, code-pointer handles) 32; the
//            on-disk tag is 32 bits except for INTERNAL_REFERENCE_ENCODED,
//            whose tag is the whole 64-bit offset.
//   data64   an 8-byte little-endian value: INTERNAL_REFERENCE at pc, or a
//            constant-pool slot found through a pool load.
//   pool     ld rT,d(r28)                        displacement sext(d)
//   loads    addis rT,r28,h; ld rT,l(rT)         sext(h<<16) + sext(l)
//   branch   b (opcode 18, AA = LK = 0), jump-table near slots only:
//            LI = bits 25:2 of target - site, which must be 4-aligned and
//            fit int26.

#ifndef WASMCACHE_FAST_ENCODERS_PPC64_H_
#define WASMCACHE_FAST_ENCODERS_PPC64_H_

#include <array>
#include <cstdint>

#include "fast/encoders/reach.h"
#include "spec/word_domain.h"

namespace wasmcache::fast {

// Bits [insn_lsb, insn_lsb + width) of word `word` carry bits
// [value_lsb, value_lsb + width) of the value. The value is the sum of the
// fields' contributions, each zero- or sign-extended from its width before
// it is shifted into place: disjoint unsigned fields concatenate, and the
// addis/ld pair sums as the hardware computes its address.
struct Ppc64Field {
  uint8_t word;
  uint8_t insn_lsb;
  uint8_t width;  // 1..32
  uint8_t value_lsb;
  bool is_signed;
};

struct Ppc64Layout {
  uint8_t words;  // words the layout spans from the site
  uint8_t num_fields;
  std::array<Ppc64Field, 4> fields;
};

// Word i of a sequence must satisfy (word & mask) == match, with the RT
// field of word 0 (bits 25:21) also in this word's RT and RA fields (bits
// 25:21 and 20:16) when `rd_twice` is set.
struct Ppc64WordCheck {
  uint32_t mask;
  uint32_t match;
  bool rd_twice;
};

struct Ppc64Pattern {
  uint8_t words;
  std::array<Ppc64WordCheck, 5> checks;
};

// The values a form holds (fast/encoders/reach.h).
using Ppc64Reach = Reach;

struct Ppc64FormRow {
  const Ppc64Layout* layout;
  Ppc64Reach target;  // addresses in code space
  Ppc64Reach tag;     // tags on disk (absolute)
};

// --- The tables ------------------------------------------------------------

inline constexpr Ppc64Layout kPpc64MovLayout = {
    5, 4, {{{0, 0, 16, 48, false}, {1, 0, 16, 32, false},
            {3, 0, 16, 16, false}, {4, 0, 16, 0, false}}}};
inline constexpr Ppc64Layout kPpc64Data64Layout = {
    2, 2, {{{0, 0, 32, 0, false}, {1, 0, 32, 32, false}}}};
inline constexpr Ppc64Layout kPpc64LdDisplacement = {
    1, 1, {{{0, 0, 16, 0, true}}}};
inline constexpr Ppc64Layout kPpc64AddisLdDisplacement = {
    2, 2, {{{0, 0, 16, 16, true}, {1, 0, 16, 0, true}}}};
inline constexpr Ppc64Layout kPpc64BranchLayout = {
    1, 1, {{{0, 2, 24, 2, true}}}};

inline constexpr Ppc64Pattern kPpc64MovPattern = {
    5,
    {{{0xfc1f0000, 0x3c000000, false},    // lis rD, a (addis, RA = 0)
      {0xffff0000, 0x60000000, true},     // ori rD, rD, b
      {0xffffffff, 0x780007c6, true},     // rldicr rD, rD, 32, 31
      {0xffff0000, 0x64000000, true},     // oris rD, rD, c
      {0xffff0000, 0x60000000, true}}}};  // ori rD, rD, d
// DS-form ld (low bits 00) from the pool register r28.
inline constexpr Ppc64Pattern kPpc64LdPattern = {
    1, {{{0xfc1f0003, 0xe81c0000, false}}}};
inline constexpr Ppc64Pattern kPpc64AddisLdPattern = {
    2,
    {{{0xfc1f0000, 0x3c1c0000, false},    // addis rT, r28, h
      {0xffff0003, 0xe8000000, true}}}};  // ld rT, l(rT)
// `b` without AA and LK; the near slot's only instruction.
inline constexpr Ppc64Pattern kPpc64BPattern = {
    1, {{{0xfc000003, 0x48000000, false}}}};
inline constexpr uint32_t kPpc64B = 0x48000000;

inline constexpr Ppc64Reach kPpc64Any = {false, 0, 64};
inline constexpr Ppc64Reach kPpc64Low32 = {false, 0, 32};
inline constexpr Ppc64Reach kPpc64BranchReach = {true, 2, 26};

// Form ids index this table.
enum Ppc64Form : uint8_t {
  kPpc64MovAddress = 0,  // WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE
  kPpc64MovValue32,      // WASM_CANONICAL_SIG_ID, CODE_POINTER_TABLE_ENTRY
  kPpc64MovInternal,     // INTERNAL_REFERENCE_ENCODED
  kPpc64Data64,          // INTERNAL_REFERENCE at pc, or a pool slot
};
inline constexpr Ppc64FormRow kPpc64Forms[] = {
    {&kPpc64MovLayout, kPpc64Any, kPpc64Low32},
    {&kPpc64MovLayout, kPpc64Low32, kPpc64Low32},
    {&kPpc64MovLayout, kPpc64Any, kPpc64Any},
    {&kPpc64Data64Layout, kPpc64Any, kPpc64Any},
};

// --- The routines ----------------------------------------------------------

template <class D>
struct Ppc64Words {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  static constexpr uint32_t Mask(const Ppc64Field& f) {
    return static_cast<uint32_t>(((uint64_t{1} << f.width) - 1) << f.insn_lsb);
  }

  // The value words[0, layout.words) carry.
  static U64 Gather(const Ppc64Layout& layout, const U32* words) {
    U64 value = D::C64(0);
    for (int i = 0; i < layout.num_fields; ++i) {
      const Ppc64Field& f = layout.fields[i];
      U64 bits = D::ZExt64(
          D::LShr(D::And(words[f.word], D::C32(Mask(f))), f.insn_lsb));
      if (f.is_signed) bits = SignExtendLow<D>(bits, f.width);
      value = D::Add(value, D::Shl(bits, f.value_lsb));
    }
    return value;
  }

  // Puts the value's bits into the fields; other bits of the words stay.
  static void Scatter(const Ppc64Layout& layout, U32* words, U64 value) {
    for (int i = 0; i < layout.num_fields; ++i) {
      const Ppc64Field& f = layout.fields[i];
      const U32 bits = D::Shl(D::Trunc32(D::LShr(value, f.value_lsb)),
                              f.insn_lsb);
      words[f.word] = InsertField<D>(words[f.word], Mask(f), bits);
    }
  }

  static Bool Matches(const Ppc64Pattern& pattern, const U32* words) {
    const U32 rd = D::And(D::LShr(words[0], 21), D::C32(31));
    const U32 rd_twice = D::Or(D::Shl(rd, 21), D::Shl(rd, 16));
    Bool ok = D::True();
    for (int i = 0; i < pattern.words; ++i) {
      const Ppc64WordCheck& c = pattern.checks[i];
      const U32 want =
          c.rd_twice ? D::Or(D::C32(c.match), rd_twice) : D::C32(c.match);
      ok = D::BoolAnd(ok, D::Eq(D::And(words[i], D::C32(c.mask)), want));
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
  // in the words of `layout`, as the target operations apply them:
  // Fits decides, Write puts ToValue into the fields, Read takes FromValue
  // of them.
  static Bool Fits(const Reach& reach, U64 site, U64 target) {
    return ReachCodec<D>::Fits(reach, site, target);
  }
  static void Write(const Ppc64Layout& layout, const Reach& reach, U32* words,
                    U64 site, U64 target) {
    Scatter(layout, words, ToValue(reach, site, target));
  }
  static U64 Read(const Ppc64Layout& layout, const Reach& reach,
                  const U32* words, U64 site) {
    return FromValue(reach, site, Gather(layout, words));
  }
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_PPC64_H_
