// ia32 sites and jump-table slots for the fast implementation.
//
// Sites: WASM_CALL and WASM_STUB_CALL are the rel32 of a call (E8) or jmp
// (E9) at pc, the opcode at pc - 1; EXTERNAL_REFERENCE, INTERNAL_REFERENCE,
// WASM_CANONICAL_SIG_ID and WASM_CODE_POINTER_TABLE_ENTRY a 4-byte absolute
// at pc. No constant pool. Slots: near = far `jmp rel32` (5 bytes), lazy
// `mov edi, index; jmp rel32` (10 bytes). Addresses are 32 bits wide.

#include <cassert>

#include "fast/arch.h"
#include "fast/encoders/ia32.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using Field = Ia32Field<NativeDomain>;
constexpr ByteOrder kLe = ByteOrder::kLittle;

constexpr uint32_t Bit(RelocMode mode) {
  return uint32_t{1} << static_cast<int>(mode);
}
// Modes V8 never emits in ia32 wasm code (there is no constant pool).
constexpr uint32_t kUnusedModes = Bit(RelocMode::kConstPool) |
                                  Bit(RelocMode::kVeneerPool) |
                                  Bit(RelocMode::kInternalReferenceEncoded);

// Form of each serializer-patched mode, indexed by RelocMode; kNone: not a
// patched mode on ia32.
constexpr uint8_t kNone = 0xff;
constexpr auto kFormOfMode = [] {
  std::array<uint8_t, kNumberOfRelocModes> t{};
  t.fill(kNone);
  t[static_cast<int>(RelocMode::kWasmCall)] = kIa32Rel32;
  t[static_cast<int>(RelocMode::kWasmStubCall)] = kIa32Rel32;
  t[static_cast<int>(RelocMode::kExternalReference)] = kIa32Abs32;
  t[static_cast<int>(RelocMode::kInternalReference)] = kIa32Abs32;
  t[static_cast<int>(RelocMode::kWasmCanonicalSigId)] = kIa32Abs32;
  t[static_cast<int>(RelocMode::kWasmCodePointerTableEntry)] = kIa32Abs32;
  return t;
}();

bool ModeUsed(RelocMode mode) {
  const auto m = static_cast<unsigned>(mode);
  return m >= 32 || ((kUnusedModes >> m) & 1) == 0;
}

bool Locate(const uint8_t* code, uint32_t code_size, uint32_t pc,
            RelocMode mode, uint32_t, Site* site, const char** why) {
  const auto m = static_cast<size_t>(mode);
  const uint8_t form = m < kFormOfMode.size() ? kFormOfMode[m] : kNone;
  if (form == kNone) {
    *why = "mode not used on ia32";
    return false;
  }
  const Ia32FormRow& row = kIa32Forms[form];
  // The prefix byte and the field, [pc - prefix_bytes, pc + 4), lie inside.
  if (pc < row.prefix_bytes || pc > code_size ||
      code_size - pc < kIa32FieldBytes) {
    *why = "field or opcode outside the instructions";
    return false;
  }
  if (!Field::PrefixMatches(row, code[pc - row.prefix_bytes])) {
    *why = "rel32 not preceded by call (e8) or jmp (e9)";
    return false;
  }
  *site = Site{.pc = pc,
               .field_offset = pc,
               .field_size = kIa32FieldBytes,
               .form = form,
               .mode = mode,
               .reader_size = 0};
  return true;
}

bool TagFits(const Site&, uint64_t tag) { return Field::TagFits(tag); }

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  return Field::DecodeTag(Load32(code + site.field_offset, kLe));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  Store32(code + site.field_offset, Field::EncodeTag(tag), kLe);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  return Field::Decode(kIa32Forms[site.form], code_address + site.field_offset,
                       Load32(code + site.field_offset, kLe));
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  const Ia32FormRow& row = kIa32Forms[site.form];
  const uint64_t at = code_address + site.field_offset;
  if (!Field::InRange(row, at, target)) return false;
  Store32(code + site.field_offset, Field::Encode(row, at, target), kLe);
  return true;
}

constexpr Ia32FormRow kRel32 = kIa32Forms[kIa32Rel32];
// Bytes of one slot instruction (opcode and operand): the near slot is
// one, the lazy slot two.
constexpr uint32_t kSlotInsnBytes = 1 + kIa32FieldBytes;

// Every slot instruction is an opcode byte and a 32-bit operand: the
// opcode, then the operand with one store (atomic where aligned), as V8
// writes a jump slot.
void PutInsn(uint8_t* at, uint8_t opcode, uint32_t operand) {
  at[0] = opcode;
  uint8_t bytes[4];
  Store32(bytes, operand, kLe);
  StoreSlot(at + 1, bytes, 4);
}

// The rel32 of a `jmp` at `insn_address` to `target`; false if the target
// is out of reach.
bool JumpOperand(uint64_t insn_address, uint64_t target, uint32_t* rel32) {
  const uint64_t field = insn_address + 1;
  *rel32 = Field::Encode(kRel32, field, target);
  return Field::InRange(kRel32, field, target);
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  uint32_t rel32;
  if (!JumpOperand(slot_address, target, &rel32)) return false;
  PutInsn(slot, kIa32JmpRel32, rel32);
  return true;
}

// The far slot is the near form. Callers hand 32-bit addresses only (code
// spaces of 32-bit targets lie below 4 GiB); a wider one writes nothing.
void WriteFarSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  [[maybe_unused]] const bool ok = WriteNearSlot(slot, slot_address, target);
  assert(ok && "ia32 far slot: address outside the 32-bit address space");
}

// `mov edi, index` then `jmp target`.
bool WriteLazySlot(uint8_t* slot, uint64_t slot_address, uint32_t index,
                   uint64_t target) {
  uint32_t rel32;
  if (!JumpOperand(slot_address + kSlotInsnBytes, target, &rel32)) return false;
  PutInsn(slot, kIa32MovEdiImm32, index);
  PutInsn(slot + kSlotInsnBytes, kIa32JmpRel32, rel32);
  return true;
}

// Near and far slots alike. A slot reaching past the 32-bit address space
// has no ia32 target.
bool ReadJump(const uint8_t* slot, uint64_t slot_address, uint64_t* target) {
  if (slot[0] != kIa32JmpRel32 ||
      slot_address + kSlotInsnBytes > (uint64_t{1} << 32)) {
    return false;
  }
  *target = Field::Decode(kRel32, slot_address + 1, Load32(slot + 1, kLe));
  return true;
}

}  // namespace

const ArchOps kIa32Ops = {
    .arch = Arch::kIa32,
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
