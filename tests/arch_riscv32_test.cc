// riscv32 codec: encoders (reference/encoders/riscv.h over NativeDomain, the
// riscv32 reach rules), relocation sites (reference/relocation.h) and
// jump-table slots (reference/jump_table.h): reach boundaries, instruction
// framing, sites in hand-built code, slot bytes, and every encoding checked
// against an independent disassembler, llvm-mc.
//
// llvm-mc is required: without it the disassembler tests fail. It is found
// as $LLVM_MC, else llvm-mc or llvm-mc-14 in PATH. It runs with
// "-triple=riscv32 -mattr=+c,+m,+a,+d -M no-aliases" (LLVM 14 format, one
// instruction per line after "\t.text", "\t<mnemonic>\t<operands>"):
//   auipc | lui  <rd>, <imm20>          imm20 unsigned decimal
//   jalr | lw    <rd>, <imm12>(<rs1>)   imm12 signed decimal
//   addi         <rd>, <rs1>, <imm12>
//   jal          <rd>, <offset>         byte offset, signed decimal
// Registers print under their ABI names. Any "warning:" or "error:" line
// fails the test.

#include <unistd.h>

#include <algorithm>
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
using Jal = RiscvJal<D>;

constexpr Arch kArch = Arch::kRiscv32;
constexpr int64_t kTwo31 = int64_t{1} << 31;
constexpr int64_t kPairMax = kTwo31 - 0x800 - 1;
constexpr int64_t kPairMin = -kTwo31 - 0x800;
constexpr uint64_t kTop = 0xffffffff;  // the last riscv32 address

constexpr uint32_t kRa = 1, kA0 = 10, kT3 = 28, kT6 = 31;

uint64_t Plus(uint64_t base, int64_t delta) {
  return base + static_cast<uint64_t>(delta);
}

uint32_t UType(uint32_t opcode, uint32_t rd) { return opcode | (rd << 7); }
uint32_t IType(uint32_t opcode_funct3, uint32_t rd, uint32_t rs1,
               uint32_t imm12) {
  return opcode_funct3 | (rd << 7) | (rs1 << 15) | ((imm12 & 0xfff) << 20);
}
uint32_t Auipc(uint32_t rd) { return UType(Bits::kAuipc, rd); }
uint32_t Jalr(uint32_t rd, uint32_t rs1) {
  return IType(Bits::kJalr, rd, rs1, 0);
}
uint32_t Lui(uint32_t rd) { return UType(Bits::kLui, rd); }
uint32_t Addi(uint32_t rd, uint32_t rs1) {
  return IType(Bits::kAddi, rd, rs1, 0);
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

// ---------------------------------------------------------------------------
// auipc + jalr on a 32-bit address space

TEST(Riscv32AuipcJalr, ReachIsTheWholeThirtyTwoBitSpace) {
  // The pair's sum wraps modulo 2^32 like the hardware, so every 32-bit
  // target is in reach of every 32-bit site, including offsets whose
  // +0x800 rounding leaves int32 (riscv64 rejects those).
  for (uint64_t site : {uint64_t{0}, uint64_t{0x1000}, uint64_t{0x0081c01c},
                        uint64_t{0x7ffff000}, uint64_t{0x80000000},
                        kTop - 3}) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    for (uint64_t target :
         {uint64_t{0}, site, kTop, Plus(site, kPairMax) & kTop,
          Plus(site, kPairMax + 1) & kTop, Plus(site, kTwo31 - 1) & kTop,
          Plus(site, kPairMin - 1) & kTop, uint64_t{0xf081c01b}}) {
      EXPECT_TRUE(AuipcJalr::InRange32(site, target));
      const uint32_t a = AuipcJalr::EncodeAuipc(Auipc(kT3), site, target);
      const uint32_t j = AuipcJalr::EncodeJalr(Jalr(kRa, kT3), site, target);
      EXPECT_EQ(AuipcJalr::Decode32(a, j, site), target);
    }
    // Targets above 4 GiB are not riscv32 addresses.
    EXPECT_FALSE(AuipcJalr::InRange32(site, kTop + 1));
  }
  // Nor are sites.
  EXPECT_FALSE(AuipcJalr::InRange32(kTop + 1, kTop));
  // Decode wraps modulo 2^32 like the hardware.
  const uint32_t a = AuipcJalr::EncodeTagAuipc(Auipc(kT3), 0x10);
  const uint32_t j = AuipcJalr::EncodeTagJalr(Jalr(kRa, kT3), 0x10);
  EXPECT_EQ(AuipcJalr::Decode32(a, j, kTop - 7), 0x8u);
}

TEST(Riscv32Jal, ReachWrapsModuloTwoToThe32) {
  // Even offsets in [-2^20, 2^20 - 2], taken modulo 2^32.
  EXPECT_TRUE(Jal::InRange32(0x1000, 0x1000 + 0xffffe));
  EXPECT_FALSE(Jal::InRange32(0x1000, 0x1000 + 0x100000));
  EXPECT_FALSE(Jal::InRange32(0x1000, 0x1001));
  EXPECT_TRUE(Jal::InRange32(0x200000, 0x100000));
  EXPECT_FALSE(Jal::InRange32(0x200000, 0xffffe));
  // Across the top of the space: the jal at 2^32 - 4 reaches 0xffffa.
  EXPECT_TRUE(Jal::InRange32(kTop - 3, 0xffffa));
  EXPECT_EQ(Jal::Decode32(Jal::Encode(0x6f, kTop - 3, 0xffffa), kTop - 3),
            0xffffau);
  EXPECT_FALSE(Jal::InRange32(kTop - 3, 0xffffe));
  // Addresses above 4 GiB are not riscv32 addresses.
  EXPECT_FALSE(Jal::InRange32(kTop + 1, kTop + 5));
  EXPECT_FALSE(Jal::InRange32(kTop - 3, kTop + 1));
}

TEST(Riscv32AuipcJalr, RandomTargetsRoundTrip) {
  std::mt19937_64 rng(0x5eed3201);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t site = rng() & 0xfffffffc;
    const uint64_t target = rng() & 0xffffffff;
    ASSERT_TRUE(AuipcJalr::InRange32(site, target));
    const auto auipc = static_cast<uint32_t>(rng());
    const auto jalr = static_cast<uint32_t>(rng());
    const uint32_t a = AuipcJalr::EncodeAuipc(auipc, site, target);
    const uint32_t j = AuipcJalr::EncodeJalr(jalr, site, target);
    ASSERT_EQ(a & 0xfff, auipc & 0xfff);
    ASSERT_EQ(j & 0xfffff, jalr & 0xfffff);
    ASSERT_EQ(AuipcJalr::Decode32(a, j, site), target);
  }
}

// ---------------------------------------------------------------------------
// Sites

absl::StatusCode LocateCode(absl::Span<const uint8_t> code,
                            const RelocEntry& entry) {
  return LocateSite(kArch, code, entry, 0).status().code();
}

TEST(Riscv32Sites, FormsPerMode) {
  // 0: auipc t3; jalr ra   8: lui t6; addi t6, t6   16: jalr zero, 0(t6)
  // 20: 4-byte data
  const std::vector<uint8_t> code =
      Bytes({Auipc(kT3), Jalr(kRa, kT3), Lui(kT6), Addi(kT6, kT6),
             Jalr(0, kT6), 0});
  for (RelocMode mode : {RelocMode::kWasmCall, RelocMode::kWasmStubCall}) {
    auto call = LocateSite(kArch, code, {mode, 0, 0}, 0);
    ASSERT_TRUE(call.ok()) << call.status();
    EXPECT_EQ(call->form, SiteForm::kRiscvAuipcJalr);
    EXPECT_EQ(call->field_size, 8u);
    auto tail = LocateSite(kArch, code, {mode, 8, 0}, 0);
    ASSERT_TRUE(tail.ok()) << tail.status();
    EXPECT_EQ(tail->form, SiteForm::kRiscvLuiAddi);
    EXPECT_EQ(tail->field_size, 8u);
    EXPECT_EQ(LocateCode(code, {mode, 16, 0}), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, {mode, 4, 0}), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, {mode, 2, 0}), absl::StatusCode::kDataLoss);
  }
  for (RelocMode mode :
       {RelocMode::kExternalReference, RelocMode::kWasmCanonicalSigId,
        RelocMode::kWasmCodePointerTableEntry}) {
    auto site = LocateSite(kArch, code, {mode, 8, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kRiscvLuiAddi);
    EXPECT_EQ(LocateCode(code, {mode, 0, 0}), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, {mode, 20, 0}), absl::StatusCode::kDataLoss);
  }
  auto internal =
      LocateSite(kArch, code, {RelocMode::kInternalReference, 20, 0}, 0);
  ASSERT_TRUE(internal.ok()) << internal.status();
  EXPECT_EQ(internal->form, SiteForm::kImm32);
  EXPECT_EQ(internal->field_size, 4u);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReference, 24, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReference, 21, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReferenceEncoded, 8, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kInternalReferenceEncoded));
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kVeneerPool));
  EXPECT_TRUE(ModeUsedOnTarget(kArch, RelocMode::kConstPool));
  EXPECT_TRUE(ModeUsedOnTarget(kArch, RelocMode::kWasmCall));
}

TEST(Riscv32Sites, MalformedSequencesAreDataLoss) {
  const std::vector<std::vector<uint32_t>> calls = {
      {Auipc(0), Jalr(kRa, 0)},
      {Auipc(kT3), Jalr(kRa, kT6)},
      {Auipc(kT3), Jalr(0, kT3)},
      {Auipc(kT3), IType(Bits::kLw, kT3, kT3, 16)},  // constant-pool load
      {Lui(kT6), Addi(kT6, kA0)},
      {Lui(kT6), Addi(kA0, kT6)},
      {Lui(kT6), Addi(kT6, kT6) ^ 0x6000u},  // ori
      {Lui(0), Addi(0, 0)},
      {Auipc(kT3)},
      {Lui(kT6)},
  };
  for (const auto& words : calls) {
    SCOPED_TRACE(absl::StrFormat("0x%08x", words[0]));
    EXPECT_EQ(LocateCode(Bytes(words), {RelocMode::kWasmCall, 0, 0}),
              absl::StatusCode::kDataLoss);
  }
}

// ---------------------------------------------------------------------------
// Tags and targets

TEST(Riscv32Relocation, TagsAndTargets) {
  std::vector<uint8_t> code =
      Bytes({Auipc(kT3), Jalr(kRa, kT3), Lui(kA0), Addi(kA0, kA0), 0});
  auto call = LocateSite(kArch, code, {RelocMode::kWasmCall, 0, 0}, 0);
  auto ext = LocateSite(kArch, code, {RelocMode::kExternalReference, 8, 0}, 0);
  auto internal =
      LocateSite(kArch, code, {RelocMode::kInternalReference, 16, 0}, 0);
  ASSERT_TRUE(call.ok() && ext.ok() && internal.ok());
  for (uint64_t tag : {uint64_t{0}, uint64_t{0x643}, uint64_t{0x7ffff7ff},
                       uint64_t{0x7ffff800}, uint64_t{0xffffffff}}) {
    ASSERT_TRUE(WriteTag(kArch, code.data(), *call, tag));
    EXPECT_EQ(ReadTag(kArch, code.data(), *call), tag);
    ASSERT_TRUE(WriteTag(kArch, code.data(), *ext, tag));
    EXPECT_EQ(ReadTag(kArch, code.data(), *ext), tag);
    ASSERT_TRUE(WriteTag(kArch, code.data(), *internal, tag));
    EXPECT_EQ(ReadTag(kArch, code.data(), *internal), tag);
  }
  std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTag(kArch, code.data(), *call, 0x1'00000000ULL));
  EXPECT_FALSE(WriteTag(kArch, code.data(), *ext, 0x1'00000000ULL));
  EXPECT_FALSE(WriteTag(kArch, code.data(), *internal, 0x1'00000000ULL));
  EXPECT_EQ(code, before);

  const uint64_t code_address = 0x40000000;
  // Offsets beyond the riscv64 pair's reach wrap modulo 2^32.
  const std::vector<std::pair<uint64_t, int64_t>> reach = {
      {code_address, kPairMax},      {0xc0000000, kPairMin},
      {code_address, kPairMax + 1},  {0xc0000000, kPairMin - 1},
      {code_address, 0},             {code_address, -8},
      {kTop - 7, 4}};
  for (const auto& [address, d] : reach) {
    const uint64_t target = Plus(address, d);
    ASSERT_TRUE(WriteTarget(kArch, code.data(), address, *call, target)) << d;
    EXPECT_EQ(ReadTarget(kArch, code.data(), address, *call), target);
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{0x800}, kTop}) {
    ASSERT_TRUE(WriteTarget(kArch, code.data(), code_address, *ext, v));
    EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, *ext), v);
    ASSERT_TRUE(WriteTarget(kArch, code.data(), code_address, *internal, v));
    EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, *internal), v);
  }
  before = code;
  EXPECT_FALSE(WriteTarget(kArch, code.data(), kTop - 7, *call, kTop + 1));
  EXPECT_FALSE(WriteTarget(kArch, code.data(), code_address, *ext, kTop + 1));
  EXPECT_FALSE(
      WriteTarget(kArch, code.data(), code_address, *internal, kTop + 1));
  EXPECT_EQ(code, before) << "a rejected write changed the code";
}

// ---------------------------------------------------------------------------
// Jump-table slots

std::vector<uint8_t> Hex(std::initializer_list<uint8_t> bytes) { return bytes; }

TEST(Riscv32JumpTable, KnownSlotBytes) {
  // jump-table-assembler.cc, riscv32: near = far = auipc t6, 0 /
  // lw t6, 16(t6) / jalr zero, 0(t6) / nop / 4-byte target; lazy lui t0 /
  // addi t0, t0 / jal zero.
  const ArchTraits& t = TraitsOf(kArch);
  ASSERT_EQ(t.jump_table_slot_size, 20u);
  ASSERT_EQ(t.far_jump_table_slot_size, 20u);
  ASSERT_EQ(t.lazy_compile_slot_size, 12u);
  const std::vector<uint8_t> expected =
      Hex({0x97, 0x0f, 0x00, 0x00, 0x83, 0xaf, 0x0f, 0x01, 0x67, 0x80,
           0x0f, 0x00, 0x13, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12});
  std::vector<uint8_t> near(20, 0), far(20, 0xee), lazy(12);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), 0x40000000, 0x12345678));
  EXPECT_EQ(near, expected);
  WriteFarJumpSlot(kArch, far.data(), 0x40000000, 0x12345678);
  EXPECT_EQ(far, expected);
  auto back = ReadNearJumpSlotTarget(kArch, near.data(), 0x40000000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, 0x12345678u);
  auto far_back = ReadFarJumpSlotTarget(kArch, far.data());
  ASSERT_TRUE(far_back.ok());
  EXPECT_EQ(*far_back, 0x12345678u);
  // Near slots reach every 32-bit address, nothing above.
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), 0x40000000, kTop));
  EXPECT_EQ(*ReadNearJumpSlotTarget(kArch, near.data(), 0x40000000), kTop);
  const std::vector<uint8_t> before = near;
  EXPECT_FALSE(WriteNearJumpSlot(kArch, near.data(), 0x40000000, kTop + 1));
  EXPECT_EQ(near, before);

  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), 0x40000000, 1,
                                   0x40000000));
  EXPECT_EQ(lazy, Hex({0xb7, 0x02, 0x00, 0x00, 0x93, 0x82, 0x12, 0x00, 0x6f,
                       0xf0, 0x9f, 0xff}));
  std::vector<uint8_t> untouched(12, 0xab);
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, untouched.data(), 0x40000000, 1,
                                    0x40000008 + (1 << 20)));
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, untouched.data(), 0x40000000, 1,
                                    0x40000008 - (1 << 20) - 2));
  EXPECT_EQ(untouched, std::vector<uint8_t>(12, 0xab));
  EXPECT_TRUE(WriteLazyCompileSlot(kArch, untouched.data(), 0x40000000, 1,
                                   0x40000008 + (1 << 20) - 2));
  EXPECT_TRUE(WriteLazyCompileSlot(kArch, untouched.data(), 0x40000000, 1,
                                   0x40000008 - (1 << 20)));
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

const char kFlags[] = "-triple=riscv32 -mattr=+c,+m,+a,+d -M no-aliases";

std::vector<Insn> Disassemble(const std::string& mc,
                              const std::vector<uint32_t>& words) {
  std::string path = ::testing::TempDir();
  if (path.empty() || path.back() != '/') path += '/';
  path += "arch_riscv32_test_XXXXXX";
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

// Mnemonic, registers and the one immediate of an instruction
// ("rd, imm", "rd, rs1, imm" or "rd, imm(rs1)").
struct Decoded {
  std::string mnemonic;
  std::vector<std::string> regs;
  int64_t imm = 0;
  bool ok = false;
};
Decoded Decode(const Insn& insn) {
  Decoded d;
  d.mnemonic = insn.mnemonic;
  std::vector<std::string> ops;
  std::string cur;
  for (char c : insn.operands + ",") {
    if (c == ',') {
      ops.push_back(Trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (ops.empty()) return d;
  std::string last = ops.back();
  ops.pop_back();
  d.regs = ops;
  const size_t open = last.find('(');
  if (open != std::string::npos && last.back() == ')') {
    d.regs.push_back(last.substr(open + 1, last.size() - open - 2));
    last = last.substr(0, open);
  }
  const auto imm = ParseInt(last);
  if (!imm) return d;
  d.imm = *imm;
  d.ok = true;
  return d;
}

// The value of lui/auipc's immediate, modulo 2^32.
uint32_t UpperValue(int64_t imm20) { return static_cast<uint32_t>(imm20) << 12; }

TEST(Riscv32LlvmMc, AuipcJalrBoundariesAndRandom) {
  REQUIRE_LLVM_MC(mc);
  std::vector<std::pair<uint64_t, uint64_t>> pairs;
  for (uint64_t site : {uint64_t{0x1000}, uint64_t{0x80000000}}) {
    for (int64_t d : {kPairMax, kPairMax - 1, int64_t{0}, int64_t{0x7ff},
                      int64_t{0x800}, int64_t{-0x800}, int64_t{-0x801}}) {
      if (AuipcJalr::InRange32(site, Plus(site, d))) {
        pairs.push_back({site, Plus(site, d)});
      }
    }
  }
  pairs.push_back({kTop - 3, Plus(kTop - 3, kPairMin)});
  pairs.push_back({kTop - 3, Plus(kTop - 3, kPairMin + 1)});
  std::mt19937_64 rng(0x5eed3202);
  while (pairs.size() < 120) {
    const uint64_t site = rng() & 0xfffffffc;
    const uint64_t target = rng() & 0xffffffff;
    if (AuipcJalr::InRange32(site, target)) pairs.push_back({site, target});
  }
  std::vector<uint32_t> words;
  for (const auto& [site, target] : pairs) {
    words.push_back(AuipcJalr::EncodeAuipc(Auipc(kT3), site, target));
    words.push_back(AuipcJalr::EncodeJalr(Jalr(kRa, kT3), site, target));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& [site, target] = pairs[i];
    const Decoded auipc = Decode(insns[2 * i]);
    const Decoded jalr = Decode(insns[2 * i + 1]);
    ASSERT_TRUE(auipc.ok && jalr.ok) << insns[2 * i + 1].operands;
    EXPECT_EQ(auipc.mnemonic, "auipc");
    EXPECT_EQ(auipc.regs, (std::vector<std::string>{"t3"}));
    EXPECT_EQ(jalr.mnemonic, "jalr");
    EXPECT_EQ(jalr.regs, (std::vector<std::string>{"ra", "t3"}));
    const uint32_t computed = static_cast<uint32_t>(site) +
                              UpperValue(auipc.imm) +
                              static_cast<uint32_t>(jalr.imm);
    EXPECT_EQ(computed, target) << absl::StrFormat("site 0x%x", site);
  }
}

TEST(Riscv32LlvmMc, TagsAndConstants) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint32_t> values = {0,          1,          0x7ff,      0x800,
                                  0x643,      0x7ffff7ff, 0x80000000, 0xfffff800,
                                  0xffffffff};
  std::mt19937_64 rng(0x5eed3203);
  for (int i = 0; i < 100; ++i) values.push_back(static_cast<uint32_t>(rng()));
  std::vector<uint32_t> words;
  for (uint32_t v : values) {
    if (AuipcJalr::TagInRange(v)) {
      words.push_back(AuipcJalr::EncodeTagAuipc(Auipc(kT3), v));
      words.push_back(AuipcJalr::EncodeTagJalr(Jalr(kRa, kT3), v));
    }
    words.push_back(LuiAddi::EncodeLui(Lui(kA0), v));
    words.push_back(LuiAddi::EncodeAddi(Addi(kA0, kA0), v));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  size_t n = 0;
  for (uint32_t v : values) {
    if (AuipcJalr::TagInRange(v)) {
      const Decoded auipc = Decode(insns[n++]);
      const Decoded jalr = Decode(insns[n++]);
      ASSERT_TRUE(auipc.ok && jalr.ok);
      EXPECT_EQ(UpperValue(auipc.imm) + static_cast<uint32_t>(jalr.imm), v);
    }
    const Decoded lui = Decode(insns[n++]);
    const Decoded addi = Decode(insns[n++]);
    ASSERT_TRUE(lui.ok && addi.ok);
    EXPECT_EQ(lui.mnemonic, "lui");
    EXPECT_EQ(addi.mnemonic, "addi");
    EXPECT_EQ(addi.regs, (std::vector<std::string>{"a0", "a0"}));
    EXPECT_EQ(UpperValue(lui.imm) + static_cast<uint32_t>(addi.imm), v);
  }
}

TEST(Riscv32LlvmMc, JumpTableSlots) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint32_t> words;
  std::vector<uint8_t> slot(20, 0);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), 0x40000000, 0x12345678));
  for (size_t k = 0; k < 16; k += 4) words.push_back(WordAt(slot, k));
  const std::vector<std::pair<uint32_t, int64_t>> lazies = {
      {0, 0}, {1, -0x2000}, {0x800, 8}, {999999, (1 << 20) - 2},
      {0xffffffff, -(1 << 20)}};
  for (const auto& [index, d] : lazies) {
    std::vector<uint8_t> lazy(12, 0);
    ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), 0x40000000, index,
                                     Plus(0x40000008, d)));
    for (size_t k = 0; k < 12; k += 4) words.push_back(WordAt(lazy, k));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  EXPECT_EQ(insns[0].mnemonic, "auipc");
  EXPECT_EQ(insns[0].operands, "t6, 0");
  EXPECT_EQ(insns[1].mnemonic, "lw");
  EXPECT_EQ(insns[1].operands, "t6, 16(t6)");
  EXPECT_EQ(insns[2].mnemonic, "jalr");
  EXPECT_EQ(insns[2].operands, "zero, 0(t6)");
  EXPECT_EQ(insns[3].mnemonic, "addi");
  EXPECT_EQ(insns[3].operands, "zero, zero, 0");
  EXPECT_EQ(WordAt(slot, 16), 0x12345678u);
  size_t n = 4;
  for (const auto& [index, d] : lazies) {
    const Decoded lui = Decode(insns[n++]);
    const Decoded addi = Decode(insns[n++]);
    const Decoded jal = Decode(insns[n++]);
    ASSERT_TRUE(lui.ok && addi.ok && jal.ok);
    EXPECT_EQ(lui.mnemonic, "lui");
    EXPECT_EQ(lui.regs, (std::vector<std::string>{"t0"}));
    EXPECT_EQ(addi.regs, (std::vector<std::string>{"t0", "t0"}));
    EXPECT_EQ(UpperValue(lui.imm) + static_cast<uint32_t>(addi.imm), index);
    EXPECT_EQ(jal.mnemonic, "jal");
    EXPECT_EQ(jal.regs, (std::vector<std::string>{"zero"}));
    EXPECT_EQ(jal.imm, d);
  }
}

}  // namespace
}  // namespace wasmcache::reference
