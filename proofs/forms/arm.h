// arm forms: reference/encoders/arm.h against fast/encoders/arm.h.
//
// Every arm value lives in a 4-byte constant-pool word, found through the
// `ldr rd, [pc, #+/-imm12]` at the entry's pc. Two forms describe that:
//
//   ldr.imm12   the load itself: its value is the address of the word it
//               reads (pc + 8 +/- imm12, the sign in the U bit). The
//               library decodes it to locate every site and never patches
//               it; it encodes it for the jump-table words (fast) and the
//               tests (reference).
//   word32      the pool word (and the jump-table slots' target word): the
//               whole word is the value, a tag on disk (word32.tag).
//
// Instructions and pool words are 4-aligned, and every address is 32 bits.

#ifndef WASMCACHE_PROOFS_FORMS_ARM_H_
#define WASMCACHE_PROOFS_FORMS_ARM_H_

#include <vector>

#include "fast/encoders/arm.h"
#include "proofs/form.h"
#include "proofs/properties.h"
#include "reference/encoders/arm.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> ArmForms() {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Load = fast::ArmLoad<D>;
  using Ldr = reference::ArmLdrPcImm12<D>;
  using Word = reference::ArmWord32<D>;
  const fast::ArmLoadRow& ldr = fast::kArmLdrLiteral;

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where, uint32_t mask) {
    Form<D>& f = forms.emplace_back();
    f.arch = "arm";
    f.name = name;
    f.where = where;
    f.num_words = 1;
    f.field_masks = {mask};
    f.shape = AnyShape<D>;
    f.site_ok = SiteIn<D>(32, 2);
    return &f;
  };

  // The shape is the reference's recogniser (any condition but 1111, either
  // sign); the fast one is the same pattern.
  Form<D>* f = add("ldr.imm12",
                   "the load at pc of WASM_CALL, WASM_STUB_CALL, "
                   "EXTERNAL_REFERENCE, WASM_CANONICAL_SIG_ID, "
                   "WASM_CODE_POINTER_TABLE_ENTRY: the pool word's address",
                   Ldr::kFieldMask);
  f->shape = [](const W& w) { return Ldr::IsLdrPcImmediate(w[0]); };
  f->reference = {
      [](const U64& site, const U64& slot) { return Ldr::InRange(site, slot); },
      [](const W& w, const U64& site, const U64& slot) {
        return W{Ldr::Encode(w[0], site, slot)};
      },
      [](const W& w, const U64& site) { return Ldr::SlotAddress(w[0], site); }};
  f->fast = {
      [](const U64& site, const U64& slot) {
        return Load::SlotInReach(ldr, site, slot);
      },
      [](const W& w, const U64& site, const U64& slot) {
        return W{Load::WithSlot(ldr, w[0], site, slot)};
      },
      [](const W& w, const U64& site) { return Load::Slot(ldr, w[0], site); }};

  f = add("word32",
          "the pool word of WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE, "
          "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY; a jump slot's "
          "target word",
          0xffffffff);
  f->reference = {
      [](const U64&, const U64& v) { return Word::InRange(v); },
      [](const W&, const U64&, const U64& v) { return W{Word::Encode(v)}; },
      [](const W& w, const U64&) { return Word::Decode(w[0]); }};
  f->fast = {
      [](const U64&, const U64& v) { return Load::ValueFits(ldr, v); },
      [](const W&, const U64&, const U64& v) { return W{Load::WordOf(v)}; },
      [](const W& w, const U64&) { return Load::ValueOf(w[0]); }};

  f = add("word32.tag", "the pool word on disk: word = tag", 0xffffffff);
  f->reference = {
      [](const U64&, const U64& tag) { return Word::TagInRange(tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Word::EncodeTag(tag)};
      },
      [](const W& w, const U64&) { return Word::DecodeTag(w[0]); }};
  f->fast = {
      [](const U64&, const U64& tag) { return Load::ValueFits(ldr, tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Load::WordOf(tag)};
      },
      [](const W& w, const U64&) { return Load::ValueOf(w[0]); }};
  return forms;
}

inline ArchProofSpec ArmProofSpec() {
  // Every call loads its absolute target from a pool word: a 32-bit word
  // must hold every slot (and every code address) of a space below 2^32.
  // Calls reach near slots, stub calls far slots, and a near slot's target
  // word (ldr pc, [pc, #-4]) any code of its space.
  return {Arch::kArm,
          32,
          {{"WASM_CALL -> near slots", "word32", ReachTarget::kNearSlots, 2},
           {"WASM_STUB_CALL -> far slots", "word32", ReachTarget::kFarSlots,
            2},
           {"near slot word -> code", "word32", ReachTarget::kSpace, 2}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_ARM_H_
