#include "reference/reloc_stream.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

// Reads bytes from the end of a stream towards its start.
class BackwardCursor {
 public:
  BackwardCursor(absl::Span<const uint8_t> stream, uint64_t file_offset)
      : stream_(stream), position_(stream.size()), file_offset_(file_offset) {}

  bool done() const { return position_ == 0; }
  // File offset of the byte most recently read.
  uint64_t last_offset() const { return file_offset_ + position_; }

  absl::StatusOr<uint8_t> Next(std::string_view what) {
    if (position_ == 0) {
      return MalformedError(section::kReloc,
                            absl::StrFormat("record truncated in %s", what),
                            file_offset_);
    }
    return stream_[--position_];
  }

 private:
  absl::Span<const uint8_t> stream_;
  size_t position_;
  uint64_t file_offset_;
};

absl::Status Malformed(const BackwardCursor& cursor, std::string what) {
  return MalformedError(section::kReloc, what, cursor.last_offset());
}

}  // namespace

absl::StatusOr<std::vector<RelocEntry>> DecodeRelocStream(
    absl::Span<const uint8_t> stream, uint32_t instructions_size,
    uint64_t file_offset) {
  std::vector<RelocEntry> entries;
  BackwardCursor cursor(stream, file_offset);
  uint64_t pc = 0;
  bool after_pc_jump = false;

  while (!cursor.done()) {
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t first, cursor.Next("mode"));
    const uint8_t tag = first & kRelocTagMask;
    RelocEntry entry;
    if (tag != kDefaultTag) {
      entry.mode = tag == kEmbeddedObjectTag ? RelocMode::kFullEmbeddedObject
                   : tag == kCodeTargetTag   ? RelocMode::kCodeTarget
                                             : RelocMode::kWasmStubCall;
      pc += first >> kRelocTagBits;
    } else {
      const int mode_number = first >> kRelocTagBits;
      if (mode_number >= kNumberOfRelocModes) {
        return Malformed(cursor,
                         absl::StrFormat("unknown mode %d", mode_number));
      }
      const auto mode = static_cast<RelocMode>(mode_number);
      if (mode == RelocMode::kPcJump) {
        if (after_pc_jump) {
          return Malformed(cursor, "PC_JUMP follows PC_JUMP");
        }
        uint64_t jump = 0;
        for (int shift = 0;; shift += kVlqDataBits) {
          WASMCACHE_ASSIGN_OR_RETURN(const uint8_t byte,
                                     cursor.Next("PC_JUMP"));
          const uint64_t group = byte & ~kVlqContinueBit & 0xff;
          if (shift >= 32 || (group << shift) >> 32 != 0) {
            return Malformed(cursor, "PC_JUMP wider than 32 bits");
          }
          if (group == 0 && shift > 0 && !(byte & kVlqContinueBit)) {
            return Malformed(cursor, "PC_JUMP in a non-minimal VLQ");
          }
          jump |= group << shift;
          if (!(byte & kVlqContinueBit)) break;
        }
        if (jump == 0) return Malformed(cursor, "PC_JUMP of zero");
        pc += jump << kSmallPcDeltaBits;
        after_pc_jump = true;
        if (pc >= instructions_size) {
          return Malformed(
              cursor, absl::StrFormat("pc 0x%x outside the %d instruction "
                                      "bytes",
                                      pc, instructions_size));
        }
        continue;
      }
      if (RelocShortTag(mode).has_value()) {
        return Malformed(cursor, absl::StrFormat("%s written as a long record",
                                                 RelocModeName(mode)));
      }
      entry.mode = mode;
      WASMCACHE_ASSIGN_OR_RETURN(const uint8_t delta, cursor.Next("pc delta"));
      if (delta > kSmallPcDeltaMask) {
        return Malformed(cursor,
                         absl::StrFormat("pc delta %d over 63", delta));
      }
      pc += delta;
      const int payload = RelocPayloadSize(mode);
      for (int i = 0; i < payload; ++i) {
        WASMCACHE_ASSIGN_OR_RETURN(const uint8_t byte,
                                   cursor.Next("payload"));
        entry.data |= uint32_t{byte} << (8 * i);
      }
    }
    after_pc_jump = false;
    if (pc >= instructions_size) {
      return Malformed(cursor,
                       absl::StrFormat("pc 0x%x outside the %d instruction "
                                       "bytes",
                                       pc, instructions_size));
    }
    entry.pc = static_cast<uint32_t>(pc);
    entries.push_back(entry);
  }
  if (after_pc_jump) {
    return MalformedError(section::kReloc, "PC_JUMP with no record after it",
                          file_offset);
  }
  return entries;
}

std::vector<uint8_t> EncodeRelocStream(absl::Span<const RelocEntry> entries) {
  // Built in reading order, reversed at the end.
  std::vector<uint8_t> out;
  uint32_t last_pc = 0;
  for (const RelocEntry& entry : entries) {
    uint32_t delta = entry.pc - last_pc;
    last_pc = entry.pc;
    if (delta > kSmallPcDeltaMask) {
      out.push_back(static_cast<uint8_t>(
          (static_cast<int>(RelocMode::kPcJump) << kRelocTagBits) |
          kDefaultTag));
      uint32_t jump = delta >> kSmallPcDeltaBits;
      do {
        uint8_t byte = jump & 0x7f;
        jump >>= kVlqDataBits;
        if (jump != 0) byte |= kVlqContinueBit;
        out.push_back(byte);
      } while (jump != 0);
      delta &= kSmallPcDeltaMask;
    }
    if (const auto tag = RelocShortTag(entry.mode)) {
      out.push_back(static_cast<uint8_t>((delta << kRelocTagBits) | *tag));
      continue;
    }
    out.push_back(static_cast<uint8_t>(
        (static_cast<int>(entry.mode) << kRelocTagBits) | kDefaultTag));
    out.push_back(static_cast<uint8_t>(delta));
    uint32_t data = entry.data;
    for (int i = 0; i < RelocPayloadSize(entry.mode); ++i) {
      out.push_back(static_cast<uint8_t>(data));
      data >>= 8;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace wasmcache::reference
