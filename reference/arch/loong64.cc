// loong64: relocation sites and jump-table slots (V8 13.6).
//
// Sites (reference/encoders/loong64.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL,
//   EXTERNAL_REFERENCE               lu12i.w/ori/lu32i.d rd at pc (12
//                                    bytes), 48-bit value sign-extended
//                                    from bit 47
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    lu12i.w/ori rd at pc (8 bytes), u32
//   INTERNAL_REFERENCE               8-byte absolute at pc
// b/bl sites exist only for non-wasm modes; INTERNAL_REFERENCE_ENCODED is
// never recorded; there are no constant or veneer pools.
//
// Slots (jump-table-assembler.cc): near `b offs26` (±128 MB), far
// `pcaddi $t7, 4; ld.d $t7, $t7, 0; jirl $zero, $t7, 0; nop` and the
// 8-byte target at slot+16, lazy `lu12i.w/ori $t0, index; b target`.

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/loong64.h"

namespace wasmcache::reference {
namespace {

using Li = Loong64Li<NativeDomain>;
using Lu12iOri = Loong64Lu12iOri<NativeDomain>;
using Branch = Loong64Branch26<NativeDomain>;
using Absolute = Loong64Absolute64<NativeDomain>;
constexpr ByteOrder kOrder = TraitsOf(Arch::kLoong64).byte_order;
constexpr uint32_t kInstrSize = 4;

constexpr uint32_t kFarPrefix[] = {
    0x18000093,  // pcaddi $t7, 4 (t7 = slot + 16)
    0x28c00273,  // ld.d   $t7, $t7, 0
    0x4c000260,  // jirl   $zero, $t7, 0
    0x03400000,  // nop (aligns the target)
};
constexpr uint32_t kFarPrefixWords = 4;
constexpr uint32_t kFarTargetOffset = kFarPrefixWords * kInstrSize;
constexpr uint32_t kT0 = 12;  // kWasmCompileLazyFuncIndexRegister
constexpr uint32_t kLazyBranchOffset = 2 * kInstrSize;
static_assert(kFarTargetOffset + 8 ==
              TraitsOf(Arch::kLoong64).far_jump_table_slot_size);
static_assert(kLazyBranchOffset + kInstrSize ==
              TraitsOf(Arch::kLoong64).lazy_compile_slot_size);
static_assert(kInstrSize == TraitsOf(Arch::kLoong64).jump_table_slot_size);

uint32_t LoadWord(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
void StoreWord(uint8_t* at, uint32_t value) {
  StoreUnaligned(at, value, 4, kOrder);
}
uint32_t WordAt(const uint8_t* code, const Site& site, int index) {
  return LoadWord(code + site.field_offset + index * kInstrSize);
}
void PutWord(uint8_t* code, const Site& site, int index, uint32_t value) {
  StoreWord(code + site.field_offset + index * kInstrSize, value);
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

uint32_t RdOf(uint32_t insn) { return insn & Loong64Words::kRegMask; }
bool IsLu12i(uint32_t insn) {
  return (insn & Loong64Words::kOpcode7Mask) == Loong64Words::kLu12iW;
}
bool IsLu32iSameRegister(uint32_t insn, uint32_t rd) {
  return (insn & (Loong64Words::kOpcode7Mask | Loong64Words::kRegMask)) ==
         Loong64Words::Lu32iWord(rd);
}
bool IsOriSameRegister(uint32_t insn, uint32_t rd) {
  return (insn & ~Loong64Words::kUi12Mask) == Loong64Words::OriWord(rd);
}

// Checks the `words` instructions of an li sequence at pc.
absl::StatusOr<Site> LocateLi(absl::Span<const uint8_t> code,
                              const RelocEntry& entry,
                              uint64_t code_file_offset, SiteForm form,
                              uint32_t words) {
  absl::StatusOr<Site> site = FieldSite(code, entry, code_file_offset, form,
                                        entry.pc, words * kInstrSize);
  if (!site.ok()) return site;
  const uint8_t* at = code.data() + entry.pc;
  const uint32_t w0 = LoadWord(at);
  const uint32_t w1 = LoadWord(at + 4);
  const uint32_t rd = RdOf(w0);
  if (!IsLu12i(w0)) {
    const char* what =
        Branch::IsBranch(w0) ? " (b/bl is not used for wasm sites)" : "";
    return SiteError(
        entry, code_file_offset,
        absl::StrFormat("instruction 0x%08x is not lu12i.w%s", w0, what));
  }
  if (!IsOriSameRegister(w1, rd)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("instruction 0x%08x after lu12i.w $r%d "
                                     "is not ori $r%d, $r%d",
                                     w1, rd, rd, rd));
  }
  if (words == 3) {
    const uint32_t w2 = LoadWord(at + 8);
    if (!IsLu32iSameRegister(w2, rd)) {
      return SiteError(entry, code_file_offset,
                       absl::StrFormat("instruction 0x%08x after ori is not "
                                       "lu32i.d $r%d",
                                       w2, rd));
    }
  }
  return site;
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  if (entry.mode == RelocMode::kInternalReference) {
    return FieldSite(code, entry, code_file_offset, SiteForm::kAbsolute64,
                     entry.pc, 8);
  }
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
    case RelocMode::kExternalReference:
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      break;
    default:
      return SiteError(entry, code_file_offset, "mode not used on loong64");
  }
  if (entry.pc % kInstrSize != 0) {
    return SiteError(entry, code_file_offset, "instruction not 4-aligned");
  }
  if (entry.mode == RelocMode::kWasmCanonicalSigId ||
      entry.mode == RelocMode::kWasmCodePointerTableEntry) {
    return LocateLi(code, entry, code_file_offset, SiteForm::kLoong64Lu12iOri,
                    Lu12iOri::kWords);
  }
  return LocateLi(code, entry, code_file_offset, SiteForm::kLoong64Li,
                  Li::kWords);
}

bool TagFits(const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kLoong64Li:
      return Li::TagInRange(tag);
    case SiteForm::kLoong64Lu12iOri:
      return Lu12iOri::InRange(tag);
    default:
      return true;
  }
}

uint64_t ReadValue(const uint8_t* code, const Site& site) {
  switch (site.form) {
    case SiteForm::kLoong64Li:
      return Li::Decode(WordAt(code, site, 0), WordAt(code, site, 1),
                        WordAt(code, site, 2));
    case SiteForm::kLoong64Lu12iOri:
      return Lu12iOri::Decode(WordAt(code, site, 0), WordAt(code, site, 1));
    default:
      return Absolute::Decode(LoadSiteField(code, site, kOrder));
  }
}

// Writes a value the form holds (callers check InRange first).
void WriteValue(uint8_t* code, const Site& site, uint64_t value) {
  switch (site.form) {
    case SiteForm::kLoong64Li:
      PutWord(code, site, 0, Li::EncodeLu12i(WordAt(code, site, 0), value));
      PutWord(code, site, 1, Li::EncodeOri(WordAt(code, site, 1), value));
      PutWord(code, site, 2, Li::EncodeLu32i(WordAt(code, site, 2), value));
      return;
    case SiteForm::kLoong64Lu12iOri:
      PutWord(code, site, 0,
              Lu12iOri::EncodeLu12i(WordAt(code, site, 0), value));
      PutWord(code, site, 1, Lu12iOri::EncodeOri(WordAt(code, site, 1), value));
      return;
    default:
      StoreSiteField(code, site, Absolute::Encode(value), kOrder);
      return;
  }
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  // V8 reads an li-held tag back as (uint32_t) target_address().
  if (site.form == SiteForm::kLoong64Li) {
    return Li::DecodeTag(WordAt(code, site, 0), WordAt(code, site, 1),
                         WordAt(code, site, 2));
  }
  return ReadValue(code, site);
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  WriteValue(code, site, tag);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t, const Site& site) {
  return ReadValue(code, site);
}

bool WriteTarget(uint8_t* code, uint64_t, const Site& site, uint64_t target) {
  switch (site.form) {
    case SiteForm::kLoong64Li:
      if (!Li::InRange(target)) return false;
      break;
    case SiteForm::kLoong64Lu12iOri:
      if (!Lu12iOri::InRange(target)) return false;
      break;
    default:
      break;
  }
  WriteValue(code, site, target);
  return true;
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Branch::InRange(slot_address, target)) return false;
  uint8_t bytes[4];
  StoreWord(bytes, Branch::Encode(Branch::kB, slot_address, target));
  StoreSlotWord(slot, bytes, 4);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  uint8_t prefix[kFarTargetOffset];
  for (uint32_t i = 0; i < kFarPrefixWords; ++i) {
    StoreWord(prefix + i * kInstrSize, kFarPrefix[i]);
  }
  if (std::memcmp(slot, prefix, kFarTargetOffset) != 0) {
    std::memcpy(slot, prefix, kFarTargetOffset);
  }
  uint8_t bytes[8];
  StoreUnaligned(bytes, target, 8, kOrder);
  StoreSlotWord(slot + kFarTargetOffset, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address,
                   uint32_t function_index, uint64_t target) {
  const uint64_t branch_address = slot_address + kLazyBranchOffset;
  if (!Branch::InRange(branch_address, target)) return false;
  StoreWord(slot, Loong64Words::Lu12iWord(kT0) | (function_index >> 12) << 5);
  StoreWord(slot + 4, Loong64Words::OriWord(kT0) | (function_index & 0xfff)
                                                       << 10);
  StoreWord(slot + kLazyBranchOffset,
            Branch::Encode(Branch::kB, branch_address, target));
  return true;
}

std::optional<uint64_t> ReadNearSlot(const uint8_t* slot,
                                     uint64_t slot_address) {
  const uint32_t insn = LoadWord(slot);
  if ((insn & ~Branch::kFieldMask) != Branch::kB) return std::nullopt;
  return Branch::Decode(insn, slot_address);
}

std::optional<uint64_t> ReadFarSlot(const uint8_t* slot, uint64_t) {
  for (uint32_t i = 0; i < kFarPrefixWords; ++i) {
    if (LoadWord(slot + i * kInstrSize) != kFarPrefix[i]) return std::nullopt;
  }
  return LoadUnaligned(slot + kFarTargetOffset, 8, kOrder);
}

}  // namespace

const ArchCodec kLoong64Codec = {
    .arch = Arch::kLoong64,
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
