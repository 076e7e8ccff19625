// x64 sites and jump-table slots for the fast implementation.
//
// Sites: WASM_CALL and WASM_STUB_CALL are rel32 at pc; EXTERNAL_REFERENCE an
// imm64 at pc whose low 32 bits hold the tag; INTERNAL_REFERENCE an 8-byte
// absolute at pc; WASM_CANONICAL_SIG_ID and WASM_CODE_POINTER_TABLE_ENTRY an
// imm32 at pc. Slots: near `jmp rel32; int3 x3`, far `jmp [rip+2]; nop2;
// .quad target`, lazy `push imm32; jmp rel32`.

#include "fast/arch.h"
#include "fast/encoders/x64.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using Field = X64Field<NativeDomain>;
constexpr ByteOrder kLe = ByteOrder::kLittle;

// Form of each serializer-patched mode, indexed by RelocMode; 0xff: not
// used on x64.
constexpr uint8_t kNone = 0xff;
constexpr auto kFormOfMode = [] {
  std::array<uint8_t, kNumberOfRelocModes> t{};
  t.fill(kNone);
  t[static_cast<int>(RelocMode::kWasmCall)] = kX64Rel32;
  t[static_cast<int>(RelocMode::kWasmStubCall)] = kX64Rel32;
  t[static_cast<int>(RelocMode::kExternalReference)] = kX64ExtRef64;
  t[static_cast<int>(RelocMode::kInternalReference)] = kX64Abs64;
  t[static_cast<int>(RelocMode::kWasmCanonicalSigId)] = kX64Imm32;
  t[static_cast<int>(RelocMode::kWasmCodePointerTableEntry)] = kX64Imm32;
  return t;
}();

uint64_t LoadField(const uint8_t* at, uint8_t width) {
  return width == 8 ? Load64(at, kLe) : Load32(at, kLe);
}
void StoreField(uint8_t* at, uint8_t width, uint64_t v) {
  if (width == 8) {
    Store64(at, v, kLe);
  } else {
    Store32(at, static_cast<uint32_t>(v), kLe);
  }
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

bool Locate(const uint8_t*, uint32_t code_size, uint32_t pc, RelocMode mode,
            uint32_t, Site* site, const char** why) {
  const uint8_t form = kFormOfMode[static_cast<int>(mode)];
  if (form == kNone) {
    *why = "mode not used on x64";
    return false;
  }
  const uint8_t width = kX64Forms[form].width;
  if (pc > code_size || code_size - pc < width) {
    *why = "field outside the instructions";
    return false;
  }
  site->pc = pc;
  site->field_offset = pc;
  site->field_size = width;
  site->form = form;
  site->mode = mode;
  site->reader_size = 0;
  return true;
}

bool TagFits(const Site& site, uint64_t tag) {
  return Field::TagFits(kX64Forms[site.form], tag);
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  const X64FormRow& row = kX64Forms[site.form];
  return Field::DecodeTag(row, LoadField(code + site.field_offset, row.width));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  const X64FormRow& row = kX64Forms[site.form];
  StoreField(code + site.field_offset, row.width, Field::EncodeTag(row, tag));
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  const X64FormRow& row = kX64Forms[site.form];
  return Field::Decode(row, code_address + site.field_offset,
                       LoadField(code + site.field_offset, row.width));
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  const X64FormRow& row = kX64Forms[site.form];
  const uint64_t at = code_address + site.field_offset;
  if (!Field::InRange(row, at, target)) return false;
  StoreField(code + site.field_offset, row.width,
             Field::Encode(row, at, target));
  return true;
}

constexpr X64FormRow kRel32 = kX64Forms[kX64Rel32];

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Field::InRange(kRel32, slot_address + 1, target)) return false;
  uint8_t bytes[8] = {0xe9, 0, 0, 0, 0, 0xcc, 0xcc, 0xcc};
  Store32(bytes + 1,
          static_cast<uint32_t>(Field::Encode(kRel32, slot_address + 1, target)),
          kLe);
  StoreSlot(slot, bytes, 8);
  return true;
}

constexpr uint8_t kFarPrefix[8] = {0xff, 0x25, 0x02, 0x00,
                                   0x00, 0x00, 0x66, 0x90};

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  if (LoadRaw<uint64_t>(slot) != LoadRaw<uint64_t>(kFarPrefix)) {
    StoreRaw(slot, LoadRaw<uint64_t>(kFarPrefix));
  }
  uint8_t bytes[8];
  Store64(bytes, target, kLe);
  StoreSlot(slot + 8, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address, uint32_t index,
                   uint64_t target) {
  if (!Field::InRange(kRel32, slot_address + 6, target)) return false;
  slot[0] = 0x68;
  Store32(slot + 1, index, kLe);
  slot[5] = 0xe9;
  Store32(slot + 6,
          static_cast<uint32_t>(Field::Encode(kRel32, slot_address + 6, target)),
          kLe);
  return true;
}

bool ReadNearSlot(const uint8_t* slot, uint64_t slot_address,
                  uint64_t* target) {
  if (slot[0] != 0xe9) return false;
  *target = Field::Decode(kRel32, slot_address + 1, Load32(slot + 1, kLe));
  return true;
}

bool ReadFarSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  if (LoadRaw<uint64_t>(slot) != LoadRaw<uint64_t>(kFarPrefix)) return false;
  *target = Load64(slot + 8, kLe);
  return true;
}

}  // namespace

const ArchOps kX64Ops = {
    .arch = Arch::kX64,
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
