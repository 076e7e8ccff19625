// mips64 codec (reference/arch/mips64.cc) and encoders
// (reference/encoders/mips64.h): range boundaries, instruction framing,
// relocation sites on hand-built code, tags and targets, jump-table slots,
// and every encoding checked against an independent disassembler.
//
// llvm-mc is required: without it the disassembler tests fail. It is found
// as $LLVM_MC, else llvm-mc, llvm-mc-16 or llvm-mc-14 in PATH, and run with
// -triple=mips64el. Output parsed, one instruction per line after "\t.text":
//   lui   $<rt>, <imm16>          imm16 unsigned decimal
//   ori   $<rt>, $<rs>, <imm16>   imm16 unsigned decimal
//   dsll  $<rd>, $<rt>, <sa>
//   j | jal  <addr>               instr_index * 4 (the low 28 bits)
//   bal   <offset>                byte offset from the bal instruction
//   ld    $<rt>, <offset>($<base>)
//   move | nop | jr
// Any "warning:" or "error:" line fails the test.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/byte_io.h"
#include "reference/encoders/mips64.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using LiAddress = Mips64LiAddress<D>;
using LuiOri = MipsLuiOri<D>;
using Jump26 = MipsJump26<D>;

constexpr Arch kArch = Arch::kMips64;
constexpr uint32_t kT9 = 25;
constexpr uint32_t kT0 = 12;
constexpr uint32_t kJ = 0x08000000;
constexpr uint32_t kJal = 0x0c000000;
constexpr uint64_t kMaxLi = 0x00007fff'ffffffff;  // last positive 48-bit
constexpr uint64_t kMinLi = 0xffff8000'00000000;  // last negative 48-bit

// Code addresses the tests place instructions at.
constexpr uint64_t kSites[] = {0x000000ff'f0000000, 0x0000555a'12345000,
                               0x00000001'00000000, 0xffffffff'00000000};

std::vector<uint8_t> Le32(uint32_t word) {
  std::vector<uint8_t> b(4);
  StoreUnaligned(b.data(), word, 4, ByteOrder::kLittle);
  return b;
}
std::vector<uint8_t> Words(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> out;
  for (uint32_t w : words) {
    const auto b = Le32(w);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}
uint32_t WordAt(const std::vector<uint8_t>& code, size_t offset) {
  return static_cast<uint32_t>(
      LoadUnaligned(code.data() + offset, 4, ByteOrder::kLittle));
}

// li rt, value as V8 lays it out (value must fit 48 signed bits).
std::vector<uint32_t> LiWords(uint32_t rt, uint64_t value) {
  return {
      MipsWords::LuiWord(rt) | static_cast<uint32_t>((value >> 32) & 0xffff),
      MipsWords::OriWord(rt) | static_cast<uint32_t>((value >> 16) & 0xffff),
      MipsWords::DsllWord(rt),
      MipsWords::OriWord(rt) | static_cast<uint32_t>(value & 0xffff)};
}
std::vector<uint32_t> EncodeLi(const std::vector<uint32_t>& w, uint64_t v) {
  return {LiAddress::EncodeLui(w[0], v), LiAddress::EncodeOriMiddle(w[1], v),
          w[2], LiAddress::EncodeOriLow(w[3], v)};
}
uint64_t DecodeLi(const std::vector<uint32_t>& w) {
  return LiAddress::Decode(w[0], w[1], w[3]);
}

// ---------------------------------------------------------------------------
// Mips64LiAddress

TEST(Mips64LiAddress, RangeIsSignExtended48Bits) {
  for (uint64_t v :
       {kMaxLi, kMinLi, uint64_t{0}, ~uint64_t{0}, uint64_t{0xffffffff}}) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", v));
    EXPECT_TRUE(LiAddress::InRange(v));
    EXPECT_EQ(DecodeLi(EncodeLi(LiWords(kT9, 0), v)), v);
  }
  // First out of range on each side.
  EXPECT_FALSE(LiAddress::InRange(kMaxLi + 1));
  EXPECT_FALSE(LiAddress::InRange(kMinLi - 1));
  EXPECT_FALSE(LiAddress::InRange(uint64_t{1} << 63));
}

TEST(Mips64LiAddress, EncodingChangesOnlyTheImmediates) {
  std::mt19937_64 rng(0x6d697073);
  for (int i = 0; i < 2000; ++i) {
    const std::vector<uint32_t> w = {
        static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()),
        static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
    const uint64_t v = SignExtendLow<D>(rng(), 48);
    const auto e = EncodeLi(w, v);
    EXPECT_EQ(e[0] & 0xffff0000u, w[0] & 0xffff0000u);
    EXPECT_EQ(e[1] & 0xffff0000u, w[1] & 0xffff0000u);
    EXPECT_EQ(e[2], w[2]);
    EXPECT_EQ(e[3] & 0xffff0000u, w[3] & 0xffff0000u);
    EXPECT_EQ(DecodeLi(e), v);
    EXPECT_EQ(LiAddress::DecodeTag(e[0], e[1], e[3]), static_cast<uint32_t>(v));
  }
}

// ---------------------------------------------------------------------------
// MipsLuiOri

TEST(MipsLuiOri, RangeIsUint32) {
  for (uint64_t v : {uint64_t{0}, uint64_t{0xffffffff}, uint64_t{0x80000000},
                     uint64_t{0x1234}}) {
    EXPECT_TRUE(LuiOri::InRange(v));
    const uint32_t lui = LuiOri::EncodeLui(MipsWords::LuiWord(kT0), v);
    const uint32_t ori = LuiOri::EncodeOri(MipsWords::OriWord(kT0), v);
    EXPECT_EQ(LuiOri::Decode(lui, ori), v);
  }
  EXPECT_FALSE(LuiOri::InRange(uint64_t{0x1'00000000}));
  EXPECT_FALSE(LuiOri::InRange(~uint64_t{0}));  // -1: below zero
}

TEST(MipsLuiOri, EncodingChangesOnlyTheImmediates) {
  std::mt19937_64 rng(0x6c75696f);
  for (int i = 0; i < 2000; ++i) {
    const auto lui = static_cast<uint32_t>(rng());
    const auto ori = static_cast<uint32_t>(rng());
    const uint64_t v = rng() & 0xffffffff;
    const uint32_t el = LuiOri::EncodeLui(lui, v);
    const uint32_t eo = LuiOri::EncodeOri(ori, v);
    EXPECT_EQ(el & 0xffff0000u, lui & 0xffff0000u);
    EXPECT_EQ(eo & 0xffff0000u, ori & 0xffff0000u);
    EXPECT_EQ(LuiOri::Decode(el, eo), v);
  }
}

// ---------------------------------------------------------------------------
// MipsJump26

TEST(MipsJump26, ReachIsTheSitesSegment) {
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    const uint64_t base = site & ~uint64_t{0x0fffffff};
    for (uint64_t target : {base, base + 0x0ffffffc, site, base + 0x0888888}) {
      ASSERT_TRUE(Jump26::InRange(site, target));
      const uint32_t insn = Jump26::Encode(kJ, target);
      EXPECT_EQ(Jump26::Decode(insn, site), target);
      EXPECT_TRUE(Jump26::IsJump(insn));
    }
    EXPECT_FALSE(Jump26::InRange(site, base - 4));
    EXPECT_FALSE(Jump26::InRange(site, base + 0x10000000));
    EXPECT_FALSE(Jump26::InRange(site, base + 2));
  }
}

TEST(MipsJump26, EncodingChangesOnlyInstrIndex) {
  std::mt19937_64 rng(0x6a756d70);
  for (int i = 0; i < 2000; ++i) {
    const auto insn = static_cast<uint32_t>(rng());
    const uint64_t site = rng();
    const uint64_t target =
        (site & ~uint64_t{0x0fffffff}) | (rng() & 0x0ffffffc);
    ASSERT_TRUE(Jump26::InRange(site, target));
    const uint32_t e = Jump26::Encode(insn, target);
    EXPECT_EQ(e & 0xfc000000u, insn & 0xfc000000u);
    EXPECT_EQ(Jump26::Decode(e, site), target);
  }
  EXPECT_TRUE(Jump26::IsJump(kJ));
  EXPECT_TRUE(Jump26::IsJump(kJal | 0x3ffffff));
  EXPECT_FALSE(Jump26::IsJump(0x10000000));  // beq
  EXPECT_FALSE(Jump26::IsJump(0x04110001));  // bal
}

// ---------------------------------------------------------------------------
// Relocation sites

// A code object: a nop, li $t9 (call target), jalr $t9 + nop, lui/ori $t0
// (signature id), an 8-byte internal reference, li $a0 (external ref).
struct HandCode {
  std::vector<uint8_t> bytes;
  static constexpr uint32_t kCallPc = 4;
  static constexpr uint32_t kSigPc = 28;
  static constexpr uint32_t kInternalPc = 36;
  static constexpr uint32_t kExternalPc = 44;
};

HandCode MakeHandCode() {
  HandCode c;
  std::vector<uint32_t> words = {0};
  for (uint32_t w : LiWords(kT9, 0x0000555a'00001230)) words.push_back(w);
  words.push_back(0x0320f809);  // jalr $t9
  words.push_back(0);           // nop
  words.push_back(MipsWords::LuiWord(kT0) | 0x0001);
  words.push_back(MipsWords::OriWord(kT0) | 0x0002);
  words.push_back(0x00000040);  // internal reference, low half
  words.push_back(0x00000000);  // internal reference, high half
  for (uint32_t w : LiWords(4, 0xffff8000'00000010)) words.push_back(w);
  for (uint32_t w : words) {
    const auto b = Le32(w);
    c.bytes.insert(c.bytes.end(), b.begin(), b.end());
  }
  return c;
}

absl::StatusOr<Site> Locate(const std::vector<uint8_t>& code, RelocMode mode,
                            uint32_t pc, uint64_t file_offset = 0x1000) {
  return LocateSite(kArch, code, {mode, pc, 0}, file_offset);
}

void ExpectDataLoss(const absl::StatusOr<Site>& site, uint64_t offset) {
  ASSERT_FALSE(site.ok());
  EXPECT_EQ(site.status().code(), absl::StatusCode::kDataLoss) << site.status();
  EXPECT_NE(site.status().message().find("reloc: "), std::string::npos)
      << site.status();
  EXPECT_NE(
      site.status().message().find(absl::StrFormat("at offset 0x%x", offset)),
      std::string::npos)
      << site.status();
}

TEST(Mips64Sites, ValidSites) {
  const HandCode c = MakeHandCode();
  for (RelocMode mode : {RelocMode::kWasmCall, RelocMode::kWasmStubCall,
                         RelocMode::kExternalReference}) {
    auto site = Locate(c.bytes, mode, HandCode::kCallPc);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kMips64LiAddress);
    EXPECT_EQ(site->field_offset, HandCode::kCallPc);
    EXPECT_EQ(site->field_size, 16u);
    EXPECT_EQ(site->pc, HandCode::kCallPc);
    EXPECT_FALSE(site->pool_slot);
    EXPECT_EQ(ReadTarget(kArch, c.bytes.data(), 0x5000, *site),
              0x0000555a'00001230u);
  }
  auto ext =
      Locate(c.bytes, RelocMode::kExternalReference, HandCode::kExternalPc);
  ASSERT_TRUE(ext.ok()) << ext.status();
  EXPECT_EQ(ReadTarget(kArch, c.bytes.data(), 0, *ext), 0xffff8000'00000010u);
  for (RelocMode mode : {RelocMode::kWasmCanonicalSigId,
                         RelocMode::kWasmCodePointerTableEntry}) {
    auto site = Locate(c.bytes, mode, HandCode::kSigPc);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kMipsLuiOri);
    EXPECT_EQ(site->field_size, 8u);
    EXPECT_EQ(ReadTag(kArch, c.bytes.data(), *site), 0x00010002u);
  }
  auto internal =
      Locate(c.bytes, RelocMode::kInternalReference, HandCode::kInternalPc);
  ASSERT_TRUE(internal.ok()) << internal.status();
  EXPECT_EQ(internal->form, SiteForm::kAbsolute64);
  EXPECT_EQ(internal->field_size, 8u);
  EXPECT_EQ(ReadTag(kArch, c.bytes.data(), *internal), 0x40u);
}

TEST(Mips64Sites, MalformedSitesAreDataLoss) {
  const HandCode c = MakeHandCode();
  const uint64_t file = 0x1000;
  // Not an li sequence at all (nop, jalr).
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall, 0), file + 0);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall, 20), file + 20);
  // A 32-bit lui/ori where a 48-bit li is required, and vice versa is fine
  // only in that direction: the sig-id form needs just lui + ori.
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall, HandCode::kSigPc),
                 file + HandCode::kSigPc);
  // Unaligned pc, field past the end, pc past the end.
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall, 6), file + 6);
  ExpectDataLoss(
      Locate(c.bytes, RelocMode::kExternalReference, HandCode::kExternalPc + 4),
      file + HandCode::kExternalPc + 4);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall,
                        static_cast<uint32_t>(c.bytes.size())),
                 file + c.bytes.size());
  ExpectDataLoss(Locate(c.bytes, RelocMode::kInternalReference,
                        static_cast<uint32_t>(c.bytes.size() - 4)),
                 file + c.bytes.size() - 4);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCanonicalSigId,
                        static_cast<uint32_t>(c.bytes.size() - 4)),
                 file + c.bytes.size() - 4);
  // Modes V8 13.6 never records on mips64.
  ExpectDataLoss(
      Locate(c.bytes, RelocMode::kInternalReferenceEncoded, HandCode::kCallPc),
      file + HandCode::kCallPc);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kConstPool, 0), file);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kCodeTarget, HandCode::kCallPc),
                 file + HandCode::kCallPc);

  // Each word of the li sequence broken in turn.
  struct Corruption {
    int word;
    uint32_t value;
  };
  const std::vector<uint32_t> good = LiWords(kT9, 0x1234'56789abc);
  const Corruption corruptions[] = {
      {0, 0x3c000000 | 1u << 21 | kT9 << 16},       // lui with rs != 0
      {0, 0x24190000},                              // addiu, not lui
      {1, MipsWords::OriWord(kT0)},                 // ori on another register
      {1, 0x34000000 | kT9 << 21 | kT0 << 16},      // ori rt != rs
      {2, MipsWords::DsllWord(kT9) & ~(31u << 6)},  // dsll by 0
      {2, MipsWords::DsllWord(kT0)},                // dsll on another register
      {2, 0x0019cc3c},                              // dsll32
      {3, MipsWords::OriWord(kT0) | 5},             // ori on another register
      {3, 0x24000000 | kT9 << 21 | kT9 << 16},      // addiu, not ori
  };
  for (const Corruption& k : corruptions) {
    std::vector<uint32_t> w = good;
    w[k.word] = k.value;
    const auto code = Words({w[0], w[1], w[2], w[3]});
    SCOPED_TRACE(absl::StrFormat("word %d = 0x%08x", k.word, k.value));
    ExpectDataLoss(Locate(code, RelocMode::kWasmStubCall, 0, 0x200), 0x200);
  }
  // The 32-bit form: ori on another register.
  ExpectDataLoss(
      Locate(Words({MipsWords::LuiWord(kT0), MipsWords::OriWord(kT9)}),
             RelocMode::kWasmCanonicalSigId, 0, 0),
      0);
  EXPECT_TRUE(Locate(Words(std::initializer_list<uint32_t>{
                         MipsWords::LuiWord(kT0), MipsWords::OriWord(kT0)}),
                     RelocMode::kWasmCodePointerTableEntry, 0, 0)
                  .ok());
}

TEST(Mips64Sites, ModesUsed) {
  for (RelocMode mode :
       {RelocMode::kWasmCall, RelocMode::kWasmStubCall,
        RelocMode::kExternalReference, RelocMode::kInternalReference,
        RelocMode::kWasmCanonicalSigId,
        RelocMode::kWasmCodePointerTableEntry}) {
    EXPECT_TRUE(ModeUsedOnTarget(kArch, mode)) << RelocModeName(mode);
  }
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kInternalReferenceEncoded));
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kConstPool));
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kVeneerPool));
}

TEST(Mips64Sites, TagsAreStoredAsZeroExtendedAddresses) {
  const HandCode c = MakeHandCode();
  std::vector<uint8_t> code = c.bytes;
  auto call = Locate(code, RelocMode::kWasmCall, HandCode::kCallPc);
  ASSERT_TRUE(call.ok()) << call.status();
  for (uint64_t tag : {uint64_t{0}, uint64_t{1}, uint64_t{0x643},
                       uint64_t{0x80000000}, uint64_t{0xffffffff}}) {
    SCOPED_TRACE(absl::StrFormat("tag 0x%x", tag));
    ASSERT_TRUE(TagFitsForm(kArch, *call, tag));
    ASSERT_TRUE(WriteTag(kArch, code.data(), *call, tag));
    EXPECT_EQ(ReadTag(kArch, code.data(), *call), tag);
    // Canonical form: the value loaded is the tag zero-extended.
    EXPECT_EQ(ReadTarget(kArch, code.data(), 0, *call), tag);
    EXPECT_EQ(WordAt(code, HandCode::kCallPc), MipsWords::LuiWord(kT9));
    EXPECT_EQ(WordAt(code, HandCode::kCallPc + 4),
              MipsWords::OriWord(kT9) | static_cast<uint32_t>(tag >> 16));
    EXPECT_EQ(WordAt(code, HandCode::kCallPc + 8), MipsWords::DsllWord(kT9));
    EXPECT_EQ(WordAt(code, HandCode::kCallPc + 12),
              MipsWords::OriWord(kT9) | static_cast<uint32_t>(tag & 0xffff));
  }
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(TagFitsForm(kArch, *call, 0x1'00000000));
  EXPECT_FALSE(WriteTag(kArch, code.data(), *call, 0x1'00000000));
  EXPECT_EQ(code, before);

  // A process address left in the sequence reads back as its low 32 bits,
  // as V8's (uint32_t) target_address() does.
  ASSERT_TRUE(WriteTarget(kArch, code.data(), 0, *call, 0xffffabcd'12345678));
  EXPECT_EQ(ReadTag(kArch, code.data(), *call), 0x12345678u);

  auto sig = Locate(code, RelocMode::kWasmCanonicalSigId, HandCode::kSigPc);
  ASSERT_TRUE(sig.ok()) << sig.status();
  ASSERT_TRUE(WriteTag(kArch, code.data(), *sig, 0xfedcba98));
  EXPECT_EQ(WordAt(code, HandCode::kSigPc), MipsWords::LuiWord(kT0) | 0xfedc);
  EXPECT_EQ(WordAt(code, HandCode::kSigPc + 4),
            MipsWords::OriWord(kT0) | 0xba98);
  EXPECT_EQ(ReadTag(kArch, code.data(), *sig), 0xfedcba98u);
  EXPECT_FALSE(WriteTag(kArch, code.data(), *sig, 0x1'00000000));
}

TEST(Mips64Sites, TargetsAtTheBoundaries) {
  const HandCode c = MakeHandCode();
  std::vector<uint8_t> code = c.bytes;
  auto call = Locate(code, RelocMode::kWasmCall, HandCode::kCallPc);
  ASSERT_TRUE(call.ok()) << call.status();
  for (uint64_t target : {kMaxLi, kMinLi, uint64_t{0}, ~uint64_t{0}}) {
    ASSERT_TRUE(WriteTarget(kArch, code.data(), 0x1000, *call, target));
    EXPECT_EQ(ReadTarget(kArch, code.data(), 0x1000, *call), target);
  }
  for (uint64_t target : {kMaxLi + 1, kMinLi - 1}) {
    const std::vector<uint8_t> before = code;
    EXPECT_FALSE(WriteTarget(kArch, code.data(), 0x1000, *call, target));
    EXPECT_EQ(code, before);
  }
  auto sig =
      Locate(code, RelocMode::kWasmCodePointerTableEntry, HandCode::kSigPc);
  ASSERT_TRUE(sig.ok()) << sig.status();
  ASSERT_TRUE(WriteTarget(kArch, code.data(), 0, *sig, 0xffffffff));
  EXPECT_EQ(ReadTarget(kArch, code.data(), 0, *sig), 0xffffffffu);
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTarget(kArch, code.data(), 0, *sig, 0x1'00000000));
  EXPECT_EQ(code, before);

  auto internal =
      Locate(code, RelocMode::kInternalReference, HandCode::kInternalPc);
  ASSERT_TRUE(internal.ok()) << internal.status();
  ASSERT_TRUE(
      WriteTarget(kArch, code.data(), 0, *internal, 0xfedcba98'76543210));
  EXPECT_EQ(ReadTarget(kArch, code.data(), 0, *internal), 0xfedcba98'76543210u);
  EXPECT_EQ(WordAt(code, HandCode::kInternalPc), 0x76543210u);
}

// ---------------------------------------------------------------------------
// Jump-table slots (jump-table-assembler.cc, V8 13.6)

constexpr uint32_t kTrampoline[] = {0x03e00825, 0x04110001, 0x00000000,
                                    0xdff9000c, 0x03200008, 0x0020f825};

TEST(Mips64JumpTable, SlotBytes) {
  const ArchTraits& t = TraitsOf(kArch);
  ASSERT_TRUE(JumpTablesSupported(kArch));
  const JumpTableLayout layout = ComputeJumpTableLayout(kArch, 6, 121, true);
  const uint64_t base = 0x000000aa'bb000000;
  std::vector<uint8_t> near(t.jump_table_slot_size);
  const uint64_t lazy_address = base + layout.LazySlotOffset(t, 0);
  ASSERT_TRUE(WriteNearJumpSlot(
      kArch, near.data(), base + layout.NearSlotOffset(t, 0), lazy_address));
  std::vector<uint8_t> expected;
  for (uint32_t w : kTrampoline) {
    const auto b = Le32(w);
    expected.insert(expected.end(), b.begin(), b.end());
  }
  std::vector<uint8_t> target(8);
  StoreUnaligned(target.data(), lazy_address, 8, ByteOrder::kLittle);
  std::vector<uint8_t> near_expected = expected;
  near_expected.insert(near_expected.end(), target.begin(), target.end());
  EXPECT_EQ(near, near_expected);
  auto read = ReadNearJumpSlotTarget(kArch, near.data(), base);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, lazy_address);

  // Far slots are the same trampoline.
  std::vector<uint8_t> far(t.far_jump_table_slot_size);
  WriteFarJumpSlot(kArch, far.data(), base + layout.FarSlotOffset(t, 17),
                   lazy_address);
  EXPECT_EQ(far, near_expected);
  auto far_read = ReadFarJumpSlotTarget(kArch, far.data());
  ASSERT_TRUE(far_read.ok()) << far_read.status();
  EXPECT_EQ(*far_read, lazy_address);

  // Lazy slot: lui/ori $t0 = function index, then the trampoline.
  std::vector<uint8_t> lazy(t.lazy_compile_slot_size);
  const uint64_t compile_lazy = base + layout.FarSlotOffset(t, 17);
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), lazy_address, 0x00012345,
                                   compile_lazy));
  std::vector<uint8_t> lazy_expected = Words({0x3c0c0001, 0x358c2345});
  lazy_expected.insert(lazy_expected.end(), expected.begin(), expected.end());
  StoreUnaligned(target.data(), compile_lazy, 8, ByteOrder::kLittle);
  lazy_expected.insert(lazy_expected.end(), target.begin(), target.end());
  EXPECT_EQ(lazy, lazy_expected);
}

TEST(Mips64JumpTable, EveryTargetIsInReach) {
  std::vector<uint8_t> slot(32);
  for (uint64_t target : {uint64_t{0}, ~uint64_t{0}, uint64_t{1} << 63,
                          uint64_t{0x12345678'9abcdef0}}) {
    ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), 0x1000, target));
    auto read = ReadNearJumpSlotTarget(kArch, slot.data(), 0x1000);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, target);
  }
}

TEST(Mips64JumpTable, ForeignBytesAreNotSlots) {
  std::vector<uint8_t> slot(40, 0);
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, slot.data(), 0).ok());
  EXPECT_FALSE(ReadFarJumpSlotTarget(kArch, slot.data()).ok());
  ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), 0, 0x1234));
  slot[12] ^= 1;  // ld offset 12 -> 13
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, slot.data(), 0).ok());
}

// ---------------------------------------------------------------------------
// llvm-mc

struct Insn {
  std::string mnemonic;
  std::vector<std::string> operands;
};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string LlvmMc() {
  if (const char* env = std::getenv("LLVM_MC"); env != nullptr && *env) {
    return env;
  }
  std::string out;
  if (wasmcache::testing::RunCommand(
          "command -v llvm-mc 2>/dev/null || command -v llvm-mc-16 "
          "2>/dev/null || command -v llvm-mc-14 2>/dev/null",
          &out) != 0) {
    return "";
  }
  return Trim(out.substr(0, out.find('\n')));
}

#define REQUIRE_LLVM_MC(var)                                                \
  const std::string var = LlvmMc();                                         \
  ASSERT_FALSE(var.empty())                                                 \
      << "llvm-mc not found (install LLVM, e.g. apt-get install llvm-14, "  \
         "or set LLVM_MC): the mips64 encodings cannot be checked against " \
         "an independent disassembler"

std::vector<std::string> SplitOperands(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == ',') {
      out.push_back(Trim(cur));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!Trim(cur).empty()) out.push_back(Trim(cur));
  return out;
}

// Disassembles `lines` (each a run of instruction words) with llvm-mc
// -triple=mips64el; one Insn per decoded instruction, in order.
std::vector<Insn> Disassemble(const std::vector<std::vector<uint32_t>>& lines) {
  const std::string mc = LlvmMc();
  if (mc.empty()) {
    ADD_FAILURE() << "llvm-mc not found";
    return {};
  }
  std::vector<std::vector<uint8_t>> bytes;
  for (const auto& line : lines) {
    bytes.emplace_back();
    for (uint32_t w : line) {
      for (uint8_t b : Le32(w)) bytes.back().push_back(b);
    }
  }
  std::vector<Insn> insns;
  for (auto& insn : wasmcache::testing::DisassembleWithLlvmMc(
           mc, "-triple=mips64el", bytes, '#')) {
    insns.push_back({insn.mnemonic, insn.operands.empty()
                                        ? std::vector<std::string>{}
                                        : SplitOperands(insn.operands)});
  }
  return insns;
}

std::optional<int64_t> ParseInt(std::string s) {
  s = Trim(s);
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s = s.substr(1);
  }
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > (uint64_t{1} << 62)) {
    return std::nullopt;
  }
  return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

TEST(Mips64LlvmMc, DisassemblerIsTheOneThisFileParses) {
  REQUIRE_LLVM_MC(mc);
  const auto insns = Disassemble({LiWords(kT9, 0x0000ffff'ffff8000)});
  ASSERT_EQ(insns.size(), 4u);
  EXPECT_EQ(insns[0].mnemonic, "lui");
  EXPECT_EQ(insns[0].operands, (std::vector<std::string>{"$25", "65535"}));
  EXPECT_EQ(insns[2].mnemonic, "dsll");
  EXPECT_EQ(insns[3].operands,
            (std::vector<std::string>{"$25", "$25", "32768"}));
}

// The value the disassembled li sequence loads, or nullopt if it is not a
// lui/ori/dsll 16/ori sequence on one register.
std::optional<uint64_t> LiValue(const Insn* insn) {
  if (insn[0].mnemonic != "lui" || insn[1].mnemonic != "ori" ||
      insn[2].mnemonic != "dsll" || insn[3].mnemonic != "ori") {
    return std::nullopt;
  }
  const std::string& reg = insn[0].operands.at(0);
  for (int i = 1; i < 4; ++i) {
    if (insn[i].operands.size() != 3 || insn[i].operands[0] != reg ||
        insn[i].operands[1] != reg) {
      return std::nullopt;
    }
  }
  if (insn[2].operands[2] != "16") return std::nullopt;
  const auto hi = ParseInt(insn[0].operands.at(1));
  const auto mid = ParseInt(insn[1].operands[2]);
  const auto lo = ParseInt(insn[3].operands[2]);
  if (!hi || !mid || !lo) return std::nullopt;
  // lui sign-extends its 32-bit result into the 64-bit register.
  const uint64_t upper = static_cast<uint64_t>(
      static_cast<int64_t>(static_cast<int32_t>(*hi << 16 | *mid)));
  return upper << 16 | static_cast<uint64_t>(*lo);
}

TEST(Mips64LlvmMc, LiAddressBoundariesAndRandomValues) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint64_t> values = {kMaxLi,
                                  kMinLi,
                                  0,
                                  ~uint64_t{0},
                                  0x0000ffff'ffffffff & kMaxLi,
                                  0x8000,
                                  0xffffffff,
                                  0x00007f3a'12345678};
  std::mt19937_64 rng(0x6c69);
  for (int i = 0; i < 100; ++i) values.push_back(SignExtendLow<D>(rng(), 48));
  std::vector<std::vector<uint32_t>> lines;
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(LiAddress::InRange(values[i]));
    // A different register per line ($1..$27, printed by number): only
    // the immediates may change.
    lines.push_back(EncodeLi(LiWords(1 + i % 27, 0), values[i]));
  }
  const auto insns = Disassemble(lines);
  ASSERT_EQ(insns.size(), 4 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    EXPECT_EQ(LiValue(&insns[4 * i]), values[i]);
    EXPECT_EQ(insns[4 * i].operands.at(0), absl::StrFormat("$%d", 1 + i % 27));
  }
}

TEST(Mips64LlvmMc, LuiOriBoundariesAndRandomValues) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint64_t> values = {0,          0xffffffff, 0x7fffffff,
                                  0x80000000, 0xffff,     0x10000};
  std::mt19937_64 rng(0x6c756930);
  for (int i = 0; i < 100; ++i) values.push_back(rng() & 0xffffffff);
  std::vector<std::vector<uint32_t>> lines;
  for (uint64_t v : values) {
    lines.push_back({LuiOri::EncodeLui(MipsWords::LuiWord(kT0), v),
                     LuiOri::EncodeOri(MipsWords::OriWord(kT0), v)});
  }
  const auto insns = Disassemble(lines);
  ASSERT_EQ(insns.size(), 2 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    const Insn& lui = insns[2 * i];
    const Insn& ori = insns[2 * i + 1];
    ASSERT_EQ(lui.mnemonic, "lui");
    ASSERT_EQ(ori.mnemonic, "ori");
    EXPECT_EQ(lui.operands, (std::vector<std::string>{
                                "$12", std::to_string(values[i] >> 16)}));
    EXPECT_EQ(ori.operands,
              (std::vector<std::string>{"$12", "$12",
                                        std::to_string(values[i] & 0xffff)}));
  }
}

TEST(Mips64LlvmMc, Jump26BoundariesAndRandomTargets) {
  REQUIRE_LLVM_MC(mc);
  struct Case {
    uint32_t opcode;
    uint64_t site;
    uint64_t target;
  };
  std::vector<Case> cases;
  for (uint64_t site : kSites) {
    const uint64_t base = site & ~uint64_t{0x0fffffff};
    cases.push_back({kJ, site, base});
    cases.push_back({kJal, site, base + 0x0ffffffc});
  }
  std::mt19937_64 rng(0x6a3236);
  for (int i = 0; i < 100; ++i) {
    const uint64_t site = rng() & ~uint64_t{3};
    cases.push_back({i % 2 ? kJ : kJal, site,
                     (site & ~uint64_t{0x0fffffff}) | (rng() & 0x0ffffffc)});
  }
  std::vector<std::vector<uint32_t>> lines;
  for (const Case& c : cases) {
    ASSERT_TRUE(Jump26::InRange(c.site, c.target));
    lines.push_back({Jump26::Encode(c.opcode, c.target)});
  }
  const auto insns = Disassemble(lines);
  ASSERT_EQ(insns.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x target 0x%x", cases[i].site,
                                 cases[i].target));
    EXPECT_EQ(insns[i].mnemonic, cases[i].opcode == kJ ? "j" : "jal");
    ASSERT_EQ(insns[i].operands.size(), 1u);
    // llvm-mc prints the in-segment part; the segment is the site's.
    const auto low = ParseInt(insns[i].operands[0]);
    ASSERT_TRUE(low.has_value()) << insns[i].operands[0];
    EXPECT_EQ(
        (cases[i].site & ~uint64_t{0x0fffffff}) | static_cast<uint64_t>(*low),
        cases[i].target);
  }
}

// The trampoline as llvm-mc reads it: `bal` lands ra at bal + 8, and the
// `ld` then reads the 8-byte target from ra + 12 (slot + 24 for a slot
// starting with the trampoline).
void CheckTrampoline(const Insn* insn, uint64_t trampoline_offset,
                     uint64_t target_offset) {
  EXPECT_EQ(insn[0].mnemonic, "move");
  EXPECT_EQ(insn[0].operands, (std::vector<std::string>{"$1", "$ra"}));
  ASSERT_EQ(insn[1].mnemonic, "bal");
  const auto bal = ParseInt(insn[1].operands.at(0));
  ASSERT_TRUE(bal.has_value());
  EXPECT_EQ(insn[2].mnemonic, "nop");
  ASSERT_EQ(insn[3].mnemonic, "ld");
  EXPECT_EQ(insn[3].operands.at(0), "$25");
  const std::string mem = insn[3].operands.at(1);
  ASSERT_EQ(mem.substr(mem.find('(')), "($ra)");
  const auto disp = ParseInt(mem.substr(0, mem.find('(')));
  ASSERT_TRUE(disp.has_value());
  // bal's link register is bal + 8 (past the delay slot); bal's offset is
  // also printed from the bal, so it must be exactly 8: the code falls
  // through to the ld.
  EXPECT_EQ(*bal, 8);
  const uint64_t ra = trampoline_offset + 4 + 8;
  EXPECT_EQ(ra + static_cast<uint64_t>(*disp), target_offset);
  EXPECT_EQ(insn[4].mnemonic, "jr");
  EXPECT_EQ(insn[4].operands, (std::vector<std::string>{"$25"}));
  EXPECT_EQ(insn[5].mnemonic, "move");
  EXPECT_EQ(insn[5].operands, (std::vector<std::string>{"$ra", "$1"}));
}

TEST(Mips64LlvmMc, JumpTableSlots) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(kArch);
  std::vector<uint8_t> near(t.jump_table_slot_size);
  std::vector<uint8_t> far(t.far_jump_table_slot_size);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), 0x1000, 0xabcdef));
  WriteFarJumpSlot(kArch, far.data(), 0x2000, 0xabcdef);
  std::vector<std::vector<uint32_t>> lines;
  auto words = [](const std::vector<uint8_t>& bytes, size_t count) {
    std::vector<uint32_t> w;
    for (size_t i = 0; i < count; ++i) w.push_back(WordAt(bytes, 4 * i));
    return w;
  };
  lines.push_back(words(near, 6));
  lines.push_back(words(far, 6));
  std::vector<uint32_t> indices = {0,       1,          0xffff,
                                   0x10000, 0x7fffffff, 0xffffffff};
  std::mt19937 rng(0x6c617a79);
  for (int i = 0; i < 20; ++i) indices.push_back(rng());
  for (uint32_t index : indices) {
    std::vector<uint8_t> lazy(t.lazy_compile_slot_size);
    ASSERT_TRUE(
        WriteLazyCompileSlot(kArch, lazy.data(), 0x3000, index, 0x1000));
    lines.push_back(words(lazy, 8));
  }
  const auto insns = Disassemble(lines);
  ASSERT_EQ(insns.size(), 12 + 8 * indices.size());
  CheckTrampoline(&insns[0], 0, 24);
  CheckTrampoline(&insns[6], 0, 24);
  for (size_t i = 0; i < indices.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("function index 0x%x", indices[i]));
    const Insn* lazy = &insns[12 + 8 * i];
    ASSERT_EQ(lazy[0].mnemonic, "lui");
    ASSERT_EQ(lazy[1].mnemonic, "ori");
    EXPECT_EQ(lazy[0].operands.at(0), "$12");  // $t0
    EXPECT_EQ(lazy[1].operands,
              (std::vector<std::string>{"$12", "$12",
                                        std::to_string(indices[i] & 0xffff)}));
    EXPECT_EQ(lazy[0].operands.at(1), std::to_string(indices[i] >> 16));
    CheckTrampoline(&lazy[2], 8, 32);
  }
}

}  // namespace
}  // namespace wasmcache::reference
