// riscv64 and riscv32 relocation forms, as V8 13.6 emits and serializes
// them in wasm code.
//
// A form's "site" is the reloc entry's pc: the first instruction of a fixed
// sequence of 32-bit little-endian instruction words. V8's default flags
// leave the C extension off, so every word is 4 bytes and 4-aligned. A value
// is spread over the immediate fields of the sequence; the encoders below
// replace only those field bits and keep opcodes and registers.
//
// | form             | modes                          | sequence at site        |
// |------------------|--------------------------------|-------------------------|
// | RiscvAuipcJalr   | WASM_CALL, WASM_STUB_CALL      | auipc rX; jalr ra, rX   |
// |                  | (calls)                        | (pc-relative)           |
// | RiscvLiPtr48     | rv64: EXTERNAL_REFERENCE;      | lui; addi; slli 11;     |
// |                  | WASM_CALL, WASM_STUB_CALL      | ori; slli 6; ori        |
// |                  | (tail calls: li_ptr + jr)      | (48-bit absolute)       |
// | RiscvLuiAddi     | WASM_CANONICAL_SIG_ID,         | lui; addi (32 bits)     |
// |                  | WASM_CODE_POINTER_TABLE_ENTRY; |                         |
// |                  | rv32: every li_ptr use         |                         |
// | RiscvJal         | lazy-compile slots only        | jal (imm21)             |
// | RiscvDatum       | INTERNAL_REFERENCE; riscv32    | 8 (riscv64) or 4 bytes  |
// |                  | slot targets                   | (absolute)              |
//
// Immediate layouts (RISC-V unprivileged ISA, base formats):
//   U-type (lui, auipc)  imm[31:12] in bits 31:12
//   I-type (addi, ori, jalr, ld, lw, slli)  imm[11:0] in bits 31:20, signed
//   J-type (jal)  imm[20|10:1|11|19:12] in bits 31:12, imm[0] = 0
//
// The hi20/lo12 split of a 32-bit quantity v: lo12 = the low 12 bits of v,
// read signed by the hardware; hi20 = (v + 0x800) >> 12, so that
// hi20 * 4096 + sext(lo12) == v (mod 2^32). The "+0x800" rounding is why
// the reach of a pair is not symmetric around zero.

#ifndef WASMCACHE_REFERENCE_ENCODERS_RISCV_H_
#define WASMCACHE_REFERENCE_ENCODERS_RISCV_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::reference {

// Field masks and opcodes shared by the forms.
struct RiscvBits {
  static constexpr uint32_t kOpcodeMask = 0x0000007f;
  static constexpr uint32_t kRdMask = 0x00000f80;
  static constexpr uint32_t kFunct3Mask = 0x00007000;
  static constexpr uint32_t kRs1Mask = 0x000f8000;
  static constexpr uint32_t kUpperImmMask = 0xfffff000;  // U-type imm[31:12]
  static constexpr uint32_t kIImmMask = 0xfff00000;      // I-type imm[11:0]
  static constexpr uint32_t kJImmMask = 0xfffff000;      // J-type imm

  static constexpr uint32_t kLui = 0x37;
  static constexpr uint32_t kAuipc = 0x17;
  static constexpr uint32_t kJal = 0x6f;
  static constexpr uint32_t kJalr = 0x67;     // funct3 0
  static constexpr uint32_t kOpImm = 0x13;    // addi (0), slli (1), ori (6)
  static constexpr uint32_t kLoad = 0x03;     // lw (2), ld (3)
  static constexpr uint32_t kAddi = 0x0013;   // opcode | funct3
  static constexpr uint32_t kSlli = 0x1013;
  static constexpr uint32_t kOri = 0x6013;
  static constexpr uint32_t kLw = 0x2003;
  static constexpr uint32_t kLd = 0x3003;
  static constexpr uint32_t kNop = 0x00000013;  // addi x0, x0, 0

  static constexpr uint32_t Rd(uint32_t insn) { return (insn >> 7) & 31; }
  static constexpr uint32_t Rs1(uint32_t insn) { return (insn >> 15) & 31; }
  static constexpr uint32_t Opcode(uint32_t insn) { return insn & kOpcodeMask; }
  // opcode | funct3, the key of I-type instructions.
  static constexpr uint32_t OpcodeFunct3(uint32_t insn) {
    return insn & (kOpcodeMask | kFunct3Mask);
  }
  static constexpr uint32_t RdField(uint32_t reg) { return reg << 7; }
  static constexpr uint32_t Rs1Field(uint32_t reg) { return reg << 15; }
};

// The hi20/lo12 halves of a 32-bit quantity, already in position.
template <class D>
struct RiscvHiLo {
  using U32 = typename D::U32;
  // U-type field: (v + 0x800) & ~0xfff, i.e. hi20 << 12 (wrapping).
  static U32 UpperField(U32 v) {
    return D::And(D::Add(v, D::C32(0x800)), D::C32(RiscvBits::kUpperImmMask));
  }
  // I-type field: the low 12 bits of v in bits 31:20.
  static U32 LowerField(U32 v) { return D::Shl(v, 20); }
  // hi20 << 12 plus the signed lo12, wrapping in 32 bits.
  static U32 Join(U32 upper_insn, U32 lower_insn) {
    return D::Add(D::And(upper_insn, D::C32(RiscvBits::kUpperImmMask)),
                  D::AShr(lower_insn, 20));
  }
};

// auipc rX, hi20 ; jalr ra, lo12(rX). site = the auipc.
//   Fixup:  off = target - site; auipc.imm20 <- (off + 0x800) >> 12;
//           jalr.imm12 <- off & 0xfff
//   Errors: off + 0x800 does not fit int32, i.e. off outside
//           [-2^31 - 0x800, 2^31 - 0x800 - 1] (the exact reach of the pair
//           on riscv64; V8: CHECK(is_int32(off + 0x800))).
//           riscv32: site or target above 2^32 - 1, and nothing else: its
//           address arithmetic wraps modulo 2^32, so the pair reaches every
//           32-bit target from every 32-bit site.
//           Near jump-table slots (auipc t6; jalr zero) also require
//           off to fit int32 (V8's own test in EmitJumpSlot), so their
//           reach is [-2^31, 2^31 - 0x801].
//   Decode: target = site + sext(imm20 << 12) + sext(imm12)
//           (riscv32: modulo 2^32)
//   Tag:    the pc-relative byte offset itself holds the tag (not scaled);
//           every t in [0, 2^32) fits, read back as the 32-bit sum of the
//           two halves (V8's BrachlongOffset). V8's PatchBranchlongOffset
//           takes the tag as an int32_t, so its CHECK(is_int32(offset +
//           0x800)) sums in 32 bits and refuses no tag.
template <class D>
struct RiscvAuipcJalr {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using HiLo = RiscvHiLo<D>;
  static constexpr int kFieldSize = 8;

  static U64 Delta(U64 site, U64 target) { return D::Sub(target, site); }
  // off + 0x800 fits int32 (computed in 64 bits, so no wrap hides an
  // overflow).
  static typename D::Bool OffsetInRange(U64 off) {
    return FitsSigned<D>(D::Add(off, D::C64(0x800)), 32);
  }
  static typename D::Bool InRange(U64 site, U64 target) {
    return OffsetInRange(Delta(site, target));
  }
  static typename D::Bool InRange32(U64 site, U64 target) {
    return D::BoolAnd(FitsUnsigned<D>(site, 32), FitsUnsigned<D>(target, 32));
  }
  // A riscv64 near slot: the pair's reach intersected with V8's
  // is_int32(target - slot), the offset without the rounding.
  static typename D::Bool NearSlotInRange(U64 slot, U64 target) {
    return D::BoolAnd(InRange(slot, target),
                      FitsSigned<D>(Delta(slot, target), 32));
  }
  static U32 EncodeAuipc(U32 auipc, U64 site, U64 target) {
    return InsertField<D>(auipc, RiscvBits::kUpperImmMask,
                          HiLo::UpperField(D::Trunc32(Delta(site, target))));
  }
  static U32 EncodeJalr(U32 jalr, U64 site, U64 target) {
    return InsertField<D>(jalr, RiscvBits::kIImmMask,
                          HiLo::LowerField(D::Trunc32(Delta(site, target))));
  }
  static U64 Decode(U32 auipc, U32 jalr, U64 site) {
    const U64 upper = D::SExt64(D::And(auipc, D::C32(RiscvBits::kUpperImmMask)));
    const U64 lower = D::SExt64(D::AShr(jalr, 20));
    return D::Add(D::Add(site, upper), lower);
  }
  static U64 Decode32(U32 auipc, U32 jalr, U64 site) {
    return D::ZExt64(D::Trunc32(Decode(auipc, jalr, site)));
  }

  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U32 EncodeTagAuipc(U32 auipc, U32 tag) {
    return InsertField<D>(auipc, RiscvBits::kUpperImmMask,
                          HiLo::UpperField(tag));
  }
  static U32 EncodeTagJalr(U32 jalr, U32 tag) {
    return InsertField<D>(jalr, RiscvBits::kIImmMask, HiLo::LowerField(tag));
  }
  static U32 DecodeTag(U32 auipc, U32 jalr) { return HiLo::Join(auipc, jalr); }
};

// lui rd, hi20 ; addi rd, rd, lo12 (V8's li_constant32, and li_ptr on
// riscv32). site = the lui.
//   Fixup:  lui.imm20 <- (v + 0x800) >> 12 (wrapping in 32 bits);
//           addi.imm12 <- v & 0xfff
//   Errors: v above 2^32 - 1 (every 32-bit value is representable)
//   Decode: v = (imm20 << 12) + sext(imm12), modulo 2^32 (V8's
//           target_constant32_at)
//   Tag:    v = tag (the same range: InRange)
template <class D>
struct RiscvLuiAddi {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using HiLo = RiscvHiLo<D>;
  static constexpr int kFieldSize = 8;

  static typename D::Bool InRange(U64 value) {
    return FitsUnsigned<D>(value, 32);
  }
  static U32 EncodeLui(U32 lui, U32 value) {
    return InsertField<D>(lui, RiscvBits::kUpperImmMask,
                          HiLo::UpperField(value));
  }
  static U32 EncodeAddi(U32 addi, U32 value) {
    return InsertField<D>(addi, RiscvBits::kIImmMask, HiLo::LowerField(value));
  }
  static U32 Decode(U32 lui, U32 addi) { return HiLo::Join(lui, addi); }
};

// riscv64 li_ptr, Sv48 (V8's default build; RISCV_USE_SV39 is off):
//   lui rd, hi20 ; addi rd, rd, lo12 ; slli rd, rd, 11 ; ori rd, rd, b11 ;
//   slli rd, rd, 6 ; ori rd, rd, a6.  site = the lui.
//   Fixup:  high31 = v >> 17; lui/addi <- hi20/lo12 split of high31;
//           ori #1 <- (v >> 6) & 0x7ff; ori #2 <- v & 0x3f
//   Errors: v >= 2^48, or high31 + 0x800 >= 2^31 (then hi20 would be
//           0x80000 and lui sign-extends to a negative value: the sequence
//           cannot build v; this rejects v >= 0xfffff0000000)
//   Decode: what the six instructions compute on rv64:
//           x = sext(imm20 << 12) + sext(imm12); x = x << 11 | sext(ori1);
//           x = x << 6 | sext(ori2)   (V8's target_constant_address_at)
//   Tag:    v = tag (zero-extended), error unless the tag fits uint32; read
//           back as the whole decoded value
template <class D>
struct RiscvLiPtr48 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using HiLo = RiscvHiLo<D>;
  static constexpr int kWords = 6;
  static constexpr int kFieldSize = 4 * kWords;
  static constexpr uint32_t kFirstShift = 11;
  static constexpr uint32_t kSecondShift = 6;

  static typename D::Bool InRange(U64 value) {
    return D::BoolAnd(
        FitsUnsigned<D>(value, 48),
        FitsUnsigned<D>(D::Add(D::LShr(value, 17), D::C64(0x800)), 31));
  }
  // Tags are 32-bit (V8 reads them back as (uint32_t)target_address()).
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U32 High31(U64 value) { return D::Trunc32(D::LShr(value, 17)); }
  static U32 EncodeLui(U32 lui, U64 value) {
    return InsertField<D>(lui, RiscvBits::kUpperImmMask,
                          HiLo::UpperField(High31(value)));
  }
  static U32 EncodeAddi(U32 addi, U64 value) {
    return InsertField<D>(addi, RiscvBits::kIImmMask,
                          HiLo::LowerField(High31(value)));
  }
  static U32 EncodeOriHigh(U32 ori, U64 value) {
    const U32 b11 = D::And(D::Trunc32(D::LShr(value, 6)), D::C32(0x7ff));
    return InsertField<D>(ori, RiscvBits::kIImmMask, D::Shl(b11, 20));
  }
  static U32 EncodeOriLow(U32 ori, U64 value) {
    const U32 a6 = D::And(D::Trunc32(value), D::C32(0x3f));
    return InsertField<D>(ori, RiscvBits::kIImmMask, D::Shl(a6, 20));
  }
  static U64 Decode(U32 lui, U32 addi, U32 ori_high, U32 ori_low) {
    U64 x = D::Add(D::SExt64(D::And(lui, D::C32(RiscvBits::kUpperImmMask))),
                   D::SExt64(D::AShr(addi, 20)));
    x = D::Or(D::Shl(x, 11), D::SExt64(D::AShr(ori_high, 20)));
    x = D::Or(D::Shl(x, 6), D::SExt64(D::AShr(ori_low, 20)));
    return x;
  }
};

// jal rd, imm21 (lazy-compile slots). site = the jal.
//   Fixup:  imm21 <- target - site
//   Errors: target - site odd, or outside int21 ([-2^20, 2^20 - 2]);
//           riscv32: site or target above 2^32 - 1, the offset taken
//           modulo 2^32 (the address arithmetic wraps there)
//   Decode: target = site + sext(imm21) (riscv32: modulo 2^32)
template <class D>
struct RiscvJal {
  using U32 = typename D::U32;
  using U64 = typename D::U64;

  static typename D::Bool InRange(U64 site, U64 target) {
    const U64 off = D::Sub(target, site);
    return D::BoolAnd(LowBitsZero<D>(off, 1), FitsSigned<D>(off, 21));
  }
  static typename D::Bool InRange32(U64 site, U64 target) {
    const U64 off = D::SExt64(D::Trunc32(D::Sub(target, site)));
    return D::BoolAnd(
        D::BoolAnd(FitsUnsigned<D>(site, 32), FitsUnsigned<D>(target, 32)),
        D::BoolAnd(LowBitsZero<D>(off, 1), FitsSigned<D>(off, 21)));
  }
  static U32 Encode(U32 jal, U64 site, U64 target) {
    const U32 off = D::Trunc32(D::Sub(target, site));
    const U32 field = D::Or(
        D::Or(D::And(off, D::C32(0x000ff000)),                // imm[19:12]
              D::Shl(D::And(off, D::C32(0x00000800)), 9)),    // imm[11]
        D::Or(D::Shl(D::And(off, D::C32(0x000007fe)), 20),   // imm[10:1]
              D::Shl(D::And(off, D::C32(0x00100000)), 11)));  // imm[20]
    return InsertField<D>(jal, RiscvBits::kJImmMask, field);
  }
  static U64 Decode(U32 jal, U64 site) {
    const U32 imm = D::Or(
        D::Or(D::And(jal, D::C32(0x000ff000)),
              D::And(D::LShr(jal, 9), D::C32(0x00000800))),
        D::Or(D::And(D::LShr(jal, 20), D::C32(0x000007fe)),
              D::And(D::LShr(jal, 11), D::C32(0x00100000))));
    return D::Add(site, SignExtendLow<D>(D::ZExt64(imm), 21));
  }
  static U64 Decode32(U32 jal, U64 site) {
    return D::ZExt64(D::Trunc32(Decode(jal, site)));
  }
};

// A pointer-sized absolute datum at the site: INTERNAL_REFERENCE (V8's
// dd(Label*); deserialization_set_target_internal_reference_at writes it
// raw), 8 bytes on riscv64 and 4 on riscv32, where it is also the target
// word of the near and far jump-table slots.
//   Fixup:  datum <- value
//   Errors: riscv32: value above 2^32 - 1
//   Decode: value = datum (zero-extended)
//   Tag:    datum <- tag (the offset from the instruction start), the same
//           range
template <class D, int kBytes>
struct RiscvDatum {
  static_assert(kBytes == 4 || kBytes == 8);
  using U64 = typename D::U64;
  static constexpr int kFieldSize = kBytes;

  static typename D::Bool InRange(U64 value) {
    return kBytes == 8 ? D::True() : FitsUnsigned<D>(value, 32);
  }
  static U64 Encode(U64 value) { return value; }
  static U64 Decode(U64 field) { return field; }
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_RISCV_H_
