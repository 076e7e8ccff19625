// s390x relocation forms, as V8 13.6 emits and serializes them in wasm code.
//
// s390x is big-endian; instructions are streams of big-endian halfwords
// (2, 4 or 6 bytes). A form's "site" is the reloc entry's pc: the address of
// the first instruction of the form. The forms below are 6-byte RIL
// instructions: byte 0 opcode, byte 1 R1 (bits 7:4) and opcode extension
// (bits 3:0), bytes 2..5 the 32-bit immediate.
//
// | form             | modes                           | where the value is |
// |------------------|---------------------------------|--------------------|
// | S390xIihfIilf    | WASM_CALL, WASM_STUB_CALL,      | imm32 of iihf (bits|
// |                  | EXTERNAL_REFERENCE,             | 63:32) and of the  |
// |                  | WASM_CANONICAL_SIG_ID,          | iilf right after it|
// |                  | WASM_CODE_POINTER_TABLE_ENTRY   | (bits 31:0)        |
// | Absolute64       | INTERNAL_REFERENCE              | 8 bytes at the site|
// |                  |                                 | (big-endian)       |
// | S390xRelative32  | (jump-table near slots only;    | imm32 of brcl /    |
// |                  | see below)                      | brasl, halfwords   |
//
// On disk an iihf/iilf site holds its tag as if it were a 64-bit address
// (iihf imm = 0, iilf imm = tag); V8 reads a tag back as the low 32 bits,
// i.e. the iilf immediate.
//
// V8's patcher also accepts brasl/brcl at a WASM_CALL site, but V8 13.6 never
// emits them for a serializer-patched mode in wasm code (MacroAssembler::Call
// and Jump with an Address always go through mov = iihf + iilf); its tag
// read-back through brasl would be pc-dependent. wasmcache rejects them there.

#ifndef WASMCACHE_REFERENCE_ENCODERS_S390X_H_
#define WASMCACHE_REFERENCE_ENCODERS_S390X_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::reference {

// iihf r1, imm32 (C0 r1|8 imm32) ; iilf r1, imm32 (C0 r1|9 imm32), the same
// register. The value's bytes are at site+2..5 (high) and site+8..11 (low).
//   Fixup:  high imm32 <- value >> 32, low imm32 <- value & 0xffffffff
//   Errors: none for addresses; for 32-bit constants (sig ids, code-pointer
//           handles) value > 0xffffffff
//   Decode: value = high << 32 | low
//   Tag:    Fixup with value = zext(tag), so high <- 0 and low <- tag
//           (canonical); error unless the tag fits uint32; read back as low
template <class D>
struct S390xIihfIilf {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kSize = 12;
  static constexpr int kHighOffset = 2;            // imm32 of iihf
  static constexpr int kLowOffset = 8;             // imm32 of iilf
  static constexpr uint32_t kOpcodeIihf = 0xc008;  // with R1 = 0
  static constexpr uint32_t kOpcodeIilf = 0xc009;

  // `head0`, `head1`: the first halfword of each instruction.
  static typename D::Bool IsSequence(U32 head0, U32 head1) {
    const U32 r1 = D::And(head0, D::C32(0x00f0));
    return D::BoolAnd(D::Eq(D::And(head0, D::C32(0xff0f)), D::C32(kOpcodeIihf)),
                      D::Eq(head1, D::Or(D::C32(kOpcodeIilf), r1)));
  }
  static typename D::Bool FitsValue32(U64 value) {
    return FitsUnsigned<D>(value, 32);
  }
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U32 EncodeHigh(U64 value) { return D::Trunc32(D::LShr(value, 32)); }
  static U32 EncodeLow(U64 value) { return D::Trunc32(value); }
  static U64 Decode(U32 high, U32 low) {
    return D::Or(D::Shl(D::ZExt64(high), 32), D::ZExt64(low));
  }
  // A 32-bit constant reads back as the low 32 bits, as V8's
  // uint32_constant_at does.
  static U64 DecodeValue32(U32, U32 low) { return D::ZExt64(low); }
  // A tag is written as if it were an address (V8's generic path): an
  // admitted tag leaves iihf 0.
  static U32 EncodeTagHigh(U64 tag) { return EncodeHigh(tag); }
  static U32 EncodeTagLow(U64 tag) { return EncodeLow(tag); }
  static U32 DecodeTag(U32, U32 low) { return low; }
};

// 8-byte absolute value at the site (INTERNAL_REFERENCE), big-endian;
// value and tag alike.
//   Fixup:  8 bytes <- value
//   Errors: none
template <class D>
struct S390xData64 {
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 8;
  static U64 Encode(U64 value) { return value; }
  static U64 Decode(U64 field) { return field; }
};

// brcl m, imm32 (C0 m|4) and brasl r1, imm32 (C0 r1|5): pc-relative, the
// immediate counts halfwords from the instruction itself (at site+2..5).
//   Fixup:  imm32 <- (target - site) / 2
//   Errors: (target - site) odd, or (target - site) / 2 does not fit int32
//           (reach [-4 GiB, +4 GiB - 2])
//   Decode: target = site + sext(imm32) * 2
template <class D>
struct S390xRelative32 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kFieldOffset = 2;

  static typename D::Bool IsBrcl(U32 head) {
    return D::Eq(D::And(head, D::C32(0xff0f)), D::C32(0xc004));
  }
  static typename D::Bool IsBrasl(U32 head) {
    return D::Eq(D::And(head, D::C32(0xff0f)), D::C32(0xc005));
  }
  static typename D::Bool InRange(U64 site, U64 target) {
    const U64 delta = D::Sub(target, site);
    return D::BoolAnd(LowBitsZero<D>(delta, 1), FitsSigned<D>(delta, 33));
  }
  static U32 Encode(U64 site, U64 target) {
    return D::Trunc32(D::AShr(D::Sub(target, site), 1));
  }
  static U64 Decode(U32 imm32, U64 site) {
    return D::Add(site, D::Shl(D::SExt64(imm32), 1));
  }
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_S390X_H_
