// arm (32-bit, A32 instruction set) relocation forms, as V8 13.6 emits and
// serializes them in wasm code.
//
// A form's "site" is the reloc entry's pc: the address of an instruction.
// Instructions are 32-bit little-endian words; addresses are 32 bits.
//
// Every serializer-patched value is loaded from the constant pool: V8 asks
// for a pool entry whenever an immediate carries reloc info (movw/movt is
// only used for values without it), so the instruction at the site is
// `ldr rd, [pc, #+/-imm12]` and the value lives in the 4-byte pool word it
// loads. Calls and tail calls follow with `blx ip` or load straight into
// pc; `bl imm24` never carries a wasm mode.
//
// | form           | modes                          | where the value is   |
// |----------------|--------------------------------|----------------------|
// | ArmLdrPcImm12  | WASM_CALL, WASM_STUB_CALL,     | (finds the word)     |
// |                | EXTERNAL_REFERENCE,            | site + 8 +/- imm12   |
// |                | WASM_CANONICAL_SIG_ID,         |                      |
// |                | WASM_CODE_POINTER_TABLE_ENTRY  |                      |
// | ArmWord32      | the pool word of each of them  | 4 bytes in the pool  |
//
// On disk the pool word holds the tag (V8's generic path stores the tag as
// if it were an address and reads it back as a 32-bit value).

#ifndef WASMCACHE_REFERENCE_ENCODERS_ARM_H_
#define WASMCACHE_REFERENCE_ENCODERS_ARM_H_

#include <cstdint>

#include "reference/encoders/absolute32.h"
#include "spec/word_domain.h"

namespace wasmcache::reference {

// ldr rd, [pc, #+/-imm12]: cond | 0101 U001 | 1111 | rd | imm12
// (P = 1, B = 0, W = 0, L = 1, Rn = pc). pc reads as the instruction's
// address + 8. The instruction itself is never patched by relocation; its
// pool word is.
//   Slot:   slot = site + 8 + (U ? imm12 : -imm12)
//   Fixup (of the offset, when building code):
//           U:imm12 <- slot - (site + 8), as sign and magnitude
//   Errors: |slot - (site + 8)| > 4095
//   Decode: slot = site + 8 +/- imm12
template <class D>
struct ArmLdrPcImm12 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  // Opcode bits (27:16 without U, bit 23) of a pc-relative immediate ldr;
  // the condition (31:28), rd (15:12), U and imm12 are free.
  static constexpr uint32_t kOpcodeMask = 0x0f7f0000;
  static constexpr uint32_t kOpcode = 0x051f0000;
  static constexpr uint32_t kCondMask = 0xf0000000;
  // Condition 1111 is the unconditional space (pld), not a load.
  static constexpr uint32_t kCondUnconditional = 0xf0000000;
  static constexpr uint32_t kUBit = 0x00800000;
  static constexpr uint32_t kImm12Mask = 0x00000fff;
  static constexpr uint32_t kFieldMask = kUBit | kImm12Mask;
  static constexpr int kPcReadAhead = 8;
  static constexpr int kMaxOffset = 4095;

  static typename D::Bool IsLdrPcImmediate(U32 insn) {
    return D::BoolAnd(
        D::Eq(D::And(insn, D::C32(kOpcodeMask)), D::C32(kOpcode)),
        D::Ult(D::ZExt64(D::And(insn, D::C32(kCondMask))),
               D::C64(kCondUnconditional)));
  }
  static U64 SlotAddress(U32 insn, U64 site) {
    const U64 imm12 = D::ZExt64(D::And(insn, D::C32(kImm12Mask)));
    const U64 base = D::Add(site, D::C64(kPcReadAhead));
    return D::Select(D::Eq(D::And(insn, D::C32(kUBit)), D::C32(0)),
                     D::Sub(base, imm12), D::Add(base, imm12));
  }
  static U64 Delta(U64 site, U64 slot) {
    return D::Sub(slot, D::Add(site, D::C64(kPcReadAhead)));
  }
  // -4095 <= delta <= 4095, i.e. delta + 4095 < 8191 unsigned.
  static typename D::Bool InRange(U64 site, U64 slot) {
    return D::Ult(D::Add(Delta(site, slot), D::C64(kMaxOffset)),
                  D::C64(2 * kMaxOffset + 1));
  }
  static U32 Encode(U32 insn, U64 site, U64 slot) {
    const U64 delta = Delta(site, slot);
    const typename D::Bool up = D::Eq(D::LShr(delta, 63), D::C64(0));
    const U64 magnitude = D::Select(up, delta, D::Sub(D::C64(0), delta));
    const U32 field = D::Or(D::Select(up, D::C32(kUBit), D::C32(0)),
                            D::Trunc32(magnitude));
    return InsertField<D>(insn, kFieldMask, field);
  }
};

// A 4-byte word holding an absolute address or a 32-bit value: a constant
// pool word, or the data words of the jump-table slots
// (reference/encoders/absolute32.h has the fixup expressions). A tag: V8's
// generic path stores it as if it were an address and reads it back as a
// 32-bit value.
template <class D>
using ArmWord32 = Absolute32<D>;

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_ARM_H_
