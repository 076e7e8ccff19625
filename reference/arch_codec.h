// What one target contributes to relocation and jump tables.
//
// Every target has one ArchCodec, defined in reference/arch/<target>.cc:
// how the sites of its relocation modes are found in code (and which
// instruction forms are accepted there), how a site holds a tag on disk
// and a real address in code space, and the bytes of its jump-table slots.
// reference/relocation.h and reference/jump_table.h dispatch to it; a target
// whose codec leaves a function null has that part unimplemented
// (kUnimplemented from LocateSite, no code manager for it).
//
// Multi-byte fields are in the target's byte order (TraitsOf(arch)), on any
// host.

#ifndef WASMCACHE_REFERENCE_ARCH_CODEC_H_
#define WASMCACHE_REFERENCE_ARCH_CODEC_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "reference/relocation.h"
#include "reference/reloc_stream.h"
#include "spec/arch.h"

namespace wasmcache::reference {

struct ArchCodec {
  Arch arch;

  // --- Relocation sites ---------------------------------------------------
  // Whether V8 13.6 emits `mode` in wasm code for this target.
  bool (*mode_used)(RelocMode mode) = nullptr;
  // Finds and checks the site of a serializer-patched entry (kDataLoss,
  // with `code_file_offset` + offset in errors).
  absl::StatusOr<Site> (*locate_site)(absl::Span<const uint8_t> code,
                                      const RelocEntry& entry,
                                      uint64_t code_file_offset) = nullptr;
  // Targets with embedded constant pools (ppc64) locate pool loads through
  // the function's constant_pool_offset; null elsewhere.
  absl::StatusOr<Site> (*locate_site_with_pool)(
      absl::Span<const uint8_t> code, const RelocEntry& entry,
      uint64_t code_file_offset, uint32_t constant_pool_offset) = nullptr;
  // Whether the form can hold `tag` on disk.
  bool (*tag_fits)(const Site& site, uint64_t tag) = nullptr;
  uint64_t (*read_tag)(const uint8_t* code, const Site& site) = nullptr;
  // Writes a tag in canonical form (only called when tag_fits).
  void (*write_tag)(uint8_t* code, const Site& site, uint64_t tag) = nullptr;
  uint64_t (*read_target)(const uint8_t* code, uint64_t code_address,
                          const Site& site) = nullptr;
  // False, writing nothing, if the target is out of the form's reach.
  bool (*write_target)(uint8_t* code, uint64_t code_address,
                       const Site& site, uint64_t target) = nullptr;

  // --- Jump-table slots (sizes in spec/arch.h) -----------------------------
  // False, writing nothing, if the target is out of the near slot's reach.
  bool (*write_near_slot)(uint8_t* slot, uint64_t slot_address,
                          uint64_t target) = nullptr;
  void (*write_far_slot)(uint8_t* slot, uint64_t slot_address,
                         uint64_t target) = nullptr;
  bool (*write_lazy_slot)(uint8_t* slot, uint64_t slot_address,
                          uint32_t function_index, uint64_t target) = nullptr;
  std::optional<uint64_t> (*read_near_slot)(const uint8_t* slot,
                                            uint64_t slot_address) = nullptr;
  std::optional<uint64_t> (*read_far_slot)(const uint8_t* slot,
                                           uint64_t slot_address) = nullptr;

  bool sites_implemented() const { return locate_site != nullptr; }
  bool jump_tables_implemented() const { return write_near_slot != nullptr; }
};

// The codec of each target (reference/arch/<target>.cc).
extern const ArchCodec kX64Codec;
extern const ArchCodec kIa32Codec;
extern const ArchCodec kArm64Codec;
extern const ArchCodec kArmCodec;
extern const ArchCodec kRiscv64Codec;
extern const ArchCodec kRiscv32Codec;
extern const ArchCodec kMips64Codec;
extern const ArchCodec kPpc64Codec;
extern const ArchCodec kS390xCodec;
extern const ArchCodec kLoong64Codec;

const ArchCodec& CodecOf(Arch arch);

// Helpers shared by the codecs.

// A field of `size` bytes at `offset` lies inside the code.
inline bool FieldInside(absl::Span<const uint8_t> code, uint64_t offset,
                        uint64_t size) {
  return offset <= code.size() && size <= code.size() - offset;
}

// kDataLoss "reloc: <MODE> at pc 0x..: <what>" at code + pc.
absl::Status SiteError(const RelocEntry& entry, uint64_t code_file_offset,
                       std::string_view what);

// A site whose value is `size` bytes at `offset`, checked to lie inside the
// code.
absl::StatusOr<Site> FieldSite(absl::Span<const uint8_t> code,
                               const RelocEntry& entry,
                               uint64_t code_file_offset, SiteForm form,
                               uint64_t offset, uint32_t size);

// Loads and stores of a site's field in a byte order.
uint64_t LoadSiteField(const uint8_t* code, const Site& site, ByteOrder order);
void StoreSiteField(uint8_t* code, const Site& site, uint64_t value,
                    ByteOrder order);

// Stores a whole slot word with one aligned store when possible, so code
// running concurrently sees the old or the new slot (sizes 4 and 8).
void StoreSlotWord(uint8_t* at, const uint8_t* bytes, size_t size);

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_ARCH_CODEC_H_
