// riscv32 sites and jump-table slots for the fast implementation.
//
// Sites (fast/encoders/riscv.h): WASM_CALL and WASM_STUB_CALL are
// auipc + jalr ra (calls) or lui + addi (tail calls: riscv32's li_ptr);
// EXTERNAL_REFERENCE, WASM_CANONICAL_SIG_ID and
// WASM_CODE_POINTER_TABLE_ENTRY lui + addi; INTERNAL_REFERENCE 4 bytes at a
// 4-aligned pc. Addresses are 32 bits. Slots: near and far are one 20-byte
// form `auipc t6, 0; lw t6, 16(t6); jalr zero, 0(t6); nop; .word target`,
// lazy `lui t0; addi t0, t0 (index); jal zero, target`.

#include "fast/arch.h"
#include "fast/encoders/riscv.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

constexpr ByteOrder kLe = ByteOrder::kLittle;
constexpr SeqTarget kTarget = riscv::Target(/*rv64=*/false);
using Sites = SeqSites<kTarget>;

constexpr uint64_t kMax32 = 0xffffffff;
constexpr auto kSlotPrefix = riscv::StubPrefix(riscv::kLw);
constexpr int kSlotWords = static_cast<int>(kSlotPrefix.size());
static_assert(4 * kSlotWords + 4 ==
              TraitsOf(Arch::kRiscv32).jump_table_slot_size);
static_assert(4 * kSlotWords + 4 ==
              TraitsOf(Arch::kRiscv32).far_jump_table_slot_size);

// The slot's target word is a datum like an internal reference's.
bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!NativeSeq::InRange(kTarget.forms[kDataForm], slot_address, target)) {
    return false;
  }
  WriteStubSlot(slot, kSlotPrefix.data(), kSlotWords, 4, kLe, target);
  return true;
}

// Far targets (builtins, slots) lie below 4 GiB on riscv32: the slot holds
// the low 32 bits.
void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  WriteStubSlot(slot, kSlotPrefix.data(), kSlotWords, 4, kLe, target & kMax32);
}

bool ReadSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  return ReadStubSlot(slot, kSlotPrefix.data(), kSlotWords, 4, kLe, target);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address, uint32_t index,
                   uint64_t target) {
  // The jal (slot + 8) and its target lie below 4 GiB; a slot address that
  // wraps past 2^64 is no riscv32 address either.
  if (slot_address + riscv::kLazyJalOffset < slot_address) return false;
  return riscv::WriteLazySlotWith(riscv::kJal21Rv32, slot, slot_address,
                                  index, target);
}

}  // namespace

const ArchOps kRiscv32Ops = Sites::Ops(
    Arch::kRiscv32,
    {WriteNearSlot, WriteFarSlot, WriteLazySlot, ReadSlot, ReadSlot});

}  // namespace wasmcache::fast
