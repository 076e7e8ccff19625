// Bounds-checked reading and writing of a target's bytes.
//
// The cache is written in the byte order and word size of the target it was
// made for, not of the host that reads it. ByteReader and ByteWriter take
// both as parameters, so every target is read and written the same way on
// every host. A read past the end is a status (kOutOfRange) naming the
// section, the field and the offset; it never touches memory outside the
// input.
//
// LoadLe/StoreLe style helpers at the end patch fields inside a code buffer
// whose bounds the caller has already checked.

#ifndef WASMCACHE_REFERENCE_BYTE_IO_H_
#define WASMCACHE_REFERENCE_BYTE_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spec/arch.h"

namespace wasmcache::reference {

class ByteReader {
 public:
  ByteReader(absl::Span<const uint8_t> data, ByteOrder order,
             uint32_t word_size)
      : data_(data), order_(order), word_size_(word_size) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return data_.size() - offset_; }
  size_t size() const { return data_.size(); }
  ByteOrder order() const { return order_; }
  uint32_t word_size() const { return word_size_; }

  // Section named in error messages until changed.
  void set_section(std::string_view section) { section_ = section; }
  std::string_view section() const { return section_; }

  absl::StatusOr<uint8_t> U8(std::string_view what);
  absl::StatusOr<uint32_t> U32(std::string_view what);
  absl::StatusOr<int32_t> I32(std::string_view what);
  // sizeof(size_t) of the target, zero-extended.
  absl::StatusOr<uint64_t> Word(std::string_view what);
  // A view of the next `count` bytes (no copy).
  absl::StatusOr<absl::Span<const uint8_t>> Bytes(size_t count,
                                                  std::string_view what);

 private:
  absl::Status Need(size_t count, std::string_view what) const;
  uint64_t ReadUnchecked(size_t count);

  absl::Span<const uint8_t> data_;
  ByteOrder order_;
  uint32_t word_size_;
  size_t offset_ = 0;
  std::string_view section_ = "input";
};

class ByteWriter {
 public:
  ByteWriter(ByteOrder order, uint32_t word_size)
      : order_(order), word_size_(word_size) {}

  void Reserve(size_t size) { bytes_.reserve(size); }
  void U8(uint8_t value) { bytes_.push_back(value); }
  void U32(uint32_t value) { WriteUnchecked(value, 4); }
  void I32(int32_t value) { WriteUnchecked(static_cast<uint32_t>(value), 4); }
  void Word(uint64_t value) { WriteUnchecked(value, word_size_); }
  void Bytes(absl::Span<const uint8_t> bytes) {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  }

  size_t size() const { return bytes_.size(); }
  ByteOrder order() const { return order_; }
  uint32_t word_size() const { return word_size_; }
  std::vector<uint8_t>& bytes() { return bytes_; }
  std::vector<uint8_t> Release() { return std::move(bytes_); }

 private:
  void WriteUnchecked(uint64_t value, size_t count);

  ByteOrder order_;
  uint32_t word_size_;
  std::vector<uint8_t> bytes_;
};

// Reads a layout described by a spec/layout.h field table. Stops at the
// first failing field and returns its status.
class LayoutReader {
 public:
  explicit LayoutReader(ByteReader& reader) : reader_(reader) {}

  void U8(std::string_view name, uint8_t& field) { Read(field, reader_.U8(name)); }
  void U32(std::string_view name, uint32_t& field) { Read(field, reader_.U32(name)); }
  void I32(std::string_view name, int32_t& field) { Read(field, reader_.I32(name)); }
  void Word(std::string_view name, uint64_t& field) { Read(field, reader_.Word(name)); }
  void Blob(std::string_view name, std::string& field);
  void Bytes(std::string_view name, std::vector<uint8_t>& field, size_t count);

  const absl::Status& status() const { return status_; }

 private:
  template <class T, class S>
  void Read(T& field, S result) {
    if (!status_.ok()) return;
    if (!result.ok()) {
      status_ = result.status();
      return;
    }
    field = *result;
  }

  ByteReader& reader_;
  absl::Status status_;
};

// Writes a layout described by a spec/layout.h field table.
class LayoutWriter {
 public:
  explicit LayoutWriter(ByteWriter& writer) : writer_(writer) {}

  void U8(std::string_view, const uint8_t& field) { writer_.U8(field); }
  void U32(std::string_view, const uint32_t& field) { writer_.U32(field); }
  void I32(std::string_view, const int32_t& field) { writer_.I32(field); }
  void Word(std::string_view, const uint64_t& field) { writer_.Word(field); }
  void Blob(std::string_view, const std::string& field);
  void Bytes(std::string_view, const std::vector<uint8_t>& field, size_t count);

 private:
  ByteWriter& writer_;
};

template <class H, class... Context>
absl::Status ReadLayout(ByteReader& reader, H& h, Context... context) {
  LayoutReader v(reader);
  VisitFields(v, h, context...);
  return v.status();
}

template <class H, class... Context>
void WriteLayout(ByteWriter& writer, const H& h, Context... context) {
  LayoutWriter v(writer);
  VisitFields(v, h, context...);
}

// Unaligned loads and stores of `count` (1..8) bytes in a byte order.
uint64_t LoadUnaligned(const uint8_t* at, size_t count, ByteOrder order);
void StoreUnaligned(uint8_t* at, uint64_t value, size_t count, ByteOrder order);

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_BYTE_IO_H_
