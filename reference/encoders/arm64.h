// arm64 relocation forms, as V8 13.6 emits and serializes them in wasm code.
//
// A form's "site" is the reloc entry's pc: the address of an instruction.
// Instructions are 32-bit little-endian words.
//
// | form               | modes                          | where the value is |
// |--------------------|--------------------------------|--------------------|
// | Arm64BranchImm26   | WASM_CALL, WASM_STUB_CALL      | imm26 of b / bl    |
// | Arm64LdrLiteral    | EXTERNAL_REFERENCE (ldr x),    | pool slot at       |
// |                    | WASM_CANONICAL_SIG_ID and      | site + imm19 * 4   |
// |                    | WASM_CODE_POINTER_TABLE_ENTRY  | (8 bytes for x,    |
// |                    | (ldr w); WASM_CALL via ldr x   |  4 bytes for w)    |
// | Arm64Absolute64    | INTERNAL_REFERENCE; the slot   | 8 bytes at site    |
// |                    | of an ldr x                    |                    |
// | Arm64Absolute32    | the slot of an ldr w           | 4 bytes at site    |
//
// On disk a branch's imm26 holds the tag (function index or builtin id),
// written by V8 with checked_truncate_to_int26, so a tag must fit int26;
// a pool slot holds the tag zero-extended to the slot width.

#ifndef WASMCACHE_REFERENCE_ENCODERS_ARM64_H_
#define WASMCACHE_REFERENCE_ENCODERS_ARM64_H_

#include <cstdint>

#include "reference/encoders/absolute32.h"
#include "spec/word_domain.h"

namespace wasmcache::reference {

// b / bl: opcode bits 30:26 = 00101, imm26 in bits 25:0.
//   Fixup:  imm26 <- (target - site) >> 2 : int26
//   Errors: (target - site) % 4 != 0, or target - site does not fit int28
//   Decode: target = site + sext(imm26) * 4
//   Tag:    imm26 <- tag : int26 (error unless the tag is a uint32 that,
//           read as an int32, fits int26)
template <class D>
struct Arm64BranchImm26 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr uint32_t kFieldMask = 0x03ffffff;
  static constexpr uint32_t kOpcodeMask = 0x7c000000;
  static constexpr uint32_t kOpcode = 0x14000000;  // b; bl has bit 31 set

  static typename D::Bool IsBranch(U32 insn) {
    return D::Eq(D::And(insn, D::C32(kOpcodeMask)), D::C32(kOpcode));
  }
  static typename D::Bool InRange(U64 site, U64 target) {
    const U64 delta = D::Sub(target, site);
    return D::BoolAnd(LowBitsZero<D>(delta, 2), FitsSigned<D>(delta, 28));
  }
  static U32 Encode(U32 insn, U64 site, U64 target) {
    const U64 delta = D::Sub(target, site);
    return InsertField<D>(insn, kFieldMask, D::Trunc32(D::AShr(delta, 2)));
  }
  static U64 Decode(U32 insn, U64 site) {
    const U64 imm26 = D::ZExt64(D::And(insn, D::C32(kFieldMask)));
    return D::Add(site, D::Shl(SignExtendLow<D>(imm26, 26), 2));
  }
  // Tags are 32-bit; V8 truncates the int32 to int26 with a check.
  static typename D::Bool TagInRange(U64 tag) {
    return D::BoolAnd(FitsUnsigned<D>(tag, 32),
                      FitsSigned<D>(D::SExt64(D::Trunc32(tag)), 26));
  }
  static U32 EncodeTag(U32 insn, U32 tag) {
    return InsertField<D>(insn, kFieldMask, tag);
  }
  // V8 reads a tag back as ImmPCOffset() / 4, i.e. sign-extended imm26.
  static U32 DecodeTag(U32 insn) {
    const U64 imm26 = D::ZExt64(D::And(insn, D::C32(kFieldMask)));
    return D::Trunc32(SignExtendLow<D>(imm26, 26));
  }
};

// ldr xN / wN, literal: imm19 in bits 23:5; the slot is at site + imm19 * 4.
// The instruction itself is never patched; its slot is (Arm64Absolute64
// for ldr x, Arm64Absolute32 for ldr w).
//   Slot:   slot = site + sext(imm19) * 4
template <class D>
struct Arm64LdrLiteral {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr uint32_t kOpcodeMask = 0xff000000;
  static constexpr uint32_t kLdrX = 0x58000000;
  static constexpr uint32_t kLdrW = 0x18000000;
  static constexpr uint32_t kImm19Mask = 0x00ffffe0;

  static typename D::Bool IsLdrX(U32 insn) {
    return D::Eq(D::And(insn, D::C32(kOpcodeMask)), D::C32(kLdrX));
  }
  static typename D::Bool IsLdrW(U32 insn) {
    return D::Eq(D::And(insn, D::C32(kOpcodeMask)), D::C32(kLdrW));
  }
  static U64 SlotAddress(U32 insn, U64 site) {
    const U64 imm19 = D::ZExt64(D::LShr(D::And(insn, D::C32(kImm19Mask)), 5));
    return D::Add(site, D::Shl(SignExtendLow<D>(imm19, 19), 2));
  }
};

// 8-byte absolute value at the site: an internal reference, the pool slot
// of an ldr x literal, a far jump slot's target.
//   Fixup:  8 bytes <- value
//   Errors: none
//   Tag:    8 bytes <- tag (any 64-bit tag)
template <class D>
struct Arm64Absolute64 {
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 8;
  static U64 Encode(U64 value) { return value; }
  static U64 Decode(U64 field) { return field; }
  static typename D::Bool TagInRange(U64) { return D::True(); }
  static U64 EncodeTag(U64 tag) { return tag; }
  static U64 DecodeTag(U64 field) { return field; }
};

// 4-byte value at the site: the pool slot of an ldr w literal, a 32-bit id
// (reference/encoders/absolute32.h has the fixup expressions).
template <class D>
using Arm64Absolute32 = Absolute32<D>;

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_ARM64_H_
