#include "spec/wire_reader.h"

namespace wasmcache {
namespace {

constexpr uint8_t kRefNull = 0x63;
constexpr uint8_t kRef = 0x64;

// Reads a heap type; records whether it names a concrete type index.
absl::Status ReadHeapType(WireReader& r, uint32_t num_types_limit,
                          bool& references_index) {
  const size_t at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint64_t raw, r.Leb("heap type", 33, true));
  const auto value = static_cast<int64_t>(raw);
  if (value >= 0) {
    if (static_cast<uint64_t>(value) >= num_types_limit) {
      return r.Malformed(absl::StrFormat("type index %d out of range", value),
                         at);
    }
    references_index = true;
    return absl::OkStatus();
  }
  const auto shorthand = static_cast<uint8_t>(value & 0x7f);
  if (!IsAbstractHeapTypeByte(shorthand)) {
    return r.Malformed(absl::StrFormat("unknown heap type 0x%x", shorthand),
                       at);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadValueType(WireReader& r, uint32_t num_types_limit,
                           bool allow_packed, bool& references_index) {
  const size_t at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint8_t code, r.U8("value type"));
  switch (code) {
    case 0x7f:  // i32
    case 0x7e:  // i64
    case 0x7d:  // f32
    case 0x7c:  // f64
    case 0x7b:  // v128
      return absl::OkStatus();
    case 0x78:  // i8
    case 0x77:  // i16
      if (allow_packed) return absl::OkStatus();
      break;
    case kRef:
    case kRefNull:
      return ReadHeapType(r, num_types_limit, references_index);
    default:
      if (IsAbstractHeapTypeByte(code)) return absl::OkStatus();
      break;
  }
  return r.Malformed(absl::StrFormat("unknown value type 0x%x", code), at);
}

absl::Status SkipValueType(WireReader& r) {
  bool references_index = false;
  return ReadValueType(r, ~uint32_t{0}, false, references_index);
}

absl::Status ReadLimits(WireReader& r) {
  const size_t at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint8_t flags, r.U8("limits flags"));
  if (flags & ~0x0fu) {
    return r.Malformed(absl::StrFormat("unknown limits flags 0x%x", flags), at);
  }
  const int bits = (flags & 0x04) ? 64 : 32;
  WASMCACHE_RETURN_IF_ERROR(r.Leb("minimum", bits, false).status());
  if (flags & 0x01) {
    WASMCACHE_RETURN_IF_ERROR(r.Leb("maximum", bits, false).status());
  }
  if (flags & 0x08) {
    WASMCACHE_RETURN_IF_ERROR(r.U32("page size").status());
  }
  return absl::OkStatus();
}

}  // namespace wasmcache
