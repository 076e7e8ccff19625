// Safepoint tables for the fast implementation: validation in one pass
// without allocation, and the lookup V8 performs on a validated table.
//
// The format and the rules are those of spec/FORMAT.md §7.3. In short, at
// T = safepoint_table_offset inside the instructions:
//
//   T+0   u32  stack slots            } target byte order
//   T+4   i32  entry count n          }
//   T+8   u32  configuration          } bit 0 deopt data, bits 1-3 register
//                                       width, 4-6 pc width, 7-9 deopt-index
//                                       width, 10-31 bitmap bytes B
//   T+12  n entries: pc, [deopt index + 1, trampoline + 1], registers
//         (little-endian, of the configured widths)
//   then  n bitmaps of B bytes, then 0xCC up to handler_table_offset,
//         which is the table's end rounded up to 4.
//
// CheckSafepointTable accepts exactly the tables the reference accepts
// (reference/safepoint_table.cc is the oracle of
// tests/fast_safepoints_test.cc), rejects with kDataLoss and the same
// message, and reports the first failed rule in the same order. It reads
// only [safepoint_table_offset, handler_table_offset) of the instructions,
// after checking that this range lies inside them.

#ifndef WASMCACHE_FAST_CHECK_SAFEPOINTS_H_
#define WASMCACHE_FAST_CHECK_SAFEPOINTS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "spec/arch.h"
#include "spec/layout.h"

namespace wasmcache::fast {

// kDataLoss "safepoints: <what> at offset 0x<hex>" (a file offset: the
// offending table byte, or the code-header field for an inconsistency of
// the header's two offsets) exactly when the reference's
// SafepointTable::Parse rejects; OK otherwise. `code_file_offset` is the
// file offset of instructions[0].
absl::Status CheckSafepointTable(const uint8_t* instructions, uint32_t size,
                                 const CodeHeader& header, Arch arch,
                                 uint64_t code_file_offset);

// The entry V8 uses for a frame suspended at some pc (the reference's
// SafepointEntry, flattened). `bitmap` points into the instructions.
struct SafepointHit {
  static constexpr int32_t kNone = -1;

  bool found = false;
  uint32_t pc = 0;                  // the entry's pc
  int32_t deopt_index = kNone;      // kNone without one
  int32_t trampoline_pc = kNone;    // kNone without one
  uint32_t tagged_registers = 0;    // bit per register code
  const uint8_t* bitmap = nullptr;  // bitmap_bytes bytes; bit i: slot i
  uint32_t bitmap_bytes = 0;        //   above the lowest spill slot

  bool IsTaggedSlotBit(uint32_t bit) const {
    return bit / 8 < bitmap_bytes && ((bitmap[bit / 8] >> (bit % 8)) & 1) != 0;
  }
};

// The entry V8's TryFindEntry picks for `pc_offset`: with deopt data, the
// entry of the last trampoline at or before it; otherwise the entry with the
// largest pc at or below it; found == false when there is none. Only for
// tables CheckSafepointTable accepted. O(log n) without deopt data.
SafepointHit FindSafepoint(const uint8_t* instructions,
                           const CodeHeader& header, Arch arch,
                           uint32_t pc_offset);

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_CHECK_SAFEPOINTS_H_
