// x64 forms: reference/encoders/x64.h against fast/encoders/x64.h.
//
// Every x64 field is a little-endian datum at the site, so the words are
// the datum itself (one word for 4 bytes, two for 8) and every bit of it is
// a field bit; there is no opcode inside the field to keep.

#ifndef WASMCACHE_PROOFS_FORMS_X64_H_
#define WASMCACHE_PROOFS_FORMS_X64_H_

#include <vector>

#include "fast/encoders/x64.h"
#include "proofs/form.h"
#include "proofs/properties.h"
#include "reference/encoders/x64.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> X64Forms() {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Fast = fast::X64Field<D>;
  using Rel32 = reference::X64Rel32<D>;
  using Imm64 = reference::X64Imm64<D>;
  using Imm32 = reference::X64Imm32<D>;
  const fast::X64FormRow& rel32 = fast::kX64Forms[fast::kX64Rel32];
  const fast::X64FormRow& imm32 = fast::kX64Forms[fast::kX64Imm32];
  const fast::X64FormRow& abs64 = fast::kX64Forms[fast::kX64Abs64];
  const fast::X64FormRow& ext64 = fast::kX64Forms[fast::kX64ExtRef64];

  // A 4-byte field: one word, the value zero-extended from it.
  auto word32 = [](const U64& field) { return W{D::Trunc32(field)}; };

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where, int words) {
    Form<D>& f = forms.emplace_back();
    f.arch = "x64";
    f.name = name;
    f.where = where;
    f.num_words = words;
    f.field_masks.assign(words, 0xffffffff);
    f.shape = AnyShape<D>;
    f.site_ok = AnySite<D>;
    return &f;
  };

  Form<D>* f = add("rel32", "WASM_CALL, WASM_STUB_CALL: call/jmp disp32", 1);
  f->reference = {
      [](const U64& site, const U64& v) { return Rel32::InRange(site, v); },
      [](const W&, const U64& site, const U64& v) {
        return W{Rel32::Encode(site, v)};
      },
      [](const W& w, const U64& site) { return Rel32::Decode(site, w[0]); }};
  f->fast = {
      [](const U64& site, const U64& v) {
        return Fast::InRange(rel32, site, v);
      },
      [word32](const W&, const U64& site, const U64& v) {
        return word32(Fast::Encode(rel32, site, v));
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(rel32, site, D::ZExt64(w[0]));
      }};

  f = add("rel32.tag", "WASM_CALL, WASM_STUB_CALL on disk: disp32 = tag", 1);
  f->reference = {
      [](const U64&, const U64& tag) { return Rel32::TagInRange(tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Rel32::EncodeTag(tag)};
      },
      [](const W& w, const U64&) { return Rel32::DecodeTag(w[0]); }};
  f->fast = {
      [](const U64&, const U64& tag) { return Fast::TagFits(rel32, tag); },
      [word32](const W&, const U64&, const U64& tag) {
        return word32(Fast::EncodeTag(rel32, tag));
      },
      [](const W& w, const U64&) {
        return Fast::DecodeTag(rel32, D::ZExt64(w[0]));
      }};

  f = add("imm32",
          "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY: imm32 (value "
          "and tag alike)",
          1);
  f->reference = {
      [](const U64&, const U64& v) { return Imm32::InRange(v); },
      [](const W&, const U64&, const U64& v) {
        return W{Imm32::Encode(D::Trunc32(v))};
      },
      [](const W& w, const U64&) { return D::ZExt64(Imm32::Decode(w[0])); }};
  f->fast = {
      [](const U64& site, const U64& v) {
        return Fast::InRange(imm32, site, v);
      },
      [word32](const W&, const U64& site, const U64& v) {
        return word32(Fast::Encode(imm32, site, v));
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(imm32, site, D::ZExt64(w[0]));
      }};

  f = add("imm64",
          "INTERNAL_REFERENCE (value and tag), EXTERNAL_REFERENCE (value): "
          "8-byte absolute",
          2);
  f->reference = {
      [](const U64&, const U64&) { return D::True(); },
      [](const W&, const U64&, const U64& v) {
        return SplitU64<D>(Imm64::Encode(v));
      },
      [](const W& w, const U64&) { return Imm64::Decode(JoinU64<D>(w)); }};
  f->fast = {
      [](const U64& site, const U64& v) {
        return Fast::InRange(abs64, site, v);
      },
      [](const W&, const U64& site, const U64& v) {
        return SplitU64<D>(Fast::Encode(abs64, site, v));
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(abs64, site, JoinU64<D>(w));
      }};

  f = add("imm64.exttag",
          "EXTERNAL_REFERENCE on disk: the tag in the low 32 bits of the "
          "imm64",
          2);
  f->reference = {
      [](const U64&, const U64& tag) { return Imm64::TagInRange(tag); },
      [](const W&, const U64&, const U64& tag) {
        return SplitU64<D>(Imm64::EncodeTag(D::Trunc32(tag)));
      },
      [](const W& w, const U64&) {
        return D::ZExt64(Imm64::DecodeTag(JoinU64<D>(w)));
      }};
  f->fast = {
      [](const U64&, const U64& tag) { return Fast::TagFits(ext64, tag); },
      [](const W&, const U64&, const U64& tag) {
        return SplitU64<D>(Fast::EncodeTag(ext64, tag));
      },
      [](const W& w, const U64&) {
        return Fast::DecodeTag(ext64, JoinU64<D>(w));
      }};
  return forms;
}

inline ArchProofSpec X64ProofSpec() {
  // Calls and tail calls (rel32) reach near slots; stub calls reach far
  // slots; a near slot's jmp rel32 (its disp32 at slot + 1) reaches any
  // code or far slot of its space.
  return {Arch::kX64,
          47,
          {{"WASM_CALL -> near slots", "rel32", ReachTarget::kNearSlots},
           {"WASM_STUB_CALL -> far slots", "rel32", ReachTarget::kFarSlots},
           {"near slot jmp -> code", "rel32", ReachTarget::kSpace}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_X64_H_
