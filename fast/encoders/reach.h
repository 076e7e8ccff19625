// The values a relocation form holds, shared by the ppc64 and s390x
// encoders of the fast implementation (word-domain templates).
//
// A relative form holds target - site: a signed number of `bits` bits whose
// low `align` bits are zero. An absolute form holds the address (or tag)
// itself: unsigned, of `bits` bits (64: any); reading one back keeps those
// bits only.
//
//   ToValue(target)  = relative ? target - site : target
//   InReach(value)   = low `align` bits zero, and value fits `bits` bits
//                      (signed if relative, unsigned if not)
//   FromValue(value) = relative ? site + value : value mod 2^bits
//   Fits(target)     = InReach(ToValue(target)): the form holds it

#ifndef WASMCACHE_FAST_ENCODERS_REACH_H_
#define WASMCACHE_FAST_ENCODERS_REACH_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::fast {

struct Reach {
  bool relative;
  uint8_t align;
  uint8_t bits;
};

template <class D>
struct ReachCodec {
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  static U64 ToValue(const Reach& reach, U64 site, U64 target) {
    return reach.relative ? D::Sub(target, site) : target;
  }
  static Bool InReach(const Reach& reach, U64 value) {
    const Bool aligned =
        reach.align == 0 ? D::True() : LowBitsZero<D>(value, reach.align);
    if (reach.bits >= 64) return aligned;
    return D::BoolAnd(aligned, reach.relative
                                   ? FitsSigned<D>(value, reach.bits)
                                   : FitsUnsigned<D>(value, reach.bits));
  }
  static U64 FromValue(const Reach& reach, U64 site, U64 value) {
    if (reach.relative) return D::Add(site, value);
    if (reach.bits >= 64) return value;
    return D::And(value, D::C64((uint64_t{1} << reach.bits) - 1));
  }
  static Bool Fits(const Reach& reach, U64 site, U64 target) {
    return InReach(reach, ToValue(reach, site, target));
  }
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_REACH_H_
