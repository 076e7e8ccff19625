// ia32 relocation forms, as V8 13.6 emits and serializes them in wasm code.
//
// A form's "site" is the reloc entry's pc. ia32 has no constant pool: every
// relocated value is a 4-byte little-endian field in the instruction stream
// at the site, and every address is 32 bits wide.
//
// | form        | modes                             | field at site        |
// |-------------|-----------------------------------|----------------------|
// | Ia32Rel32   | WASM_CALL, WASM_STUB_CALL         | rel32 of E8 / E9     |
// | Ia32Abs32   | EXTERNAL_REFERENCE,               | imm32 or disp32,     |
// |             | INTERNAL_REFERENCE,               | 4-byte absolute or   |
// |             | WASM_CANONICAL_SIG_ID,            | 32-bit id            |
// |             | WASM_CODE_POINTER_TABLE_ENTRY     |                      |
//
// On disk every field holds the whole tag: the rel32 the callee's function
// index or builtin id (written raw, not as a displacement), an external
// reference's imm32 the table index, an internal reference the offset from
// the instruction start, an id its module-local value.
//
// Reach: the CPU computes eip + 5 + rel32 modulo 2^32, so a rel32 reaches
// every address of the 32-bit address space from every other one. The only
// error is an address that is not a 32-bit address at all.

#ifndef WASMCACHE_REFERENCE_ENCODERS_IA32_H_
#define WASMCACHE_REFERENCE_ENCODERS_IA32_H_

#include <cstdint>

#include "reference/encoders/absolute32.h"
#include "spec/word_domain.h"

namespace wasmcache::reference {

// call rel32 (E8) / jmp rel32 (E9), site = the rel32 field (one byte after
// the opcode).
//   Fixup:  rel32 <- (target - (site + 4)) mod 2^32
//   Errors: site >= 2^32 or target >= 2^32 (not a 32-bit address)
//   Decode: target = (site + 4 + rel32) mod 2^32
//   Tag:    rel32 <- tag, read back raw (error unless the tag fits uint32)
template <class D>
struct Ia32Rel32 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 4;
  static constexpr uint8_t kCall = 0xe8;
  static constexpr uint8_t kJmp = 0xe9;

  static typename D::Bool InRange(U64 site, U64 target) {
    return D::BoolAnd(FitsUnsigned<D>(site, 32), FitsUnsigned<D>(target, 32));
  }
  // 32-bit arithmetic, as on the target.
  static U32 Encode(U64 site, U64 target) {
    return D::Sub(D::Trunc32(target),
                  D::Add(D::Trunc32(site), D::C32(kFieldSize)));
  }
  static U64 Decode(U64 site, U32 rel32) {
    return D::ZExt64(
        D::Add(D::Add(D::Trunc32(site), D::C32(kFieldSize)), rel32));
  }
  // Tag: the rel32 holds the tag itself, not a displacement.
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U32 EncodeTag(U64 tag) { return D::Trunc32(tag); }
  static U64 DecodeTag(U32 rel32) { return D::ZExt64(rel32); }
};

// 4-byte absolute value or 32-bit id at the site (reference/encoders/
// absolute32.h has the fixup expressions).
template <class D>
using Ia32Abs32 = Absolute32<D>;

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_IA32_H_
