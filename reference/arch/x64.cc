// x64: relocation sites and jump-table slots (V8 13.6).
//
// Sites (reference/encoders/x64.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL        rel32 at pc (call/jmp displacement)
//   EXTERNAL_REFERENCE               imm64 at pc, tag in the low 32 bits
//   INTERNAL_REFERENCE               8-byte absolute at pc
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    imm32 at pc
// x64 has no constant pool; CONST_POOL, VENEER_POOL and
// INTERNAL_REFERENCE_ENCODED never occur.
//
// Slots: near `jmp rel32; int3 x3` (8 bytes, one store), far `jmp [rip+2];
// nop2; .quad target`, lazy `push imm32 index; jmp rel32`.

#include <cstring>

#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/x64.h"

namespace wasmcache::reference {
namespace {

using X64Call = X64Rel32<NativeDomain>;
using X64Ext = X64Imm64<NativeDomain>;
using X64Id = X64Imm32<NativeDomain>;
constexpr ByteOrder kOrder = ByteOrder::kLittle;

constexpr uint8_t kJmpRel32 = 0xe9;
constexpr uint8_t kPushImm32 = 0x68;
constexpr uint8_t kInt3 = 0xcc;
// jmp [rip+2]; then a 2-byte nop; the 8-byte target follows at slot + 8.
constexpr uint8_t kFarJumpPrefix[8] = {0xff, 0x25, 0x02, 0x00,
                                       0x00, 0x00, 0x66, 0x90};

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
      return FieldSite(code, entry, code_file_offset, SiteForm::kX64Rel32,
                       entry.pc, 4);
    case RelocMode::kExternalReference:
      return FieldSite(code, entry, code_file_offset,
                       SiteForm::kX64Imm64Tag32, entry.pc, 8);
    case RelocMode::kInternalReference:
      return FieldSite(code, entry, code_file_offset, SiteForm::kAbsolute64,
                       entry.pc, 8);
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      return FieldSite(code, entry, code_file_offset, SiteForm::kImm32,
                       entry.pc, 4);
    default:
      return SiteError(entry, code_file_offset, "mode not used on x64");
  }
}

bool TagFits(const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kX64Rel32:
      return X64Call::TagInRange(tag);
    case SiteForm::kX64Imm64Tag32:
      return X64Ext::TagInRange(tag);
    case SiteForm::kImm32:
      return X64Id::InRange(tag);
    default:
      return true;
  }
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  const uint64_t field = LoadSiteField(code, site, kOrder);
  switch (site.form) {
    case SiteForm::kX64Rel32:
      return X64Call::DecodeTag(static_cast<uint32_t>(field));
    case SiteForm::kX64Imm64Tag32:
      return X64Ext::DecodeTag(field);
    default:
      return field;
  }
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kX64Rel32:
      StoreSiteField(code, site, X64Call::EncodeTag(tag), kOrder);
      return;
    case SiteForm::kX64Imm64Tag32:
      StoreSiteField(code, site, X64Ext::EncodeTag(static_cast<uint32_t>(tag)),
                     kOrder);
      return;
    default:
      StoreSiteField(code, site, tag, kOrder);
  }
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  const uint64_t field = LoadSiteField(code, site, kOrder);
  if (site.form == SiteForm::kX64Rel32) {
    return X64Call::Decode(code_address + site.field_offset,
                           static_cast<uint32_t>(field));
  }
  return field;
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  const uint64_t site_address = code_address + site.field_offset;
  switch (site.form) {
    case SiteForm::kX64Rel32:
      if (!X64Call::InRange(site_address, target)) return false;
      StoreSiteField(code, site, X64Call::Encode(site_address, target),
                     kOrder);
      return true;
    case SiteForm::kImm32:
      if (!X64Id::InRange(target)) return false;
      StoreSiteField(code, site, target, kOrder);
      return true;
    default:
      StoreSiteField(code, site, target, kOrder);
      return true;
  }
}

void StoreLe32(uint8_t* at, uint32_t value) {
  StoreUnaligned(at, value, 4, kOrder);
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  const uint64_t site = slot_address + 1;
  if (!X64Call::InRange(site, target)) return false;
  uint8_t bytes[8] = {kJmpRel32, 0, 0, 0, 0, kInt3, kInt3, kInt3};
  StoreLe32(bytes + 1, X64Call::Encode(site, target));
  StoreSlotWord(slot, bytes, 8);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  // The instructions never change once written; the target is one aligned
  // 8-byte store.
  if (std::memcmp(slot, kFarJumpPrefix, 8) != 0) {
    std::memcpy(slot, kFarJumpPrefix, 8);
  }
  uint8_t bytes[8];
  StoreUnaligned(bytes, target, 8, kOrder);
  StoreSlotWord(slot + 8, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address,
                   uint32_t function_index, uint64_t target) {
  const uint64_t site = slot_address + 6;
  if (!X64Call::InRange(site, target)) return false;
  slot[0] = kPushImm32;
  StoreLe32(slot + 1, function_index);
  slot[5] = kJmpRel32;
  StoreLe32(slot + 6, X64Call::Encode(site, target));
  return true;
}

std::optional<uint64_t> ReadNearSlot(const uint8_t* slot,
                                     uint64_t slot_address) {
  if (slot[0] != kJmpRel32) return std::nullopt;
  return X64Call::Decode(slot_address + 1,
                         static_cast<uint32_t>(LoadUnaligned(slot + 1, 4,
                                                             kOrder)));
}

std::optional<uint64_t> ReadFarSlot(const uint8_t* slot, uint64_t) {
  if (std::memcmp(slot, kFarJumpPrefix, 8) != 0) return std::nullopt;
  return LoadUnaligned(slot + 8, 8, kOrder);
}

}  // namespace

const ArchCodec kX64Codec = {
    .arch = Arch::kX64,
    .mode_used = ModeUsed,
    .locate_site = Locate,
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

}  // namespace wasmcache::reference
