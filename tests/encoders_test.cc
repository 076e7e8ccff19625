// Relocation encoders (reference/encoders/x64.h, arm64.h over NativeDomain),
// relocation sites (reference/relocation.h) and jump-table slots
// (reference/jump_table.h): reach boundaries, instruction framing, slots
// against the bytes of a live Node 24.20, and known answers checked against
// an independent disassembler, llvm-mc.
//
// llvm-mc is required: without it the disassembler tests fail. It is found
// as $LLVM_MC, else llvm-mc or llvm-mc-14 in PATH. Output format parsed
// (LLVM 14, AT&T syntax for x86-64), one instruction per line after
// "\t.text", "\t<mnemonic>\t<operands>":
//   x86-64   callq  <disp>            e8 rel32; <disp> is relative to the
//            jmp    <disp>            next instruction, in decimal
//            jmpq   *<disp>(%rip)     ff 25 disp32
//            pushq  $<imm>            68 imm32 (sign-extended, decimal),
//                                     followed by "# imm = 0x<hex>" when large
//                                     (x86 comments start at '#', AArch64
//                                     ones at "//"; both are dropped)
//            nop | int3
//   aarch64  b | bl  #<offset>        byte offset from the instruction
//            ldr  x16, #<offset>      literal: byte offset from the instruction
//            br   x16
//            bti  jc                  (-mattr=+bti)
//            mov  w8, #<imm16>        movz, printed as its mov alias
//            movk w8, #<imm16>, lsl #16
// Newer LLVMs drop the AT&T size suffix (call, jmp, push); both spellings
// are accepted. Any "warning:" or "error:" line fails the test.

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
#include "reference/encoders/arm64.h"
#include "reference/encoders/x64.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using Rel32 = X64Rel32<D>;
using Imm64 = X64Imm64<D>;
using Imm32 = X64Imm32<D>;
using Branch = Arm64BranchImm26<D>;
using Ldr = Arm64LdrLiteral<D>;
using Abs64 = Arm64Absolute64<D>;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t k128MiB = int64_t{128} << 20;
constexpr uint32_t kB = 0x14000000;   // b #0
constexpr uint32_t kBl = 0x94000000;  // bl #0

// Code addresses the tests place instructions at: typical mmap addresses,
// plus ones near the ends of the address space.
constexpr uint64_t kSites[] = {0x00007f3a'12345000, 0x00005555'00001000,
                               0x0000000100000000, 0xffffffff'00000000};

uint64_t Plus(uint64_t base, int64_t delta) {
  return base + static_cast<uint64_t>(delta);
}

// ---------------------------------------------------------------------------
// x64 rel32

TEST(X64Rel32, ReachIsInt32FromTheEndOfTheField) {
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    const uint64_t next = site + 4;
    const uint64_t last_up = Plus(next, kInt32Max);
    const uint64_t last_down = Plus(next, kInt32Min);
    EXPECT_TRUE(Rel32::InRange(site, last_up));
    EXPECT_TRUE(Rel32::InRange(site, last_down));
    EXPECT_FALSE(Rel32::InRange(site, last_up + 1));
    EXPECT_FALSE(Rel32::InRange(site, last_down - 1));
    EXPECT_EQ(Rel32::Encode(site, last_up), 0x7fffffffu);
    EXPECT_EQ(Rel32::Encode(site, last_down), 0x80000000u);
    EXPECT_EQ(Rel32::Decode(site, Rel32::Encode(site, last_up)), last_up);
    EXPECT_EQ(Rel32::Decode(site, Rel32::Encode(site, last_down)), last_down);
    // A delta whose low 32 bits are in range but whose high bits are not.
    EXPECT_FALSE(Rel32::InRange(site, Plus(next, int64_t{1} << 32)));
    EXPECT_FALSE(Rel32::InRange(site, Plus(next, -(int64_t{1} << 32))));
    EXPECT_FALSE(Rel32::InRange(site, Plus(next, int64_t{1} << 40)));
    // The field's own end is displacement zero.
    EXPECT_TRUE(Rel32::InRange(site, next));
    EXPECT_EQ(Rel32::Encode(site, next), 0u);
    EXPECT_EQ(Rel32::Encode(site, site), 0xfffffffcu);
  }
}

TEST(X64Rel32, RandomTargetsInRangeRoundTrip) {
  std::mt19937_64 rng(0x5eed0001);
  std::uniform_int_distribution<int64_t> disp(kInt32Min, kInt32Max);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t site = rng() & 0x0000ffff'ffffffff;
    const int64_t d = disp(rng);
    const uint64_t target = Plus(site + 4, d);
    ASSERT_TRUE(Rel32::InRange(site, target)) << d;
    ASSERT_EQ(Rel32::Encode(site, target), static_cast<uint32_t>(d));
    ASSERT_EQ(Rel32::Decode(site, Rel32::Encode(site, target)), target);
  }
}

TEST(X64Imm, TagsAndValues) {
  // V8 leaves the upper half of the process address; only the low half is
  // the tag. wasmcache writes the upper half as zero.
  EXPECT_EQ(Imm64::DecodeTag(0x00007f12'0000002aULL), 42u);
  EXPECT_EQ(Imm64::EncodeTag(42), 42u);
  EXPECT_EQ(Imm64::EncodeTag(0xffffffffu), 0x00000000'ffffffffULL);
  EXPECT_EQ(Imm64::DecodeTag(Imm64::EncodeTag(0x89abcdefu)), 0x89abcdefu);
  EXPECT_EQ(Imm64::Encode(0xfedcba98'76543210ULL), 0xfedcba98'76543210ULL);
  EXPECT_EQ(Imm64::Decode(0xfedcba98'76543210ULL), 0xfedcba98'76543210ULL);
  EXPECT_EQ(Imm32::Encode(0xdeadbeef), 0xdeadbeefu);
  EXPECT_EQ(Imm32::Decode(0xdeadbeef), 0xdeadbeefu);
  EXPECT_EQ(Abs64::Encode(0x1122334455667788ULL), 0x1122334455667788ULL);
}

// ---------------------------------------------------------------------------
// arm64 b / bl

TEST(Arm64Branch, ReachIsPlusMinus128MiB) {
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    EXPECT_TRUE(Branch::InRange(site, Plus(site, k128MiB - 4)));
    EXPECT_FALSE(Branch::InRange(site, Plus(site, k128MiB)));
    EXPECT_TRUE(Branch::InRange(site, Plus(site, -k128MiB)));
    EXPECT_FALSE(Branch::InRange(site, Plus(site, -k128MiB - 4)));
    EXPECT_TRUE(Branch::InRange(site, site));
    // Not a multiple of 4.
    for (int64_t d : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{-1},
                      int64_t{-2}, k128MiB - 2, -k128MiB + 1, int64_t{4097}}) {
      EXPECT_FALSE(Branch::InRange(site, Plus(site, d))) << d;
    }
    // Deltas whose low 28 bits would fit.
    EXPECT_FALSE(Branch::InRange(site, Plus(site, int64_t{1} << 32)));
    EXPECT_FALSE(Branch::InRange(site, Plus(site, -(int64_t{1} << 32))));

    for (uint32_t op : {kB, kBl}) {
      const uint32_t up = Branch::Encode(op, site, Plus(site, k128MiB - 4));
      const uint32_t down = Branch::Encode(op, site, Plus(site, -k128MiB));
      EXPECT_EQ(up, op | 0x01ffffffu);
      EXPECT_EQ(down, op | 0x02000000u);
      EXPECT_EQ(Branch::Decode(up, site), Plus(site, k128MiB - 4));
      EXPECT_EQ(Branch::Decode(down, site), Plus(site, -k128MiB));
      EXPECT_EQ(Branch::Encode(op, site, Plus(site, -4)), op | 0x03ffffffu);
      EXPECT_EQ(Branch::Encode(op, site, Plus(site, 4)), op | 1u);
    }
  }
}

TEST(Arm64Branch, TagsAreInt26) {
  EXPECT_TRUE(Branch::TagInRange(0));
  EXPECT_TRUE(Branch::TagInRange((1u << 25) - 1));
  EXPECT_FALSE(Branch::TagInRange(1u << 25));
  EXPECT_FALSE(Branch::TagInRange(1u << 26));
  EXPECT_FALSE(Branch::TagInRange(0x7fffffffu));
  // Negative tags (as V8's int26 reads them).
  EXPECT_TRUE(Branch::TagInRange(0xffffffffu));  // -1
  EXPECT_TRUE(Branch::TagInRange(static_cast<uint32_t>(-(1 << 25))));
  EXPECT_FALSE(Branch::TagInRange(static_cast<uint32_t>(-(1 << 25) - 1)));
  EXPECT_FALSE(Branch::TagInRange(0x80000000u));

  for (uint32_t op : {kB, kBl}) {
    for (uint32_t tag : {0u, 1u, 42u, (1u << 25) - 1, 0xffffffffu,
                         static_cast<uint32_t>(-(1 << 25))}) {
      const uint32_t insn = Branch::EncodeTag(op, tag);
      EXPECT_EQ(insn & ~Branch::kFieldMask, op) << tag;
      EXPECT_EQ(Branch::DecodeTag(insn), tag) << tag;
    }
    EXPECT_EQ(Branch::EncodeTag(op, (1u << 25) - 1), op | 0x01ffffffu);
    EXPECT_EQ(Branch::EncodeTag(op, 0xffffffffu), op | 0x03ffffffu);
  }
}

TEST(Arm64Branch, EncodingChangesOnlyImm26) {
  std::mt19937_64 rng(0x5eed0002);
  std::uniform_int_distribution<int64_t> words(-(1 << 25), (1 << 25) - 1);
  for (int i = 0; i < 20000; ++i) {
    // b, bl, and any other bits above imm26: Encode must keep them.
    const uint32_t insn =
        i % 3 == 0   ? kB | static_cast<uint32_t>(rng() & 0x03ffffff)
        : i % 3 == 1 ? kBl | static_cast<uint32_t>(rng() & 0x03ffffff)
                     : static_cast<uint32_t>(rng());
    const uint64_t site = (rng() & 0x0000ffff'ffffffff) & ~uint64_t{3};
    const int64_t delta = words(rng) * 4;
    const uint64_t target = Plus(site, delta);
    ASSERT_TRUE(Branch::InRange(site, target));
    const uint32_t out = Branch::Encode(insn, site, target);
    ASSERT_EQ(out & ~Branch::kFieldMask, insn & ~Branch::kFieldMask);
    ASSERT_EQ(out & Branch::kFieldMask,
              static_cast<uint32_t>(delta / 4) & Branch::kFieldMask);
    if (Branch::IsBranch(insn)) ASSERT_EQ(Branch::Decode(out, site), target);
    const uint32_t tagged =
        Branch::EncodeTag(insn, static_cast<uint32_t>(words(rng)));
    ASSERT_EQ(tagged & ~Branch::kFieldMask, insn & ~Branch::kFieldMask);
  }
}

TEST(Arm64Branch, IsBranchOnlyForBAndBl) {
  // Bits 31:26 decide; exactly 000101 (b) and 100101 (bl) are branches.
  for (uint32_t top = 0; top < 64; ++top) {
    const uint32_t insn = (top << 26) | 0x0155aa55u;
    EXPECT_EQ(Branch::IsBranch(insn), top == 0x05 || top == 0x25) << top;
  }
  EXPECT_FALSE(Branch::IsBranch(0x54000000));  // b.eq
  EXPECT_FALSE(Branch::IsBranch(0xb4000000));  // cbz x0
  EXPECT_FALSE(Branch::IsBranch(0x58000050));  // ldr x16, pc+8
}

TEST(InsertField, ReplacesExactlyTheMaskedBits) {
  EXPECT_EQ(InsertField<D>(0xaaaaaaaau, 0x00ff0000u, 0x12345678u), 0xaa34aaaau);
  EXPECT_EQ(InsertField<D>(0xffffffffu, 0x03ffffffu, 0u), 0xfc000000u);
  EXPECT_EQ(InsertField<D>(0x94000000u, 0x03ffffffu, 0xffffffffu), 0x97ffffffu);
  EXPECT_EQ(InsertField<D>(0x12345678u, 0u, 0xffffffffu), 0x12345678u);
  EXPECT_EQ(InsertField<D>(0x12345678u, 0xffffffffu, 0x9abcdef0u), 0x9abcdef0u);
  std::mt19937 rng(0x5eed0003);
  for (int i = 0; i < 10000; ++i) {
    const uint32_t word = rng(), mask = rng(), field = rng();
    const uint32_t out = InsertField<D>(word, mask, field);
    ASSERT_EQ(out & mask, field & mask);
    ASSERT_EQ(out & ~mask, word & ~mask);
  }
}

// ---------------------------------------------------------------------------
// arm64 ldr literal

uint32_t LdrLiteral(uint32_t opcode, int32_t imm19, uint32_t rt) {
  return opcode | ((static_cast<uint32_t>(imm19) & 0x7ffff) << 5) | rt;
}

TEST(Arm64Ldr, SlotAddressExtremes) {
  for (uint64_t site : kSites) {
    for (uint32_t op : {Ldr::kLdrX, Ldr::kLdrW}) {
      for (uint32_t rt : {0u, 16u, 31u}) {
        EXPECT_EQ(Ldr::SlotAddress(LdrLiteral(op, (1 << 18) - 1, rt), site),
                  site + 0xffffc);
        EXPECT_EQ(Ldr::SlotAddress(LdrLiteral(op, -(1 << 18), rt), site),
                  site - 0x100000);
        EXPECT_EQ(Ldr::SlotAddress(LdrLiteral(op, -1, rt), site), site - 4);
        EXPECT_EQ(Ldr::SlotAddress(LdrLiteral(op, 0, rt), site), site);
        EXPECT_EQ(Ldr::SlotAddress(LdrLiteral(op, 2, rt), site), site + 8);
      }
    }
  }
  EXPECT_TRUE(Ldr::IsLdrX(0x58000050));
  EXPECT_FALSE(Ldr::IsLdrW(0x58000050));
  EXPECT_TRUE(Ldr::IsLdrW(LdrLiteral(Ldr::kLdrW, -1, 0)));
  EXPECT_FALSE(Ldr::IsLdrX(LdrLiteral(Ldr::kLdrW, -1, 0)));
  EXPECT_FALSE(Ldr::IsLdrX(0x98000050));  // ldrsw x16, literal
  EXPECT_FALSE(Ldr::IsLdrX(0x5c000050));  // ldr d16, literal
  EXPECT_FALSE(Ldr::IsLdrW(0x1c000040));  // ldr s0, literal
}

// ---------------------------------------------------------------------------
// reference/relocation.h

std::vector<uint8_t> Le32(uint32_t word) {
  return {static_cast<uint8_t>(word), static_cast<uint8_t>(word >> 8),
          static_cast<uint8_t>(word >> 16), static_cast<uint8_t>(word >> 24)};
}

uint32_t ReadLe32(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, ByteOrder::kLittle));
}

// The status code of locating `entry` in `code`.
absl::StatusCode LocateCode(Arch arch, absl::Span<const uint8_t> code,
                            const RelocEntry& entry) {
  return LocateSite(arch, code, entry, 0).status().code();
}

TEST(Relocation, X64SitesAndBounds) {
  std::vector<uint8_t> code(32, 0x90);
  auto call = LocateSite(Arch::kX64, code, {RelocMode::kWasmCall, 28, 0}, 0);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->form, SiteForm::kX64Rel32);
  EXPECT_EQ(call->field_offset, 28u);
  EXPECT_EQ(call->field_size, 4u);
  EXPECT_EQ(LocateCode(Arch::kX64, code, {RelocMode::kWasmStubCall, 29, 0}),
            absl::StatusCode::kDataLoss);
  auto ext =
      LocateSite(Arch::kX64, code, {RelocMode::kExternalReference, 24, 0}, 0);
  ASSERT_TRUE(ext.ok()) << ext.status();
  EXPECT_EQ(ext->form, SiteForm::kX64Imm64Tag32);
  EXPECT_EQ(ext->field_size, 8u);
  EXPECT_EQ(
      LocateCode(Arch::kX64, code, {RelocMode::kExternalReference, 25, 0}),
      absl::StatusCode::kDataLoss);
  auto sig =
      LocateSite(Arch::kX64, code, {RelocMode::kWasmCanonicalSigId, 0, 0}, 0);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->form, SiteForm::kImm32);
  EXPECT_EQ(LocateCode(Arch::kX64, code, {RelocMode::kConstPool, 0, 0}),
            absl::StatusCode::kDataLoss);
  // The same bytes are no riscv64 call site (auipc + jalr).
  EXPECT_EQ(LocateCode(Arch::kRiscv64, code, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kDataLoss);
}

TEST(Relocation, X64Rel32TargetsAtTheBoundaries) {
  const uint64_t code_address = 0x00007f00'00001000;
  std::vector<uint8_t> code(16, 0xcc);
  code[3] = 0xe8;
  const Site site{SiteForm::kX64Rel32, 4, 4, 4};
  const uint64_t next = code_address + 8;
  for (int64_t d : {kInt32Max, kInt32Min, int64_t{0}, int64_t{-8}}) {
    ASSERT_TRUE(WriteTarget(Arch::kX64, code.data(), code_address, site,
                            Plus(next, d)));
    EXPECT_EQ(ReadLe32(code.data() + 4), static_cast<uint32_t>(d));
    EXPECT_EQ(ReadTarget(Arch::kX64, code.data(), code_address, site),
              Plus(next, d));
  }
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTarget(Arch::kX64, code.data(), code_address, site,
                           Plus(next, kInt32Max + 1)));
  EXPECT_FALSE(WriteTarget(Arch::kX64, code.data(), code_address, site,
                           Plus(next, kInt32Min - 1)));
  EXPECT_EQ(code, before) << "a rejected write changed the code";
}

TEST(Relocation, Arm64BranchSites) {
  const uint64_t code_address = 0x0000ffff'80000000;
  std::vector<uint8_t> code;
  for (uint32_t w : {0xd503201fu, kBl | 5u, kB | 7u}) {  // nop; bl; b
    const auto bytes = Le32(w);
    code.insert(code.end(), bytes.begin(), bytes.end());
  }
  auto site = LocateSite(Arch::kArm64, code, {RelocMode::kWasmCall, 4, 0}, 0);
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->form, SiteForm::kArm64Branch);
  EXPECT_EQ(site->field_offset, 4u);
  EXPECT_EQ(ReadTag(Arch::kArm64, code.data(), *site), 5u);
  EXPECT_EQ(LocateCode(Arch::kArm64, code, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kDataLoss);  // nop
  EXPECT_EQ(LocateCode(Arch::kArm64, code, {RelocMode::kWasmCall, 6, 0}),
            absl::StatusCode::kDataLoss);  // not 4-aligned
  EXPECT_EQ(
      LocateCode(Arch::kArm64, code, {RelocMode::kExternalReference, 4, 0}),
      absl::StatusCode::kDataLoss);  // b is not ldr x

  // Tags: int26 in, the opcode untouched; out of range rejected untouched.
  EXPECT_TRUE(TagFitsForm(Arch::kArm64, *site, (1u << 25) - 1));
  EXPECT_FALSE(TagFitsForm(Arch::kArm64, *site, 1u << 25));
  EXPECT_TRUE(TagFitsForm(Arch::kArm64, *site, 0xffffffffu));  // int26 -1
  EXPECT_FALSE(TagFitsForm(Arch::kArm64, *site, 0x1'00000000ULL));
  ASSERT_TRUE(WriteTag(Arch::kArm64, code.data(), *site, (1u << 25) - 1));
  EXPECT_EQ(ReadLe32(code.data() + 4), kBl | 0x01ffffffu);
  EXPECT_EQ(ReadTag(Arch::kArm64, code.data(), *site), (1u << 25) - 1);
  std::vector<uint8_t> before = code;
  EXPECT_FALSE(WriteTag(Arch::kArm64, code.data(), *site, 1u << 25));
  EXPECT_EQ(code, before);

  // Targets: +-128MiB reach from the instruction, multiples of 4.
  const uint64_t pc = code_address + 4;
  ASSERT_TRUE(WriteTarget(Arch::kArm64, code.data(), code_address, *site,
                          Plus(pc, k128MiB - 4)));
  EXPECT_EQ(ReadLe32(code.data() + 4), kBl | 0x01ffffffu);
  EXPECT_EQ(ReadTarget(Arch::kArm64, code.data(), code_address, *site),
            Plus(pc, k128MiB - 4));
  ASSERT_TRUE(WriteTarget(Arch::kArm64, code.data(), code_address, *site,
                          Plus(pc, -k128MiB)));
  EXPECT_EQ(ReadLe32(code.data() + 4), kBl | 0x02000000u);
  EXPECT_EQ(ReadTarget(Arch::kArm64, code.data(), code_address, *site),
            Plus(pc, -k128MiB));
  before = code;
  EXPECT_FALSE(WriteTarget(Arch::kArm64, code.data(), code_address, *site,
                           Plus(pc, k128MiB)));
  EXPECT_FALSE(WriteTarget(Arch::kArm64, code.data(), code_address, *site,
                           Plus(pc, -k128MiB - 4)));
  EXPECT_FALSE(
      WriteTarget(Arch::kArm64, code.data(), code_address, *site, Plus(pc, 6)));
  EXPECT_EQ(code, before) << "a rejected write changed the code";
}

TEST(Relocation, Arm64LiteralPoolSites) {
  // 0: ldr x16, #+16   4: ldr w0, #+12   8: ldr x1, #-12   12: nop
  // 16: ldr x2, #+16 (past the end); its bytes double as the 8-byte slot of
  // insn 0, whose first half is also the 4-byte slot of insn 1.
  std::vector<uint8_t> code;
  for (uint32_t w :
       {LdrLiteral(Ldr::kLdrX, 4, 16), LdrLiteral(Ldr::kLdrW, 3, 0),
        LdrLiteral(Ldr::kLdrX, -3, 1), 0xd503201fu,
        LdrLiteral(Ldr::kLdrX, 4, 2), 0u}) {
    const auto bytes = Le32(w);
    code.insert(code.end(), bytes.begin(), bytes.end());
  }
  auto ext =
      LocateSite(Arch::kArm64, code, {RelocMode::kExternalReference, 0, 0}, 0);
  ASSERT_TRUE(ext.ok()) << ext.status();
  EXPECT_EQ(ext->form, SiteForm::kAbsolute64);
  EXPECT_EQ(ext->field_offset, 16u);
  EXPECT_EQ(ext->field_size, 8u);
  auto call = LocateSite(Arch::kArm64, code, {RelocMode::kWasmCall, 0, 0}, 0);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->field_offset, 16u);
  auto sig =
      LocateSite(Arch::kArm64, code, {RelocMode::kWasmCanonicalSigId, 4, 0}, 0);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->form, SiteForm::kImm32);
  EXPECT_EQ(sig->field_offset, 16u);
  EXPECT_EQ(sig->field_size, 4u);
  // The wrong width of ldr for the mode.
  EXPECT_EQ(
      LocateCode(Arch::kArm64, code, {RelocMode::kWasmCanonicalSigId, 0, 0}),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      LocateCode(Arch::kArm64, code, {RelocMode::kExternalReference, 4, 0}),
      absl::StatusCode::kDataLoss);
  // A slot before the code start, and one running past its end.
  EXPECT_EQ(
      LocateCode(Arch::kArm64, code, {RelocMode::kExternalReference, 8, 0}),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      LocateCode(Arch::kArm64, code, {RelocMode::kExternalReference, 16, 0}),
      absl::StatusCode::kDataLoss);

  // Slot values: 8 bytes any value; 4 bytes only up to 2^32-1.
  ASSERT_TRUE(WriteTarget(Arch::kArm64, code.data(), 0x1000, *ext,
                          0xfedcba98'76543210ULL));
  EXPECT_EQ(ReadTarget(Arch::kArm64, code.data(), 0x1000, *ext),
            0xfedcba98'76543210ULL);
  const std::vector<uint8_t> before = code;
  EXPECT_FALSE(
      WriteTarget(Arch::kArm64, code.data(), 0x1000, *sig, 0x1'00000000ULL));
  EXPECT_EQ(code, before);
  ASSERT_TRUE(
      WriteTarget(Arch::kArm64, code.data(), 0x1000, *sig, 0xffffffffu));
  EXPECT_EQ(ReadLe32(code.data() + 16), 0xffffffffu);
  EXPECT_EQ(ReadLe32(code.data() + 20), 0xfedcba98u) << "4-byte slot wrote 8";
}

TEST(Relocation, X64ExternalReferenceTagKeepsOnlyTheLowHalf) {
  std::vector<uint8_t> code(16, 0);
  StoreUnaligned(code.data() + 2, 0x00007f12'0000002aULL, 8,
                 ByteOrder::kLittle);
  const Site site{SiteForm::kX64Imm64Tag32, 2, 8, 2};
  EXPECT_EQ(ReadTag(Arch::kX64, code.data(), site), 42u);
  ASSERT_TRUE(WriteTag(Arch::kX64, code.data(), site, 43));
  EXPECT_EQ(LoadUnaligned(code.data() + 2, 8, ByteOrder::kLittle), 43u);
  EXPECT_FALSE(TagFitsForm(Arch::kX64, site, 0x1'00000000ULL));
  const Site rel{SiteForm::kX64Rel32, 2, 4, 2};
  EXPECT_TRUE(TagFitsForm(Arch::kX64, rel, 0xffffffffu));
  EXPECT_FALSE(TagFitsForm(Arch::kX64, rel, 0x1'00000000ULL));
}

TEST(Relocation, ModesUsedOnEachTarget) {
  for (RelocMode mode :
       {RelocMode::kWasmCall, RelocMode::kWasmStubCall,
        RelocMode::kExternalReference, RelocMode::kInternalReference,
        RelocMode::kWasmCanonicalSigId,
        RelocMode::kWasmCodePointerTableEntry}) {
    EXPECT_TRUE(ModeUsedOnTarget(Arch::kX64, mode)) << RelocModeName(mode);
    EXPECT_TRUE(ModeUsedOnTarget(Arch::kArm64, mode)) << RelocModeName(mode);
  }
  // Constant and veneer pools exist on arm64 only.
  EXPECT_FALSE(ModeUsedOnTarget(Arch::kX64, RelocMode::kConstPool));
  EXPECT_FALSE(ModeUsedOnTarget(Arch::kX64, RelocMode::kVeneerPool));
  EXPECT_TRUE(ModeUsedOnTarget(Arch::kArm64, RelocMode::kConstPool));
  EXPECT_TRUE(ModeUsedOnTarget(Arch::kArm64, RelocMode::kVeneerPool));
  EXPECT_FALSE(
      ModeUsedOnTarget(Arch::kX64, RelocMode::kInternalReferenceEncoded));
  EXPECT_FALSE(
      ModeUsedOnTarget(Arch::kArm64, RelocMode::kInternalReferenceEncoded));
}

// ---------------------------------------------------------------------------
// Jump-table slots against the bytes of a live Node 24.20 (spec/V8-CONSTANTS.md
// section 5: 1 import, 6 declared functions, 121 far builtin slots; lazy slot 0
// is function index 1 and jumps to far slot 17, WasmCompileLazy).

std::vector<uint8_t> Hex(std::initializer_list<uint8_t> bytes) { return bytes; }

TEST(JumpTable, X64SlotsMatchLiveV8) {
  const ArchTraits& t = TraitsOf(Arch::kX64);
  const JumpTableLayout layout =
      ComputeJumpTableLayout(Arch::kX64, 6, 121, true);
  ASSERT_EQ(layout.far_offset, 0x40u);
  ASSERT_EQ(layout.lazy_offset, 0x840u);
  const uint64_t base = 0x00001ee3'a5c40000;
  std::vector<uint8_t> near(8), lazy(10), far(16);
  // Near slot 0 jumps to lazy slot 0 before the function is compiled.
  ASSERT_TRUE(WriteNearJumpSlot(Arch::kX64, near.data(),
                                base + layout.NearSlotOffset(t, 0),
                                base + layout.LazySlotOffset(t, 0)));
  EXPECT_EQ(near, Hex({0xe9, 0x3b, 0x08, 0x00, 0x00, 0xcc, 0xcc, 0xcc}));
  ASSERT_TRUE(WriteLazyCompileSlot(Arch::kX64, lazy.data(),
                                   base + layout.LazySlotOffset(t, 0), 1,
                                   base + layout.FarSlotOffset(t, 17)));
  EXPECT_EQ(lazy,
            Hex({0x68, 0x01, 0x00, 0x00, 0x00, 0xe9, 0x06, 0xf9, 0xff, 0xff}));
  WriteFarJumpSlot(Arch::kX64, far.data(), base + layout.FarSlotOffset(t, 17),
                   0x1ac4f40);
  EXPECT_EQ(far, Hex({0xff, 0x25, 0x02, 0x00, 0x00, 0x00, 0x66, 0x90, 0x40,
                      0x4f, 0xac, 0x01, 0x00, 0x00, 0x00, 0x00}));
}

TEST(JumpTable, Arm64SlotsMatchLiveV8) {
  const ArchTraits& t = TraitsOf(Arch::kArm64);
  const JumpTableLayout layout =
      ComputeJumpTableLayout(Arch::kArm64, 6, 121, true);
  ASSERT_EQ(layout.far_offset, 0x20u);
  ASSERT_EQ(layout.lazy_offset, 0x820u);
  const uint64_t base = 0x0000ffff'8a2c0000;
  std::vector<uint8_t> near(4), lazy(16), far(16);
  ASSERT_TRUE(WriteNearJumpSlot(Arch::kArm64, near.data(),
                                base + layout.NearSlotOffset(t, 0),
                                base + layout.LazySlotOffset(t, 0)));
  EXPECT_EQ(near, Hex({0x08, 0x02, 0x00, 0x14}));
  ASSERT_TRUE(WriteLazyCompileSlot(Arch::kArm64, lazy.data(),
                                   base + layout.LazySlotOffset(t, 0), 1,
                                   base + layout.FarSlotOffset(t, 17)));
  EXPECT_EQ(lazy, Hex({0xdf, 0x24, 0x03, 0xd5, 0x28, 0x00, 0x80, 0x52, 0x08,
                       0x00, 0xa0, 0x72, 0x41, 0xfe, 0xff, 0x17}));
  WriteFarJumpSlot(Arch::kArm64, far.data(), base + layout.FarSlotOffset(t, 17),
                   0x0000aaaa'bbbbcccc);
  EXPECT_EQ(far, Hex({0x50, 0x00, 0x00, 0x58, 0x00, 0x02, 0x1f, 0xd6, 0xcc,
                      0xcc, 0xbb, 0xbb, 0xaa, 0xaa, 0x00, 0x00}));
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

// The llvm-mc executable, or "" if there is none.
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

// Disassembles `lines` (each a run of bytes) with llvm-mc; one Insn per
// decoded instruction, in order. Fails the test on any diagnostic.
std::vector<Insn> Disassemble(const std::string& mc, const std::string& flags,
                              const std::vector<std::vector<uint8_t>>& lines) {
  std::string path = ::testing::TempDir();
  if (path.empty() || path.back() != '/') path += '/';
  path += "encoders_test_XXXXXX";
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
    for (const auto& line : lines) {
      for (size_t i = 0; i < line.size(); ++i) {
        out << (i ? " " : "") << absl::StrFormat("0x%02x", line[i]);
      }
      out << "\n";
    }
  }
  std::string output;
  const int status = wasmcache::testing::RunCommand(
      "'" + mc + "' --disassemble " + flags + " < '" + file + "' 2>&1",
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
    // Comments: x86 AT&T "# imm = 0x..." after large immediates (its
    // operands never contain '#'); AArch64 "// ..." (its immediates do).
    const bool x86 = flags.find("x86") != std::string::npos;
    const std::string t = Trim(line.substr(0, line.find(x86 ? "#" : "//")));
    if (t.empty() || t == ".text") continue;
    const size_t sep = t.find_first_of(" \t");
    insns.push_back({t.substr(0, sep),
                     sep == std::string::npos ? "" : Trim(t.substr(sep))});
  }
  return insns;
}

// A decimal or 0x-hex integer, with an optional '#' or '$' and sign.
std::optional<int64_t> ParseInt(std::string s) {
  s = Trim(s);
  if (!s.empty() && (s[0] == '#' || s[0] == '$')) s = s.substr(1);
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
  if (errno != 0 || end == s.c_str() || *end != '\0' ||
      v > (uint64_t{1} << 63)) {
    return std::nullopt;
  }
  if (!negative && v == (uint64_t{1} << 63)) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// Splits "a, b, c" into its operands.
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

// x86 AT&T mnemonic without its operand-size suffix (LLVM 14 writes callq,
// newer ones call).
std::string X64Mnemonic(const std::string& m) {
  if (m == "callq" || m == "jmpq" || m == "pushq")
    return m.substr(0, m.size() - 1);
  return m;
}

const char kX64Flags[] = "-triple=x86_64";
const char kArm64Flags[] = "-triple=aarch64 -mattr=+bti";

TEST(LlvmMc, ParserReadsTheFormats) {
  EXPECT_EQ(ParseInt("#-134217728"), -134217728);
  EXPECT_EQ(ParseInt("$5"), 5);
  EXPECT_EQ(ParseInt("2147483647"), 2147483647);
  EXPECT_EQ(ParseInt("0x10"), 16);
  EXPECT_EQ(ParseInt("#12abc"), std::nullopt);
  EXPECT_EQ(ParseInt(""), std::nullopt);
  EXPECT_EQ(Operands("w8, #0, lsl #16"),
            (std::vector<std::string>{"w8", "#0", "lsl #16"}));
  // The disassembler really is the one this file's parser expects.
  REQUIRE_LLVM_MC(mc);
  const auto x = Disassemble(mc, kX64Flags, {{0xe8, 0xfb, 0xff, 0xff, 0xff}});
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(X64Mnemonic(x[0].mnemonic), "call");
  EXPECT_EQ(ParseInt(x[0].operands), -5);
  const auto a = Disassemble(mc, kArm64Flags, {Le32(0x97ffffff)});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].mnemonic, "bl");
  EXPECT_EQ(ParseInt(a[0].operands), -4);
}

// One x64 call/jmp rel32 at `address` to `target`, encoded by the library.
struct X64Jump {
  uint8_t opcode;  // e8 call, e9 jmp
  uint64_t address;
  uint64_t target;

  std::vector<uint8_t> Bytes() const {
    const uint32_t disp = Rel32::Encode(address + 1, target);
    std::vector<uint8_t> b = {opcode};
    const auto d = Le32(disp);
    b.insert(b.end(), d.begin(), d.end());
    return b;
  }
};

void CheckX64Jumps(const std::vector<X64Jump>& jumps) {
  REQUIRE_LLVM_MC(mc);
  std::vector<std::vector<uint8_t>> lines;
  for (const X64Jump& j : jumps) {
    ASSERT_TRUE(Rel32::InRange(j.address + 1, j.target));
    lines.push_back(j.Bytes());
  }
  const auto insns = Disassemble(mc, kX64Flags, lines);
  ASSERT_EQ(insns.size(), jumps.size());
  for (size_t i = 0; i < jumps.size(); ++i) {
    const X64Jump& j = jumps[i];
    SCOPED_TRACE(absl::StrFormat("insn %d at 0x%x to 0x%x: %s %s", i, j.address,
                                 j.target, insns[i].mnemonic,
                                 insns[i].operands));
    EXPECT_EQ(X64Mnemonic(insns[i].mnemonic),
              j.opcode == 0xe8 ? "call" : "jmp");
    const auto disp = ParseInt(insns[i].operands);
    ASSERT_TRUE(disp.has_value());
    // llvm-mc prints the displacement from the next instruction.
    EXPECT_EQ(Plus(j.address + 5, *disp), j.target);
  }
}

TEST(LlvmMc, X64CallAndJmpRel32KnownAnswers) {
  std::vector<X64Jump> jumps;
  for (uint64_t a : kSites) {
    for (int64_t d :
         {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{-5}, int64_t{127},
          int64_t{-128}, int64_t{0x12345678}, int64_t{-0x12345678}, kInt32Max,
          kInt32Max - 1, kInt32Min, kInt32Min + 1}) {
      for (uint8_t op : {uint8_t{0xe8}, uint8_t{0xe9}}) {
        jumps.push_back({op, a, Plus(a + 5, d)});
      }
    }
  }
  CheckX64Jumps(jumps);
}

// One arm64 b/bl at `address` to `target`, encoded by the library.
struct Arm64Jump {
  uint32_t opcode;  // kB or kBl
  uint64_t address;
  uint64_t target;
};

void CheckArm64Jumps(const std::vector<Arm64Jump>& jumps) {
  REQUIRE_LLVM_MC(mc);
  std::vector<std::vector<uint8_t>> lines;
  for (const Arm64Jump& j : jumps) {
    ASSERT_TRUE(Branch::InRange(j.address, j.target));
    lines.push_back(Le32(Branch::Encode(j.opcode, j.address, j.target)));
  }
  const auto insns = Disassemble(mc, kArm64Flags, lines);
  ASSERT_EQ(insns.size(), jumps.size());
  for (size_t i = 0; i < jumps.size(); ++i) {
    const Arm64Jump& j = jumps[i];
    SCOPED_TRACE(absl::StrFormat("insn %d at 0x%x to 0x%x: %s %s", i, j.address,
                                 j.target, insns[i].mnemonic,
                                 insns[i].operands));
    EXPECT_EQ(insns[i].mnemonic, j.opcode == kBl ? "bl" : "b");
    const auto offset = ParseInt(insns[i].operands);
    ASSERT_TRUE(offset.has_value());
    EXPECT_EQ(Plus(j.address, *offset), j.target);
  }
}

TEST(LlvmMc, Arm64BAndBlKnownAnswers) {
  std::vector<Arm64Jump> jumps;
  for (uint64_t a : kSites) {
    for (int64_t d : {int64_t{0}, int64_t{4}, int64_t{-4}, int64_t{8},
                      int64_t{0x123454}, int64_t{-0x123454}, k128MiB / 2,
                      k128MiB - 4, k128MiB - 8, -k128MiB, -k128MiB + 4}) {
      for (uint32_t op : {kB, kBl}) jumps.push_back({op, a, Plus(a, d)});
    }
  }
  CheckArm64Jumps(jumps);
}

TEST(LlvmMc, Arm64BranchTagsReadAsWordOffsets) {
  // A tag in imm26 is what V8 reads back as ImmPCOffset() / 4.
  REQUIRE_LLVM_MC(mc);
  const std::vector<uint32_t> tags = {0,
                                      1,
                                      7,
                                      1000,
                                      (1u << 25) - 1,
                                      0xffffffffu,
                                      static_cast<uint32_t>(-(1 << 25))};
  std::vector<std::vector<uint8_t>> lines;
  for (uint32_t tag : tags) lines.push_back(Le32(Branch::EncodeTag(kBl, tag)));
  const auto insns = Disassemble(mc, kArm64Flags, lines);
  ASSERT_EQ(insns.size(), tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    EXPECT_EQ(insns[i].mnemonic, "bl");
    EXPECT_EQ(ParseInt(insns[i].operands),
              int64_t{static_cast<int32_t>(tags[i])} * 4)
        << insns[i].operands;
  }
}

TEST(LlvmMc, Arm64LdrLiteralExtremes) {
  REQUIRE_LLVM_MC(mc);
  struct Case {
    uint32_t opcode;
    uint32_t rt;
    int32_t imm19;
  };
  std::vector<Case> cases;
  for (int32_t imm : {0, 1, 2, -1, -2, 0x12345, -0x12345, (1 << 18) - 1,
                      (1 << 18) - 2, -(1 << 18), -(1 << 18) + 1}) {
    cases.push_back({Ldr::kLdrX, 16, imm});
    cases.push_back({Ldr::kLdrW, 0, imm});
  }
  std::vector<std::vector<uint8_t>> lines;
  for (const Case& c : cases)
    lines.push_back(Le32(LdrLiteral(c.opcode, c.imm19, c.rt)));
  const auto insns = Disassemble(mc, kArm64Flags, lines);
  ASSERT_EQ(insns.size(), cases.size());
  const uint64_t site = 0x0000ffff'12345670;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const uint32_t insn = LdrLiteral(c.opcode, c.imm19, c.rt);
    SCOPED_TRACE(absl::StrFormat("0x%08x: %s %s", insn, insns[i].mnemonic,
                                 insns[i].operands));
    EXPECT_EQ(insns[i].mnemonic, "ldr");
    const auto ops = Operands(insns[i].operands);
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0], c.opcode == Ldr::kLdrX ? "x16" : "w0");
    EXPECT_EQ(c.opcode == Ldr::kLdrX, Ldr::IsLdrX(insn));
    EXPECT_EQ(c.opcode == Ldr::kLdrW, Ldr::IsLdrW(insn));
    const auto offset = ParseInt(ops[1]);
    ASSERT_TRUE(offset.has_value());
    EXPECT_EQ(*offset, int64_t{c.imm19} * 4);
    EXPECT_EQ(Ldr::SlotAddress(insn, site), Plus(site, *offset));
  }
}

// ---------------------------------------------------------------------------
// Jump-table slots through llvm-mc.

std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t from,
                           size_t n) {
  return std::vector<uint8_t>(v.begin() + static_cast<ptrdiff_t>(from),
                              v.begin() + static_cast<ptrdiff_t>(from + n));
}

TEST(LlvmMcJumpTable, X64NearSlot) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(Arch::kX64);
  const uint64_t slot_address = 0x00007f00'40000040;
  const std::vector<int64_t> deltas = {0,         8,         -8,       0x1000,
                                       -0x400000, kInt32Max, kInt32Min};
  std::vector<std::vector<uint8_t>> lines;
  std::vector<uint64_t> targets;
  for (int64_t d : deltas) {
    std::vector<uint8_t> slot(t.jump_table_slot_size, 0);
    const uint64_t target = Plus(slot_address + 5, d);
    ASSERT_TRUE(
        WriteNearJumpSlot(Arch::kX64, slot.data(), slot_address, target))
        << d;
    auto back = ReadNearJumpSlotTarget(Arch::kX64, slot.data(), slot_address);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, target);
    lines.push_back(slot);
    targets.push_back(target);
  }
  const auto insns = Disassemble(mc, kX64Flags, lines);
  ASSERT_EQ(insns.size(), 4 * deltas.size());  // jmp + 3 x int3 per slot
  for (size_t i = 0; i < deltas.size(); ++i) {
    const Insn& jmp = insns[4 * i];
    EXPECT_EQ(X64Mnemonic(jmp.mnemonic), "jmp");
    const auto disp = ParseInt(jmp.operands);
    ASSERT_TRUE(disp.has_value()) << jmp.operands;
    EXPECT_EQ(Plus(slot_address + 5, *disp), targets[i]);
    for (size_t k = 1; k < 4; ++k) EXPECT_EQ(insns[4 * i + k].mnemonic, "int3");
  }
  // Out of reach: false, and the slot is left as it was.
  std::vector<uint8_t> slot(t.jump_table_slot_size, 0xab);
  EXPECT_FALSE(WriteNearJumpSlot(Arch::kX64, slot.data(), slot_address,
                                 Plus(slot_address + 5, kInt32Max + 1)));
  EXPECT_FALSE(WriteNearJumpSlot(Arch::kX64, slot.data(), slot_address,
                                 Plus(slot_address + 5, kInt32Min - 1)));
  EXPECT_EQ(slot, std::vector<uint8_t>(t.jump_table_slot_size, 0xab));
}

TEST(LlvmMcJumpTable, X64FarSlot) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(Arch::kX64);
  ASSERT_EQ(t.far_jump_table_slot_size, 16u);
  const uint64_t slot_address = 0x00007f00'40000100;
  for (uint64_t target :
       {uint64_t{0}, uint64_t{0x00005b00'00000040}, ~uint64_t{0}}) {
    std::vector<uint8_t> slot(t.far_jump_table_slot_size, 0);
    WriteFarJumpSlot(Arch::kX64, slot.data(), slot_address, target);
    // The instructions take the first 8 bytes; the target is data after them.
    const auto insns = Disassemble(mc, kX64Flags, {Slice(slot, 0, 8)});
    ASSERT_EQ(insns.size(), 2u);
    EXPECT_EQ(X64Mnemonic(insns[0].mnemonic), "jmp");
    const std::string& op = insns[0].operands;  // "*<disp>(%rip)"
    ASSERT_TRUE(op.size() > 7 && op[0] == '*' &&
                op.substr(op.size() - 6) == "(%rip)")
        << op;
    const auto disp = ParseInt(op.substr(1, op.size() - 7));
    ASSERT_TRUE(disp.has_value()) << op;
    // jmp [rip+disp] is 6 bytes: it reads the 8 bytes at slot + 6 + disp.
    EXPECT_EQ(6 + *disp, 8);
    EXPECT_EQ(insns[1].mnemonic, "nop");
    EXPECT_EQ(LoadUnaligned(slot.data() + 6 + *disp, 8, ByteOrder::kLittle),
              target);
    auto back = ReadFarJumpSlotTarget(Arch::kX64, slot.data());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, target);
  }
}

TEST(LlvmMcJumpTable, X64LazySlot) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(Arch::kX64);
  const uint64_t slot_address = 0x00007f00'40001000;
  struct Case {
    uint32_t index;
    int64_t delta;  // target from the end of the slot
  };
  const std::vector<Case> cases = {{0, 0},
                                   {1, -0x2000},
                                   {999999, 0x7000},
                                   {0x7fffffff, kInt32Max},
                                   {12345, kInt32Min}};
  std::vector<std::vector<uint8_t>> lines;
  for (const Case& c : cases) {
    std::vector<uint8_t> slot(t.lazy_compile_slot_size, 0);
    ASSERT_TRUE(WriteLazyCompileSlot(Arch::kX64, slot.data(), slot_address,
                                     c.index,
                                     Plus(slot_address + 10, c.delta)));
    lines.push_back(slot);
  }
  const auto insns = Disassemble(mc, kX64Flags, lines);
  ASSERT_EQ(insns.size(), 2 * cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Insn& push = insns[2 * i];
    const Insn& jmp = insns[2 * i + 1];
    EXPECT_EQ(X64Mnemonic(push.mnemonic), "push");
    EXPECT_EQ(ParseInt(push.operands),
              int64_t{static_cast<int32_t>(cases[i].index)});
    EXPECT_EQ(X64Mnemonic(jmp.mnemonic), "jmp");
    const auto disp = ParseInt(jmp.operands);
    ASSERT_TRUE(disp.has_value()) << jmp.operands;
    EXPECT_EQ(Plus(slot_address + 10, *disp),
              Plus(slot_address + 10, cases[i].delta));
  }
  std::vector<uint8_t> slot(t.lazy_compile_slot_size, 0xab);
  EXPECT_FALSE(WriteLazyCompileSlot(Arch::kX64, slot.data(), slot_address, 3,
                                    Plus(slot_address + 10, kInt32Max + 1)));
  EXPECT_EQ(slot, std::vector<uint8_t>(t.lazy_compile_slot_size, 0xab));
}

TEST(LlvmMcJumpTable, Arm64NearSlot) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(Arch::kArm64);
  const uint64_t slot_address = 0x0000ffff'40000004;
  const std::vector<int64_t> deltas = {0,         4,           -4,      0x1000,
                                       -0x400000, k128MiB - 4, -k128MiB};
  std::vector<std::vector<uint8_t>> lines;
  for (int64_t d : deltas) {
    std::vector<uint8_t> slot(t.jump_table_slot_size, 0);
    ASSERT_TRUE(WriteNearJumpSlot(Arch::kArm64, slot.data(), slot_address,
                                  Plus(slot_address, d)))
        << d;
    auto back = ReadNearJumpSlotTarget(Arch::kArm64, slot.data(), slot_address);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, Plus(slot_address, d));
    lines.push_back(slot);
  }
  const auto insns = Disassemble(mc, kArm64Flags, lines);
  ASSERT_EQ(insns.size(), deltas.size());
  for (size_t i = 0; i < deltas.size(); ++i) {
    EXPECT_EQ(insns[i].mnemonic, "b");
    EXPECT_EQ(ParseInt(insns[i].operands), deltas[i]) << insns[i].operands;
  }
  std::vector<uint8_t> slot(t.jump_table_slot_size, 0xab);
  for (int64_t d : {k128MiB, -k128MiB - 4, int64_t{2}}) {
    EXPECT_FALSE(WriteNearJumpSlot(Arch::kArm64, slot.data(), slot_address,
                                   Plus(slot_address, d)))
        << d;
  }
  EXPECT_EQ(slot, std::vector<uint8_t>(t.jump_table_slot_size, 0xab));
}

TEST(LlvmMcJumpTable, Arm64FarSlot) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(Arch::kArm64);
  ASSERT_EQ(t.far_jump_table_slot_size, 16u);
  const uint64_t slot_address = 0x0000ffff'40000100;
  for (uint64_t target :
       {uint64_t{0}, uint64_t{0x00005b00'00000040}, ~uint64_t{0}}) {
    std::vector<uint8_t> slot(t.far_jump_table_slot_size, 0);
    WriteFarJumpSlot(Arch::kArm64, slot.data(), slot_address, target);
    const auto insns =
        Disassemble(mc, kArm64Flags, {Slice(slot, 0, 4), Slice(slot, 4, 4)});
    ASSERT_EQ(insns.size(), 2u);
    EXPECT_EQ(insns[0].mnemonic, "ldr");
    const auto ops = Operands(insns[0].operands);
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0], "x16");
    const auto offset = ParseInt(ops[1]);
    ASSERT_TRUE(offset.has_value()) << insns[0].operands;
    EXPECT_EQ(*offset, 8);
    EXPECT_EQ(insns[1].mnemonic, "br");
    EXPECT_EQ(insns[1].operands, "x16");
    EXPECT_EQ(LoadUnaligned(slot.data() + *offset, 8, ByteOrder::kLittle),
              target);
    auto back = ReadFarJumpSlotTarget(Arch::kArm64, slot.data());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, target);
  }
}

TEST(LlvmMcJumpTable, Arm64LazySlot) {
  REQUIRE_LLVM_MC(mc);
  const ArchTraits& t = TraitsOf(Arch::kArm64);
  ASSERT_EQ(t.lazy_compile_slot_size, 16u);
  const uint64_t slot_address = 0x0000ffff'40001000;
  struct Case {
    uint32_t index;
    int64_t delta;  // target from the slot's branch (slot + 12)
  };
  const std::vector<Case> cases = {{0, 0},
                                   {1, -0x2000},
                                   {0xffff, 4},
                                   {0x10000, 0x7000},
                                   {999999, -k128MiB},
                                   {0xffffffff, k128MiB - 4}};
  std::vector<std::vector<uint8_t>> lines;
  for (const Case& c : cases) {
    std::vector<uint8_t> slot(t.lazy_compile_slot_size, 0);
    ASSERT_TRUE(WriteLazyCompileSlot(Arch::kArm64, slot.data(), slot_address,
                                     c.index,
                                     Plus(slot_address + 12, c.delta)));
    lines.push_back(slot);
  }
  const auto insns = Disassemble(mc, kArm64Flags, lines);
  ASSERT_EQ(insns.size(), 4 * cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("index %d", cases[i].index));
    const Insn* s = &insns[4 * i];
    EXPECT_EQ(s[0].mnemonic, "bti");
    EXPECT_EQ(s[0].operands, "jc");
    EXPECT_EQ(s[1].mnemonic, "mov");
    const auto mov = Operands(s[1].operands);
    ASSERT_EQ(mov.size(), 2u);
    EXPECT_EQ(mov[0], "w8");
    EXPECT_EQ(s[2].mnemonic, "movk");
    const auto movk = Operands(s[2].operands);
    ASSERT_EQ(movk.size(), 3u);
    EXPECT_EQ(movk[0], "w8");
    EXPECT_EQ(movk[2], "lsl #16");
    const auto lo = ParseInt(mov[1]);
    const auto hi = ParseInt(movk[1]);
    ASSERT_TRUE(lo && hi);
    EXPECT_EQ(static_cast<uint64_t>(*lo) | (static_cast<uint64_t>(*hi) << 16),
              cases[i].index);
    EXPECT_EQ(s[3].mnemonic, "b");
    EXPECT_EQ(ParseInt(s[3].operands), cases[i].delta) << s[3].operands;
  }
  std::vector<uint8_t> slot(t.lazy_compile_slot_size, 0xab);
  EXPECT_FALSE(WriteLazyCompileSlot(Arch::kArm64, slot.data(), slot_address, 3,
                                    Plus(slot_address + 12, k128MiB)));
  EXPECT_EQ(slot, std::vector<uint8_t>(t.lazy_compile_slot_size, 0xab));
}

// ---------------------------------------------------------------------------
// Random points, one llvm-mc run per target.

TEST(LlvmMcRandom, X64Rel32) {
  std::mt19937_64 rng(0x5eed0004);
  std::uniform_int_distribution<int64_t> disp(kInt32Min, kInt32Max);
  std::vector<X64Jump> jumps;
  for (int i = 0; i < 200; ++i) {
    const uint64_t address = rng() & 0x0000ffff'ffffffff;
    jumps.push_back({(rng() & 1) ? uint8_t{0xe8} : uint8_t{0xe9}, address,
                     Plus(address + 5, disp(rng))});
  }
  CheckX64Jumps(jumps);
}

TEST(LlvmMcRandom, Arm64BranchImm26) {
  std::mt19937_64 rng(0x5eed0005);
  std::uniform_int_distribution<int64_t> words(-(1 << 25), (1 << 25) - 1);
  std::vector<Arm64Jump> jumps;
  for (int i = 0; i < 200; ++i) {
    const uint64_t address = (rng() & 0x0000ffff'ffffffff) & ~uint64_t{3};
    jumps.push_back(
        {(rng() & 1) ? kBl : kB, address, Plus(address, 4 * words(rng))});
  }
  CheckArm64Jumps(jumps);
}

}  // namespace
}  // namespace wasmcache::reference
