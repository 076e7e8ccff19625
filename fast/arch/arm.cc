// arm (32-bit) sites and jump-table slots for the fast implementation.
//
// Sites: every serializer-patched mode V8 emits on arm (WASM_CALL,
// WASM_STUB_CALL, EXTERNAL_REFERENCE, WASM_CANONICAL_SIG_ID,
// WASM_CODE_POINTER_TABLE_ENTRY) is a 4-aligned `ldr rd, [pc, #+/-imm12]`
// at pc whose 4-byte pool word holds the value; the load itself is never
// patched. Slots: near = far `ldr pc, [pc, #-4]; .word target` (8 bytes),
// lazy `ldr r4, [pc]; ldr pc, [pc]; .word index; .word target` (16 bytes).
// Every address is 32 bits wide.

#include <cassert>

#include "fast/arch.h"
#include "fast/encoders/arm.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using Load = ArmLoad<NativeDomain>;
constexpr ByteOrder kLe = ByteOrder::kLittle;
constexpr uint32_t kInsnBytes = 4;

constexpr uint32_t Bit(RelocMode mode) {
  return uint32_t{1} << static_cast<int>(mode);
}
// Modes V8 never emits in arm wasm code: veneer pools are arm64's, and arm
// table switches branch pc-relative (no internal references).
constexpr uint32_t kUnusedModes = Bit(RelocMode::kVeneerPool) |
                                  Bit(RelocMode::kInternalReference) |
                                  Bit(RelocMode::kInternalReferenceEncoded);
// Modes whose value is a pool word found through the load at pc.
constexpr uint32_t kPoolModes = Bit(RelocMode::kWasmCall) |
                                Bit(RelocMode::kWasmStubCall) |
                                Bit(RelocMode::kExternalReference) |
                                Bit(RelocMode::kWasmCanonicalSigId) |
                                Bit(RelocMode::kWasmCodePointerTableEntry);

// The one arm form: the pool word.
constexpr uint8_t kArmPoolWord = 0;

bool InModes(uint32_t set, RelocMode mode) {
  const auto m = static_cast<unsigned>(mode);
  return m < 32 && ((set >> m) & 1) != 0;
}

bool ModeUsed(RelocMode mode) { return !InModes(kUnusedModes, mode); }

// [offset, offset + size) lies inside the code (offset in 64 bits).
bool Inside(uint64_t offset, uint32_t size, uint32_t code_size) {
  return offset <= code_size && code_size - offset >= size;
}

bool Locate(const uint8_t* code, uint32_t code_size, uint32_t pc,
            RelocMode mode, uint32_t, Site* site, const char** why) {
  if (!InModes(kPoolModes, mode)) {
    *why = "mode not used on arm";
    return false;
  }
  if (pc % kInsnBytes != 0 || !Inside(pc, kInsnBytes, code_size)) {
    *why = "load instruction not 4-aligned or outside the code";
    return false;
  }
  const uint32_t insn = Load32(code + pc, kLe);
  if (!Load::Matches(kArmLdrLiteral, insn)) {
    *why = "instruction at pc is not ldr rd, [pc, #imm12]";
    return false;
  }
  const uint64_t slot = Load::Slot(kArmLdrLiteral, insn, pc);
  if (!Load::SlotAligned(kArmLdrLiteral, slot) || slot == pc) {
    *why = "pool word misaligned or the load itself";
    return false;
  }
  if (!Inside(slot, kArmLdrLiteral.slot_bytes, code_size)) {
    *why = "pool word outside the code";
    return false;
  }
  *site = Site{.pc = pc,
               .field_offset = static_cast<uint32_t>(slot),
               .field_size = kArmLdrLiteral.slot_bytes,
               .form = kArmPoolWord,
               .mode = mode,
               .reader_size = kInsnBytes};
  return true;
}

bool TagFits(const Site&, uint64_t tag) { return Load::ValueFits(kArmLdrLiteral, tag); }

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  return Load::ValueOf(Load32(code + site.field_offset, kLe));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  Store32(code + site.field_offset, Load::WordOf(tag), kLe);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t, const Site& site) {
  return Load::ValueOf(Load32(code + site.field_offset, kLe));
}

bool WriteTarget(uint8_t* code, uint64_t, const Site& site, uint64_t target) {
  if (!Load::ValueFits(kArmLdrLiteral, target)) return false;
  Store32(code + site.field_offset, Load::WordOf(target), kLe);
  return true;
}

// Jump-table words. The near slot's load reads the word after it
// (slot + 8 - 4); the lazy slot's loads read slot + 8 and slot + 12.
constexpr uint32_t kLdrPcPcMinus4 = ArmLdrLiteralWord(kArmRegPc, -4);
constexpr uint32_t kLdrR4Pc = ArmLdrLiteralWord(kArmRegR4, 0);
constexpr uint32_t kLdrPcPc = ArmLdrLiteralWord(kArmRegPc, 0);
static_assert(kLdrPcPcMinus4 == 0xe51ff004 && kLdrR4Pc == 0xe59f4000 &&
              kLdrPcPc == 0xe59ff000);

void StoreWord(uint8_t* at, uint32_t word) {
  uint8_t bytes[4];
  Store32(bytes, word, kLe);
  StoreSlot(at, bytes, 4);
}

// Both words of a jump slot, each with one store (atomic where aligned),
// the instruction first, as V8 writes them.
bool WriteJump(uint8_t* slot, uint64_t target) {
  if (!Load::ValueFits(kArmLdrLiteral, target)) return false;
  StoreWord(slot, kLdrPcPcMinus4);
  StoreWord(slot + kInsnBytes, Load::WordOf(target));
  return true;
}

bool WriteNearSlot(uint8_t* slot, uint64_t, uint64_t target) {
  return WriteJump(slot, target);
}

// The far slot is the near form. Callers hand 32-bit addresses only (code
// spaces of 32-bit targets lie below 4 GiB); a wider one writes nothing.
void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  [[maybe_unused]] const bool ok = WriteJump(slot, target);
  assert(ok && "arm far slot: address outside the 32-bit address space");
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t index, uint64_t target) {
  if (!Load::ValueFits(kArmLdrLiteral, target)) return false;
  const uint32_t words[4] = {kLdrR4Pc, kLdrPcPc, index, Load::WordOf(target)};
  for (uint32_t i = 0; i < 4; ++i) {
    Store32(slot + i * kInsnBytes, words[i], kLe);
  }
  return true;
}

// Near and far slots alike.
bool ReadJump(const uint8_t* slot, uint64_t, uint64_t* target) {
  if (Load32(slot, kLe) != kLdrPcPcMinus4) return false;
  *target = Load::ValueOf(Load32(slot + kInsnBytes, kLe));
  return true;
}

}  // namespace

const ArchOps kArmOps = {
    .arch = Arch::kArm,
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
    .read_near_slot = ReadJump,
    .read_far_slot = ReadJump,
};

}  // namespace wasmcache::fast
