// riscv64 sites and jump-table slots for the fast implementation.
//
// Sites (fast/encoders/riscv.h): WASM_CALL and WASM_STUB_CALL are
// auipc + jalr ra (calls) or the 6-word li_ptr (tail calls);
// EXTERNAL_REFERENCE the li_ptr; WASM_CANONICAL_SIG_ID and
// WASM_CODE_POINTER_TABLE_ENTRY lui + addi; INTERNAL_REFERENCE 8 bytes at a
// 4-aligned pc. Slots: near `auipc t6; jalr zero, lo12(t6)` (one 8-byte
// store), far `auipc t6, 0; ld t6, 16(t6); jalr zero, 0(t6); nop; .quad`,
// lazy `lui t0; addi t0, t0 (index); jal zero, target`.

#include "fast/arch.h"
#include "fast/encoders/riscv.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

constexpr ByteOrder kLe = ByteOrder::kLittle;
constexpr SeqTarget kTarget = riscv::Target(/*rv64=*/true);
using Sites = SeqSites<kTarget>;

constexpr auto kFarPrefix = riscv::StubPrefix(riscv::kLd);
constexpr int kFarWords = static_cast<int>(kFarPrefix.size());
static_assert(4 * kFarWords + 8 ==
              TraitsOf(Arch::kRiscv64).far_jump_table_slot_size);

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  const SeqForm& near = riscv::kNearSlot64;
  uint32_t words[2] = {near.pattern[0].expect, near.pattern[1].expect};
  if (!EncodeInto(near, words, slot_address, target)) return false;
  uint8_t bytes[8];
  StoreWords(bytes, 2, kLe, words);
  StoreSlot(slot, bytes, 8);
  return true;
}

bool ReadNearSlot(const uint8_t* slot, uint64_t slot_address,
                  uint64_t* target) {
  const SeqForm& near = riscv::kNearSlot64;
  uint32_t words[2];
  LoadWords(slot, 2, kLe, words);
  if (!MatchesShape(near, words)) return false;
  *target =
      NativeSeq::Decode(near, slot_address, NativeSeq::Gather(near, words));
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  WriteStubSlot(slot, kFarPrefix.data(), kFarWords, 8, kLe, target);
}

bool ReadFarSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  return ReadStubSlot(slot, kFarPrefix.data(), kFarWords, 8, kLe, target);
}

}  // namespace

const ArchOps kRiscv64Ops = Sites::Ops(
    Arch::kRiscv64, {WriteNearSlot, WriteFarSlot, riscv::WriteLazySlot,
                     ReadNearSlot, ReadFarSlot});

}  // namespace wasmcache::fast
