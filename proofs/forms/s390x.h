// s390x forms: reference/encoders/s390x.h against fast/encoders/s390x.h
// (and fast/encoders/reach.h).
//
// s390x is big-endian and its instructions are halfword streams, so an
// instruction's 32-bit immediate (bytes 2..5 of a 6-byte RIL instruction)
// straddles two 32-bit words of the site. The words here are the site's
// bytes read as big-endian 32-bit words, in site order:
//
//   iihf + iilf (12 bytes)  w0 = C0 r8 | hi[0..1]   w1 = hi[2..3] | C0 r9
//                           w2 = lo
//   brcl 15 + lr (8 bytes)  w0 = C0 F4 | imm[0..1]  w1 = imm[2..3] | 18 00
//   data64 (8 bytes)        w0 = high word           w1 = low word
//
// so the opcode halfwords are in the words: `shape` checks them and the
// frame property proves the encoders leave them alone. The binding only
// moves a 32-bit immediate to and from its byte offset (ImmAt, PutImm: what
// the library's big-endian Load32/Store32 at that offset do); the offsets
// are the encoders' own (kHighOffset, kLowOffset, the fast layouts' imm
// offsets). data64 keeps site order (high word first) rather than low word
// first, since on a big-endian target that is where the words lie.

#ifndef WASMCACHE_PROOFS_FORMS_S390X_H_
#define WASMCACHE_PROOFS_FORMS_S390X_H_

#include <vector>

#include "fast/encoders/s390x.h"
#include "proofs/form.h"
#include "proofs/properties.h"
#include "reference/encoders/s390x.h"

namespace wasmcache::proofs {

// The big-endian 32-bit immediate at even byte `offset` of the site's
// big-endian words, and the words with it replaced.
template <class D>
typename D::U32 S390xImmAt(const Words<D>& w, int offset) {
  const int i = offset / 4;
  if (offset % 4 == 0) return w[i];
  return D::Or(D::Shl(w[i], 16), D::LShr(w[i + 1], 16));
}
template <class D>
Words<D> S390xPutImm(const Words<D>& w, int offset, typename D::U32 imm) {
  Words<D> e = w;
  const int i = offset / 4;
  if (offset % 4 == 0) {
    e[i] = imm;
  } else {
    e[i] = InsertField<D>(w[i], 0x0000ffff, D::LShr(imm, 16));
    e[i + 1] = InsertField<D>(w[i + 1], 0xffff0000, D::Shl(imm, 16));
  }
  return e;
}
// The halfword at even byte `offset`, zero-extended.
template <class D>
typename D::U32 S390xHalfAt(const Words<D>& w, int offset) {
  const typename D::U32 word = w[offset / 4];
  return offset % 4 == 0 ? D::LShr(word, 16) : D::And(word, D::C32(0xffff));
}

template <class D>
std::vector<Form<D>> S390xForms() {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using W = Words<D>;
  using Fast = fast::S390xImms<D>;
  using Pair = reference::S390xIihfIilf<D>;
  using Data64 = reference::S390xData64<D>;
  using Relative = reference::S390xRelative32<D>;
  using fast::Reach;

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where, int words) {
    Form<D>& f = forms.emplace_back();
    f.arch = "s390x";
    f.name = name;
    f.where = where;
    f.num_words = words;
    f.field_masks.assign(words, 0xffffffff);
    f.shape = AnyShape<D>;
    f.site_ok = AnySite<D>;
    return &f;
  };

  // A fast row's reach over the immediates of its layout.
  auto fast_impl = [](const fast::S390xLayout& layout, const Reach& reach) {
    return FormImpl<D>{
        [reach](const U64& site, const U64& v) {
          return Fast::Fits(reach, site, v);
        },
        [&layout, reach](const W& w, const U64& site, const U64& v) {
          U32 imms[2] = {D::C32(0), D::C32(0)};
          Fast::Write(layout, reach, imms, site, v);
          W e = w;
          for (int i = 0; i < layout.num_imms; ++i) {
            e = S390xPutImm<D>(e, layout.imms[i].offset, imms[i]);
          }
          return e;
        },
        [&layout, reach](const W& w, const U64& site) {
          U32 imms[2] = {D::C32(0), D::C32(0)};
          for (int i = 0; i < layout.num_imms; ++i) {
            imms[i] = S390xImmAt<D>(w, layout.imms[i].offset);
          }
          return Fast::Read(layout, reach, imms, site);
        }};
  };

  // iihf + iilf of one register (Pair::IsSequence, what the reference's
  // locate step checks; the fast kS390xPairPattern checks the same
  // halfwords), 2-aligned.
  auto pair_form = [&](const char* name, const char* where) {
    Form<D>* f = add(name, where, 3);
    f->field_masks = {0x0000ffff, 0xffff0000, 0xffffffff};
    f->shape = [](const W& w) {
      return Pair::IsSequence(S390xHalfAt<D>(w, 0), S390xHalfAt<D>(w, 6));
    };
    f->site_ok = SiteIn<D>(64, 1);
    return f;
  };
  auto high = [](const W& w) { return S390xImmAt<D>(w, Pair::kHighOffset); };
  auto low = [](const W& w) { return S390xImmAt<D>(w, Pair::kLowOffset); };
  auto put = [](const W& w, U32 hi, U32 lo) {
    return S390xPutImm<D>(S390xPutImm<D>(w, Pair::kHighOffset, hi),
                          Pair::kLowOffset, lo);
  };
  auto pair_encode = [put](const W& w, const U64&, const U64& v) {
    return put(w, Pair::EncodeHigh(v), Pair::EncodeLow(v));
  };
  const fast::S390xFormRow& address = fast::kS390xForms[fast::kS390xPairAddress];
  const fast::S390xFormRow& value32 = fast::kS390xForms[fast::kS390xPairValue32];
  const fast::S390xFormRow& data64 = fast::kS390xForms[fast::kS390xData64];

  Form<D>* f = pair_form(
      "pair", "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE: iihf + iilf, a "
              "64-bit address");
  f->reference = {[](const U64&, const U64&) { return D::True(); },
                  pair_encode, [high, low](const W& w, const U64&) {
                    return Pair::Decode(high(w), low(w));
                  }};
  f->fast = fast_impl(*address.layout, address.target);

  f = pair_form("pair.value32",
                "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY: the "
                "pair holding a 32-bit constant");
  f->reference = {
      [](const U64&, const U64& v) { return Pair::FitsValue32(v); },
      pair_encode, [high, low](const W& w, const U64&) {
        return Pair::DecodeValue32(high(w), low(w));
      }};
  f->fast = fast_impl(*value32.layout, value32.target);

  // Tags: iihf 0, iilf the tag.
  const FormImpl<D> pair_tag = {
      [](const U64&, const U64& tag) { return Pair::TagInRange(tag); },
      [put](const W& w, const U64&, const U64& tag) {
        return put(w, Pair::EncodeTagHigh(tag), Pair::EncodeTagLow(tag));
      },
      [high, low](const W& w, const U64&) {
        return D::ZExt64(Pair::DecodeTag(high(w), low(w)));
      }};
  f = pair_form("pair.tag",
                "WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE on disk: the "
                "tag in the iilf immediate");
  f->reference = pair_tag;
  f->fast = fast_impl(*address.layout, address.tag);

  f = pair_form("pair.value32.tag",
                "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY on disk");
  f->reference = pair_tag;
  f->fast = fast_impl(*value32.layout, value32.tag);

  // 8 bytes, big-endian, value and tag alike.
  const FormImpl<D> data64_ref = {
      [](const U64&, const U64&) { return D::True(); },
      [](const W&, const U64&, const U64& v) {
        const W low_first = SplitU64<D>(Data64::Encode(v));
        return W{low_first[1], low_first[0]};
      },
      [](const W& w, const U64&) {
        return Data64::Decode(JoinU64<D>(W{w[1], w[0]}));
      }};
  f = add("data64", "INTERNAL_REFERENCE: 8 bytes at pc, big-endian", 2);
  f->reference = data64_ref;
  f->fast = fast_impl(*data64.layout, data64.target);

  f = add("data64.tag", "INTERNAL_REFERENCE on disk: the offset", 2);
  f->reference = data64_ref;
  f->fast = fast_impl(*data64.layout, data64.tag);

  // The near slot: brcl 15 then lr r0, r0 (the fast reader's pattern; the
  // reference compares the same bytes), 2-aligned.
  f = add("brcl", "jump-table near slot: brcl 15, imm32 = (target - site) / 2",
          2);
  f->field_masks = {0x0000ffff, 0xffff0000};
  f->shape = [](const W& w) {
    const fast::S390xPattern& p = fast::kS390xNearSlotPattern;
    const U32 heads[2] = {S390xHalfAt<D>(w, p.checks[0].offset),
                          S390xHalfAt<D>(w, p.checks[1].offset)};
    return Fast::Matches(p, heads);
  };
  f->site_ok = SiteIn<D>(64, 1);
  f->reference = {
      [](const U64& site, const U64& v) { return Relative::InRange(site, v); },
      [](const W& w, const U64& site, const U64& v) {
        return S390xPutImm<D>(w, Relative::kFieldOffset,
                              Relative::Encode(site, v));
      },
      [](const W& w, const U64& site) {
        return Relative::Decode(S390xImmAt<D>(w, Relative::kFieldOffset),
                                site);
      }};
  f->fast = fast_impl(fast::kS390xBrclLayout, fast::kS390xBrclReach);
  return forms;
}

inline ArchProofSpec S390xProofSpec() {
  // Calls and stub calls load their target with the absolute iihf + iilf:
  // it reaches near and far slots of any space below 2^47. A near slot's
  // brcl reaches any code-aligned address of its space.
  return {Arch::kS390x,
          47,
          {{"WASM_CALL -> near slots", "pair", ReachTarget::kNearSlots},
           {"WASM_STUB_CALL -> far slots", "pair", ReachTarget::kFarSlots},
           {"near slot brcl -> code", "brcl", ReachTarget::kSpace}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_S390X_H_
