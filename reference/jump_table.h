// Jump tables: the indirection every wasm call goes through.
//
// Each code space starts with its own tables, laid out in one block:
//
//   +-------------------------+  code space start (aligned)
//   | near jump table         |  slot i jumps to declared function i (or to
//   |   num_declared slots    |  its lazy-compile slot); WASM_CALL sites
//   +-------------------------+  call these
//   | far jump table          |  slot s < num_builtins: builtin s's entry;
//   |   builtins + functions  |  then one slot per declared function where
//   +-------------------------+  the target needs far jumps between spaces
//   | lazy-compile table      |  first code space only: slot i pushes i and
//   |   num_declared slots    |  jumps to the WasmCompileLazy far slot
//   +-------------------------+
//
// Slot contents are the instruction words V8 13.6's jump-table assembler
// emits for the target. Writers take the slot's own address (where the code
// will run) and the target address; a near slot whose target is out of
// reach reports false so the caller can use the far slot instead.

#ifndef WASMCACHE_REFERENCE_JUMP_TABLE_H_
#define WASMCACHE_REFERENCE_JUMP_TABLE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spec/arch.h"

namespace wasmcache::reference {

struct JumpTableLayout {
  uint64_t near_offset = 0;
  uint64_t near_size = 0;
  uint64_t far_offset = 0;
  uint64_t far_size = 0;
  uint32_t num_far_builtin_slots = 0;
  uint32_t num_far_function_slots = 0;
  uint64_t lazy_offset = 0;
  uint64_t lazy_size = 0;  // zero when the space has no lazy table
  uint64_t total_size = 0;

  uint64_t NearSlotOffset(const ArchTraits& t, uint32_t declared_index) const {
    return near_offset + JumpTableSlotOffset(t, declared_index);
  }
  uint64_t FarSlotOffset(const ArchTraits& t, uint32_t far_index) const {
    return far_offset + FarJumpTableSlotOffset(t, far_index);
  }
  uint64_t LazySlotOffset(const ArchTraits& t, uint32_t declared_index) const {
    return lazy_offset + uint64_t{declared_index} * t.lazy_compile_slot_size;
  }
};

// Computes the layout for a code space. Each table starts at the target's
// code alignment.
JumpTableLayout ComputeJumpTableLayout(Arch arch, uint32_t num_declared,
                                       uint32_t num_builtins,
                                       bool with_lazy_table);

// Whether wasmcache can emit this target's jump-table slots.
bool JumpTablesSupported(Arch arch);

// Writes a near jump slot at `slot` (running at `slot_address`) to `target`.
// Returns false, writing nothing, if the target is out of the slot's reach.
bool WriteNearJumpSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                       uint64_t target);
// Writes a far jump slot (absolute target, any distance).
void WriteFarJumpSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                      uint64_t target);
// Writes a lazy-compile slot for `function_index` that jumps to `target`
// (the far slot of WasmCompileLazy). Returns false if out of reach.
bool WriteLazyCompileSlot(Arch arch, uint8_t* slot, uint64_t slot_address,
                          uint32_t function_index, uint64_t target);

// Decodes the target of a near or far slot written above (for tests and
// inspection).
absl::StatusOr<uint64_t> ReadNearJumpSlotTarget(Arch arch, const uint8_t* slot,
                                                uint64_t slot_address);
// A far slot read where it runs (`slot_address`; by default where it lies).
absl::StatusOr<uint64_t> ReadFarJumpSlotTarget(Arch arch, const uint8_t* slot,
                                               uint64_t slot_address);
inline absl::StatusOr<uint64_t> ReadFarJumpSlotTarget(Arch arch,
                                                      const uint8_t* slot) {
  return ReadFarJumpSlotTarget(arch, slot, reinterpret_cast<uintptr_t>(slot));
}

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_JUMP_TABLE_H_
