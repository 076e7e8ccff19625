// ppc64 (little-endian, ppc64le) relocation forms, as V8 13.6 emits and
// serializes them in wasm code.
//
// A form's "site" is the reloc entry's pc: the address of the first
// instruction of the form. Instructions are 32-bit little-endian words.
//
// | form          | modes                              | where the value is  |
// |---------------|------------------------------------|---------------------|
// | Ppc64Mov      | WASM_CALL, WASM_STUB_CALL,         | imm16 of words 0, 1,|
// |               | EXTERNAL_REFERENCE,                | 3, 4 of the fixed   |
// |               | WASM_CANONICAL_SIG_ID,             | lis/ori/sldi/oris/  |
// |               | WASM_CODE_POINTER_TABLE_ENTRY,     | ori sequence        |
// |               | INTERNAL_REFERENCE_ENCODED         |                     |
// | Ppc64PoolLoad | the same modes except _ENCODED,    | 8-byte slot of the  |
// |               | in code that has its constant-pool | embedded constant   |
// |               | register set up (TurboFan frames)  | pool                |
// | Absolute64    | INTERNAL_REFERENCE                 | 8 bytes at the site |
// | Ppc64Branch26 | (jump-table near slots only)       | LI field of `b`     |
//
// On disk every Ppc64Mov site holds its tag as if it were a 64-bit address
// (zero-extended), and a tag is read back as the low 32 bits of the decoded
// value; an INTERNAL_REFERENCE_ENCODED site holds the whole 64-bit offset
// from the instruction start.

#ifndef WASMCACHE_REFERENCE_ENCODERS_PPC64_H_
#define WASMCACHE_REFERENCE_ENCODERS_PPC64_H_

#include <cstdint>
#include <initializer_list>

#include "spec/word_domain.h"

namespace wasmcache::reference {

// Fixed 5-instruction constant load of register rD (any GPR):
//   word 0  lis   rD, imm       (addis rD, 0, imm)    bits 63:48
//   word 1  ori   rD, rD, imm                         bits 47:32
//   word 2  sldi  rD, rD, 32    (rldicr rD,rD,32,31)  (no field)
//   word 3  oris  rD, rD, imm                         bits 31:16
//   word 4  ori   rD, rD, imm                         bits 15:0
//   Fixup:  imm16 of word k <- (value >> kShift[k]) & 0xffff, k in {0,1,3,4}
//   Errors: none for addresses (64 bits); for 32-bit constants (sig ids,
//           code-pointer handles) value > 0xffffffff
//   Decode: value = imm0 << 48 | imm1 << 32 | imm3 << 16 | imm4
//   Tag:    Fixup with value = zext(tag) (canonical: words 0 and 1 hold 0);
//           error unless the tag fits uint32; read back as Trunc32(Decode)
//           (V8 ignores bits 63:32). INTERNAL_REFERENCE_ENCODED excepted:
//           its tag is the whole 64-bit offset, written and read as a value.
template <class D>
struct Ppc64Mov {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kWords = 5;
  static constexpr int kSize = 20;
  static constexpr uint32_t kImmMask = 0x0000ffff;

  // Bit position of each word's imm16 within the value (-1: no field).
  static constexpr int Shift(int word) {
    return word == 0   ? 48
           : word == 1 ? 32
           : word == 3 ? 16
           : word == 4 ? 0
                       : -1;
  }

  static U32 Register(U32 word0) {
    return D::And(D::LShr(word0, 21), D::C32(31));
  }
  // The five words form the sequence for one register rD.
  static typename D::Bool IsSequence(U32 w0, U32 w1, U32 w2, U32 w3, U32 w4) {
    const U32 rd = Register(w0);
    const U32 rs_ra = D::Or(D::Shl(rd, 21), D::Shl(rd, 16));
    const U32 hi = D::C32(0xffff0000);
    const typename D::Bool lis_ok =  // opcode 15, RA = 0
        D::Eq(D::And(w0, D::C32(0xfc1f0000)), D::C32(0x3c000000));
    const typename D::Bool ori1_ok =
        D::Eq(D::And(w1, hi), D::Or(D::C32(0x60000000), rs_ra));
    const typename D::Bool sldi_ok =
        D::Eq(w2, D::Or(D::C32(0x780007c6), rs_ra));
    const typename D::Bool oris_ok =
        D::Eq(D::And(w3, hi), D::Or(D::C32(0x64000000), rs_ra));
    const typename D::Bool ori4_ok =
        D::Eq(D::And(w4, hi), D::Or(D::C32(0x60000000), rs_ra));
    return D::BoolAnd(D::BoolAnd(lis_ok, ori1_ok),
                      D::BoolAnd(sldi_ok, D::BoolAnd(oris_ok, ori4_ok)));
  }
  static typename D::Bool FitsValue32(U64 value) {
    return FitsUnsigned<D>(value, 32);
  }
  // Tags of the address and 32-bit-constant sites are 32-bit.
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  // Word `word` (0, 1, 3 or 4) with its imm16 replaced by the value's bits.
  static U32 EncodeWord(U32 insn, int word, U64 value) {
    return InsertField<D>(insn, kImmMask,
                          D::Trunc32(D::LShr(value, Shift(word))));
  }
  // The five words `w` of a sequence take the value (or zero-extended tag)
  // in words 0, 1, 3 and 4; word 2 (sldi) has no field.
  static void Encode(U32* w, U64 value) {
    w[0] = EncodeWord(w[0], 0, value);
    w[1] = EncodeWord(w[1], 1, value);
    w[3] = EncodeWord(w[3], 3, value);
    w[4] = EncodeWord(w[4], 4, value);
  }
  static U64 Decode(U32 w0, U32 w1, U32 w3, U32 w4) {
    auto field = [](U32 w, int shift) {
      return D::Shl(D::ZExt64(D::And(w, D::C32(kImmMask))), shift);
    };
    return D::Or(D::Or(field(w0, 48), field(w1, 32)),
                 D::Or(field(w3, 16), field(w4, 0)));
  }
  static U32 DecodeTag(U32 w0, U32 w1, U32 w3, U32 w4) {
    return D::Trunc32(Decode(w0, w1, w3, w4));
  }
  // A 32-bit constant reads back as the low 32 bits, as V8's
  // uint32_constant_at does.
  static U64 DecodeValue32(U32 w0, U32 w1, U32 w3, U32 w4) {
    return D::ZExt64(DecodeTag(w0, w1, w3, w4));
  }
};

// Load from the embedded constant pool (pool register r28), site = the
// first instruction:
//   regular     ld    rT, d(r28)              offset = sext(d)
//   overflowed  addis rT, r28, hi ; ld rT, lo(rT)
//                                             offset = sext(hi << 16) +
//                                                      sext(lo)
// The 8-byte slot is at pool_start + offset, where pool_start is the code's
// constant_pool_offset (code header). The instructions are never patched;
// the slot is.
//   Slot fixup: 8 bytes <- value (little-endian); errors: none (32-bit
//               constants: value > 0xffffffff)
//   Tag:        8 bytes <- zext(tag); read back as the low 32 bits
template <class D>
struct Ppc64PoolLoad {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr uint32_t kPoolRegister = 28;

  // ld rT, d(r28) with the DS-form low bits 00 (ld, not ldu/lwa).
  static typename D::Bool IsRegularLoad(U32 w0) {
    return D::Eq(D::And(w0, D::C32(0xfc1f0003)),
                 D::C32(0xe8000000 | (kPoolRegister << 16)));
  }
  // addis rT, r28, hi followed by ld rT, lo(rT).
  static typename D::Bool IsOverflowedLoad(U32 w0, U32 w1) {
    const U32 rt = D::And(D::LShr(w0, 21), D::C32(31));
    const U32 addis_ok = D::Eq(D::And(w0, D::C32(0xfc1f0000)),
                               D::C32(0x3c000000 | (kPoolRegister << 16)));
    const U32 ld_expected =
        D::Or(D::C32(0xe8000000), D::Or(D::Shl(rt, 21), D::Shl(rt, 16)));
    return D::BoolAnd(addis_ok,
                      D::Eq(D::And(w1, D::C32(0xffff0003)), ld_expected));
  }
  static U64 RegularOffset(U32 w0) {
    return SignExtendLow<D>(D::ZExt64(D::And(w0, D::C32(0xffff))), 16);
  }
  // What the hardware computes: sext(hi << 16) + sext(lo) in 64 bits. V8's
  // GetConstantPoolOffset does the same sum in a 32-bit int, which agrees
  // whenever the sum fits int32 (pool offsets are small and positive).
  static U64 OverflowedOffset(U32 w0, U32 w1) {
    const U64 hi = D::SExt64(D::Shl(D::And(w0, D::C32(0xffff)), 16));
    const U64 lo = SignExtendLow<D>(D::ZExt64(D::And(w1, D::C32(0xffff))), 16);
    return D::Add(hi, lo);
  }
};

// 8-byte absolute value (INTERNAL_REFERENCE at the site, or a pool slot),
// little-endian; value and tag alike.
//   Fixup:  8 bytes <- value
//   Errors: none
template <class D>
struct Ppc64Data64 {
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 8;
  static U64 Encode(U64 value) { return value; }
  static U64 Decode(U64 field) { return field; }
};

// b / bl (I-form, opcode 18): LI in bits 25:2, AA bit 1, LK bit 0.
//   Fixup:  LI <- (target - site) >> 2
//   Errors: (target - site) % 4 != 0, or target - site does not fit int26
//   Decode: target = site + sext26(insn & 0x03fffffc)
template <class D>
struct Ppc64Branch26 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr uint32_t kFieldMask = 0x03fffffc;
  static constexpr uint32_t kB = 0x48000000;

  // `b` without AA (relative); LK may be set.
  static typename D::Bool IsRelativeBranch(U32 insn) {
    return D::Eq(D::And(insn, D::C32(0xfc000002)), D::C32(kB));
  }
  // A jump-table near slot: `b` without AA and LK.
  static typename D::Bool IsNearSlotBranch(U32 insn) {
    return D::Eq(D::And(insn, D::C32(0xfc000003)), D::C32(kB));
  }
  static typename D::Bool InRange(U64 site, U64 target) {
    const U64 delta = D::Sub(target, site);
    return D::BoolAnd(LowBitsZero<D>(delta, 2), FitsSigned<D>(delta, 26));
  }
  static U32 Encode(U32 insn, U64 site, U64 target) {
    return InsertField<D>(insn, kFieldMask, D::Trunc32(D::Sub(target, site)));
  }
  static U64 Decode(U32 insn, U64 site) {
    const U64 li = D::ZExt64(D::And(insn, D::C32(kFieldMask)));
    return D::Add(site, SignExtendLow<D>(li, 26));
  }
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_PPC64_H_
