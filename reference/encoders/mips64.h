// mips64 (little-endian, n64 ABI) relocation forms, as V8 13.6 emits and
// serializes them in wasm code.
//
// A form's "site" is the reloc entry's pc: the first instruction of a
// constant-loading sequence. Instructions are 32-bit little-endian words.
// Every reloc'd constant is loaded by a fixed-length `li` sequence whose
// 16-bit immediates are patched in place; the rest of each word (opcode,
// registers, shift amount) never changes.
//
// | form            | modes                         | value is in         |
// |-----------------|-------------------------------|---------------------|
// | Mips64LiAddress | WASM_CALL, WASM_STUB_CALL,    | imm16 of words 0, 1 |
// |                 | EXTERNAL_REFERENCE            | and 3 of lui/ori/   |
// |                 |                               | dsll/ori            |
// | MipsLuiOri      | WASM_CANONICAL_SIG_ID,        | imm16 of lui + ori  |
// |                 | WASM_CODE_POINTER_TABLE_ENTRY |                     |
// | (8-byte data)   | INTERNAL_REFERENCE            | 8 bytes at site     |
// | MipsJump26      | INTERNAL_REFERENCE_ENCODED    | instr_index of      |
// |                 | (not recorded by 13.6)        | j / jal             |
//
// On disk the tag is stored "as if it were an address": the sequence loads
// the tag zero-extended to 64 bits, and it is read back as the low 32 bits
// of the decoded value.

#ifndef WASMCACHE_REFERENCE_ENCODERS_MIPS64_H_
#define WASMCACHE_REFERENCE_ENCODERS_MIPS64_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::reference {

// Fields shared by the MIPS I-type words used in li sequences:
// opcode 31:26, rs 25:21, rt 20:16, imm16 15:0.
struct MipsWords {
  static constexpr uint32_t kImm16Mask = 0x0000ffff;
  static constexpr uint32_t kLui = 0x3c000000;           // opcode 0x0f, rs = 0
  static constexpr uint32_t kOri = 0x34000000;           // opcode 0x0d
  static constexpr uint32_t kLuiCheckMask = 0xffe00000;  // opcode and rs
  static constexpr uint32_t kOriCheckMask = 0xffff0000;  // opcode, rs, rt
  static constexpr uint32_t LuiWord(uint32_t rt) { return kLui | rt << 16; }
  static constexpr uint32_t OriWord(uint32_t rt) {
    return kOri | rt << 21 | rt << 16;
  }
  // dsll rt, rt, 16 (SPECIAL, rs = 0, rd = rt, sa = 16, funct 0x38).
  static constexpr uint32_t DsllWord(uint32_t rt) {
    return rt << 16 | rt << 11 | 16u << 6 | 0x38u;
  }
};

// li rt, imm (ADDRESS_LOAD and every reloc'd li): four words
//   lui rt, imm[47:32]; ori rt, rt, imm[31:16]; dsll rt, rt, 16;
//   ori rt, rt, imm[15:0]
// The machine computes sext32(imm[47:16]) << 16 | imm[15:0], i.e. the
// 48-bit value sign-extended from bit 47; V8's target_address_at reads
// it the same way.
//   Fixup:  lui.imm16 <- v[47:32]; ori1.imm16 <- v[31:16];
//           ori3.imm16 <- v[15:0]; dsll unchanged
//   Errors: v is not sign-extended from bit 47 (v[63:47] not all equal)
//   Decode: v = sext48(lui.imm16 << 32 | ori1.imm16 << 16 | ori3.imm16)
//   Tag:    v <- zext64(tag), error unless the tag fits uint32;
//           tag = (uint32) Decode
template <class D>
struct Mips64LiAddress {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kWords = 4;
  static constexpr uint32_t kFieldMask = MipsWords::kImm16Mask;

  static typename D::Bool InRange(U64 value) {
    return FitsSigned<D>(value, 48);
  }
  // Tags are 32-bit (V8 reads them back as (uint32_t)target_address()).
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U32 EncodeLui(U32 lui, U64 value) {
    return InsertField<D>(lui, kFieldMask, D::Trunc32(D::LShr(value, 32)));
  }
  static U32 EncodeOriMiddle(U32 ori, U64 value) {
    return InsertField<D>(ori, kFieldMask, D::Trunc32(D::LShr(value, 16)));
  }
  static U32 EncodeOriLow(U32 ori, U64 value) {
    return InsertField<D>(ori, kFieldMask, D::Trunc32(value));
  }
  static U64 Decode(U32 lui, U32 ori_middle, U32 ori_low) {
    const U64 high = D::ZExt64(D::And(lui, D::C32(kFieldMask)));
    const U64 middle = D::ZExt64(D::And(ori_middle, D::C32(kFieldMask)));
    const U64 low = D::ZExt64(D::And(ori_low, D::C32(kFieldMask)));
    const U64 raw = D::Or(D::Or(D::Shl(high, 32), D::Shl(middle, 16)), low);
    return SignExtendLow<D>(raw, 48);
  }
  static U32 DecodeTag(U32 lui, U32 ori_middle, U32 ori_low) {
    return D::Trunc32(Decode(lui, ori_middle, ori_low));
  }
};

// li rt, imm32 for WASM_CANONICAL_SIG_ID and WASM_CODE_POINTER_TABLE_ENTRY:
//   lui rt, v[31:16]; ori rt, rt, v[15:0]
// V8 reads it back as the unsigned 32-bit value (uint32_constant_at).
//   Fixup:  lui.imm16 <- v[31:16]; ori.imm16 <- v[15:0]
//   Errors: v > 0xffffffff
//   Decode: v = zext64(lui.imm16 << 16 | ori.imm16)
//   Tag:    same as the value (the same range: InRange)
template <class D>
struct MipsLuiOri {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kWords = 2;
  static constexpr uint32_t kFieldMask = MipsWords::kImm16Mask;

  static typename D::Bool InRange(U64 value) {
    return FitsUnsigned<D>(value, 32);
  }
  static U32 EncodeLui(U32 lui, U64 value) {
    return InsertField<D>(lui, kFieldMask, D::Trunc32(D::LShr(value, 16)));
  }
  static U32 EncodeOri(U32 ori, U64 value) {
    return InsertField<D>(ori, kFieldMask, D::Trunc32(value));
  }
  static U64 Decode(U32 lui, U32 ori) {
    const U32 high = D::And(lui, D::C32(kFieldMask));
    const U32 low = D::And(ori, D::C32(kFieldMask));
    return D::ZExt64(D::Or(D::Shl(high, 16), low));
  }
};

// 8-byte absolute value at the site (INTERNAL_REFERENCE; V8's
// deserialization_set_target_internal_reference_at writes it raw).
//   Fixup:  8 bytes <- value
//   Errors: none
//   Tag:    8 bytes <- tag (the offset from the instruction start)
template <class D>
struct Mips64Absolute64 {
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 8;
  static U64 Encode(U64 value) { return value; }
  static U64 Decode(U64 field) { return field; }
};

// j / jal: opcode 31:26 = 000010 / 000011, instr_index in bits 25:0. The
// jump goes to the 256 MB segment of the site with its low 28 bits
// replaced by instr_index * 4 (V8 13.6 takes the segment of the j itself,
// not of its delay slot; this form follows V8).
//   Fixup:  instr_index <- target[27:2]
//   Errors: target % 4 != 0, or target[63:28] != site[63:28]
//   Decode: target = site[63:28] << 28 | instr_index << 2
//   Tag:    none: V8 13.6 records no INTERNAL_REFERENCE_ENCODED on mips64
template <class D>
struct MipsJump26 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr uint32_t kFieldMask = 0x03ffffff;
  static constexpr uint32_t kOpcodeMask = 0xfc000000;
  static constexpr uint32_t kJ = 0x08000000;
  static constexpr uint32_t kJal = 0x0c000000;
  static constexpr uint64_t kSegmentMask = ~uint64_t{0x0fffffff};

  // j and jal differ only in opcode bit 26.
  static typename D::Bool IsJump(U32 insn) {
    return D::Eq(D::And(insn, D::C32(0xf8000000)), D::C32(kJ));
  }
  static typename D::Bool InRange(U64 site, U64 target) {
    return D::BoolAnd(LowBitsZero<D>(target, 2),
                      D::Eq(D::And(site, D::C64(kSegmentMask)),
                            D::And(target, D::C64(kSegmentMask))));
  }
  static U32 Encode(U32 insn, U64 target) {
    return InsertField<D>(insn, kFieldMask, D::Trunc32(D::LShr(target, 2)));
  }
  static U64 Decode(U32 insn, U64 site) {
    const U64 index = D::ZExt64(D::And(insn, D::C32(kFieldMask)));
    return D::Or(D::And(site, D::C64(kSegmentMask)), D::Shl(index, 2));
  }
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_MIPS64_H_
