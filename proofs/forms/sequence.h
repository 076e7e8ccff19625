// Bindings shared by the instruction-sequence targets (riscv64, riscv32,
// mips64, loong64): the fast implementation's SeqCodec (fast/encoders/
// sequence.h) over one SeqForm row, as a FormImpl, and shapes written as
// per-word patterns with a register taken from word 0.
//
// The adapters only change signatures, as SeqSites (the library's site
// functions) does: an instruction form's words are the codec's word array;
// a data form's datum is its words joined (8 bytes: low word first, the
// targets being little-endian) or its one word.

#ifndef WASMCACHE_PROOFS_FORMS_SEQUENCE_H_
#define WASMCACHE_PROOFS_FORMS_SEQUENCE_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "fast/encoders/sequence.h"
#include "proofs/form.h"

namespace wasmcache::proofs {

// The summed fields of `row` in `w`, or its datum (SeqSites::Raw).
template <class D>
typename D::U64 SeqRaw(const fast::SeqForm& row, const Words<D>& w) {
  if (row.is_data()) {
    return row.data_bytes == 8 ? JoinU64<D>(w) : D::ZExt64(w[0]);
  }
  return fast::SeqCodec<D>::Gather(row, w.data());
}

// `value` put into the fields of `row` in `w`, or as its datum
// (SeqSites::Put).
template <class D>
Words<D> SeqPut(const fast::SeqForm& row, const Words<D>& w,
                const typename D::U64& value) {
  if (row.is_data()) {
    // (A one-word vector built by count: clang 14's coverage mapping
    // fails on the braced list here.)
    return row.data_bytes == 8 ? SplitU64<D>(value)
                               : Words<D>(1, D::Trunc32(value));
  }
  Words<D> out = w;
  fast::SeqCodec<D>::Scatter(row, out.data(), value);
  return out;
}

// Targets of `row`: SeqSites::WriteTarget and ReadTarget.
template <class D>
FormImpl<D> SeqTargetImpl(const fast::SeqForm& row) {
  using U64 = typename D::U64;
  using Seq = fast::SeqCodec<D>;
  return {[row](const U64& site, const U64& v) {
            return Seq::InRange(row, site, v);
          },
          [row](const Words<D>& w, const U64& site, const U64& v) {
            return SeqPut<D>(row, w, Seq::ValueOf(row, site, v));
          },
          [row](const Words<D>& w, const U64& site) {
            return Seq::Decode(row, site, SeqRaw<D>(row, w));
          }};
}

// Tags of `row`: SeqSites::TagFits, WriteTag and ReadTag.
template <class D>
FormImpl<D> SeqTagImpl(const fast::SeqForm& row) {
  using U64 = typename D::U64;
  using Seq = fast::SeqCodec<D>;
  return {[row](const U64&, const U64& tag) { return Seq::TagFits(row, tag); },
          [row](const Words<D>& w, const U64&, const U64& tag) {
            return SeqPut<D>(row, w, tag);
          },
          [row](const Words<D>& w, const U64&) {
            return Seq::TagOf(row, SeqRaw<D>(row, w));
          }};
}

// Appends a form of `arch` with one field mask per word, any shape and
// sites `site_ok`, for the caller to complete (the pointer is valid until
// the next form is appended).
template <class D>
Form<D>* AddForm(std::vector<Form<D>>& forms, const char* arch,
                 const char* name, const char* where,
                 std::vector<uint32_t> masks,
                 std::function<typename D::Bool(const typename D::U64&)>
                     site_ok) {
  Form<D>& f = forms.emplace_back();
  f.arch = arch;
  f.name = name;
  f.where = where;
  f.num_words = static_cast<int>(masks.size());
  f.field_masks = std::move(masks);
  f.shape = AnyShape<D>;
  f.site_ok = std::move(site_ok);
  return &f;
}

// The 8-byte INTERNAL_REFERENCE datum of a little-endian target at any
// site, for values ("data64") and tags ("data64.tag") alike: the reference
// encoder A (Encode, Decode; no range) against the fast data row `row`.
template <class D, class A>
void AddData64Forms(std::vector<Form<D>>& forms, const char* arch,
                    const fast::SeqForm& row) {
  using U64 = typename D::U64;
  const FormImpl<D> reference = {
      [](const U64&, const U64&) { return D::True(); },
      [](const Words<D>&, const U64&, const U64& v) {
        return SplitU64<D>(A::Encode(v));
      },
      [](const Words<D>& w, const U64&) { return A::Decode(JoinU64<D>(w)); }};
  Form<D>* f = AddForm<D>(forms, arch, "data64",
                          "INTERNAL_REFERENCE: 8-byte absolute",
                          {0xffffffff, 0xffffffff}, AnySite<D>);
  f->reference = reference;
  f->fast = SeqTargetImpl<D>(row);
  f = AddForm<D>(forms, arch, "data64.tag",
                 "INTERNAL_REFERENCE on disk: 8-byte offset",
                 {0xffffffff, 0xffffffff}, AnySite<D>);
  f->reference = reference;
  f->fast = SeqTagImpl<D>(row);
}

// One word of a shape: (word & mask) == expect | reg << each of reg_at.
struct RegWord {
  uint32_t mask;
  uint32_t expect;
  std::vector<int> reg_at;  // bit positions of the register copies
};

// Words matching `patterns`, the register being the 5 bits of word 0 at
// `reg_lsb` (non-zero if `reg_nonzero`).
template <class D>
std::function<typename D::Bool(const Words<D>&)> RegShape(
    int reg_lsb, bool reg_nonzero, std::vector<RegWord> patterns) {
  return [=](const Words<D>& w) {
    const typename D::U32 reg = D::And(D::LShr(w[0], reg_lsb), D::C32(31));
    typename D::Bool ok =
        reg_nonzero ? D::Not(D::Eq(reg, D::C32(0))) : D::True();
    for (size_t i = 0; i < patterns.size(); ++i) {
      typename D::U32 expect = D::C32(patterns[i].expect);
      for (const int at : patterns[i].reg_at) {
        expect = D::Or(expect, D::Shl(reg, at));
      }
      ok = D::BoolAnd(
          ok, D::Eq(D::And(w[i], D::C32(patterns[i].mask)), expect));
    }
    return ok;
  };
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_SEQUENCE_H_
