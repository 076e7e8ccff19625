// ppc64 (ppc64le) codec: encoders (reference/encoders/ppc64.h over
// NativeDomain), relocation sites (reference/relocation.h), jump-table slots
// (reference/jump_table.h), and the produced bytes checked against an
// independent disassembler, llvm-mc -triple=powerpc64le.
//
// llvm-mc is required: without it the oracle tests fail. It is found as
// $LLVM_MC, else llvm-mc or llvm-mc-14 in PATH. Output lines parsed (LLVM 14),
// "\t<mnemonic> <operands>" after "\t.text":
//   lis R, <simm16>     ori/oris R, R, <uimm16>     sldi R, R, 32
//   ld R, <d>(<ra>)     addis R, <ra>, <simm16>     lwz R, <d>(<ra>)
//   b .+<n> | b .-<n>   bl .+4    mflr/mtlr/mtctr R    bctr
//   nop                 (also what `ori 0, 0, 0` prints as)

#include <unistd.h>

#include <array>
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
#include "reference/encoders/ppc64.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/word_domain.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using D = NativeDomain;
using Mov = Ppc64Mov<D>;
using Pool = Ppc64PoolLoad<D>;
using Branch = Ppc64Branch26<D>;
constexpr Arch kArch = Arch::kPpc64;
constexpr ByteOrder kOrder = ByteOrder::kLittle;
constexpr int64_t k32MiB = int64_t{1} << 25;

// V8's fixed sequence for r`rd` with all immediates zero.
std::vector<uint32_t> MovWords(uint32_t rd) {
  const uint32_t rs_ra = rd << 21 | rd << 16;
  return {0x3c000000 | rd << 21, 0x60000000 | rs_ra, 0x780007c6 | rs_ra,
          0x64000000 | rs_ra, 0x60000000 | rs_ra};
}
std::vector<uint32_t> EncodeMov(std::vector<uint32_t> w, uint64_t value) {
  for (int i : {0, 1, 3, 4}) w[i] = Mov::EncodeWord(w[i], i, value);
  return w;
}
uint64_t DecodeMov(const std::vector<uint32_t>& w) {
  return Mov::Decode(w[0], w[1], w[3], w[4]);
}
std::vector<uint8_t> Bytes(const std::vector<uint32_t>& words) {
  std::vector<uint8_t> out(words.size() * 4);
  for (size_t i = 0; i < words.size(); ++i) {
    StoreUnaligned(out.data() + 4 * i, words[i], 4, kOrder);
  }
  return out;
}
uint32_t Word(const uint8_t* at) {
  return static_cast<uint32_t>(LoadUnaligned(at, 4, kOrder));
}
uint64_t Plus(uint64_t base, int64_t delta) {
  return base + static_cast<uint64_t>(delta);
}

// ---------------------------------------------------------------------------
// Ppc64Mov

TEST(Ppc64Mov, RecognisesTheFixedSequenceOfOneRegister) {
  for (uint32_t rd : {0u, 3u, 12u, 31u}) {
    const auto w = EncodeMov(MovWords(rd), 0x0123456789abcdef);
    EXPECT_TRUE(Mov::IsSequence(w[0], w[1], w[2], w[3], w[4])) << rd;
  }
  const auto w = MovWords(12);
  // One word with another register, lis with RA != 0 (addis), another
  // shift, words out of order.
  EXPECT_FALSE(Mov::IsSequence(w[0], w[1], w[2], MovWords(11)[3], w[4]));
  EXPECT_FALSE(Mov::IsSequence(w[0] | 3u << 16, w[1], w[2], w[3], w[4]));
  EXPECT_FALSE(Mov::IsSequence(w[0], w[1], w[2] ^ 0x800, w[3], w[4]));
  EXPECT_FALSE(Mov::IsSequence(w[0], w[2], w[1], w[3], w[4]));
  EXPECT_FALSE(Mov::IsSequence(w[0], w[1], w[2], w[4], w[3]));
  EXPECT_FALSE(Mov::IsSequence(w[1], w[0], w[2], w[3], w[4]));
}

TEST(Ppc64Mov, FieldsHoldTheFourHalfwords) {
  const auto w = EncodeMov(MovWords(12), 0x0123456789abcdef);
  EXPECT_EQ(w[0] & 0xffff, 0x0123u);
  EXPECT_EQ(w[1] & 0xffff, 0x4567u);
  EXPECT_EQ(w[2], MovWords(12)[2]);
  EXPECT_EQ(w[3] & 0xffff, 0x89abu);
  EXPECT_EQ(w[4] & 0xffff, 0xcdefu);
  EXPECT_EQ(DecodeMov(w), 0x0123456789abcdefu);
}

TEST(Ppc64Mov, ValueBoundaries) {
  for (uint64_t v : {uint64_t{0}, uint64_t{0xffffffff}, uint64_t{1} << 32,
                     uint64_t{0x7fffffffffffffff}, ~uint64_t{0}}) {
    EXPECT_EQ(DecodeMov(EncodeMov(MovWords(12), v)), v);
  }
  // 32-bit constants: the last value passes, the first above fails.
  EXPECT_TRUE(Mov::FitsValue32(0xffffffff));
  EXPECT_TRUE(Mov::FitsValue32(0));
  EXPECT_FALSE(Mov::FitsValue32(uint64_t{1} << 32));
  EXPECT_FALSE(Mov::FitsValue32(~uint64_t{0}));
}

TEST(Ppc64Mov, OnlyImmediateBitsChange) {
  std::mt19937_64 rng(0x9c640001);
  for (int i = 0; i < 10000; ++i) {
    const auto insn = static_cast<uint32_t>(rng());
    const int word = std::array<int, 4>{0, 1, 3, 4}[rng() % 4];
    const uint64_t value = rng();
    const uint32_t out = Mov::EncodeWord(insn, word, value);
    ASSERT_EQ(out & 0xffff0000, insn & 0xffff0000);
    ASSERT_EQ(out & 0xffff, (value >> Mov::Shift(word)) & 0xffff);
  }
}

TEST(Ppc64Mov, RandomValuesRoundTrip) {
  std::mt19937_64 rng(0x9c640002);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = rng();
    const auto w = EncodeMov(MovWords(static_cast<uint32_t>(rng() % 32)), v);
    ASSERT_TRUE(Mov::IsSequence(w[0], w[1], w[2], w[3], w[4]));
    ASSERT_EQ(DecodeMov(w), v);
    ASSERT_EQ(Mov::DecodeTag(w[0], w[1], w[3], w[4]), static_cast<uint32_t>(v));
  }
}

// ---------------------------------------------------------------------------
// Ppc64PoolLoad

TEST(Ppc64PoolLoad, RegularLoadAndItsDisplacement) {
  // ld r12, d(r28)
  EXPECT_TRUE(Pool::IsRegularLoad(0xe99c0000));
  EXPECT_EQ(Pool::RegularOffset(0xe99c7ff8), 32760u);
  EXPECT_EQ(Pool::RegularOffset(0xe99c8000), static_cast<uint64_t>(-32768));
  EXPECT_FALSE(Pool::IsRegularLoad(0xe99b0000));  // ld r12, 0(r27)
  EXPECT_FALSE(Pool::IsRegularLoad(0xe99c0001));  // ldu
  EXPECT_FALSE(Pool::IsRegularLoad(0xe99c0002));  // lwa
  EXPECT_FALSE(Pool::IsRegularLoad(0x3d9c0000));  // addis
}

TEST(Ppc64PoolLoad, OverflowedLoadAndItsDisplacement) {
  // addis r12, r28, 1 ; ld r12, -8(r12)
  EXPECT_TRUE(Pool::IsOverflowedLoad(0x3d9c0001, 0xe98cfff8));
  EXPECT_EQ(Pool::OverflowedOffset(0x3d9c0001, 0xe98cfff8), 0xfff8u);
  EXPECT_EQ(Pool::OverflowedOffset(0x3d9c7fff, 0xe98c7ff8), 0x7fff7ff8u);
  EXPECT_EQ(Pool::OverflowedOffset(0x3d9c8000, 0xe98c0000),
            static_cast<uint64_t>(-(int64_t{1} << 31)));
  // As the hardware adds: the sum is not wrapped to 32 bits.
  EXPECT_EQ(Pool::OverflowedOffset(0x3d9c8000, 0xe98cfff8),
            static_cast<uint64_t>(-(int64_t{1} << 31) - 8));
  EXPECT_EQ(Pool::OverflowedOffset(0x3d9c7fff, 0xe98c8000),
            uint64_t{0x7fff0000} - 0x8000);
  EXPECT_FALSE(Pool::IsOverflowedLoad(0x3d9c0001, 0xe96bfff8));  // ld r11
  EXPECT_FALSE(Pool::IsOverflowedLoad(0x3d9b0001, 0xe98cfff8));  // r27
  EXPECT_FALSE(Pool::IsOverflowedLoad(0x3d9c0001, 0xe98cfff9));  // ldu
}

// ---------------------------------------------------------------------------
// Ppc64Branch26

constexpr uint64_t kSites[] = {0x00007fff'a0000000, 0x0000000100000000,
                               0x0000000002000000, 0xffffffff'fe000000};

TEST(Ppc64Branch26, ReachIsInt26Bytes) {
  for (uint64_t site : kSites) {
    SCOPED_TRACE(absl::StrFormat("site 0x%x", site));
    const uint64_t last_up = Plus(site, k32MiB - 4);
    const uint64_t last_down = Plus(site, -k32MiB);
    EXPECT_TRUE(Branch::InRange(site, last_up));
    EXPECT_TRUE(Branch::InRange(site, last_down));
    EXPECT_FALSE(Branch::InRange(site, last_up + 4));
    EXPECT_FALSE(Branch::InRange(site, last_down - 4));
    EXPECT_FALSE(Branch::InRange(site, site + 2));
    EXPECT_FALSE(Branch::InRange(site, Plus(site, int64_t{1} << 40)));
    EXPECT_EQ(Branch::Encode(Branch::kB, site, last_up), 0x49fffffcu);
    EXPECT_EQ(Branch::Encode(Branch::kB, site, last_down), 0x4a000000u);
    EXPECT_EQ(Branch::Decode(Branch::Encode(Branch::kB, site, last_up), site),
              last_up);
    EXPECT_EQ(Branch::Decode(Branch::Encode(Branch::kB, site, last_down), site),
              last_down);
  }
}

TEST(Ppc64Branch26, OnlyTheLiFieldChanges) {
  std::mt19937_64 rng(0x9c640003);
  std::uniform_int_distribution<int64_t> words(-(k32MiB / 4), k32MiB / 4 - 1);
  for (int i = 0; i < 10000; ++i) {
    const auto insn = static_cast<uint32_t>(rng());
    const uint64_t site = rng() & ~uint64_t{3};
    const uint64_t target = Plus(site, words(rng) * 4);
    ASSERT_TRUE(Branch::InRange(site, target));
    const uint32_t out = Branch::Encode(insn, site, target);
    ASSERT_EQ(out & ~Branch::kFieldMask, insn & ~Branch::kFieldMask);
    ASSERT_EQ(Branch::Decode(out, site), target);
  }
}

// ---------------------------------------------------------------------------
// Sites

absl::StatusCode LocateCode(absl::Span<const uint8_t> code, RelocEntry e) {
  return LocateSite(kArch, code, e, 0x1000).status().code();
}

// 4 words of padding, a mov sequence for r12 at 16, then 2 words.
std::vector<uint8_t> CodeWithMov(uint64_t value) {
  std::vector<uint32_t> words(4, 0x60000000);
  for (uint32_t w : EncodeMov(MovWords(12), value)) words.push_back(w);
  words.push_back(0x7d8903a6);  // mtctr r12
  words.push_back(0x4e800421);  // bctrl
  return Bytes(words);
}

TEST(Ppc64Sites, MovSequenceForEveryMode) {
  const auto code = CodeWithMov(7);
  struct Case {
    RelocMode mode;
    uint8_t variant;
  };
  for (Case c :
       {Case{RelocMode::kWasmCall, 0}, Case{RelocMode::kWasmStubCall, 0},
        Case{RelocMode::kExternalReference, 0},
        Case{RelocMode::kWasmCanonicalSigId, 1},
        Case{RelocMode::kWasmCodePointerTableEntry, 1},
        Case{RelocMode::kInternalReferenceEncoded, 2}}) {
    SCOPED_TRACE(RelocModeName(c.mode));
    auto site = LocateSite(kArch, code, {c.mode, 16, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    EXPECT_EQ(site->form, SiteForm::kPpc64Mov);
    EXPECT_EQ(site->field_offset, 16u);
    EXPECT_EQ(site->field_size, 20u);
    EXPECT_EQ(site->variant, c.variant);
    EXPECT_EQ(ReadTag(kArch, code.data(), *site), 7u);
  }
  auto internal =
      LocateSite(kArch, code, {RelocMode::kInternalReference, 32, 0}, 0);
  ASSERT_TRUE(internal.ok()) << internal.status();
  EXPECT_EQ(internal->form, SiteForm::kAbsolute64);
  EXPECT_EQ(internal->field_size, 8u);
}

TEST(Ppc64Sites, MalformedSitesAreDataLoss) {
  const auto code = CodeWithMov(7);
  // Misaligned, not a sequence, sequence running past the end, pc past the
  // end, an 8-byte slot running past the end, modes ppc64 never uses.
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 18, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 20, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(absl::Span<const uint8_t>(code).first(32),
                       {RelocMode::kWasmCall, 16, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kWasmCall, 44, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kInternalReference, 40, 0}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LocateCode(code, {RelocMode::kConstPool, 16, 0}),
            absl::StatusCode::kDataLoss);
  // One word of the sequence with another register.
  auto bad = code;
  StoreUnaligned(bad.data() + 28, MovWords(11)[3], 4, kOrder);
  const auto status =
      LocateSite(kArch, bad, {RelocMode::kWasmCall, 16, 0}, 0x1000).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("reloc"), std::string::npos) << status;
  EXPECT_NE(status.message().find("0x1010"), std::string::npos) << status;
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kConstPool));
  EXPECT_FALSE(ModeUsedOnTarget(kArch, RelocMode::kVeneerPool));
  EXPECT_TRUE(ModeUsedOnTarget(kArch, RelocMode::kInternalReferenceEncoded));
}

TEST(Ppc64Sites, ConstantPoolLoadsAreRecognisedButUnimplemented) {
  // ld r12, 8(r28) and addis r12, r28, 1 ; ld r12, 0(r12).
  const auto regular = Bytes({0xe99c0008, 0x7d8903a6, 0x4e800421});
  EXPECT_EQ(LocateCode(regular, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kUnimplemented);
  const auto overflowed = Bytes({0x3d9c0001, 0xe98c0000, 0x7d8903a6});
  EXPECT_EQ(LocateCode(overflowed, {RelocMode::kExternalReference, 0, 0}),
            absl::StatusCode::kUnimplemented);
  // Never for _ENCODED, which is always a mov sequence.
  EXPECT_EQ(LocateCode(regular, {RelocMode::kInternalReferenceEncoded, 0, 0}),
            absl::StatusCode::kDataLoss);
  // addis with the wrong base register is no pool load.
  const auto other = Bytes({0x3d9b0001, 0xe98c0000, 0x7d8903a6});
  EXPECT_EQ(LocateCode(other, {RelocMode::kWasmCall, 0, 0}),
            absl::StatusCode::kDataLoss);
}

TEST(Ppc64Sites, TagsAreWrittenCanonicallyAndReadAsLow32Bits) {
  auto code = CodeWithMov(0xdeadbeef'00000005);
  const auto site = *LocateSite(kArch, code, {RelocMode::kWasmCall, 16, 0}, 0);
  // V8 reads (uint32_t) of the 64-bit value.
  EXPECT_EQ(ReadTag(kArch, code.data(), site), 5u);
  EXPECT_TRUE(WriteTag(kArch, code.data(), site, 0xffffffff));
  EXPECT_EQ(ReadTag(kArch, code.data(), site), 0xffffffffu);
  EXPECT_EQ(Word(code.data() + 16) & 0xffff, 0u);
  EXPECT_EQ(Word(code.data() + 20) & 0xffff, 0u);
  EXPECT_EQ(code, CodeWithMov(0xffffffff));
  const auto before = code;
  EXPECT_FALSE(TagFitsForm(kArch, site, uint64_t{1} << 32));
  EXPECT_FALSE(WriteTag(kArch, code.data(), site, uint64_t{1} << 32));
  EXPECT_EQ(code, before);
  // INTERNAL_REFERENCE_ENCODED holds the whole offset.
  const auto encoded = *LocateSite(
      kArch, code, {RelocMode::kInternalReferenceEncoded, 16, 0}, 0);
  EXPECT_TRUE(WriteTag(kArch, code.data(), encoded, 0x1'00000040));
  EXPECT_EQ(ReadTag(kArch, code.data(), encoded), 0x1'00000040u);
}

TEST(Ppc64Sites, TargetsRoundTripAndConstantsStay32Bit) {
  auto code = CodeWithMov(0);
  const uint64_t code_address = 0x00007fff'12340000;
  const auto call = *LocateSite(kArch, code, {RelocMode::kWasmCall, 16, 0}, 0);
  for (uint64_t t :
       {uint64_t{0}, uint64_t{0x00007fff'12345678}, ~uint64_t{0}}) {
    EXPECT_TRUE(WriteTarget(kArch, code.data(), code_address, call, t));
    EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, call), t);
  }
  const auto sig =
      *LocateSite(kArch, code, {RelocMode::kWasmCanonicalSigId, 16, 0}, 0);
  EXPECT_TRUE(WriteTarget(kArch, code.data(), code_address, sig, 0xffffffff));
  EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, sig), 0xffffffffu);
  const auto before = code;
  EXPECT_FALSE(
      WriteTarget(kArch, code.data(), code_address, sig, uint64_t{1} << 32));
  EXPECT_EQ(code, before);
  const auto internal =
      *LocateSite(kArch, code, {RelocMode::kInternalReference, 32, 0}, 0);
  EXPECT_TRUE(WriteTarget(kArch, code.data(), code_address, internal,
                          0x0102030405060708));
  EXPECT_EQ(code[32], 0x08);  // little-endian
  EXPECT_EQ(ReadTarget(kArch, code.data(), code_address, internal),
            0x0102030405060708u);
}

// A sequence with random immediates between random words: writing a target
// or a tag changes only the low halfwords of words 0, 1, 3 and 4.
TEST(Ppc64Sites, OnlyImmediateBitsChange) {
  std::mt19937_64 rng(0x9c640006);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint32_t> words = {static_cast<uint32_t>(rng()),
                                   static_cast<uint32_t>(rng())};
    const auto reg = static_cast<uint32_t>(rng() % 32);
    for (uint32_t w : EncodeMov(MovWords(reg), rng())) words.push_back(w);
    words.push_back(static_cast<uint32_t>(rng()));
    auto code = Bytes(words);
    const auto site = LocateSite(kArch, code, {RelocMode::kWasmCall, 8, 0}, 0);
    ASSERT_TRUE(site.ok()) << site.status();
    const auto before = code;
    const uint64_t value = rng();
    ASSERT_TRUE(WriteTarget(kArch, code.data(), 0x1000, *site, value));
    ASSERT_EQ(ReadTarget(kArch, code.data(), 0x1000, *site), value);
    ASSERT_TRUE(WriteTag(kArch, code.data(), *site, value & 0xffffffff));
    ASSERT_EQ(ReadTag(kArch, code.data(), *site), value & 0xffffffff);
    for (size_t k = 0; k < code.size(); ++k) {
      // Little-endian: the imm16 of word n is bytes 4n and 4n+1.
      const size_t word = k / 4;
      const bool field =
          (word == 2 || word == 3 || word == 5 || word == 6) && k % 4 < 2;
      if (!field) ASSERT_EQ(code[k], before[k]) << k;
    }
  }
}

// ---------------------------------------------------------------------------
// Jump-table slots

const ArchTraits& Traits() { return TraitsOf(kArch); }

TEST(Ppc64JumpTable, NearSlotReachAndBytes) {
  const uint64_t slot_address = 0x00007fff'a0000000;
  std::vector<uint8_t> slot(4, 0);
  ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                slot_address + 0x100));
  EXPECT_EQ(slot, (std::vector<uint8_t>{0x00, 0x01, 0x00, 0x48}));
  for (int64_t d : {k32MiB - 4, -k32MiB, int64_t{0}, int64_t{4}}) {
    ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                  Plus(slot_address, d)))
        << d;
    EXPECT_EQ(*ReadNearJumpSlotTarget(kArch, slot.data(), slot_address),
              Plus(slot_address, d));
  }
  const auto before = slot;
  for (int64_t d : {k32MiB, -k32MiB - 4, int64_t{2}, int64_t{1} << 40}) {
    EXPECT_FALSE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                   Plus(slot_address, d)))
        << d;
    EXPECT_EQ(slot, before);
  }
  // A negative reach is a well-formed `b` (opcode bits intact).
  ASSERT_TRUE(
      WriteNearJumpSlot(kArch, slot.data(), slot_address, slot_address - 4));
  EXPECT_EQ(Word(slot.data()), 0x4bfffffcu);
  EXPECT_FALSE(
      ReadNearJumpSlotTarget(kArch, Bytes({0x48000001}).data(), 0).ok());
}

// The far slot's ld reads the target at (address set by mflr = slot+8) +
// the ld's displacement; wasmcache writes it exactly there (see
// spec/forms/ppc64.md for why this differs from V8's PatchFarJumpSlot).
TEST(Ppc64JumpTable, FarSlotBytesAndPatchingAtTheLoadOffset) {
  ASSERT_EQ(Traits().far_jump_table_slot_size, 48u);
  std::vector<uint8_t> slot(48, 0xee);
  WriteFarJumpSlot(kArch, slot.data(), 0x1000, 0x00007fff'12345678);
  const auto expected = Bytes({0x7c0802a6, 0x48000005, 0x7d8802a6, 0x7c0803a6,
                               0xe98c0018, 0x7d8903a6, 0x4e800420, 0x60000000,
                               0x12345678, 0x00007fff, 0x60000000, 0x60000000});
  EXPECT_EQ(slot, expected);
  // Where the code loads from: the bl at +4 leaves slot+8 in LR, then
  // ld r12, d(r12).
  const uint32_t ld = Word(slot.data() + 16);
  const uint32_t load_offset = 8 + (ld & 0xfffc);
  EXPECT_EQ(load_offset, 32u);
  // Patch a written slot: only the 8 target bytes change.
  WriteFarJumpSlot(kArch, slot.data(), 0x1000, 0xfedcba98'76543210);
  EXPECT_EQ(LoadUnaligned(slot.data() + load_offset, 8, kOrder),
            0xfedcba98'76543210u);
  for (size_t i = 0; i < slot.size(); ++i) {
    if (i >= load_offset && i < load_offset + 8) continue;
    EXPECT_EQ(slot[i], expected[i]) << i;
  }
  EXPECT_EQ(*ReadFarJumpSlotTarget(kArch, slot.data()), 0xfedcba98'76543210u);
  // Anything else is not a far slot.
  auto broken = slot;
  broken[40] ^= 1;
  EXPECT_FALSE(ReadFarJumpSlotTarget(kArch, broken.data()).ok());
}

TEST(Ppc64JumpTable, LazySlotBytes) {
  ASSERT_EQ(Traits().lazy_compile_slot_size, 48u);
  std::vector<uint8_t> slot(48, 0xee);
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, slot.data(), 0x1000, 0x01020304,
                                   0x00007fff'12345678));
  EXPECT_EQ(slot, Bytes({0x7c0802a6, 0x48000005, 0x7d8802a6, 0x7c0803a6,
                         0x81ec0018, 0xe80c0020, 0x7c0903a6, 0x4e800420,
                         0x01020304, 0x60000000, 0x12345678, 0x00007fff}));
  // lwz r15, d(r12) and ld r0, d(r12) read at slot+8+d.
  EXPECT_EQ(8 + (Word(slot.data() + 16) & 0xffff), 32u);
  EXPECT_EQ(8 + (Word(slot.data() + 20) & 0xfffc), 40u);
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

// Disassembles `lines` (runs of bytes) as ppc64le; fails on diagnostics.
std::vector<Insn> Disassemble(const std::string& mc,
                              const std::vector<std::vector<uint8_t>>& lines) {
  std::vector<Insn> insns;
  for (auto& insn : wasmcache::testing::DisassembleWithLlvmMc(
           mc, "-triple=powerpc64le", lines, '#')) {
    insns.push_back({insn.mnemonic, insn.operands});
  }
  return insns;
}

std::optional<int64_t> ParseInt(std::string s) {
  s = Trim(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
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

// "b .+N" / "b .-N" -> N.
std::optional<int64_t> BranchOffset(const Insn& insn) {
  if (insn.operands.size() < 2 || insn.operands[0] != '.') return std::nullopt;
  return ParseInt(insn.operands.substr(1));
}

TEST(LlvmMcPpc64, MovSequencesDecodeToTheEncodedValue) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint64_t> values = {0,
                                  0xffffffff,
                                  uint64_t{1} << 32,
                                  0x0000ffff'ffffffff,
                                  0x7fffffff'ffffffff,
                                  0x80000000'00000000,
                                  ~uint64_t{0},
                                  0x0123456789abcdef};
  std::mt19937_64 rng(0x9c640004);
  for (int i = 0; i < 100; ++i) values.push_back(rng());
  std::vector<std::vector<uint8_t>> lines;
  std::vector<uint32_t> regs;
  for (size_t i = 0; i < values.size(); ++i) {
    const uint32_t rd = static_cast<uint32_t>(i % 32);
    regs.push_back(rd);
    lines.push_back(Bytes(EncodeMov(MovWords(rd), values[i])));
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), 5 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("value 0x%x", values[i]));
    // llvm-mc prints `ori 0, 0, 0` as its alias `nop`.
    std::vector<Insn> in(insns.begin() + 5 * i, insns.begin() + 5 * i + 5);
    for (Insn& insn : in) {
      if (insn.mnemonic == "nop" && insn.operands.empty()) {
        insn = {"ori", "0, 0, 0"};
      }
    }
    const std::string r = absl::StrFormat("%d", regs[i]);
    EXPECT_EQ(in[0].mnemonic, "lis");
    EXPECT_EQ(in[1].mnemonic, "ori");
    EXPECT_EQ(in[2].mnemonic, "sldi");
    EXPECT_EQ(in[3].mnemonic, "oris");
    EXPECT_EQ(in[4].mnemonic, "ori");
    EXPECT_EQ(Operands(in[2].operands), (std::vector<std::string>{r, r, "32"}));
    uint64_t value = 0;
    const int shifts[5] = {48, 32, -1, 16, 0};
    for (int k : {0, 1, 3, 4}) {
      const auto ops = Operands(in[k].operands);
      ASSERT_EQ(ops.size(), k == 0 ? 2u : 3u) << in[k].operands;
      EXPECT_EQ(ops[0], r);
      if (k != 0) EXPECT_EQ(ops[1], r);
      const auto imm = ParseInt(ops.back());
      ASSERT_TRUE(imm.has_value()) << in[k].operands;
      value |= (static_cast<uint64_t>(*imm) & 0xffff) << shifts[k];
    }
    EXPECT_EQ(value, values[i]);
  }
}

TEST(LlvmMcPpc64, NearSlotBranchesReachTheTarget) {
  REQUIRE_LLVM_MC(mc);
  std::vector<int64_t> deltas = {0, 4, -4, k32MiB - 4, -k32MiB};
  std::mt19937_64 rng(0x9c640005);
  std::uniform_int_distribution<int64_t> words(-(k32MiB / 4), k32MiB / 4 - 1);
  for (int i = 0; i < 100; ++i) deltas.push_back(words(rng) * 4);
  std::vector<std::vector<uint8_t>> lines;
  const uint64_t slot_address = 0x00007fff'a0000000;
  for (int64_t d : deltas) {
    std::vector<uint8_t> slot(4);
    ASSERT_TRUE(WriteNearJumpSlot(kArch, slot.data(), slot_address,
                                  Plus(slot_address, d)));
    lines.push_back(slot);
  }
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), deltas.size());
  for (size_t i = 0; i < deltas.size(); ++i) {
    EXPECT_EQ(insns[i].mnemonic, "b") << deltas[i];
    EXPECT_EQ(BranchOffset(insns[i]), deltas[i]) << insns[i].operands;
  }
}

TEST(LlvmMcPpc64, PoolLoadsDecodeToTheComputedDisplacement) {
  REQUIRE_LLVM_MC(mc);
  const std::vector<uint32_t> regular = {0xe99c0000, 0xe99c7ff8, 0xe99c8000,
                                         0xe99c0010};
  std::vector<std::vector<uint8_t>> lines;
  for (uint32_t w : regular) lines.push_back(Bytes({w}));
  // addis r12, r28, 0x8000 ; ld r12, -8(r12).
  lines.push_back(Bytes({0x3d9c8000, 0xe98cfff8}));
  const auto insns = Disassemble(mc, lines);
  ASSERT_EQ(insns.size(), regular.size() + 2);
  for (size_t i = 0; i < regular.size(); ++i) {
    EXPECT_EQ(insns[i].mnemonic, "ld");
    EXPECT_EQ(
        insns[i].operands,
        absl::StrFormat("12, %d(28)",
                        static_cast<int64_t>(Pool::RegularOffset(regular[i]))));
  }
  const Insn& addis = insns[regular.size()];
  const Insn& ld = insns[regular.size() + 1];
  EXPECT_EQ(addis.mnemonic, "addis");
  EXPECT_EQ(ld.mnemonic, "ld");
  const auto hi = ParseInt(Operands(addis.operands).back());
  const auto lo_text = Operands(ld.operands)[1];
  const auto lo = ParseInt(lo_text.substr(0, lo_text.find('(')));
  ASSERT_TRUE(hi.has_value() && lo.has_value());
  EXPECT_EQ(static_cast<uint64_t>(*hi * 65536 + *lo),
            Pool::OverflowedOffset(0x3d9c8000, 0xe98cfff8));
}

TEST(LlvmMcPpc64, FarAndLazySlotCode) {
  REQUIRE_LLVM_MC(mc);
  std::vector<uint8_t> far(48), lazy(48);
  WriteFarJumpSlot(kArch, far.data(), 0x1000, 0x00007fff'12345678);
  ASSERT_TRUE(WriteLazyCompileSlot(kArch, lazy.data(), 0x2000, 77,
                                   0x00007fff'12345678));
  const std::vector<uint8_t> far_code(far.begin(), far.begin() + 32);
  const std::vector<uint8_t> far_tail(far.begin() + 40, far.end());
  const std::vector<uint8_t> lazy_code(lazy.begin(), lazy.begin() + 32);
  const std::vector<uint8_t> lazy_nop(lazy.begin() + 36, lazy.begin() + 40);
  const auto insns = Disassemble(mc, {far_code, far_tail, lazy_code, lazy_nop});
  const std::vector<std::string> expected = {
      "mflr 0",       "bl .+4",  "mflr 12", "mtlr 0", "ld 12, 24(12)",
      "mtctr 12",     "bctr",    "nop",     "nop",    "nop",
      "mflr 0",       "bl .+4",  "mflr 12", "mtlr 0", "lwz 15, 24(12)",
      "ld 0, 32(12)", "mtctr 0", "bctr",    "nop"};
  ASSERT_EQ(insns.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(Trim(insns[i].mnemonic + " " + insns[i].operands), expected[i])
        << i;
  }
  // bl .+4 at slot+4 leaves slot+8 in the link register: the displacements
  // 24 and 32 address slot+32 (far target), slot+32 (lazy index) and
  // slot+40 (lazy target), where the writers put them.
  EXPECT_EQ(LoadUnaligned(far.data() + 8 + 24, 8, kOrder),
            0x00007fff'12345678u);
  EXPECT_EQ(LoadUnaligned(lazy.data() + 8 + 24, 4, kOrder), 77u);
  EXPECT_EQ(LoadUnaligned(lazy.data() + 8 + 32, 8, kOrder),
            0x00007fff'12345678u);
}

}  // namespace
}  // namespace wasmcache::reference

namespace wasmcache::reference {
namespace {

// Embedded constant pool: with the code header's constant_pool_offset, a
// pool load (ld rT, d(r28)) locates its 8-byte slot, which then holds the
// tag on disk and the address in code space.
TEST(Ppc64ConstantPool, PoolLoadsLocateTheirSlotThroughThePoolOffset) {
  constexpr Arch kPpc = Arch::kPpc64;
  std::vector<uint8_t> code(128, 0);
  const uint32_t ld_r3_16_r28 = 0xe87c0010;  // ld r3, 16(r28)
  StoreUnaligned(code.data(), ld_r3_16_r28, 4, ByteOrder::kLittle);
  StoreUnaligned(code.data() + 64 + 16, 131, 8, ByteOrder::kLittle);
  const RelocEntry entry{RelocMode::kExternalReference, 0, 0};
  // Without the offset the slot cannot be found.
  EXPECT_EQ(LocateSite(kPpc, code, entry, 0).status().code(),
            absl::StatusCode::kUnimplemented);
  auto site = LocateSite(kPpc, code, entry, 0x1000, 64);
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->form, SiteForm::kAbsolute64);
  EXPECT_EQ(site->field_offset, 80u);
  EXPECT_TRUE(site->pool_slot);
  EXPECT_EQ(site->instruction_size, 4u);
  EXPECT_EQ(ReadTag(kPpc, code.data(), *site), 131u);
  const uint64_t address = 0x00005a0000000418;
  ASSERT_TRUE(WriteTarget(kPpc, code.data(), 0x10000, *site, address));
  EXPECT_EQ(ReadTarget(kPpc, code.data(), 0x10000, *site), address);
  EXPECT_EQ(LoadUnaligned(code.data(), 4, ByteOrder::kLittle), ld_r3_16_r28)
      << "the load itself is never patched";
  ASSERT_TRUE(WriteTag(kPpc, code.data(), *site, 131));
  EXPECT_EQ(LoadUnaligned(code.data() + 80, 8, ByteOrder::kLittle), 131u);
  // A pool whose slot falls outside the code is malformed.
  auto outside = LocateSite(kPpc, code, entry, 0x1000, 120);
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace wasmcache::reference
