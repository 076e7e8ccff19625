// The safepoint table of one TurboFan function: reading and validation.
//
// What it is. Every call in TurboFan code is a place where the garbage
// collector or a stack walk may find the function suspended. For each such
// return address the code generator records which spill slots of the frame
// hold tagged values, and, for calls that may deoptimize lazily, a deopt
// index and the pc of a trampoline. V8 13.6 writes these records as a table
// inside the instructions, after the code proper (spec/FORMAT.md §7.3):
//
//   safepoint_table_offset (4-aligned)
//   +0   u32  stack slots        the frame's slot count (target byte order)
//   +4   i32  length n           number of entries
//   +8   u32  configuration      bit 0      has deopt data
//                                bits 1-3   tagged-register width   (0..4)
//                                bits 4-6   pc width                (0..4)
//                                bits 7-9   deopt-index width       (0..4)
//                                bits 10-31 tagged-slot bytes per entry
//   +12  n entries, each:
//          pc                    pc width bytes
//          deopt index + 1       deopt-index width bytes  } only with
//          trampoline pc + 1     pc width bytes           } deopt data
//          tagged registers      tagged-register width bytes
//        then n bitmaps of tagged-slot bytes each
//   then 0xCC padding up to the next multiple of 4, which is
//   handler_table_offset
//
// Entry fields are little-endian whatever the target (V8 writes and reads
// them a byte at a time); the three header words are in the target's byte
// order. In a bitmap, bit i (byte i / 8, bit i % 8) stands for the frame slot
// i slots above the lowest spill slot, that is frame slot
// `stack_slots - 1 - i` counting from the caller's return address (slot 0)
// towards the stack pointer.
//
// How V8 finds an entry (SafepointTable::TryFindEntry): a pc at or after a
// trampoline belongs to the entry of the last trampoline at or before it;
// any other pc belongs to the entry with the largest pc at or below it, or
// to none if it precedes the first entry. V8 merges consecutive entries that
// differ only in their pc, so one entry covers every call up to the next
// entry: a lookup is not an exact match. FindEntry() implements the same
// rule.
//
// Trust. V8 reads the table without any bounds check, whenever it walks a
// stack through the function (garbage collection, exceptions, stack traces),
// and visits the slots the bitmap names as tagged pointers. Parse() accepts
// only tables that V8 13.6 writes: inside [safepoint_table_offset,
// handler_table_offset) and filling it exactly, pcs of calls inside the code
// and strictly increasing, trampolines after every pc and increasing, deopt
// indices only with deopt data, tagged slots only among the frame's spill
// slots, minimal field widths and no entry that V8 would have merged. A
// TurboFan wasm function (code kind 0, tier 2: every function of a cache)
// has neither deopt data nor tagged registers in V8 13.6 (wasm has no lazy
// deopts; only Liftoff debug code records registers), so its table must not
// have them; the generic rules for both apply to any other code header.
// Errors are kDataLoss, "safepoints: <what> at offset 0x<hex>" (file
// offsets).
//
// The result points into the instructions (bitmaps are spans); they must
// outlive it.

#ifndef WASMCACHE_REFERENCE_SAFEPOINT_TABLE_H_
#define WASMCACHE_REFERENCE_SAFEPOINT_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spec/arch.h"
#include "spec/layout.h"

namespace wasmcache::reference {

// Section name in error messages.
inline constexpr std::string_view kSafepointsSection = "safepoints";

// Layout constants of V8 13.6 (safepoint-table.h, instruction-stream.h).
inline constexpr uint32_t kSafepointTableHeaderSize = 12;  // three words
inline constexpr uint32_t kSafepointTableAlignment = 4;    // kMetadataAlignment
inline constexpr uint8_t kSafepointTablePadding = 0xCC;    // DataAlign's byte
inline constexpr uint32_t kSafepointMaxFieldWidth = 4;     // value_to_bytes
inline constexpr uint32_t kSafepointMaxTaggedSlotBytes = (1u << 22) - 1;

// Fixed slots of a wasm frame that no bitmap may name: return address,
// caller's frame pointer, frame-type marker, instance data, and on ppc64 the
// constant-pool pointer (WasmFrameConstants::kFixedSlotCount).
constexpr uint32_t WasmFrameFixedSlots(Arch arch) {
  return arch == Arch::kPpc64 ? 5 : 4;
}

// The configuration word, decoded.
struct SafepointTableConfig {
  bool has_deopt_data = false;
  uint32_t tagged_registers_width = 0;
  uint32_t pc_width = 0;
  uint32_t deopt_index_width = 0;
  uint32_t tagged_slot_bytes = 0;

  static SafepointTableConfig Decode(uint32_t word);
  uint32_t Encode() const;
  // Bytes of one entry, without its bitmap.
  uint32_t entry_size() const {
    return pc_width + (has_deopt_data ? deopt_index_width + pc_width : 0) +
           tagged_registers_width;
  }

  bool operator==(const SafepointTableConfig&) const = default;
};

struct SafepointEntry {
  static constexpr int32_t kNoDeoptIndex = -1;
  static constexpr int32_t kNoTrampolinePc = -1;

  uint32_t pc = 0;  // return address of the call, offset in the code
  int32_t deopt_index = kNoDeoptIndex;
  int32_t trampoline_pc = kNoTrampolinePc;
  uint32_t tagged_registers = 0;           // bit per register code
  absl::Span<const uint8_t> tagged_slots;  // the entry's bitmap

  bool has_deopt_index() const { return deopt_index != kNoDeoptIndex; }
  // Whether bitmap bit `bit` is set (false past the bitmap).
  bool IsTaggedSlotBit(uint32_t bit) const {
    return bit / 8 < tagged_slots.size() &&
           ((tagged_slots[bit / 8] >> (bit % 8)) & 1) != 0;
  }
};

class SafepointTable {
 public:
  // Reads and validates the table of one function. `instructions` are its
  // instruction bytes and `header` its code header (only its two table
  // offsets, stack_slots, deopt_data_size, kind and tier are used; the
  // offsets are checked against the instructions here too); `arch` gives
  // the byte order of the header words and the frame's fixed slots;
  // `code_file_offset` is the file offset of instructions[0], used in
  // errors, which point at the offending byte of the table, or, for an
  // inconsistency between the header's offsets, at the code-header field
  // (which precedes the instructions by a fixed distance, §7.1).
  // Cost: one pass over the table; the entries are decoded into a vector.
  static absl::StatusOr<SafepointTable> Parse(
      absl::Span<const uint8_t> instructions, const CodeHeader& header,
      Arch arch, uint64_t code_file_offset);

  size_t size() const { return entries_.size(); }
  const SafepointEntry& entry(size_t i) const { return entries_[i]; }
  absl::Span<const SafepointEntry> entries() const { return entries_; }

  // The entry V8 uses when a frame of this function is suspended at
  // `pc_offset` (see the top of this file), or nullopt where V8 would find
  // none. O(log n) for pcs, O(n) when the table has deopt data.
  std::optional<SafepointEntry> FindEntry(uint32_t pc_offset) const;

  uint32_t offset() const { return offset_; }        // in the code
  uint32_t byte_size() const { return byte_size_; }  // without padding
  uint32_t stack_slots() const { return stack_slots_; }
  const SafepointTableConfig& config() const { return config_; }

 private:
  uint32_t offset_ = 0;
  uint32_t byte_size_ = 0;
  uint32_t stack_slots_ = 0;
  SafepointTableConfig config_;
  std::vector<SafepointEntry> entries_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_SAFEPOINT_TABLE_H_
