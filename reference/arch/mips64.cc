// mips64: relocation sites and jump-table slots (V8 13.6).
//
// Sites (reference/encoders/mips64.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL,
//   EXTERNAL_REFERENCE               lui/ori/dsll/ori rt at pc (16 bytes),
//                                    48-bit value sign-extended from bit 47
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    lui/ori rt at pc (8 bytes), u32
//   INTERNAL_REFERENCE               8-byte absolute at pc
// INTERNAL_REFERENCE_ENCODED (j/jal) is never recorded in 13.6; there are
// no constant or veneer pools.
//
// Slots (jump-table-assembler.cc): near and far slots are the same 32-byte
// trampoline that finds its own address with `bal` and loads the 8-byte
// target stored at slot+24; the lazy slot puts the function index in $t0
// with lui/ori first (40 bytes, target at slot+32). Every target is in
// reach.

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/mips64.h"

namespace wasmcache::reference {
namespace {

using LiAddress = Mips64LiAddress<NativeDomain>;
using LuiOri = MipsLuiOri<NativeDomain>;
using Absolute = Mips64Absolute64<NativeDomain>;
constexpr ByteOrder kOrder = TraitsOf(Arch::kMips64).byte_order;
constexpr uint32_t kInstrSize = 4;

// The trampoline shared by the near, far and lazy slots.
constexpr uint32_t kTrampoline[] = {
    0x03e00825,  // move $at, $ra
    0x04110001,  // bal  . + 8 (ra = trampoline + 12)
    0x00000000,  // nop (delay slot)
    0xdff9000c,  // ld   $t9, 12($ra)
    0x03200008,  // jr   $t9
    0x0020f825,  // move $ra, $at (delay slot)
};
constexpr uint32_t kTrampolineWords = 6;
constexpr uint32_t kTrampolineSize = kTrampolineWords * kInstrSize;
constexpr uint32_t kT0 = 12;  // kWasmCompileLazyFuncIndexRegister
constexpr uint32_t kLazyPrefixSize = 2 * kInstrSize;
static_assert(kTrampolineSize + 8 ==
              TraitsOf(Arch::kMips64).jump_table_slot_size);
static_assert(TraitsOf(Arch::kMips64).far_jump_table_slot_size ==
              TraitsOf(Arch::kMips64).jump_table_slot_size);
static_assert(kLazyPrefixSize + kTrampolineSize + 8 ==
              TraitsOf(Arch::kMips64).lazy_compile_slot_size);

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

uint32_t RtOf(uint32_t insn) { return (insn >> 16) & 0x1f; }
bool IsLui(uint32_t insn) {
  return (insn & MipsWords::kLuiCheckMask) == MipsWords::kLui;
}
bool IsOriSameRegister(uint32_t insn, uint32_t rt) {
  return (insn & MipsWords::kOriCheckMask) == MipsWords::OriWord(rt);
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
  const uint32_t rt = RtOf(w0);
  if (!IsLui(w0)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("instruction 0x%08x is not lui", w0));
  }
  if (!IsOriSameRegister(w1, rt)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("instruction 0x%08x after lui $%d is "
                                     "not ori $%d, $%d",
                                     w1, rt, rt, rt));
  }
  if (words == 4) {
    const uint32_t w2 = LoadWord(at + 8);
    const uint32_t w3 = LoadWord(at + 12);
    if (w2 != MipsWords::DsllWord(rt)) {
      return SiteError(entry, code_file_offset,
                       absl::StrFormat("instruction 0x%08x is not dsll $%d, "
                                       "$%d, 16",
                                       w2, rt, rt));
    }
    if (!IsOriSameRegister(w3, rt)) {
      return SiteError(entry, code_file_offset,
                       absl::StrFormat("instruction 0x%08x after dsll is not "
                                       "ori $%d, $%d",
                                       w3, rt, rt));
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
      return SiteError(entry, code_file_offset, "mode not used on mips64");
  }
  if (entry.pc % kInstrSize != 0) {
    return SiteError(entry, code_file_offset, "instruction not 4-aligned");
  }
  if (entry.mode == RelocMode::kWasmCanonicalSigId ||
      entry.mode == RelocMode::kWasmCodePointerTableEntry) {
    return LocateLi(code, entry, code_file_offset, SiteForm::kMipsLuiOri,
                    LuiOri::kWords);
  }
  return LocateLi(code, entry, code_file_offset, SiteForm::kMips64LiAddress,
                  LiAddress::kWords);
}

bool TagFits(const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kMips64LiAddress:
      return LiAddress::TagInRange(tag);
    case SiteForm::kMipsLuiOri:
      return LuiOri::InRange(tag);
    default:
      return true;
  }
}

// The value a sequence loads (sign-extended 48 bits or u32), or the
// 8-byte datum.
uint64_t ReadValue(const uint8_t* code, const Site& site) {
  switch (site.form) {
    case SiteForm::kMips64LiAddress:
      return LiAddress::Decode(WordAt(code, site, 0), WordAt(code, site, 1),
                               WordAt(code, site, 3));
    case SiteForm::kMipsLuiOri:
      return LuiOri::Decode(WordAt(code, site, 0), WordAt(code, site, 1));
    default:
      return Absolute::Decode(LoadSiteField(code, site, kOrder));
  }
}

// Writes a value the form holds (callers check InRange first).
void WriteValue(uint8_t* code, const Site& site, uint64_t value) {
  switch (site.form) {
    case SiteForm::kMips64LiAddress:
      PutWord(code, site, 0,
              LiAddress::EncodeLui(WordAt(code, site, 0), value));
      PutWord(code, site, 1,
              LiAddress::EncodeOriMiddle(WordAt(code, site, 1), value));
      PutWord(code, site, 3,
              LiAddress::EncodeOriLow(WordAt(code, site, 3), value));
      return;
    case SiteForm::kMipsLuiOri:
      PutWord(code, site, 0, LuiOri::EncodeLui(WordAt(code, site, 0), value));
      PutWord(code, site, 1, LuiOri::EncodeOri(WordAt(code, site, 1), value));
      return;
    default:
      StoreSiteField(code, site, Absolute::Encode(value), kOrder);
      return;
  }
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  // V8 reads an li-held tag back as (uint32_t) target_address().
  if (site.form == SiteForm::kMips64LiAddress) {
    return LiAddress::DecodeTag(WordAt(code, site, 0), WordAt(code, site, 1),
                                WordAt(code, site, 3));
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
    case SiteForm::kMips64LiAddress:
      if (!LiAddress::InRange(target)) return false;
      break;
    case SiteForm::kMipsLuiOri:
      if (!LuiOri::InRange(target)) return false;
      break;
    default:
      break;
  }
  WriteValue(code, site, target);
  return true;
}

// Writes the trampoline words (only if they differ, so a live slot's code
// is not rewritten) and then its 8-byte target in one store.
void WriteTrampoline(uint8_t* at, uint64_t target) {
  uint8_t words[kTrampolineSize];
  for (uint32_t i = 0; i < kTrampolineWords; ++i) {
    StoreWord(words + i * kInstrSize, kTrampoline[i]);
  }
  if (std::memcmp(at, words, kTrampolineSize) != 0) {
    std::memcpy(at, words, kTrampolineSize);
  }
  uint8_t bytes[8];
  StoreUnaligned(bytes, target, 8, kOrder);
  StoreSlotWord(at + kTrampolineSize, bytes, 8);
}

std::optional<uint64_t> ReadTrampoline(const uint8_t* at) {
  for (uint32_t i = 0; i < kTrampolineWords; ++i) {
    if (LoadWord(at + i * kInstrSize) != kTrampoline[i]) return std::nullopt;
  }
  return LoadUnaligned(at + kTrampolineSize, 8, kOrder);
}

bool WriteNearSlot(uint8_t* slot, uint64_t, uint64_t target) {
  WriteTrampoline(slot, target);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  WriteTrampoline(slot, target);
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t function_index,
                   uint64_t target) {
  StoreWord(slot, MipsWords::LuiWord(kT0) | (function_index >> 16));
  StoreWord(slot + 4, MipsWords::OriWord(kT0) | (function_index & 0xffff));
  WriteTrampoline(slot + kLazyPrefixSize, target);
  return true;
}

std::optional<uint64_t> ReadNearSlot(const uint8_t* slot, uint64_t) {
  return ReadTrampoline(slot);
}

std::optional<uint64_t> ReadFarSlot(const uint8_t* slot, uint64_t) {
  return ReadTrampoline(slot);
}

}  // namespace

const ArchCodec kMips64Codec = {
    .arch = Arch::kMips64,
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
