// loong64 codec (reference/arch/loong64.cc) and encoders
// (reference/encoders/loong64.h): range boundaries, instruction framing,
// relocation sites on hand-built code, tags and targets, jump-table slots,
// and every encoding checked against an independent disassembler.
//
// llvm-mc with LoongArch support (LLVM >= 16) is required: without it the
// disassembler tests fail. It is found as $LLVM_MC_LOONG64, else
// llvm-mc-16, llvm-mc-17, llvm-mc-18 or llvm-mc in PATH (the first that
// knows -triple=loongarch64). Output parsed, one instruction per line after
// "\t.text":
//   lu12i.w  $<rd>, <si20>          signed decimal
//   ori      $<rd>, $<rj>, <ui12>   unsigned decimal
//   lu32i.d  $<rd>, <si20>          signed decimal
//   b | bl   <offset>               byte offset from the instruction
//   pcaddi   $<rd>, <si20>          rd = pc + si20 * 4
//   ld.d     $<rd>, $<rj>, <si12>
//   jr       $<rj>                  (jirl $zero, $rj, 0)
//   nop
// Register names are ABI names ($t0 = r12, $t7 = r19).
// Any "warning:" or "error:" line fails the test.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/byte_io.h"
#include "reference/encoders/loong64.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using Li = Loong64Li<D>;
using Lu12iOri = Loong64Lu12iOri<D>;
using Branch = Loong64Branch26<D>;

constexpr Arch kArch = Arch::kLoong64;
constexpr uint32_t kT0 = 12;
constexpr uint32_t kT7 = 19;
constexpr uint32_t kB = 0x50000000;
constexpr uint32_t kBl = 0x54000000;
constexpr uint64_t kMaxLi = 0x00007fff'ffffffff;
constexpr uint64_t kMinLi = 0xffff8000'00000000;
constexpr int64_t k128MiB = int64_t{128} << 20;

constexpr uint64_t kSites[] = {0x00007f3a'12345000, 0x00005555'00001000,
                               0x00000001'00000000, 0xffffffff'00000000};

uint64_t Plus(uint64_t base, int64_t delta) {
  return base + static_cast<uint64_t>(delta);
}

std::vector<uint8_t> Le32(uint32_t word) {
  std::vector<uint8_t> b(4);
  StoreUnaligned(b.data(), word, 4, ByteOrder::kLittle);
  return b;
}
std::vector<uint8_t> Words(const std::vector<uint32_t>& words) {
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

// li rd, value as V8 lays it out.
std::vector<uint32_t> LiWords(uint32_t rd, uint64_t value) {
  return {Loong64Words::Lu12iWord(rd) |
              static_cast<uint32_t>((value >> 12) & 0xfffff) << 5,
          Loong64Words::OriWord(rd) | static_cast<uint32_t>(value & 0xfff)
                                          << 10,
          Loong64Words::Lu32iWord(rd) |
              static_cast<uint32_t>((value >> 32) & 0xfffff) << 5};
}
std::vector<uint32_t> EncodeLi(const std::vector<uint32_t>& w, uint64_t v) {
  return {Li::EncodeLu12i(w[0], v), Li::EncodeOri(w[1], v),
          Li::EncodeLu32i(w[2], v)};
}
uint64_t DecodeLi(const std::vector<uint32_t>& w) {
  return Li::Decode(w[0], w[1], w[2]);
}

// ---------------------------------------------------------------------------
// Loong64Li

TEST(Loong64Li, RangeIsSignExtended48Bits) {
  for (uint64_t v : {kMaxLi, kMinLi, uint64_t{0}, ~uint64_t{0},
                     uint64_t{0xffffffff}, uint64_t{0x800}}) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", v));
    EXPECT_TRUE(Li::InRange(v));
    EXPECT_EQ(DecodeLi(EncodeLi(LiWords(kT7, 0), v)), v);
    EXPECT_EQ(EncodeLi(LiWords(kT7, 0), v), LiWords(kT7, v));
  }
  EXPECT_FALSE(Li::InRange(kMaxLi + 1));
  EXPECT_FALSE(Li::InRange(kMinLi - 1));
  EXPECT_FALSE(Li::InRange(uint64_t{1} << 51));
}

TEST(Loong64Li, EncodingChangesOnlyTheImmediates) {
  std::mt19937_64 rng(0x6c6f6f6e);
  for (int i = 0; i < 2000; ++i) {
    const std::vector<uint32_t> w = {static_cast<uint32_t>(rng()),
                                     static_cast<uint32_t>(rng()),
                                     static_cast<uint32_t>(rng())};
    const uint64_t v = SignExtendLow<D>(rng(), 48);
    const auto e = EncodeLi(w, v);
    EXPECT_EQ(e[0] & ~Loong64Words::kSi20Mask, w[0] & ~Loong64Words::kSi20Mask);
    EXPECT_EQ(e[1] & ~Loong64Words::kUi12Mask, w[1] & ~Loong64Words::kUi12Mask);
    EXPECT_EQ(e[2] & ~Loong64Words::kSi20Mask, w[2] & ~Loong64Words::kSi20Mask);
    EXPECT_EQ(DecodeLi(e), v);
    EXPECT_EQ(Li::DecodeTag(e[0], e[1], e[2]), static_cast<uint32_t>(v));
  }
}

// ---------------------------------------------------------------------------
// Loong64Lu12iOri

TEST(Loong64Lu12iOri, RangeIsUint32) {
  for (uint64_t v : {uint64_t{0}, uint64_t{0xffffffff}, uint64_t{0x80000000},
                     uint64_t{0xfff}, uint64_t{0x1000}}) {
    EXPECT_TRUE(Lu12iOri::InRange(v));
    const uint32_t hi = Lu12iOri::EncodeLu12i(Loong64Words::Lu12iWord(kT0), v);
    const uint32_t lo = Lu12iOri::EncodeOri(Loong64Words::OriWord(kT0), v);
    EXPECT_EQ(Lu12iOri::Decode(hi, lo), v);
  }
  EXPECT_FALSE(Lu12iOri::InRange(0x1'00000000));
  EXPECT_FALSE(Lu12iOri::InRange(~uint64_t{0}));
}

TEST(Loong64Lu12iOri, EncodingChangesOnlyTheImmediates) {
  std::mt19937_64 rng(0x6c753132);
  for (int i = 0; i < 2000; ++i) {
    const auto hi = static_cast<uint32_t>(rng());
    const auto lo = static_cast<uint32_t>(rng());
    const uint64_t v = rng() & 0xffffffff;
    const uint32_t eh = Lu12iOri::EncodeLu12i(hi, v);
    const uint32_t el = Lu12iOri::EncodeOri(lo, v);
    EXPECT_EQ(eh & ~Loong64Words::kSi20Mask, hi & ~Loong64Words::kSi20Mask);
    EXPECT_EQ(el & ~Loong64Words::kUi12Mask, lo & ~Loong64Words::kUi12Mask);
    EXPECT_EQ(Lu12iOri::Decode(eh, el), v);
  }
}

// ---------------------------------------------------------------------------
// Loong64Branch26

TEST(Loong64Branch26, ReachIsPlusMinus128MiB) {
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    for (int64_t delta : {k128MiB - 4, -k128MiB, int64_t{0}, int64_t{4},
                          int64_t{-4}, int64_t{0x12344}}) {
      const uint64_t target = Plus(site, delta);
      ASSERT_TRUE(Branch::InRange(site, target)) << delta;
      const uint32_t insn = Branch::Encode(kB, site, target);
      EXPECT_EQ(Branch::Decode(insn, site), target) << delta;
      EXPECT_TRUE(Branch::IsBranch(insn));
    }
    EXPECT_FALSE(Branch::InRange(site, Plus(site, k128MiB)));
    EXPECT_FALSE(Branch::InRange(site, Plus(site, -k128MiB - 4)));
    EXPECT_FALSE(Branch::InRange(site, Plus(site, 2)));
    EXPECT_FALSE(Branch::InRange(site, Plus(site, -k128MiB - 2)));
  }
  // Known answers: offs26 = -1 and the most positive offset.
  EXPECT_EQ(Branch::Encode(kB, 0x1000, 0x1000 - 4), 0x53ffffffu);
  EXPECT_EQ(Branch::Encode(kB, 0, k128MiB - 4), 0x53fffdffu);
  EXPECT_EQ(Branch::Encode(kB, 0, 4), 0x50000400u);
}

TEST(Loong64Branch26, EncodingChangesOnlyOffs26) {
  std::mt19937_64 rng(0x62323620);
  for (int i = 0; i < 2000; ++i) {
    const auto insn = static_cast<uint32_t>(rng());
    const uint64_t site = rng() & ~uint64_t{3};
    const int64_t delta =
        static_cast<int64_t>(SignExtendLow<D>(rng(), 28)) & ~int64_t{3};
    const uint64_t target = Plus(site, delta);
    ASSERT_TRUE(Branch::InRange(site, target));
    const uint32_t e = Branch::Encode(insn, site, target);
    EXPECT_EQ(e & 0xfc000000u, insn & 0xfc000000u);
    EXPECT_EQ(Branch::Decode(e, site), target);
  }
  EXPECT_TRUE(Branch::IsBranch(kBl));
  EXPECT_FALSE(Branch::IsBranch(0x4c000260));  // jirl
  EXPECT_FALSE(Branch::IsBranch(0x58000000));  // beq
}

// ---------------------------------------------------------------------------
// Relocation sites

// A code object: a nop, li $t7 (call target), jirl $ra, $t7, 0,
// lu12i.w/ori $t0 (signature id), an 8-byte internal reference, li $a0.
struct HandCode {
  std::vector<uint8_t> bytes;
  static constexpr uint32_t kCallPc = 4;
  static constexpr uint32_t kSigPc = 20;
  static constexpr uint32_t kInternalPc = 28;
  static constexpr uint32_t kExternalPc = 36;
};

HandCode MakeHandCode() {
  std::vector<uint32_t> words = {0x03400000};
  for (uint32_t w : LiWords(kT7, 0x0000555a'00001230)) words.push_back(w);
  words.push_back(0x4c000261);  // jirl $ra, $t7, 0
  words.push_back(Loong64Words::Lu12iWord(kT0) | 0x1 << 5);
  words.push_back(Loong64Words::OriWord(kT0) | 0x2 << 10);
  words.push_back(0x00000040);  // internal reference, low half
  words.push_back(0x00000000);
  for (uint32_t w : LiWords(4, 0xffff8000'00000010)) words.push_back(w);
  return {Words(words)};
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

TEST(Loong64Sites, ValidSites) {
  const HandCode c = MakeHandCode();
  for (RelocMode mode : {RelocMode::kWasmCall, RelocMode::kWasmStubCall,
                         RelocMode::kExternalReference}) {
    auto site = Locate(c.bytes, mode, HandCode::kCallPc);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kLoong64Li);
    EXPECT_EQ(site->field_offset, HandCode::kCallPc);
    EXPECT_EQ(site->field_size, 12u);
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
    EXPECT_EQ(site->form, SiteForm::kLoong64Lu12iOri);
    EXPECT_EQ(site->field_size, 8u);
    EXPECT_EQ(ReadTag(kArch, c.bytes.data(), *site), 0x1002u);
  }
  auto internal =
      Locate(c.bytes, RelocMode::kInternalReference, HandCode::kInternalPc);
  ASSERT_TRUE(internal.ok()) << internal.status();
  EXPECT_EQ(internal->form, SiteForm::kAbsolute64);
  EXPECT_EQ(ReadTag(kArch, c.bytes.data(), *internal), 0x40u);
}

TEST(Loong64Sites, MalformedSitesAreDataLoss) {
  const HandCode c = MakeHandCode();
  const uint64_t file = 0x1000;
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall, 0), file);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall, 16), file + 16);
  // The 32-bit form where the 48-bit one is required.
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCall, HandCode::kSigPc),
                 file + HandCode::kSigPc);
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
  ExpectDataLoss(Locate(c.bytes, RelocMode::kWasmCodePointerTableEntry,
                        static_cast<uint32_t>(c.bytes.size() - 4)),
                 file + c.bytes.size() - 4);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kInternalReferenceEncoded,
                        HandCode::kInternalPc),
                 file + HandCode::kInternalPc);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kVeneerPool, 0), file);
  ExpectDataLoss(Locate(c.bytes, RelocMode::kNearBuiltinEntry, 0), file);

  // b / bl: valid for non-wasm modes in V8, never at a wasm site.
  for (uint32_t branch : {kB | 0x400, kBl | 0x400}) {
    const auto code = Words({branch, 0x03400000, 0x03400000});
    ExpectDataLoss(Locate(code, RelocMode::kWasmCall, 0, 0x80), 0x80);
  }

  struct Corruption {
    int word;
    uint32_t value;
  };
  const std::vector<uint32_t> good = LiWords(kT7, 0x1234'56789abc);
  const Corruption corruptions[] = {
      {0, Loong64Words::kLu32iD | kT7},          // lu32i.d first
      {0, 0x1c000000 | kT7},                     // pcaddu12i
      {1, Loong64Words::OriWord(kT0)},           // ori on another register
      {1, Loong64Words::kOri | kT0 << 5 | kT7},  // ori rj != rd
      {1, 0x02800000 | kT7 << 5 | kT7},          // addi.w, not ori
      {2, Loong64Words::Lu32iWord(kT0)},         // lu32i.d on another reg
      {2, 0x03000000 | kT7 << 5 | kT7},          // lu52i.d, not lu32i.d
      {2, Loong64Words::Lu12iWord(kT7)},         // lu12i.w again
  };
  for (const Corruption& k : corruptions) {
    std::vector<uint32_t> w = good;
    w[k.word] = k.value;
    SCOPED_TRACE(absl::StrFormat("word %d = 0x%08x", k.word, k.value));
    ExpectDataLoss(Locate(Words(w), RelocMode::kWasmStubCall, 0, 0x200), 0x200);
  }
  ExpectDataLoss(
      Locate(Words({Loong64Words::Lu12iWord(kT0), Loong64Words::OriWord(kT7)}),
             RelocMode::kWasmCanonicalSigId, 0, 0),
      0);
  EXPECT_TRUE(
      Locate(Words({Loong64Words::Lu12iWord(kT0), Loong64Words::OriWord(kT0)}),
             RelocMode::kWasmCanonicalSigId, 0, 0)
          .ok());
}

TEST(Loong64Sites, ModesUsed) {
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

TEST(Loong64Sites, TagsAreStoredAsZeroExtendedAddresses) {
  std::vector<uint8_t> code = MakeHandCode().bytes;
  auto call = Locate(code, RelocMode::kWasmCall, HandCode::kCallPc);
  ASSERT_TRUE(call.ok()) << call.status();
  for (uint64_t tag : {uint64_t{0}, uint64_t{1}, uint64_t{0x663},
                       uint64_t{0x80000000}, uint64_t{0xffffffff}}) {
    SCOPED_TRACE(absl::StrFormat("tag 0x%x", tag));
    ASSERT_TRUE(TagFitsForm(kArch, *call, tag));
    ASSERT_TRUE(WriteTag(kArch, code.data(), *call, tag));
    EXPECT_EQ(ReadTag(kArch, code.data(), *call), tag);
    EXPECT_EQ(ReadTarget(kArch, code.data(), 0, *call), tag);
    const auto expected = LiWords(kT7, tag);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(WordAt(code, HandCode::kCallPc + 4 * i), expected[i]) << i;
    }
    EXPECT_EQ(WordAt(code, HandCode::kCallPc + 8),
              Loong64Words::Lu32iWord(kT7));
  }
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(TagFitsForm(kArch, *call, 0x1'00000000));
  EXPECT_FALSE(WriteTag(kArch, code.data(), *call, 0x1'00000000));
  EXPECT_EQ(code, before);
  ASSERT_TRUE(WriteTarget(kArch, code.data(), 0, *call, 0xffffabcd'12345678));
  EXPECT_EQ(ReadTag(kArch, code.data(), *call), 0x12345678u);

  auto sig = Locate(code, RelocMode::kWasmCanonicalSigId, HandCode::kSigPc);
  ASSERT_TRUE(sig.ok()) << sig.status();
  ASSERT_TRUE(WriteTag(kArch, code.data(), *sig, 0xfedcba98));
  EXPECT_EQ(WordAt(code, HandCode::kSigPc),
            Loong64Words::Lu12iWord(kT0) | 0xfedcbu << 5);
  EXPECT_EQ(WordAt(code, HandCode::kSigPc + 4),
            Loong64Words::OriWord(kT0) | 0xa98u << 10);
  EXPECT_EQ(ReadTag(kArch, code.data(), *sig), 0xfedcba98u);
  EXPECT_FALSE(WriteTag(kArch, code.data(), *sig, 0x1'00000000));
}

TEST(Loong64Sites, TargetsAtTheBoundaries) {
  std::vector<uint8_t> code = MakeHandCode().bytes;
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
}

// ---------------------------------------------------------------------------
// Jump-table slots (jump-table-assembler.cc, V8 13.6)

TEST(Loong64JumpTable, SlotBytes) {
  const ArchTraits& t = TraitsOf(kArch);
  ASSERT_TRUE(JumpTablesSupported(kArch));
  const JumpTableLayout layout = ComputeJumpTableLayout(kArch, 6, 121, true);
  const uint64_t base = 0x000000aa'bb000000;
  const uint64_t near_address = base + layout.NearSlotOffset(t, 0);
  const uint64_t lazy_address = base + layout.LazySlotOffset(t, 0);
  std::vector<uint8_t> near(t.jump_table_slot_size);
  ASSERT_TRUE(
      WriteNearJumpSlot(kArch, near.data(), near_address, lazy_address));
  const uint32_t offs = static_cast<uint32_t>(lazy_address - near_address) / 4;
  EXPECT_EQ(near, Le32(kB | (offs & 0xffff) << 10 | offs >> 16));
  auto read = ReadNearJumpSlotTarget(kArch, near.data(), near_address);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, lazy_address);

  std::vector<uint8_t> far(t.far_jump_table_slot_size);
  const uint64_t far_address = base + layout.FarSlotOffset(t, 17);
  WriteFarJumpSlot(kArch, far.data(), far_address, 0x0000aaaa'bbbbcccc);
  EXPECT_EQ(far, (std::vector<uint8_t>{0x93, 0x00, 0x00, 0x18, 0x73, 0x02,
                                       0xc0, 0x28, 0x60, 0x02, 0x00, 0x4c,
                                       0x00, 0x00, 0x40, 0x03, 0xcc, 0xcc,
                                       0xbb, 0xbb, 0xaa, 0xaa, 0x00, 0x00}));
  auto far_read = ReadFarJumpSlotTarget(kArch, far.data());
  ASSERT_TRUE(far_read.ok()) << far_read.status();
  EXPECT_EQ(*far_read, 0x0000aaaa'bbbbccccu);

  std::vector<uint8_t> lazy(t.lazy_compile_slot_size);
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), lazy_address, 0x00012345,
                                   far_address));
  const uint32_t back =
      static_cast<uint32_t>((far_address - (lazy_address + 8)) >> 2) &
      0x3ffffff;
  EXPECT_EQ(lazy, Words({0x1400000c | 0x12u << 5, 0x0380018c | 0x345u << 10,
                         kB | (back & 0xffff) << 10 | back >> 16}));
}

TEST(Loong64JumpTable, NearAndLazyReachIs128MiB) {
  std::vector<uint8_t> near(4, 0xee);
  const uint64_t slot = 0x00007f00'00000000;
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), slot, slot + k128MiB - 4));
  EXPECT_EQ(*ReadNearJumpSlotTarget(kArch, near.data(), slot),
            slot + k128MiB - 4);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), slot, slot - k128MiB));
  EXPECT_EQ(*ReadNearJumpSlotTarget(kArch, near.data(), slot), slot - k128MiB);
  const std::vector<uint8_t> before = near;
  EXPECT_FALSE(WriteNearJumpSlot(kArch, near.data(), slot, slot + k128MiB));
  EXPECT_FALSE(WriteNearJumpSlot(kArch, near.data(), slot, slot - k128MiB - 4));
  EXPECT_FALSE(WriteNearJumpSlot(kArch, near.data(), slot, slot + 2));
  EXPECT_EQ(near, before);

  std::vector<uint8_t> lazy(12, 0xee);
  const std::vector<uint8_t> lazy_before = lazy;
  // The b is at slot + 8.
  EXPECT_TRUE(
      WriteLazyCompileSlot(kArch, lazy.data(), slot, 7, slot + 8 - k128MiB));
  lazy = lazy_before;
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, lazy.data(), slot, 7,
                                    slot + 8 - k128MiB - 4));
  EXPECT_FALSE(
      WriteLazyCompileSlot(kArch, lazy.data(), slot, 7, slot + 8 + k128MiB));
  EXPECT_EQ(lazy, lazy_before);
}

TEST(Loong64JumpTable, ForeignBytesAreNotSlots) {
  std::vector<uint8_t> slot(24, 0);
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, slot.data(), 0).ok());
  EXPECT_FALSE(ReadFarJumpSlotTarget(kArch, slot.data()).ok());
  // bl is not a near slot.
  const auto bl = Le32(kBl);
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, bl.data(), 0).ok());
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

// The first llvm-mc that can disassemble LoongArch, or "".
std::string LlvmMc() {
  if (const char* env = std::getenv("LLVM_MC_LOONG64");
      env != nullptr && *env) {
    return env;
  }
  for (const char* name :
       {"llvm-mc-16", "llvm-mc-17", "llvm-mc-18", "llvm-mc-19", "llvm-mc"}) {
    std::string out;
    const std::string probe = absl::StrFormat(
        "command -v %s >/dev/null 2>&1 && echo 0x00 0x00 "
        "0x40 0x03 | %s --disassemble -triple=loongarch64 "
        "2>&1",
        name, name);
    if (wasmcache::testing::RunCommand(probe, &out) == 0 &&
        out.find("nop") != std::string::npos) {
      return name;
    }
  }
  return "";
}

#define REQUIRE_LLVM_MC(var)                                              \
  const std::string var = LlvmMc();                                       \
  ASSERT_FALSE(var.empty())                                               \
      << "no llvm-mc with LoongArch support (LLVM >= 16) found: install " \
         "it (apt-get install -y llvm-16) or set LLVM_MC_LOONG64; the "   \
         "loong64 encodings cannot be checked against an independent "    \
         "disassembler without it"

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

std::vector<Insn> Disassemble(const std::string& mc,
                              const std::vector<std::vector<uint32_t>>& lines) {
  std::vector<std::vector<uint8_t>> bytes;
  for (const auto& line : lines) {
    bytes.emplace_back();
    for (uint32_t w : line) {
      for (uint8_t b : Le32(w)) bytes.back().push_back(b);
    }
  }
  std::vector<Insn> insns;
  for (auto& insn : wasmcache::testing::DisassembleWithLlvmMc(
           mc, "-triple=loongarch64", bytes, '#')) {
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

TEST(Loong64LlvmMc, DisassemblerIsTheOneThisFileParses) {
  REQUIRE_LLVM_MC(mc);
  const auto insns =
      Disassemble(mc, {LiWords(kT7, 0xffff8000'00000fff), {0x53ffffff}});
  ASSERT_EQ(insns.size(), 4u);
  EXPECT_EQ(insns[0].mnemonic, "lu12i.w");
  EXPECT_EQ(insns[0].operands, (std::vector<std::string>{"$t7", "0"}));
  EXPECT_EQ(insns[1].operands,
            (std::vector<std::string>{"$t7", "$t7", "4095"}));
  EXPECT_EQ(insns[2].operands, (std::vector<std::string>{"$t7", "-32768"}));
  EXPECT_EQ(insns[3].mnemonic, "b");
  EXPECT_EQ(insns[3].operands, (std::vector<std::string>{"-4"}));
}

// What the disassembled li sequence loads into its register, as the
// machine executes it: lu12i.w sign-extends from bit 31, ori ors the low
// 12 bits in, lu32i.d sets bits 51:32 and sign-extends from bit 51.
std::optional<uint64_t> LiValue(const Insn* insn, bool with_lu32i) {
  if (insn[0].mnemonic != "lu12i.w" || insn[1].mnemonic != "ori" ||
      (with_lu32i && insn[2].mnemonic != "lu32i.d")) {
    return std::nullopt;
  }
  const std::string& reg = insn[0].operands.at(0);
  if (insn[1].operands.size() != 3 || insn[1].operands[0] != reg ||
      insn[1].operands[1] != reg) {
    return std::nullopt;
  }
  const auto hi = ParseInt(insn[0].operands.at(1));
  const auto lo = ParseInt(insn[1].operands[2]);
  if (!hi || !lo || *lo < 0 || *lo > 0xfff || *hi < -(1 << 19) ||
      *hi >= (1 << 19)) {
    return std::nullopt;
  }
  uint64_t value =
      static_cast<uint64_t>(*hi * 4096) | static_cast<uint64_t>(*lo);
  if (!with_lu32i) return value;
  if (insn[2].operands.size() != 2 || insn[2].operands[0] != reg) {
    return std::nullopt;
  }
  const auto top = ParseInt(insn[2].operands[1]);
  if (!top || *top < -(1 << 19) || *top >= (1 << 19)) return std::nullopt;
  value = (value & 0xffffffff) | static_cast<uint64_t>(*top) << 32;
  return value;
}

TEST(Loong64LlvmMc, LiBoundariesAndRandomValues) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint64_t> values = {kMaxLi,     kMinLi, 0,          ~uint64_t{0},
                                  0x7ffff800, 0x800,  0xffffffff, 0x80000000};
  std::mt19937_64 rng(0x6c693438);
  for (int i = 0; i < 100; ++i) values.push_back(SignExtendLow<D>(rng(), 48));
  std::vector<std::vector<uint32_t>> lines;
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(Li::InRange(values[i]));
    lines.push_back(EncodeLi(LiWords(4 + i % 27, 0), values[i]));
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 3 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    EXPECT_EQ(LiValue(&insns[3 * i], true), values[i]);
  }
}

TEST(Loong64LlvmMc, Lu12iOriBoundariesAndRandomValues) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint64_t> values = {0,          0xffffffff, 0x7fffffff,
                                  0x80000000, 0xfff,      0x1000};
  std::mt19937_64 rng(0x6c753332);
  for (int i = 0; i < 100; ++i) values.push_back(rng() & 0xffffffff);
  std::vector<std::vector<uint32_t>> lines;
  for (uint64_t v : values) {
    lines.push_back({Lu12iOri::EncodeLu12i(Loong64Words::Lu12iWord(kT0), v),
                     Lu12iOri::EncodeOri(Loong64Words::OriWord(kT0), v)});
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 2 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    EXPECT_EQ(insns[2 * i].operands.at(0), "$t0");
    // The machine sign-extends the 32-bit result; the field holds the u32.
    const auto v = LiValue(&insns[2 * i], false);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v & 0xffffffff, values[i]);
  }
}

TEST(Loong64LlvmMc, Branch26BoundariesAndRandomOffsets) {
  REQUIRE_LLVM_MC(mc);
  struct Case {
    uint32_t opcode;
    uint64_t site;
    int64_t delta;
  };
  std::vector<Case> cases;
  for (uint64_t site : kSites) {
    for (int64_t delta : {k128MiB - 4, -k128MiB, int64_t{0}, int64_t{-4},
                          int64_t{4}, int64_t{0x40000}, int64_t{-0x40000}}) {
      cases.push_back({kB, site, delta});
    }
  }
  std::mt19937_64 rng(0x6f666673);
  for (int i = 0; i < 100; ++i) {
    cases.push_back(
        {i % 2 ? kB : kBl, rng() & ~uint64_t{3},
         static_cast<int64_t>(SignExtendLow<D>(rng(), 28)) & ~int64_t{3}});
  }
  std::vector<std::vector<uint32_t>> lines;
  for (const Case& c : cases) {
    const uint64_t target = Plus(c.site, c.delta);
    ASSERT_TRUE(Branch::InRange(c.site, target));
    lines.push_back({Branch::Encode(c.opcode, c.site, target)});
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("delta %d", cases[i].delta));
    EXPECT_EQ(insns[i].mnemonic, cases[i].opcode == kB ? "b" : "bl");
    ASSERT_EQ(insns[i].operands.size(), 1u);
    EXPECT_EQ(ParseInt(insns[i].operands[0]), cases[i].delta);
  }
}

TEST(Loong64LlvmMc, JumpTableSlots) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(kArch);
  const uint64_t slot = 0x00007f00'00100000;
  std::vector<std::vector<uint32_t>> lines;
  // Near slots at the reach boundaries.
  const int64_t near_deltas[] = {k128MiB - 4, -k128MiB, 0, 0x1234};
  for (int64_t delta : near_deltas) {
    std::vector<uint8_t> near(t.jump_table_slot_size);
    ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), slot, Plus(slot, delta)));
    lines.push_back({WordAt(near, 0)});
  }
  // Far slot: its four instruction words (the target is data).
  std::vector<uint8_t> far(t.far_jump_table_slot_size);
  WriteFarJumpSlot(kArch, far.data(), slot, 0x12345678);
  lines.push_back(
      {WordAt(far, 0), WordAt(far, 4), WordAt(far, 8), WordAt(far, 12)});
  // Lazy slots.
  const uint32_t indices[] = {0,       1,          0xfff,     0x1000,
                              0x7ffff, 0x12345678, 0xffffffff};
  const int64_t lazy_delta = -0x4000;
  for (uint32_t index : indices) {
    std::vector<uint8_t> lazy(t.lazy_compile_slot_size);
    ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), slot, index,
                                     Plus(slot + 8, lazy_delta)));
    lines.push_back({WordAt(lazy, 0), WordAt(lazy, 4), WordAt(lazy, 8)});
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 4 + 4 + 3 * std::size(indices));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(insns[i].mnemonic, "b");
    EXPECT_EQ(ParseInt(insns[i].operands.at(0)), near_deltas[i]);
  }
  const Insn* f = &insns[4];
  EXPECT_EQ(f[0].mnemonic, "pcaddi");
  EXPECT_EQ(f[0].operands, (std::vector<std::string>{"$t7", "4"}));
  // pcaddi: t7 = slot + 4 * 4, the 8-byte target's offset.
  EXPECT_EQ(4 * ParseInt(f[0].operands[1]).value_or(0), 16);
  EXPECT_EQ(f[1].mnemonic, "ld.d");
  EXPECT_EQ(f[1].operands, (std::vector<std::string>{"$t7", "$t7", "0"}));
  EXPECT_EQ(f[2].mnemonic, "jr");
  EXPECT_EQ(f[2].operands, (std::vector<std::string>{"$t7"}));
  EXPECT_EQ(f[3].mnemonic, "nop");
  for (size_t i = 0; i < std::size(indices); ++i) {
    SCOPED_TRACE(absl::StrFormat("function index 0x%x", indices[i]));
    const Insn* lazy = &insns[8 + 3 * i];
    EXPECT_EQ(lazy[0].operands.at(0), "$t0");
    const auto value = LiValue(lazy, false);
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(static_cast<uint32_t>(*value), indices[i]);
    EXPECT_EQ(lazy[2].mnemonic, "b");
    EXPECT_EQ(ParseInt(lazy[2].operands.at(0)), lazy_delta);
  }
}

}  // namespace
}  // namespace wasmcache::reference
