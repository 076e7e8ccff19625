// loong64 sites and jump-table slots for the fast implementation.
//
// Sites (fast/encoders/loong64.h): WASM_CALL, WASM_STUB_CALL and
// EXTERNAL_REFERENCE are lu12i.w + ori + lu32i.d; WASM_CANONICAL_SIG_ID and
// WASM_CODE_POINTER_TABLE_ENTRY lu12i.w + ori; INTERNAL_REFERENCE 8 bytes at
// pc (any alignment). Slots: near `b offs26` (one 4-byte store), far
// `pcaddi; ld.d; jirl; nop; .quad target`, lazy `lu12i.w $t0; ori $t0
// (index); b target`.

#include "fast/arch.h"
#include "fast/encoders/loong64.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using namespace loong64;  // NOLINT: this file is the loong64 target

constexpr ByteOrder kOrder = TraitsOf(Arch::kLoong64).byte_order;

constexpr SeqTarget kTarget = MakeSeqTarget(
    kOrder, "mode not used on loong64",
    /*const_pool=*/false, kLi, kLu12iOri, DataForm(8, 1), /*call=*/nullptr);
using Sites = SeqSites<kTarget>;

static_assert(4 * kFarPrefixWords + 8 ==
              TraitsOf(Arch::kLoong64).far_jump_table_slot_size);
static_assert(kLazyBranchOffset + 4 ==
              TraitsOf(Arch::kLoong64).lazy_compile_slot_size);

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  uint32_t word = kB;
  if (!EncodeInto(kBranch26, &word, slot_address, target)) return false;
  uint8_t bytes[4];
  Store32(bytes, word, kOrder);
  StoreSlot(slot, bytes, 4);
  return true;
}

bool ReadNearSlot(const uint8_t* slot, uint64_t slot_address,
                  uint64_t* target) {
  const uint32_t word = Load32(slot, kOrder);
  if (!MatchesShape(kBranch26, &word)) return false;
  *target = NativeSeq::Decode(kBranch26, slot_address,
                              NativeSeq::Gather(kBranch26, &word));
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  WriteStubSlot(slot, kFarPrefix, kFarPrefixWords, 8, kOrder, target);
}

bool ReadFarSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  return ReadStubSlot(slot, kFarPrefix, kFarPrefixWords, 8, kOrder, target);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address, uint32_t index,
                   uint64_t target) {
  uint32_t words[3] = {kLazyPrefix[0], kLazyPrefix[1], kB};
  if (!EncodeInto(kBranch26, words + 2, slot_address + kLazyBranchOffset,
                  target)) {
    return false;
  }
  NativeSeq::Scatter(kLu12iOri, words, index);
  StoreWords(slot, 3, kOrder, words);
  return true;
}

}  // namespace

const ArchOps kLoong64Ops = Sites::Ops(
    Arch::kLoong64,
    {WriteNearSlot, WriteFarSlot, WriteLazySlot, ReadNearSlot, ReadFarSlot});

}  // namespace wasmcache::fast
