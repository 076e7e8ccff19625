// The riscv64/riscv32 encoders of the fast implementation: the forms of
// spec/forms/riscv64.md and riscv32.md as rows of the instruction-sequence
// table (fast/encoders/sequence.h), shared by both targets (they differ in
// which form a tail call and an external reference use, in the width of
// internal references, and in the canonical width of addresses).

#ifndef WASMCACHE_FAST_ENCODERS_RISCV_H_
#define WASMCACHE_FAST_ENCODERS_RISCV_H_

#include <cstdint>

#include "fast/encoders/sequence.h"

namespace wasmcache::fast {

// riscv (RV64GC Sv48 and RV32GC, no C extension: 4-byte words).
//
// Formats: U-type (lui, auipc) imm[31:12] in bits 31:12; I-type (addi, ori,
// slli, jalr, ld, lw) imm[11:0] in bits 31:20, signed; J-type (jal)
// imm[20|10:1|11|19:12] in bits 31:12. rd is bits 11:7, rs1 bits 19:15.

namespace riscv {

inline constexpr uint32_t kLui = 0x37;
inline constexpr uint32_t kAuipc = 0x17;
inline constexpr uint32_t kJal = 0x6f;
inline constexpr uint32_t kJalr = 0x67;
inline constexpr uint32_t kOpImm = 0x13;
inline constexpr uint32_t kLoad = 0x03;
inline constexpr uint32_t kOpcodeMask = 0x7f;
inline constexpr uint32_t kNotIImm = 0x000fffff;  // all but imm[11:0]
inline constexpr uint32_t kNotUImm = 0x00000fff;  // all but imm[31:12]

constexpr uint32_t Funct3(uint32_t f) { return f << 12; }
constexpr uint32_t Rd(uint32_t r) { return r << 7; }
constexpr uint32_t Rs1(uint32_t r) { return r << 15; }
constexpr uint32_t Imm12(uint32_t imm) { return imm << 20; }

inline constexpr uint32_t kAddi = kOpImm | Funct3(0);
inline constexpr uint32_t kSlli = kOpImm | Funct3(1);
inline constexpr uint32_t kOri = kOpImm | Funct3(6);
inline constexpr uint32_t kLw = kLoad | Funct3(2);
inline constexpr uint32_t kLd = kLoad | Funct3(3);
inline constexpr uint32_t kNop = kAddi;  // addi x0, x0, 0

inline constexpr uint32_t kRa = 1;
inline constexpr uint32_t kT0 = 5;  // kWasmCompileLazyFuncIndexRegister
inline constexpr uint32_t kT6 = 31;
inline constexpr uint32_t kSameReg = Rd(1) | Rs1(1);  // `op rd, rd, imm`

// The hi20/lo12 split of the 32 value bits from `base` up: lo12 is read
// signed, so hi20 is taken from value + 2^(base + 11).
constexpr WordField Hi20(uint8_t word, uint8_t base) {
  return {.word = word,
          .insn_lsb = 12,
          .width = 20,
          .value_lsb = static_cast<uint8_t>(base + 12),
          .is_signed = true,
          .addend = uint64_t{1} << (base + 11)};
}
constexpr WordField Lo12(uint8_t word, uint8_t base) {
  return {.word = word,
          .insn_lsb = 20,
          .width = 12,
          .value_lsb = base,
          .is_signed = true};
}

// auipc rX, hi20; jalr ra, lo12(rX): the byte offset from the auipc.
// `address` is the canonical width of sites and targets. riscv64: off +
// 0x800 must fit int32. riscv32 (32 bits unsigned): the sum wraps modulo
// 2^32, so every target is in reach. Tags: any u32.
constexpr SeqForm AuipcJalr(ValueWidth address) {
  return {.mismatch = "not auipc rX; jalr ra, lo12(rX) (rX != x0)",
          .words = 2,
          .pc_align = 4,
          .reg_lsb = 7,
          .reg_nonzero = true,
          .pattern = {{{kOpcodeMask, kAuipc, 0},
                       {kNotIImm, kJalr | Rd(kRa), Rs1(1)}}},
          .num_fields = 2,
          .fields = {{Hi20(0, 0), Lo12(1, 0)}},
          .relative = true,
          .result = address,
          .reach = address.bits == 32
                       ? ValueReach{}
                       : SignedReach(-(int64_t{1} << 31) - 0x800,
                                     (int64_t{1} << 31) - 0x801)};
}

// lui rd, hi20; addi rd, rd, lo12: a u32 (li_constant32; riscv32 li_ptr).
inline constexpr SeqForm kLuiAddi = {
    .mismatch = "not lui rd; addi rd, rd, lo12 (rd != x0)",
    .words = 2,
    .pc_align = 4,
    .reg_lsb = 7,
    .reg_nonzero = true,
    .pattern = {{{kOpcodeMask, kLui, 0}, {kNotIImm, kAddi, kSameReg}}},
    .num_fields = 2,
    .fields = {{Hi20(0, 0), Lo12(1, 0)}},
    .result = {32, false}};

// li_ptr, Sv48: lui; addi; slli 11; ori (11 bits); slli 6; ori (6 bits).
// Bits 47:17 are split hi20/lo12, bits 16:6 and 5:0 go to the ori words.
// The shape requires the ori immediates to be below 2^11 and 2^6 (so
// their sign bit is clear and the ors add): on a located site the six
// instructions compute exactly the sum of the fields, and writing a field
// leaves the ori's sign bit clear. The lui must not
// receive hi20 = 0x80000 (it would sign-extend): values below
// 2^48 - 2^28.
inline constexpr SeqForm kLiPtr48 = {
    .mismatch = "not li_ptr: lui rd; addi; slli 11; ori; slli 6; ori on rd",
    .words = 6,
    .pc_align = 4,
    .reg_lsb = 7,
    .reg_nonzero = true,
    .pattern = {{{kOpcodeMask, kLui, 0},
                 {kNotIImm, kAddi, kSameReg},
                 {0xffffffff, kSlli | Imm12(11), kSameReg},
                 {kNotIImm | 0x80000000, kOri, kSameReg},
                 {0xffffffff, kSlli | Imm12(6), kSameReg},
                 {kNotIImm | 0xfc000000, kOri, kSameReg}}},
    .num_fields = 4,
    .fields = {{Hi20(0, 17),
                Lo12(1, 17),
                {3, 20, 11, 6, false, 0},
                {5, 20, 6, 0, false, 0}}},
    .reach = {0, (uint64_t{1} << 48) - (uint64_t{1} << 28), 0},
    .tag_read_bits = 64};

// jal (lazy slots): imm[20|10:1|11|19:12] in bits 31:12, even offsets in
// [-2^20, 2^20 - 2]. `address` as for AuipcJalr.
constexpr SeqForm Jal21(ValueWidth address) {
  return {.words = 1,
          .num_fields = 4,
          .fields = {{{0, 21, 10, 1, false, 0},
                      {0, 20, 1, 11, false, 0},
                      {0, 12, 8, 12, false, 0},
                      {0, 31, 1, 20, true, 0}}},
          .relative = true,
          .result = address,
          .reach =
              SignedReach(-(int64_t{1} << 20), (int64_t{1} << 20) - 1, 1)};
}
inline constexpr SeqForm kJal21 = Jal21({64, false});
inline constexpr SeqForm kJal21Rv32 = Jal21({32, false});

// Near slot of riscv64: auipc t6, hi20; jalr zero, lo12(t6). The pair's
// reach intersected with V8's own is_int32(offset) test.
inline constexpr SeqForm kNearSlot64 = {
    .words = 2,
    .pattern = {{{kNotUImm, kAuipc | Rd(kT6), 0},
                 {kNotIImm, kJalr | Rs1(kT6), 0}}},
    .num_fields = 2,
    .fields = {{Hi20(0, 0), Lo12(1, 0)}},
    .relative = true,
    .reach = SignedReach(-(int64_t{1} << 31), (int64_t{1} << 31) - 0x801)};

// Lazy slots: lui t0; addi t0, t0 (the function index); jal zero, target.
inline constexpr uint32_t kLazyPrefix[] = {kLui | Rd(kT0),
                                           kAddi | Rd(kT0) | Rs1(kT0)};
inline constexpr uint32_t kJalZero = kJal;
inline constexpr uint32_t kLazyJalOffset = 8;

// Stub slots: auipc t6, 0; l{d,w} t6, 16(t6); jalr zero, 0(t6); nop;
// then the target (riscv64 far slot, riscv32 near and far slots).
constexpr std::array<uint32_t, 4> StubPrefix(uint32_t load) {
  return {kAuipc | Rd(kT6), load | Rd(kT6) | Rs1(kT6) | Imm12(16),
          kJalr | Rs1(kT6), kNop};
}

// The sites of riscv64 (rv64) or riscv32: calls are auipc + jalr or
// li_ptr, which is 6 words on riscv64 and lui + addi on riscv32.
constexpr SeqTarget Target(bool rv64) {
  const SeqForm call =
      AuipcJalr(rv64 ? ValueWidth{64, false} : ValueWidth{32, false});
  return MakeSeqTarget(
      ByteOrder::kLittle,
      rv64 ? "mode not used on riscv64" : "mode not used on riscv32",
      /*const_pool=*/true, rv64 ? kLiPtr48 : kLuiAddi, kLuiAddi,
      DataForm(rv64 ? 8 : 4, 4), &call);
}

// Writes a lazy-compile slot whose jal is the form `jal` (kJal21, or
// kJal21Rv32 whose jal and target lie below 4 GiB).
inline bool WriteLazySlotWith(const SeqForm& jal, uint8_t* slot,
                              uint64_t slot_address, uint32_t function_index,
                              uint64_t target) {
  const uint64_t jal_address = slot_address + kLazyJalOffset;
  uint32_t words[3] = {kLazyPrefix[0], kLazyPrefix[1], kJalZero};
  if (!EncodeInto(jal, words + 2, jal_address, target)) return false;
  NativeSeq::Scatter(kLuiAddi, words, function_index);
  StoreWords(slot, 3, ByteOrder::kLittle, words);
  return true;
}
inline bool WriteLazySlot(uint8_t* slot, uint64_t slot_address,
                          uint32_t function_index, uint64_t target) {
  return WriteLazySlotWith(kJal21, slot, slot_address, function_index, target);
}

}  // namespace riscv
}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_RISCV_H_
