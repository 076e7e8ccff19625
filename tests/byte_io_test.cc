// Bounds-checked reading and writing in any byte order and word size.

#include "reference/byte_io.h"

#include "gtest/gtest.h"
#include "spec/layout.h"

namespace wasmcache::reference {
namespace {

TEST(ByteReader, ReadsLittleAndBigEndian) {
  const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  ByteReader le(bytes, ByteOrder::kLittle, 8);
  EXPECT_EQ(*le.U32("a"), 0x04030201u);
  EXPECT_EQ(*le.U32("b"), 0x08070605u);
  ByteReader be(bytes, ByteOrder::kBig, 8);
  EXPECT_EQ(*be.Word("w"), 0x0102030405060708u);
  ByteReader be32(bytes, ByteOrder::kBig, 4);
  EXPECT_EQ(*be32.Word("w"), 0x01020304u);
  EXPECT_EQ(be32.offset(), 4u);
  EXPECT_EQ(*be32.I32("i"), 0x05060708);
}

TEST(ByteReader, SignedFieldsAreTwosComplement) {
  const uint8_t bytes[] = {0xc0, 0xff, 0xff, 0xff};
  ByteReader r(bytes, ByteOrder::kLittle, 8);
  EXPECT_EQ(*r.I32("size"), -64);
}

TEST(ByteReader, TruncationIsOutOfRangeWithSectionAndOffset) {
  const uint8_t bytes[] = {1, 2, 3, 4, 5, 6};
  ByteReader r(bytes, ByteOrder::kLittle, 8);
  r.set_section("module header");
  ASSERT_TRUE(r.U32("first").ok());
  auto word = r.Word("total_code_size");
  ASSERT_FALSE(word.ok());
  EXPECT_EQ(word.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(word.status().message(),
            "module header: total_code_size needs 8 bytes but 2 remain at "
            "offset 0x4");
  // A failed read consumes nothing.
  EXPECT_EQ(r.offset(), 4u);
  auto bytes_read = r.Bytes(3, "blob");
  EXPECT_EQ(bytes_read.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(r.Bytes(2, "blob")->size(), 2u);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.U8("past the end").status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(ByteReader, HugeCountsDoNotOverflow) {
  const uint8_t bytes[] = {1, 2};
  ByteReader r(bytes, ByteOrder::kLittle, 8);
  ASSERT_TRUE(r.U8("x").ok());
  EXPECT_EQ(r.Bytes(~size_t{0}, "huge").status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(ByteWriter, WritesEveryOrderAndWidth) {
  ByteWriter le(ByteOrder::kLittle, 4);
  le.U32(0x11223344);
  le.Word(0xaabbccdd);
  le.I32(-2);
  EXPECT_EQ(le.bytes(), (std::vector<uint8_t>{0x44, 0x33, 0x22, 0x11, 0xdd,
                                              0xcc, 0xbb, 0xaa, 0xfe, 0xff,
                                              0xff, 0xff}));
  ByteWriter be(ByteOrder::kBig, 8);
  be.Word(0x0102030405060708);
  EXPECT_EQ(be.bytes(),
            (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

// The field tables read what they write, and measure what they write, for
// 32- and 64-bit targets in both byte orders.
TEST(Layout, ModuleHeaderRoundTripsAndMeasures) {
  ModuleHeader h;
  h.detected_features = 0x12;
  h.total_code_size = 0x1234;
  h.all_functions_validated = 1;
  h.compile_time_imports = 3;
  h.constants_module = "'";
  h.well_known_imports = {1, 2, 60};
  for (ByteOrder order : {ByteOrder::kLittle, ByteOrder::kBig}) {
    for (uint32_t word : {4u, 8u}) {
      ByteWriter w(order, word);
      WriteLayout(w, h, size_t{3});
      EXPECT_EQ(w.size(), MeasureLayout(h, word, size_t{3}));
      EXPECT_EQ(w.size(), ModuleHeaderFixedSize(word) + 1 + 3);
      ByteReader r(w.bytes(), order, word);
      ModuleHeader back;
      ASSERT_TRUE(ReadLayout(r, back, size_t{3}).ok());
      EXPECT_EQ(back, h);
      EXPECT_EQ(r.remaining(), 0u);
    }
  }
}

TEST(Layout, CodeHeaderIs62BytesWithTheTag) {
  CodeHeader h;
  h.instructions_size = 128;
  h.kind = 0;
  h.tier = 2;
  ByteWriter w(ByteOrder::kLittle, 8);
  WriteLayout(w, h);
  EXPECT_EQ(1 + w.size(), kCodeHeaderSize);
  // Kind is 4 bytes at +56 (after the tag: +57 in the record), tier at +60.
  EXPECT_EQ(w.bytes()[60], 2);
  EXPECT_EQ(w.bytes()[32], 128);  // instructions_size, the ninth int
}

}  // namespace
}  // namespace wasmcache::reference
