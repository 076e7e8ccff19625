// mips64 sites and jump-table slots for the fast implementation.
//
// Sites (fast/encoders/mips64.h): WASM_CALL, WASM_STUB_CALL and
// EXTERNAL_REFERENCE are the 4-word address li; WASM_CANONICAL_SIG_ID and
// WASM_CODE_POINTER_TABLE_ENTRY lui + ori; INTERNAL_REFERENCE 8 bytes at pc
// (any alignment). Slots: near and far are the 32-byte bal trampoline with
// the 8-byte target after it; lazy puts the function index in $t0 with
// lui + ori before the trampoline. Every target is in reach.

#include "fast/arch.h"
#include "fast/encoders/mips64.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using namespace mips64;  // NOLINT: this file is the mips64 target

constexpr ByteOrder kOrder = TraitsOf(Arch::kMips64).byte_order;

constexpr SeqTarget kTarget =
    MakeSeqTarget(kOrder, "mode not used on mips64",
                  /*const_pool=*/false, kLiAddress, kLuiOri, DataForm(8, 1),
                  /*call=*/nullptr);
using Sites = SeqSites<kTarget>;

static_assert(4 * kTrampolineWords + 8 ==
              TraitsOf(Arch::kMips64).jump_table_slot_size);
static_assert(4 * kTrampolineWords + 8 ==
              TraitsOf(Arch::kMips64).far_jump_table_slot_size);
static_assert(4 * (kLazyPrefixWords + kTrampolineWords) + 8 ==
              TraitsOf(Arch::kMips64).lazy_compile_slot_size);

bool WriteNearSlot(uint8_t* slot, uint64_t, uint64_t target) {
  WriteStubSlot(slot, kTrampoline, kTrampolineWords, 8, kOrder, target);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  WriteStubSlot(slot, kTrampoline, kTrampolineWords, 8, kOrder, target);
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t index, uint64_t target) {
  uint32_t words[kLazyPrefixWords] = {kLazyPrefix[0], kLazyPrefix[1]};
  NativeSeq::Scatter(kLuiOri, words, index);
  StoreWords(slot, kLazyPrefixWords, kOrder, words);
  WriteStubSlot(slot + 4 * kLazyPrefixWords, kTrampoline, kTrampolineWords, 8,
                kOrder, target);
  return true;
}

bool ReadSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  return ReadStubSlot(slot, kTrampoline, kTrampolineWords, 8, kOrder, target);
}

}  // namespace

const ArchOps kMips64Ops = Sites::Ops(
    Arch::kMips64,
    {WriteNearSlot, WriteFarSlot, WriteLazySlot, ReadSlot, ReadSlot});

}  // namespace wasmcache::fast
