// arm64 forms: reference/encoders/arm64.h against fast/encoders/arm64.h.
//
//   branch26     b / bl imm26 at pc (WASM_CALL, WASM_STUB_CALL, and the
//                near and lazy jump slots): one instruction word, its
//                imm26 the field; a tag on disk (branch26.tag)
//   data32       the 4-byte pool slot of an ldr w literal (32-bit ids)
//   data64       the 8-byte pool slot of an ldr x literal, an internal
//                reference at pc, a far jump slot's target: two words, low
//                first, every bit a field bit
//
//   ldr-x.slot, ldr-w.slot
//                the ldr literal that names a pool slot (slot = pc +
//                imm19 * 4): read, never written, by both implementations,
//                so decode-only: fast=reference on the slot address and on
//                which words are such loads
//
// branch26 also proves that fast's (mask, match) pattern recognises exactly
// the reference's b/bl words.

#ifndef WASMCACHE_PROOFS_FORMS_ARM64_H_
#define WASMCACHE_PROOFS_FORMS_ARM64_H_

#include <vector>

#include "fast/encoders/arm64.h"
#include "proofs/form.h"
#include "proofs/properties.h"
#include "reference/encoders/arm64.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Arm64Forms() {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Fast = fast::Arm64Field<D>;
  using Branch = reference::Arm64BranchImm26<D>;
  using Data32 = reference::Arm64Absolute32<D>;
  using Data64 = reference::Arm64Absolute64<D>;
  const fast::Arm64FormRow& branch = fast::kArm64Forms[fast::kArm64Branch26];
  const fast::Arm64FormRow& data32 = fast::kArm64Forms[fast::kArm64Data32];
  const fast::Arm64FormRow& data64 = fast::kArm64Forms[fast::kArm64Data64];

  // The fast encoders take the word at the site zero-extended to 64 bits.
  auto word32 = [](const U64& word) { return W{D::Trunc32(word)}; };

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where, int words,
                 uint32_t mask) {
    Form<D>& f = forms.emplace_back();
    f.arch = "arm64";
    f.name = name;
    f.where = where;
    f.num_words = words;
    f.field_masks.assign(words, mask);
    f.shape = AnyShape<D>;
    f.site_ok = AnySite<D>;
    return &f;
  };
  // b (opcode 000101) or bl (100101), 4-aligned.
  auto branch_form = [&](const char* name, const char* where) {
    Form<D>* f = add(name, where, 1, Branch::kFieldMask);
    f->shape = [](const W& w) { return Branch::IsBranch(w[0]); };
    f->site_ok = SiteIn<D>(64, 2);
    return f;
  };

  Form<D>* f = branch_form(
      "branch26", "WASM_CALL, WASM_STUB_CALL, near and lazy slots: b/bl imm26");
  f->fast_shape = [](const W& w) {
    return Fast::Matches(fast::kArm64BranchPattern, w[0]);
  };
  f->reference = {
      [](const U64& site, const U64& v) { return Branch::InRange(site, v); },
      [](const W& w, const U64& site, const U64& v) {
        return W{Branch::Encode(w[0], site, v)};
      },
      [](const W& w, const U64& site) { return Branch::Decode(w[0], site); }};
  f->fast = {
      [](const U64& site, const U64& v) {
        return Fast::InRange(branch, site, v);
      },
      [word32](const W& w, const U64& site, const U64& v) {
        return word32(Fast::Encode(branch, D::ZExt64(w[0]), site, v));
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(branch, D::ZExt64(w[0]), site);
      }};

  f = branch_form("branch26.tag",
                  "WASM_CALL, WASM_STUB_CALL on disk: imm26 = tag (int26)");
  f->reference = {
      [](const U64&, const U64& tag) { return Branch::TagInRange(tag); },
      [](const W& w, const U64&, const U64& tag) {
        return W{Branch::EncodeTag(w[0], D::Trunc32(tag))};
      },
      [](const W& w, const U64&) {
        return D::ZExt64(Branch::DecodeTag(w[0]));
      }};
  f->fast = {
      [](const U64&, const U64& tag) { return Fast::TagFits(branch, tag); },
      [word32](const W& w, const U64&, const U64& tag) {
        return word32(Fast::EncodeTag(branch, D::ZExt64(w[0]), tag));
      },
      [](const W& w, const U64&) {
        return Fast::DecodeTag(branch, D::ZExt64(w[0]));
      }};

  f = add("data32",
          "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY: the 4-byte "
          "pool slot of ldr w",
          1, 0xffffffff);
  f->reference = {
      [](const U64&, const U64& v) { return Data32::InRange(v); },
      [](const W&, const U64&, const U64& v) { return W{Data32::Encode(v)}; },
      [](const W& w, const U64&) { return Data32::Decode(w[0]); }};
  f->fast = {
      [](const U64& site, const U64& v) {
        return Fast::InRange(data32, site, v);
      },
      [word32](const W& w, const U64& site, const U64& v) {
        return word32(Fast::Encode(data32, D::ZExt64(w[0]), site, v));
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(data32, D::ZExt64(w[0]), site);
      }};

  f = add("data32.tag", "the ldr w pool slot on disk: slot = tag", 1,
          0xffffffff);
  f->reference = {
      [](const U64&, const U64& tag) { return Data32::TagInRange(tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Data32::EncodeTag(tag)};
      },
      [](const W& w, const U64&) { return Data32::DecodeTag(w[0]); }};
  f->fast = {
      [](const U64&, const U64& tag) { return Fast::TagFits(data32, tag); },
      [word32](const W& w, const U64&, const U64& tag) {
        return word32(Fast::EncodeTag(data32, D::ZExt64(w[0]), tag));
      },
      [](const W& w, const U64&) {
        return Fast::DecodeTag(data32, D::ZExt64(w[0]));
      }};

  // The reference has no range check for 8-byte values: every value fits.
  f = add("data64",
          "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE: the 8-byte pool "
          "slot of ldr x; INTERNAL_REFERENCE: 8 bytes at pc; far slot target",
          2, 0xffffffff);
  f->reference = {
      [](const U64&, const U64&) { return D::True(); },
      [](const W&, const U64&, const U64& v) {
        return SplitU64<D>(Data64::Encode(v));
      },
      [](const W& w, const U64&) { return Data64::Decode(JoinU64<D>(w)); }};
  f->fast = {
      [](const U64& site, const U64& v) {
        return Fast::InRange(data64, site, v);
      },
      [](const W& w, const U64& site, const U64& v) {
        return SplitU64<D>(Fast::Encode(data64, JoinU64<D>(w), site, v));
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(data64, JoinU64<D>(w), site);
      }};

  f = add("data64.tag",
          "the 8-byte pool slot and INTERNAL_REFERENCE on disk: the tag "
          "zero-extended",
          2, 0xffffffff);
  f->reference = {
      [](const U64&, const U64& tag) { return Data64::TagInRange(tag); },
      [](const W&, const U64&, const U64& tag) {
        return SplitU64<D>(Data64::EncodeTag(tag));
      },
      [](const W& w, const U64&) { return Data64::DecodeTag(JoinU64<D>(w)); }};
  f->fast = {
      [](const U64&, const U64& tag) { return Fast::TagFits(data64, tag); },
      [](const W& w, const U64&, const U64& tag) {
        return SplitU64<D>(Fast::EncodeTag(data64, JoinU64<D>(w), tag));
      },
      [](const W& w, const U64&) {
        return Fast::DecodeTag(data64, JoinU64<D>(w));
      }};
  using Ldr = reference::Arm64LdrLiteral<D>;
  f = add("ldr-x.slot", "ldr x literal: the address of its 8-byte pool slot",
          1, 0);
  f->decode_only = true;
  f->shape = [](const W& w) { return Ldr::IsLdrX(w[0]); };
  f->fast_shape = [](const W& w) {
    return Fast::Matches(fast::kArm64LdrXPattern, w[0]);
  };
  f->site_ok = SiteIn<D>(64, 2);
  f->reference.decode = [](const W& w, const U64& site) {
    return Ldr::SlotAddress(w[0], site);
  };
  f->fast.decode = [](const W& w, const U64& site) {
    return Fast::PcRelative(fast::kArm64LiteralOffset, D::ZExt64(w[0]), site);
  };
  Form<D> ldr_w = *f;
  ldr_w.name = "ldr-w.slot";
  ldr_w.where = "ldr w literal: the address of its 4-byte pool slot";
  ldr_w.shape = [](const W& w) { return Ldr::IsLdrW(w[0]); };
  ldr_w.fast_shape = [](const W& w) {
    return Fast::Matches(fast::kArm64LdrWPattern, w[0]);
  };
  forms.push_back(std::move(ldr_w));
  return forms;
}

inline ArchProofSpec Arm64ProofSpec() {
  // Calls (b/bl imm26) reach near slots, stub calls far slots, and a near
  // slot's b any code of its space: imm26 reaches +/-128 MB, the largest
  // code space. Pool slots hold 64-bit absolute targets and reach anything.
  return {Arch::kArm64,
          47,
          {{"WASM_CALL -> near slots", "branch26", ReachTarget::kNearSlots, 2},
           {"WASM_STUB_CALL -> far slots", "branch26", ReachTarget::kFarSlots,
            2},
           {"near slot b -> code", "branch26", ReachTarget::kSpace, 2}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_ARM64_H_
