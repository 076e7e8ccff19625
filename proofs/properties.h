// The properties, as word-domain templates: each builds, for a form (or an
// architecture's jump tables) and a set of variables, a premise and a
// conclusion. The prover proves "premise implies conclusion" for all values
// of the variables with Z3 (Z3Domain), and replays counterexamples with
// NativeDomain, so a refutation is confirmed by running the shipped code.
//
//   round-trip        shape(w), site_ok(s), accept(s, v)
//                       => decode(encode(w, s, v), s) = v
//   exact-range       shape(w), site_ok(s), domain(s, v),
//                     decode(encode(w, s, v), s) = v  =>  accept(s, v)
//                     (with round-trip: accept is exactly the round-trip set
//                     within the form's value domain, all values unless the
//                     binding narrows it and says why)
//   frame             shape(w), site_ok(s)
//                       => encode(w, s, v) & ~mask = w & ~mask, word by word,
//                          and shape(encode(w, s, v))
//   injective         shape(w), site_ok(s), accept(s, v1), accept(s, v2),
//                     encode(w, s, v1) = encode(w, s, v2)  =>  v1 = v2
//   fast=reference    shape(w), site_ok(s)
//                       => accept_f(s, v) = accept_r(s, v),
//                          encode_f(w, s, v) = encode_r(w, s, v),
//                          decode_f(w, s) = decode_r(w, s)
//                     (decode-only forms: decode alone; forms with a fast
//                     shape test: also shape_f(w) = shape(w) for every w)
//   jump-table-reach  a site anywhere in a code space of the target's
//                     maximum size, a slot of that space's table
//                       => accept(site, slot address)
//   slot-map-inverse  i < n => is_slot(offset(i), n), index(offset(i)) = i;
//                     is_slot(o, n) => offset(index(o)) = o, index(o) < n

#ifndef WASMCACHE_PROOFS_PROPERTIES_H_
#define WASMCACHE_PROOFS_PROPERTIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proofs/form.h"
#include "spec/arch.h"
#include "spec/slot_maps.h"
#include "spec/word_domain.h"

namespace wasmcache::proofs {

enum class Property : uint8_t {
  kRoundTrip,
  kExactRange,
  kFrame,
  kInjective,
  kFastEqualsReference,
  kJumpTableReach,
  kSlotMapInverse,
};
inline constexpr Property kFormProperties[] = {
    Property::kRoundTrip, Property::kExactRange, Property::kFrame,
    Property::kInjective, Property::kFastEqualsReference};

const char* PropertyName(Property p);

// The free variables of every obligation. In Z3 they are constants named
// as below; natively, the values of a counterexample.
inline constexpr int kMaxWords = 6;
template <class D>
struct Vars {
  std::vector<typename D::U32> w;  // kMaxWords instruction words
  typename D::U64 site, value, value2;
  // Jump tables: base of the code space, site offset in it, table start,
  // slot index, slot count, offset in a table.
  typename D::U64 base, site_offset, table, index, count, offset;
};
inline constexpr const char* kU64VarNames[] = {
    "site", "value", "value2", "base", "site_offset",
    "table", "index", "count", "offset"};

template <class D>
struct Obligation {
  typename D::Bool premise;
  typename D::Bool conclusion;
};

template <class D>
typename D::Bool Iff(const typename D::Bool& a, const typename D::Bool& b) {
  return D::BoolOr(D::BoolAnd(a, b), D::BoolAnd(D::Not(a), D::Not(b)));
}
template <class D>
typename D::Bool WordsEqual(const Words<D>& a, const Words<D>& b) {
  typename D::Bool eq = D::True();
  for (size_t i = 0; i < a.size(); ++i) eq = D::BoolAnd(eq, D::Eq(a[i], b[i]));
  return eq;
}

enum class Impl : uint8_t { kReference, kFast };
const char* ImplName(Impl impl);

template <class D>
const FormImpl<D>& ImplOf(const Form<D>& f, Impl impl) {
  return impl == Impl::kReference ? f.reference : f.fast;
}

// Obligation `p` (one of kFormProperties) of form `f`; `impl` is ignored
// by fast=reference.
template <class D>
Obligation<D> FormObligation(const Form<D>& f, Property p, Impl impl,
                             const Vars<D>& x) {
  const Words<D> w(x.w.begin(), x.w.begin() + f.num_words);
  const typename D::Bool pre = D::BoolAnd(f.shape(w), f.site_ok(x.site));
  const FormImpl<D>& m = ImplOf(f, impl);
  switch (p) {
    case Property::kRoundTrip:
      return {D::BoolAnd(pre, m.accept(x.site, x.value)),
              D::Eq(m.decode(m.encode(w, x.site, x.value), x.site), x.value)};
    case Property::kExactRange: {
      typename D::Bool in_domain = pre;
      if (f.value_domain) {
        in_domain = D::BoolAnd(in_domain, f.value_domain(x.site, x.value));
      }
      return {D::BoolAnd(in_domain,
                         D::Eq(m.decode(m.encode(w, x.site, x.value), x.site),
                               x.value)),
              m.accept(x.site, x.value)};
    }
    case Property::kFrame: {
      const Words<D> e = m.encode(w, x.site, x.value);
      typename D::Bool kept = f.shape(e);
      for (int i = 0; i < f.num_words; ++i) {
        const uint32_t keep = ~f.field_masks[i];
        kept = D::BoolAnd(kept, D::Eq(D::And(e[i], D::C32(keep)),
                                      D::And(w[i], D::C32(keep))));
      }
      return {pre, kept};
    }
    case Property::kInjective: {
      const typename D::Bool both =
          D::BoolAnd(m.accept(x.site, x.value), m.accept(x.site, x.value2));
      const typename D::Bool same = WordsEqual<D>(
          m.encode(w, x.site, x.value), m.encode(w, x.site, x.value2));
      return {D::BoolAnd(pre, D::BoolAnd(both, same)),
              D::Eq(x.value, x.value2)};
    }
    case Property::kFastEqualsReference: {
      const FormImpl<D>& r = f.reference;
      const FormImpl<D>& q = f.fast;
      typename D::Bool same =
          D::Eq(q.decode(w, x.site), r.decode(w, x.site));
      if (!f.decode_only) {
        const typename D::Bool accept =
            Iff<D>(q.accept(x.site, x.value), r.accept(x.site, x.value));
        const typename D::Bool encode = WordsEqual<D>(
            q.encode(w, x.site, x.value), r.encode(w, x.site, x.value));
        same = D::BoolAnd(same, D::BoolAnd(accept, encode));
      }
      if (!f.fast_shape) return {pre, same};
      // Over every word: the same words are instances, and on those the
      // results agree.
      const typename D::Bool shape = f.shape(w);
      return {f.site_ok(x.site),
              D::BoolAnd(Iff<D>(f.fast_shape(w), shape),
                         D::BoolOr(D::Not(shape), same))};
    }
    default:
      return {D::True(), D::True()};
  }
}

// Where a jump-table reach obligation's target lies.
enum class ReachTarget : uint8_t {
  kNearSlots,  // a slot of the space's near jump table
  kFarSlots,   // a slot of the space's far jump table
  kSpace,      // any code-aligned address of the space (a near slot's jump)
};

// One reach obligation of an architecture: sites of `form` reach `target`.
struct ReachSpec {
  std::string name;  // e.g. "WASM_CALL -> near slots"
  std::string form;  // a form of the architecture
  ReachTarget target;
  int site_align_bits = 0;
};

// An architecture's proof parameters beside its forms.
struct ArchProofSpec {
  Arch arch;
  // Code spaces lie below 2^address_bits (32 on 32-bit targets; 47, the
  // user address space of every 64-bit target's Linux, elsewhere).
  int address_bits = 47;
  std::vector<ReachSpec> reach;
};

inline constexpr uint64_t kCodeSpaceAlignment = 4096;

template <class D>
Obligation<D> ReachObligation(const ArchTraits& t, const ArchProofSpec& a,
                              const ReachSpec& r, const Form<D>& f, Impl impl,
                              const Vars<D>& x) {
  const uint64_t max = t.max_code_space_size;
  using U64 = typename D::U64;
  // The space [base, base + max) lies below 2^address_bits.
  typename D::Bool pre =
      D::BoolAnd(LowBitsZero<D>(x.base, 12),
                 D::Ult(x.base, D::C64((uint64_t{1} << a.address_bits) -
                                       max + 1)));
  pre = D::BoolAnd(pre, D::Ult(x.site_offset, D::C64(max)));
  if (r.site_align_bits > 0) {
    pre = D::BoolAnd(pre, LowBitsZero<D>(x.site_offset, r.site_align_bits));
  }
  const U64 site = D::Add(x.base, x.site_offset);
  pre = D::BoolAnd(pre, f.site_ok(site));
  const int align_bits = __builtin_ctz(t.code_alignment);
  U64 target_offset = x.table;
  uint64_t slot_size = t.code_alignment;
  if (r.target == ReachTarget::kSpace) {
    pre = D::BoolAnd(pre, LowBitsZero<D>(x.table, align_bits));
  } else {
    const SlotGeometry g =
        r.target == ReachTarget::kNearSlots ? NearSlots(t) : FarSlots(t);
    slot_size = g.slot;
    // The table starts code-aligned; the slot lies in the space.
    pre = D::BoolAnd(pre, LowBitsZero<D>(x.table, align_bits));
    pre = D::BoolAnd(pre, D::Ult(x.table, D::C64(max)));
    pre = D::BoolAnd(pre, D::Ult(x.index, D::C64(uint64_t{1} << 32)));
    const U64 slot_offset = SlotMap<D>::Offset(g, x.index);
    pre = D::BoolAnd(pre, D::Ult(slot_offset, D::C64(max)));
    target_offset = D::Add(x.table, slot_offset);
  }
  pre = D::BoolAnd(pre, D::Ult(D::Add(target_offset, D::C64(slot_size - 1)),
                               D::C64(max)));
  const U64 target = D::Add(x.base, target_offset);
  return {pre, ImplOf(f, impl).accept(site, target)};
}

// Slot-map obligations: direction 0 is index -> offset -> index, 1 is
// offset -> index -> offset. A table lies in one code space: it has at most
// max_space / slot slots, and its offsets are below max_space.
template <class D>
Obligation<D> SlotMapObligation(SlotGeometry g, uint64_t max_space,
                                int direction, const Vars<D>& x) {
  using M = SlotMap<D>;
  const typename D::Bool count_ok =
      D::Ult(x.count, D::C64(max_space / g.slot + 1));
  if (direction == 0) {
    const typename D::U64 o = M::Offset(g, x.index);
    return {D::BoolAnd(count_ok, D::Ult(x.index, x.count)),
            D::BoolAnd(M::IsSlot(g, o, x.count),
                       D::Eq(M::Index(g, o), x.index))};
  }
  const typename D::U64 i = M::Index(g, x.offset);
  return {D::BoolAnd(D::BoolAnd(count_ok, D::Ult(x.offset, D::C64(max_space))),
                     M::IsSlot(g, x.offset, x.count)),
          D::BoolAnd(D::Eq(M::Offset(g, i), x.offset), D::Ult(i, x.count))};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_PROPERTIES_H_
