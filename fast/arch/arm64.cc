// arm64 sites and jump-table slots for the fast implementation.
//
// Sites: WASM_CALL and WASM_STUB_CALL are b/bl imm26 at pc, or an ldr x
// literal whose 8-byte pool slot holds the value; EXTERNAL_REFERENCE an
// ldr x literal (8-byte slot); WASM_CANONICAL_SIG_ID and
// WASM_CODE_POINTER_TABLE_ENTRY an ldr w literal (4-byte slot);
// INTERNAL_REFERENCE an 8-byte absolute at pc. Slots: near `b imm26`, far
// `ldr x16, #8; br x16; .quad target`, lazy `bti jc; movz w8, lo16; movk
// w8, hi16, lsl 16; b target`.

#include <cstring>

#include "fast/arch.h"
#include "fast/encoders/arm64.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using Field = Arm64Field<NativeDomain>;
constexpr ByteOrder kLe = ByteOrder::kLittle;
constexpr uint32_t kInsnBytes = 4;

// How a mode's site is found.
enum class Find : uint8_t {
  kNone,         // not a patched mode on arm64
  kDataAtPc,     // an 8-byte word at pc, no instruction to check
  kInstruction,  // a 4-aligned instruction at pc matching one of `ways`
};
struct ModeRow {
  Find find = Find::kNone;
  uint8_t num_ways = 0;
  Arm64Pattern ways[2] = {};
};

constexpr auto kModes = [] {
  std::array<ModeRow, kNumberOfRelocModes> t{};
  const auto at = [&](RelocMode m) -> ModeRow& {
    return t[static_cast<int>(m)];
  };
  for (RelocMode m : {RelocMode::kWasmCall, RelocMode::kWasmStubCall}) {
    at(m) = {Find::kInstruction, 2, {kArm64BranchPattern, kArm64LdrXPattern}};
  }
  at(RelocMode::kExternalReference) = {Find::kInstruction, 1,
                                       {kArm64LdrXPattern}};
  for (RelocMode m : {RelocMode::kWasmCanonicalSigId,
                      RelocMode::kWasmCodePointerTableEntry}) {
    at(m) = {Find::kInstruction, 1, {kArm64LdrWPattern}};
  }
  at(RelocMode::kInternalReference) = {Find::kDataAtPc, 0, {}};
  return t;
}();

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kInternalReferenceEncoded;
}

// [offset, offset + size) lies inside the code (offset in 64 bits).
bool Inside(uint64_t offset, uint32_t size, uint32_t code_size) {
  return offset <= code_size && code_size - offset >= size;
}

bool Locate(const uint8_t* code, uint32_t code_size, uint32_t pc,
            RelocMode mode, uint32_t, Site* site, const char** why) {
  static constexpr ModeRow kNoRow{};
  const auto m = static_cast<size_t>(mode);
  const ModeRow& row = m < kModes.size() ? kModes[m] : kNoRow;
  switch (row.find) {
    case Find::kNone:
      *why = "mode not used on arm64";
      return false;
    case Find::kDataAtPc: {
      const uint8_t bytes = kArm64Forms[kArm64Data64].bytes;
      if (!Inside(pc, bytes, code_size)) {
        *why = "8-byte field outside the instructions";
        return false;
      }
      *site = Site{.pc = pc,
                   .field_offset = pc,
                   .field_size = bytes,
                   .form = kArm64Data64,
                   .mode = mode,
                   .reader_size = 0};
      return true;
    }
    case Find::kInstruction:
      break;
  }
  if (pc % kInsnBytes != 0 || !Inside(pc, kInsnBytes, code_size)) {
    *why = "instruction not 4-aligned or outside the code";
    return false;
  }
  const uint32_t insn = Load32(code + pc, kLe);
  for (uint8_t i = 0; i < row.num_ways; ++i) {
    const Arm64Pattern& way = row.ways[i];
    if (!Field::Matches(way, insn)) continue;
    const uint8_t bytes = kArm64Forms[way.form].bytes;
    // A literal offset before the code wraps high and fails the check.
    const uint64_t at =
        way.pool ? Field::PcRelative(kArm64LiteralOffset, insn, pc) : pc;
    if (!Inside(at, bytes, code_size)) {
      *why = "pool slot outside the code";
      return false;
    }
    *site = Site{.pc = pc,
                 .field_offset = static_cast<uint32_t>(at),
                 .field_size = bytes,
                 .form = way.form,
                 .mode = mode,
                 .reader_size = static_cast<uint8_t>(way.pool ? kInsnBytes : 0)};
    return true;
  }
  *why = "instruction at pc is not a form this mode uses";
  return false;
}

uint64_t LoadWord(const uint8_t* at, uint8_t bytes) {
  return bytes == 8 ? Load64(at, kLe) : Load32(at, kLe);
}
void StoreWord(uint8_t* at, uint8_t bytes, uint64_t v) {
  if (bytes == 8) {
    Store64(at, v, kLe);
  } else {
    Store32(at, static_cast<uint32_t>(v), kLe);
  }
}

bool TagFits(const Site& site, uint64_t tag) {
  return Field::TagFits(kArm64Forms[site.form], tag);
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  const Arm64FormRow& row = kArm64Forms[site.form];
  return Field::DecodeTag(row, LoadWord(code + site.field_offset, row.bytes));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  const Arm64FormRow& row = kArm64Forms[site.form];
  uint8_t* at = code + site.field_offset;
  StoreWord(at, row.bytes, Field::EncodeTag(row, LoadWord(at, row.bytes), tag));
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  const Arm64FormRow& row = kArm64Forms[site.form];
  return Field::Decode(row, LoadWord(code + site.field_offset, row.bytes),
                       code_address + site.field_offset);
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  const Arm64FormRow& row = kArm64Forms[site.form];
  const uint64_t address = code_address + site.field_offset;
  if (!Field::InRange(row, address, target)) return false;
  uint8_t* at = code + site.field_offset;
  StoreWord(at, row.bytes,
            Field::Encode(row, LoadWord(at, row.bytes), address, target));
  return true;
}

constexpr Arm64FormRow kBranch = kArm64Forms[kArm64Branch26];

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Field::InRange(kBranch, slot_address, target)) return false;
  uint8_t bytes[4];
  Store32(bytes,
          static_cast<uint32_t>(
              Field::Encode(kBranch, kArm64B, slot_address, target)),
          kLe);
  StoreSlot(slot, bytes, 4);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  uint8_t prefix[8];
  Store32(prefix, kArm64LdrX16Plus8, kLe);
  Store32(prefix + 4, kArm64BrX16, kLe);
  if (std::memcmp(slot, prefix, 8) != 0) std::memcpy(slot, prefix, 8);
  uint8_t bytes[8];
  Store64(bytes, target, kLe);
  StoreSlot(slot + 8, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address, uint32_t index,
                   uint64_t target) {
  const uint64_t jump_at = slot_address + 3 * kInsnBytes;
  if (!Field::InRange(kBranch, jump_at, target)) return false;
  const uint64_t words[4] = {
      kArm64BtiJc,
      Field::Insert(kArm64MovImm16, kArm64MovzW8, index),
      Field::Insert(kArm64MovImm16, kArm64MovkW8Lsl16, index >> 16),
      Field::Encode(kBranch, kArm64B, jump_at, target),
  };
  for (uint32_t i = 0; i < 4; ++i) {
    Store32(slot + i * kInsnBytes, static_cast<uint32_t>(words[i]), kLe);
  }
  return true;
}

bool ReadNearSlot(const uint8_t* slot, uint64_t slot_address,
                  uint64_t* target) {
  const uint32_t insn = Load32(slot, kLe);
  if (!Field::Matches(kArm64BranchPattern, insn)) return false;
  *target = Field::Decode(kBranch, insn, slot_address);
  return true;
}

bool ReadFarSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  if (Load32(slot, kLe) != kArm64LdrX16Plus8 ||
      Load32(slot + 4, kLe) != kArm64BrX16) {
    return false;
  }
  *target = Load64(slot + 8, kLe);
  return true;
}

}  // namespace

const ArchOps kArm64Ops = {
    .arch = Arch::kArm64,
    .mode_used = ModeUsed,
    .locate = Locate,
    .tag_fits = TagFits,
    .read_tag = ReadTag,
    .write_tag = WriteTag,
    .read_target = ReadTarget,
    .write_target = WriteTarget,
    .write_near_slot = WriteNearSlot,
    .write_far_slot = WriteFarSlot,
    .write_lazy_slot = WriteLazySlot,
    .read_near_slot = ReadNearSlot,
    .read_far_slot = ReadFarSlot,
};

}  // namespace wasmcache::fast
