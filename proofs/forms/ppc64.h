// ppc64 (ppc64le) forms: reference/encoders/ppc64.h against
// fast/encoders/ppc64.h (and fast/encoders/reach.h).
//
// Words are the 32-bit little-endian instruction words from the site, in
// site order: the five words of the lis/ori/sldi/oris/ori sequence (word 2,
// sldi, carries no field), the `b` of a near slot, or an 8-byte datum as
// two words, low word first (little-endian: the word at the site). The fast
// side is bound per row of kPpc64Forms, once for addresses and once for
// tags, so every row the arch code reads is proved.
//
// Pool loads (ld rT, d(r28); addis rT, r28, h + ld rT, l(rT)) are
// decode-only forms ("pool-ld.offset", "pool-addis-ld.offset"): the library
// never writes them, it only computes from them where the 8-byte pool slot
// lies (the slot itself is a data64 form). fast=reference proves that both
// implementations recognise the same words and compute the same
// displacement. The mov sequence also proves fast's pattern equal to the
// reference's IsSequence.

#ifndef WASMCACHE_PROOFS_FORMS_PPC64_H_
#define WASMCACHE_PROOFS_FORMS_PPC64_H_

#include <vector>

#include "fast/encoders/ppc64.h"
#include "proofs/form.h"
#include "proofs/properties.h"
#include "reference/encoders/ppc64.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Ppc64Forms() {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Fast = fast::Ppc64Words<D>;
  using Mov = reference::Ppc64Mov<D>;
  using Data64 = reference::Ppc64Data64<D>;
  using Branch = reference::Ppc64Branch26<D>;
  using fast::Reach;

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where, int words) {
    Form<D>& f = forms.emplace_back();
    f.arch = "ppc64";
    f.name = name;
    f.where = where;
    f.num_words = words;
    f.field_masks.assign(words, 0xffffffff);
    f.shape = AnyShape<D>;
    f.site_ok = AnySite<D>;
    return &f;
  };

  // The mov sequence: the library locates it with Mov::IsSequence (the
  // fast pattern kPpc64MovPattern checks the same words), 4-aligned.
  auto mov_shape = [](const W& w) {
    return Mov::IsSequence(w[0], w[1], w[2], w[3], w[4]);
  };
  auto mov_encode = [](const W& w, const U64&, const U64& v) {
    W e = w;
    Mov::Encode(e.data(), v);
    return e;
  };
  auto mov_decode = [](const W& w, const U64&) {
    return Mov::Decode(w[0], w[1], w[3], w[4]);
  };
  // A fast row's reach over the words of its layout.
  auto fast_impl = [](const fast::Ppc64Layout& layout, const Reach& reach) {
    return FormImpl<D>{
        [reach](const U64& site, const U64& v) {
          return Fast::Fits(reach, site, v);
        },
        [&layout, reach](const W& w, const U64& site, const U64& v) {
          W e = w;
          Fast::Write(layout, reach, e.data(), site, v);
          return e;
        },
        [&layout, reach](const W& w, const U64& site) {
          return Fast::Read(layout, reach, w.data(), site);
        }};
  };
  auto mov_form = [&](const char* name, const char* where) {
    Form<D>* f = add(name, where, Mov::kWords);
    f->field_masks = {Mov::kImmMask, Mov::kImmMask, 0, Mov::kImmMask,
                      Mov::kImmMask};
    f->shape = mov_shape;
    f->fast_shape = [](const W& w) {
      return Fast::Matches(fast::kPpc64MovPattern, w.data());
    };
    f->site_ok = SiteIn<D>(64, 2);
    return f;
  };
  const fast::Ppc64FormRow& address = fast::kPpc64Forms[fast::kPpc64MovAddress];
  const fast::Ppc64FormRow& value32 = fast::kPpc64Forms[fast::kPpc64MovValue32];
  const fast::Ppc64FormRow& internal =
      fast::kPpc64Forms[fast::kPpc64MovInternal];
  const fast::Ppc64FormRow& data64 = fast::kPpc64Forms[fast::kPpc64Data64];

  Form<D>* f = mov_form(
      "mov", "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE: lis/ori/sldi/"
             "oris/ori, a 64-bit address");
  f->reference = {[](const U64&, const U64&) { return D::True(); }, mov_encode,
                  mov_decode};
  f->fast = fast_impl(*address.layout, address.target);

  f = mov_form("mov.value32",
               "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY: the "
               "sequence holding a 32-bit constant");
  f->reference = {
      [](const U64&, const U64& v) { return Mov::FitsValue32(v); },
      mov_encode,
      [](const W& w, const U64&) {
        return Mov::DecodeValue32(w[0], w[1], w[3], w[4]);
      }};
  f->fast = fast_impl(*value32.layout, value32.target);

  // Tags: both 32-bit-tag rows, the reference's one rule.
  const FormImpl<D> mov_tag = {
      [](const U64&, const U64& tag) { return Mov::TagInRange(tag); },
      mov_encode, [](const W& w, const U64&) {
        return D::ZExt64(Mov::DecodeTag(w[0], w[1], w[3], w[4]));
      }};
  f = mov_form("mov.tag",
               "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE on disk: the "
               "tag zero-extended, read back as the low 32 bits");
  f->reference = mov_tag;
  f->fast = fast_impl(*address.layout, address.tag);

  f = mov_form("mov.value32.tag",
               "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY on disk");
  f->reference = mov_tag;
  f->fast = fast_impl(*value32.layout, value32.tag);

  // INTERNAL_REFERENCE_ENCODED: the whole 64-bit value, in code space and
  // on disk alike (the reference's tag_fits admits every tag).
  const FormImpl<D> mov_any = {[](const U64&, const U64&) { return D::True(); },
                               mov_encode, mov_decode};
  f = mov_form("mov.internal",
               "INTERNAL_REFERENCE_ENCODED: the sequence holding an address");
  f->reference = mov_any;
  f->fast = fast_impl(*internal.layout, internal.target);

  f = mov_form("mov.internal.tag",
               "INTERNAL_REFERENCE_ENCODED on disk: the 64-bit offset");
  f->reference = mov_any;
  f->fast = fast_impl(*internal.layout, internal.tag);

  // 8 bytes, value and tag alike.
  const FormImpl<D> data64_ref = {
      [](const U64&, const U64&) { return D::True(); },
      [](const W&, const U64&, const U64& v) {
        return SplitU64<D>(Data64::Encode(v));
      },
      [](const W& w, const U64&) { return Data64::Decode(JoinU64<D>(w)); }};
  f = add("data64",
          "INTERNAL_REFERENCE at pc; the 8-byte pool slot of a pool load "
          "(every mode but INTERNAL_REFERENCE_ENCODED)",
          2);
  f->reference = data64_ref;
  f->fast = fast_impl(*data64.layout, data64.target);

  f = add("data64.tag", "the same 8 bytes on disk", 2);
  f->reference = data64_ref;
  f->fast = fast_impl(*data64.layout, data64.tag);

  // The near slot's `b` (AA = LK = 0), 4-aligned.
  f = add("b26", "jump-table near slot: b, LI = (target - site) >> 2", 1);
  f->field_masks = {Branch::kFieldMask};
  f->shape = [](const W& w) { return Branch::IsNearSlotBranch(w[0]); };
  f->site_ok = SiteIn<D>(64, 2);
  f->reference = {
      [](const U64& site, const U64& v) { return Branch::InRange(site, v); },
      [](const W& w, const U64& site, const U64& v) {
        return W{Branch::Encode(w[0], site, v)};
      },
      [](const W& w, const U64& site) { return Branch::Decode(w[0], site); }};
  f->fast = fast_impl(fast::kPpc64BranchLayout, fast::kPpc64BranchReach);
  using Pool = reference::Ppc64PoolLoad<D>;
  Form<D>* pool = add("pool-ld.offset",
                      "ld rT, d(r28): the displacement of its pool slot", 1);
  pool->decode_only = true;
  pool->field_masks = {0};
  pool->shape = [](const W& w) { return Pool::IsRegularLoad(w[0]); };
  pool->fast_shape = [](const W& w) {
    return Fast::Matches(fast::kPpc64LdPattern, w.data());
  };
  pool->site_ok = SiteIn<D>(64, 2);
  pool->reference.decode = [](const W& w, const U64&) {
    return Pool::RegularOffset(w[0]);
  };
  pool->fast.decode = [](const W& w, const U64&) {
    return Fast::Gather(fast::kPpc64LdDisplacement, w.data());
  };
  pool = add("pool-addis-ld.offset",
             "addis rT, r28, h; ld rT, l(rT): the displacement of its pool "
             "slot",
             2);
  pool->decode_only = true;
  pool->field_masks = {0, 0};
  pool->shape = [](const W& w) { return Pool::IsOverflowedLoad(w[0], w[1]); };
  pool->fast_shape = [](const W& w) {
    return Fast::Matches(fast::kPpc64AddisLdPattern, w.data());
  };
  pool->site_ok = SiteIn<D>(64, 2);
  pool->reference.decode = [](const W& w, const U64&) {
    return Pool::OverflowedOffset(w[0], w[1]);
  };
  pool->fast.decode = [](const W& w, const U64&) {
    return Fast::Gather(fast::kPpc64AddisLdDisplacement, w.data());
  };
  return forms;
}

inline ArchProofSpec Ppc64ProofSpec() {
  // Calls and stub calls load their target with the absolute mov (pool
  // slots are data64, absolute too): it reaches near and far slots of any
  // space below 2^47. A near slot's `b` reaches any code-aligned address of
  // its 32 MB space.
  return {Arch::kPpc64,
          47,
          {{"WASM_CALL -> near slots", "mov", ReachTarget::kNearSlots},
           {"WASM_STUB_CALL -> far slots", "mov", ReachTarget::kFarSlots},
           {"near slot b -> code", "b26", ReachTarget::kSpace}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_PPC64_H_
