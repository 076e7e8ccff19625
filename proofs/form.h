// A relocation form as the proofs see it: one place in the code where a
// value (an address, a tag, an id) is written, with the range check, the
// encoder and the decoder of each implementation bound to it.
//
// Bindings (proofs/forms/<arch>.h) are templates over the word domain. They
// call the templates the library ships (reference/encoders/, fast/encoders/)
// and only adapt their signatures to this one shape:
//
//   words   the 32-bit words that hold the form's field bits, in the order
//           the site holds them (an instruction sequence, or a 4- or
//           8-byte datum as one or two words, low word first)
//   site    the relocation's pc (for pc-relative forms the value is a
//           target address relative to it)
//   value   the 64-bit value written: an address, a tag or an id
//
// `shape` states which words are an instance of the form (opcodes and the
// register constraints the library's locate step checks), `site_ok` which
// sites a code space can hold (alignment, the 32-bit address space of
// 32-bit targets). Both are preconditions of every property. `field_masks`
// are, per word, the bits the encoder may change: the frame property proves
// it changes no others.

#ifndef WASMCACHE_PROOFS_FORM_H_
#define WASMCACHE_PROOFS_FORM_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "spec/word_domain.h"

namespace wasmcache::proofs {

template <class D>
using Words = std::vector<typename D::U32>;

// One implementation's range check, encoder and decoder for a form.
template <class D>
struct FormImpl {
  using U64 = typename D::U64;
  std::function<typename D::Bool(const U64& site, const U64& value)> accept;
  std::function<Words<D>(const Words<D>& words, const U64& site,
                         const U64& value)>
      encode;
  std::function<U64(const Words<D>& words, const U64& site)> decode;
};

template <class D>
struct Form {
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  std::string arch;
  std::string name;   // e.g. "rel32" or "rel32.tag"
  std::string where;  // relocation modes and instructions, for the report
  int num_words = 1;
  std::vector<uint32_t> field_masks;  // one per word
  std::function<Bool(const Words<D>& words)> shape;
  std::function<Bool(const U64& site)> site_ok;
  FormImpl<D> reference;
  FormImpl<D> fast;
  // The fast implementation's own test for the form's words, when it has
  // one apart from `shape` (the reference's): fast=reference then also
  // proves that both recognise exactly the same words.
  std::function<Bool(const Words<D>& words)> fast_shape;
  // The values the library asks the form to carry, when narrower than all
  // 64-bit values (`domain_note` says why). Only exact-range assumes it: a
  // value outside the domain may be rejected even if it would round-trip;
  // round-trip and injectivity still cover every accepted value.
  std::function<Bool(const U64& site, const U64& value)> value_domain;
  std::string domain_note;
  // A form the library only reads (for example the address of the pool
  // slot a load names): no range check and no encoder, so only
  // fast=reference applies, on decode (and the shapes).
  bool decode_only = false;
};

// Shape and site constraints that hold for every form.
template <class D>
typename D::Bool AnyShape(const Words<D>&) {
  return D::True();
}
template <class D>
typename D::Bool AnySite(const typename D::U64&) {
  return D::True();
}

// The words of a 64-bit datum (low word first) and back.
template <class D>
Words<D> SplitU64(const typename D::U64& v) {
  return {D::Trunc32(v), D::Trunc32(D::LShr(v, 32))};
}
template <class D>
typename D::U64 JoinU64(const Words<D>& w) {
  return D::Or(D::ZExt64(w[0]), D::Shl(D::ZExt64(w[1]), 32));
}

// A site aligned to `bytes` below 2^`address_bits`.
template <class D>
std::function<typename D::Bool(const typename D::U64&)> SiteIn(
    int address_bits, int align_bits) {
  return [=](const typename D::U64& site) {
    typename D::Bool ok = address_bits == 64
                              ? D::True()
                              : FitsUnsigned<D>(site, address_bits);
    if (align_bits > 0) ok = D::BoolAnd(ok, LowBitsZero<D>(site, align_bits));
    return ok;
  };
}

// Words whose bits under `mask` equal `match`, per word.
template <class D>
std::function<typename D::Bool(const Words<D>&)> WordsMatch(
    std::vector<std::pair<uint32_t, uint32_t>> patterns) {
  return [patterns](const Words<D>& w) {
    typename D::Bool ok = D::True();
    for (size_t i = 0; i < patterns.size(); ++i) {
      ok = D::BoolAnd(ok, D::Eq(D::And(w[i], D::C32(patterns[i].first)),
                                D::C32(patterns[i].second)));
    }
    return ok;
  };
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORM_H_
