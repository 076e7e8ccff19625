// x64 relocation forms, as V8 13.6 emits and serializes them in wasm code.
//
// A form's "site" is the reloc entry's pc. x64 has no constant pool: every
// relocated value sits in the instruction stream at the site.
//
// | form          | modes                             | field at site     |
// |---------------|-----------------------------------|-------------------|
// | X64Rel32      | WASM_CALL, WASM_STUB_CALL         | disp32 of E8/E9   |
// | X64Imm64      | EXTERNAL_REFERENCE,               | 8-byte absolute   |
// |               | INTERNAL_REFERENCE                |                   |
// | X64Imm32      | WASM_CANONICAL_SIG_ID,            | 4-byte immediate  |
// |               | WASM_CODE_POINTER_TABLE_ENTRY     |                   |
//
// On disk (the "tag" form) each field holds the tag itself: the rel32 the
// callee's function index or builtin id, the imm32 the type index or
// function index, the imm64 of an external reference the table index in
// its low 32 bits (V8 leaves the upper 32 bits of the process address
// there; wasmcache writes them as zero, the canonical form), the imm64 of
// an internal reference the offset from the instruction start.

#ifndef WASMCACHE_REFERENCE_ENCODERS_X64_H_
#define WASMCACHE_REFERENCE_ENCODERS_X64_H_

#include "spec/word_domain.h"

namespace wasmcache::reference {

// call/jmp rel32, site = the disp32 field.
//   Fixup:  disp32 <- target - (site + 4) : int32
//   Errors: target - (site + 4) does not fit int32
//   Decode: target = site + 4 + sext(disp32)
//   Tag:    disp32 <- tag (error unless the tag fits uint32)
template <class D>
struct X64Rel32 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 4;

  static U64 Delta(U64 site, U64 target) {
    return D::Sub(target, D::Add(site, D::C64(4)));
  }
  static typename D::Bool InRange(U64 site, U64 target) {
    return FitsSigned<D>(Delta(site, target), 32);
  }
  static U32 Encode(U64 site, U64 target) {
    return D::Trunc32(Delta(site, target));
  }
  static U64 Decode(U64 site, U32 disp32) {
    return D::Add(D::Add(site, D::C64(4)), D::SExt64(disp32));
  }
  // Tag: the disp32 holds the tag itself.
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U32 EncodeTag(U64 tag) { return D::Trunc32(tag); }
  static U64 DecodeTag(U32 disp32) { return D::ZExt64(disp32); }
};

// 8-byte absolute value, site = the value.
//   Fixup:  imm64 <- value
//   Errors: none
//   Tag:    low 32 bits <- tag, high 32 bits <- 0 (canonical); error
//           unless the tag fits uint32
template <class D>
struct X64Imm64 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 8;

  static U64 Encode(U64 value) { return value; }
  static U64 Decode(U64 field) { return field; }
  static typename D::Bool TagInRange(U64 tag) {
    return FitsUnsigned<D>(tag, 32);
  }
  static U64 EncodeTag(U32 tag) { return D::ZExt64(tag); }
  // V8 reads only the low 32 bits of an external-reference tag.
  static U32 DecodeTag(U64 field) { return D::Trunc32(field); }
};

// 4-byte immediate, site = the immediate.
//   Fixup:  imm32 <- value : uint32
//   Errors: value above 2^32 - 1 (ids are 32-bit by construction)
template <class D>
struct X64Imm32 {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  static constexpr int kFieldSize = 4;

  // Values (and tags) are 32-bit ids.
  static typename D::Bool InRange(U64 value) {
    return FitsUnsigned<D>(value, 32);
  }
  static U32 Encode(U32 value) { return value; }
  static U32 Decode(U32 field) { return field; }
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ENCODERS_X64_H_
