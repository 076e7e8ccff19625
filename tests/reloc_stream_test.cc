// The RelocInfo stream: V8's own bytes, round trips on every fixture, and
// rejection of everything V8's writer would not produce.

#include "reference/reloc_stream.h"

#include "gtest/gtest.h"
#include "reference/cache_parser.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

// Known answers from a real V8 13.6 cache (format facts, section 2.2).
TEST(RelocStream, DecodesStubCallAndExternalReferenceFromV8) {
  const uint8_t stream[] = {0x6a, 0x2b, 0x27};
  auto entries = DecodeRelocStream(stream, 256, 0);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0], (RelocEntry{RelocMode::kExternalReference, 43, 0}));
  EXPECT_EQ((*entries)[1], (RelocEntry{RelocMode::kWasmStubCall, 69, 0}));
  EXPECT_EQ(EncodeRelocStream(*entries),
            std::vector<uint8_t>(std::begin(stream), std::end(stream)));
}

TEST(RelocStream, DecodesPcJumpFromV8) {
  // Read order 5b 01 2b 08: PC_JUMP +64, INTERNAL_REFERENCE at pc 72.
  const uint8_t stream[] = {0x08, 0x2b, 0x01, 0x5b};
  auto entries = DecodeRelocStream(stream, 128, 0);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0], (RelocEntry{RelocMode::kInternalReference, 72, 0}));
  EXPECT_EQ(EncodeRelocStream(*entries),
            std::vector<uint8_t>(std::begin(stream), std::end(stream)));
}

TEST(RelocStream, RoundTripsPayloadsAndLongJumps) {
  const std::vector<RelocEntry> entries = {
      {RelocMode::kWasmCall, 0, 0},
      {RelocMode::kWasmCall, 0, 0},
      {RelocMode::kConstPool, 63, 0xdeadbeef},
      {RelocMode::kWasmStubCall, 64, 0},
      {RelocMode::kVeneerPool, 200000, 7},
      {RelocMode::kDeoptReason, 300000, 0xab},
      {RelocMode::kDeoptNodeId, (1u << 28) + 5, 0x80000000},
  };
  const std::vector<uint8_t> bytes = EncodeRelocStream(entries);
  auto back = DecodeRelocStream(bytes, 1u << 30, 0);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, entries);
}

absl::StatusCode DecodeCode(std::vector<uint8_t> read_order,
                            uint32_t size = 1024) {
  std::reverse(read_order.begin(), read_order.end());
  return DecodeRelocStream(read_order, size, 0x100).status().code();
}

TEST(RelocStream, RejectsWhatV8NeverWrites) {
  const uint8_t pc_jump = (22 << 2) | 3;
  // Mode numbers past NUMBER_OF_MODES.
  EXPECT_EQ(DecodeCode({(23 << 2) | 3, 0}), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({(63 << 2) | 3, 0}), absl::StatusCode::kDataLoss);
  // WASM_STUB_CALL has a short tag; a long record for it is not canonical.
  EXPECT_EQ(DecodeCode({(6 << 2) | 3, 0}), absl::StatusCode::kDataLoss);
  // A long record's pc byte carries at most 6 bits.
  EXPECT_EQ(DecodeCode({(5 << 2) | 3, 64}), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({(5 << 2) | 3, 63}), absl::StatusCode::kOk);
  // PC_JUMP of zero, non-minimal VLQ, dangling, doubled.
  EXPECT_EQ(DecodeCode({pc_jump, 0, 2}), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({pc_jump, 0x81, 0x00, 2}), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({pc_jump, 1}), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({pc_jump, 1, pc_jump, 1, 2}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({pc_jump, 1, 2}), absl::StatusCode::kOk);
  // PC_JUMP wider than 32 bits.
  EXPECT_EQ(DecodeCode({pc_jump, 0xff, 0xff, 0xff, 0xff, 0x7f, 2}),
            absl::StatusCode::kDataLoss);
  // Truncated records and payloads.
  EXPECT_EQ(DecodeCode({(5 << 2) | 3}), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({(15 << 2) | 3, 0, 1, 2, 3}),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCode({pc_jump, 0x81}), absl::StatusCode::kDataLoss);
}

TEST(RelocStream, PcMustLieInsideTheInstructions) {
  // Short WASM_STUB_CALL with delta 10: fine in 11 bytes, not in 10.
  EXPECT_EQ(DecodeCode({(10 << 2) | 2}, 11), absl::StatusCode::kOk);
  EXPECT_EQ(DecodeCode({(10 << 2) | 2}, 10), absl::StatusCode::kDataLoss);
  auto status = DecodeRelocStream(std::vector<uint8_t>{(10 << 2) | 2}, 10, 0x40)
                    .status();
  EXPECT_EQ(status.message(),
            "reloc: pc 0xa outside the 10 instruction bytes at offset 0x40");
}

// Every stream in every real cache decodes and re-encodes to its bytes.
TEST(RelocStream, EveryFixtureStreamRoundTrips) {
  size_t streams = 0, entries = 0;
  for (const auto& fixture : testing::CommittedFixtures()) {
    const auto f = testing::LoadFixture(fixture);
    auto parsed = ParseCache(f.cache, f.module, f.env);
    ASSERT_TRUE(parsed.ok()) << fixture.name << ": " << parsed.status();
    for (const auto& fn : parsed->functions) {
      if (fn.tag != FunctionTag::kTurboFan) continue;
      const auto bytes = fn.part(CodePart::kRelocInfo);
      EXPECT_EQ(EncodeRelocStream(fn.relocs),
                std::vector<uint8_t>(bytes.begin(), bytes.end()))
          << fixture.name << " function " << fn.index;
      ++streams;
      entries += fn.relocs.size();
    }
  }
  EXPECT_GT(streams, 500u);
  EXPECT_GT(entries, 1000u);
}

}  // namespace
}  // namespace wasmcache::reference
