// arm64: relocation sites and jump-table slots (V8 13.6).
//
// Sites (reference/encoders/arm64.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL        b/bl imm26 at pc, or ldr x literal
//                                    with the value in its 8-byte pool slot
//   EXTERNAL_REFERENCE               ldr x literal, 8-byte pool slot
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    ldr w literal, 4-byte pool slot
//   INTERNAL_REFERENCE               8-byte absolute at pc
// CONST_POOL and VENEER_POOL entries mark pools; INTERNAL_REFERENCE_ENCODED
// never occurs.
//
// Slots: near `b imm26` (4 bytes, no BTI in Node's build), far `ldr x16,
// #8; br x16; .quad target`, lazy `bti jc; movz/movk w8, index; b target`.

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/arm64.h"

namespace wasmcache::reference {
namespace {

using Arm64Branch = Arm64BranchImm26<NativeDomain>;
using Arm64Ldr = Arm64LdrLiteral<NativeDomain>;
using Arm64Data = Arm64Absolute64<NativeDomain>;
using Arm64Word = Arm64Absolute32<NativeDomain>;
constexpr ByteOrder kOrder = ByteOrder::kLittle;

constexpr uint32_t kB = 0x14000000;
constexpr uint32_t kLdrX16Literal8 = 0x58000050;  // ldr x16, pc+8
constexpr uint32_t kBrX16 = 0xd61f0200;           // br x16
constexpr uint32_t kBtiJc = 0xd50324df;           // bti jc
constexpr uint32_t kMovzW8 = 0x52800008;          // movz w8, #imm16
constexpr uint32_t kMovkW8Lsl16 = 0x72a00008;     // movk w8, #imm16, lsl 16

uint32_t LoadLe32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
void StoreLe32(uint8_t* at, uint32_t value) {
  StoreUnaligned(at, value, 4, kOrder);
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kInternalReferenceEncoded;
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  if (entry.mode == RelocMode::kInternalReference) {
    return FieldSite(code, entry, code_file_offset, SiteForm::kAbsolute64,
                     entry.pc, 8);
  }
  if (entry.pc % 4 != 0) {
    return SiteError(entry, code_file_offset, "instruction not 4-aligned");
  }
  if (!FieldInside(code, entry.pc, 4)) {
    return SiteError(entry, code_file_offset, "instruction outside the code");
  }
  const uint32_t insn = LoadLe32(code.data() + entry.pc);
  auto pool_slot = [&](uint32_t size) -> absl::StatusOr<Site> {
    // The slot offset is computed in 64 bits; a negative one wraps high and
    // fails the inside check.
    const uint64_t slot = Arm64Ldr::SlotAddress(insn, entry.pc);
    absl::StatusOr<Site> site = FieldSite(
        code, entry, code_file_offset,
        size == 8 ? SiteForm::kAbsolute64 : SiteForm::kImm32, slot, size);
    if (site.ok()) {
      site->pool_slot = true;
      site->instruction_size = 4;
    }
    return site;
  };
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
      if (Arm64Branch::IsBranch(insn)) {
        return Site{SiteForm::kArm64Branch, entry.pc, 4, entry.pc};
      }
      if (Arm64Ldr::IsLdrX(insn)) return pool_slot(8);
      return SiteError(entry, code_file_offset,
                       absl::StrFormat("instruction 0x%08x is neither b/bl "
                                       "nor ldr x literal",
                                       insn));
    case RelocMode::kExternalReference:
      if (Arm64Ldr::IsLdrX(insn)) return pool_slot(8);
      return SiteError(
          entry, code_file_offset,
          absl::StrFormat("instruction 0x%08x is not ldr x literal", insn));
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      if (Arm64Ldr::IsLdrW(insn)) return pool_slot(4);
      return SiteError(
          entry, code_file_offset,
          absl::StrFormat("instruction 0x%08x is not ldr w literal", insn));
    default:
      return SiteError(entry, code_file_offset, "mode not used on arm64");
  }
}

bool TagFits(const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kArm64Branch:
      return Arm64Branch::TagInRange(tag);
    case SiteForm::kImm32:
      return Arm64Word::TagInRange(tag);
    default:
      return Arm64Data::TagInRange(tag);
  }
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  const uint64_t field = LoadSiteField(code, site, kOrder);
  switch (site.form) {
    case SiteForm::kArm64Branch:
      return Arm64Branch::DecodeTag(static_cast<uint32_t>(field));
    case SiteForm::kImm32:
      return Arm64Word::DecodeTag(static_cast<uint32_t>(field));
    default:
      return Arm64Data::DecodeTag(field);
  }
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kArm64Branch: {
      const auto insn =
          static_cast<uint32_t>(LoadSiteField(code, site, kOrder));
      StoreSiteField(code, site,
                     Arm64Branch::EncodeTag(insn, static_cast<uint32_t>(tag)),
                     kOrder);
      return;
    }
    case SiteForm::kImm32:
      StoreSiteField(code, site, Arm64Word::EncodeTag(tag), kOrder);
      return;
    default:
      StoreSiteField(code, site, Arm64Data::EncodeTag(tag), kOrder);
  }
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  const uint64_t field = LoadSiteField(code, site, kOrder);
  switch (site.form) {
    case SiteForm::kArm64Branch:
      return Arm64Branch::Decode(static_cast<uint32_t>(field),
                                 code_address + site.field_offset);
    case SiteForm::kImm32:
      return Arm64Word::Decode(static_cast<uint32_t>(field));
    default:
      return Arm64Data::Decode(field);
  }
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  const uint64_t site_address = code_address + site.field_offset;
  switch (site.form) {
    case SiteForm::kArm64Branch: {
      if (!Arm64Branch::InRange(site_address, target)) return false;
      const auto insn =
          static_cast<uint32_t>(LoadSiteField(code, site, kOrder));
      StoreSiteField(code, site, Arm64Branch::Encode(insn, site_address, target),
                     kOrder);
      return true;
    }
    case SiteForm::kImm32:
      if (!Arm64Word::InRange(target)) return false;
      StoreSiteField(code, site, Arm64Word::Encode(target), kOrder);
      return true;
    default:
      StoreSiteField(code, site, Arm64Data::Encode(target), kOrder);
      return true;
  }
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Arm64Branch::InRange(slot_address, target)) return false;
  uint8_t bytes[4];
  StoreLe32(bytes, Arm64Branch::Encode(kB, slot_address, target));
  StoreSlotWord(slot, bytes, 4);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  uint8_t prefix[8];
  StoreLe32(prefix, kLdrX16Literal8);
  StoreLe32(prefix + 4, kBrX16);
  if (std::memcmp(slot, prefix, 8) != 0) std::memcpy(slot, prefix, 8);
  uint8_t bytes[8];
  StoreUnaligned(bytes, Arm64Data::Encode(target), 8, kOrder);
  StoreSlotWord(slot + 8, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address,
                   uint32_t function_index, uint64_t target) {
  const uint64_t branch_address = slot_address + 12;
  if (!Arm64Branch::InRange(branch_address, target)) return false;
  StoreLe32(slot, kBtiJc);
  StoreLe32(slot + 4, kMovzW8 | ((function_index & 0xffff) << 5));
  StoreLe32(slot + 8, kMovkW8Lsl16 | ((function_index >> 16) << 5));
  StoreLe32(slot + 12, Arm64Branch::Encode(kB, branch_address, target));
  return true;
}

std::optional<uint64_t> ReadNearSlot(const uint8_t* slot,
                                     uint64_t slot_address) {
  const uint32_t insn = LoadLe32(slot);
  if (!Arm64Branch::IsBranch(insn)) return std::nullopt;
  return Arm64Branch::Decode(insn, slot_address);
}

std::optional<uint64_t> ReadFarSlot(const uint8_t* slot, uint64_t) {
  if (LoadLe32(slot) != kLdrX16Literal8 || LoadLe32(slot + 4) != kBrX16) {
    return std::nullopt;
  }
  return Arm64Data::Decode(LoadUnaligned(slot + 8, 8, kOrder));
}

}  // namespace

const ArchCodec kArm64Codec = {
    .arch = Arch::kArm64,
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
