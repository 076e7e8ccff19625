#include "reference/relocation.h"

#include "absl/strings/str_format.h"
#include "reference/byte_io.h"
#include "reference/encoders/arm64.h"
#include "reference/encoders/x64.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

using X64Call = X64Rel32<NativeDomain>;
using X64Ext = X64Imm64<NativeDomain>;
using Arm64Branch = Arm64BranchImm26<NativeDomain>;
using Arm64Ldr = Arm64LdrLiteral<NativeDomain>;

absl::Status SiteError(const RelocEntry& entry, uint64_t code_file_offset,
                       std::string_view what) {
  return MalformedError(
      section::kReloc,
      absl::StrFormat("%s at pc 0x%x: %s", RelocModeName(entry.mode), entry.pc,
                      what),
      code_file_offset + entry.pc);
}

// A value of `size` bytes at `offset` lies inside the code.
bool FieldInside(absl::Span<const uint8_t> code, uint64_t offset,
                 uint64_t size) {
  return offset <= code.size() && size <= code.size() - offset;
}

absl::StatusOr<Site> Field(absl::Span<const uint8_t> code,
                           const RelocEntry& entry, uint64_t code_file_offset,
                           SiteForm form, uint64_t offset, uint32_t size) {
  if (!FieldInside(code, offset, size)) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("%d-byte field at 0x%x outside the %d "
                                     "instruction bytes",
                                     size, offset, code.size()));
  }
  return Site{form, static_cast<uint32_t>(offset), size, entry.pc};
}

uint32_t LoadLe32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, ByteOrder::kLittle));
}

absl::StatusOr<Site> LocateX64(absl::Span<const uint8_t> code,
                               const RelocEntry& entry,
                               uint64_t code_file_offset) {
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
      return Field(code, entry, code_file_offset, SiteForm::kX64Rel32,
                   entry.pc, 4);
    case RelocMode::kExternalReference:
      return Field(code, entry, code_file_offset, SiteForm::kX64Imm64Tag32,
                   entry.pc, 8);
    case RelocMode::kInternalReference:
      return Field(code, entry, code_file_offset, SiteForm::kAbsolute64,
                   entry.pc, 8);
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      return Field(code, entry, code_file_offset, SiteForm::kImm32, entry.pc,
                   4);
    default:
      return SiteError(entry, code_file_offset, "mode not used on x64");
  }
}

absl::StatusOr<Site> LocateArm64(absl::Span<const uint8_t> code,
                                 const RelocEntry& entry,
                                 uint64_t code_file_offset) {
  if (entry.mode == RelocMode::kInternalReference) {
    return Field(code, entry, code_file_offset, SiteForm::kAbsolute64,
                 entry.pc, 8);
  }
  if (entry.pc % 4 != 0) {
    return SiteError(entry, code_file_offset, "instruction not 4-aligned");
  }
  if (!FieldInside(code, entry.pc, 4)) {
    return SiteError(entry, code_file_offset, "instruction outside the code");
  }
  const uint32_t insn = LoadLe32(code.data() + entry.pc);
  auto pool_slot = [&](uint32_t size) -> absl::StatusOr<Site> {
    // The slot offset is computed in 64 bits; a negative one wraps high and
    // fails the inside check.
    const uint64_t slot = Arm64Ldr::SlotAddress(insn, entry.pc);
    return Field(code, entry, code_file_offset,
                 size == 8 ? SiteForm::kAbsolute64 : SiteForm::kImm32, slot,
                 size);
  };
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
      if (Arm64Branch::IsBranch(insn)) {
        return Site{SiteForm::kArm64Branch, entry.pc, 4, entry.pc};
      }
      if (Arm64Ldr::IsLdrX(insn)) return pool_slot(8);
      return SiteError(entry, code_file_offset,
                       absl::StrFormat("instruction 0x%08x is neither b/bl "
                                       "nor ldr x literal",
                                       insn));
    case RelocMode::kExternalReference:
      if (Arm64Ldr::IsLdrX(insn)) return pool_slot(8);
      return SiteError(
          entry, code_file_offset,
          absl::StrFormat("instruction 0x%08x is not ldr x literal", insn));
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      if (Arm64Ldr::IsLdrW(insn)) return pool_slot(4);
      return SiteError(
          entry, code_file_offset,
          absl::StrFormat("instruction 0x%08x is not ldr w literal", insn));
    default:
      return SiteError(entry, code_file_offset, "mode not used on arm64");
  }
}

uint64_t LoadField(const uint8_t* code, const Site& site) {
  return LoadUnaligned(code + site.field_offset, site.field_size,
                       ByteOrder::kLittle);
}

void StoreField(uint8_t* code, const Site& site, uint64_t value) {
  StoreUnaligned(code + site.field_offset, value, site.field_size,
                 ByteOrder::kLittle);
}

}  // namespace

absl::StatusOr<Site> LocateSite(Arch arch, absl::Span<const uint8_t> code,
                                const RelocEntry& entry,
                                uint64_t code_file_offset) {
  switch (arch) {
    case Arch::kX64:
      return LocateX64(code, entry, code_file_offset);
    case Arch::kArm64:
      return LocateArm64(code, entry, code_file_offset);
    default:
      return absl::UnimplementedError(FormatError(
          section::kReloc,
          absl::StrFormat("relocation forms of %s are not implemented yet",
                          ArchName(arch)),
          code_file_offset + entry.pc));
  }
}

bool ModeUsedOnTarget(Arch arch, RelocMode mode) {
  switch (arch) {
    case Arch::kX64:
      return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool &&
             mode != RelocMode::kInternalReferenceEncoded;
    case Arch::kArm64:
      return mode != RelocMode::kInternalReferenceEncoded;
    default:
      return true;
  }
}

bool TagFitsForm(Arch arch, const Site& site, uint64_t tag) {
  (void)arch;
  switch (site.form) {
    case SiteForm::kArm64Branch:
      return tag <= 0xffffffff &&
             Arm64Branch::TagInRange(static_cast<uint32_t>(tag));
    case SiteForm::kX64Rel32:
    case SiteForm::kX64Imm64Tag32:
    case SiteForm::kImm32:
      return tag <= 0xffffffff;
    case SiteForm::kAbsolute64:
      return true;
  }
  return false;
}

uint64_t ReadTag(Arch arch, const uint8_t* code, const Site& site) {
  (void)arch;
  const uint64_t field = LoadField(code, site);
  switch (site.form) {
    case SiteForm::kArm64Branch:
      return Arm64Branch::DecodeTag(static_cast<uint32_t>(field));
    case SiteForm::kX64Imm64Tag32:
      return X64Ext::DecodeTag(field);
    case SiteForm::kX64Rel32:
    case SiteForm::kImm32:
    case SiteForm::kAbsolute64:
      return field;
  }
  return 0;
}

bool WriteTag(Arch arch, uint8_t* code, const Site& site, uint64_t tag) {
  if (!TagFitsForm(arch, site, tag)) return false;
  switch (site.form) {
    case SiteForm::kArm64Branch: {
      const auto insn = static_cast<uint32_t>(LoadField(code, site));
      StoreField(code, site,
                 Arm64Branch::EncodeTag(insn, static_cast<uint32_t>(tag)));
      return true;
    }
    case SiteForm::kX64Imm64Tag32:
      StoreField(code, site, X64Ext::EncodeTag(static_cast<uint32_t>(tag)));
      return true;
    case SiteForm::kX64Rel32:
    case SiteForm::kImm32:
    case SiteForm::kAbsolute64:
      StoreField(code, site, tag);
      return true;
  }
  return false;
}

uint64_t ReadTarget(Arch arch, const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  (void)arch;
  const uint64_t field = LoadField(code, site);
  const uint64_t site_address = code_address + site.field_offset;
  switch (site.form) {
    case SiteForm::kX64Rel32:
      return X64Call::Decode(site_address, static_cast<uint32_t>(field));
    case SiteForm::kArm64Branch:
      return Arm64Branch::Decode(static_cast<uint32_t>(field), site_address);
    case SiteForm::kX64Imm64Tag32:
    case SiteForm::kImm32:
    case SiteForm::kAbsolute64:
      return field;
  }
  return 0;
}

bool WriteTarget(Arch arch, uint8_t* code, uint64_t code_address,
                 const Site& site, uint64_t target) {
  (void)arch;
  const uint64_t site_address = code_address + site.field_offset;
  switch (site.form) {
    case SiteForm::kX64Rel32:
      if (!X64Call::InRange(site_address, target)) return false;
      StoreField(code, site, X64Call::Encode(site_address, target));
      return true;
    case SiteForm::kArm64Branch: {
      if (!Arm64Branch::InRange(site_address, target)) return false;
      const auto insn = static_cast<uint32_t>(LoadField(code, site));
      StoreField(code, site, Arm64Branch::Encode(insn, site_address, target));
      return true;
    }
    case SiteForm::kImm32:
      if (target > 0xffffffff) return false;
      StoreField(code, site, target);
      return true;
    case SiteForm::kX64Imm64Tag32:
    case SiteForm::kAbsolute64:
      StoreField(code, site, target);
      return true;
  }
  return false;
}

}  // namespace wasmcache::reference
