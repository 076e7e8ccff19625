// loong64 forms: reference/encoders/loong64.h against the SeqForm rows of
// fast/encoders/loong64.h.
//
// Words are the instruction words in site order; shapes are the patterns
// reference/arch/loong64.cc's Locate checks (lu12i.w, then ori and lu32i.d
// on its rd); the b form is the exact `b` the slot writers start from.
// Instruction sites are 4-aligned; the 8-byte internal reference may lie
// anywhere (the low word first: little-endian).

#ifndef WASMCACHE_PROOFS_FORMS_LOONG64_H_
#define WASMCACHE_PROOFS_FORMS_LOONG64_H_

#include <vector>

#include "fast/encoders/loong64.h"
#include "fast/encoders/sequence.h"
#include "proofs/form.h"
#include "proofs/forms/sequence.h"
#include "proofs/properties.h"
#include "reference/encoders/loong64.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Loong64Forms() {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Loong = reference::Loong64Words;
  using Li = reference::Loong64Li<D>;
  using Lu12iOri = reference::Loong64Lu12iOri<D>;
  using Absolute = reference::Loong64Absolute64<D>;
  using Branch = reference::Loong64Branch26<D>;
  const fast::SeqForm data = fast::DataForm(8, 1);  // as fast/arch/loong64.cc

  auto li_shape =
      RegShape<D>(0, false,
                  {{Loong::kOpcode7Mask, Loong::kLu12iW, {}},
                   {~Loong::kUi12Mask, Loong::kOri, {0, 5}},
                   {Loong::kOpcode7Mask | Loong::kRegMask, Loong::kLu32iD, {0}}});
  auto lu12i_ori_shape =
      RegShape<D>(0, false,
                  {{Loong::kOpcode7Mask, Loong::kLu12iW, {}},
                   {~Loong::kUi12Mask, Loong::kOri, {0, 5}}});

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where,
                 std::vector<uint32_t> masks) {
    return AddForm<D>(forms, "loong64", name, where, std::move(masks),
                      SiteIn<D>(64, 2));
  };
  const std::vector<uint32_t> li_masks = {Loong::kSi20Mask, Loong::kUi12Mask,
                                          Loong::kSi20Mask};
  const std::vector<uint32_t> lu12i_ori_masks = {Loong::kSi20Mask,
                                                 Loong::kUi12Mask};
  auto li_encode = [](const W& w, const U64&, const U64& v) {
    return W{Li::EncodeLu12i(w[0], v), Li::EncodeOri(w[1], v),
             Li::EncodeLu32i(w[2], v)};
  };
  auto lu12i_ori_encode = [](const W& w, const U64&, const U64& v) {
    return W{Lu12iOri::EncodeLu12i(w[0], v), Lu12iOri::EncodeOri(w[1], v)};
  };
  auto lu12i_ori_decode = [](const W& w, const U64&) {
    return Lu12iOri::Decode(w[0], w[1]);
  };

  Form<D>* f = add("li",
                   "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE: lu12i.w; "
                   "ori; lu32i.d (48 bits, sign-extended)",
                   li_masks);
  f->shape = li_shape;
  f->reference = {
      [](const U64&, const U64& v) { return Li::InRange(v); }, li_encode,
      [](const W& w, const U64&) { return Li::Decode(w[0], w[1], w[2]); }};
  f->fast = SeqTargetImpl<D>(fast::loong64::kLi);

  f = add("li.tag",
          "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE on disk: the li "
          "loads the tag, read back as its low 32 bits",
          li_masks);
  f->shape = li_shape;
  f->reference = {
      [](const U64&, const U64& tag) { return Li::TagInRange(tag); },
      li_encode,
      [](const W& w, const U64&) {
        return D::ZExt64(Li::DecodeTag(w[0], w[1], w[2]));
      }};
  f->fast = SeqTagImpl<D>(fast::loong64::kLi);

  f = add("lu12i-ori",
          "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY: lu12i.w; "
          "ori (u32)",
          lu12i_ori_masks);
  f->shape = lu12i_ori_shape;
  f->reference = {
      [](const U64&, const U64& v) { return Lu12iOri::InRange(v); },
      lu12i_ori_encode, lu12i_ori_decode};
  f->fast = SeqTargetImpl<D>(fast::loong64::kLu12iOri);

  f = add("lu12i-ori.tag",
          "the same sites on disk: lu12i.w; ori load the tag",
          lu12i_ori_masks);
  f->shape = lu12i_ori_shape;
  f->reference = {
      [](const U64&, const U64& tag) { return Lu12iOri::InRange(tag); },
      lu12i_ori_encode, lu12i_ori_decode};
  f->fast = SeqTagImpl<D>(fast::loong64::kLu12iOri);

  AddData64Forms<D, Absolute>(forms, "loong64", data);

  // b offs26: near slots, and the lazy slot's jump (site = slot + 8).
  f = add("b26", "near and lazy-compile jump-table slots: b offs26",
          {Branch::kFieldMask});
  f->shape = WordsMatch<D>({{~Branch::kFieldMask, Branch::kB}});
  f->reference = {
      [](const U64& site, const U64& v) { return Branch::InRange(site, v); },
      [](const W& w, const U64& site, const U64& v) {
        return W{Branch::Encode(w[0], site, v)};
      },
      [](const W& w, const U64& site) { return Branch::Decode(w[0], site); }};
  f->fast = SeqTargetImpl<D>(fast::loong64::kBranch26);
  return forms;
}

inline ArchProofSpec Loong64ProofSpec() {
  // Calls and stub calls load the absolute target (li); a near slot's b
  // reaches any code or far slot of its 128 MB space.
  return {Arch::kLoong64,
          47,
          {{"WASM_CALL -> near slots", "li", ReachTarget::kNearSlots, 2},
           {"WASM_STUB_CALL -> far slots", "li", ReachTarget::kFarSlots, 2},
           {"near slot b -> code", "b26", ReachTarget::kSpace, 0}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_LOONG64_H_
