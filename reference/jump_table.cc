#include "reference/jump_table.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/byte_io.h"
#include "reference/arch_codec.h"

namespace wasmcache::reference {
namespace {

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

bool JumpTablesSupported(Arch arch) {
  return CodecOf(arch).jump_tables_implemented();
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
  const ArchCodec& codec = CodecOf(arch);
  return codec.jump_tables_implemented() &&
         codec.write_near_slot(slot, slot_address, target);
}

void WriteFarJumpSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                      uint64_t target) {
  const ArchCodec& codec = CodecOf(arch);
  if (codec.jump_tables_implemented()) {
    codec.write_far_slot(slot, slot_address, target);
  }
}

bool WriteLazyCompileSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                          uint32_t function_index, uint64_t target) {
  const ArchCodec& codec = CodecOf(arch);
  return codec.jump_tables_implemented() &&
         codec.write_lazy_slot(slot, slot_address, function_index, target);
}

absl::StatusOr<uint64_t> ReadNearJumpSlotTarget(Arch arch, const uint8_t* slot,
                                                uint64_t slot_address) {
  const ArchCodec& codec = CodecOf(arch);
  if (codec.jump_tables_implemented()) {
    if (auto target = codec.read_near_slot(slot, slot_address)) return *target;
  }
  return absl::InternalError(absl::StrFormat(
      "jump table: no near jump slot at 0x%x", slot_address));
}

absl::StatusOr<uint64_t> ReadFarJumpSlotTarget(Arch arch, const uint8_t* slot,
                                               uint64_t slot_address) {
  const ArchCodec& codec = CodecOf(arch);
  if (codec.jump_tables_implemented()) {
    if (auto target = codec.read_far_slot(slot, slot_address)) {
      return *target;
    }
  }
  return absl::InternalError("jump table: no far jump slot");
}

}  // namespace wasmcache::reference
