// s390x sites and jump-table slots for the fast implementation. Big-endian.
//
// Sites: WASM_CALL, WASM_STUB_CALL and EXTERNAL_REFERENCE are iihf + iilf of
// one register at pc holding an address (tag: the iilf immediate);
// WASM_CANONICAL_SIG_ID and WASM_CODE_POINTER_TABLE_ENTRY the same pair
// holding a 32-bit constant; INTERNAL_REFERENCE 8 bytes at pc. Nothing else
// (brcl/brasl at a site, INTERNAL_REFERENCE_ENCODED, pools) occurs.
// Slots: near `brcl 15; lr r0,r0`, far `larl r1,.; lg r1,16(r1); br r1;
// lr r0,r0` with the target at slot+16, lazy `lgfi r7,index; larl r1,.;
// lg r1,18(r1); br r1; lgr r0,r0` with the target at slot+24.

#include <cstring>

#include "fast/arch.h"
#include "fast/encoders/s390x.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using Imms = S390xImms<NativeDomain>;
constexpr ByteOrder kOrder = TraitsOf(Arch::kS390x).byte_order;

// Form of each serializer-patched mode; kNone: not an s390x wasm site.
constexpr uint8_t kNone = 0xff;
constexpr auto kFormOfMode = [] {
  std::array<uint8_t, kNumberOfRelocModes> t{};
  t.fill(kNone);
  t[static_cast<int>(RelocMode::kWasmCall)] = kS390xPairAddress;
  t[static_cast<int>(RelocMode::kWasmStubCall)] = kS390xPairAddress;
  t[static_cast<int>(RelocMode::kExternalReference)] = kS390xPairAddress;
  t[static_cast<int>(RelocMode::kWasmCanonicalSigId)] = kS390xPairValue32;
  t[static_cast<int>(RelocMode::kWasmCodePointerTableEntry)] =
      kS390xPairValue32;
  t[static_cast<int>(RelocMode::kInternalReference)] = kS390xData64;
  return t;
}();

// Forms found through an instruction pattern at pc, and the pattern.
constexpr const S390xPattern* kPatternOfForm[] = {
    &kS390xPairPattern, &kS390xPairPattern, nullptr};

bool Reject(const char** why, const char* what) {
  *why = what;
  return false;
}

void LoadHeads(const uint8_t* at, const S390xPattern& pattern,
               uint32_t* heads) {
  for (int i = 0; i < pattern.num_checks; ++i) {
    heads[i] = Load16(at + pattern.checks[i].offset, kOrder);
  }
}
void LoadImms(const uint8_t* at, const S390xLayout& layout, uint32_t* imms) {
  for (int i = 0; i < layout.num_imms; ++i) {
    imms[i] = Load32(at + layout.imms[i].offset, kOrder);
  }
}
void StoreImms(uint8_t* at, const S390xLayout& layout, const uint32_t* imms) {
  for (int i = 0; i < layout.num_imms; ++i) {
    Store32(at + layout.imms[i].offset, imms[i], kOrder);
  }
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

bool Locate(const uint8_t* code, uint32_t code_size, uint32_t pc,
            RelocMode mode, uint32_t, Site* site, const char** why) {
  const uint8_t form = kFormOfMode[static_cast<int>(mode)];
  if (form == kNone) return Reject(why, "mode not used on s390x");
  const S390xPattern* pattern = kPatternOfForm[form];
  // Instruction forms start on a halfword; data fields anywhere.
  if (pattern != nullptr && pc % 2 != 0) {
    return Reject(why, "instruction not 2-aligned");
  }
  const uint32_t size = kS390xForms[form].layout->size;
  if (pc > code_size || code_size - pc < size) {
    return Reject(why, pattern != nullptr
                           ? "12-byte iihf + iilf outside the instructions"
                           : "8-byte field outside the instructions");
  }
  if (pattern != nullptr) {
    uint32_t heads[2];
    LoadHeads(code + pc, *pattern, heads);
    if (!Imms::Matches(*pattern, heads)) {
      return Reject(why, "not iihf + iilf of one register");
    }
  }
  Site s;
  s.pc = pc;
  s.field_offset = pc;
  s.field_size = static_cast<uint8_t>(size);
  s.form = form;
  s.mode = mode;
  *site = s;
  return true;
}

// The site's address (site 0 for a tag) or tag of `reach`, from and to
// the immediates of the site's layout.
uint64_t Read(const uint8_t* code, const Site& site, const S390xReach& reach,
              uint64_t site_address) {
  const S390xLayout& layout = *kS390xForms[site.form].layout;
  uint32_t imms[2];
  LoadImms(code + site.field_offset, layout, imms);
  return Imms::Read(layout, reach, imms, site_address);
}

void Write(uint8_t* code, const Site& site, const S390xReach& reach,
           uint64_t site_address, uint64_t target) {
  const S390xLayout& layout = *kS390xForms[site.form].layout;
  uint32_t imms[2];
  Imms::Write(layout, reach, imms, site_address, target);
  StoreImms(code + site.field_offset, layout, imms);
}

bool TagFits(const Site& site, uint64_t tag) {
  return Imms::Fits(kS390xForms[site.form].tag, 0, tag);
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  return Read(code, site, kS390xForms[site.form].tag, 0);
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  Write(code, site, kS390xForms[site.form].tag, 0, tag);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  return Read(code, site, kS390xForms[site.form].target,
              code_address + site.field_offset);
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  const S390xReach& reach = kS390xForms[site.form].target;
  const uint64_t site_address = code_address + site.field_offset;
  if (!Imms::Fits(reach, site_address, target)) return false;
  Write(code, site, reach, site_address, target);
  return true;
}

// --- Jump-table slots --------------------------------------------------------

constexpr uint8_t kNearSlot[8] = {0xc0, 0xf4, 0, 0, 0, 0,  // brcl 15, .
                                  0x18, 0x00};             // lr r0, r0

// Far slot: `larl r1, .` sets r1 to the slot, `lg r1, 16(r1)` reads the
// target at slot+16.
constexpr uint32_t kFarTargetOffset = 16;
constexpr uint8_t kFarSlotCode[kFarTargetOffset] = {
    0xc0, 0x10, 0x00, 0x00, 0x00, 0x00,  // larl r1, .
    0xe3, 0x10, 0x10, 0x10, 0x00, 0x04,  // lg r1, 16(r1)
    0x07, 0xf1,                          // br r1
    0x18, 0x00,                          // lr r0, r0
};
static_assert(kFarTargetOffset + 8 ==
              TraitsOf(Arch::kS390x).far_jump_table_slot_size);

// Lazy slot: `lgfi r7, index` (imm32 at slot+2), then `larl r1, .` sets r1
// to slot+6 and `lg r1, 18(r1)` reads the target at slot+24.
constexpr uint32_t kLazyIndexOffset = 2;
constexpr uint32_t kLazyTargetOffset = 24;
constexpr uint8_t kLazySlotCode[kLazyTargetOffset] = {
    0xc0, 0x71, 0x00, 0x00, 0x00, 0x00,  // lgfi r7, index
    0xc0, 0x10, 0x00, 0x00, 0x00, 0x00,  // larl r1, .
    0xe3, 0x10, 0x10, 0x12, 0x00, 0x04,  // lg r1, 18(r1)
    0x07, 0xf1,                          // br r1
    0xb9, 0x04, 0x00, 0x00,              // lgr r0, r0
};
static_assert(kLazyTargetOffset + 8 ==
              TraitsOf(Arch::kS390x).lazy_compile_slot_size);

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Imms::Fits(kS390xBrclReach, slot_address, target)) return false;
  uint8_t bytes[8];
  std::memcpy(bytes, kNearSlot, 8);
  uint32_t imm;
  Imms::Write(kS390xBrclLayout, kS390xBrclReach, &imm, slot_address, target);
  StoreImms(bytes, kS390xBrclLayout, &imm);
  StoreSlot(slot, bytes, 8);
  return true;
}

// Rewrites the code bytes only where they differ, then the target with one
// 8-byte store where the slot's `lg` reads it.
void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  if (std::memcmp(slot, kFarSlotCode, kFarTargetOffset) != 0) {
    std::memcpy(slot, kFarSlotCode, kFarTargetOffset);
  }
  uint8_t bytes[8];
  Store64(bytes, target, kOrder);
  StoreSlot(slot + kFarTargetOffset, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t function_index,
                   uint64_t target) {
  std::memcpy(slot, kLazySlotCode, kLazyTargetOffset);
  Store32(slot + kLazyIndexOffset, function_index, kOrder);
  Store64(slot + kLazyTargetOffset, target, kOrder);
  return true;
}

bool ReadNearSlot(const uint8_t* slot, uint64_t slot_address,
                  uint64_t* target) {
  uint32_t heads[2];
  LoadHeads(slot, kS390xNearSlotPattern, heads);
  if (!Imms::Matches(kS390xNearSlotPattern, heads)) return false;
  uint32_t imm;
  LoadImms(slot, kS390xBrclLayout, &imm);
  *target = Imms::Read(kS390xBrclLayout, kS390xBrclReach, &imm, slot_address);
  return true;
}

bool ReadFarSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  if (std::memcmp(slot, kFarSlotCode, kFarTargetOffset) != 0) return false;
  *target = Load64(slot + kFarTargetOffset, kOrder);
  return true;
}

}  // namespace

const ArchOps kS390xOps = {
    .arch = Arch::kS390x,
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
