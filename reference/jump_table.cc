#include "reference/jump_table.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/byte_io.h"
#include "reference/encoders/arm64.h"
#include "reference/encoders/x64.h"

namespace wasmcache::reference {
namespace {

using X64Jmp = X64Rel32<NativeDomain>;
using Arm64Branch = Arm64BranchImm26<NativeDomain>;

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// x64 opcodes.
constexpr uint8_t kX64JmpRel32 = 0xe9;
constexpr uint8_t kX64PushImm32 = 0x68;
constexpr uint8_t kX64Int3 = 0xcc;
// jmp [rip+2]; then a 2-byte nop; the 8-byte target follows at slot + 8.
constexpr uint8_t kX64FarJumpPrefix[8] = {0xff, 0x25, 0x02, 0x00,
                                          0x00, 0x00, 0x66, 0x90};

// arm64 instruction words.
constexpr uint32_t kArm64B = 0x14000000;
constexpr uint32_t kArm64LdrX16Literal8 = 0x58000050;  // ldr x16, pc+8
constexpr uint32_t kArm64BrX16 = 0xd61f0200;           // br x16
constexpr uint32_t kArm64BtiJc = 0xd50324df;           // bti jc
constexpr uint32_t kArm64MovzW8 = 0x52800008;          // movz w8, #imm16
constexpr uint32_t kArm64MovkW8Lsl16 = 0x72a00008;     // movk w8, #imm16, lsl 16

void StoreLe32(uint8_t* at, uint32_t value) {
  StoreUnaligned(at, value, 4, ByteOrder::kLittle);
}

// Slots that running code may execute are rewritten with one store of the
// whole word when aligned (as V8 does), so a concurrent caller sees the old
// or the new slot, never a mix. The bytes are little-endian.
void StoreWord(uint8_t* at, const uint8_t* bytes, size_t size) {
  if (size == 8 && reinterpret_cast<uintptr_t>(at) % 8 == 0) {
    uint64_t word;
    std::memcpy(&word, bytes, 8);
    __atomic_store_n(reinterpret_cast<uint64_t*>(at), word, __ATOMIC_RELAXED);
  } else if (size == 4 && reinterpret_cast<uintptr_t>(at) % 4 == 0) {
    uint32_t word;
    std::memcpy(&word, bytes, 4);
    __atomic_store_n(reinterpret_cast<uint32_t*>(at), word, __ATOMIC_RELAXED);
  } else {
    std::memcpy(at, bytes, size);
  }
}

}  // namespace

bool JumpTablesSupported(Arch arch) {
  return arch == Arch::kX64 || arch == Arch::kArm64;
}

JumpTableLayout ComputeJumpTableLayout(Arch arch, uint32_t num_declared,
                                       uint32_t num_builtins,
                                       bool with_lazy_table) {
  const ArchTraits& t = TraitsOf(arch);
  JumpTableLayout layout;
  layout.near_offset = 0;
  layout.near_size = JumpTableSize(t, num_declared);
  layout.far_offset = AlignUp(layout.near_size, t.code_alignment);
  layout.num_far_builtin_slots = num_builtins;
  layout.num_far_function_slots =
      t.far_jumps_between_code_spaces ? num_declared : 0;
  layout.far_size =
      uint64_t{num_builtins + layout.num_far_function_slots} *
      t.far_jump_table_slot_size;
  layout.lazy_offset =
      AlignUp(layout.far_offset + layout.far_size, t.code_alignment);
  layout.lazy_size =
      with_lazy_table ? uint64_t{num_declared} * t.lazy_compile_slot_size : 0;
  layout.total_size =
      AlignUp(layout.lazy_offset + layout.lazy_size, t.code_alignment);
  return layout;
}

bool WriteNearJumpSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                       uint64_t target) {
  switch (arch) {
    case Arch::kX64: {
      // jmp rel32; int3 x3 (the slot is written as one 8-byte unit).
      const uint64_t site = slot_address + 1;
      if (!X64Jmp::InRange(site, target)) return false;
      uint8_t bytes[8] = {kX64JmpRel32, 0, 0, 0, 0, kX64Int3, kX64Int3,
                          kX64Int3};
      StoreLe32(bytes + 1, X64Jmp::Encode(site, target));
      StoreWord(slot, bytes, 8);
      return true;
    }
    case Arch::kArm64: {
      if (!Arm64Branch::InRange(slot_address, target)) return false;
      uint8_t bytes[4];
      StoreLe32(bytes, Arm64Branch::Encode(kArm64B, slot_address, target));
      StoreWord(slot, bytes, 4);
      return true;
    }
    default:
      return false;
  }
}

void WriteFarJumpSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                      uint64_t target) {
  (void)slot_address;
  switch (arch) {
    case Arch::kX64:
    case Arch::kArm64: {
      uint8_t prefix[8];
      if (arch == Arch::kX64) {
        std::memcpy(prefix, kX64FarJumpPrefix, 8);
      } else {
        StoreLe32(prefix, kArm64LdrX16Literal8);
        StoreLe32(prefix + 4, kArm64BrX16);
      }
      // The instructions never change once written; the target is one
      // aligned 8-byte store.
      if (std::memcmp(slot, prefix, 8) != 0) std::memcpy(slot, prefix, 8);
      uint8_t target_bytes[8];
      StoreUnaligned(target_bytes, target, 8, ByteOrder::kLittle);
      StoreWord(slot + 8, target_bytes, 8);
      return;
    }
    default:
      return;
  }
}

bool WriteLazyCompileSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                          uint32_t function_index, uint64_t target) {
  switch (arch) {
    case Arch::kX64: {
      // push imm32 function_index; jmp rel32 target.
      const uint64_t site = slot_address + 6;
      if (!X64Jmp::InRange(site, target)) return false;
      slot[0] = kX64PushImm32;
      StoreLe32(slot + 1, function_index);
      slot[5] = kX64JmpRel32;
      StoreLe32(slot + 6, X64Jmp::Encode(site, target));
      return true;
    }
    case Arch::kArm64: {
      // bti jc; movz w8, lo; movk w8, hi, lsl 16; b target.
      const uint64_t branch_address = slot_address + 12;
      if (!Arm64Branch::InRange(branch_address, target)) return false;
      StoreLe32(slot, kArm64BtiJc);
      StoreLe32(slot + 4, kArm64MovzW8 | ((function_index & 0xffff) << 5));
      StoreLe32(slot + 8, kArm64MovkW8Lsl16 | ((function_index >> 16) << 5));
      StoreLe32(slot + 12,
                Arm64Branch::Encode(kArm64B, branch_address, target));
      return true;
    }
    default:
      return false;
  }
}

absl::StatusOr<uint64_t> ReadNearJumpSlotTarget(Arch arch, const uint8_t* slot,
                                                uint64_t slot_address) {
  switch (arch) {
    case Arch::kX64: {
      if (slot[0] != kX64JmpRel32) break;
      const auto disp =
          static_cast<uint32_t>(LoadUnaligned(slot + 1, 4, ByteOrder::kLittle));
      return X64Jmp::Decode(slot_address + 1, disp);
    }
    case Arch::kArm64: {
      const auto insn =
          static_cast<uint32_t>(LoadUnaligned(slot, 4, ByteOrder::kLittle));
      if (!Arm64Branch::IsBranch(insn)) break;
      return Arm64Branch::Decode(insn, slot_address);
    }
    default:
      break;
  }
  return absl::InternalError(absl::StrFormat(
      "jump table: no near jump slot at 0x%x", slot_address));
}

absl::StatusOr<uint64_t> ReadFarJumpSlotTarget(Arch arch, const uint8_t* slot) {
  if (arch == Arch::kX64 || arch == Arch::kArm64) {
    return LoadUnaligned(slot + 8, 8, ByteOrder::kLittle);
  }
  return absl::UnimplementedError("jump table: far slots of this target");
}

}  // namespace wasmcache::reference
