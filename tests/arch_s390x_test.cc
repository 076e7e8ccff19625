// s390x codec: encoders (reference/encoders/s390x.h over NativeDomain),
// relocation sites (reference/relocation.h), jump-table slots
// (reference/jump_table.h), and the produced bytes checked against an
// independent disassembler, llvm-mc -triple=s390x. s390x is big-endian:
// every multi-byte field below is checked in big-endian order.
//
// llvm-mc is required: without it the oracle tests fail. It is found as
// $LLVM_MC, else llvm-mc or llvm-mc-14 in PATH. Output lines parsed (LLVM 14),
// "\t<mnemonic>\t<operands>" after "\t.text":
//   iihf %rN, <uimm32>      iilf %rN, <uimm32>       lgfi %r7, <simm32>
//   jg 0x<addr>             brcl 15: <addr> is absolute, counted from the
//   larl %r1, 0x<addr>      start of llvm-mc's input (all lines are one
//                           stream), modulo 2^64
//   lg %r1, <d>(%r1)        br %r1      lr %r0, %r0      lgr %r0, %r0

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
#include "reference/encoders/s390x.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using Pair = S390xIihfIilf<D>;
using Relative = S390xRelative32<D>;
constexpr Arch kArch = Arch::kS390x;
constexpr ByteOrder kOrder = ByteOrder::kBig;
constexpr int64_t k4GiB = int64_t{1} << 32;

uint64_t Plus(uint64_t base, int64_t delta) {
  return base + static_cast<uint64_t>(delta);
}

// iihf rN, hi ; iilf rN, lo (12 bytes).
std::vector<uint8_t> PairBytes(uint32_t reg, uint64_t value) {
  std::vector<uint8_t> out = {
      0xc0, static_cast<uint8_t>(reg << 4 | 8), 0, 0, 0, 0,
      0xc0, static_cast<uint8_t>(reg << 4 | 9), 0, 0, 0, 0};
  StoreUnaligned(out.data() + 2, Pair::EncodeHigh(value), 4, kOrder);
  StoreUnaligned(out.data() + 8, Pair::EncodeLow(value), 4, kOrder);
  return out;
}
uint32_t Load32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}

// ---------------------------------------------------------------------------
// S390xIihfIilf

TEST(S390xIihfIilf, RecognisesThePairOfOneRegister) {
  for (uint32_t r : {0u, 1u, 12u, 15u}) {
    const auto b = PairBytes(r, 0x0123456789abcdef);
    EXPECT_TRUE(Pair::IsSequence(b[0] << 8 | b[1], b[6] << 8 | b[7])) << r;
  }
  EXPECT_FALSE(Pair::IsSequence(0xc0c8, 0xc0b9));  // other register
  EXPECT_FALSE(Pair::IsSequence(0xc0c9, 0xc0c8));  // swapped
  EXPECT_FALSE(Pair::IsSequence(0xc0c8, 0xc0c8));  // iihf twice
  EXPECT_FALSE(Pair::IsSequence(0xc0c9, 0xc0c9));  // iilf twice
  EXPECT_FALSE(Pair::IsSequence(0xc1c8, 0xc0c9));  // other opcode
  EXPECT_FALSE(Pair::IsSequence(0xc0ce, 0xc0c9));  // llihf
}

TEST(S390xIihfIilf, ValuesBoundariesAndFields) {
  const auto b = PairBytes(12, 0x0123456789abcdef);
  EXPECT_EQ(b, (std::vector<uint8_t>{0xc0, 0xc8, 0x01, 0x23, 0x45, 0x67, 0xc0,
                                     0xc9, 0x89, 0xab, 0xcd, 0xef}));
  for (uint64_t v : {uint64_t{0}, uint64_t{0xffffffff}, uint64_t{1} << 32,
                     ~uint64_t{0}, uint64_t{0x8000000000000000}}) {
    EXPECT_EQ(Pair::Decode(Pair::EncodeHigh(v), Pair::EncodeLow(v)), v);
  }
  EXPECT_TRUE(Pair::FitsValue32(0xffffffff));
  EXPECT_FALSE(Pair::FitsValue32(uint64_t{1} << 32));
  EXPECT_EQ(Pair::EncodeTagHigh(0xffffffff), 0u);
  EXPECT_EQ(Pair::EncodeTagLow(0xffffffff), 0xffffffffu);
  EXPECT_EQ(Pair::DecodeTag(0x12345678, 7), 7u);
}

TEST(S390xIihfIilf, RandomValuesRoundTripAndOnlyImmediatesChange) {
  std::mt19937_64 rng(0x53900001);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = rng();
    const auto reg = static_cast<uint32_t>(rng() % 16);
    const auto b = PairBytes(reg, v);
    const auto zero = PairBytes(reg, 0);
    for (int k : {0, 1, 6, 7}) ASSERT_EQ(b[k], zero[k]);
    ASSERT_EQ(Pair::Decode(Load32(b.data() + 2), Load32(b.data() + 8)), v);
  }
}

// ---------------------------------------------------------------------------
// S390xRelative32

constexpr uint64_t kSites[] = {0x000003ff'a0000000, 0x0000000100000000,
                               0x0000000000001000, 0xffffffff'00000000};

TEST(S390xRelative32, ReachIsInt32Halfwords) {
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    const uint64_t last_up = Plus(site, k4GiB - 2);
    const uint64_t last_down = Plus(site, -k4GiB);
    EXPECT_TRUE(Relative::InRange(site, last_up));
    EXPECT_TRUE(Relative::InRange(site, last_down));
    EXPECT_FALSE(Relative::InRange(site, last_up + 2));
    EXPECT_FALSE(Relative::InRange(site, last_down - 2));
    EXPECT_FALSE(Relative::InRange(site, site + 1));
    EXPECT_FALSE(Relative::InRange(site, Plus(site, int64_t{1} << 40)));
    EXPECT_EQ(Relative::Encode(site, last_up), 0x7fffffffu);
    EXPECT_EQ(Relative::Encode(site, last_down), 0x80000000u);
    EXPECT_EQ(Relative::Decode(0x7fffffff, site), last_up);
    EXPECT_EQ(Relative::Decode(0x80000000, site), last_down);
  }
  EXPECT_TRUE(Relative::IsBrcl(0xc0f4));
  EXPECT_TRUE(Relative::IsBrasl(0xc0e5));
  EXPECT_FALSE(Relative::IsBrcl(0xc0f5));
  EXPECT_FALSE(Relative::IsBrasl(0xc0e4));
}

TEST(S390xRelative32, RandomTargetsRoundTrip) {
  std::mt19937_64 rng(0x53900002);
  std::uniform_int_distribution<int64_t> halfwords(INT32_MIN, INT32_MAX);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t site = rng() & ~uint64_t{1};
    const int64_t h = halfwords(rng);
    const uint64_t target = Plus(site, 2 * h);
    ASSERT_TRUE(Relative::InRange(site, target));
    ASSERT_EQ(Relative::Encode(site, target), static_cast<uint32_t>(h));
    ASSERT_EQ(Relative::Decode(Relative::Encode(site, target), site), target);
  }
}

// ---------------------------------------------------------------------------
// Sites

absl::StatusCode LocateCode(absl::Span<const uint8_t> code, RelocEntry e) {
  return LocateSite(kArch, code, e, 0x2000).status().code();
}

// lr r0,r0 x2 (4 bytes), the pair for r12 at 4, basr r14, r12 at 16, then
// 8 bytes of data at 18.
std::vector<uint8_t> CodeWithPair(uint64_t value) {
  std::vector<uint8_t> code = {0x18, 0x00, 0x18, 0x00};
  for (uint8_t b : PairBytes(12, value)) code.push_back(b);
  code.push_back(0x0d);
  code.push_back(0xec);
  for (int i = 0; i < 8; ++i) code.push_back(static_cast<uint8_t>(0x10 + i));
  return code;
}

TEST(S390xSites, PairForEveryMode) {
  const auto code = CodeWithPair(9);
  struct Case {
    RelocMode mode;
    uint8_t variant;
  };
  for (Case c :
       {Case{RelocMode::kWasmCall, 0}, Case{RelocMode::kWasmStubCall, 0},
        Case{RelocMode::kExternalReference, 0},
        Case{RelocMode::kWasmCanonicalSigId, 1},
        Case{RelocMode::kWasmCodePointerTableEntry, 1}}) {
    SCOPED_TRACE(RelocModeName(c.mode));
    auto site = LocateSite(kArch, code, {c.mode, 4, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kS390xIihfIilf);
    EXPECT_EQ(site->field_offset, 4u);
    EXPECT_EQ(site->field_size, 12u);
    EXPECT_EQ(site->variant, c.variant);
    EXPECT_EQ(ReadTag(kArch, code.data(), *site), 9u);
  }
  auto internal =
      LocateSite(kArch, code, {RelocMode::kInternalReference, 18, 0}, 0);
  ASSERT_TRUE(internal.ok()) << internal.status();
  EXPECT_EQ(internal->form, SiteForm::kAbsolute64);
  // Big-endian on every host.
  EXPECT_EQ(ReadTag(kArch, code.data(), *internal), 0x1011121314151617u);
}

TEST(S390xSites, MalformedSitesAreDataLoss) {
  const auto code = CodeWithPair(9);
  // Odd pc, not a pair, pair running past the end, pc past the end, an
  // 8-byte slot running past the end, modes s390x never uses.
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 5, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 10, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(absl::Span<const uint8_t>(code).first(15),
                       {RelocMode::kWasmCall, 4, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 26, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReference, 20, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReferenceEncoded, 4, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kConstPool, 4, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kInternalReferenceEncoded));
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kConstPool));
  EXPECT_TRUE(ModeUsedOnTarget(kArch, RelocMode::kInternalReference));
  // The iilf with another register.
  auto bad = code;
  bad[11] = 0xb9;
  const auto status =
      LocateSite(kArch, bad, {RelocMode::kWasmCall, 4, 0}, 0x2000).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("0x2004"), std::string::npos) << status;
  // brasl / brcl where V8 emits iihf + iilf.
  const std::vector<uint8_t> brasl = {0xc0, 0xe5, 0, 0, 0, 8, 0x18, 0x00};
  const std::vector<uint8_t> brcl = {0xc0, 0xf4, 0, 0, 0, 8, 0x18, 0x00};
  EXPECT_EQ(LocateCode(brasl, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(brcl, {RelocMode::kWasmStubCall, 0, 0}),
            absl::StatusCode::kDataLoss);
}

TEST(S390xSites, TagsAreWrittenCanonicallyAndReadAsTheIilfImmediate) {
  auto code = CodeWithPair(0xdeadbeef'00000005);
  const auto site = *LocateSite(kArch, code, {RelocMode::kWasmCall, 4, 0}, 0);
  EXPECT_EQ(ReadTag(kArch, code.data(), site), 5u);
  EXPECT_TRUE(WriteTag(kArch, code.data(), site, 0xffffffff));
  EXPECT_EQ(code, CodeWithPair(0xffffffff));
  const auto before = code;
  EXPECT_FALSE(TagFitsForm(kArch, site, uint64_t{1} << 32));
  EXPECT_FALSE(WriteTag(kArch, code.data(), site, uint64_t{1} << 32));
  EXPECT_EQ(code, before);
}

TEST(S390xSites, TargetsRoundTripAndConstantsStay32Bit) {
  auto code = CodeWithPair(0);
  const uint64_t code_address = 0x000003ff'12340000;
  const auto call = *LocateSite(kArch, code, {RelocMode::kWasmCall, 4, 0}, 0);
  for (uint64_t t :
       {uint64_t{0}, uint64_t{0x000003ff'12345678}, ~uint64_t{0}}) {
    EXPECT_TRUE(WriteTarget(kArch, code.data(), code_address, call, t));
    EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, call), t);
    EXPECT_EQ(code, CodeWithPair(t));
  }
  const auto sig = *LocateSite(
      kArch, code, {RelocMode::kWasmCodePointerTableEntry, 4, 0}, 0);
  EXPECT_TRUE(WriteTarget(kArch, code.data(), code_address, sig, 0xffffffff));
  EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, sig), 0xffffffffu);
  const auto before = code;
  EXPECT_FALSE(
      WriteTarget(kArch, code.data(), code_address, sig, uint64_t{1} << 32));
  EXPECT_EQ(code, before);
  const auto internal =
      *LocateSite(kArch, code, {RelocMode::kInternalReference, 18, 0}, 0);
  EXPECT_TRUE(WriteTarget(kArch, code.data(), code_address, internal,
                          0x0102030405060708));
  EXPECT_EQ(code[18], 0x01);  // big-endian
  EXPECT_EQ(code[25], 0x08);
  EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, internal),
            0x0102030405060708u);
}

// Random code around a pair with random immediates: writing a target or a
// tag changes only the two imm32 fields.
TEST(S390xSites, OnlyImmediateBytesChange) {
  std::mt19937_64 rng(0x53900005);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> code(32);
    for (uint8_t& b : code) b = static_cast<uint8_t>(rng());
    const auto reg = static_cast<uint8_t>(rng() % 16);
    code[8] = 0xc0;
    code[9] = static_cast<uint8_t>(reg << 4 | 8);
    code[14] = 0xc0;
    code[15] = static_cast<uint8_t>(reg << 4 | 9);
    const auto site =
        LocateSite(kArch, code, {RelocMode::kExternalReference, 8, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    const auto before = code;
    const uint64_t value = rng();
    ASSERT_TRUE(WriteTarget(kArch, code.data(), 0x1000, *site, value));
    ASSERT_EQ(ReadTarget(kArch, code.data(), 0x1000, *site), value);
    for (size_t k = 0; k < code.size(); ++k) {
      const bool field = (k >= 10 && k < 14) || (k >= 16 && k < 20);
      if (!field) ASSERT_EQ(code[k], before[k]) << k;
    }
    ASSERT_TRUE(WriteTag(kArch, code.data(), *site, value & 0xffffffff));
    ASSERT_EQ(ReadTag(kArch, code.data(), *site), value & 0xffffffff);
    for (size_t k = 0; k < code.size(); ++k) {
      const bool field = (k >= 10 && k < 14) || (k >= 16 && k < 20);
      if (!field) ASSERT_EQ(code[k], before[k]) << k;
    }
  }
}

// ---------------------------------------------------------------------------
// Jump-table slots

TEST(S390xJumpTable, NearSlotReachAndBytes) {
  const uint64_t slot_address = 0x000003ff'a0000000;
  std::vector<uint8_t> slot(8, 0);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                slot_address + 0x100));
  EXPECT_EQ(slot, (std::vector<uint8_t>{0xc0, 0xf4, 0x00, 0x00, 0x00, 0x80,
                                        0x18, 0x00}));
  for (int64_t d : {k4GiB - 2, -k4GiB, int64_t{0}, int64_t{-2}}) {
    ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                  Plus(slot_address, d)))
        << d;
    EXPECT_EQ(*ReadNearJumpSlotTarget(kArch, slot.data(), slot_address),
              Plus(slot_address, d));
  }
  const auto before = slot;
  for (int64_t d : {k4GiB, -k4GiB - 2, int64_t{1}, int64_t{1} << 40}) {
    EXPECT_FALSE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                   Plus(slot_address, d)))
        << d;
    EXPECT_EQ(slot, before);
  }
  auto broken = slot;
  broken[1] = 0xe4;  // brcl 14: not an unconditional jump
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, broken.data(), slot_address).ok());
}

// The far slot's `larl r1, .` puts the slot address in r1 and `lg r1, d(r1)`
// reads the target at slot + d; wasmcache writes it exactly there (see
// spec/forms/s390x.md for why this differs from V8's PatchFarJumpSlot).
TEST(S390xJumpTable, FarSlotBytesAndPatchingAtTheLoadOffset) {
  ASSERT_EQ(TraitsOf(kArch).far_jump_table_slot_size, 24u);
  std::vector<uint8_t> slot(24, 0xee);
  WriteFarJumpSlot(kArch, slot.data(), 0x1000, 0x000003ff'12345678);
  const std::vector<uint8_t> expected = {
      0xc0, 0x10, 0x00, 0x00, 0x00, 0x00, 0xe3, 0x10, 0x10, 0x10, 0x00, 0x04,
      0x07, 0xf1, 0x18, 0x00, 0x00, 0x00, 0x03, 0xff, 0x12, 0x34, 0x56, 0x78};
  EXPECT_EQ(slot, expected);
  // lg's 20-bit displacement: DL in bytes 8..9 (low 12 bits), DH byte 10.
  const uint32_t load_offset = ((slot[8] & 0x0f) << 8 | slot[9]) | slot[10]
                                                                       << 12;
  EXPECT_EQ(load_offset, 16u);
  WriteFarJumpSlot(kArch, slot.data(), 0x1000, 0xfedcba98'76543210);
  EXPECT_EQ(LoadUnaligned(slot.data() + load_offset, 8, kOrder),
            0xfedcba98'76543210u);
  for (size_t i = 0; i < load_offset; ++i) EXPECT_EQ(slot[i], expected[i]) << i;
  EXPECT_EQ(*ReadFarJumpSlotTarget(kArch, slot.data()), 0xfedcba98'76543210u);
  auto broken = slot;
  broken[9] = 0x08;  // lg r1, 8(r1)
  EXPECT_FALSE(ReadFarJumpSlotTarget(kArch, broken.data()).ok());
}

TEST(S390xJumpTable, LazySlotBytes) {
  ASSERT_EQ(TraitsOf(kArch).lazy_compile_slot_size, 32u);
  std::vector<uint8_t> slot(32, 0xee);
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, slot.data(), 0x1000, 0x01020304,
                                   0x000003ff'12345678));
  EXPECT_EQ(slot, (std::vector<uint8_t>{
                      0xc0, 0x71, 0x01, 0x02, 0x03, 0x04, 0xc0, 0x10,
                      0x00, 0x00, 0x00, 0x00, 0xe3, 0x10, 0x10, 0x12,
                      0x00, 0x04, 0x07, 0xf1, 0xb9, 0x04, 0x00, 0x00,
                      0x00, 0x00, 0x03, 0xff, 0x12, 0x34, 0x56, 0x78}));
  // larl at slot+6 sets r1 = slot+6; lg r1, 18(r1) reads slot+24.
  EXPECT_EQ(6 + (slot[14] & 0x0f) * 256 + slot[15], 24);
}

// ---------------------------------------------------------------------------
// llvm-mc

struct Insn {
  std::string mnemonic;
  std::string operands;
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
          "command -v llvm-mc 2>/dev/null || command -v llvm-mc-14 2>/dev/null",
          &out) != 0) {
    return "";
  }
  return Trim(out.substr(0, out.find('\n')));
}

#define REQUIRE_LLVM_MC(var)                                               \
  const std::string var = LlvmMc();                                        \
  ASSERT_FALSE(var.empty())                                                \
      << "llvm-mc not found (install LLVM, e.g. apt-get install llvm-14, " \
         "or set LLVM_MC): the encodings cannot be checked against an "    \
         "independent disassembler"

// Disassembles `lines` (runs of bytes, one stream) as s390x; fails on
// diagnostics.
std::vector<Insn> Disassemble(const std::string& mc,
                              const std::vector<std::vector<uint8_t>>& lines) {
  std::vector<Insn> insns;
  for (auto& insn : wasmcache::testing::DisassembleWithLlvmMc(
           mc, "-triple=s390x", lines, '#')) {
    insns.push_back({insn.mnemonic, insn.operands});
  }
  return insns;
}

// Decimal (optionally negative) or 0x-hex, as an unsigned 64-bit pattern.
std::optional<uint64_t> ParseU64(std::string s) {
  s = Trim(s);
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s = s.substr(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s = s.substr(2);
  }
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, base);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

std::vector<std::string> Operands(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(Trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!Trim(cur).empty()) out.push_back(Trim(cur));
  return out;
}

TEST(LlvmMcS390x, IihfIilfDecodeToTheEncodedValue) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint64_t> values = {0,
                                  0xffffffff,
                                  uint64_t{1} << 32,
                                  0x7fffffff'ffffffff,
                                  0x80000000'00000000,
                                  ~uint64_t{0},
                                  0x0123456789abcdef};
  std::mt19937_64 rng(0x53900003);
  for (int i = 0; i < 100; ++i) values.push_back(rng());
  std::vector<std::vector<uint8_t>> lines;
  for (size_t i = 0; i < values.size(); ++i) {
    lines.push_back(PairBytes(static_cast<uint32_t>(i % 16), values[i]));
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 2 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    const std::string r = absl::StrFormat("%%r%d", i % 16);
    const auto hi = Operands(insns[2 * i].operands);
    const auto lo = Operands(insns[2 * i + 1].operands);
    EXPECT_EQ(insns[2 * i].mnemonic, "iihf");
    EXPECT_EQ(insns[2 * i + 1].mnemonic, "iilf");
    ASSERT_EQ(hi.size(), 2u);
    ASSERT_EQ(lo.size(), 2u);
    EXPECT_EQ(hi[0], r);
    EXPECT_EQ(lo[0], r);
    const auto h = ParseU64(hi[1]);
    const auto l = ParseU64(lo[1]);
    ASSERT_TRUE(h.has_value() && l.has_value());
    EXPECT_EQ(*h << 32 | *l, values[i]);
  }
}

TEST(LlvmMcS390x, NearSlotJumpsReachTheTarget) {
  REQUIRE_LLVM_MC(mc);
  std::vector<int64_t> deltas = {0, 2, -2, k4GiB - 2, -k4GiB};
  std::mt19937_64 rng(0x53900004);
  std::uniform_int_distribution<int64_t> halfwords(INT32_MIN, INT32_MAX);
  for (int i = 0; i < 100; ++i) deltas.push_back(2 * halfwords(rng));
  std::vector<std::vector<uint8_t>> lines;
  const uint64_t slot_address = 0x000003ff'a0000000;
  for (int64_t d : deltas) {
    std::vector<uint8_t> slot(8);
    ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                  Plus(slot_address, d)));
    lines.push_back(slot);
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 2 * deltas.size());
  for (size_t i = 0; i < deltas.size(); ++i) {
    SCOPED_TRACE(deltas[i]);
    // llvm-mc places slot i at stream offset 8 * i.
    EXPECT_EQ(insns[2 * i].mnemonic, "jg");
    EXPECT_EQ(ParseU64(insns[2 * i].operands), Plus(8 * i, deltas[i]))
        << insns[2 * i].operands;
    EXPECT_EQ(insns[2 * i + 1].mnemonic + " " + insns[2 * i + 1].operands,
              "lr %r0, %r0");
  }
}

TEST(LlvmMcS390x, FarAndLazySlotCode) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint8_t> far(24), lazy(32);
  WriteFarJumpSlot(kArch, far.data(), 0x1000, 0x000003ff'12345678);
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), 0x2000, 0x80000001,
                                   0x000003ff'12345678));
  // Far code at stream offset 0, lazy code at 16.
  const std::vector<uint8_t> far_code(far.begin(), far.begin() + 16);
  const std::vector<uint8_t> lazy_code(lazy.begin(), lazy.begin() + 24);
  const auto insns = Disassemble(mc, {far_code, lazy_code});
  const std::vector<std::string> expected = {
      "larl %r1, 0x0", "lg %r1, 16(%r1)", "br %r1", "lr %r0, %r0",
      // lgfi's immediate is signed: 0x80000001.
      "lgfi %r7, -2147483647", "larl %r1, 0x16", "lg %r1, 18(%r1)", "br %r1",
      "lgr %r0, %r0"};
  ASSERT_EQ(insns.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(insns[i].mnemonic + " " + insns[i].operands, expected[i]) << i;
  }
  // larl's target is itself: r1 = far slot + 0 and lazy slot + 6; the lg
  // displacements then address the targets the writers stored.
  EXPECT_EQ(LoadUnaligned(far.data() + 0 + 16, 8, kOrder),
            0x000003ff'12345678u);
  EXPECT_EQ(LoadUnaligned(lazy.data() + 6 + 18, 8, kOrder),
            0x000003ff'12345678u);
}

}  // namespace
}  // namespace wasmcache::reference
