#include "reference/safepoint_table.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_format.h"
#include "reference/byte_io.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

// Offsets of the two code-header fields, from the tag byte (§7.1).
constexpr uint64_t kSafepointOffsetField = 5;
constexpr uint64_t kHandlerOffsetField = 9;

// Configuration word fields: (shift, bits).
constexpr uint32_t kDeoptFlagShift = 0;
constexpr uint32_t kRegistersShift = 1;
constexpr uint32_t kPcShift = 4;
constexpr uint32_t kDeoptIndexShift = 7;
constexpr uint32_t kTaggedSlotBytesShift = 10;
constexpr uint32_t kWidthMask = 0x7;
static_assert(kTaggedSlotBytesShift + 22 == 32, "the fields fill the word");

// V8's value_to_bytes: the width that holds `value` (0 for 0).
uint32_t WidthFor(uint64_t value) {
  if (value == 0) return 0;
  if (value <= 0xff) return 1;
  if (value <= 0xffff) return 2;
  if (value <= 0xffffff) return 3;
  return 4;
}

// Entry fields are little-endian on every target.
uint32_t ReadLittle(const uint8_t* at, uint32_t width) {
  uint32_t value = 0;
  for (uint32_t b = 0; b < width; ++b) value |= uint32_t{at[b]} << (8 * b);
  return value;
}

uint32_t CeilBytes(uint64_t bits) {
  return static_cast<uint32_t>((bits + 7) / 8);
}

// Builds errors at file offsets.
class Rejecter {
 public:
  explicit Rejecter(uint64_t code_file_offset)
      : code_file_offset_(code_file_offset) {}

  // At a byte of the code.
  absl::Status At(uint64_t code_offset, std::string what) const {
    return MalformedError(kSafepointsSection, what,
                          code_file_offset_ + code_offset);
  }
  // At a code-header field, `field` bytes after the tag.
  absl::Status AtHeaderField(uint64_t field, std::string what) const {
    const uint64_t distance = kCodeHeaderSize - field;
    return MalformedError(
        kSafepointsSection, what,
        code_file_offset_ >= distance ? code_file_offset_ - distance : 0);
  }

 private:
  uint64_t code_file_offset_;
};

// V8 13.6 records tagged registers only in Liftoff debug code and supports
// no lazy deopts in wasm: such a function's table has neither.
bool IsTurboFanWasmFunction(const CodeHeader& header) {
  return header.kind == kWasmFunctionKind && header.tier == kTierTurboFan;
}

// Where the fields of entry i sit, relative to the code.
struct EntryOffsets {
  uint64_t pc;
  uint64_t deopt_index;
  uint64_t trampoline;
};

}  // namespace

SafepointTableConfig SafepointTableConfig::Decode(uint32_t word) {
  SafepointTableConfig c;
  c.has_deopt_data = ((word >> kDeoptFlagShift) & 1) != 0;
  c.tagged_registers_width = (word >> kRegistersShift) & kWidthMask;
  c.pc_width = (word >> kPcShift) & kWidthMask;
  c.deopt_index_width = (word >> kDeoptIndexShift) & kWidthMask;
  c.tagged_slot_bytes = word >> kTaggedSlotBytesShift;
  return c;
}

uint32_t SafepointTableConfig::Encode() const {
  return (uint32_t{has_deopt_data} << kDeoptFlagShift) |
         ((tagged_registers_width & kWidthMask) << kRegistersShift) |
         ((pc_width & kWidthMask) << kPcShift) |
         ((deopt_index_width & kWidthMask) << kDeoptIndexShift) |
         ((tagged_slot_bytes & kSafepointMaxTaggedSlotBytes)
          << kTaggedSlotBytesShift);
}

absl::StatusOr<SafepointTable> SafepointTable::Parse(
    absl::Span<const uint8_t> instructions, const CodeHeader& header, Arch arch,
    uint64_t code_file_offset) {
  const Rejecter reject(code_file_offset);
  const int64_t start = header.safepoint_table_offset;
  const int64_t end_bound = header.handler_table_offset;

  // 1. The table's region: [safepoint_table_offset, handler_table_offset).
  if (start < 0 || start > end_bound) {
    return reject.AtHeaderField(
        kSafepointOffsetField,
        absl::StrFormat("safepoint_table_offset %d outside [0, "
                        "handler_table_offset %d]",
                        start, end_bound));
  }
  if (static_cast<uint64_t>(end_bound) > instructions.size()) {
    return reject.AtHeaderField(
        kHandlerOffsetField,
        absl::StrFormat("handler_table_offset %d past the %d instruction bytes",
                        end_bound, instructions.size()));
  }
  if (start % kSafepointTableAlignment != 0) {
    return reject.At(start, absl::StrFormat("table at 0x%x is not %d-byte "
                                            "aligned",
                                            start, kSafepointTableAlignment));
  }
  const uint64_t room = static_cast<uint64_t>(end_bound - start);
  if (room < kSafepointTableHeaderSize) {
    return reject.At(start, absl::StrFormat("%d-byte table header does not fit "
                                            "in the %d bytes before the "
                                            "handler table",
                                            kSafepointTableHeaderSize, room));
  }

  // 2. The header words.
  const ByteOrder order = TraitsOf(arch).byte_order;
  const uint8_t* base = instructions.data() + start;
  SafepointTable table;
  table.offset_ = static_cast<uint32_t>(start);
  table.stack_slots_ = static_cast<uint32_t>(LoadUnaligned(base, 4, order));
  const int32_t length =
      static_cast<int32_t>(LoadUnaligned(base + 4, 4, order));
  table.config_ = SafepointTableConfig::Decode(
      static_cast<uint32_t>(LoadUnaligned(base + 8, 4, order)));
  const SafepointTableConfig& config = table.config_;
  const uint64_t config_at = start + 8;

  if (int64_t{table.stack_slots_} != int64_t{header.stack_slots}) {
    return reject.At(start,
                     absl::StrFormat("stack slot count %d differs from "
                                     "the code header's %d",
                                     table.stack_slots_, header.stack_slots));
  }
  if (length < 0) {
    return reject.At(start + 4,
                     absl::StrFormat("negative entry count %d", length));
  }
  const std::pair<const char*, uint32_t> widths[] = {
      {"tagged-register", config.tagged_registers_width},
      {"pc", config.pc_width},
      {"deopt-index", config.deopt_index_width},
  };
  for (const auto& [name, width] : widths) {
    if (width > kSafepointMaxFieldWidth) {
      return reject.At(config_at,
                       absl::StrFormat("%s width %d over %d bytes", name, width,
                                       kSafepointMaxFieldWidth));
    }
  }
  // Every entry takes at least its pc byte, so the count is bounded by the
  // region before anything is allocated.
  if (length > 0 && config.pc_width == 0) {
    return reject.At(config_at,
                     absl::StrFormat("pc width 0 with %d entries", length));
  }
  if (config.has_deopt_data != (config.deopt_index_width != 0)) {
    return reject.At(
        config_at,
        absl::StrFormat("deopt-data flag %d with a deopt-index "
                        "width of %d",
                        int{config.has_deopt_data}, config.deopt_index_width));
  }
  if (IsTurboFanWasmFunction(header)) {
    if (config.tagged_registers_width != 0) {
      return reject.At(config_at,
                       absl::StrFormat("tagged-register width %d in a TurboFan "
                                       "wasm function, which has none",
                                       config.tagged_registers_width));
    }
    if (config.has_deopt_data) {
      return reject.At(config_at,
                       "deopt data in a TurboFan wasm function, which has no "
                       "lazy deopts");
    }
  }

  // 3. Entries and bitmaps fill the region, up to 0xCC padding.
  const uint64_t entry_size = config.entry_size();
  const uint64_t byte_size =
      kSafepointTableHeaderSize +
      static_cast<uint64_t>(length) * (entry_size + config.tagged_slot_bytes);
  if (byte_size > room) {
    return reject.At(
        start + 4,
        absl::StrFormat("%d entries of %d bytes with %d-byte bitmaps need %d "
                        "bytes, but %d precede the handler table",
                        length, entry_size, config.tagged_slot_bytes, byte_size,
                        room));
  }
  table.byte_size_ = static_cast<uint32_t>(byte_size);
  const uint64_t table_end = start + byte_size;
  const uint64_t aligned_end = (table_end + kSafepointTableAlignment - 1) /
                               kSafepointTableAlignment *
                               kSafepointTableAlignment;
  if (static_cast<uint64_t>(end_bound) != aligned_end) {
    return reject.At(table_end,
                     absl::StrFormat("table ends at 0x%x, but the handler "
                                     "table starts at 0x%x instead of 0x%x",
                                     table_end, end_bound, aligned_end));
  }
  for (uint64_t at = table_end; at < aligned_end; ++at) {
    if (instructions[at] != kSafepointTablePadding) {
      return reject.At(
          at, absl::StrFormat("padding byte 0x%02x is not 0x%02x",
                              instructions[at], kSafepointTablePadding));
    }
  }

  // 4. Decode the entries.
  const uint64_t entries_at = start + kSafepointTableHeaderSize;
  const uint64_t bitmaps_at = entries_at + length * entry_size;
  auto offsets_of = [&](uint64_t i) {
    const uint64_t pc = entries_at + i * entry_size;
    return EntryOffsets{pc, pc + config.pc_width,
                        pc + config.pc_width + config.deopt_index_width};
  };
  std::vector<uint32_t> raw_deopt(length, 0), raw_trampoline(length, 0);
  table.entries_.resize(length);
  for (int32_t i = 0; i < length; ++i) {
    SafepointEntry& e = table.entries_[i];
    const EntryOffsets at = offsets_of(i);
    // Fields are read through data() + offset: a field of width 0 may
    // start one past the last byte (a table without register bytes at the
    // very end of the instructions), where indexing would be out of range.
    const uint8_t* bytes = instructions.data();
    e.pc = ReadLittle(bytes + at.pc, config.pc_width);
    uint64_t next = at.pc + config.pc_width;
    if (config.has_deopt_data) {
      raw_deopt[i] = ReadLittle(bytes + at.deopt_index,
                                config.deopt_index_width);
      raw_trampoline[i] = ReadLittle(bytes + at.trampoline, config.pc_width);
      next = at.trampoline + config.pc_width;
    }
    e.tagged_registers =
        ReadLittle(bytes + next, config.tagged_registers_width);
    e.tagged_slots = instructions.subspan(
        bitmaps_at + uint64_t{config.tagged_slot_bytes} * i,
        config.tagged_slot_bytes);
  }

  // 5. Check each entry in file order.
  const uint32_t last_pc = length > 0 ? table.entries_.back().pc : 0;
  const uint32_t fixed_slots = WasmFrameFixedSlots(arch);
  const uint32_t spill_slots =
      table.stack_slots_ > fixed_slots ? table.stack_slots_ - fixed_slots : 0;
  int64_t previous_trampoline = -1;
  for (int32_t i = 0; i < length; ++i) {
    SafepointEntry& e = table.entries_[i];
    const EntryOffsets at = offsets_of(i);
    if (e.pc == 0) {
      return reject.At(at.pc, absl::StrFormat("entry %d has pc 0, which V8 "
                                              "reads as no entry",
                                              i));
    }
    if (e.pc > start) {
      return reject.At(at.pc, absl::StrFormat("entry %d pc 0x%x is past the "
                                              "code, which ends at 0x%x",
                                              i, e.pc, start));
    }
    if (i > 0 && e.pc <= table.entries_[i - 1].pc) {
      return reject.At(
          at.pc, absl::StrFormat("entry %d pc 0x%x does not "
                                 "follow entry %d pc 0x%x",
                                 i, e.pc, i - 1, table.entries_[i - 1].pc));
    }
    if ((raw_deopt[i] == 0) != (raw_trampoline[i] == 0)) {
      return reject.At(at.deopt_index,
                       absl::StrFormat("entry %d has a deopt index or a "
                                       "trampoline but not both",
                                       i));
    }
    if (raw_deopt[i] != 0) {
      if (raw_deopt[i] > 0x7fffffffu) {
        return reject.At(at.deopt_index,
                         absl::StrFormat("entry %d deopt index 0x%x out of "
                                         "range",
                                         i, raw_deopt[i] - 1));
      }
      e.deopt_index = static_cast<int32_t>(raw_deopt[i] - 1);
      if (header.deopt_data_size == 0) {
        return reject.At(at.deopt_index,
                         absl::StrFormat("entry %d has deopt index %d, but "
                                         "the code has no deopt data",
                                         i, e.deopt_index));
      }
      const uint32_t trampoline = raw_trampoline[i] - 1;
      if (trampoline >= start) {
        return reject.At(at.trampoline,
                         absl::StrFormat("entry %d trampoline 0x%x is past "
                                         "the code, which ends at 0x%x",
                                         i, trampoline, start));
      }
      if (trampoline <= last_pc) {
        return reject.At(at.trampoline,
                         absl::StrFormat("entry %d trampoline 0x%x is not "
                                         "after the last entry's pc 0x%x",
                                         i, trampoline, last_pc));
      }
      if (int64_t{trampoline} <= previous_trampoline) {
        return reject.At(at.trampoline,
                         absl::StrFormat("entry %d trampoline 0x%x does not "
                                         "follow the previous trampoline 0x%x",
                                         i, trampoline, previous_trampoline));
      }
      e.trampoline_pc = static_cast<int32_t>(trampoline);
      previous_trampoline = trampoline;
    }
    for (uint32_t byte = 0; byte < e.tagged_slots.size(); ++byte) {
      for (uint32_t bit = 0; bit < 8; ++bit) {
        const uint32_t position = byte * 8 + bit;
        if (e.IsTaggedSlotBit(position) && position >= spill_slots) {
          return reject.At(
              bitmaps_at + uint64_t{config.tagged_slot_bytes} * i + byte,
              absl::StrFormat("entry %d marks slot bit %d tagged, outside "
                              "the %d spill slots of %d stack slots",
                              i, position, spill_slots, table.stack_slots_));
        }
      }
    }
    if (i > 0) {
      const SafepointEntry& p = table.entries_[i - 1];
      if (p.deopt_index == e.deopt_index &&
          p.trampoline_pc == e.trampoline_pc &&
          p.tagged_registers == e.tagged_registers &&
          std::equal(p.tagged_slots.begin(), p.tagged_slots.end(),
                     e.tagged_slots.begin(), e.tagged_slots.end())) {
        return reject.At(at.pc, absl::StrFormat("entry %d repeats entry %d "
                                                "but for its pc (V8 merges "
                                                "such entries)",
                                                i, i - 1));
      }
    }
  }

  // 6. Field widths are the ones V8 derives from the values.
  uint64_t largest_pc_plus_1 = 0;
  uint64_t largest_deopt_plus_1 = 0;
  uint32_t registers = 0;
  int64_t highest_bit = -1;
  for (const SafepointEntry& e : table.entries_) {
    largest_pc_plus_1 = std::max<uint64_t>(
        {largest_pc_plus_1, uint64_t{e.pc} + 1,
         static_cast<uint64_t>(int64_t{e.trampoline_pc} + 1)});
    largest_deopt_plus_1 =
        std::max<uint64_t>(largest_deopt_plus_1,
                           static_cast<uint64_t>(int64_t{e.deopt_index} + 1));
    registers |= e.tagged_registers;
    for (uint32_t bit = 0; bit < e.tagged_slots.size() * 8; ++bit) {
      if (e.IsTaggedSlotBit(bit))
        highest_bit = std::max<int64_t>(highest_bit, bit);
    }
  }
  const struct {
    const char* name;
    uint32_t width;
    uint64_t largest;
  } minimal[] = {
      {"pc", config.pc_width, largest_pc_plus_1},
      {"deopt-index", config.deopt_index_width, largest_deopt_plus_1},
      {"tagged-register", config.tagged_registers_width, registers},
  };
  for (const auto& field : minimal) {
    if (field.width != WidthFor(field.largest)) {
      return reject.At(config_at,
                       absl::StrFormat("%s width %d, but V8 writes %d for the "
                                       "largest stored value 0x%x",
                                       field.name, field.width,
                                       WidthFor(field.largest), field.largest));
    }
  }
  // V8 sizes the bitmaps from the lowest tagged frame slot, or from all
  // stack slots when no slot is tagged.
  const uint32_t expected_bitmap_bytes = highest_bit >= 0
                                             ? CeilBytes(highest_bit + 1)
                                             : CeilBytes(table.stack_slots_);
  if (config.tagged_slot_bytes != expected_bitmap_bytes) {
    return reject.At(
        config_at,
        absl::StrFormat("%d bitmap bytes per entry, but V8 "
                        "writes %d for %d stack slots and "
                        "highest tagged bit %d",
                        config.tagged_slot_bytes, expected_bitmap_bytes,
                        table.stack_slots_, highest_bit));
  }
  return table;
}

std::optional<SafepointEntry> SafepointTable::FindEntry(
    uint32_t pc_offset) const {
  // A pc at or after a trampoline: the last trampoline at or before it.
  if (config_.has_deopt_data) {
    std::optional<size_t> candidate;
    for (size_t i = 0; i < entries_.size(); ++i) {
      const int64_t trampoline = entries_[i].trampoline_pc;
      if (trampoline > int64_t{pc_offset}) break;
      if (trampoline != SafepointEntry::kNoTrampolinePc) candidate = i;
    }
    if (candidate.has_value()) return entries_[*candidate];
  }
  // Otherwise the entry with the largest pc at or below pc_offset.
  const auto after = std::upper_bound(
      entries_.begin(), entries_.end(), pc_offset,
      [](uint32_t pc, const SafepointEntry& e) { return pc < e.pc; });
  if (after == entries_.begin()) return std::nullopt;
  return *(after - 1);
}

}  // namespace wasmcache::reference
