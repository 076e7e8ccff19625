// loong64 (LoongArch64) relocation forms, as V8 13.6 emits and serializes
// them in wasm code.
//
// A form's "site" is the reloc entry's pc: the first instruction of a
// constant-loading sequence. Instructions are 32-bit little-endian words.
// Reloc'd constants are loaded by fixed-length `li` sequences whose
// immediates are patched in place; opcodes and registers never change.
//
// | form            | modes                         | value is in         |
// |-----------------|-------------------------------|---------------------|
// | Loong64Li       | WASM_CALL, WASM_STUB_CALL,    | si20 of lu12i.w,    |
// |                 | EXTERNAL_REFERENCE            | ui12 of ori, si20   |
// |                 |                               | of lu32i.d          |
// | Loong64Lu12iOri | WASM_CANONICAL_SIG_ID,        | si20 of lu12i.w,    |
// |                 | WASM_CODE_POINTER_TABLE_ENTRY | ui12 of ori         |
// | (8-byte data)   | INTERNAL_REFERENCE            | 8 bytes at site     |
// | Loong64Branch26 | jump-table slots only (wasm   | offs26 of b / bl    |
// |                 | sites never use b/bl in 13.6) |                     |
//
// On disk the tag is stored "as if it were an address": the sequence loads
// the tag zero-extended to 64 bits, and it is read back as the low 32 bits
// of the decoded value.

#ifndef WASMCACHE_REFERENCE_ENCODERS_LOONG64_H_
#define WASMCACHE_REFERENCE_ENCODERS_LOONG64_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::reference {

// Words of the li sequences. rd is bits 4:0 everywhere, rj bits 9:5.
struct Loong64Words {
  // lu12i.w rd, si20 and lu32i.d rd, si20: opcode 31:25, si20 24:5.
  static constexpr uint32_t kSi20Mask = 0x01ffffe0;
  static constexpr uint32_t kOpcode7Mask = 0xfe000000;
  static constexpr uint32_t kLu12iW = 0x14000000;
  static constexpr uint32_t kLu32iD = 0x16000000;
  // ori rd, rj, ui12: opcode 31:22, ui12 21:10.
  static constexpr uint32_t kUi12Mask = 0x003ffc00;
  static constexpr uint32_t kOpcode10Mask = 0xffc00000;
  static constexpr uint32_t kOri = 0x03800000;
  static constexpr uint32_t kRegMask = 0x1f;

  static constexpr uint32_t Lu12iWord(uint32_t rd) { return kLu12iW | rd; }
  static constexpr uint32_t Lu32iWord(uint32_t rd) { return kLu32iD | rd; }
  static constexpr uint32_t OriWord(uint32_t rd) { return kOri | rd << 5 | rd; }
};

// li rd, imm (ADDRESS_LOAD and every reloc'd li but the 32-bit ones):
//   lu12i.w rd, v[31:12]; ori rd, rd, v[11:0]; lu32i.d rd, v[51:32]
// V8's target_address_at reads bits 47:0 and sign-extends from bit 47
// (bits 51:48 of lu32i.d's si20 are ignored on read); for a value that
// fits, the machine loads the same 64 bits.
//   Fixup:  lu12i.si20 <- v[31:12]; ori.ui12 <- v[11:0];
//           lu32i.si20 <- v[51:32]
//   Errors: v is not sign-extended from bit 47 (v[63:47] not all equal)
//   Decode: v = sext48(lu32i.si20 << 32 | lu12i.si20 << 12 | ori.ui12)
//   Tag:    v <- zext64(tag), error unless the tag fits uint32;
//           tag = (uint32) Decode
template <class D>
struct Loong64Li {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kWords = 3;

  static typename D::Bool InRange(U64 value) {
    return FitsSigned<D>(value, 48);
  }
  // Tags are 32-bit (V8 reads them back as (uint32_t)target_address()).
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U32 EncodeLu12i(U32 lu12i, U64 value) {
    return InsertField<D>(lu12i, Loong64Words::kSi20Mask,
                          D::Shl(D::Trunc32(D::LShr(value, 12)), 5));
  }
  static U32 EncodeOri(U32 ori, U64 value) {
    return InsertField<D>(ori, Loong64Words::kUi12Mask,
                          D::Shl(D::Trunc32(value), 10));
  }
  static U32 EncodeLu32i(U32 lu32i, U64 value) {
    return InsertField<D>(lu32i, Loong64Words::kSi20Mask,
                          D::Shl(D::Trunc32(D::LShr(value, 32)), 5));
  }
  static U64 Decode(U32 lu12i, U32 ori, U32 lu32i) {
    const U64 high =
        D::ZExt64(D::LShr(D::And(lu32i, D::C32(Loong64Words::kSi20Mask)), 5));
    const U64 middle =
        D::ZExt64(D::LShr(D::And(lu12i, D::C32(Loong64Words::kSi20Mask)), 5));
    const U64 low =
        D::ZExt64(D::LShr(D::And(ori, D::C32(Loong64Words::kUi12Mask)), 10));
    const U64 raw = D::Or(D::Or(D::Shl(high, 32), D::Shl(middle, 12)), low);
    return SignExtendLow<D>(raw, 48);
  }
  static U32 DecodeTag(U32 lu12i, U32 ori, U32 lu32i) {
    return D::Trunc32(Decode(lu12i, ori, lu32i));
  }
};

// li rd, imm32 for WASM_CANONICAL_SIG_ID and WASM_CODE_POINTER_TABLE_ENTRY:
//   lu12i.w rd, v[31:12]; ori rd, rd, v[11:0]
// V8 reads it back as the unsigned 32-bit value (uint32_constant_at).
//   Fixup:  lu12i.si20 <- v[31:12]; ori.ui12 <- v[11:0]
//   Errors: v > 0xffffffff
//   Decode: v = zext64(lu12i.si20 << 12 | ori.ui12)
//   Tag:    same as the value (the same range: InRange)
template <class D>
struct Loong64Lu12iOri {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kWords = 2;

  static typename D::Bool InRange(U64 value) {
    return FitsUnsigned<D>(value, 32);
  }
  static U32 EncodeLu12i(U32 lu12i, U64 value) {
    return Loong64Li<D>::EncodeLu12i(lu12i, value);
  }
  static U32 EncodeOri(U32 ori, U64 value) {
    return Loong64Li<D>::EncodeOri(ori, value);
  }
  static U64 Decode(U32 lu12i, U32 ori) {
    const U32 high = D::LShr(D::And(lu12i, D::C32(Loong64Words::kSi20Mask)), 5);
    const U32 low = D::LShr(D::And(ori, D::C32(Loong64Words::kUi12Mask)), 10);
    return D::ZExt64(D::Or(D::Shl(high, 12), low));
  }
};

// 8-byte absolute value at the site (INTERNAL_REFERENCE; V8's
// deserialization_set_target_internal_reference_at writes it raw).
//   Fixup:  8 bytes <- value
//   Errors: none
//   Tag:    8 bytes <- tag (the offset from the instruction start)
template <class D>
struct Loong64Absolute64 {
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 8;
  static U64 Encode(U64 value) { return value; }
  static U64 Decode(U64 field) { return field; }
};

// b / bl offs26: opcode 31:26 = 010100 / 010101; offs[15:0] in bits 25:10,
// offs[25:16] in bits 9:0; the jump goes to site + sext(offs) * 4.
//   Fixup:  offs <- (target - site) >> 2 : int26
//   Errors: (target - site) % 4 != 0, or target - site does not fit int28
//   Decode: target = site + sext26(offs) * 4
//   Tag:    none: V8 13.6 wasm sites never use b/bl (only jump-table slots)
template <class D>
struct Loong64Branch26 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr uint32_t kFieldMask = 0x03ffffff;
  static constexpr uint32_t kB = 0x50000000;
  static constexpr uint32_t kBl = 0x54000000;

  // b and bl differ only in opcode bit 26.
  static typename D::Bool IsBranch(U32 insn) {
    return D::Eq(D::And(insn, D::C32(0xf8000000)), D::C32(kB));
  }
  static typename D::Bool InRange(U64 site, U64 target) {
    const U64 delta = D::Sub(target, site);
    return D::BoolAnd(LowBitsZero<D>(delta, 2), FitsSigned<D>(delta, 28));
  }
  static U32 Encode(U32 insn, U64 site, U64 target) {
    const U32 offs = D::Trunc32(D::AShr(D::Sub(target, site), 2));
    const U32 field = D::Or(D::Shl(D::And(offs, D::C32(0xffff)), 10),
                            D::And(D::LShr(offs, 16), D::C32(0x3ff)));
    return InsertField<D>(insn, kFieldMask, field);
  }
  static U64 Decode(U32 insn, U64 site) {
    const U32 low16 = D::And(D::LShr(insn, 10), D::C32(0xffff));
    const U32 high10 = D::And(insn, D::C32(0x3ff));
    const U64 offs = D::ZExt64(D::Or(D::Shl(high10, 16), low16));
    return D::Add(site, D::Shl(SignExtendLow<D>(offs, 26), 2));
  }
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_LOONG64_H_
