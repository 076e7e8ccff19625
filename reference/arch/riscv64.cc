// riscv64: relocation sites and jump-table slots (V8 13.6, Sv48 build).
//
// Sites (reference/encoders/riscv.h has the fixup expressions):
//   WASM_CALL, WASM_STUB_CALL        auipc rX; jalr ra, lo12(rX) at pc (calls,
//                                    pc-relative, the tag is the byte offset)
//                                    or the 6-word li_ptr at pc (tail calls
//                                    load the absolute target, then jr)
//   EXTERNAL_REFERENCE               6-word li_ptr at pc (never pc-relative:
//                                    V8 does not call external references
//                                    near)
//   WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY    lui rd; addi rd, rd at pc
//   INTERNAL_REFERENCE               8-byte absolute at pc (br_table tables)
// CONST_POOL entries mark pools of plain constants; no serializer-patched
// mode loads its value from a pool (V8 gives every reloc'd immediate the
// fixed li_ptr / li_constant32 sequence), and an auipc + ld at such a site
// is rejected: V8 would read it as a branch offset. VENEER_POOL and
// INTERNAL_REFERENCE_ENCODED never occur (the latter only for label
// distances beyond int32, and V8's serializer could not round-trip it: it
// writes a raw pointer over the instructions).
//
// Slots: near `auipc t6, hi20; jalr zero, lo12(t6)` (8 bytes, one store),
// far `auipc t6, 0; ld t6, 16(t6); jalr zero, 0(t6); nop; .quad target`,
// lazy `lui t0, hi20; addi t0, t0, lo12 (function index); jal zero, target`.

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
using LiPtr = RiscvLiPtr48<NativeDomain>;
using Jal = RiscvJal<NativeDomain>;
using Datum = RiscvDatum<NativeDomain, 8>;
constexpr ByteOrder kOrder = ByteOrder::kLittle;

constexpr uint32_t kRa = 1;
constexpr uint32_t kT0 = 5;
constexpr uint32_t kT6 = 31;

// Slot words (jump-table-assembler.cc, riscv64).
constexpr uint32_t kAuipcT6 = Bits::kAuipc | Bits::RdField(kT6);  // imm 0
constexpr uint32_t kJalrZeroT6 = Bits::kJalr | Bits::Rs1Field(kT6);
constexpr uint32_t kLdT6T6Plus16 =
    Bits::kLd | Bits::RdField(kT6) | Bits::Rs1Field(kT6) | (16u << 20);
constexpr uint32_t kLuiT0 = Bits::kLui | Bits::RdField(kT0);
constexpr uint32_t kAddiT0T0 =
    Bits::kAddi | Bits::RdField(kT0) | Bits::Rs1Field(kT0);
constexpr uint32_t kJalZero = Bits::kJal;
constexpr uint32_t kFarTargetOffset = 16;

uint32_t Word(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
void PutWord(uint8_t* at, uint32_t word) { StoreUnaligned(at, word, 4, kOrder); }

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kVeneerPool &&
         mode != RelocMode::kInternalReferenceEncoded;
}

// The expected word of an I-type `op rd, rd, imm` with the imm bits masked.
constexpr uint32_t SameRegIType(uint32_t opcode_funct3, uint32_t rd) {
  return opcode_funct3 | Bits::RdField(rd) | Bits::Rs1Field(rd);
}

// Checks `auipc rX; jalr ra, lo12(rX)` at pc.
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
  if (rd == 0) {
    return SiteError(entry, code_file_offset, "auipc writes x0");
  }
  const uint32_t expected = Bits::kJalr | Bits::RdField(kRa) |
                            Bits::Rs1Field(rd);
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

// Checks the six words of li_ptr rd, value at pc.
absl::StatusOr<Site> LiPtrSite(absl::Span<const uint8_t> code,
                               const RelocEntry& entry,
                               uint64_t code_file_offset) {
  if (!FieldInside(code, entry.pc, LiPtr::kFieldSize)) {
    return SiteError(entry, code_file_offset,
                     "li_ptr sequence runs past the instructions");
  }
  uint32_t w[LiPtr::kWords];
  for (int i = 0; i < LiPtr::kWords; ++i) {
    w[i] = Word(code.data() + entry.pc + 4 * i);
  }
  const uint32_t rd = Bits::Rd(w[0]);
  if (rd == 0) return SiteError(entry, code_file_offset, "lui writes x0");
  auto bad = [&](int i, const char* what) {
    return SiteError(entry, code_file_offset,
                     absl::StrFormat("li_ptr word %d (0x%08x) is not %s x%d",
                                     i, w[i], what, rd));
  };
  if ((w[1] & ~Bits::kIImmMask) != SameRegIType(Bits::kAddi, rd)) {
    return bad(1, "addi into");
  }
  if (w[2] != (SameRegIType(Bits::kSlli, rd) | (LiPtr::kFirstShift << 20))) {
    return bad(2, "slli 11 of");
  }
  if ((w[3] & ~Bits::kIImmMask) != SameRegIType(Bits::kOri, rd) ||
      (w[3] >> 20) > 0x7ff) {
    return bad(3, "ori (11-bit immediate) into");
  }
  if (w[4] != (SameRegIType(Bits::kSlli, rd) | (LiPtr::kSecondShift << 20))) {
    return bad(4, "slli 6 of");
  }
  if ((w[5] & ~Bits::kIImmMask) != SameRegIType(Bits::kOri, rd) ||
      (w[5] >> 20) > 0x3f) {
    return bad(5, "ori (6-bit immediate) into");
  }
  return Site{SiteForm::kRiscvLiPtr, entry.pc, LiPtr::kFieldSize, entry.pc};
}

// Checks `lui rd; addi rd, rd, lo12` at pc.
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
    return FieldSite(code, entry, code_file_offset, SiteForm::kAbsolute64,
                     entry.pc, 8);
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
        return LiPtrSite(code, entry, code_file_offset);
      }
      return SiteError(
          entry, code_file_offset,
          absl::StrFormat("instruction 0x%08x is neither auipc nor lui",
                          first));
    case RelocMode::kExternalReference:
      if (Bits::Opcode(first) != Bits::kLui) {
        return SiteError(
            entry, code_file_offset,
            absl::StrFormat("instruction 0x%08x is not lui (li_ptr)", first));
      }
      return LiPtrSite(code, entry, code_file_offset);
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
      return LuiAddiSite(code, entry, code_file_offset);
    default:
      return SiteError(entry, code_file_offset, "mode not used on riscv64");
  }
}

bool TagFits(const Site& site, uint64_t tag) {
  switch (site.form) {
    case SiteForm::kRiscvAuipcJalr:
      return AuipcJalr::TagInRange(tag);
    case SiteForm::kRiscvLiPtr:
      return LiPtr::TagInRange(tag);
    case SiteForm::kRiscvLuiAddi:
      return LuiAddi::InRange(tag);
    default:  // kAbsolute64
      return Datum::InRange(tag);
  }
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  const uint8_t* at = code + site.field_offset;
  switch (site.form) {
    case SiteForm::kRiscvAuipcJalr:
      return AuipcJalr::DecodeTag(Word(at), Word(at + 4));
    case SiteForm::kRiscvLiPtr:
      return LiPtr::Decode(Word(at), Word(at + 4), Word(at + 12),
                           Word(at + 20));
    case SiteForm::kRiscvLuiAddi:
      return LuiAddi::Decode(Word(at), Word(at + 4));
    default:
      return Datum::Decode(LoadSiteField(code, site, kOrder));
  }
}

void WriteLiPtr(uint8_t* at, uint64_t value) {
  PutWord(at, LiPtr::EncodeLui(Word(at), value));
  PutWord(at + 4, LiPtr::EncodeAddi(Word(at + 4), value));
  PutWord(at + 12, LiPtr::EncodeOriHigh(Word(at + 12), value));
  PutWord(at + 20, LiPtr::EncodeOriLow(Word(at + 20), value));
}

void WriteLuiAddi(uint8_t* at, uint32_t value) {
  PutWord(at, LuiAddi::EncodeLui(Word(at), value));
  PutWord(at + 4, LuiAddi::EncodeAddi(Word(at + 4), value));
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  uint8_t* at = code + site.field_offset;
  switch (site.form) {
    case SiteForm::kRiscvAuipcJalr: {
      const auto t = static_cast<uint32_t>(tag);
      PutWord(at, AuipcJalr::EncodeTagAuipc(Word(at), t));
      PutWord(at + 4, AuipcJalr::EncodeTagJalr(Word(at + 4), t));
      return;
    }
    case SiteForm::kRiscvLiPtr:
      WriteLiPtr(at, tag);
      return;
    case SiteForm::kRiscvLuiAddi:
      WriteLuiAddi(at, static_cast<uint32_t>(tag));
      return;
    default:
      StoreSiteField(code, site, Datum::Encode(tag), kOrder);
  }
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  const uint8_t* at = code + site.field_offset;
  if (site.form == SiteForm::kRiscvAuipcJalr) {
    return AuipcJalr::Decode(Word(at), Word(at + 4),
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
      if (!AuipcJalr::InRange(site_address, target)) return false;
      PutWord(at, AuipcJalr::EncodeAuipc(Word(at), site_address, target));
      PutWord(at + 4, AuipcJalr::EncodeJalr(Word(at + 4), site_address, target));
      return true;
    case SiteForm::kRiscvLiPtr:
      if (!LiPtr::InRange(target)) return false;
      WriteLiPtr(at, target);
      return true;
    case SiteForm::kRiscvLuiAddi:
      if (!LuiAddi::InRange(target)) return false;
      WriteLuiAddi(at, static_cast<uint32_t>(target));
      return true;
    default:
      if (!Datum::InRange(target)) return false;
      StoreSiteField(code, site, Datum::Encode(target), kOrder);
      return true;
  }
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!AuipcJalr::NearSlotInRange(slot_address, target)) return false;
  uint8_t bytes[8];
  PutWord(bytes, AuipcJalr::EncodeAuipc(kAuipcT6, slot_address, target));
  PutWord(bytes + 4, AuipcJalr::EncodeJalr(kJalrZeroT6, slot_address, target));
  StoreSlotWord(slot, bytes, 8);
  return true;
}

void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  uint8_t prefix[kFarTargetOffset];
  PutWord(prefix, kAuipcT6);
  PutWord(prefix + 4, kLdT6T6Plus16);
  PutWord(prefix + 8, kJalrZeroT6);
  PutWord(prefix + 12, Bits::kNop);
  if (std::memcmp(slot, prefix, sizeof(prefix)) != 0) {
    std::memcpy(slot, prefix, sizeof(prefix));
  }
  uint8_t bytes[8];
  StoreUnaligned(bytes, target, 8, kOrder);
  StoreSlotWord(slot + kFarTargetOffset, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t slot_address,
                   uint32_t function_index, uint64_t target) {
  const uint64_t jal_address = slot_address + 8;
  if (!Jal::InRange(jal_address, target)) return false;
  PutWord(slot, LuiAddi::EncodeLui(kLuiT0, function_index));
  PutWord(slot + 4, LuiAddi::EncodeAddi(kAddiT0T0, function_index));
  PutWord(slot + 8, Jal::Encode(kJalZero, jal_address, target));
  return true;
}

std::optional<uint64_t> ReadNearSlot(const uint8_t* slot,
                                     uint64_t slot_address) {
  const uint32_t auipc = Word(slot);
  const uint32_t jalr = Word(slot + 4);
  if ((auipc & ~Bits::kUpperImmMask) != kAuipcT6 ||
      (jalr & ~Bits::kIImmMask) != kJalrZeroT6) {
    return std::nullopt;
  }
  return AuipcJalr::Decode(auipc, jalr, slot_address);
}

std::optional<uint64_t> ReadFarSlot(const uint8_t* slot, uint64_t) {
  if (Word(slot) != kAuipcT6 || Word(slot + 4) != kLdT6T6Plus16 ||
      Word(slot + 8) != kJalrZeroT6 || Word(slot + 12) != Bits::kNop) {
    return std::nullopt;
  }
  return LoadUnaligned(slot + kFarTargetOffset, 8, kOrder);
}

}  // namespace

const ArchCodec kRiscv64Codec = {
    .arch = Arch::kRiscv64,
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
    .read_near_slot = ReadNearSlot,
    .read_far_slot = ReadFarSlot,
};

}  // namespace wasmcache::reference
