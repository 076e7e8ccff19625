// Reading wasm wire bytes: a bounds-checked reader of LEB128 numbers,
// bytes and names over a window of the module, and the small grammar
// pieces (value types, limits) that both the module-info decoder and the
// names provider step over.
//
// Offsets in errors are offsets in the whole wire bytes. A read past the
// window's end is kOutOfRange (truncated) or kDataLoss (a field overrunning
// the section that declared its size), as the window was made.

#ifndef WASMCACHE_SPEC_WIRE_READER_H_
#define WASMCACHE_SPEC_WIRE_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "spec/errors.h"

namespace wasmcache {

// Reads [offset, end) of the wire bytes.
class WireReader {
 public:
  WireReader(absl::Span<const uint8_t> wire, size_t offset, size_t end,
         absl::StatusCode past_end)
      : wire_(wire), offset_(offset), end_(end), past_end_(past_end) {}

  size_t offset() const { return offset_; }
  size_t end() const { return end_; }
  size_t remaining() const { return end_ - offset_; }
  bool done() const { return offset_ == end_; }

  absl::StatusOr<uint8_t> U8(std::string_view what) {
    if (offset_ >= end_) return PastEnd(what, offset_);
    return wire_[offset_++];
  }

  // LEB128 of at most `bits` bits; the unused bits of the last byte must be
  // a zero (or, signed, a sign) extension.
  absl::StatusOr<uint64_t> Leb(std::string_view what, int bits,
                               bool is_signed) {
    const size_t start = offset_;
    uint64_t value = 0;
    int shift = 0;
    const int max_bytes = (bits + 6) / 7;
    for (int i = 0; i < max_bytes; ++i) {
      WASMCACHE_ASSIGN_OR_RETURN(const uint8_t byte, U8(what));
      value |= uint64_t{byte & 0x7fu} << shift;
      shift += 7;
      if (byte & 0x80) continue;
      const int used = bits - (shift - 7);
      if (used < 7) {
        const uint8_t extra = static_cast<uint8_t>(byte & 0x7f) >> used;
        const uint8_t ones = static_cast<uint8_t>(0x7f >> used);
        const bool sign = is_signed && ((byte >> (used - 1)) & 1);
        if (extra != (sign ? ones : 0)) {
          return Malformed(absl::StrFormat("%s: LEB128 out of range", what),
                           start);
        }
      }
      if (is_signed && shift < 64 && (byte & 0x40))
        value |= ~uint64_t{0} << shift;
      return value;
    }
    return Malformed(absl::StrFormat("%s: LEB128 too long", what), start);
  }

  absl::StatusOr<uint32_t> U32(std::string_view what) {
    // One byte below 0x80 is the whole LEB128 (the common case: type
    // indices of the function section, one per function).
    if (offset_ < end_ && wire_[offset_] < 0x80) return wire_[offset_++];
    WASMCACHE_ASSIGN_OR_RETURN(const uint64_t value, Leb(what, 32, false));
    return static_cast<uint32_t>(value);
  }

  // A length-prefixed byte string; an error names the length field.
  absl::StatusOr<std::string_view> Name(std::string_view what) {
    const size_t at = offset_;
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t length, U32(what));
    if (length > remaining()) {
      return PastEnd(absl::StrFormat("%s of %d bytes", what, length), at);
    }
    const char* start = reinterpret_cast<const char*>(wire_.data() + offset_);
    offset_ += length;
    return std::string_view(start, length);
  }

  absl::Status Skip(size_t count, std::string_view what) {
    if (count > remaining()) return PastEnd(what, offset_);
    offset_ += count;
    return absl::OkStatus();
  }

  // A reader of the next `length` bytes, which must lie inside this one.
  absl::StatusOr<WireReader> Sub(uint32_t length, absl::StatusCode past_end,
                             std::string_view what, size_t length_at) {
    if (length > remaining()) {
      return PastEnd(absl::StrFormat("%s of %d bytes", what, length),
                     length_at);
    }
    return WireReader(wire_, offset_, offset_ + length, past_end);
  }

  absl::Status PastEnd(std::string_view what, size_t at) const {
    const std::string message = absl::StrFormat("%s truncated", what);
    if (past_end_ == absl::StatusCode::kOutOfRange) {
      return TruncatedError(section::kWasm, message, at);
    }
    return MalformedError(section::kWasm, message, at);
  }
  absl::Status Malformed(std::string_view what, size_t at) const {
    return MalformedError(section::kWasm, what, at);
  }

 private:
  absl::Span<const uint8_t> wire_;
  size_t offset_;
  size_t end_;
  absl::StatusCode past_end_;
};

// One-byte shorthands of abstract heap types (funcref .. nullexnref and the
// newer ones V8 13.6 knows).
inline bool IsAbstractHeapTypeByte(uint8_t byte) {
  return byte >= 0x65 && byte <= 0x74;
}

// Reads a value type. A concrete heap type must name a type below
// `num_types_limit`; `references_index` is set if it names one. Packed
// types (i8, i16) only where `allow_packed` (struct and array fields).
absl::Status ReadValueType(WireReader& r, uint32_t num_types_limit,
                           bool allow_packed, bool& references_index);
// A value type whose type indices are not checked.
absl::Status SkipValueType(WireReader& r);
// Table or memory limits (flags, minimum, maximum, page size).
absl::Status ReadLimits(WireReader& r);

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_WIRE_READER_H_
