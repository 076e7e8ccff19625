#include "reference/relocation.h"

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "spec/errors.h"

namespace wasmcache::reference {

absl::StatusOr<Site> LocateSite(Arch arch, absl::Span<const uint8_t> code,
                                const RelocEntry& entry,
                                uint64_t code_file_offset,
                                uint32_t constant_pool_offset) {
  const ArchCodec& codec = CodecOf(arch);
  if (!codec.sites_implemented()) {
    return absl::UnimplementedError(FormatError(
        section::kReloc,
        absl::StrFormat("relocation forms of %s are not implemented yet",
                        ArchName(arch)),
        code_file_offset + entry.pc));
  }
  if (codec.locate_site_with_pool != nullptr &&
      constant_pool_offset != kNoConstantPool) {
    return codec.locate_site_with_pool(code, entry, code_file_offset,
                                       constant_pool_offset);
  }
  return codec.locate_site(code, entry, code_file_offset);
}

bool ModeUsedOnTarget(Arch arch, RelocMode mode) {
  const ArchCodec& codec = CodecOf(arch);
  return codec.mode_used == nullptr || codec.mode_used(mode);
}

bool TagFitsForm(Arch arch, const Site& site, uint64_t tag) {
  return CodecOf(arch).tag_fits(site, tag);
}

uint64_t ReadTag(Arch arch, const uint8_t* code, const Site& site) {
  return CodecOf(arch).read_tag(code, site);
}

bool WriteTag(Arch arch, uint8_t* code, const Site& site, uint64_t tag) {
  const ArchCodec& codec = CodecOf(arch);
  if (!codec.tag_fits(site, tag)) return false;
  codec.write_tag(code, site, tag);
  return true;
}

uint64_t ReadTarget(Arch arch, const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  return CodecOf(arch).read_target(code, code_address, site);
}

bool WriteTarget(Arch arch, uint8_t* code, uint64_t code_address,
                 const Site& site, uint64_t target) {
  return CodecOf(arch).write_target(code, code_address, site, target);
}

}  // namespace wasmcache::reference
