// Safepoint-table validation and lookup (spec/FORMAT.md §7.3).
//
// One pass over the table, no allocation. The checks run in the order the
// format lists them (and the reference applies them), so the first failed
// rule is the one reported. Every failure leaves through a cold,
// out-of-line formatter; the straight path only loads and compares.
//
// Facts the pass relies on, each established before it is used:
//   - [T, handler_table_offset) lies inside the instructions, so every
//     entry, bitmap and padding byte read below is in bounds once the
//     entries and bitmaps are known to fit in the region;
//   - pcs are strictly increasing, so the largest pc is the last one;
//   - trampolines are strictly increasing and all after the last pc, so
//     the largest trampoline is the last one seen, and a lookup at or
//     before the last pc never lands on a trampoline;
//   - every bitmap bit lies below the spill-slot count, so the highest set
//     bit is in the last bitmap byte exactly when some entry's last byte is
//     non-zero.

#include "fast/check/safepoints.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "fast/memory.h"
#include "spec/errors.h"

namespace wasmcache::fast {
namespace {

constexpr std::string_view kSection = "safepoints";
constexpr ByteOrder kLe = ByteOrder::kLittle;

constexpr uint32_t kHeaderBytes = 12;  // stack slots, count, configuration
constexpr uint32_t kAlign = 4;         // kMetadataAlignment
constexpr uint8_t kPadByte = 0xCC;     // DataAlign's filler
constexpr uint32_t kMaxWidth = 4;      // value_to_bytes never exceeds 4

// The two code-header fields, counted back from instructions[0]: the
// 62-byte header holds safepoint_table_offset at +5 and
// handler_table_offset at +9 from its tag byte (§7.1).
constexpr uint64_t kSafepointFieldBack = kCodeHeaderSize - 5;
constexpr uint64_t kHandlerFieldBack = kCodeHeaderSize - 9;

// The configuration word.
struct Config {
  bool deopt;        // bit 0
  uint32_t reg_w;    // bits 1-3
  uint32_t pc_w;     // bits 4-6
  uint32_t deopt_w;  // bits 7-9
  uint32_t bitmap;   // bits 10-31: bitmap bytes per entry

  explicit Config(uint32_t word)
      : deopt((word & 1) != 0),
        reg_w((word >> 1) & 7),
        pc_w((word >> 4) & 7),
        deopt_w((word >> 7) & 7),
        bitmap(word >> 10) {}

  // Bytes of one entry without its bitmap (at most 16).
  uint32_t entry_bytes() const {
    return pc_w + (deopt ? deopt_w + pc_w : 0) + reg_w;
  }
  // Distance from an entry to its trampoline and to its registers.
  uint32_t trampoline_at() const { return pc_w + deopt_w; }
  uint32_t registers_at() const { return deopt ? pc_w + deopt_w + pc_w : pc_w; }
};

// A little-endian entry field of 0 to 4 bytes. The width is fixed for a
// table, so the switch is predicted; reads stay inside the field.
inline uint32_t LoadField(const uint8_t* at, uint32_t width) {
  switch (width) {
    case 0:
      return 0;
    case 1:
      return at[0];
    case 2:
      return Load16(at, kLe);
    case 3:
      return uint32_t{Load16(at, kLe)} | uint32_t{at[2]} << 16;
    default:
      return Load32(at, kLe);
  }
}

// V8's value_to_bytes: the bytes that hold `value` (0 for 0, at most 4).
constexpr uint32_t WidthOf(uint64_t value) {
  return std::min<uint32_t>((std::bit_width(value) + 7) / 8, kMaxWidth);
}
static_assert(WidthOf(0) == 0 && WidthOf(1) == 1 && WidthOf(0xff) == 1 &&
              WidthOf(0x100) == 2 && WidthOf(0xffffff) == 3 &&
              WidthOf(0x1000000) == 4 && WidthOf(uint64_t{1} << 40) == 4);

// Whether any of [at, at + count) is non-zero, eight bytes at a time.
bool AnyNonZero(const uint8_t* at, uint64_t count) {
  uint64_t acc = 0;
  uint64_t i = 0;
  for (; i + 8 <= count; i += 8) acc |= LoadRaw<uint64_t>(at + i);
  for (; i < count; ++i) acc |= at[i];
  return acc != 0;
}

// ---------------------------------------------------------------------------
// Failures: formatted out of line, only when taken.

template <class... Args>
[[gnu::cold, gnu::noinline]] absl::Status Reject(
    uint64_t file_offset, const absl::FormatSpec<Args...>& format,
    const Args&... args) {
  return MalformedError(kSection, absl::StrFormat(format, args...),
                        file_offset);
}

// At a code-header field `back` bytes before the instructions (0 when the
// instructions sit closer than that to the start of the file).
template <class... Args>
[[gnu::cold, gnu::noinline]] absl::Status RejectField(
    uint64_t code_file_offset, uint64_t back,
    const absl::FormatSpec<Args...>& format, const Args&... args) {
  return MalformedError(kSection, absl::StrFormat(format, args...),
                        code_file_offset >= back ? code_file_offset - back : 0);
}

[[gnu::cold, gnu::noinline]] absl::Status RejectTooWide(uint64_t at,
                                                        const Config& c) {
  const std::pair<const char*, uint32_t> fields[] = {
      {"tagged-register", c.reg_w}, {"pc", c.pc_w}, {"deopt-index", c.deopt_w}};
  for (const auto& [name, width] : fields) {
    if (width > kMaxWidth) {
      return Reject(at, "%s width %d over %d bytes", name, width, kMaxWidth);
    }
  }
  return absl::InternalError("safepoints: no width over 4");
}

// The first bitmap byte of entry i at or after `from` that names a slot at
// or above `spill`; `bm` is the entry's bitmap of `bytes` bytes.
[[gnu::cold, gnu::noinline]] absl::Status RejectSpillBit(
    uint64_t bitmap_file_offset, int32_t i, const uint8_t* bm, uint32_t bytes,
    uint32_t spill, uint32_t slots) {
  for (uint32_t k = spill / 8; k < bytes; ++k) {
    const uint32_t mask =
        k == spill / 8 ? (0xffu << (spill % 8)) & 0xffu : 0xffu;
    const uint32_t bad = bm[k] & mask;
    if (bad != 0) {
      return Reject(bitmap_file_offset + k,
                    "entry %d marks slot bit %d tagged, outside the %d spill "
                    "slots of %d stack slots",
                    i, k * 8 + std::countr_zero(bad), spill, slots);
    }
  }
  return absl::InternalError("safepoints: no bit outside the spill slots");
}

// Bitmap size other than V8's; computes the highest set bit for the message.
[[gnu::cold, gnu::noinline]] absl::Status RejectBitmapBytes(
    uint64_t at, const uint8_t* bitmaps, uint64_t count, uint32_t bytes,
    uint32_t slots) {
  int64_t highest = -1;
  for (uint64_t b = 0; b < count; ++b) {
    if (bitmaps[b] != 0) {
      const int64_t bit =
          int64_t(b % bytes) * 8 + std::bit_width(bitmaps[b]) - 1;
      highest = std::max(highest, bit);
    }
  }
  const uint32_t expected = highest >= 0 ? uint32_t(highest / 8 + 1)
                                         : uint32_t((uint64_t{slots} + 7) / 8);
  return Reject(at,
                "%d bitmap bytes per entry, but V8 writes %d for %d stack "
                "slots and highest tagged bit %d",
                bytes, expected, slots, highest);
}

}  // namespace

absl::Status CheckSafepointTable(const uint8_t* instructions, uint32_t size,
                                 const CodeHeader& header, Arch arch,
                                 uint64_t code_file_offset) {
  // The region [T, handler_table_offset) inside the instructions.
  const int32_t t_signed = header.safepoint_table_offset;
  const int32_t end_signed = header.handler_table_offset;
  if (t_signed < 0 || t_signed > end_signed) [[unlikely]] {
    return RejectField(code_file_offset, kSafepointFieldBack,
                       "safepoint_table_offset %d outside [0, "
                       "handler_table_offset %d]",
                       t_signed, end_signed);
  }
  if (static_cast<uint32_t>(end_signed) > size) [[unlikely]] {
    return RejectField(code_file_offset, kHandlerFieldBack,
                       "handler_table_offset %d past the %d instruction bytes",
                       end_signed, size);
  }
  const uint32_t t = static_cast<uint32_t>(t_signed);
  const uint32_t end = static_cast<uint32_t>(end_signed);
  const uint64_t t_file = code_file_offset + t;
  const uint64_t config_file = t_file + 8;
  if (t % kAlign != 0) [[unlikely]] {
    return Reject(t_file, "table at 0x%x is not %d-byte aligned", t, kAlign);
  }
  const uint32_t room = end - t;
  if (room < kHeaderBytes) [[unlikely]] {
    return Reject(t_file,
                  "%d-byte table header does not fit in the %d bytes before "
                  "the handler table",
                  kHeaderBytes, room);
  }

  // The three header words.
  const ByteOrder order = TraitsOf(arch).byte_order;
  const uint8_t* table = instructions + t;
  const uint32_t slots = Load32(table, order);
  const int32_t n = static_cast<int32_t>(Load32(table + 4, order));
  const Config c(Load32(table + 8, order));
  if (header.stack_slots < 0 ||
      slots != static_cast<uint32_t>(header.stack_slots)) [[unlikely]] {
    return Reject(t_file,
                  "stack slot count %d differs from the code header's %d",
                  slots, header.stack_slots);
  }
  if (n < 0) [[unlikely]] {
    return Reject(t_file + 4, "negative entry count %d", n);
  }
  if (c.reg_w > kMaxWidth || c.pc_w > kMaxWidth || c.deopt_w > kMaxWidth)
      [[unlikely]] {
    return RejectTooWide(config_file, c);
  }
  if (n > 0 && c.pc_w == 0) [[unlikely]] {
    return Reject(config_file, "pc width 0 with %d entries", n);
  }
  if (c.deopt != (c.deopt_w != 0)) [[unlikely]] {
    return Reject(config_file,
                  "deopt-data flag %d with a deopt-index width of %d",
                  int{c.deopt}, c.deopt_w);
  }
  if (header.kind == kWasmFunctionKind && header.tier == kTierTurboFan) {
    if (c.reg_w != 0) [[unlikely]] {
      return Reject(config_file,
                    "tagged-register width %d in a TurboFan wasm function, "
                    "which has none",
                    c.reg_w);
    }
    if (c.deopt) [[unlikely]] {
      return Reject(config_file,
                    "deopt data in a TurboFan wasm function, which has no "
                    "lazy deopts");
    }
  }

  // Entries and bitmaps fill the region up to the padding. n < 2^31 and an
  // entry with its bitmap is under 2^23 bytes: no overflow in 64 bits.
  const uint32_t entry_bytes = c.entry_bytes();
  const uint32_t bitmap_bytes = c.bitmap;
  const uint64_t table_bytes =
      kHeaderBytes + uint64_t(n) * (uint64_t{entry_bytes} + bitmap_bytes);
  if (table_bytes > room) [[unlikely]] {
    return Reject(t_file + 4,
                  "%d entries of %d bytes with %d-byte bitmaps need %d bytes, "
                  "but %d precede the handler table",
                  n, entry_bytes, bitmap_bytes, table_bytes, room);
  }
  const uint32_t table_end = t + static_cast<uint32_t>(table_bytes);
  const uint64_t aligned_end =
      (uint64_t{table_end} + kAlign - 1) / kAlign * kAlign;
  if (end != aligned_end) [[unlikely]] {
    return Reject(code_file_offset + table_end,
                  "table ends at 0x%x, but the handler table starts at 0x%x "
                  "instead of 0x%x",
                  table_end, end, aligned_end);
  }
  for (uint32_t p = table_end; p < end; ++p) {
    if (instructions[p] != kPadByte) [[unlikely]] {
      return Reject(code_file_offset + p, "padding byte 0x%02x is not 0x%02x",
                    unsigned{instructions[p]}, unsigned{kPadByte});
    }
  }

  // The entries, in file order.
  const uint8_t* const entries = table + kHeaderBytes;
  const uint8_t* const bitmaps = entries + uint64_t(n) * entry_bytes;
  const uint64_t entries_file = t_file + kHeaderBytes;
  const uint64_t bitmaps_file = entries_file + uint64_t(n) * entry_bytes;
  const uint32_t fixed_slots = arch == Arch::kPpc64 ? 5 : 4;
  const uint32_t spill = slots > fixed_slots ? slots - fixed_slots : 0;
  // Bitmap bytes from spill / 8 on may name a slot outside the spill area:
  // in the first of them the bits from spill % 8 up, in later ones any bit.
  const uint32_t spill_byte = spill / 8;
  const uint32_t spill_mask = (0xffu << (spill % 8)) & 0xffu;
  const bool bits_to_check = spill_byte < bitmap_bytes;
  const uint32_t last_pc =
      n > 0 ? LoadField(entries + uint64_t(n - 1) * entry_bytes, c.pc_w) : 0;
  const uint32_t trampoline_at = c.trampoline_at();
  const uint32_t registers_at = c.registers_at();

  uint32_t prev_pc = 0;
  uint32_t prev_deopt = 0, prev_trampoline = 0;  // stored values: value + 1
  uint32_t prev_registers = 0;
  uint32_t last_trampoline = 0;  // stored value of the latest trampoline
  uint32_t largest_deopt = 0;    // stored values
  uint32_t registers_union = 0;
  uint32_t last_bytes = 0;  // union of every bitmap's last byte
  const uint8_t* e = entries;
  const uint8_t* bm = bitmaps;
  for (int32_t i = 0; i < n; ++i, e += entry_bytes, bm += bitmap_bytes) {
    const uint32_t pc = LoadField(e, c.pc_w);
    if (pc == 0) [[unlikely]] {
      return Reject(entries_file + uint64_t(i) * entry_bytes,
                    "entry %d has pc 0, which V8 reads as no entry", i);
    }
    if (pc > t) [[unlikely]] {
      return Reject(entries_file + uint64_t(i) * entry_bytes,
                    "entry %d pc 0x%x is past the code, which ends at 0x%x", i,
                    pc, t);
    }
    if (pc <= prev_pc) [[unlikely]] {  // prev_pc is 0 for entry 0
      return Reject(entries_file + uint64_t(i) * entry_bytes,
                    "entry %d pc 0x%x does not follow entry %d pc 0x%x", i, pc,
                    i - 1, prev_pc);
    }
    uint32_t deopt = 0, trampoline = 0;
    if (c.deopt) {
      deopt = LoadField(e + c.pc_w, c.deopt_w);
      trampoline = LoadField(e + trampoline_at, c.pc_w);
      const uint64_t deopt_file =
          entries_file + uint64_t(i) * entry_bytes + c.pc_w;
      const uint64_t trampoline_file = deopt_file + c.deopt_w;
      if ((deopt == 0) != (trampoline == 0)) [[unlikely]] {
        return Reject(deopt_file,
                      "entry %d has a deopt index or a trampoline but not both",
                      i);
      }
      if (deopt != 0) {
        if (deopt > 0x7fffffffu) [[unlikely]] {
          return Reject(deopt_file, "entry %d deopt index 0x%x out of range", i,
                        deopt - 1);
        }
        if (header.deopt_data_size == 0) [[unlikely]] {
          return Reject(deopt_file,
                        "entry %d has deopt index %d, but the code has no "
                        "deopt data",
                        i, static_cast<int32_t>(deopt - 1));
        }
        const uint32_t pc_of_trampoline = trampoline - 1;
        if (pc_of_trampoline >= t) [[unlikely]] {
          return Reject(trampoline_file,
                        "entry %d trampoline 0x%x is past the code, which "
                        "ends at 0x%x",
                        i, pc_of_trampoline, t);
        }
        if (pc_of_trampoline <= last_pc) [[unlikely]] {
          return Reject(trampoline_file,
                        "entry %d trampoline 0x%x is not after the last "
                        "entry's pc 0x%x",
                        i, pc_of_trampoline, last_pc);
        }
        if (trampoline <= last_trampoline) [[unlikely]] {
          return Reject(trampoline_file,
                        "entry %d trampoline 0x%x does not follow the "
                        "previous trampoline 0x%x",
                        i, pc_of_trampoline, last_trampoline - 1);
        }
        last_trampoline = trampoline;
      }
    }
    const uint32_t registers = LoadField(e + registers_at, c.reg_w);
    if (bits_to_check) {
      uint32_t outside = bm[spill_byte] & spill_mask;
      for (uint32_t k = spill_byte + 1; k < bitmap_bytes; ++k) outside |= bm[k];
      if (outside != 0) [[unlikely]] {
        return RejectSpillBit(bitmaps_file + uint64_t(i) * bitmap_bytes, i, bm,
                              bitmap_bytes, spill, slots);
      }
    }
    // V8 keeps the first of consecutive entries that differ only in pc.
    if (i > 0 && deopt == prev_deopt && trampoline == prev_trampoline &&
        registers == prev_registers &&
        std::memcmp(bm - bitmap_bytes, bm, bitmap_bytes) == 0) [[unlikely]] {
      return Reject(entries_file + uint64_t(i) * entry_bytes,
                    "entry %d repeats entry %d but for its pc (V8 merges such "
                    "entries)",
                    i, i - 1);
    }
    prev_pc = pc;
    prev_deopt = deopt;
    prev_trampoline = trampoline;
    prev_registers = registers;
    largest_deopt = std::max(largest_deopt, deopt);
    registers_union |= registers;
    if (bitmap_bytes != 0) last_bytes |= bm[bitmap_bytes - 1];
  }

  // Field widths are the ones V8 derives from the stored values: pcs and
  // trampolines (+1) share the pc width.
  const uint64_t largest_pc =
      std::max<uint64_t>(n > 0 ? uint64_t{last_pc} + 1 : 0, last_trampoline);
  const struct {
    const char* name;
    uint32_t width;
    uint64_t largest;
  } minimal[] = {{"pc", c.pc_w, largest_pc},
                 {"deopt-index", c.deopt_w, largest_deopt},
                 {"tagged-register", c.reg_w, registers_union}};
  for (const auto& field : minimal) {
    if (field.width != WidthOf(field.largest)) [[unlikely]] {
      return Reject(config_file,
                    "%s width %d, but V8 writes %d for the largest stored "
                    "value 0x%x",
                    field.name, field.width, WidthOf(field.largest),
                    field.largest);
    }
  }
  // Bitmap size: up to the highest tagged bit of all entries, or the whole
  // frame when none is tagged. A non-zero last byte settles it at once.
  if (last_bytes == 0) {
    const uint64_t bitmap_total = uint64_t(n) * bitmap_bytes;
    if (AnyNonZero(bitmaps, bitmap_total) ||
        bitmap_bytes != (uint64_t{slots} + 7) / 8) [[unlikely]] {
      return RejectBitmapBytes(config_file, bitmaps, bitmap_total, bitmap_bytes,
                               slots);
    }
  }
  return absl::OkStatus();
}

SafepointHit FindSafepoint(const uint8_t* instructions,
                           const CodeHeader& header, Arch arch,
                           uint32_t pc_offset) {
  const ByteOrder order = TraitsOf(arch).byte_order;
  const uint8_t* table =
      instructions + static_cast<uint32_t>(header.safepoint_table_offset);
  const uint32_t n = Load32(table + 4, order);
  const Config c(Load32(table + 8, order));
  const uint32_t entry_bytes = c.entry_bytes();
  const uint8_t* const entries = table + kHeaderBytes;
  const uint8_t* const bitmaps = entries + uint64_t{n} * entry_bytes;

  const auto hit = [&](uint32_t i) {
    const uint8_t* e = entries + uint64_t{i} * entry_bytes;
    SafepointHit h;
    h.found = true;
    h.pc = LoadField(e, c.pc_w);
    if (c.deopt) {
      const uint32_t deopt = LoadField(e + c.pc_w, c.deopt_w);
      if (deopt != 0) {
        h.deopt_index = static_cast<int32_t>(deopt - 1);
        h.trampoline_pc =
            static_cast<int32_t>(LoadField(e + c.trampoline_at(), c.pc_w) - 1);
      }
    }
    h.tagged_registers = LoadField(e + c.registers_at(), c.reg_w);
    h.bitmap = bitmaps + uint64_t{i} * c.bitmap;
    h.bitmap_bytes = c.bitmap;
    return h;
  };

  if (n == 0) return {};
  // Every trampoline lies after the last pc: only a pc beyond it can be at
  // or after one, and then the last trampoline at or before it wins.
  if (c.deopt &&
      pc_offset > LoadField(entries + uint64_t{n - 1} * entry_bytes, c.pc_w)) {
    const uint32_t trampoline_at = c.trampoline_at();
    for (uint32_t i = n; i-- > 0;) {
      const uint32_t stored = LoadField(
          entries + uint64_t{i} * entry_bytes + trampoline_at, c.pc_w);
      if (stored != 0 && stored - 1 <= pc_offset) return hit(i);
    }
  }
  // The entry with the largest pc at or below pc_offset.
  uint32_t lo = 0, hi = n;  // finds the first entry whose pc is above it
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (LoadField(entries + uint64_t{mid} * entry_bytes, c.pc_w) <= pc_offset) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return {};
  return hit(lo - 1);
}

}  // namespace wasmcache::fast
