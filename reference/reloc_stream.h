// V8 13.6's RelocInfo stream: reading and writing, with validation.
//
// A stream is read from its last byte towards its first (V8's writer fills
// its buffer downwards). Records, in reading order:
//
//   short record   one byte (pc_delta << 2) | tag, tag 0..2 naming
//                  FULL_EMBEDDED_OBJECT, CODE_TARGET or WASM_STUB_CALL
//   long record    (mode << 2) | 3, then one pc-delta byte, then the mode's
//                  payload (DEOPT_REASON 1 byte; CONST_POOL, VENEER_POOL and
//                  the DEOPT_* ids 4 bytes, least significant first)
//   PC_JUMP        (22 << 2) | 3, then (pc_delta >> 6) as an unsigned VLQ
//                  (7 bits a byte, least significant group first, 0x80 =
//                  more); the low 6 bits ride in the next record
//
// pc deltas are unsigned; the first entry is relative to the instruction
// start. The reader accepts exactly the streams V8's writer produces: a
// record that V8 would read but never write (a long record for a mode that
// has a short tag, a pc byte over 63, a PC_JUMP of zero or in a non-minimal
// VLQ, a PC_JUMP with no record after it) is rejected, so that writing what
// was read gives back the same bytes.

#ifndef WASMCACHE_REFERENCE_RELOC_STREAM_H_
#define WASMCACHE_REFERENCE_RELOC_STREAM_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spec/reloc_mode.h"

namespace wasmcache::reference {

struct RelocEntry {
  RelocMode mode = RelocMode::kNoInfo;
  uint32_t pc = 0;    // offset from the instruction start
  uint32_t data = 0;  // payload of CONST_POOL, VENEER_POOL, DEOPT_* modes

  bool operator==(const RelocEntry&) const = default;
};

// Decodes `stream`. Every entry's pc must be below `instructions_size`.
// `file_offset` is the offset of stream[0] in the input, used in errors;
// errors are kDataLoss ("reloc: ...").
absl::StatusOr<std::vector<RelocEntry>> DecodeRelocStream(
    absl::Span<const uint8_t> stream, uint32_t instructions_size,
    uint64_t file_offset);

// Encodes entries sorted by pc, as V8's RelocInfoWriter does.
std::vector<uint8_t> EncodeRelocStream(absl::Span<const RelocEntry> entries);

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_RELOC_STREAM_H_
