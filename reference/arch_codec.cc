#include "reference/arch_codec.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/byte_io.h"
#include "spec/errors.h"

namespace wasmcache::reference {

const ArchCodec& CodecOf(Arch arch) {
  switch (arch) {
    case Arch::kX64:
      return kX64Codec;
    case Arch::kIa32:
      return kIa32Codec;
    case Arch::kArm64:
      return kArm64Codec;
    case Arch::kArm:
      return kArmCodec;
    case Arch::kRiscv64:
      return kRiscv64Codec;
    case Arch::kRiscv32:
      return kRiscv32Codec;
    case Arch::kMips64:
      return kMips64Codec;
    case Arch::kPpc64:
      return kPpc64Codec;
    case Arch::kS390x:
      return kS390xCodec;
    case Arch::kLoong64:
      return kLoong64Codec;
  }
  return kX64Codec;
}

absl::Status SiteError(const RelocEntry& entry, uint64_t code_file_offset,
                       std::string_view what) {
  return MalformedError(
      section::kReloc,
      absl::StrFormat("%s at pc 0x%x: %s", RelocModeName(entry.mode), entry.pc,
                      what),
      code_file_offset + entry.pc);
}

absl::StatusOr<Site> FieldSite(absl::Span<const uint8_t> code,
                               const RelocEntry& entry,
                               uint64_t code_file_offset, SiteForm form,
                               uint64_t offset, uint32_t size) {
  if (!FieldInside(code, offset, size)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("%d-byte field at 0x%x outside the %d "
                                     "instruction bytes",
                                     size, offset, code.size()));
  }
  Site site;
  site.form = form;
  site.field_offset = static_cast<uint32_t>(offset);
  site.field_size = size;
  site.pc = entry.pc;
  return site;
}

uint64_t LoadSiteField(const uint8_t* code, const Site& site,
                       ByteOrder order) {
  return LoadUnaligned(code + site.field_offset, site.field_size, order);
}

void StoreSiteField(uint8_t* code, const Site& site, uint64_t value,
                    ByteOrder order) {
  StoreUnaligned(code + site.field_offset, value, site.field_size, order);
}

void StoreSlotWord(uint8_t* at, const uint8_t* bytes, size_t size) {
  if (size == 8 && reinterpret_cast<uintptr_t>(at) % 8 == 0) {
    uint64_t word;
    std::memcpy(&word, bytes, 8);
    __atomic_store_n(reinterpret_cast<uint64_t*>(at), word, __ATOMIC_RELAXED);
  } else if (size == 4 && reinterpret_cast<uintptr_t>(at) % 4 == 0) {
    uint32_t word;
    std::memcpy(&word, bytes, 4);
    __atomic_store_n(reinterpret_cast<uint32_t*>(at), word, __ATOMIC_RELAXED);
  } else {
    std::memcpy(at, bytes, size);
  }
}

}  // namespace wasmcache::reference
