// The ia32 codec: encoders (reference/encoders/ia32.h), relocation sites
// (reference/relocation.h) and jump-table slots (reference/jump_table.h),
// checked at their boundaries and against an independent disassembler.
//
// llvm-mc is required: without it the disassembler tests fail. It is found
// as $LLVM_MC, else llvm-mc or llvm-mc-14 in PATH (Debian package `llvm`).
// Output parsed (-triple=i686, AT&T syntax), one instruction per line:
//   call[l] | jmp[l]  <disp>          E8/E9 rel32; <disp> counts from the
//                                     next instruction, in decimal
//   movl  $<imm>, %<reg>              B8+r imm32, decimal; large ones are
//                                     followed by "# imm = 0x..." (dropped)
//   jmp[l] *<disp>(,%eax,4)           FF 24 85 disp32 (a table switch)
// LLVM 14 writes calll/jmpl; newer versions call/jmp. Any "warning:" or
// "error:" line fails the test.

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
#include "reference/encoders/ia32.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/arch.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using Rel32 = Ia32Rel32<D>;
using Abs32 = Ia32Abs32<D>;

constexpr Arch kArch = Arch::kIa32;
constexpr uint64_t k4GiB = uint64_t{1} << 32;
constexpr uint64_t kTop = k4GiB - 1;

std::vector<uint8_t> Le32(uint32_t word) {
  return {static_cast<uint8_t>(word), static_cast<uint8_t>(word >> 8),
          static_cast<uint8_t>(word >> 16), static_cast<uint8_t>(word >> 24)};
}

uint32_t ReadLe32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, ByteOrder::kLittle));
}

absl::StatusCode LocateCode(absl::Span<const uint8_t> code, RelocMode mode,
                            uint32_t pc) {
  return LocateSite(kArch, code, {mode, pc, 0}, 0).status().code();
}

// ---------------------------------------------------------------------------
// Encoders

TEST(Ia32Rel32, ReachIsTheWhole32BitAddressSpace) {
  for (uint64_t site : {uint64_t{0}, uint64_t{0x1000}, uint64_t{0x7ffffffc},
                        uint64_t{0x80000000}, kTop - 4}) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    // Last addresses in range, on both ends of the space.
    for (uint64_t target : {uint64_t{0}, kTop, site, site + 4}) {
      ASSERT_TRUE(Rel32::InRange(site, target)) << target;
      EXPECT_EQ(Rel32::Decode(site, Rel32::Encode(site, target)), target);
    }
    // First addresses out of range: 2^32 and, read as signed, -1.
    EXPECT_FALSE(Rel32::InRange(site, k4GiB));
    EXPECT_FALSE(Rel32::InRange(site, ~uint64_t{0}));
  }
  EXPECT_FALSE(Rel32::InRange(k4GiB, 0x1000));
  EXPECT_TRUE(Rel32::InRange(kTop, 0x1000));
}

TEST(Ia32Rel32, DisplacementWrapsModulo2To32) {
  // From near the bottom to near the top: a small negative displacement.
  EXPECT_EQ(Rel32::Encode(0x10, 0xfffffff0), 0xffffffdcu);
  EXPECT_EQ(Rel32::Decode(0x10, 0xffffffdcu), 0xfffffff0u);
  // From near the top to near the bottom: a small positive one.
  EXPECT_EQ(Rel32::Encode(0xfffffff0, 0x10), 0x1cu);
  EXPECT_EQ(Rel32::Decode(0xfffffff0, 0x1c), 0x10u);
  // The next instruction, and the field itself.
  EXPECT_EQ(Rel32::Encode(0x1000, 0x1004), 0u);
  EXPECT_EQ(Rel32::Encode(0x1000, 0x1000), 0xfffffffcu);
  // Tags are raw.
  EXPECT_EQ(Rel32::EncodeTag(0xdeadbeef), 0xdeadbeefu);
  EXPECT_EQ(Rel32::DecodeTag(0xdeadbeef), 0xdeadbeefu);
}

TEST(Ia32Rel32, RandomTargetsRoundTrip) {
  std::mt19937_64 rng(0x1a320001);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t site = rng() & kTop;
    const uint64_t target = rng() & kTop;
    ASSERT_TRUE(Rel32::InRange(site, target));
    ASSERT_EQ(Rel32::Decode(site, Rel32::Encode(site, target)), target);
    ASSERT_EQ(Rel32::Encode(site, target),
              static_cast<uint32_t>(target - site - 4));
  }
}

TEST(Ia32Abs32, ValuesAre32Bits) {
  EXPECT_TRUE(Abs32::InRange(0));
  EXPECT_TRUE(Abs32::InRange(kTop));
  EXPECT_FALSE(Abs32::InRange(k4GiB));
  EXPECT_FALSE(Abs32::InRange(~uint64_t{0}));
  EXPECT_EQ(Abs32::Encode(kTop), 0xffffffffu);
  EXPECT_EQ(Abs32::Decode(0xffffffffu), kTop);
  EXPECT_EQ(Abs32::Decode(Abs32::Encode(0x5a000123)), 0x5a000123u);
}

// ---------------------------------------------------------------------------
// Sites

// 0: call rel32   5: jmp rel32   10: mov eax, imm32   15: nop x3
std::vector<uint8_t> SampleCode() {
  return {0xe8, 1,    0,    0,    0,    0xe9, 2,    0,    0,
          0,    0xb8, 0x2a, 0x00, 0x00, 0x00, 0x90, 0x90, 0x90};
}

TEST(Ia32Sites, CallsAreRel32AfterE8OrE9) {
  const std::vector<uint8_t> code = SampleCode();
  for (RelocMode mode : {RelocMode::kWasmCall, RelocMode::kWasmStubCall}) {
    SCOPED_TRACE(RelocModeName(mode));
    for (uint32_t pc : {1u, 6u}) {
      auto site = LocateSite(kArch, code, {mode, pc, 0}, 0);
      ASSERT_TRUE(site.ok()) << site.status();
      EXPECT_EQ(site->form, SiteForm::kX64Rel32);
      EXPECT_EQ(site->field_offset, pc);
      EXPECT_EQ(site->field_size, 4u);
      EXPECT_FALSE(site->pool_slot);
      EXPECT_EQ(ReadTag(kArch, code.data(), *site), pc == 1 ? 1u : 2u);
    }
    // mov eax before the field, a field at the start, a field running past
    // the end of the code.
    EXPECT_EQ(LocateCode(code, mode, 11), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, mode, 0), absl::StatusCode::kDataLoss);
    std::vector<uint8_t> tail = {0x90, 0x90, 0xe8, 0, 0, 0};
    EXPECT_EQ(LocateCode(tail, mode, 3), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(tail, mode, 7), absl::StatusCode::kDataLoss);
    tail.push_back(0);
    EXPECT_TRUE(LocateSite(kArch, tail, {mode, 3, 0}, 0).ok());
  }
}

TEST(Ia32Sites, DataFieldsAre4BytesAtPc) {
  const std::vector<uint8_t> code = SampleCode();
  for (RelocMode mode :
       {RelocMode::kExternalReference, RelocMode::kInternalReference,
        RelocMode::kWasmCanonicalSigId,
        RelocMode::kWasmCodePointerTableEntry}) {
    SCOPED_TRACE(RelocModeName(mode));
    auto site = LocateSite(kArch, code, {mode, 11, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kImm32);
    EXPECT_EQ(site->field_offset, 11u);
    EXPECT_EQ(site->field_size, 4u);
    EXPECT_EQ(ReadTag(kArch, code.data(), *site), 42u);
    // Last field that fits, first that does not.
    EXPECT_TRUE(LocateSite(kArch, code, {mode, 14, 0}, 0).ok());
    EXPECT_EQ(LocateCode(code, mode, 15), absl::StatusCode::kDataLoss);
    EXPECT_EQ(LocateCode(code, mode, 0xffffffff), absl::StatusCode::kDataLoss);
  }
}

TEST(Ia32Sites, ModesV8NeverEmitsAreRejected) {
  const std::vector<uint8_t> code = SampleCode();
  for (RelocMode mode :
       {RelocMode::kConstPool, RelocMode::kVeneerPool,
        RelocMode::kInternalReferenceEncoded}) {
    SCOPED_TRACE(RelocModeName(mode));
    EXPECT_FALSE(ModeUsedOnTarget(kArch, mode));
    EXPECT_EQ(LocateCode(code, mode, 11), absl::StatusCode::kDataLoss);
  }
  for (RelocMode mode :
       {RelocMode::kWasmCall, RelocMode::kWasmStubCall,
        RelocMode::kExternalReference, RelocMode::kInternalReference,
        RelocMode::kWasmCanonicalSigId,
        RelocMode::kWasmCodePointerTableEntry}) {
    EXPECT_TRUE(ModeUsedOnTarget(kArch, mode)) << RelocModeName(mode);
  }
}

TEST(Ia32Sites, ErrorsNameTheModeAndTheFileOffset) {
  const std::vector<uint8_t> code = SampleCode();
  auto bad =
      LocateSite(kArch, code, {RelocMode::kWasmCall, 11, 0}, 0x1000);
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  const std::string message(bad.status().message());
  EXPECT_NE(message.find("reloc"), std::string::npos) << message;
  EXPECT_NE(message.find("WASM_CALL"), std::string::npos) << message;
  EXPECT_NE(message.find("0x100b"), std::string::npos) << message;
  EXPECT_NE(message.find("0xb8"), std::string::npos) << message;
}

TEST(Ia32Sites, TagsAreWhole32BitFields) {
  std::vector<uint8_t> code = SampleCode();
  for (uint32_t pc : {1u, 11u}) {
    const RelocMode mode =
        pc == 1 ? RelocMode::kWasmStubCall : RelocMode::kExternalReference;
    auto site = LocateSite(kArch, code, {mode, pc, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_TRUE(TagFitsForm(kArch, *site, 0xffffffffu));
    EXPECT_FALSE(TagFitsForm(kArch, *site, k4GiB));
    for (uint32_t tag : {0u, 0x688u, 0xffffffffu}) {
      ASSERT_TRUE(WriteTag(kArch, code.data(), *site, tag));
      EXPECT_EQ(ReadLe32(code.data() + pc), tag);
      EXPECT_EQ(ReadTag(kArch, code.data(), *site), tag);
    }
    const std::vector<uint8_t> before = code;
    EXPECT_FALSE(WriteTag(kArch, code.data(), *site, k4GiB));
    EXPECT_EQ(code, before);
  }
  // The opcodes stay.
  EXPECT_EQ(code[0], 0xe8);
  EXPECT_EQ(code[10], 0xb8);
}

TEST(Ia32Sites, TargetsAtTheBoundaries) {
  std::vector<uint8_t> code = SampleCode();
  const uint64_t code_address = 0x5c001000;
  auto call = LocateSite(kArch, code, {RelocMode::kWasmCall, 6, 0}, 0);
  ASSERT_TRUE(call.ok()) << call.status();
  const uint64_t next = code_address + 10;
  for (uint64_t target : {uint64_t{0}, kTop, next, next - 10, next + 0x100}) {
    ASSERT_TRUE(WriteTarget(kArch, code.data(), code_address, *call, target));
    EXPECT_EQ(ReadLe32(code.data() + 6), static_cast<uint32_t>(target - next));
    EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, *call), target);
  }
  auto ext = LocateSite(kArch, code, {RelocMode::kExternalReference, 11, 0}, 0);
  ASSERT_TRUE(ext.ok()) << ext.status();
  for (uint64_t value : {uint64_t{0}, kTop, uint64_t{0x5a000040}}) {
    ASSERT_TRUE(WriteTarget(kArch, code.data(), code_address, *ext, value));
    EXPECT_EQ(ReadLe32(code.data() + 11), static_cast<uint32_t>(value));
    EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, *ext), value);
  }
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTarget(kArch, code.data(), code_address, *call, k4GiB));
  EXPECT_FALSE(WriteTarget(kArch, code.data(), k4GiB, *call, 0x1000));
  EXPECT_FALSE(WriteTarget(kArch, code.data(), code_address, *ext, k4GiB));
  EXPECT_EQ(code, before) << "a rejected write changed the code";
}

// Only the field's bytes change, whatever surrounds them.
TEST(Ia32Sites, WritesChangeOnlyTheFieldBytes) {
  std::mt19937_64 rng(0x1a320002);
  for (int i = 0; i < 1000; ++i) {
    std::vector<uint8_t> code(16);
    for (uint8_t& b : code) b = static_cast<uint8_t>(rng());
    const uint32_t pc = 1 + static_cast<uint32_t>(rng() % 12);
    code[pc - 1] = (rng() & 1) ? 0xe8 : 0xe9;
    const RelocMode mode =
        (rng() & 1) ? RelocMode::kWasmCall : RelocMode::kExternalReference;
    auto site = LocateSite(kArch, code, {mode, pc, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    const std::vector<uint8_t> before = code;
    const uint64_t code_address = rng() & 0x7fff'fff0;
    const uint64_t target = rng() & kTop;
    ASSERT_TRUE(WriteTarget(kArch, code.data(), code_address, *site, target));
    ASSERT_EQ(ReadTarget(kArch, code.data(), code_address, *site), target);
    for (size_t k = 0; k < code.size(); ++k) {
      if (k >= pc && k < pc + 4) continue;
      ASSERT_EQ(code[k], before[k]) << "byte " << k << " changed";
    }
  }
}

// ---------------------------------------------------------------------------
// Jump-table slots

TEST(Ia32JumpTable, LinesHoldTwelveSlotsAndFourBytesOfPadding) {
  const ArchTraits& t = TraitsOf(kArch);
  EXPECT_EQ(t.jump_table_slot_size, 5u);
  EXPECT_EQ(t.jump_table_line_size, 64u);
  EXPECT_EQ(t.far_jump_table_slot_size, 5u);
  EXPECT_EQ(t.lazy_compile_slot_size, 10u);
  EXPECT_FALSE(t.far_jumps_between_code_spaces);
  const JumpTableLayout layout = ComputeJumpTableLayout(kArch, 13, 121, true);
  EXPECT_EQ(layout.near_size, 128u);
  EXPECT_EQ(layout.NearSlotOffset(t, 11), 55u);
  EXPECT_EQ(layout.NearSlotOffset(t, 12), 64u);
  EXPECT_EQ(layout.far_offset, 128u);
  EXPECT_EQ(layout.far_size, 121u * 5);
  EXPECT_EQ(layout.num_far_function_slots, 0u);
  EXPECT_EQ(layout.lazy_offset, 128u + 608);  // 605 rounded up to 32
}

TEST(Ia32JumpTable, SlotBytes) {
  const uint64_t base = 0x5c000000;
  const JumpTableLayout layout = ComputeJumpTableLayout(kArch, 6, 121, true);
  const ArchTraits& t = TraitsOf(kArch);
  // Near slot 0 to lazy slot 0 (0x2a0 ahead): e9, then target - (slot + 5).
  std::vector<uint8_t> near(5, 0);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(),
                                base + layout.NearSlotOffset(t, 0),
                                base + layout.LazySlotOffset(t, 0)));
  ASSERT_EQ(layout.LazySlotOffset(t, 0), 0x2a0u);
  EXPECT_EQ(near, (std::vector<uint8_t>{0xe9, 0x9b, 0x02, 0x00, 0x00}));
  auto back = ReadNearJumpSlotTarget(kArch, near.data(), base);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, base + 0x2a0);
  // Lazy slot 0 (function index 1) to far slot 17: bf imm32; e9 rel32.
  std::vector<uint8_t> lazy(10, 0);
  const uint64_t lazy_address = base + layout.LazySlotOffset(t, 0);
  const uint64_t far_address = base + layout.FarSlotOffset(t, 17);
  ASSERT_EQ(far_address, base + 0x40 + 85);
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), lazy_address, 1,
                                   far_address));
  const uint32_t rel = static_cast<uint32_t>(far_address - (lazy_address + 10));
  std::vector<uint8_t> expected = {0xbf, 0x01, 0x00, 0x00, 0x00, 0xe9};
  for (uint8_t b : Le32(rel)) expected.push_back(b);
  EXPECT_EQ(lazy, expected);
  // The far slot is the near form.
  std::vector<uint8_t> far(5, 0), far_as_near(5, 0);
  WriteFarJumpSlot(kArch, far.data(), far_address, 0x5b001240);
  ASSERT_TRUE(
      WriteNearJumpSlot(kArch, far_as_near.data(), far_address, 0x5b001240));
  EXPECT_EQ(far, far_as_near);
  EXPECT_EQ(far[0], 0xe9);
  EXPECT_EQ(ReadLe32(far.data() + 1),
            static_cast<uint32_t>(0x5b001240 - (far_address + 5)));
}

TEST(Ia32JumpTable, OutOfTheAddressSpaceIsRefused) {
  std::vector<uint8_t> slot(10, 0xab);
  const std::vector<uint8_t> before = slot;
  EXPECT_TRUE(WriteNearJumpSlot(kArch, slot.data(), 0x1000, kTop));
  EXPECT_TRUE(WriteNearJumpSlot(kArch, slot.data(), kTop - 4, 0));
  slot = before;
  EXPECT_FALSE(WriteNearJumpSlot(kArch, slot.data(), 0x1000, k4GiB));
  EXPECT_FALSE(WriteNearJumpSlot(kArch, slot.data(), k4GiB, 0x1000));
  EXPECT_FALSE(WriteLazyCompileSlot(kArch, slot.data(), 0x1000, 3, k4GiB));
  EXPECT_EQ(slot, before);
  // A slot that is not a jmp has no target.
  EXPECT_FALSE(ReadNearJumpSlotTarget(kArch, slot.data(), 0x1000).ok());
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
         "LLVM_MC): the ia32 encodings cannot be checked against an "       \
         "independent disassembler"

// Disassembles `lines` (each a run of bytes) as i686; one Insn per decoded
// instruction, in order. Fails the test on any diagnostic.
std::vector<Insn> Disassemble(const std::string& mc,
                              const std::vector<std::vector<uint8_t>>& lines) {
  return wasmcache::testing::DisassembleWithLlvmMc(mc, "-triple=i686", lines,
                                                   '#');
}

// A decimal or 0x-hex integer, with an optional '$' and sign.
std::optional<int64_t> ParseInt(std::string s) {
  s = Trim(s);
  if (!s.empty() && s[0] == '$') s = s.substr(1);
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s = s.substr(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s = s.substr(2);
  }
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, base);
  if (errno != 0 || end == s.c_str() || *end != '\0' || v > (1ULL << 62)) {
    return std::nullopt;
  }
  return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

// LLVM 14 prints calll/jmpl for i686; newer ones call/jmp.
std::string Mnemonic(const std::string& m) {
  if (m == "calll" || m == "jmpl") return m.substr(0, m.size() - 1);
  return m;
}

// The target of a rel32 printed by llvm-mc for the instruction ending at
// `next`, taken modulo 2^32 as the CPU does.
uint64_t Rel32Target(uint64_t next, int64_t disp) {
  return (next + static_cast<uint64_t>(disp)) & kTop;
}

TEST(Ia32LlvmMc, ParserReadsTheFormats) {
  EXPECT_EQ(ParseInt("$5"), 5);
  EXPECT_EQ(ParseInt("-2147483648"), -2147483648LL);
  EXPECT_EQ(ParseInt("4294967295"), 4294967295LL);
  EXPECT_EQ(ParseInt("0x10"), 16);
  EXPECT_EQ(ParseInt("12abc"), std::nullopt);
  REQUIRE_LLVM_MC(mc);
  const auto insns = Disassemble(mc, {{0xe8, 0xfb, 0xff, 0xff, 0xff}});
  ASSERT_EQ(insns.size(), 1u);
  EXPECT_EQ(Mnemonic(insns[0].mnemonic), "call");
  EXPECT_EQ(ParseInt(insns[0].operands), -5);
}

struct Jump {
  uint8_t opcode;  // e8 call, e9 jmp
  uint64_t address;
  uint64_t target;
};

void CheckJumps(const std::vector<Jump>& jumps) {
  REQUIRE_LLVM_MC(mc);
  std::vector<std::vector<uint8_t>> lines;
  for (const Jump& j : jumps) {
    ASSERT_TRUE(Rel32::InRange(j.address + 1, j.target));
    std::vector<uint8_t> bytes = {j.opcode};
    for (uint8_t b : Le32(Rel32::Encode(j.address + 1, j.target))) {
      bytes.push_back(b);
    }
    lines.push_back(bytes);
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), jumps.size());
  for (size_t i = 0; i < jumps.size(); ++i) {
    const Jump& j = jumps[i];
    SCOPED_TRACE(absl::StrFormat("insn %d at 0x%x to 0x%x: %s %s", i, j.address,
                                 j.target, insns[i].mnemonic,
                                 insns[i].operands));
    EXPECT_EQ(Mnemonic(insns[i].mnemonic), j.opcode == 0xe8 ? "call" : "jmp");
    const auto disp = ParseInt(insns[i].operands);
    ASSERT_TRUE(disp.has_value());
    EXPECT_EQ(Rel32Target(j.address + 5, *disp), j.target);
  }
}

TEST(Ia32LlvmMc, CallAndJmpRel32AtTheBoundaries) {
  std::vector<Jump> jumps;
  for (uint64_t address :
       {uint64_t{0}, uint64_t{0x5c000000}, uint64_t{0x80000000}, kTop - 4}) {
    for (uint64_t target : {uint64_t{0}, kTop, address, (address + 5) & kTop,
                            (address + 5 + 0x7fffffff) & kTop,
                            (address + 5 + 0x80000000) & kTop}) {
      for (uint8_t op : {uint8_t{0xe8}, uint8_t{0xe9}}) {
        jumps.push_back({op, address, target});
      }
    }
  }
  CheckJumps(jumps);
}

TEST(Ia32LlvmMc, CallAndJmpRel32AtRandomPoints) {
  std::mt19937_64 rng(0x1a320003);
  std::vector<Jump> jumps;
  for (int i = 0; i < 100; ++i) {
    const uint64_t address = rng() & (kTop - 4);
    jumps.push_back({(rng() & 1) ? uint8_t{0xe8} : uint8_t{0xe9},
                     address, rng() & kTop});
  }
  CheckJumps(jumps);
}

// 32-bit absolute values as V8 uses them: mov r32, imm32 (B8+r; an external
// reference or an id) and the disp32 of a table switch's jmp [disp + eax*4]
// (an internal reference).
TEST(Ia32LlvmMc, Absolute32AtTheBoundariesAndRandomPoints) {
  REQUIRE_LLVM_MC(mc);
  std::mt19937_64 rng(0x1a320004);
  std::vector<uint64_t> values = {0, 1, 0x7fffffff, 0x80000000, kTop};
  for (int i = 0; i < 100; ++i) values.push_back(rng() & kTop);
  std::vector<std::vector<uint8_t>> lines;
  for (uint64_t v : values) {
    ASSERT_TRUE(Abs32::InRange(v));
    std::vector<uint8_t> mov = {0xb8};  // mov eax, imm32
    std::vector<uint8_t> jmp = {0xff, 0x24, 0x85};  // jmp [disp32 + eax*4]
    for (uint8_t b : Le32(Abs32::Encode(v))) {
      mov.push_back(b);
      jmp.push_back(b);
    }
    lines.push_back(mov);
    lines.push_back(jmp);
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 2 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    const Insn& mov = insns[2 * i];
    EXPECT_EQ(mov.mnemonic, "movl");
    const std::string imm = mov.operands.substr(0, mov.operands.find(','));
    EXPECT_EQ(mov.operands.substr(mov.operands.find(',')), ", %eax");
    const auto parsed = ParseInt(imm);
    ASSERT_TRUE(parsed.has_value()) << mov.operands;
    // Printed as unsigned or as signed; either way the same 32 bits.
    EXPECT_EQ(static_cast<uint64_t>(*parsed) & kTop, values[i]);
    const Insn& jmp = insns[2 * i + 1];
    EXPECT_EQ(Mnemonic(jmp.mnemonic), "jmp");
    ASSERT_EQ(jmp.operands.substr(0, 1), "*") << jmp.operands;
    const size_t paren = jmp.operands.find('(');
    ASSERT_NE(paren, std::string::npos) << jmp.operands;
    EXPECT_EQ(jmp.operands.substr(paren), "(,%eax,4)");
    // A zero displacement is printed as nothing.
    const std::string printed = jmp.operands.substr(1, paren - 1);
    const auto disp = printed.empty() ? std::optional<int64_t>(0)
                                      : ParseInt(printed);
    ASSERT_TRUE(disp.has_value()) << jmp.operands;
    EXPECT_EQ(static_cast<uint64_t>(*disp) & kTop, values[i]);
  }
}

TEST(Ia32LlvmMc, JumpTableSlots) {
  REQUIRE_LLVM_MC(mc);
  const uint64_t slot_address = 0x5c000040;
  const std::vector<uint64_t> targets = {0, kTop, slot_address,
                                         slot_address + 5, 0x5b000000};
  const std::vector<uint32_t> indices = {0, 1, 0x7fffffff, 0xffffffff,
                                         12345};
  std::vector<std::vector<uint8_t>> lines;
  for (uint64_t target : targets) {
    std::vector<uint8_t> near(5), far(5);
    ASSERT_TRUE(WriteNearJumpSlot(kArch, near.data(), slot_address, target));
    WriteFarJumpSlot(kArch, far.data(), slot_address, target);
    // The far slot is relative: read it at its own address (the codec's
    // reader; ReadFarJumpSlotTarget passes the host pointer).
    EXPECT_EQ(CodecOf(kArch).read_far_slot(far.data(), slot_address), target);
    auto near_back = ReadNearJumpSlotTarget(kArch, near.data(), slot_address);
    ASSERT_TRUE(near_back.ok()) << near_back.status();
    EXPECT_EQ(*near_back, target);
    lines.push_back(near);
    lines.push_back(far);
  }
  for (uint32_t index : indices) {
    std::vector<uint8_t> lazy(10);
    ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), slot_address, index,
                                     0x5c000800));
    lines.push_back(lazy);
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 2 * targets.size() + 2 * indices.size());
  for (size_t i = 0; i < 2 * targets.size(); ++i) {
    const Insn& jmp = insns[i];
    SCOPED_TRACE(absl::StrFormat("slot %d: %s %s", i, jmp.mnemonic,
                                 jmp.operands));
    EXPECT_EQ(Mnemonic(jmp.mnemonic), "jmp");
    const auto disp = ParseInt(jmp.operands);
    ASSERT_TRUE(disp.has_value());
    EXPECT_EQ(Rel32Target(slot_address + 5, *disp), targets[i / 2]);
  }
  for (size_t k = 0; k < indices.size(); ++k) {
    const Insn& mov = insns[2 * targets.size() + 2 * k];
    const Insn& jmp = insns[2 * targets.size() + 2 * k + 1];
    SCOPED_TRACE(absl::StrFormat("lazy %d: %s %s; %s %s", k, mov.mnemonic,
                                 mov.operands, jmp.mnemonic, jmp.operands));
    EXPECT_EQ(mov.mnemonic, "movl");
    const size_t comma = mov.operands.find(',');
    ASSERT_NE(comma, std::string::npos);
    EXPECT_EQ(Trim(mov.operands.substr(comma + 1)), "%edi");
    const auto imm = ParseInt(mov.operands.substr(0, comma));
    ASSERT_TRUE(imm.has_value());
    EXPECT_EQ(static_cast<uint64_t>(*imm) & kTop, indices[k]);
    EXPECT_EQ(Mnemonic(jmp.mnemonic), "jmp");
    const auto disp = ParseInt(jmp.operands);
    ASSERT_TRUE(disp.has_value());
    EXPECT_EQ(Rel32Target(slot_address + 10, *disp), 0x5c000800u);
  }
}

}  // namespace
}  // namespace wasmcache::reference
