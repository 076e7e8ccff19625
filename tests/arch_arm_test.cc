// The arm (32-bit) codec: encoders (reference/encoders/arm.h), relocation
// sites (reference/relocation.h) and jump-table slots
// (reference/jump_table.h), checked at their boundaries and against an
// independent disassembler.
//
// llvm-mc is required: without it the disassembler tests fail. It is found
// as $LLVM_MC, else llvm-mc or llvm-mc-14 in PATH (Debian package `llvm`).
// Output parsed (-triple=armv7, ARM mode), one instruction per line:
//   ldr<cond>  <rd>, [pc, #<offset>]   offset signed, decimal; "#-0" for
//   ldr<cond>  <rd>, [pc]              U = 0 with imm12 = 0; no offset for
//                                      U = 1 with imm12 = 0
// Comments start at '@' (dropped). Only instruction words are disassembled;
// data words of the slots are compared as bytes. Any "warning:" or "error:"
// line fails the test.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
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
#include "reference/arch_codec.h"
#include "reference/byte_io.h"
#include "reference/encoders/arm.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/arch.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using Ldr = ArmLdrPcImm12<D>;
using Word = ArmWord32<D>;

constexpr Arch kArch = Arch::kArm;
constexpr uint64_t k4GiB = uint64_t{1} << 32;
constexpr uint64_t kTop = k4GiB - 1;

// Instruction words used below (ARM ARM A8.8.64 LDR (literal), encoding A1).
constexpr uint32_t kLdrIpPc = 0xe59fc000;    // ldr ip, [pc, #0]
constexpr uint32_t kBlxIp = 0xe12fff3c;      // blx ip
constexpr uint32_t kNop = 0xe320f000;        // nop
constexpr uint32_t kBl = 0xeb000000;         // bl
constexpr uint32_t kMovwIp = 0xe300c000;     // movw ip, #0
constexpr uint32_t kLdrPcPcM4 = 0xe51ff004;  // ldr pc, [pc, #-4]
constexpr uint32_t kLdrR4Pc = 0xe59f4000;    // ldr r4, [pc]
constexpr uint32_t kLdrPcPc = 0xe59ff000;    // ldr pc, [pc]

std::vector<uint8_t> Le32(uint32_t word) {
  return {static_cast<uint8_t>(word), static_cast<uint8_t>(word >> 8),
          static_cast<uint8_t>(word >> 16), static_cast<uint8_t>(word >> 24)};
}

uint32_t ReadLe32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, ByteOrder::kLittle));
}

std::vector<uint8_t> Words(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> out;
  for (uint32_t w : words) {
    for (uint8_t b : Le32(w)) out.push_back(b);
  }
  return out;
}

// `ldr rd, [pc, #+/-offset]` with cond al.
uint32_t LdrPc(uint32_t rd, int32_t offset) {
  const uint32_t u = offset >= 0 ? Ldr::kUBit : 0;
  const uint32_t magnitude = static_cast<uint32_t>(offset >= 0 ? offset
                                                               : -offset);
  return 0xe51f0000 | u | (rd << 12) | magnitude;
}

absl::StatusCode LocateCode(absl::Span<const uint8_t> code, RelocMode mode,
                            uint32_t pc) {
  return LocateSite(kArch, code, {mode, pc, 0}, 0).status().code();
}

constexpr RelocMode kPoolModes[] = {
    RelocMode::kWasmCall, RelocMode::kWasmStubCall,
    RelocMode::kExternalReference, RelocMode::kWasmCanonicalSigId,
    RelocMode::kWasmCodePointerTableEntry};

// ---------------------------------------------------------------------------
// Encoders

TEST(ArmLdrPcImm12, RecognizesExactlyPcRelativeImmediateLoads) {
  for (uint32_t insn :
       {kLdrIpPc, kLdrPcPcM4, kLdrR4Pc, kLdrPcPc, 0xe59fcfffu, 0xe51f2fffu,
        0x059f3010u /* ldreq */, 0xd59f0004u /* ldrle */}) {
    EXPECT_TRUE(Ldr::IsLdrPcImmediate(insn)) << absl::StrFormat("%08x", insn);
  }
  for (uint32_t insn :
       {0xf55ff004u /* pld, the unconditional space */,
        0xe5dfc000u /* ldrb */, 0xe5bfc000u /* writeback */,
        0xe49fc004u /* post-indexed */, 0xe58fc000u /* str */,
        0xe59ec000u /* base lr */, 0xe79fc000u /* register offset */,
        kMovwIp, kBl, kBlxIp, kNop, 0u}) {
    EXPECT_FALSE(Ldr::IsLdrPcImmediate(insn)) << absl::StrFormat("%08x", insn);
  }
}

TEST(ArmLdrPcImm12, SlotIsPcPlus8PlusOrMinusImm12) {
  for (uint64_t site : {uint64_t{0x1000}, uint64_t{0x5c000000}, kTop - 3}) {
    EXPECT_EQ(Ldr::SlotAddress(kLdrIpPc, site), site + 8);
    EXPECT_EQ(Ldr::SlotAddress(LdrPc(12, 4095), site), site + 8 + 4095);
    EXPECT_EQ(Ldr::SlotAddress(LdrPc(12, -4095), site), site + 8 - 4095);
    EXPECT_EQ(Ldr::SlotAddress(kLdrPcPcM4, site), site + 4);
  }
  // The jump-table words load their data words.
  EXPECT_EQ(Ldr::SlotAddress(kLdrR4Pc, 0x100), 0x108u);
  EXPECT_EQ(Ldr::SlotAddress(kLdrPcPc, 0x104), 0x10cu);
}

TEST(ArmLdrPcImm12, ReachIsPlusMinus4095FromPcPlus8) {
  for (uint64_t site : {uint64_t{0x1000}, uint64_t{0x5c000000}}) {
    const uint64_t base = site + 8;
    for (int64_t delta : {int64_t{0}, int64_t{4}, int64_t{-4}, int64_t{4095},
                          int64_t{-4095}}) {
      const uint64_t slot = base + static_cast<uint64_t>(delta);
      ASSERT_TRUE(Ldr::InRange(site, slot)) << delta;
      const uint32_t insn = Ldr::Encode(kLdrIpPc, site, slot);
      EXPECT_EQ(Ldr::SlotAddress(insn, site), slot) << delta;
      EXPECT_TRUE(Ldr::IsLdrPcImmediate(insn));
    }
    EXPECT_EQ(Ldr::Encode(kLdrIpPc, site, base + 4095), 0xe59fcfffu);
    EXPECT_EQ(Ldr::Encode(kLdrIpPc, site, base - 4095), 0xe51fcfffu);
    EXPECT_EQ(Ldr::Encode(kLdrIpPc, site, site + 4), 0xe51fc004u);
    EXPECT_FALSE(Ldr::InRange(site, base + 4096));
    EXPECT_FALSE(Ldr::InRange(site, base - 4096));
    EXPECT_FALSE(Ldr::InRange(site, base + k4GiB));
  }
}

TEST(ArmLdrPcImm12, EncodingChangesOnlyUAndImm12) {
  std::mt19937_64 rng(0xa3320001);
  std::uniform_int_distribution<int64_t> delta(-4095, 4095);
  for (int i = 0; i < 10000; ++i) {
    const uint32_t insn = static_cast<uint32_t>(rng());
    const uint64_t site = rng() & 0xfffff000;
    const int64_t d = delta(rng);
    const uint64_t slot = site + 8 + static_cast<uint64_t>(d);
    ASSERT_TRUE(Ldr::InRange(site, slot));
    const uint32_t out = Ldr::Encode(insn, site, slot);
    ASSERT_EQ(out & ~Ldr::kFieldMask, insn & ~Ldr::kFieldMask);
    ASSERT_EQ(out & Ldr::kImm12Mask, static_cast<uint32_t>(d < 0 ? -d : d));
    ASSERT_EQ((out & Ldr::kUBit) != 0, d >= 0);
    ASSERT_EQ(Ldr::SlotAddress(out, site), slot);
  }
}

TEST(ArmWord32, ValuesAre32Bits) {
  EXPECT_TRUE(Word::InRange(0));
  EXPECT_TRUE(Word::InRange(kTop));
  EXPECT_FALSE(Word::InRange(k4GiB));
  EXPECT_FALSE(Word::InRange(~uint64_t{0}));
  EXPECT_EQ(Word::Encode(kTop), 0xffffffffu);
  EXPECT_EQ(Word::Decode(0xffffffffu), kTop);
  EXPECT_EQ(Word::Decode(Word::Encode(0x5a000123)), 0x5a000123u);
}

// ---------------------------------------------------------------------------
// Sites

// 0: ldr ip, [pc, #4]   4: blx ip   8: b over the pool (any word)
// 12: pool word 0x2a    16: ldr r0, [pc, #-12] (also word 12)
std::vector<uint8_t> SampleCode() {
  return Words({LdrPc(12, 4), kBlxIp, 0xea000000, 0x2a, LdrPc(0, -12)});
}

TEST(ArmSites, EveryPatchedModeIsAPoolWord) {
  const std::vector<uint8_t> code = SampleCode();
  for (RelocMode mode : kPoolModes) {
    SCOPED_TRACE(RelocModeName(mode));
    EXPECT_TRUE(ModeUsedOnTarget(kArch, mode));
    for (uint32_t pc : {0u, 16u}) {
      auto site = LocateSite(kArch, code, {mode, pc, 0}, 0);
      ASSERT_TRUE(site.ok()) << site.status();
      EXPECT_EQ(site->form, SiteForm::kImm32);
      EXPECT_EQ(site->field_offset, 12u);
      EXPECT_EQ(site->field_size, 4u);
      EXPECT_EQ(site->pc, pc);
      EXPECT_TRUE(site->pool_slot);
      EXPECT_EQ(site->instruction_size, 4u);
      EXPECT_EQ(ReadTag(kArch, code.data(), *site), 42u);
    }
  }
}

TEST(ArmSites, MalformedSitesAreDataLoss) {
  for (RelocMode mode : kPoolModes) {
    SCOPED_TRACE(RelocModeName(mode));
    const std::vector<uint8_t> code = SampleCode();
    // Misaligned; instruction past the end; not a pool load (blx, bl, movw).
    EXPECT_EQ(LocateCode(code, mode, 2), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, mode, 20), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, mode, 4), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(Words({kBl, 0}), mode, 0),
              absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(Words({kMovwIp, 0xe340c000, kBlxIp}), mode, 0),
              absl::StatusCode::kDataLoss);
    // Pool words: last inside, first past the end, before the start,
    // misaligned, and the load itself.
    EXPECT_TRUE(LocateSite(kArch, Words({LdrPc(12, 0), 0, 0}), {mode, 0, 0}, 0)
                    .ok());
    EXPECT_EQ(LocateCode(Words({LdrPc(12, 4), 0, 0}), mode, 0),
              absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(Words({LdrPc(12, -12), 0, 0}), mode, 0),
              absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(Words({LdrPc(12, 2), 0, 0, 0}), mode, 0),
              absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(Words({0, LdrPc(12, -8), 0}), mode, 4),
              absl::StatusCode::kDataLoss);
    EXPECT_TRUE(LocateSite(kArch, Words({0, LdrPc(12, -12), 0}), {mode, 4, 0},
                           0)
                    .ok());
  }
}

TEST(ArmSites, ModesV8NeverEmitsAreRejected) {
  const std::vector<uint8_t> code = SampleCode();
  for (RelocMode mode :
       {RelocMode::kVeneerPool, RelocMode::kInternalReference,
        RelocMode::kInternalReferenceEncoded}) {
    SCOPED_TRACE(RelocModeName(mode));
    EXPECT_FALSE(ModeUsedOnTarget(kArch, mode));
    EXPECT_EQ(LocateCode(code, mode, 0), absl::StatusCode::kDataLoss);
  }
  // arm has constant pools; CONST_POOL marks them but is not patched.
  EXPECT_TRUE(ModeUsedOnTarget(kArch, RelocMode::kConstPool));
  EXPECT_EQ(LocateCode(code, RelocMode::kConstPool, 8),
            absl::StatusCode::kDataLoss);
}

TEST(ArmSites, ErrorsNameTheModeTheInstructionAndTheFileOffset) {
  const std::vector<uint8_t> code = SampleCode();
  auto bad =
      LocateSite(kArch, code, {RelocMode::kExternalReference, 4, 0}, 0x2000);
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  const std::string message(bad.status().message());
  EXPECT_NE(message.find("reloc"), std::string::npos) << message;
  EXPECT_NE(message.find("EXTERNAL_REFERENCE"), std::string::npos) << message;
  EXPECT_NE(message.find("0x2004"), std::string::npos) << message;
  EXPECT_NE(message.find("e12fff3c"), std::string::npos) << message;
}

TEST(ArmSites, TagsAndTargetsLiveInThePoolWordOnly) {
  std::vector<uint8_t> code = SampleCode();
  auto site = LocateSite(kArch, code, {RelocMode::kWasmCall, 0, 0}, 0);
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_TRUE(TagFitsForm(kArch, *site, 0xffffffffu));
  EXPECT_FALSE(TagFitsForm(kArch, *site, k4GiB));
  for (uint32_t tag : {0u, 0x688u, 0xffffffffu}) {
    ASSERT_TRUE(WriteTag(kArch, code.data(), *site, tag));
    EXPECT_EQ(ReadLe32(code.data() + 12), tag);
    EXPECT_EQ(ReadTag(kArch, code.data(), *site), tag);
  }
  std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTag(kArch, code.data(), *site, k4GiB));
  EXPECT_EQ(code, before);
  // Targets are absolute: the code address does not enter.
  for (uint64_t target : {uint64_t{0}, kTop, uint64_t{0x5c000400}}) {
    ASSERT_TRUE(WriteTarget(kArch, code.data(), 0x5c000000, *site, target));
    EXPECT_EQ(ReadLe32(code.data() + 12), static_cast<uint32_t>(target));
    EXPECT_EQ(ReadTarget(kArch, code.data(), 0x5c000000, *site), target);
    EXPECT_EQ(ReadTarget(kArch, code.data(), 0x1000, *site), target);
  }
  before = code;
  EXPECT_FALSE(WriteTarget(kArch, code.data(), 0x5c000000, *site, k4GiB));
  EXPECT_EQ(code, before) << "a rejected write changed the code";
  // Everything but the pool word is as built.
  const std::vector<uint8_t> built = SampleCode();
  for (size_t k = 0; k < code.size(); ++k) {
    if (k >= 12 && k < 16) continue;
    EXPECT_EQ(code[k], built[k]) << "byte " << k;
  }
}

// ---------------------------------------------------------------------------
// Jump-table slots

TEST(ArmJumpTable, Geometry) {
  const ArchTraits& t = TraitsOf(kArch);
  EXPECT_EQ(t.jump_table_slot_size, 8u);
  EXPECT_EQ(t.jump_table_line_size, 8u);
  EXPECT_EQ(t.far_jump_table_slot_size, 8u);
  EXPECT_EQ(t.lazy_compile_slot_size, 16u);
  EXPECT_FALSE(t.far_jumps_between_code_spaces);
  const JumpTableLayout layout = ComputeJumpTableLayout(kArch, 6, 121, true);
  EXPECT_EQ(layout.near_size, 48u);
  EXPECT_EQ(layout.far_offset, 64u);
  EXPECT_EQ(layout.far_size, 968u);
  EXPECT_EQ(layout.lazy_offset, 1056u);
}

TEST(ArmJumpTable, SlotBytes) {
  const uint64_t base = 0x5c000000;
  std::vector<uint8_t> near(8, 0), far(8, 0), lazy(16, 0);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), base, 0x5c000420));
  EXPECT_EQ(near, (std::vector<uint8_t>{0x04, 0xf0, 0x1f, 0xe5, 0x20, 0x04,
                                        0x00, 0x5c}));
  auto back = ReadNearJumpSlotTarget(kArch, near.data(), base);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, 0x5c000420u);
  // The far slot is the near form; its target is absolute.
  WriteFarJumpSlot(kArch, far.data(), base + 0x40, 0x5c000420);
  EXPECT_EQ(far, near);
  auto far_back = ReadFarJumpSlotTarget(kArch, far.data());
  ASSERT_TRUE(far_back.ok()) << far_back.status();
  EXPECT_EQ(*far_back, 0x5c000420u);
  // Lazy: ldr r4, [pc]; ldr pc, [pc]; index; target.
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), base + 0x420, 7,
                                   base + 0x40 + 17 * 8));
  EXPECT_EQ(lazy,
            (std::vector<uint8_t>{0x00, 0x40, 0x9f, 0xe5, 0x00, 0xf0, 0x9f,
                                  0xe5, 0x07, 0x00, 0x00, 0x00, 0xc8, 0x00,
                                  0x00, 0x5c}));
}

TEST(ArmJumpTable, TargetsAre32BitAddresses) {
  std::vector<uint8_t> slot(16, 0xab);
  const std::vector<uint8_t> before = slot;
  EXPECT_FALSE(WriteNearJumpSlot(kArch, slot.data(), 0x1000, k4GiB));
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, slot.data(), 0x1000, 1, k4GiB));
  EXPECT_EQ(slot, before);
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, slot.data(), 0x1000).ok());
  ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), 0x1000, kTop));
  EXPECT_EQ(ReadLe32(slot.data() + 4), 0xffffffffu);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), 0x1000, 0));
  EXPECT_EQ(ReadLe32(slot.data() + 4), 0u);
  EXPECT_EQ(CodecOf(kArch).read_far_slot(slot.data(), 0x1000), 0u);
}

// ---------------------------------------------------------------------------
// llvm-mc

using Insn = wasmcache::testing::DisassembledInsn;
using wasmcache::testing::TrimSpace;
std::string Trim(const std::string& s) { return TrimSpace(s); }

std::string LlvmMc() {
  return wasmcache::testing::FindLlvmMc({"llvm-mc", "llvm-mc-14"});
}

#define REQUIRE_LLVM_MC(var)                                                \
  const std::string var = LlvmMc();                                         \
  ASSERT_FALSE(var.empty())                                                 \
      << "llvm-mc not found (install the Debian package `llvm`, or set "    \
         "LLVM_MC): the arm encodings cannot be checked against an "        \
         "independent disassembler"

// Disassembles `words` as ARM-mode armv7, one word per line; one Insn per
// word. Fails the test on any diagnostic.
std::vector<Insn> Disassemble(const std::string& mc,
                              const std::vector<uint32_t>& words) {
  std::vector<std::vector<uint8_t>> lines;
  for (uint32_t word : words) {
    const auto bytes = Le32(word);
    lines.push_back(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  return wasmcache::testing::DisassembleWithLlvmMc(mc, "-triple=armv7", lines,
                                                   '@');
}

// "<rd>, [pc, #<offset>]" or "<rd>, [pc]": the register and the signed
// offset ("#-0" reads as 0).
struct PcLoad {
  std::string rd;
  int64_t offset = 0;
};

std::optional<PcLoad> ParsePcLoad(const std::string& operands) {
  const size_t comma = operands.find(',');
  if (comma == std::string::npos) return std::nullopt;
  PcLoad load;
  load.rd = Trim(operands.substr(0, comma));
  const std::string mem = Trim(operands.substr(comma + 1));
  if (mem == "[pc]") return load;
  const std::string prefix = "[pc, #";
  if (mem.compare(0, prefix.size(), prefix) != 0 || mem.back() != ']') {
    return std::nullopt;
  }
  const std::string number =
      mem.substr(prefix.size(), mem.size() - prefix.size() - 1);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(number.c_str(), &end, 10);
  if (errno != 0 || end == number.c_str() || *end != '\0') return std::nullopt;
  load.offset = v;
  return load;
}

std::string RegisterName(uint32_t rd) {
  static const char* const kNames[16] = {"r0", "r1", "r2",  "r3", "r4",  "r5",
                                         "r6", "r7", "r8",  "r9", "r10", "r11",
                                         "r12", "sp", "lr", "pc"};
  return kNames[rd & 15];
}

TEST(ArmLlvmMc, ParserReadsTheFormats) {
  auto a = ParsePcLoad("r12, [pc, #-4095]");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->rd, "r12");
  EXPECT_EQ(a->offset, -4095);
  auto b = ParsePcLoad("pc, [pc]");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->offset, 0);
  EXPECT_FALSE(ParsePcLoad("r0, [r1, #4]").has_value());
  REQUIRE_LLVM_MC(mc);
  const auto insns = Disassemble(mc, {kLdrPcPcM4});
  ASSERT_EQ(insns.size(), 1u);
  EXPECT_EQ(insns[0].mnemonic, "ldr");
  EXPECT_EQ(insns[0].operands, "pc, [pc, #-4]");
}

// Loads built by the encoder at `site` for `slot`, checked through llvm-mc:
// the printed offset plus pc + 8 is the slot, the register is kept.
struct PoolLoad {
  uint32_t rd;
  uint64_t site;
  uint64_t slot;
};

void CheckPoolLoads(const std::vector<PoolLoad>& loads) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint32_t> words;
  for (const PoolLoad& l : loads) {
    ASSERT_TRUE(Ldr::InRange(l.site, l.slot));
    words.push_back(Ldr::Encode(0xe59f0000 | (l.rd << 12), l.site, l.slot));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), loads.size());
  for (size_t i = 0; i < loads.size(); ++i) {
    const PoolLoad& l = loads[i];
    SCOPED_TRACE(absl::StrFormat("load %d at 0x%x of 0x%x: %s %s", i, l.site,
                                 l.slot, insns[i].mnemonic,
                                 insns[i].operands));
    EXPECT_EQ(insns[i].mnemonic, "ldr");
    const auto parsed = ParsePcLoad(insns[i].operands);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->rd, RegisterName(l.rd));
    EXPECT_EQ(l.site + 8 + static_cast<uint64_t>(parsed->offset), l.slot);
  }
}

TEST(ArmLlvmMc, PoolLoadsAtTheBoundaries) {
  std::vector<PoolLoad> loads;
  for (uint64_t site : {uint64_t{0x2000}, uint64_t{0x5c000000}}) {
    for (int64_t delta : {int64_t{0}, int64_t{4}, int64_t{-4}, int64_t{-8},
                          int64_t{4092}, int64_t{4095}, int64_t{-4095}}) {
      for (uint32_t rd : {0u, 4u, 12u, 15u}) {
        loads.push_back({rd, site, site + 8 + static_cast<uint64_t>(delta)});
      }
    }
  }
  CheckPoolLoads(loads);
}

TEST(ArmLlvmMc, PoolLoadsAtRandomPoints) {
  std::mt19937_64 rng(0xa3320002);
  std::uniform_int_distribution<int64_t> delta(-4095, 4095);
  std::vector<PoolLoad> loads;
  for (int i = 0; i < 100; ++i) {
    const uint64_t site = (rng() & 0x7ffffff0) + 0x10000;
    loads.push_back({static_cast<uint32_t>(rng() & 15), site,
                     site + 8 + static_cast<uint64_t>(delta(rng))});
  }
  CheckPoolLoads(loads);
}

// The slots' instruction words load exactly the data words written after
// them: near/far `ldr pc, [pc, #-4]` its target at +4; lazy `ldr r4, [pc]`
// the index at +8 and `ldr pc, [pc]` the target at +12.
TEST(ArmLlvmMc, JumpTableSlots) {
  REQUIRE_LLVM_MC(mc);
  const uint64_t slot_address = 0x5c000040;
  const std::vector<uint64_t> targets = {0, kTop, 0x5b000000, slot_address};
  std::vector<uint32_t> words;
  for (uint64_t target : targets) {
    std::vector<uint8_t> near(8), far(8), lazy(16);
    ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), slot_address, target));
    WriteFarJumpSlot(kArch, far.data(), slot_address, target);
    ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), slot_address,
                                     static_cast<uint32_t>(target ^ 0x55),
                                     target));
    EXPECT_EQ(ReadLe32(near.data() + 4), static_cast<uint32_t>(target));
    EXPECT_EQ(far, near);
    EXPECT_EQ(ReadLe32(lazy.data() + 8), static_cast<uint32_t>(target ^ 0x55));
    EXPECT_EQ(ReadLe32(lazy.data() + 12), static_cast<uint32_t>(target));
    words.push_back(ReadLe32(near.data()));
    words.push_back(ReadLe32(lazy.data()));
    words.push_back(ReadLe32(lazy.data() + 4));
  }
  const auto insns = Disassemble(mc, words);
  ASSERT_EQ(insns.size(), words.size());
  for (size_t i = 0; i < insns.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("word %d: %s %s", i, insns[i].mnemonic,
                                 insns[i].operands));
    EXPECT_EQ(insns[i].mnemonic, "ldr");
    const auto load = ParsePcLoad(insns[i].operands);
    ASSERT_TRUE(load.has_value());
    // Word position inside its slot, and the data word it must load.
    const uint64_t at = i % 3 == 0 ? 0 : (i % 3 == 1 ? 0 : 4);
    const uint64_t loads = i % 3 == 0 ? 4 : (i % 3 == 1 ? 8 : 12);
    EXPECT_EQ(load->rd, i % 3 == 1 ? "r4" : "pc");
    EXPECT_EQ(slot_address + at + 8 + static_cast<uint64_t>(load->offset),
              slot_address + loads);
  }
}

}  // namespace
}  // namespace wasmcache::reference
