// A 4-byte field that holds its value itself: an absolute 32-bit address
// or a 32-bit id, unsigned, and on disk the tag in its place. It is ia32's
// imm32/disp32/data word, arm's constant-pool word and jump-slot target
// word, and the pool slot of arm64's ldr w literal; each of those targets
// names it after its own form (Ia32Abs32, ArmWord32, Arm64Absolute32).
//
//   Fixup:  field <- value : uint32
//   Errors: value >= 2^32
//   Decode: value = zext(field)
//   Tag:    field <- tag (error unless the tag fits uint32), read back
//           zero-extended

#ifndef WASMCACHE_REFERENCE_ENCODERS_ABSOLUTE32_H_
#define WASMCACHE_REFERENCE_ENCODERS_ABSOLUTE32_H_

#include "spec/word_domain.h"

namespace wasmcache::reference {

template <class D>
struct Absolute32 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 4;

  static typename D::Bool InRange(U64 value) {
    return FitsUnsigned<D>(value, 32);
  }
  static U32 Encode(U64 value) { return D::Trunc32(value); }
  static U64 Decode(U32 field) { return D::ZExt64(field); }
  // A tag is stored and read back as a value is.
  static typename D::Bool TagInRange(U64 tag) { return InRange(tag); }
  static U32 EncodeTag(U64 tag) { return Encode(tag); }
  static U64 DecodeTag(U32 field) { return Decode(field); }
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_ABSOLUTE32_H_
