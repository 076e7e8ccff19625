// Target architectures of V8 13.6 and their per-architecture constants.
//
// Every constant that depends on the target sits in one table, kArchTraits,
// so an auditor can compare a whole row with V8's sources at once
// (globals.h for code alignment and code-space limits, jump-table-assembler.h
// for the jump-table geometry). Nothing here depends on the host: an arm64
// cache is read, relocated and written on x64 with the same numbers.
//
// Jump-table geometry (sizes in bytes):
//
//   near jump table   one slot per declared function, kJumpTableSlotSize each,
//                     grouped in lines of kJumpTableLineSize (a line may end
//                     in padding when slots do not divide it).
//   far jump table    one slot per builtin with a far slot, then (on targets
//                     that need far jumps between code spaces) one slot per
//                     declared function; kFarJumpTableSlotSize each.
//   lazy table        one slot per declared function, kLazyCompileSlotSize.

#ifndef WASMCACHE_SPEC_ARCH_H_
#define WASMCACHE_SPEC_ARCH_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "spec/slot_maps.h"

namespace wasmcache {

enum class Arch : uint8_t {
  kX64,
  kIa32,
  kArm64,
  kArm,
  kRiscv64,
  kRiscv32,
  kMips64,
  kPpc64,
  kS390x,
  kLoong64,
};

inline constexpr int kNumArchs = 10;

enum class ByteOrder : uint8_t { kLittle, kBig };

struct ArchTraits {
  Arch arch;
  std::string_view name;
  ByteOrder byte_order;
  uint32_t word_size;  // sizeof(size_t) and sizeof(Address) on the target.
  uint32_t code_alignment;  // kCodeAlignment
  uint64_t max_code_space_size;  // kDefaultMaxWasmCodeSpaceSizeMb << 20
  uint32_t jump_table_slot_size;
  uint32_t jump_table_line_size;
  uint32_t far_jump_table_slot_size;
  uint32_t lazy_compile_slot_size;
  bool far_jumps_between_code_spaces;  // kNeedsFarJumpsBetweenCodeSpaces
};

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

// One row per target, in Arch order.
inline constexpr ArchTraits kArchTraits[kNumArchs] = {
    // arch           name       order              word align space        slot line far lazy far-between
    {Arch::kX64,     "x64",     ByteOrder::kLittle, 8, 64, 1024 * kMiB,  8,   8, 16, 10, true},
    {Arch::kIa32,    "ia32",    ByteOrder::kLittle, 4, 32, 1024 * kMiB,  5,  64,  5, 10, false},
    {Arch::kArm64,   "arm64",   ByteOrder::kLittle, 8, 32,  128 * kMiB,  4,   4, 16, 16, true},
    {Arch::kArm,     "arm",     ByteOrder::kLittle, 4, 32, 1024 * kMiB,  8,   8,  8, 16, false},
    {Arch::kRiscv64, "riscv64", ByteOrder::kLittle, 8, 32, 1024 * kMiB,  8,   8, 24, 12, true},
    {Arch::kRiscv32, "riscv32", ByteOrder::kLittle, 4, 32, 1024 * kMiB, 20,  20, 20, 12, false},
    {Arch::kMips64,  "mips64",  ByteOrder::kLittle, 8, 32, 1024 * kMiB, 32,  32, 32, 40, false},
    {Arch::kPpc64,   "ppc64",   ByteOrder::kLittle, 8, 64,   32 * kMiB,  4,  64, 48, 48, true},
    {Arch::kS390x,   "s390x",   ByteOrder::kBig,    8, 32, 1024 * kMiB,  8, 128, 24, 32, true},
    {Arch::kLoong64, "loong64", ByteOrder::kLittle, 8, 32,  128 * kMiB,  4,   4, 24, 12, true},
};

constexpr const ArchTraits& TraitsOf(Arch arch) {
  return kArchTraits[static_cast<int>(arch)];
}

// Rows must be in enum order; a reordering would silently mix up targets.
constexpr bool ArchTableIsOrdered() {
  for (int i = 0; i < kNumArchs; ++i) {
    if (static_cast<int>(kArchTraits[i].arch) != i) return false;
  }
  return true;
}
static_assert(ArchTableIsOrdered());

// Slots per jump-table line and the padding at the end of each line.
constexpr uint32_t SlotsPerLine(const ArchTraits& t) {
  return t.jump_table_line_size / t.jump_table_slot_size;
}
static_assert(SlotsPerLine(TraitsOf(Arch::kIa32)) == 12);
static_assert(SlotsPerLine(TraitsOf(Arch::kPpc64)) == 16);
static_assert(SlotsPerLine(TraitsOf(Arch::kS390x)) == 16);

// Geometry of the near and far jump tables (spec/slot_maps.h).
constexpr SlotGeometry NearSlots(const ArchTraits& t) {
  return {t.jump_table_slot_size, t.jump_table_line_size};
}
constexpr SlotGeometry FarSlots(const ArchTraits& t) {
  return {t.far_jump_table_slot_size, t.far_jump_table_slot_size};
}

// Offset of near slot `index` from the start of the near jump table.
constexpr uint64_t JumpTableSlotOffset(const ArchTraits& t, uint32_t index) {
  return SlotMap<NativeDomain>::Offset(NearSlots(t), index);
}

// Offset of far slot `index` from the start of the far jump table.
constexpr uint64_t FarJumpTableSlotOffset(const ArchTraits& t,
                                          uint32_t index) {
  return SlotMap<NativeDomain>::Offset(FarSlots(t), index);
}

// Size of a near jump table with `slots` slots (whole lines).
constexpr uint64_t JumpTableSize(const ArchTraits& t, uint32_t slots) {
  const uint32_t per_line = SlotsPerLine(t);
  return uint64_t{(slots + per_line - 1) / per_line} * t.jump_table_line_size;
}

std::optional<Arch> ParseArch(std::string_view name);
std::string_view ArchName(Arch arch);

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_ARCH_H_
