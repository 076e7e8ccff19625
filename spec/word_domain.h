// The word domain: the operations relocation encoders are written in.
//
// Every encoder is a template over a domain D that supplies 32- and 64-bit
// words (D::U32, D::U64), truth values (D::Bool) and the operations below.
// The library instantiates encoders with NativeDomain (machine integers);
// the proofs instantiate the very same templates with Z3 bit-vectors, so a
// proof is about the code that ships, not about a transcription of it.
//
// Semantics every domain must give: fixed-width two's complement words,
// wrap-around Add/Sub and MulC (by a constant), shifts by a constant in [0, width), Shl/LShr/AShr as
// in SMT-LIB's bvshl/bvlshr/bvashr, UDiv/URem by a non-zero constant as
// bvudiv/bvurem, Ult unsigned. Select(c, a, b) is the only data-dependent
// choice an encoder may make: the proofs check that both of its outcomes
// are reachable.

#ifndef WASMCACHE_SPEC_WORD_DOMAIN_H_
#define WASMCACHE_SPEC_WORD_DOMAIN_H_

#include <cstdint>

namespace wasmcache {

struct NativeDomain {
  using U32 = uint32_t;
  using U64 = uint64_t;
  using Bool = bool;

  static constexpr U32 C32(uint32_t v) { return v; }
  static constexpr U64 C64(uint64_t v) { return v; }
  static constexpr Bool True() { return true; }

  static constexpr U64 ZExt64(U32 v) { return v; }
  static constexpr U64 SExt64(U32 v) {
    return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
  }
  static constexpr U32 Trunc32(U64 v) { return static_cast<uint32_t>(v); }

  static constexpr U32 Add(U32 a, U32 b) { return a + b; }
  static constexpr U64 Add(U64 a, U64 b) { return a + b; }
  static constexpr U32 Sub(U32 a, U32 b) { return a - b; }
  static constexpr U64 Sub(U64 a, U64 b) { return a - b; }
  static constexpr U32 And(U32 a, U32 b) { return a & b; }
  static constexpr U64 And(U64 a, U64 b) { return a & b; }
  static constexpr U32 Or(U32 a, U32 b) { return a | b; }
  static constexpr U64 Or(U64 a, U64 b) { return a | b; }
  static constexpr U32 Shl(U32 a, int n) { return a << n; }
  static constexpr U64 Shl(U64 a, int n) { return a << n; }
  static constexpr U32 LShr(U32 a, int n) { return a >> n; }
  static constexpr U64 LShr(U64 a, int n) { return a >> n; }
  static constexpr U32 AShr(U32 a, int n) {
    return static_cast<uint32_t>(static_cast<int32_t>(a) >> n);
  }
  static constexpr U64 AShr(U64 a, int n) {
    return static_cast<uint64_t>(static_cast<int64_t>(a) >> n);
  }

  // Wrap-around multiplication by a constant.
  static constexpr U64 MulC(U64 a, uint64_t c) { return a * c; }
  // Division and remainder by a non-zero constant.
  static constexpr U64 UDiv(U64 a, uint64_t c) { return a / c; }
  static constexpr U64 URem(U64 a, uint64_t c) { return a % c; }

  static constexpr Bool Eq(U32 a, U32 b) { return a == b; }
  static constexpr Bool Eq(U64 a, U64 b) { return a == b; }
  static constexpr Bool Ult(U64 a, U64 b) { return a < b; }
  static constexpr Bool BoolAnd(Bool a, Bool b) { return a && b; }
  static constexpr Bool BoolOr(Bool a, Bool b) { return a || b; }
  static constexpr Bool Not(Bool a) { return !a; }
  static constexpr U32 Select(Bool c, U32 a, U32 b) { return c ? a : b; }
  static constexpr U64 Select(Bool c, U64 a, U64 b) { return c ? a : b; }

  // Concrete truth of a Bool; only the library (not proofs) calls this.
  static constexpr bool Holds(Bool b) { return b; }
};

// Domain-generic helpers shared by every encoder.

// Sign-extends the low `bits` of v to 64 bits.
template <class D>
typename D::U64 SignExtendLow(typename D::U64 v, int bits) {
  return D::AShr(D::Shl(v, 64 - bits), 64 - bits);
}

// v, read as a signed 64-bit number, fits in `bits` signed bits.
template <class D>
typename D::Bool FitsSigned(typename D::U64 v, int bits) {
  return D::Eq(SignExtendLow<D>(v, bits), v);
}

// v fits in `bits` unsigned bits.
template <class D>
typename D::Bool FitsUnsigned(typename D::U64 v, int bits) {
  return D::Eq(D::LShr(v, bits), D::C64(0));
}

// The low `bits` of v are zero.
template <class D>
typename D::Bool LowBitsZero(typename D::U64 v, int bits) {
  return D::Eq(D::Shl(v, 64 - bits), D::C64(0));
}

// Replaces the bits of `word` selected by `mask` with `field` (already in
// position); bits outside the mask are kept.
template <class D>
typename D::U32 InsertField(typename D::U32 word, uint32_t mask,
                            typename D::U32 field) {
  return D::Or(D::And(word, D::C32(~mask)), D::And(field, D::C32(mask)));
}

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_WORD_DOMAIN_H_
