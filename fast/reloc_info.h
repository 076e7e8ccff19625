// The RelocInfo stream decoder of the fast implementation: one backward pass
// over the bytes, calling a visitor per entry, with every rule of the
// stream's encoding checked on the way (spec/FORMAT.md, "RelocInfo"):
// known modes, short-tag modes only in short records, pc deltas within 6
// bits, PC_JUMP as a minimal VLQ of at most 32 bits, never twice in a row
// nor last, and every pc inside the instructions. Errors are kDataLoss at
// the offending byte's file offset.

#ifndef WASMCACHE_FAST_RELOC_INFO_H_
#define WASMCACHE_FAST_RELOC_INFO_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "spec/errors.h"
#include "spec/reloc_mode.h"

namespace wasmcache::fast {

// visit(RelocMode mode, uint64_t pc) -> absl::Status, in stream order; the
// first non-OK status stops decoding and is returned.
template <class Visit>
absl::Status DecodeRelocInfo(const uint8_t* stream, size_t stream_size,
                             uint32_t code_size, uint64_t stream_offset,
                             Visit&& visit) {
  auto error = [&](size_t pos, std::string what) {
    return MalformedError(section::kReloc, what, stream_offset + pos);
  };
  auto truncated = [&](const char* what) {
    return error(0, absl::StrFormat("record truncated in %s", what));
  };
  size_t pos = stream_size;
  uint64_t pc = 0;
  bool after_pc_jump = false;
  while (pos != 0) {
    const uint8_t first = stream[--pos];
    const uint8_t short_tag = first & kRelocTagMask;
    RelocMode mode;
    if (short_tag != kDefaultTag) {
      mode = short_tag == kEmbeddedObjectTag ? RelocMode::kFullEmbeddedObject
             : short_tag == kCodeTargetTag   ? RelocMode::kCodeTarget
                                             : RelocMode::kWasmStubCall;
      pc += first >> kRelocTagBits;
    } else {
      const int number = first >> kRelocTagBits;
      if (number >= kNumberOfRelocModes) {
        return error(pos, absl::StrFormat("unknown mode %d", number));
      }
      mode = static_cast<RelocMode>(number);
      if (mode == RelocMode::kPcJump) {
        if (after_pc_jump) return error(pos, "PC_JUMP follows PC_JUMP");
        uint64_t jump = 0;
        for (int shift = 0;; shift += kVlqDataBits) {
          if (pos == 0) return truncated("PC_JUMP");
          const uint8_t byte = stream[--pos];
          const uint64_t group = byte & 0x7f;
          if (shift >= 32 || (group << shift) >> 32 != 0) {
            return error(pos, "PC_JUMP wider than 32 bits");
          }
          if (group == 0 && shift > 0 && !(byte & kVlqContinueBit)) {
            return error(pos, "PC_JUMP in a non-minimal VLQ");
          }
          jump |= group << shift;
          if (!(byte & kVlqContinueBit)) break;
        }
        if (jump == 0) return error(pos, "PC_JUMP of zero");
        pc += jump << kSmallPcDeltaBits;
        after_pc_jump = true;
        if (pc >= code_size) {
          return error(pos, absl::StrFormat("pc 0x%x outside the code", pc));
        }
        continue;
      }
      if (RelocShortTag(mode).has_value()) {
        return error(pos, absl::StrFormat("%s written as a long record",
                                          RelocModeName(mode)));
      }
      if (pos == 0) return truncated("pc delta");
      const uint8_t delta = stream[--pos];
      if (delta > kSmallPcDeltaMask) {
        return error(pos, absl::StrFormat("pc delta %d over 63", delta));
      }
      pc += delta;
      const size_t payload = static_cast<size_t>(RelocPayloadSize(mode));
      if (pos < payload) return truncated("payload");
      pos -= payload;
    }
    after_pc_jump = false;
    if (pc >= code_size) {
      return error(pos, absl::StrFormat("pc 0x%x outside the code", pc));
    }
    if (absl::Status st = visit(mode, pc); !st.ok()) return st;
  }
  if (after_pc_jump) return error(0, "PC_JUMP with no record after it");
  return absl::OkStatus();
}

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_RELOC_INFO_H_
