// ia32: relocation sites and jump-table slots (V8 13.6).
//
// Sites (reference/encoders/ia32.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL        rel32 at pc; the byte before pc is the
//                                    opcode, E8 (call) or E9 (jmp)
//   EXTERNAL_REFERENCE,
//   INTERNAL_REFERENCE               4-byte absolute at pc (an imm32, a
//                                    disp32 or a data word)
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    imm32 at pc
// ia32 has no constant pool; CONST_POOL, VENEER_POOL and
// INTERNAL_REFERENCE_ENCODED never occur.
//
// Slots: near `jmp rel32` (5 bytes; twelve per 64-byte line, the last four
// bytes of a line left zero), far = the near form, lazy `mov edi, index;
// jmp rel32` (10 bytes). Every address is 32 bits wide; a rel32 reaches the
// whole address space, so "out of reach" means an address of 2^32 or more.

#include <cassert>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/ia32.h"

namespace wasmcache::reference {
namespace {

using Ia32Call = Ia32Rel32<NativeDomain>;
using Ia32Word = Ia32Abs32<NativeDomain>;
constexpr ByteOrder kOrder = ByteOrder::kLittle;

constexpr uint8_t kJmpRel32 = Ia32Call::kJmp;
constexpr uint8_t kMovEdiImm32 = 0xbf;  // mov edi, imm32 (B8 + edi)
constexpr uint32_t kNearSlotSize = 5;
constexpr uint32_t kLazyJumpOffset = 5;  // the jmp of a lazy slot

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall: {
      if (entry.pc == 0 || !FieldInside(code, entry.pc - 1, 1)) {
        return SiteError(entry, code_file_offset,
                         "no call/jmp opcode before the rel32");
      }
      const uint8_t opcode = code[entry.pc - 1];
      if (opcode != Ia32Call::kCall && opcode != Ia32Call::kJmp) {
        return SiteError(
            entry, code_file_offset,
            absl::StrFormat("opcode 0x%02x before the rel32 is neither call "
                            "(e8) nor jmp (e9)",
                            opcode));
      }
      return FieldSite(code, entry, code_file_offset, SiteForm::kX64Rel32,
                       entry.pc, Ia32Call::kFieldSize);
    }
    case RelocMode::kExternalReference:
    case RelocMode::kInternalReference:
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      return FieldSite(code, entry, code_file_offset, SiteForm::kImm32,
                       entry.pc, Ia32Word::kFieldSize);
    default:
      return SiteError(entry, code_file_offset, "mode not used on ia32");
  }
}

// Every ia32 field holds a whole 32-bit tag.
bool TagFits(const Site& site, uint64_t tag) {
  return site.form == SiteForm::kX64Rel32 ? Ia32Call::TagInRange(tag)
                                          : Ia32Word::TagInRange(tag);
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  const auto field = static_cast<uint32_t>(LoadSiteField(code, site, kOrder));
  return site.form == SiteForm::kX64Rel32 ? Ia32Call::DecodeTag(field)
                                          : Ia32Word::DecodeTag(field);
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  StoreSiteField(code, site,
                 site.form == SiteForm::kX64Rel32 ? Ia32Call::EncodeTag(tag)
                                                  : Ia32Word::EncodeTag(tag),
                 kOrder);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  const auto field = static_cast<uint32_t>(LoadSiteField(code, site, kOrder));
  if (site.form == SiteForm::kX64Rel32) {
    return Ia32Call::Decode(code_address + site.field_offset, field);
  }
  return Ia32Word::Decode(field);
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  if (site.form == SiteForm::kX64Rel32) {
    const uint64_t site_address = code_address + site.field_offset;
    if (!Ia32Call::InRange(site_address, target)) return false;
    StoreSiteField(code, site, Ia32Call::Encode(site_address, target), kOrder);
    return true;
  }
  if (!Ia32Word::InRange(target)) return false;
  StoreSiteField(code, site, Ia32Word::Encode(target), kOrder);
  return true;
}

// jmp rel32 at `slot`. V8 writes the opcode byte and then the rel32 with
// relaxed stores; the rel32 is one store here too (atomic where aligned).
bool WriteJump(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  const uint64_t site = slot_address + 1;
  if (!Ia32Call::InRange(site, target)) return false;
  slot[0] = kJmpRel32;
  uint8_t rel32[4];
  StoreUnaligned(rel32, Ia32Call::Encode(site, target), 4, kOrder);
  StoreSlotWord(slot + 1, rel32, 4);
  return true;
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  return WriteJump(slot, slot_address, target);
}

// The far slot is the near form. The code manager reserves the code spaces
// of 32-bit targets below 4 GiB and hands 32-bit builtin entries, so a
// target outside the address space is a caller bug; nothing is written.
void WriteFarSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  const bool ok = WriteJump(slot, slot_address, target);
  assert(ok && "ia32 far slot: address outside the 32-bit address space");
  (void)ok;
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address,
                   uint32_t function_index, uint64_t target) {
  const uint64_t site = slot_address + kLazyJumpOffset + 1;
  if (!Ia32Call::InRange(site, target)) return false;
  slot[0] = kMovEdiImm32;
  StoreUnaligned(slot + 1, function_index, 4, kOrder);
  slot[kLazyJumpOffset] = kJmpRel32;
  StoreUnaligned(slot + kLazyJumpOffset + 1, Ia32Call::Encode(site, target), 4,
                 kOrder);
  return true;
}

std::optional<uint64_t> ReadJump(const uint8_t* slot, uint64_t slot_address) {
  if (slot[0] != kJmpRel32) return std::nullopt;
  // A slot outside the 32-bit address space has no ia32 target.
  if (slot_address + kNearSlotSize > (uint64_t{1} << 32)) return std::nullopt;
  return Ia32Call::Decode(
      slot_address + 1,
      static_cast<uint32_t>(LoadUnaligned(slot + 1, 4, kOrder)));
}

}  // namespace

const ArchCodec kIa32Codec = {
    .arch = Arch::kIa32,
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
    .read_near_slot = ReadJump,
    .read_far_slot = ReadJump,
};

}  // namespace wasmcache::reference
