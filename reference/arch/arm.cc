// arm (32-bit): relocation sites and jump-table slots (V8 13.6).
//
// Sites (reference/encoders/arm.h has the fixup expressions): the entry's
// pc is a 4-aligned `ldr rd, [pc, #+/-imm12]`, and the value is the 4-byte
// constant-pool word it loads, for every serializer-patched mode V8 emits
// on arm:
//   WASM_CALL, WASM_STUB_CALL        call/jump target (then blx ip, or the
//                                    load goes straight into pc)
//   EXTERNAL_REFERENCE               address
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    32-bit id
// The instruction is never patched; two entries never share a word (V8
// shares pool words only between entries without reloc info).
// CONST_POOL marks each pool. VENEER_POOL (arm64 only), INTERNAL_REFERENCE
// and INTERNAL_REFERENCE_ENCODED are never emitted in arm wasm code: table
// switches are `add pc, pc, index lsl 2` followed by branches.
//
// Slots (all words little-endian):
//   near = far  ldr pc, [pc, #-4]; .word target                   8 bytes
//   lazy        ldr r4, [pc]; ldr pc, [pc]; .word index; .word target  16
// Every target is an absolute 32-bit address: "out of reach" means an
// address of 2^32 or more.

#include <cassert>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/arm.h"

namespace wasmcache::reference {
namespace {

using ArmLdr = ArmLdrPcImm12<NativeDomain>;
using ArmWord = ArmWord32<NativeDomain>;
constexpr ByteOrder kOrder = ByteOrder::kLittle;
constexpr uint32_t kInstrSize = 4;

// Jump-table instruction words.
constexpr uint32_t kLdrPcPcMinus4 = 0xe51ff004;  // ldr pc, [pc, #-4]
constexpr uint32_t kLdrR4Pc = 0xe59f4000;        // ldr r4, [pc]
constexpr uint32_t kLdrPcPc = 0xe59ff000;        // ldr pc, [pc]

uint32_t LoadLe32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
void StoreLe32(uint8_t* at, uint32_t value) {
  StoreUnaligned(at, value, 4, kOrder);
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReference &&
         mode != RelocMode::kInternalReferenceEncoded;
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
    case RelocMode::kExternalReference:
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      break;
    default:
      return SiteError(entry, code_file_offset, "mode not used on arm");
  }
  if (entry.pc % kInstrSize != 0) {
    return SiteError(entry, code_file_offset, "instruction not 4-aligned");
  }
  if (!FieldInside(code, entry.pc, kInstrSize)) {
    return SiteError(entry, code_file_offset, "instruction outside the code");
  }
  const uint32_t insn = LoadLe32(code.data() + entry.pc);
  if (!ArmLdr::IsLdrPcImmediate(insn)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("instruction 0x%08x is not ldr rd, "
                                     "[pc, #imm12] (a constant-pool load)",
                                     insn));
  }
  // Computed in 64 bits: a slot before the code wraps high and fails the
  // inside check below.
  const uint64_t slot = ArmLdr::SlotAddress(insn, entry.pc);
  if (slot % kInstrSize != 0) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("pool word at 0x%x not 4-aligned", slot));
  }
  if (slot == entry.pc) {
    return SiteError(entry, code_file_offset,
                     "pool word is the load instruction itself");
  }
  absl::StatusOr<Site> site =
      FieldSite(code, entry, code_file_offset, SiteForm::kImm32, slot,
                ArmWord::kFieldSize);
  if (site.ok()) {
    site->pool_slot = true;
    site->instruction_size = kInstrSize;
  }
  return site;
}

// A pool word holds any 32-bit tag.
bool TagFits(const Site&, uint64_t tag) { return ArmWord::TagInRange(tag); }

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  return ArmWord::DecodeTag(
      static_cast<uint32_t>(LoadSiteField(code, site, kOrder)));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  StoreSiteField(code, site, ArmWord::EncodeTag(tag), kOrder);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t, const Site& site) {
  return ArmWord::Decode(
      static_cast<uint32_t>(LoadSiteField(code, site, kOrder)));
}

bool WriteTarget(uint8_t* code, uint64_t, const Site& site, uint64_t target) {
  if (!ArmWord::InRange(target)) return false;
  StoreSiteField(code, site, ArmWord::Encode(target), kOrder);
  return true;
}

// Both words of a jump slot, each one 4-byte store (V8 writes them with
// relaxed stores; the instruction word never changes once written).
bool WriteJump(uint8_t* slot, uint64_t target) {
  if (!ArmWord::InRange(target)) return false;
  uint8_t word[4];
  StoreLe32(word, kLdrPcPcMinus4);
  StoreSlotWord(slot, word, 4);
  StoreLe32(word, ArmWord::Encode(target));
  StoreSlotWord(slot + kInstrSize, word, 4);
  return true;
}

bool WriteNearSlot(uint8_t* slot, uint64_t, uint64_t target) {
  return WriteJump(slot, target);
}

// The far slot is the near form. The code manager hands 32-bit targets
// only (code spaces of 32-bit targets lie below 4 GiB), so a wider one is a
// caller bug; nothing is written.
void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  const bool ok = WriteJump(slot, target);
  assert(ok && "arm far slot: address outside the 32-bit address space");
  (void)ok;
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t function_index,
                   uint64_t target) {
  if (!ArmWord::InRange(target)) return false;
  StoreLe32(slot, kLdrR4Pc);
  StoreLe32(slot + kInstrSize, kLdrPcPc);
  StoreLe32(slot + 2 * kInstrSize, function_index);
  StoreLe32(slot + 3 * kInstrSize, ArmWord::Encode(target));
  return true;
}

std::optional<uint64_t> ReadJump(const uint8_t* slot, uint64_t) {
  if (LoadLe32(slot) != kLdrPcPcMinus4) return std::nullopt;
  return ArmWord::Decode(LoadLe32(slot + kInstrSize));
}

}  // namespace

const ArchCodec kArmCodec = {
    .arch = Arch::kArm,
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
