// ppc64 (ppc64le): relocation sites and jump-table slots (V8 13.6).
//
// Sites (reference/encoders/ppc64.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL,
//   EXTERNAL_REFERENCE               lis/ori/sldi/oris/ori at pc (variant
//                                    kAddress: 64-bit value, tag = low 32)
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    the same sequence holding a 32-bit
//                                    constant (variant kValue32)
//   INTERNAL_REFERENCE_ENCODED       the same sequence holding the whole
//                                    64-bit address (variant kInternal)
//   INTERNAL_REFERENCE               8-byte absolute at pc
// A pool load at pc (ld rT, d(r28), or addis + ld) holds the value in an
// 8-byte slot at the code's constant_pool_offset plus the load's
// displacement (a pool slot, as on arm64); located only where that offset
// is known (LocateSite with the code header's constant_pool_offset), else
// kUnimplemented. CONST_POOL and VENEER_POOL never occur on ppc64.
//
// Slots: near `b` (4 bytes, one store), far mflr/bl/mflr/mtlr/ld/mtctr/bctr/
// nop + .quad target at slot+32 + 2 nops, lazy the same trampoline with
// lwz r15 (function index at slot+32) and the target at slot+40.

#include "reference/encoders/ppc64.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

using Mov = Ppc64Mov<NativeDomain>;
using PoolLoad = Ppc64PoolLoad<NativeDomain>;
using Branch = Ppc64Branch26<NativeDomain>;
using Data64 = Ppc64Data64<NativeDomain>;
constexpr ByteOrder kOrder = ByteOrder::kLittle;

// Site::variant of kPpc64Mov.
constexpr uint8_t kAddress = 0;   // 64-bit address, tag in the low 32 bits
constexpr uint8_t kValue32 = 1;   // 32-bit constant
constexpr uint8_t kInternal = 2;  // internal reference, 64-bit offset tag

constexpr uint32_t kNop = 0x60000000;  // ori r0, r0, 0
// Far slot: r12 <- address of word 2 (slot+8); ld r12, 24(r12) reads the
// target at slot+32.
constexpr uint32_t kFarSlotCode[8] = {
    0x7c0802a6,  // mflr r0
    0x48000005,  // bl .+4
    0x7d8802a6,  // mflr r12
    0x7c0803a6,  // mtlr r0
    0xe98c0018,  // ld r12, 24(r12)
    0x7d8903a6,  // mtctr r12
    0x4e800420,  // bctr
    kNop,
};
constexpr uint32_t kFarSlotTargetOffset = 32;
// Lazy slot: lwz r15, 24(r12) reads the index at slot+32, ld r0, 32(r12)
// the target at slot+40.
constexpr uint32_t kLazySlotCode[8] = {
    0x7c0802a6,  // mflr r0
    0x48000005,  // bl .+4
    0x7d8802a6,  // mflr r12
    0x7c0803a6,  // mtlr r0
    0x81ec0018,  // lwz r15, 24(r12)
    0xe80c0020,  // ld r0, 32(r12)
    0x7c0903a6,  // mtctr r0
    0x4e800420,  // bctr
};
constexpr uint32_t kLazySlotIndexOffset = 32;
constexpr uint32_t kLazySlotTargetOffset = 40;

uint32_t LoadWord(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
void StoreWord(uint8_t* at, uint32_t value) {
  StoreUnaligned(at, value, 4, kOrder);
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool;
}

absl::StatusOr<Site> LocateWithPool(absl::Span<const uint8_t> code,
                                    const RelocEntry& entry,
                                    uint64_t code_file_offset,
                                    uint32_t constant_pool_offset) {
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
    case RelocMode::kInternalReferenceEncoded:
      variant = kInternal;
      break;
    default:
      return SiteError(entry, code_file_offset, "mode not used on ppc64");
  }
  if (entry.pc % 4 != 0) {
    return SiteError(entry, code_file_offset, "instruction not 4-aligned");
  }
  if (!FieldInside(code, entry.pc, 4)) {
    return SiteError(entry, code_file_offset, "instruction outside the code");
  }
  const uint8_t* at = code.data() + entry.pc;
  const uint32_t w0 = LoadWord(at);
  if (FieldInside(code, entry.pc, Mov::kSize) &&
      Mov::IsSequence(w0, LoadWord(at + 4), LoadWord(at + 8), LoadWord(at + 12),
                      LoadWord(at + 16))) {
    Site site{SiteForm::kPpc64Mov, entry.pc, Mov::kSize, entry.pc};
    site.variant = variant;
    return site;
  }
  const bool pool_load = PoolLoad::IsRegularLoad(w0) ||
                         (FieldInside(code, entry.pc, 8) &&
                          PoolLoad::IsOverflowedLoad(w0, LoadWord(at + 4)));
  if (pool_load && variant != kInternal) {
    if (constant_pool_offset == kNoConstantPool) {
      return absl::UnimplementedError(FormatError(
          section::kReloc,
          absl::StrFormat("%s at pc 0x%x: constant-pool load 0x%08x needs "
                          "the code's constant_pool_offset",
                          RelocModeName(entry.mode), entry.pc, w0),
          code_file_offset + entry.pc));
    }
    // The 8-byte slot lies at the pool start plus the load's displacement.
    const bool overflowed = !PoolLoad::IsRegularLoad(w0);
    const uint64_t displacement =
        overflowed ? PoolLoad::OverflowedOffset(w0, LoadWord(at + 4))
                   : PoolLoad::RegularOffset(w0);
    const uint64_t slot = uint64_t{constant_pool_offset} + displacement;
    if (slot % 8 != 0 || slot < constant_pool_offset) {
      return SiteError(entry, code_file_offset,
                       absl::StrFormat("constant-pool slot 0x%x is not an "
                                       "aligned slot of the pool at 0x%x",
                                       slot, constant_pool_offset));
    }
    absl::StatusOr<Site> site = FieldSite(code, entry, code_file_offset,
                                          SiteForm::kAbsolute64, slot, 8);
    if (site.ok()) {
      site->pool_slot = true;
      site->instruction_size = overflowed ? 8 : 4;
      site->variant = variant;
    }
    return site;
  }
  if (!FieldInside(code, entry.pc, Mov::kSize)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("20-byte lis/ori/sldi/oris/ori sequence "
                                     "at 0x%x outside the %d instruction bytes",
                                     entry.pc, code.size()));
  }
  return SiteError(
      entry, code_file_offset,
      absl::StrFormat("instructions at 0x%x (first 0x%08x) are not a "
                      "lis/ori/sldi/oris/ori sequence of one register",
                      entry.pc, w0));
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  return LocateWithPool(code, entry, code_file_offset, kNoConstantPool);
}

struct MovWords {
  uint32_t w[5];
};
MovWords LoadMov(const uint8_t* code, const Site& site) {
  MovWords m;
  for (int i = 0; i < 5; ++i)
    m.w[i] = LoadWord(code + site.field_offset + 4 * i);
  return m;
}
uint64_t DecodeMov(const uint8_t* code, const Site& site) {
  const MovWords m = LoadMov(code, site);
  return Mov::Decode(m.w[0], m.w[1], m.w[3], m.w[4]);
}
void EncodeMov(uint8_t* code, const Site& site, uint64_t value) {
  MovWords m = LoadMov(code, site);
  Mov::Encode(m.w, value);
  for (int i = 0; i < 5; ++i) {
    StoreWord(code + site.field_offset + 4 * i, m.w[i]);
  }
}

bool TagFits(const Site& site, uint64_t tag) {
  if (site.form == SiteForm::kPpc64Mov && site.variant != kInternal) {
    return Mov::TagInRange(tag);
  }
  return true;
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  if (site.form == SiteForm::kPpc64Mov) {
    if (site.variant == kInternal) return DecodeMov(code, site);
    const MovWords m = LoadMov(code, site);
    return Mov::DecodeTag(m.w[0], m.w[1], m.w[3], m.w[4]);
  }
  return Data64::Decode(LoadSiteField(code, site, kOrder));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  if (site.form == SiteForm::kPpc64Mov) {
    EncodeMov(code, site, tag);
    return;
  }
  StoreSiteField(code, site, Data64::Encode(tag), kOrder);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t, const Site& site) {
  if (site.form == SiteForm::kPpc64Mov) {
    if (site.variant != kValue32) return DecodeMov(code, site);
    const MovWords m = LoadMov(code, site);
    return Mov::DecodeValue32(m.w[0], m.w[1], m.w[3], m.w[4]);
  }
  return Data64::Decode(LoadSiteField(code, site, kOrder));
}

bool WriteTarget(uint8_t* code, uint64_t, const Site& site, uint64_t target) {
  if (site.form == SiteForm::kPpc64Mov) {
    if (site.variant == kValue32 && !Mov::FitsValue32(target)) return false;
    EncodeMov(code, site, target);
    return true;
  }
  StoreSiteField(code, site, Data64::Encode(target), kOrder);
  return true;
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Branch::InRange(slot_address, target)) return false;
  uint8_t bytes[4];
  StoreWord(bytes, Branch::Encode(Branch::kB, slot_address, target));
  StoreSlotWord(slot, bytes, 4);
  return true;
}

// Writes the trampoline when the slot does not hold it yet, then the
// target where the slot's `ld` reads it (slot+32), with one 8-byte store.
void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  uint8_t code[kFarSlotTargetOffset];
  for (int i = 0; i < 8; ++i) StoreWord(code + 4 * i, kFarSlotCode[i]);
  uint8_t tail[8];
  StoreWord(tail, kNop);
  StoreWord(tail + 4, kNop);
  if (std::memcmp(slot, code, sizeof(code)) != 0) {
    std::memcpy(slot, code, sizeof(code));
  }
  if (std::memcmp(slot + 40, tail, 8) != 0) std::memcpy(slot + 40, tail, 8);
  uint8_t bytes[8];
  StoreUnaligned(bytes, target, 8, kOrder);
  StoreSlotWord(slot + kFarSlotTargetOffset, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t function_index,
                   uint64_t target) {
  for (int i = 0; i < 8; ++i) StoreWord(slot + 4 * i, kLazySlotCode[i]);
  StoreWord(slot + kLazySlotIndexOffset, function_index);
  StoreWord(slot + kLazySlotIndexOffset + 4, kNop);
  StoreUnaligned(slot + kLazySlotTargetOffset, target, 8, kOrder);
  return true;
}

std::optional<uint64_t> ReadNearSlot(const uint8_t* slot,
                                     uint64_t slot_address) {
  const uint32_t insn = LoadWord(slot);
  if (!Branch::IsNearSlotBranch(insn)) return std::nullopt;
  return Branch::Decode(insn, slot_address);
}

std::optional<uint64_t> ReadFarSlot(const uint8_t* slot, uint64_t) {
  for (int i = 0; i < 8; ++i) {
    if (LoadWord(slot + 4 * i) != kFarSlotCode[i]) return std::nullopt;
  }
  if (LoadWord(slot + 40) != kNop || LoadWord(slot + 44) != kNop) {
    return std::nullopt;
  }
  return LoadUnaligned(slot + kFarSlotTargetOffset, 8, kOrder);
}

}  // namespace

const ArchCodec kPpc64Codec = {
    .arch = Arch::kPpc64,
    .mode_used = ModeUsed,
    .locate_site = Locate,
    .locate_site_with_pool = LocateWithPool,
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
