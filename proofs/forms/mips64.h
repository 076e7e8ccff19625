// mips64 forms: reference/encoders/mips64.h against the SeqForm rows of
// fast/encoders/mips64.h.
//
// Words are the instruction words in site order; shapes are the patterns
// reference/arch/mips64.cc's Locate checks (lui with rs = 0, then ori,
// dsll 16 and ori on the lui's rt). Instruction sites are 4-aligned; the
// 8-byte internal reference may lie anywhere (the low word first:
// mips64el).
//
// j / jal (INTERNAL_REFERENCE_ENCODED) has a reference encoder only: V8
// 13.6 never records the mode, both implementations reject it as a site,
// and the fast implementation has no such row. Its fast side is bound to
// the reference encoder, so its fast=reference obligation says nothing;
// its other properties are about the reference encoder.

#ifndef WASMCACHE_PROOFS_FORMS_MIPS64_H_
#define WASMCACHE_PROOFS_FORMS_MIPS64_H_

#include <vector>

#include "fast/encoders/mips64.h"
#include "fast/encoders/sequence.h"
#include "proofs/form.h"
#include "proofs/forms/sequence.h"
#include "proofs/properties.h"
#include "reference/encoders/mips64.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Mips64Forms() {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Mips = reference::MipsWords;
  using LiAddress = reference::Mips64LiAddress<D>;
  using LuiOri = reference::MipsLuiOri<D>;
  using Absolute = reference::Mips64Absolute64<D>;
  using Jump = reference::MipsJump26<D>;
  const fast::SeqForm data = fast::DataForm(8, 1);  // as fast/arch/mips64.cc

  constexpr uint32_t kNotImm = ~Mips::kImm16Mask;
  const std::vector<int> same_reg = {21, 16};  // ori rt, rt
  auto li_shape = RegShape<D>(16, false,
                              {{Mips::kLuiCheckMask, Mips::kLui, {}},
                               {kNotImm, Mips::kOri, same_reg},
                               {0xffffffff, Mips::DsllWord(0), {16, 11}},
                               {kNotImm, Mips::kOri, same_reg}});
  auto lui_ori_shape = RegShape<D>(16, false,
                                   {{Mips::kLuiCheckMask, Mips::kLui, {}},
                                    {kNotImm, Mips::kOri, same_reg}});

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where,
                 std::vector<uint32_t> masks) {
    return AddForm<D>(forms, "mips64", name, where, std::move(masks),
                      SiteIn<D>(64, 2));
  };
  const std::vector<uint32_t> li_masks = {Mips::kImm16Mask, Mips::kImm16Mask,
                                          0, Mips::kImm16Mask};
  const std::vector<uint32_t> lui_ori_masks = {Mips::kImm16Mask,
                                               Mips::kImm16Mask};
  auto li_encode = [](const W& w, const U64&, const U64& v) {
    return W{LiAddress::EncodeLui(w[0], v), LiAddress::EncodeOriMiddle(w[1], v),
             w[2], LiAddress::EncodeOriLow(w[3], v)};
  };
  auto lui_ori_encode = [](const W& w, const U64&, const U64& v) {
    return W{LuiOri::EncodeLui(w[0], v), LuiOri::EncodeOri(w[1], v)};
  };
  auto lui_ori_decode = [](const W& w, const U64&) {
    return LuiOri::Decode(w[0], w[1]);
  };

  Form<D>* f = add("li-address",
                   "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE: lui; ori; "
                   "dsll 16; ori (48 bits, sign-extended)",
                   li_masks);
  f->shape = li_shape;
  f->reference = {
      [](const U64&, const U64& v) { return LiAddress::InRange(v); },
      li_encode,
      [](const W& w, const U64&) {
        return LiAddress::Decode(w[0], w[1], w[3]);
      }};
  f->fast = SeqTargetImpl<D>(fast::mips64::kLiAddress);

  f = add("li-address.tag",
          "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE on disk: the li "
          "loads the tag, read back as its low 32 bits",
          li_masks);
  f->shape = li_shape;
  f->reference = {
      [](const U64&, const U64& tag) { return LiAddress::TagInRange(tag); },
      li_encode,
      [](const W& w, const U64&) {
        return D::ZExt64(LiAddress::DecodeTag(w[0], w[1], w[3]));
      }};
  f->fast = SeqTagImpl<D>(fast::mips64::kLiAddress);

  f = add("lui-ori",
          "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY: lui; ori "
          "(u32)",
          lui_ori_masks);
  f->shape = lui_ori_shape;
  f->reference = {[](const U64&, const U64& v) { return LuiOri::InRange(v); },
                  lui_ori_encode, lui_ori_decode};
  f->fast = SeqTargetImpl<D>(fast::mips64::kLuiOri);

  f = add("lui-ori.tag", "the same sites on disk: lui; ori load the tag",
          lui_ori_masks);
  f->shape = lui_ori_shape;
  f->reference = {
      [](const U64&, const U64& tag) { return LuiOri::InRange(tag); },
      lui_ori_encode, lui_ori_decode};
  f->fast = SeqTagImpl<D>(fast::mips64::kLuiOri);

  AddData64Forms<D, Absolute>(forms, "mips64", data);

  // j / jal instr_index: the target in the site's 256 MB segment.
  f = add("j-jal",
          "INTERNAL_REFERENCE_ENCODED (never recorded by 13.6; reference "
          "encoder only): j / jal imm26",
          {Jump::kFieldMask});
  f->shape = [](const W& w) { return Jump::IsJump(w[0]); };
  f->reference = {
      [](const U64& site, const U64& v) { return Jump::InRange(site, v); },
      [](const W& w, const U64&, const U64& v) {
        return W{Jump::Encode(w[0], v)};
      },
      [](const W& w, const U64& site) { return Jump::Decode(w[0], site); }};
  f->fast = f->reference;
  return forms;
}

inline ArchProofSpec Mips64ProofSpec() {
  // Calls and stub calls load the absolute target (li-address); slots are
  // absolute trampolines, with no reach of their own.
  return {Arch::kMips64,
          47,
          {{"WASM_CALL -> near slots", "li-address", ReachTarget::kNearSlots,
            2},
           {"WASM_STUB_CALL -> far slots", "li-address",
            ReachTarget::kFarSlots, 2}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_MIPS64_H_
