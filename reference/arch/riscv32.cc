// riscv32: relocation sites and jump-table slots (V8 13.6).
//
// Addresses are 4 bytes: the code manager reserves riscv32 code spaces
// below 4 GiB, and every absolute form holds 32 bits.
//
// Sites (reference/encoders/riscv.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL        auipc rX; jalr ra, lo12(rX) at pc (calls,
//                                    pc-relative, the tag is the byte offset)
//                                    or lui rd; addi rd, rd at pc (tail calls:
//                                    riscv32's li_ptr is lui + addi)
//   EXTERNAL_REFERENCE               lui rd; addi rd, rd (li_ptr)
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    lui rd; addi rd, rd (li_constant)
//   INTERNAL_REFERENCE               4-byte absolute at pc
// As on riscv64: CONST_POOL marks pools of plain constants, no patched mode
// loads from a pool (auipc + lw at a site is rejected), VENEER_POOL and
// INTERNAL_REFERENCE_ENCODED never occur.
//
// Slots: near and far are the same 20 bytes, `auipc t6, 0; lw t6, 16(t6);
// jalr zero, 0(t6); nop; .word target` (any 32-bit target), lazy
// `lui t0, hi20; addi t0, t0, lo12 (function index); jal zero, target`.

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/riscv.h"

namespace wasmcache::reference {
namespace {

using Bits = RiscvBits;
using AuipcJalr = RiscvAuipcJalr<NativeDomain>;
using LuiAddi = RiscvLuiAddi<NativeDomain>;
using Jal = RiscvJal<NativeDomain>;
using Datum = RiscvDatum<NativeDomain, 4>;
constexpr ByteOrder kOrder = ByteOrder::kLittle;

constexpr uint32_t kRa = 1;
constexpr uint32_t kT0 = 5;
constexpr uint32_t kT6 = 31;

// Slot words (jump-table-assembler.cc, riscv32).
constexpr uint32_t kAuipcT6 = Bits::kAuipc | Bits::RdField(kT6);  // imm 0
constexpr uint32_t kLwT6T6Plus16 =
    Bits::kLw | Bits::RdField(kT6) | Bits::Rs1Field(kT6) | (16u << 20);
constexpr uint32_t kJalrZeroT6 = Bits::kJalr | Bits::Rs1Field(kT6);
constexpr uint32_t kLuiT0 = Bits::kLui | Bits::RdField(kT0);
constexpr uint32_t kAddiT0T0 =
    Bits::kAddi | Bits::RdField(kT0) | Bits::Rs1Field(kT0);
constexpr uint32_t kJalZero = Bits::kJal;
constexpr uint32_t kSlotTargetOffset = 16;

uint32_t Word(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
void PutWord(uint8_t* at, uint32_t word) { StoreUnaligned(at, word, 4, kOrder); }

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

constexpr uint32_t SameRegIType(uint32_t opcode_funct3, uint32_t rd) {
  return opcode_funct3 | Bits::RdField(rd) | Bits::Rs1Field(rd);
}

absl::StatusOr<Site> AuipcJalrSite(absl::Span<const uint8_t> code,
                                   const RelocEntry& entry,
                                   uint64_t code_file_offset) {
  if (!FieldInside(code, entry.pc, AuipcJalr::kFieldSize)) {
    return SiteError(entry, code_file_offset,
                     "auipc/jalr pair runs past the instructions");
  }
  const uint32_t auipc = Word(code.data() + entry.pc);
  const uint32_t jalr = Word(code.data() + entry.pc + 4);
  const uint32_t rd = Bits::Rd(auipc);
  if (rd == 0) return SiteError(entry, code_file_offset, "auipc writes x0");
  const uint32_t expected =
      Bits::kJalr | Bits::RdField(kRa) | Bits::Rs1Field(rd);
  if ((jalr & ~Bits::kIImmMask) != expected) {
    return SiteError(
        entry, code_file_offset,
        absl::StrFormat("instruction 0x%08x after auipc x%d is not "
                        "jalr ra, lo12(x%d)",
                        jalr, rd, rd));
  }
  return Site{SiteForm::kRiscvAuipcJalr, entry.pc, AuipcJalr::kFieldSize,
              entry.pc};
}

absl::StatusOr<Site> LuiAddiSite(absl::Span<const uint8_t> code,
                                 const RelocEntry& entry,
                                 uint64_t code_file_offset) {
  if (!FieldInside(code, entry.pc, LuiAddi::kFieldSize)) {
    return SiteError(entry, code_file_offset,
                     "lui/addi pair runs past the instructions");
  }
  const uint32_t lui = Word(code.data() + entry.pc);
  const uint32_t addi = Word(code.data() + entry.pc + 4);
  if (Bits::Opcode(lui) != Bits::kLui) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("instruction 0x%08x is not lui", lui));
  }
  const uint32_t rd = Bits::Rd(lui);
  if (rd == 0) return SiteError(entry, code_file_offset, "lui writes x0");
  if ((addi & ~Bits::kIImmMask) != SameRegIType(Bits::kAddi, rd)) {
    return SiteError(
        entry, code_file_offset,
        absl::StrFormat("instruction 0x%08x after lui x%d is not "
                        "addi x%d, x%d, lo12",
                        addi, rd, rd, rd));
  }
  return Site{SiteForm::kRiscvLuiAddi, entry.pc, LuiAddi::kFieldSize,
              entry.pc};
}

absl::StatusOr<Site> Locate(absl::Span<const uint8_t> code,
                            const RelocEntry& entry,
                            uint64_t code_file_offset) {
  if (entry.pc % 4 != 0) {
    return SiteError(entry, code_file_offset, "pc not 4-aligned");
  }
  if (entry.mode == RelocMode::kInternalReference) {
    return FieldSite(code, entry, code_file_offset, SiteForm::kImm32,
                     entry.pc, 4);
  }
  if (!FieldInside(code, entry.pc, 4)) {
    return SiteError(entry, code_file_offset, "instruction outside the code");
  }
  const uint32_t first = Word(code.data() + entry.pc);
  switch (entry.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
      if (Bits::Opcode(first) == Bits::kAuipc) {
        return AuipcJalrSite(code, entry, code_file_offset);
      }
      if (Bits::Opcode(first) == Bits::kLui) {
        return LuiAddiSite(code, entry, code_file_offset);
      }
      return SiteError(
          entry, code_file_offset,
          absl::StrFormat("instruction 0x%08x is neither auipc nor lui",
                          first));
    case RelocMode::kExternalReference:
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      return LuiAddiSite(code, entry, code_file_offset);
    default:
      return SiteError(entry, code_file_offset, "mode not used on riscv32");
  }
}

bool TagFits(const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kRiscvAuipcJalr:
      return AuipcJalr::TagInRange(tag);
    case SiteForm::kRiscvLuiAddi:
      return LuiAddi::InRange(tag);
    default:  // kImm32
      return Datum::InRange(tag);
  }
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  const uint8_t* at = code + site.field_offset;
  switch (site.form) {
    case SiteForm::kRiscvAuipcJalr:
      return AuipcJalr::DecodeTag(Word(at), Word(at + 4));
    case SiteForm::kRiscvLuiAddi:
      return LuiAddi::Decode(Word(at), Word(at + 4));
    default:
      return Datum::Decode(LoadSiteField(code, site, kOrder));
  }
}

void WriteLuiAddi(uint8_t* at, uint32_t value) {
  PutWord(at, LuiAddi::EncodeLui(Word(at), value));
  PutWord(at + 4, LuiAddi::EncodeAddi(Word(at + 4), value));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  uint8_t* at = code + site.field_offset;
  const auto t = static_cast<uint32_t>(tag);
  switch (site.form) {
    case SiteForm::kRiscvAuipcJalr:
      PutWord(at, AuipcJalr::EncodeTagAuipc(Word(at), t));
      PutWord(at + 4, AuipcJalr::EncodeTagJalr(Word(at + 4), t));
      return;
    case SiteForm::kRiscvLuiAddi:
      WriteLuiAddi(at, t);
      return;
    default:
      StoreSiteField(code, site, Datum::Encode(t), kOrder);
  }
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  const uint8_t* at = code + site.field_offset;
  if (site.form == SiteForm::kRiscvAuipcJalr) {
    return AuipcJalr::Decode32(Word(at), Word(at + 4),
                               code_address + site.field_offset);
  }
  return ReadTag(code, site);
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  uint8_t* at = code + site.field_offset;
  const uint64_t site_address = code_address + site.field_offset;
  switch (site.form) {
    case SiteForm::kRiscvAuipcJalr:
      if (!AuipcJalr::InRange32(site_address, target)) return false;
      PutWord(at, AuipcJalr::EncodeAuipc(Word(at), site_address, target));
      PutWord(at + 4, AuipcJalr::EncodeJalr(Word(at + 4), site_address, target));
      return true;
    case SiteForm::kRiscvLuiAddi:
      if (!LuiAddi::InRange(target)) return false;
      WriteLuiAddi(at, static_cast<uint32_t>(target));
      return true;
    default:  // kImm32
      if (!Datum::InRange(target)) return false;
      StoreSiteField(code, site, Datum::Encode(target), kOrder);
      return true;
  }
}

// Near and far slots are one form: an absolute 4-byte target loaded by lw.
void WriteSlot(uint8_t* slot, uint64_t target) {
  uint8_t prefix[kSlotTargetOffset];
  PutWord(prefix, kAuipcT6);
  PutWord(prefix + 4, kLwT6T6Plus16);
  PutWord(prefix + 8, kJalrZeroT6);
  PutWord(prefix + 12, Bits::kNop);
  if (std::memcmp(slot, prefix, sizeof(prefix)) != 0) {
    std::memcpy(slot, prefix, sizeof(prefix));
  }
  uint8_t bytes[4];
  StoreUnaligned(bytes, target, 4, kOrder);
  StoreSlotWord(slot + kSlotTargetOffset, bytes, 4);
}

bool WriteNearSlot(uint8_t* slot, uint64_t, uint64_t target) {
  if (!Datum::InRange(target)) return false;
  WriteSlot(slot, target);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  // Far targets are builtin entries and slot addresses, which the
  // environment and the code manager keep below 4 GiB on riscv32; the slot
  // holds the 32-bit address.
  WriteSlot(slot, target & 0xffffffff);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address,
                   uint32_t function_index, uint64_t target) {
  // The jal, at slot + 8, and its target lie below 4 GiB (a slot address
  // that wraps past 2^64 is no riscv32 address either).
  const uint64_t jal_address = slot_address + 8;
  if (jal_address < slot_address || !Jal::InRange32(jal_address, target)) {
    return false;
  }
  PutWord(slot, LuiAddi::EncodeLui(kLuiT0, function_index));
  PutWord(slot + 4, LuiAddi::EncodeAddi(kAddiT0T0, function_index));
  PutWord(slot + 8, Jal::Encode(kJalZero, jal_address, target));
  return true;
}

std::optional<uint64_t> ReadSlot(const uint8_t* slot, uint64_t) {
  if (Word(slot) != kAuipcT6 || Word(slot + 4) != kLwT6T6Plus16 ||
      Word(slot + 8) != kJalrZeroT6 || Word(slot + 12) != Bits::kNop) {
    return std::nullopt;
  }
  return LoadUnaligned(slot + kSlotTargetOffset, 4, kOrder);
}

}  // namespace

const ArchCodec kRiscv32Codec = {
    .arch = Arch::kRiscv32,
    .mode_used = ModeUsed,
    .locate_site = Locate,
    .tag_fits = TagFits,
    .read_tag = ReadTag,
    .write_tag = WriteTag,
    .read_target = ReadTarget,
    .write_target = WriteTarget,
    .write_near_slot = WriteNearSlot,
    .write_far_slot = WriteFarSlot,
    .write_lazy_slot = WriteLazySlot,
    .read_near_slot = ReadSlot,
    .read_far_slot = ReadSlot,
};

}  // namespace wasmcache::reference
