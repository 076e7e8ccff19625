// x64 encoders of the fast implementation (word-domain templates).
//
// Every x64 form is a little-endian field at the site; the forms differ only
// in width, in whether the value is relative to the end of the field, and
// in how many bits of a tag the field carries. One table row per form says
// so, and one encoder serves all rows:
//
//   value(target) = target - (relative ? site + width : 0)
//   in range      = relative ? value fits int32 : value fits the width
//   decode(field) = (relative ? site + width + sext32(field) : field)

#ifndef WASMCACHE_FAST_ENCODERS_X64_H_
#define WASMCACHE_FAST_ENCODERS_X64_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache::fast {

struct X64FormRow {
  uint8_t width;      // bytes of the field: 4 or 8
  bool relative;      // pc-relative to the end of the field
  uint8_t tag_bits;   // bits of the field a tag occupies (32 or 64)
};

// Form ids index this table.
enum X64Form : uint8_t { kX64Rel32 = 0, kX64Imm32, kX64Abs64, kX64ExtRef64 };
inline constexpr X64FormRow kX64Forms[] = {
    {4, true, 32},   // call/jmp rel32
    {4, false, 32},  // imm32 (signature id, code-pointer handle)
    {8, false, 64},  // absolute address (internal reference)
    {8, false, 32},  // imm64 whose low 32 bits hold the tag (external ref)
};

template <class D>
struct X64Field {
  using U64 = typename D::U64;
  // Field bits holding `target` at `site`; meaningful when InRange.
  static U64 Encode(const X64FormRow& row, U64 site, U64 target) {
    const U64 bias = row.relative ? D::Add(site, D::C64(row.width)) : D::C64(0);
    return D::Sub(target, bias);
  }
  static typename D::Bool InRange(const X64FormRow& row, U64 site, U64 target) {
    const U64 value = Encode(row, site, target);
    if (row.relative) return FitsSigned<D>(value, 32);
    return row.width == 8 ? D::True() : FitsUnsigned<D>(value, 32);
  }
  // `field` is the zero-extended content of the field.
  static U64 Decode(const X64FormRow& row, U64 site, U64 field) {
    if (!row.relative) return field;
    return D::Add(D::Add(site, D::C64(row.width)),
                  SignExtendLow<D>(field, 32));
  }
  static typename D::Bool TagFits(const X64FormRow& row, U64 tag) {
    return row.tag_bits == 64 ? D::True() : FitsUnsigned<D>(tag, 32);
  }
  static U64 EncodeTag(const X64FormRow& row, U64 tag) {
    return row.tag_bits == 64 ? tag : D::And(tag, D::C64(0xffffffff));
  }
  static U64 DecodeTag(const X64FormRow& row, U64 field) {
    return row.tag_bits == 64 ? field : D::And(field, D::C64(0xffffffff));
  }
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_X64_H_
