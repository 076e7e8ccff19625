// s390x: relocation sites and jump-table slots (V8 13.6). Big-endian.
//
// Sites (reference/encoders/s390x.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL,
//   EXTERNAL_REFERENCE               iihf + iilf at pc (variant kAddress:
//                                    64-bit value, tag = iilf immediate)
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    the same pair holding a 32-bit constant
//                                    (variant kValue32)
//   INTERNAL_REFERENCE               8-byte absolute at pc, big-endian
// INTERNAL_REFERENCE_ENCODED, CONST_POOL and VENEER_POOL never occur on
// s390x; brasl/brcl at a wasm site are rejected (V8 emits iihf + iilf).
//
// Slots: near `brcl 15, imm32; lr r0,r0` (8 bytes, one store), far
// `larl r1,.; lg r1,16(r1); br r1; lr r0,r0; .quad target` (target at
// slot+16), lazy `lgfi r7, index; larl r1,.; lg r1,18(r1); br r1;
// lgr r0,r0; .quad target` (target at slot+24).

#include "reference/encoders/s390x.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"

namespace wasmcache::reference {
namespace {

using Pair = S390xIihfIilf<NativeDomain>;
using Relative = S390xRelative32<NativeDomain>;
using Data64 = S390xData64<NativeDomain>;
constexpr ByteOrder kOrder = ByteOrder::kBig;

// Site::variant of kS390xIihfIilf.
constexpr uint8_t kAddress = 0;  // 64-bit address, tag in the low 32 bits
constexpr uint8_t kValue32 = 1;  // 32-bit constant

// Near slot: brcl 15 (always), then lr r0,r0.
constexpr uint8_t kBrclAlways[2] = {0xc0, 0xf4};
constexpr uint8_t kNop2[2] = {0x18, 0x00};
// Far slot: larl r1 sets r1 = slot; lg r1, 16(r1) reads the target there.
constexpr uint8_t kFarSlotCode[16] = {
    0xc0, 0x10, 0x00, 0x00, 0x00, 0x00,  // larl r1, .
    0xe3, 0x10, 0x10, 0x10, 0x00, 0x04,  // lg r1, 16(r1)
    0x07, 0xf1,                          // br r1
    0x18, 0x00,                          // lr r0, r0
};
constexpr uint32_t kFarSlotTargetOffset = 16;
// Lazy slot: lgfi r7, index (imm32 at slot+2); larl r1 sets r1 = slot+6;
// lg r1, 18(r1) reads the target at slot+24.
constexpr uint8_t kLazySlotHead[2] = {0xc0, 0x71};
constexpr uint8_t kLazySlotCode[18] = {
    0xc0, 0x10, 0x00, 0x00, 0x00, 0x00,  // larl r1, .
    0xe3, 0x10, 0x10, 0x12, 0x00, 0x04,  // lg r1, 18(r1)
    0x07, 0xf1,                          // br r1
    0xb9, 0x04, 0x00, 0x00,              // lgr r0, r0
};
constexpr uint32_t kLazySlotTargetOffset = 24;

uint32_t Load16(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 2, kOrder));
}
uint32_t Load32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
void Store32(uint8_t* at, uint32_t value) {
  StoreUnaligned(at, value, 4, kOrder);
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  uint8_t variant = kAddress;
  switch (entry.mode) {
    case RelocMode::kInternalReference:
      return FieldSite(code, entry, code_file_offset, SiteForm::kAbsolute64,
                       entry.pc, 8);
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
    case RelocMode::kExternalReference:
      break;
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      variant = kValue32;
      break;
    default:
      return SiteError(entry, code_file_offset, "mode not used on s390x");
  }
  if (entry.pc % 2 != 0) {
    return SiteError(entry, code_file_offset, "instruction not 2-aligned");
  }
  if (!FieldInside(code, entry.pc, 2)) {
    return SiteError(entry, code_file_offset, "instruction outside the code");
  }
  const uint8_t* at = code.data() + entry.pc;
  const uint32_t head0 = Load16(at);
  if (Relative::IsBrcl(head0) || Relative::IsBrasl(head0)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("brcl/brasl (0x%04x) where V8 13.6 emits "
                                     "iihf + iilf",
                                     head0));
  }
  if (!FieldInside(code, entry.pc, Pair::kSize)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("12-byte iihf + iilf at 0x%x outside the "
                                     "%d instruction bytes",
                                     entry.pc, code.size()));
  }
  if (!Pair::IsSequence(head0, Load16(at + 6))) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("instructions 0x%04x, 0x%04x are not "
                                     "iihf + iilf of one register",
                                     head0, Load16(at + 6)));
  }
  Site site{SiteForm::kS390xIihfIilf, entry.pc, Pair::kSize, entry.pc};
  site.variant = variant;
  return site;
}

uint64_t DecodePair(const uint8_t* code, const Site& site) {
  const uint8_t* at = code + site.field_offset;
  return Pair::Decode(Load32(at + Pair::kHighOffset),
                      Load32(at + Pair::kLowOffset));
}
void EncodePair(uint8_t* code, const Site& site, uint32_t high, uint32_t low) {
  uint8_t* at = code + site.field_offset;
  Store32(at + Pair::kHighOffset, high);
  Store32(at + Pair::kLowOffset, low);
}

bool TagFits(const Site& site, uint64_t tag) {
  if (site.form == SiteForm::kS390xIihfIilf) return Pair::TagInRange(tag);
  return true;
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  if (site.form == SiteForm::kS390xIihfIilf) {
    const uint8_t* at = code + site.field_offset;
    return Pair::DecodeTag(Load32(at + Pair::kHighOffset),
                           Load32(at + Pair::kLowOffset));
  }
  return Data64::Decode(LoadSiteField(code, site, kOrder));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  if (site.form == SiteForm::kS390xIihfIilf) {
    EncodePair(code, site, Pair::EncodeTagHigh(tag), Pair::EncodeTagLow(tag));
    return;
  }
  StoreSiteField(code, site, Data64::Encode(tag), kOrder);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t, const Site& site) {
  if (site.form == SiteForm::kS390xIihfIilf) {
    if (site.variant != kValue32) return DecodePair(code, site);
    const uint8_t* at = code + site.field_offset;
    return Pair::DecodeValue32(Load32(at + Pair::kHighOffset),
                               Load32(at + Pair::kLowOffset));
  }
  return Data64::Decode(LoadSiteField(code, site, kOrder));
}

bool WriteTarget(uint8_t* code, uint64_t, const Site& site, uint64_t target) {
  if (site.form == SiteForm::kS390xIihfIilf) {
    if (site.variant == kValue32 && !Pair::FitsValue32(target)) return false;
    EncodePair(code, site, Pair::EncodeHigh(target), Pair::EncodeLow(target));
    return true;
  }
  StoreSiteField(code, site, Data64::Encode(target), kOrder);
  return true;
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Relative::InRange(slot_address, target)) return false;
  uint8_t bytes[8];
  std::memcpy(bytes, kBrclAlways, 2);
  Store32(bytes + 2, Relative::Encode(slot_address, target));
  std::memcpy(bytes + 6, kNop2, 2);
  StoreSlotWord(slot, bytes, 8);
  return true;
}

// Writes the code when the slot does not hold it yet, then the target
// where the slot's `lg` reads it (slot+16), with one 8-byte store.
void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  if (std::memcmp(slot, kFarSlotCode, sizeof(kFarSlotCode)) != 0) {
    std::memcpy(slot, kFarSlotCode, sizeof(kFarSlotCode));
  }
  uint8_t bytes[8];
  StoreUnaligned(bytes, target, 8, kOrder);
  StoreSlotWord(slot + kFarSlotTargetOffset, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t function_index,
                   uint64_t target) {
  std::memcpy(slot, kLazySlotHead, 2);
  Store32(slot + 2, function_index);
  std::memcpy(slot + 6, kLazySlotCode, sizeof(kLazySlotCode));
  StoreUnaligned(slot + kLazySlotTargetOffset, target, 8, kOrder);
  return true;
}

std::optional<uint64_t> ReadNearSlot(const uint8_t* slot,
                                     uint64_t slot_address) {
  if (std::memcmp(slot, kBrclAlways, 2) != 0 ||
      std::memcmp(slot + 6, kNop2, 2) != 0) {
    return std::nullopt;
  }
  return Relative::Decode(Load32(slot + 2), slot_address);
}

std::optional<uint64_t> ReadFarSlot(const uint8_t* slot, uint64_t) {
  if (std::memcmp(slot, kFarSlotCode, sizeof(kFarSlotCode)) != 0) {
    return std::nullopt;
  }
  return LoadUnaligned(slot + kFarSlotTargetOffset, 8, kOrder);
}

}  // namespace

const ArchCodec kS390xCodec = {
    .arch = Arch::kS390x,
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
