#include "reference/byte_io.h"

#include <limits>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::reference {

uint64_t LoadUnaligned(const uint8_t* at, size_t count, ByteOrder order) {
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t index = order == ByteOrder::kLittle ? count - 1 - i : i;
    value = (value << 8) | at[index];
  }
  return value;
}

void StoreUnaligned(uint8_t* at, uint64_t value, size_t count,
                    ByteOrder order) {
  for (size_t i = 0; i < count; ++i) {
    const size_t index = order == ByteOrder::kLittle ? i : count - 1 - i;
    at[index] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

absl::Status ByteReader::Need(size_t count, std::string_view what) const {
  if (count <= remaining()) return absl::OkStatus();
  return TruncatedError(
      section_,
      absl::StrFormat("%s needs %d bytes but %d remain", what, count,
                      remaining()),
      offset_);
}

uint64_t ByteReader::ReadUnchecked(size_t count) {
  const uint64_t value = LoadUnaligned(data_.data() + offset_, count, order_);
  offset_ += count;
  return value;
}

absl::StatusOr<uint8_t> ByteReader::U8(std::string_view what) {
  WASMCACHE_RETURN_IF_ERROR(Need(1, what));
  return static_cast<uint8_t>(ReadUnchecked(1));
}

absl::StatusOr<uint32_t> ByteReader::U32(std::string_view what) {
  WASMCACHE_RETURN_IF_ERROR(Need(4, what));
  return static_cast<uint32_t>(ReadUnchecked(4));
}

absl::StatusOr<int32_t> ByteReader::I32(std::string_view what) {
  WASMCACHE_RETURN_IF_ERROR(Need(4, what));
  return static_cast<int32_t>(static_cast<uint32_t>(ReadUnchecked(4)));
}

absl::StatusOr<uint64_t> ByteReader::Word(std::string_view what) {
  WASMCACHE_RETURN_IF_ERROR(Need(word_size_, what));
  return ReadUnchecked(word_size_);
}

absl::StatusOr<absl::Span<const uint8_t>> ByteReader::Bytes(
    size_t count, std::string_view what) {
  WASMCACHE_RETURN_IF_ERROR(Need(count, what));
  absl::Span<const uint8_t> view = data_.subspan(offset_, count);
  offset_ += count;
  return view;
}

void ByteWriter::WriteUnchecked(uint64_t value, size_t count) {
  const size_t at = bytes_.size();
  bytes_.resize(at + count);
  StoreUnaligned(bytes_.data() + at, value, count, order_);
}

void LayoutReader::Blob(std::string_view name, std::string& field) {
  if (!status_.ok()) return;
  absl::StatusOr<uint32_t> length = reader_.U32(name);
  if (!length.ok()) {
    status_ = length.status();
    return;
  }
  absl::StatusOr<absl::Span<const uint8_t>> bytes =
      reader_.Bytes(*length, name);
  if (!bytes.ok()) {
    status_ = bytes.status();
    return;
  }
  field.assign(bytes->begin(), bytes->end());
}

void LayoutReader::Bytes(std::string_view name, std::vector<uint8_t>& field,
                         size_t count) {
  if (!status_.ok()) return;
  absl::StatusOr<absl::Span<const uint8_t>> bytes = reader_.Bytes(count, name);
  if (!bytes.ok()) {
    status_ = bytes.status();
    return;
  }
  field.assign(bytes->begin(), bytes->end());
}

void LayoutWriter::Blob(std::string_view, const std::string& field) {
  writer_.U32(static_cast<uint32_t>(field.size()));
  writer_.Bytes(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(field.data()), field.size()));
}

void LayoutWriter::Bytes(std::string_view, const std::vector<uint8_t>& field,
                         size_t count) {
  // The count comes from the module; a model whose vector disagrees is a
  // programming error caught before serialization starts.
  (void)count;
  writer_.Bytes(field);
}

}  // namespace wasmcache::reference
