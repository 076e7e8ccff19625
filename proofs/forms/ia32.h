// ia32 forms: reference/encoders/ia32.h against fast/encoders/ia32.h.
//
// Every ia32 field is a little-endian 32-bit datum at the site, so the one
// word is the datum itself and every bit of it is a field bit. The opcode
// the library checks before a rel32 (E8 or E9) lies outside the field and
// is never written, so no shape constrains the word. Sites are 32-bit
// addresses; a datum has no alignment.

#ifndef WASMCACHE_PROOFS_FORMS_IA32_H_
#define WASMCACHE_PROOFS_FORMS_IA32_H_

#include <vector>

#include "fast/encoders/ia32.h"
#include "proofs/form.h"
#include "proofs/properties.h"
#include "reference/encoders/ia32.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Ia32Forms() {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Fast = fast::Ia32Field<D>;
  using Rel32 = reference::Ia32Rel32<D>;
  using Abs32 = reference::Ia32Abs32<D>;
  const fast::Ia32FormRow& rel32 = fast::kIa32Forms[fast::kIa32Rel32];
  const fast::Ia32FormRow& abs32 = fast::kIa32Forms[fast::kIa32Abs32];

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where) {
    Form<D>& f = forms.emplace_back();
    f.arch = "ia32";
    f.name = name;
    f.where = where;
    f.num_words = 1;
    f.field_masks = {0xffffffff};
    f.shape = AnyShape<D>;
    f.site_ok = SiteIn<D>(32, 0);
    return &f;
  };

  Form<D>* f = add("rel32", "WASM_CALL, WASM_STUB_CALL: call/jmp rel32");
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
      [](const W&, const U64& site, const U64& v) {
        return W{Fast::Encode(rel32, site, v)};
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(rel32, site, w[0]);
      }};

  f = add("rel32.tag", "WASM_CALL, WASM_STUB_CALL on disk: rel32 = tag");
  f->reference = {
      [](const U64&, const U64& tag) { return Rel32::TagInRange(tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Rel32::EncodeTag(tag)};
      },
      [](const W& w, const U64&) { return Rel32::DecodeTag(w[0]); }};
  f->fast = {
      [](const U64&, const U64& tag) { return Fast::TagFits(tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Fast::EncodeTag(tag)};
      },
      [](const W& w, const U64&) { return Fast::DecodeTag(w[0]); }};

  f = add("abs32",
          "EXTERNAL_REFERENCE, INTERNAL_REFERENCE, WASM_CANONICAL_SIG_ID, "
          "WASM_CODE_POINTER_TABLE_ENTRY: imm32, disp32 or data word");
  f->reference = {
      [](const U64&, const U64& v) { return Abs32::InRange(v); },
      [](const W&, const U64&, const U64& v) { return W{Abs32::Encode(v)}; },
      [](const W& w, const U64&) { return Abs32::Decode(w[0]); }};
  f->fast = {
      [](const U64& site, const U64& v) {
        return Fast::InRange(abs32, site, v);
      },
      [](const W&, const U64& site, const U64& v) {
        return W{Fast::Encode(abs32, site, v)};
      },
      [](const W& w, const U64& site) {
        return Fast::Decode(abs32, site, w[0]);
      }};

  f = add("abs32.tag",
          "EXTERNAL_REFERENCE, INTERNAL_REFERENCE, WASM_CANONICAL_SIG_ID, "
          "WASM_CODE_POINTER_TABLE_ENTRY on disk: the field = tag");
  f->reference = {
      [](const U64&, const U64& tag) { return Abs32::TagInRange(tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Abs32::EncodeTag(tag)};
      },
      [](const W& w, const U64&) { return Abs32::DecodeTag(w[0]); }};
  f->fast = {
      [](const U64&, const U64& tag) { return Fast::TagFits(tag); },
      [](const W&, const U64&, const U64& tag) {
        return W{Fast::EncodeTag(tag)};
      },
      [](const W& w, const U64&) { return Fast::DecodeTag(w[0]); }};
  return forms;
}

inline ArchProofSpec Ia32ProofSpec() {
  // Calls and tail calls (rel32) reach near slots; stub calls reach far
  // slots; a near slot's jmp rel32 (its rel32 at slot + 1) reaches any code
  // of its space. Every one is a 32-bit address space wrap-around.
  return {Arch::kIa32,
          32,
          {{"WASM_CALL -> near slots", "rel32", ReachTarget::kNearSlots},
           {"WASM_STUB_CALL -> far slots", "rel32", ReachTarget::kFarSlots},
           {"near slot jmp -> code", "rel32", ReachTarget::kSpace}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_IA32_H_
