// riscv64 codec: encoders (reference/encoders/riscv.h over NativeDomain),
// relocation sites (reference/relocation.h) and jump-table slots
// (reference/jump_table.h): reach boundaries, instruction framing, sites in
// hand-built code, slot bytes, and every encoding checked against an
// independent disassembler, llvm-mc.
//
// llvm-mc is required: without it the disassembler tests fail. It is found
// as $LLVM_MC, else llvm-mc or llvm-mc-14 in PATH. It runs with
// "-triple=riscv64 -mattr=+c,+m,+a,+d -M no-aliases" so that every
// instruction prints under its own name (LLVM 14 format), one per line
// after "\t.text", as "\t<mnemonic>\t<operands>":
//   auipc  <rd>, <imm20>          imm20 unsigned decimal (0..1048575)
//   lui    <rd>, <imm20>
//   jalr   <rd>, <imm12>(<rs1>)   imm12 signed decimal
//   addi | ori | slli  <rd>, <rs1>, <imm>
//   ld     <rd>, <imm12>(<rs1>)
//   jal    <rd>, <offset>         byte offset from the jal, signed decimal
// Registers print under their ABI names (zero, ra, t0, t3, t6, a0).
// Any "warning:" or "error:" line fails the test.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/byte_io.h"
#include "reference/encoders/riscv.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using Bits = RiscvBits;
using AuipcJalr = RiscvAuipcJalr<D>;
using LuiAddi = RiscvLuiAddi<D>;
using LiPtr = RiscvLiPtr48<D>;
using Jal = RiscvJal<D>;

constexpr Arch kArch = Arch::kRiscv64;
constexpr int64_t kTwo31 = int64_t{1} << 31;
// The reach of auipc + jalr: off + 0x800 must fit int32.
constexpr int64_t kPairMax = kTwo31 - 0x800 - 1;   //  0x7ffff7ff
constexpr int64_t kPairMin = -kTwo31 - 0x800;      // -0x80000800
// li_ptr (Sv48): the largest value the six instructions can build.
constexpr uint64_t kLiPtrMax = 0x0000ffffefffffffULL;

// Registers (x numbers).
constexpr uint32_t kRa = 1, kT0 = 5, kA0 = 10, kT3 = 28, kT6 = 31;

// Code addresses the tests place instructions at: typical mmap addresses,
// plus ones near the ends of the address space.
constexpr uint64_t kSites[] = {0x00003f3a'12345000, 0x00005555'00001000,
                               0x0000000100000000, 0xffffffff'00000000, 0};

uint64_t Plus(uint64_t base, int64_t delta) {
  return base + static_cast<uint64_t>(delta);
}

// Instruction builders (RISC-V base formats).
uint32_t UType(uint32_t opcode, uint32_t rd, uint32_t imm20) {
  return opcode | (rd << 7) | (imm20 << 12);
}
uint32_t IType(uint32_t opcode_funct3, uint32_t rd, uint32_t rs1,
               uint32_t imm12) {
  return opcode_funct3 | (rd << 7) | (rs1 << 15) | ((imm12 & 0xfff) << 20);
}
uint32_t Auipc(uint32_t rd) { return UType(Bits::kAuipc, rd, 0); }
uint32_t Jalr(uint32_t rd, uint32_t rs1) {
  return IType(Bits::kJalr, rd, rs1, 0);
}
uint32_t Lui(uint32_t rd) { return UType(Bits::kLui, rd, 0); }
uint32_t Addi(uint32_t rd, uint32_t rs1) {
  return IType(Bits::kAddi, rd, rs1, 0);
}
uint32_t Slli(uint32_t rd, uint32_t shamt) {
  return IType(Bits::kSlli, rd, rd, shamt);
}
uint32_t Ori(uint32_t rd) { return IType(Bits::kOri, rd, rd, 0); }

// The six words of li_ptr rd (immediates zero).
std::vector<uint32_t> LiPtrWords(uint32_t rd) {
  return {Lui(rd), Addi(rd, rd), Slli(rd, 11), Ori(rd), Slli(rd, 6), Ori(rd)};
}

std::vector<uint8_t> Bytes(const std::vector<uint32_t>& words) {
  std::vector<uint8_t> out(4 * words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    StoreUnaligned(out.data() + 4 * i, words[i], 4, ByteOrder::kLittle);
  }
  return out;
}

uint32_t WordAt(const std::vector<uint8_t>& code, size_t offset) {
  return static_cast<uint32_t>(
      LoadUnaligned(code.data() + offset, 4, ByteOrder::kLittle));
}

// Encodes a target into auipc/jalr words (as WriteTarget does).
std::vector<uint32_t> PairFor(uint32_t auipc, uint32_t jalr, uint64_t site,
                              uint64_t target) {
  return {AuipcJalr::EncodeAuipc(auipc, site, target),
          AuipcJalr::EncodeJalr(jalr, site, target)};
}

// ---------------------------------------------------------------------------
// auipc + jalr

TEST(Riscv64AuipcJalr, ReachIsExactWithTheRounding) {
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    EXPECT_TRUE(AuipcJalr::InRange(site, Plus(site, kPairMax)));
    EXPECT_TRUE(AuipcJalr::InRange(site, Plus(site, kPairMin)));
    // First out of range on each side.
    EXPECT_FALSE(AuipcJalr::InRange(site, Plus(site, kPairMax + 1)));
    EXPECT_FALSE(AuipcJalr::InRange(site, Plus(site, kPairMin - 1)));
    // Offsets that fit int32 but not after the +0x800 rounding.
    for (int64_t d : {kTwo31 - 0x800, kTwo31 - 0x7ff, kTwo31 - 1}) {
      EXPECT_FALSE(AuipcJalr::InRange(site, Plus(site, d))) << d;
    }
    // Offsets whose low 32 bits would be in range.
    EXPECT_FALSE(AuipcJalr::InRange(site, Plus(site, int64_t{1} << 32)));
    EXPECT_FALSE(AuipcJalr::InRange(site, Plus(site, -(int64_t{1} << 32))));
    EXPECT_FALSE(AuipcJalr::InRange(site, Plus(site, int64_t{1} << 62)));
    // Round trips at the boundaries and around the rounding points.
    for (int64_t d : {kPairMax, kPairMin, int64_t{0}, int64_t{0x7ff},
                      int64_t{0x800}, int64_t{-0x800}, int64_t{-0x801},
                      int64_t{0xfff}, int64_t{0x1000}, kPairMax - 0x800,
                      -kTwo31, -kTwo31 + 0x7ff, -kTwo31 - 1}) {
      const uint64_t target = Plus(site, d);
      ASSERT_TRUE(AuipcJalr::InRange(site, target)) << d;
      const auto w = PairFor(Auipc(kT3), Jalr(kRa, kT3), site, target);
      EXPECT_EQ(AuipcJalr::Decode(w[0], w[1], site), target) << d;
    }
    // Known fields: the largest offset uses hi20 0x7ffff and lo12 0x7ff; the
    // smallest hi20 0x80000 and lo12 -0x800.
    auto w = PairFor(Auipc(kT3), Jalr(kRa, kT3), site, Plus(site, kPairMax));
    EXPECT_EQ(w[0] >> 12, 0x7ffffu);
    EXPECT_EQ(w[1] >> 20, 0x7ffu);
    w = PairFor(Auipc(kT3), Jalr(kRa, kT3), site, Plus(site, kPairMin));
    EXPECT_EQ(w[0] >> 12, 0x80000u);
    EXPECT_EQ(w[1] >> 20, 0x800u);
  }
}

TEST(Riscv64AuipcJalr, TagsAreByteOffsets) {
  // Every u32 tag fits: the 32-bit sum of the halves gives it back, also
  // where the +0x800 rounding leaves int32 ([0x7ffff800, 0x7fffffff]).
  for (uint64_t tag : {uint64_t{0}, uint64_t{1}, uint64_t{0x7ff},
                       uint64_t{0x800}, uint64_t{0x643}, uint64_t{0x7ffff7ff},
                       uint64_t{0x7ffff800}, uint64_t{0x7fffffff},
                       uint64_t{0x80000000}, uint64_t{0xfffff800},
                       uint64_t{0xffffffff}}) {
    EXPECT_TRUE(AuipcJalr::TagInRange(tag)) << tag;
    const uint32_t t = static_cast<uint32_t>(tag);
    const uint32_t auipc = AuipcJalr::EncodeTagAuipc(Auipc(kT3), t);
    const uint32_t jalr = AuipcJalr::EncodeTagJalr(Jalr(kRa, kT3), t);
    EXPECT_EQ(AuipcJalr::DecodeTag(auipc, jalr), t) << tag;
    // The same bits, read as a target: site + (int32)tag, where that is in
    // the pair's reach (not for tags in [0x7ffff800, 0x7fffffff]).
    const uint64_t target = Plus(0x1000, static_cast<int32_t>(t));
    if (AuipcJalr::InRange(0x1000, target)) {
      EXPECT_EQ(AuipcJalr::Decode(auipc, jalr, 0x1000), target);
    }
  }
  for (uint64_t tag : {uint64_t{0x1'00000000}, ~uint64_t{0}}) {
    EXPECT_FALSE(AuipcJalr::TagInRange(tag)) << tag;
  }
  // Tag 1 is hi20 0, lo12 1 (not scaled by the instruction size).
  EXPECT_EQ(AuipcJalr::EncodeTagAuipc(Auipc(kT3), 1), Auipc(kT3));
  EXPECT_EQ(AuipcJalr::EncodeTagJalr(Jalr(kRa, kT3), 1),
            Jalr(kRa, kT3) | (1u << 20));
}

TEST(Riscv64AuipcJalr, EncodingChangesOnlyTheImmediates) {
  std::mt19937_64 rng(0x5eed5001);
  std::uniform_int_distribution<int64_t> offsets(kPairMin, kPairMax);
  for (int i = 0; i < 20000; ++i) {
    const auto auipc = static_cast<uint32_t>(rng());
    const auto jalr = static_cast<uint32_t>(rng());
    const uint64_t site = (rng() & 0x0000ffff'ffffffff) & ~uint64_t{3};
    const int64_t d = offsets(rng);
    const uint64_t target = Plus(site, d);
    ASSERT_TRUE(AuipcJalr::InRange(site, target));
    const uint32_t a = AuipcJalr::EncodeAuipc(auipc, site, target);
    const uint32_t j = AuipcJalr::EncodeJalr(jalr, site, target);
    ASSERT_EQ(a & 0xfff, auipc & 0xfff);
    ASSERT_EQ(j & 0xfffff, jalr & 0xfffff);
    ASSERT_EQ(AuipcJalr::Decode(a, j, site), target);
    const auto tag = static_cast<uint32_t>(rng());
    ASSERT_EQ(AuipcJalr::EncodeTagAuipc(auipc, tag) & 0xfff, auipc & 0xfff);
    ASSERT_EQ(AuipcJalr::EncodeTagJalr(jalr, tag) & 0xfffff, jalr & 0xfffff);
  }
}

// ---------------------------------------------------------------------------
// lui + addi

TEST(Riscv64LuiAddi, EveryUint32RoundTrips) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x7ff}, uint64_t{0x800},
                     uint64_t{0xfff}, uint64_t{0x1000}, uint64_t{0x7ffff7ff},
                     uint64_t{0x7ffff800}, uint64_t{0x7fffffff},
                     uint64_t{0x80000000}, uint64_t{0xfffff7ff},
                     uint64_t{0xfffff800}, uint64_t{0xffffffff}}) {
    EXPECT_TRUE(LuiAddi::InRange(v)) << v;
    const auto x = static_cast<uint32_t>(v);
    EXPECT_EQ(LuiAddi::Decode(LuiAddi::EncodeLui(Lui(kA0), x),
                              LuiAddi::EncodeAddi(Addi(kA0, kA0), x)),
              x)
        << v;
  }
  EXPECT_FALSE(LuiAddi::InRange(0x1'00000000ULL));
  EXPECT_FALSE(LuiAddi::InRange(~uint64_t{0}));
  // The rounding: 0x800 is lui 1, addi -0x800.
  EXPECT_EQ(LuiAddi::EncodeLui(Lui(kA0), 0x800), Lui(kA0) | (1u << 12));
  EXPECT_EQ(LuiAddi::EncodeAddi(Addi(kA0, kA0), 0x800),
            Addi(kA0, kA0) | 0x80000000u);
  std::mt19937_64 rng(0x5eed5002);
  for (int i = 0; i < 20000; ++i) {
    const auto lui = static_cast<uint32_t>(rng());
    const auto addi = static_cast<uint32_t>(rng());
    const auto v = static_cast<uint32_t>(rng());
    const uint32_t l = LuiAddi::EncodeLui(lui, v);
    const uint32_t a = LuiAddi::EncodeAddi(addi, v);
    ASSERT_EQ(l & 0xfff, lui & 0xfff);
    ASSERT_EQ(a & 0xfffff, addi & 0xfffff);
    ASSERT_EQ(LuiAddi::Decode(l, a), v);
  }
}

// ---------------------------------------------------------------------------
// li_ptr (Sv48)

struct LiPtrWordsOf {
  uint32_t w[6];
};

LiPtrWordsOf EncodeLiPtr(const std::vector<uint32_t>& base, uint64_t v) {
  return {{LiPtr::EncodeLui(base[0], v), LiPtr::EncodeAddi(base[1], v), base[2],
           LiPtr::EncodeOriHigh(base[3], v), base[4],
           LiPtr::EncodeOriLow(base[5], v)}};
}

uint64_t DecodeLiPtr(const LiPtrWordsOf& w) {
  return LiPtr::Decode(w.w[0], w.w[1], w.w[3], w.w[5]);
}

TEST(Riscv64LiPtr, ReachIsFortyEightBitsLessTheRoundingTop) {
  const auto base = LiPtrWords(kT6);
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x3f}, uint64_t{0x40},
                     uint64_t{0x1ffff}, uint64_t{0x20000},
                     uint64_t{0x0000'0fff'0001'ffffULL},  // lo12 -1 of high31
                     uint64_t{0x00007fff'ffffffffULL},
                     uint64_t{0x0000ffef'ffffffffULL}, kLiPtrMax}) {
    SCOPED_TRACE(absl::StrFormat("0x%x", v));
    EXPECT_TRUE(LiPtr::InRange(v));
    EXPECT_EQ(DecodeLiPtr(EncodeLiPtr(base, v)), v);
  }
  // First out of range: high31 + 0x800 reaches 2^31 (hi20 would be
  // 0x80000, which lui sign-extends), then anything of 49 bits or more.
  EXPECT_FALSE(LiPtr::InRange(kLiPtrMax + 1));
  EXPECT_FALSE(LiPtr::InRange(0x0000ffff'ffffffffULL));
  EXPECT_FALSE(LiPtr::InRange(uint64_t{1} << 48));
  EXPECT_FALSE(LiPtr::InRange(~uint64_t{0}));  // "below zero"
  // What the sequence would build for the first rejected value: not it.
  EXPECT_NE(DecodeLiPtr(EncodeLiPtr(base, kLiPtrMax + 1)), kLiPtrMax + 1);
  // Fields of the largest value.
  const LiPtrWordsOf w = EncodeLiPtr(base, kLiPtrMax);
  EXPECT_EQ(w.w[0] >> 12, 0x7ffffu);
  EXPECT_EQ(w.w[1] >> 20, 0x7ffu);
  EXPECT_EQ(w.w[3] >> 20, 0x7ffu);
  EXPECT_EQ(w.w[5] >> 20, 0x3fu);
}

TEST(Riscv64LiPtr, RandomValuesRoundTripChangingOnlyImmediates) {
  std::mt19937_64 rng(0x5eed5003);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint32_t> base(6);
    for (auto& w : base) w = static_cast<uint32_t>(rng());
    const uint64_t v = rng() % (kLiPtrMax + 1);
    ASSERT_TRUE(LiPtr::InRange(v));
    const LiPtrWordsOf w = EncodeLiPtr(base, v);
    for (int k : {0}) ASSERT_EQ(w.w[k] & 0xfff, base[k] & 0xfff);
    for (int k : {1, 3, 5}) ASSERT_EQ(w.w[k] & 0xfffff, base[k] & 0xfffff);
    // With the fixed shifts in place the words decode to v.
    const LiPtrWordsOf canonical = EncodeLiPtr(LiPtrWords(kA0), v);
    ASSERT_EQ(DecodeLiPtr(canonical), v);
    ASSERT_EQ(DecodeLiPtr(w), v) << "decode reads only immediates";
  }
}

// ---------------------------------------------------------------------------
// jal

TEST(Riscv64Jal, ReachIsInt21Even) {
  const uint32_t jal = Bits::kJal;
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    const int64_t max = (int64_t{1} << 20) - 2, min = -(int64_t{1} << 20);
    EXPECT_TRUE(Jal::InRange(site, Plus(site, max)));
    EXPECT_TRUE(Jal::InRange(site, Plus(site, min)));
    EXPECT_FALSE(Jal::InRange(site, Plus(site, max + 2)));
    EXPECT_FALSE(Jal::InRange(site, Plus(site, min - 2)));
    EXPECT_FALSE(Jal::InRange(site, Plus(site, 1)));
    EXPECT_FALSE(Jal::InRange(site, Plus(site, int64_t{1} << 32)));
    for (int64_t d : {max, min, int64_t{0}, int64_t{2}, int64_t{-2},
                      int64_t{0x7fe}, int64_t{0x800}, int64_t{0x1000}}) {
      EXPECT_EQ(Jal::Decode(Jal::Encode(jal, site, Plus(site, d)), site),
                Plus(site, d))
          << d;
    }
  }
  std::mt19937_64 rng(0x5eed5004);
  for (int i = 0; i < 10000; ++i) {
    const auto insn = static_cast<uint32_t>(rng());
    const int64_t d = (static_cast<int64_t>(rng() % (1u << 20)) - (1 << 19)) * 2;
    const uint32_t out = Jal::Encode(insn, 0x4000, Plus(0x4000, d));
    ASSERT_EQ(out & 0xfff, insn & 0xfff);
    ASSERT_EQ(Jal::Decode(out, 0x4000), Plus(0x4000, d));
  }
}

// ---------------------------------------------------------------------------
// Sites in hand-built code

absl::StatusCode LocateCode(absl::Span<const uint8_t> code,
                            const RelocEntry& entry) {
  return LocateSite(kArch, code, entry, 0).status().code();
}

TEST(Riscv64Sites, CallsAreAuipcJalrOrLiPtr) {
  // 0: auipc t3; 4: jalr ra, 0(t3); 8..32: li_ptr t6; 32: jalr zero, 0(t6)
  std::vector<uint32_t> words = {Auipc(kT3), Jalr(kRa, kT3)};
  for (uint32_t w : LiPtrWords(kT6)) words.push_back(w);
  words.push_back(Jalr(0, kT6));
  std::vector<uint8_t> code = Bytes(words);
  for (RelocMode mode : {RelocMode::kWasmCall, RelocMode::kWasmStubCall}) {
    auto call = LocateSite(kArch, code, {mode, 0, 0}, 0);
    ASSERT_TRUE(call.ok()) << call.status();
    EXPECT_EQ(call->form, SiteForm::kRiscvAuipcJalr);
    EXPECT_EQ(call->field_offset, 0u);
    EXPECT_EQ(call->field_size, 8u);
    EXPECT_FALSE(call->pool_slot);
    auto tail = LocateSite(kArch, code, {mode, 8, 0}, 0);
    ASSERT_TRUE(tail.ok()) << tail.status();
    EXPECT_EQ(tail->form, SiteForm::kRiscvLiPtr);
    EXPECT_EQ(tail->field_offset, 8u);
    EXPECT_EQ(tail->field_size, 24u);
  }
  auto ext = LocateSite(kArch, code, {RelocMode::kExternalReference, 8, 0}, 0);
  ASSERT_TRUE(ext.ok()) << ext.status();
  EXPECT_EQ(ext->form, SiteForm::kRiscvLiPtr);
  // An external reference is never pc-relative.
  EXPECT_EQ(LocateCode(code, {RelocMode::kExternalReference, 0, 0}),
            absl::StatusCode::kDataLoss);
  // Misaligned, past the end, in the middle of a sequence.
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 2, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 4, 0}),
            absl::StatusCode::kDataLoss);  // jalr alone
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 32, 0}),
            absl::StatusCode::kDataLoss);  // jalr: neither auipc nor lui
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 36, 0}),
            absl::StatusCode::kDataLoss);  // at the end
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 0x1000, 0}),
            absl::StatusCode::kDataLoss);
  // li_ptr truncated by the end of the code.
  const std::vector<uint8_t> cut(code.begin(), code.begin() + 28);
  EXPECT_EQ(LocateCode(cut, {RelocMode::kExternalReference, 8, 0}),
            absl::StatusCode::kDataLoss);
  // auipc as the last word.
  const std::vector<uint8_t> lone = Bytes({Auipc(kT3)});
  EXPECT_EQ(LocateCode(lone, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kDataLoss);
  // The error names the mode, pc and file offset.
  auto err = LocateSite(kArch, code, {RelocMode::kWasmCall, 32, 0}, 0x100);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("WASM_CALL"), std::string::npos)
      << err.status();
  EXPECT_NE(err.status().message().find("0x120"), std::string::npos)
      << err.status();
}

TEST(Riscv64Sites, MalformedPairsAreDataLoss) {
  struct Case {
    const char* what;
    std::vector<uint32_t> words;
  };
  const std::vector<Case> cases = {
      {"auipc x0", {Auipc(0), Jalr(kRa, 0)}},
      {"jalr from another register", {Auipc(kT3), Jalr(kRa, kT6)}},
      {"jalr linking t0", {Auipc(kT3), Jalr(kT0, kT3)}},
      {"jalr not linking (jump)", {Auipc(kT3), Jalr(0, kT3)}},
      {"jalr with funct3 1", {Auipc(kT3), Jalr(kRa, kT3) | 0x1000}},
      {"auipc + ld (constant pool)",
       {Auipc(kT3), IType(Bits::kLd, kT3, kT3, 16)}},
      {"auipc + addi", {Auipc(kT3), Addi(kT3, kT3)}},
  };
  for (const Case& c : cases) {
    const std::vector<uint8_t> code = Bytes(c.words);
    for (RelocMode mode : {RelocMode::kWasmCall, RelocMode::kWasmStubCall}) {
      EXPECT_EQ(LocateCode(code, {mode, 0, 0}), absl::StatusCode::kDataLoss)
          << c.what;
    }
  }
}

TEST(Riscv64Sites, MalformedLiPtrIsDataLoss) {
  for (int word = 0; word < 6; ++word) {
    for (int variant = 0; variant < 4; ++variant) {
      std::vector<uint32_t> w = LiPtrWords(kA0);
      switch (variant) {
        case 0:  // another destination register
          w[word] = (w[word] & ~Bits::kRdMask) | Bits::RdField(kT6);
          break;
        case 1:  // another source register (lui has none: its opcode)
          w[word] = word == 0 ? (w[word] & ~0x7fu) | Bits::kAuipc
                              : (w[word] & ~Bits::kRs1Mask) |
                                    Bits::Rs1Field(kT6);
          break;
        case 2:  // another funct3
          w[word] = word == 0 ? Lui(0) : w[word] ^ 0x4000u;
          break;
        case 3:  // a wrong immediate: shift amounts are fixed, ori bounded
          if (word == 2) w[word] = Slli(kA0, 12);
          else if (word == 4) w[word] = Slli(kA0, 5);
          else if (word == 3) w[word] |= 0x800u << 20;
          else if (word == 5) w[word] |= 0x40u << 20;
          else continue;  // lui/addi hold any immediate
          break;
      }
      SCOPED_TRACE(absl::StrFormat("word %d variant %d: 0x%08x", word,
                                   variant, w[word]));
      EXPECT_EQ(LocateCode(Bytes(w), {RelocMode::kExternalReference, 0, 0}),
                absl::StatusCode::kDataLoss);
    }
  }
  // Canonical immediates are accepted.
  std::vector<uint32_t> w = LiPtrWords(kA0);
  w[0] |= 0xfffffu << 12;
  w[1] |= 0xfffu << 20;
  w[3] |= 0x7ffu << 20;
  w[5] |= 0x3fu << 20;
  EXPECT_TRUE(
      LocateSite(kArch, Bytes(w), {RelocMode::kExternalReference, 0, 0}, 0)
          .ok());
}

TEST(Riscv64Sites, ConstantsAreLuiAddi) {
  const std::vector<uint8_t> code =
      Bytes({Lui(kA0), Addi(kA0, kA0), Lui(kA0), Addi(kT6, kA0), Lui(0),
             Addi(0, 0), Addi(kA0, kA0), Addi(kA0, kA0)});
  for (RelocMode mode : {RelocMode::kWasmCanonicalSigId,
                         RelocMode::kWasmCodePointerTableEntry}) {
    auto site = LocateSite(kArch, code, {mode, 0, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kRiscvLuiAddi);
    EXPECT_EQ(site->field_size, 8u);
    EXPECT_EQ(LocateCode(code, {mode, 8, 0}), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, {mode, 16, 0}), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, {mode, 24, 0}), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, {mode, 28, 0}), absl::StatusCode::kDataLoss);
  }
}

TEST(Riscv64Sites, InternalReferencesAndUnusedModes) {
  std::vector<uint8_t> code(24, 0);
  auto site = LocateSite(kArch, code, {RelocMode::kInternalReference, 16, 0}, 0);
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->form, SiteForm::kAbsolute64);
  EXPECT_EQ(site->field_size, 8u);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReference, 20, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReference, 18, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReferenceEncoded, 0, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kConstPool, 0, 0}),
            absl::StatusCode::kDataLoss);

  for (RelocMode mode :
       {RelocMode::kWasmCall, RelocMode::kWasmStubCall,
        RelocMode::kExternalReference, RelocMode::kInternalReference,
        RelocMode::kWasmCanonicalSigId, RelocMode::kWasmCodePointerTableEntry,
        RelocMode::kConstPool}) {
    EXPECT_TRUE(ModeUsedOnTarget(kArch, mode)) << RelocModeName(mode);
  }
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kVeneerPool));
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kInternalReferenceEncoded));
}

// ---------------------------------------------------------------------------
// Tags and targets through reference/relocation.h

TEST(Riscv64Relocation, AuipcJalrTagsAndTargets) {
  std::vector<uint8_t> code = Bytes({0x00000013, Auipc(kT3), Jalr(kRa, kT3)});
  auto site = LocateSite(kArch, code, {RelocMode::kWasmCall, 4, 0}, 0);
  ASSERT_TRUE(site.ok()) << site.status();
  for (uint64_t tag : {uint64_t{0}, uint64_t{7}, uint64_t{0x643},
                       uint64_t{0x7ffff7ff}, uint64_t{0x7ffff800},
                       uint64_t{0x7fffffff}, uint64_t{0xffffffff}}) {
    ASSERT_TRUE(WriteTag(kArch, code.data(), *site, tag)) << tag;
    EXPECT_EQ(ReadTag(kArch, code.data(), *site), tag);
    EXPECT_EQ(WordAt(code, 4) & 0xfff, Auipc(kT3));
    EXPECT_EQ(WordAt(code, 8) & 0xfffff, Jalr(kRa, kT3));
  }
  std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTag(kArch, code.data(), *site, 0x1'00000000ULL));
  EXPECT_EQ(code, before);
  EXPECT_FALSE(TagFitsForm(kArch, *site, 0x1'00000000ULL));

  const uint64_t code_address = 0x00003fff'80000000;
  const uint64_t pc = code_address + 4;
  for (int64_t d : {kPairMax, kPairMin, int64_t{0}, int64_t{-4},
                    int64_t{0x12345678}}) {
    ASSERT_TRUE(
        WriteTarget(kArch, code.data(), code_address, *site, Plus(pc, d)))
        << d;
    EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, *site), Plus(pc, d));
  }
  before = code;
  EXPECT_FALSE(
      WriteTarget(kArch, code.data(), code_address, *site, Plus(pc, kPairMax + 1)));
  EXPECT_FALSE(
      WriteTarget(kArch, code.data(), code_address, *site, Plus(pc, kPairMin - 1)));
  EXPECT_FALSE(WriteTarget(kArch, code.data(), code_address, *site,
                           Plus(pc, kTwo31 - 1)));
  EXPECT_EQ(code, before) << "a rejected write changed the code";
}

TEST(Riscv64Relocation, LiPtrTagsAndTargets) {
  std::vector<uint8_t> code = Bytes(LiPtrWords(kT6));
  auto site = LocateSite(kArch, code, {RelocMode::kExternalReference, 0, 0}, 0);
  ASSERT_TRUE(site.ok()) << site.status();
  for (uint64_t tag : {uint64_t{0}, uint64_t{0x83}, uint64_t{0xffffffff}}) {
    ASSERT_TRUE(WriteTag(kArch, code.data(), *site, tag));
    EXPECT_EQ(ReadTag(kArch, code.data(), *site), tag);
    // The written sequence is still a valid site.
    EXPECT_TRUE(
        LocateSite(kArch, code, {RelocMode::kExternalReference, 0, 0}, 0).ok());
  }
  EXPECT_FALSE(TagFitsForm(kArch, *site, 0x1'00000000ULL));
  for (uint64_t target : {uint64_t{0x00003f12'34567890}, kLiPtrMax,
                          uint64_t{0}}) {
    ASSERT_TRUE(WriteTarget(kArch, code.data(), 0x1000, *site, target));
    EXPECT_EQ(ReadTarget(kArch, code.data(), 0x1000, *site), target);
  }
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTarget(kArch, code.data(), 0x1000, *site, kLiPtrMax + 1));
  EXPECT_FALSE(WriteTarget(kArch, code.data(), 0x1000, *site, uint64_t{1} << 48));
  EXPECT_EQ(code, before);
  // A non-canonical value (upper bits from a sign-extended lui) reads back
  // as a huge tag, which no table accepts.
  std::vector<uint32_t> w = LiPtrWords(kT6);
  w[0] |= 0x80000u << 12;
  w[1] |= 0xfffu << 20;
  code = Bytes(w);
  EXPECT_GT(ReadTag(kArch, code.data(), *site), 0xffffffffu);
}

TEST(Riscv64Relocation, LuiAddiAndInternalReference) {
  std::vector<uint8_t> code = Bytes({Lui(kA0), Addi(kA0, kA0), 0, 0});
  auto site = LocateSite(kArch, code, {RelocMode::kWasmCanonicalSigId, 0, 0}, 0);
  ASSERT_TRUE(site.ok()) << site.status();
  for (uint64_t v : {uint64_t{0}, uint64_t{0x800}, uint64_t{0x7ffff800},
                     uint64_t{0xffffffff}}) {
    ASSERT_TRUE(WriteTag(kArch, code.data(), *site, v));
    EXPECT_EQ(ReadTag(kArch, code.data(), *site), v);
    ASSERT_TRUE(WriteTarget(kArch, code.data(), 0, *site, v));
    EXPECT_EQ(ReadTarget(kArch, code.data(), 0, *site), v);
  }
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTag(kArch, code.data(), *site, 0x1'00000000ULL));
  EXPECT_FALSE(WriteTarget(kArch, code.data(), 0, *site, 0x1'00000000ULL));
  EXPECT_EQ(code, before);

  auto internal =
      LocateSite(kArch, code, {RelocMode::kInternalReference, 8, 0}, 0);
  ASSERT_TRUE(internal.ok());
  ASSERT_TRUE(WriteTag(kArch, code.data(), *internal, 0x40));
  EXPECT_EQ(ReadTag(kArch, code.data(), *internal), 0x40u);
  ASSERT_TRUE(WriteTarget(kArch, code.data(), 0, *internal,
                          0xfedcba98'76543210ULL));
  EXPECT_EQ(LoadUnaligned(code.data() + 8, 8, ByteOrder::kLittle),
            0xfedcba98'76543210ULL);
}

// ---------------------------------------------------------------------------
// Jump-table slots

std::vector<uint8_t> Hex(std::initializer_list<uint8_t> bytes) { return bytes; }

TEST(Riscv64JumpTable, KnownSlotBytes) {
  // Bytes from jump-table-assembler.cc's riscv64 emitters, by hand:
  // near auipc t6, 0 / jalr zero, 8(t6); far auipc t6, 0 / ld t6, 16(t6) /
  // jalr zero, 0(t6) / nop / target; lazy lui t0, 0 / addi t0, t0, 1 /
  // jal zero, -8.
  const uint64_t base = 0x00003f00'00010000;
  std::vector<uint8_t> near(8), far(24), lazy(12);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), base, base + 8));
  EXPECT_EQ(near, Hex({0x97, 0x0f, 0x00, 0x00, 0x67, 0x80, 0x8f, 0x00}));
  WriteFarJumpSlot(kArch, far.data(), base, 0x0000aaaa'bbbbcccc);
  EXPECT_EQ(far, Hex({0x97, 0x0f, 0x00, 0x00, 0x83, 0xbf, 0x0f, 0x01,
                      0x67, 0x80, 0x0f, 0x00, 0x13, 0x00, 0x00, 0x00,
                      0xcc, 0xcc, 0xbb, 0xbb, 0xaa, 0xaa, 0x00, 0x00}));
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), base, 1, base));
  EXPECT_EQ(lazy, Hex({0xb7, 0x02, 0x00, 0x00, 0x93, 0x82, 0x12, 0x00,
                       0x6f, 0xf0, 0x9f, 0xff}));
  auto near_target = ReadNearJumpSlotTarget(kArch, near.data(), base);
  ASSERT_TRUE(near_target.ok());
  EXPECT_EQ(*near_target, base + 8);
  auto far_target = ReadFarJumpSlotTarget(kArch, far.data());
  ASSERT_TRUE(far_target.ok());
  EXPECT_EQ(*far_target, 0x0000aaaa'bbbbccccULL);
}

TEST(Riscv64JumpTable, NearSlotReach) {
  const uint64_t slot_address = 0x00003f00'40000000;
  for (int64_t d : {int64_t{0}, int64_t{8}, int64_t{-8}, kPairMax, -kTwo31,
                    int64_t{0x800}, int64_t{-0x800}}) {
    std::vector<uint8_t> slot(8, 0);
    ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                  Plus(slot_address, d)))
        << d;
    auto back = ReadNearJumpSlotTarget(kArch, slot.data(), slot_address);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, Plus(slot_address, d));
  }
  // Past the pair's reach (+0x800 rounding), and below V8's is_int32 test.
  std::vector<uint8_t> slot(8, 0xab);
  for (int64_t d : {kPairMax + 1, kTwo31 - 1, -kTwo31 - 1, kPairMin,
                    int64_t{1} << 32}) {
    EXPECT_FALSE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                   Plus(slot_address, d)))
        << d;
  }
  EXPECT_EQ(slot, std::vector<uint8_t>(8, 0xab));
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, slot.data(), slot_address).ok());
}

TEST(Riscv64JumpTable, LazySlotReach) {
  const uint64_t slot_address = 0x00003f00'40001000;
  const uint64_t jal = slot_address + 8;
  std::vector<uint8_t> slot(12, 0xab);
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, slot.data(), slot_address, 3,
                                    Plus(jal, int64_t{1} << 20)));
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, slot.data(), slot_address, 3,
                                    Plus(jal, -(int64_t{1} << 20) - 2)));
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, slot.data(), slot_address, 3,
                                    Plus(jal, 3)));
  EXPECT_EQ(slot, std::vector<uint8_t>(12, 0xab));
  EXPECT_TRUE(WriteLazyCompileSlot(kArch, slot.data(), slot_address, 3,
                                   Plus(jal, (int64_t{1} << 20) - 2)));
  EXPECT_TRUE(WriteLazyCompileSlot(kArch, slot.data(), slot_address, 3,
                                   Plus(jal, -(int64_t{1} << 20))));
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

const char kFlags[] = "-triple=riscv64 -mattr=+c,+m,+a,+d -M no-aliases";

// Disassembles `words` with llvm-mc in one run; one Insn per word.
std::vector<Insn> Disassemble(const std::string& mc,
                              const std::vector<uint32_t>& words) {
  std::string path = ::testing::TempDir();
  if (path.empty() || path.back() != '/') path += '/';
  path += "arch_riscv64_test_XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) {
    ADD_FAILURE() << "mkstemp " << path << ": " << std::strerror(errno);
    return {};
  }
  close(fd);
  const std::string file(name.data());
  {
    std::ofstream out(file);
    for (uint32_t w : words) {
      out << absl::StrFormat("0x%02x 0x%02x 0x%02x 0x%02x\n", w & 0xff,
                             (w >> 8) & 0xff, (w >> 16) & 0xff, w >> 24);
    }
  }
  std::string output;
  const int status = wasmcache::testing::RunCommand(
      "'" + mc + "' --disassemble " + kFlags + " < '" + file + "' 2>&1",
      &output);
  std::remove(file.c_str());
  EXPECT_EQ(status, 0) << "llvm-mc failed:\n" << output;
  std::vector<Insn> insns;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("warning:") != std::string::npos ||
        line.find("error:") != std::string::npos) {
      ADD_FAILURE() << "llvm-mc: " << line << "\n" << output;
      return {};
    }
    const std::string t = Trim(line.substr(0, line.find('#')));
    if (t.empty() || t == ".text") continue;
    const size_t sep = t.find_first_of(" \t");
    insns.push_back({t.substr(0, sep),
                     sep == std::string::npos ? "" : Trim(t.substr(sep))});
  }
  EXPECT_EQ(insns.size(), words.size()) << output;
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
  if (errno != 0 || end == s.c_str() || *end != '\0' || v > (1ULL << 62)) {
    return std::nullopt;
  }
  return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
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

// "<imm>(<reg>)"
struct MemOperand {
  int64_t imm;
  std::string reg;
};
std::optional<MemOperand> ParseMem(const std::string& s) {
  const size_t open = s.find('(');
  if (open == std::string::npos || s.back() != ')') return std::nullopt;
  const auto imm = ParseInt(s.substr(0, open));
  if (!imm) return std::nullopt;
  return MemOperand{*imm, s.substr(open + 1, s.size() - open - 2)};
}

// One decoded I-type/U-type operand list: mnemonic, registers, immediate.
struct Decoded {
  std::string mnemonic;
  std::vector<std::string> regs;
  int64_t imm = 0;
  bool ok = false;
};
Decoded Decode(const Insn& insn) {
  Decoded d;
  d.mnemonic = insn.mnemonic;
  const auto ops = Operands(insn.operands);
  if (ops.empty()) return d;
  if (auto mem = ParseMem(ops.back())) {
    for (size_t i = 0; i + 1 < ops.size(); ++i) d.regs.push_back(ops[i]);
    d.regs.push_back(mem->reg);
    d.imm = mem->imm;
    d.ok = true;
    return d;
  }
  const auto imm = ParseInt(ops.back());
  if (!imm) return d;
  for (size_t i = 0; i + 1 < ops.size(); ++i) d.regs.push_back(ops[i]);
  d.imm = *imm;
  d.ok = true;
  return d;
}

// The 64-bit value of lui/auipc's immediate as the hardware adds it.
int64_t UpperValue(int64_t imm20) {
  return static_cast<int64_t>(static_cast<int32_t>(
      static_cast<uint32_t>(imm20) << 12));
}

TEST(Riscv64LlvmMc, ParserReadsTheFormat) {
  REQUIRE_LLVM_MC(mc);
  const auto insns = Disassemble(
      mc, {0x80000f97u, 0x800080e7u, 0x010fbf83u, 0x00000013u, 0x8000006fu});
  ASSERT_EQ(insns.size(), 5u);
  EXPECT_EQ(insns[0].mnemonic, "auipc");
  EXPECT_EQ(insns[0].operands, "t6, 524288");
  EXPECT_EQ(insns[1].mnemonic, "jalr");
  EXPECT_EQ(insns[1].operands, "ra, -2048(ra)");
  EXPECT_EQ(insns[2].mnemonic, "ld");
  EXPECT_EQ(insns[2].operands, "t6, 16(t6)");
  EXPECT_EQ(insns[3].mnemonic, "addi");
  EXPECT_EQ(insns[3].operands, "zero, zero, 0");
  EXPECT_EQ(insns[4].mnemonic, "jal");
  EXPECT_EQ(insns[4].operands, "zero, -1048576");
  const Decoded jalr = Decode(insns[1]);
  ASSERT_TRUE(jalr.ok);
  EXPECT_EQ(jalr.imm, -2048);
  EXPECT_EQ(jalr.regs, (std::vector<std::string>{"ra", "ra"}));
}

// auipc t3 / jalr ra, lo12(t3) at `site` to `target`, checked by llvm-mc.
void CheckPairs(const std::vector<std::pair<uint64_t, uint64_t>>& pairs) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint32_t> words;
  for (const auto& [site, target] : pairs) {
    ASSERT_TRUE(AuipcJalr::InRange(site, target));
    for (uint32_t w : PairFor(Auipc(kT3), Jalr(kRa, kT3), site, target)) {
      words.push_back(w);
    }
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& [site, target] = pairs[i];
    SCOPED_TRACE(absl::StrFormat("pair %d at 0x%x to 0x%x: %s %s; %s %s", i,
                                 site, target, insns[2 * i].mnemonic,
                                 insns[2 * i].operands,
                                 insns[2 * i + 1].mnemonic,
                                 insns[2 * i + 1].operands));
    const Decoded auipc = Decode(insns[2 * i]);
    const Decoded jalr = Decode(insns[2 * i + 1]);
    ASSERT_TRUE(auipc.ok && jalr.ok);
    EXPECT_EQ(auipc.mnemonic, "auipc");
    EXPECT_EQ(auipc.regs, (std::vector<std::string>{"t3"}));
    EXPECT_EQ(jalr.mnemonic, "jalr");
    EXPECT_EQ(jalr.regs, (std::vector<std::string>{"ra", "t3"}));
    EXPECT_EQ(Plus(site, UpperValue(auipc.imm) + jalr.imm), target);
  }
}

TEST(Riscv64LlvmMc, AuipcJalrBoundaries) {
  std::vector<std::pair<uint64_t, uint64_t>> pairs;
  for (uint64_t site : kSites) {
    for (int64_t d : {kPairMax, kPairMax - 1, kPairMin, kPairMin + 1,
                      int64_t{0}, int64_t{0x7ff}, int64_t{0x800},
                      int64_t{-0x800}, int64_t{-0x801}, -kTwo31,
                      kTwo31 - 0x1000}) {
      pairs.push_back({site, Plus(site, d)});
    }
  }
  CheckPairs(pairs);
}

TEST(Riscv64LlvmMc, AuipcJalrRandom) {
  std::mt19937_64 rng(0x5eed5005);
  std::uniform_int_distribution<int64_t> offsets(kPairMin, kPairMax);
  std::vector<std::pair<uint64_t, uint64_t>> pairs;
  for (int i = 0; i < 100; ++i) {
    const uint64_t site = (rng() & 0x0000ffff'ffffffff) & ~uint64_t{3};
    pairs.push_back({site, Plus(site, offsets(rng))});
  }
  CheckPairs(pairs);
}

TEST(Riscv64LlvmMc, AuipcJalrTags) {
  REQUIRE_LLVM_MC(mc);
  std::mt19937_64 rng(0x5eed5006);
  std::vector<uint32_t> tags = {0, 1, 0x7ff, 0x800, 0x643, 0x7ffff7ff,
                                0x80000000, 0xfffff800, 0xffffffff};
  for (int i = 0; i < 100; ++i) {
    const auto t = static_cast<uint32_t>(rng());
    if (AuipcJalr::TagInRange(t)) tags.push_back(t);
  }
  std::vector<uint32_t> words;
  for (uint32_t t : tags) {
    words.push_back(AuipcJalr::EncodeTagAuipc(Auipc(kT3), t));
    words.push_back(AuipcJalr::EncodeTagJalr(Jalr(kRa, kT3), t));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    const Decoded auipc = Decode(insns[2 * i]);
    const Decoded jalr = Decode(insns[2 * i + 1]);
    ASSERT_TRUE(auipc.ok && jalr.ok) << insns[2 * i].operands;
    // The tag is the 32-bit byte offset the pair adds to pc.
    EXPECT_EQ(static_cast<uint32_t>(UpperValue(auipc.imm) + jalr.imm), tags[i])
        << tags[i];
  }
}

TEST(Riscv64LlvmMc, LuiAddi) {
  REQUIRE_LLVM_MC(mc);
  std::mt19937_64 rng(0x5eed5007);
  std::vector<uint32_t> values = {0,          1,          0x7ff,      0x800,
                                  0xfff,      0x1000,     0x7ffff7ff, 0x7ffff800,
                                  0x7fffffff, 0x80000000, 0xfffff800, 0xffffffff};
  for (int i = 0; i < 100; ++i) values.push_back(static_cast<uint32_t>(rng()));
  std::vector<uint32_t> words;
  for (uint32_t v : values) {
    words.push_back(LuiAddi::EncodeLui(Lui(kA0), v));
    words.push_back(LuiAddi::EncodeAddi(Addi(kA0, kA0), v));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const Decoded lui = Decode(insns[2 * i]);
    const Decoded addi = Decode(insns[2 * i + 1]);
    ASSERT_TRUE(lui.ok && addi.ok);
    EXPECT_EQ(lui.mnemonic, "lui");
    EXPECT_EQ(addi.mnemonic, "addi");
    EXPECT_EQ(addi.regs, (std::vector<std::string>{"a0", "a0"}));
    EXPECT_EQ(static_cast<uint32_t>(UpperValue(lui.imm) + addi.imm), values[i])
        << values[i];
  }
}

TEST(Riscv64LlvmMc, LiPtr) {
  REQUIRE_LLVM_MC(mc);
  std::mt19937_64 rng(0x5eed5008);
  std::vector<uint64_t> values = {0,
                                  1,
                                  0x3f,
                                  0x40,
                                  0x1ffff,
                                  0x20000,
                                  0x0000'0fff'0001'ffffULL,
                                  0x00007fff'ffffffffULL,
                                  0x00003f3a'12345678ULL,
                                  kLiPtrMax};
  for (int i = 0; i < 100; ++i) values.push_back(rng() % (kLiPtrMax + 1));
  std::vector<uint32_t> words;
  for (uint64_t v : values) {
    const LiPtrWordsOf w = EncodeLiPtr(LiPtrWords(kT6), v);
    words.insert(words.end(), w.w, w.w + 6);
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  const char* names[6] = {"lui", "addi", "slli", "ori", "slli", "ori"};
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    Decoded d[6];
    for (int k = 0; k < 6; ++k) {
      d[k] = Decode(insns[6 * i + k]);
      ASSERT_TRUE(d[k].ok) << insns[6 * i + k].operands;
      EXPECT_EQ(d[k].mnemonic, names[k]);
      EXPECT_EQ(d[k].regs.front(), "t6");
    }
    EXPECT_EQ(d[2].imm, 11);
    EXPECT_EQ(d[4].imm, 6);
    // Run the six instructions.
    int64_t x = UpperValue(d[0].imm) + d[1].imm;
    x = static_cast<int64_t>(static_cast<uint64_t>(x) << d[2].imm) | d[3].imm;
    x = static_cast<int64_t>(static_cast<uint64_t>(x) << d[4].imm) | d[5].imm;
    EXPECT_EQ(static_cast<uint64_t>(x), values[i]);
  }
}

TEST(Riscv64LlvmMc, Jal) {
  REQUIRE_LLVM_MC(mc);
  std::mt19937_64 rng(0x5eed5009);
  std::vector<int64_t> offsets = {0,      2,       -2,       0x7fe,   0x800,
                                  0x1000, -0x1000, (1 << 20) - 2, -(1 << 20)};
  for (int i = 0; i < 100; ++i) {
    offsets.push_back((static_cast<int64_t>(rng() % (1u << 20)) - (1 << 19)) *
                      2);
  }
  std::vector<uint32_t> words;
  for (int64_t d : offsets) {
    words.push_back(Jal::Encode(Bits::kJal, 0x40000, Plus(0x40000, d)));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    const Decoded jal = Decode(insns[i]);
    ASSERT_TRUE(jal.ok);
    EXPECT_EQ(jal.mnemonic, "jal");
    EXPECT_EQ(jal.regs, (std::vector<std::string>{"zero"}));
    EXPECT_EQ(jal.imm, offsets[i]);
  }
}

TEST(Riscv64LlvmMc, JumpTableSlots) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(kArch);
  ASSERT_EQ(t.jump_table_slot_size, 8u);
  ASSERT_EQ(t.far_jump_table_slot_size, 24u);
  ASSERT_EQ(t.lazy_compile_slot_size, 12u);
  const uint64_t slot_address = 0x00003f00'40000040;
  std::mt19937_64 rng(0x5eed500a);
  std::vector<int64_t> deltas = {0, 8, -8, 0x800, -0x800, kPairMax, -kTwo31};
  for (int i = 0; i < 100; ++i) {
    deltas.push_back(static_cast<int64_t>(rng() % (kTwo31 - 0x800)) -
                     static_cast<int64_t>(rng() % kTwo31));
  }
  std::vector<uint32_t> words;
  for (int64_t d : deltas) {
    std::vector<uint8_t> slot(8, 0);
    ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                  Plus(slot_address, d)))
        << d;
    words.push_back(WordAt(slot, 0));
    words.push_back(WordAt(slot, 4));
  }
  // Far slot instructions (the target after them is data).
  std::vector<uint8_t> far(24, 0);
  WriteFarJumpSlot(kArch, far.data(), slot_address, 0x00003f00'12345678);
  for (size_t k = 0; k < 16; k += 4) words.push_back(WordAt(far, k));
  // Lazy slots.
  const std::vector<std::pair<uint32_t, int64_t>> lazies = {
      {0, 0}, {1, -0x2000}, {0x7ff, 0x7fe}, {0x800, -8},
      {999999, (1 << 20) - 2}, {0xffffffff, -(1 << 20)}};
  for (const auto& [index, d] : lazies) {
    std::vector<uint8_t> slot(12, 0);
    ASSERT_TRUE(WriteLazyCompileSlot(kArch, slot.data(), slot_address, index,
                                     Plus(slot_address + 8, d)));
    for (size_t k = 0; k < 12; k += 4) words.push_back(WordAt(slot, k));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  size_t n = 0;
  for (int64_t d : deltas) {
    const Decoded auipc = Decode(insns[n++]);
    const Decoded jalr = Decode(insns[n++]);
    ASSERT_TRUE(auipc.ok && jalr.ok);
    EXPECT_EQ(auipc.mnemonic, "auipc");
    EXPECT_EQ(auipc.regs, (std::vector<std::string>{"t6"}));
    EXPECT_EQ(jalr.mnemonic, "jalr");
    EXPECT_EQ(jalr.regs, (std::vector<std::string>{"zero", "t6"}));
    EXPECT_EQ(UpperValue(auipc.imm) + jalr.imm, d);
  }
  EXPECT_EQ(insns[n].mnemonic, "auipc");
  EXPECT_EQ(insns[n++].operands, "t6, 0");
  EXPECT_EQ(insns[n].mnemonic, "ld");
  EXPECT_EQ(insns[n++].operands, "t6, 16(t6)");
  EXPECT_EQ(insns[n].mnemonic, "jalr");
  EXPECT_EQ(insns[n++].operands, "zero, 0(t6)");
  EXPECT_EQ(insns[n].mnemonic, "addi");
  EXPECT_EQ(insns[n++].operands, "zero, zero, 0");
  EXPECT_EQ(LoadUnaligned(far.data() + 16, 8, ByteOrder::kLittle),
            0x00003f00'12345678ULL);
  for (const auto& [index, d] : lazies) {
    const Decoded lui = Decode(insns[n++]);
    const Decoded addi = Decode(insns[n++]);
    const Decoded jal = Decode(insns[n++]);
    ASSERT_TRUE(lui.ok && addi.ok && jal.ok);
    EXPECT_EQ(lui.mnemonic, "lui");
    EXPECT_EQ(lui.regs, (std::vector<std::string>{"t0"}));
    EXPECT_EQ(addi.regs, (std::vector<std::string>{"t0", "t0"}));
    EXPECT_EQ(static_cast<uint32_t>(UpperValue(lui.imm) + addi.imm), index);
    EXPECT_EQ(jal.mnemonic, "jal");
    EXPECT_EQ(jal.regs, (std::vector<std::string>{"zero"}));
    EXPECT_EQ(jal.imm, d);
  }
}

}  // namespace
}  // namespace wasmcache::reference
