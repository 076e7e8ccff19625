// mips64 (mips64el, n64) encoders of the fast implementation: the forms of
// spec/forms/mips64.md as rows of the instruction-sequence table
// (fast/encoders/riscv.h, part 1).
//
// I-type words: opcode 31:26, rs 25:21, rt 20:16, imm16 15:0. Every
// reloc'd constant is an `li` whose imm16 fields hold 16-bit slices of the
// value, read unsigned; the 4-word address load makes a 48-bit value that
// the machine (and V8) sign-extends from bit 47.

#ifndef WASMCACHE_FAST_ENCODERS_MIPS64_H_
#define WASMCACHE_FAST_ENCODERS_MIPS64_H_

#include <cstdint>

#include "fast/encoders/sequence.h"

namespace wasmcache::fast::mips64 {

inline constexpr uint32_t kLui = 0x0f << 26;  // rs = 0
inline constexpr uint32_t kOri = 0x0d << 26;
inline constexpr uint32_t kOpcodeRs = 0xffe00000;
inline constexpr uint32_t kNotImm16 = 0xffff0000;
inline constexpr uint32_t kRs = 1u << 21;
inline constexpr uint32_t kRt = 1u << 16;
inline constexpr uint32_t kRd = 1u << 11;
// dsll rt, rt, 16: SPECIAL, rs 0, rd = rt, sa 16, funct 0x38.
inline constexpr uint32_t kDsll16 = 16u << 6 | 0x38;

// The imm16 of word `word` holds value bits [lsb, lsb + 16).
constexpr WordField Imm16(uint8_t word, uint8_t lsb) {
  return {word, 0, 16, lsb, false, 0};
}

// lui rt, v[47:32]; ori rt, rt, v[31:16]; dsll rt, rt, 16;
// ori rt, rt, v[15:0]: values sign-extended from bit 47.
inline constexpr SeqForm kLiAddress = {
    .mismatch = "not lui rt; ori rt, rt; dsll rt, rt, 16; ori rt, rt",
    .words = 4,
    .pc_align = 4,
    .reg_lsb = 16,
    .pattern = {{{kOpcodeRs, kLui, 0},
                 {kNotImm16, kOri, kRs | kRt},
                 {0xffffffff, kDsll16, kRt | kRd},
                 {kNotImm16, kOri, kRs | kRt}}},
    .num_fields = 3,
    .fields = {{Imm16(0, 32), Imm16(1, 16), Imm16(3, 0)}},
    .result = {48, true}};

// lui rt, v[31:16]; ori rt, rt, v[15:0]: a u32.
inline constexpr SeqForm kLuiOri = {
    .mismatch = "not lui rt; ori rt, rt",
    .words = 2,
    .pc_align = 4,
    .reg_lsb = 16,
    .pattern = {{{kOpcodeRs, kLui, 0}, {kNotImm16, kOri, kRs | kRt}}},
    .num_fields = 2,
    .fields = {{Imm16(0, 16), Imm16(1, 0)}},
    .result = {32, false}};

// Slots (jump-table-assembler.cc): a trampoline that finds its own address
// with bal and loads the 8-byte target stored after it.
inline constexpr uint32_t kTrampoline[] = {
    0x03e00825,  // move $at, $ra
    0x04110001,  // bal  . + 8
    0x00000000,  // nop (delay slot)
    0xdff9000c,  // ld   $t9, 12($ra)
    0x03200008,  // jr   $t9
    0x0020f825,  // move $ra, $at (delay slot)
};
inline constexpr int kTrampolineWords = 6;
inline constexpr uint32_t kT0 = 12;  // kWasmCompileLazyFuncIndexRegister
// Lazy slots put the function index in $t0 first.
inline constexpr uint32_t kLazyPrefix[] = {kLui | kT0 << 16,
                                           kOri | kT0 << 21 | kT0 << 16};
inline constexpr int kLazyPrefixWords = 2;

}  // namespace wasmcache::fast::mips64

#endif  // WASMCACHE_FAST_ENCODERS_MIPS64_H_
