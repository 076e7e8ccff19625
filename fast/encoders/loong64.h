// loong64 (LoongArch64) encoders of the fast implementation: the forms of
// spec/forms/loong64.md as rows of the instruction-sequence table
// (fast/encoders/riscv.h, part 1).
//
// rd is bits 4:0 and rj bits 9:5 everywhere. lu12i.w and lu32i.d hold an
// si20 in bits 24:5, ori a ui12 in bits 21:10, b/bl an offs26 split as
// offs[15:0] in bits 25:10 and offs[25:16] in bits 9:0.

#ifndef WASMCACHE_FAST_ENCODERS_LOONG64_H_
#define WASMCACHE_FAST_ENCODERS_LOONG64_H_

#include <cstdint>

#include "fast/encoders/sequence.h"

namespace wasmcache::fast::loong64 {

inline constexpr uint32_t kLu12iW = 0x0a << 25;
inline constexpr uint32_t kLu32iD = 0x0b << 25;
inline constexpr uint32_t kOri = 0x0e << 22;
inline constexpr uint32_t kB = 0x14 << 26;
inline constexpr uint32_t kOpcode7 = 0xfe000000;
inline constexpr uint32_t kOpcode6 = 0xfc000000;
inline constexpr uint32_t kNotUi12 = ~uint32_t{0x003ffc00};
inline constexpr uint32_t kRd = 1;
inline constexpr uint32_t kRj = 1u << 5;

constexpr WordField Si20(uint8_t word, uint8_t lsb) {
  return {word, 5, 20, lsb, false, 0};
}
constexpr WordField Ui12(uint8_t word) { return {word, 10, 12, 0, false, 0}; }

// lu12i.w rd, v[31:12]; ori rd, rd, v[11:0]; lu32i.d rd, v[51:32]. V8
// reads bits 47:0 back and sign-extends from bit 47, so only values
// sign-extended from bit 47 are written.
inline constexpr SeqForm kLi = {
    .mismatch = "not lu12i.w rd; ori rd, rd; lu32i.d rd",
    .words = 3,
    .pc_align = 4,
    .reg_lsb = 0,
    .pattern = {{{kOpcode7, kLu12iW, 0},
                 {kNotUi12, kOri, kRd | kRj},
                 {kOpcode7 | 0x1f, kLu32iD, kRd}}},
    .num_fields = 3,
    .fields = {{Si20(0, 12), Ui12(1), Si20(2, 32)}},
    .result = {48, true}};

// lu12i.w rd, v[31:12]; ori rd, rd, v[11:0]: a u32.
inline constexpr SeqForm kLu12iOri = {
    .mismatch = "not lu12i.w rd; ori rd, rd (b/bl is not used for wasm sites)",
    .words = 2,
    .pc_align = 4,
    .reg_lsb = 0,
    .pattern = {{{kOpcode7, kLu12iW, 0}, {kNotUi12, kOri, kRd | kRj}}},
    .num_fields = 2,
    .fields = {{Si20(0, 12), Ui12(1)}},
    .result = {32, false}};

// b offs26 (near and lazy slots): 4-aligned offsets that fit int28.
inline constexpr SeqForm kBranch26 = {
    .words = 1,
    .pattern = {{{kOpcode6, kB, 0}}},
    .num_fields = 2,
    .fields = {{{0, 10, 16, 2, false, 0}, {0, 0, 10, 18, true, 0}}},
    .relative = true,
    .reach = SignedReach(-(int64_t{1} << 27), (int64_t{1} << 27) - 1, 2)};

// Far slot: pcaddi $t7, 4; ld.d $t7, $t7, 0; jirl $zero, $t7, 0; nop; then
// the 8-byte target.
inline constexpr uint32_t kFarPrefix[] = {0x18000093, 0x28c00273, 0x4c000260,
                                          0x03400000};
inline constexpr int kFarPrefixWords = 4;
inline constexpr uint32_t kT0 = 12;  // kWasmCompileLazyFuncIndexRegister
// Lazy slot: lu12i.w $t0; ori $t0, $t0 (the function index); b target.
inline constexpr uint32_t kLazyPrefix[] = {kLu12iW | kT0,
                                           kOri | kT0 << 5 | kT0};
inline constexpr uint32_t kLazyBranchOffset = 8;

}  // namespace wasmcache::fast::loong64

#endif  // WASMCACHE_FAST_ENCODERS_LOONG64_H_
