// The wire-bytes decoder: counts, signatures, structural classes, errors.

#include "spec/module_info.h"

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

std::vector<uint8_t> Module(std::vector<std::vector<uint8_t>> sections) {
  std::vector<uint8_t> out = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  for (const auto& s : sections) out.insert(out.end(), s.begin(), s.end());
  return out;
}

std::vector<uint8_t> Section(uint8_t id, std::vector<uint8_t> body) {
  std::vector<uint8_t> out = {id, static_cast<uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(ModuleInfo, CountsImportsAndDeclaredFunctions) {
  const auto wire = Module({
      // types: 0 (i32)->i32, 1 struct, 2 (i32)->i32 again, 3 ()->()
      Section(1, {4, 0x60, 1, 0x7f, 1, 0x7f, 0x5f, 1, 0x7f, 1, 0x60, 1, 0x7f,
                  1, 0x7f, 0x60, 0, 0}),
      // imports: env.f func type 0, env.m memory, env.g global i32
      Section(2, {3, 3, 'e', 'n', 'v', 1, 'f', 0, 0, 3, 'e', 'n', 'v', 1, 'm',
                  2, 0, 1, 3, 'e', 'n', 'v', 1, 'g', 3, 0x7f, 0}),
      // functions: types 2, 3, 0
      Section(3, {3, 2, 3, 0}),
      // a custom section is skipped
      Section(0, {1, 'x', 7, 7}),
  });
  auto info = DecodeModuleInfo(wire);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->num_imported_functions, 1u);
  EXPECT_EQ(info->num_declared_functions, 3u);
  EXPECT_EQ(info->num_types(), 4u);
  EXPECT_EQ(info->is_signature, (std::vector<bool>{true, false, true, true}));
  // Types 0 and 2 are the same signature; the struct and () -> () are not.
  EXPECT_EQ(info->structural_class[0], info->structural_class[2]);
  EXPECT_NE(info->structural_class[0], info->structural_class[3]);
  EXPECT_NE(info->structural_class[1], info->structural_class[0]);
  EXPECT_EQ(info->declared_function_types, (std::vector<uint32_t>{2, 3, 0}));
}

TEST(ModuleInfo, RecursionGroupsAndSubtypesAreNotMerged) {
  const auto wire = Module({
      // rec group of two identical signatures, then a plain one, then a
      // non-final subtype with the same shape.
      Section(1, {3, 0x4e, 2, 0x60, 0, 0, 0x60, 0, 0, 0x60, 0, 0, 0x50, 0,
                  0x60, 0, 0}),
  });
  auto info = DecodeModuleInfo(wire);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->num_types(), 4u);
  EXPECT_NE(info->structural_class[0], info->structural_class[1]);
  EXPECT_NE(info->structural_class[0], info->structural_class[2]);
  EXPECT_NE(info->structural_class[3], info->structural_class[2]);
}

TEST(ModuleInfo, RejectsMalformedInputWithOffsets) {
  auto code = [](std::vector<uint8_t> wire) {
    return DecodeModuleInfo(wire).status();
  };
  EXPECT_EQ(code({0x00, 0x61, 0x73}).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(code({0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0}).code(),
            absl::StatusCode::kDataLoss);
  // A section longer than the module.
  EXPECT_EQ(code(Module({{1, 9, 0}})).code(), absl::StatusCode::kOutOfRange);
  // Function of a type that does not exist.
  auto status = code(Module({Section(1, {1, 0x60, 0, 0}), Section(3, {1, 1})}));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(std::string(status.message()),
            "wasm: function type 1 is not a signature at offset 0x11");
  // Function of a struct type.
  EXPECT_EQ(code(Module({Section(1, {1, 0x5f, 0}), Section(3, {1, 0})})).code(),
            absl::StatusCode::kDataLoss);
  // Sections out of order.
  EXPECT_EQ(code(Module({Section(3, {0}), Section(1, {0})})).code(),
            absl::StatusCode::kDataLoss);
  // Unknown value type, unknown import kind, bytes left in a section.
  EXPECT_EQ(code(Module({Section(1, {1, 0x60, 1, 0x40, 0})})).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(code(Module({Section(2, {1, 0, 0, 9})})).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(code(Module({Section(3, {0, 0})})).code(),
            absl::StatusCode::kDataLoss);
  // LEB128 longer than 5 bytes, and with bits past 32.
  EXPECT_EQ(code(Module({Section(3, {0x80, 0x80, 0x80, 0x80, 0x80, 0})})).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(code(Module({Section(3, {0x80, 0x80, 0x80, 0x80, 0x10})})).code(),
            absl::StatusCode::kDataLoss);
  // More functions than V8 allows.
  EXPECT_EQ(code(Module({Section(3, {0xc1, 0x84, 0x3d})})).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ModuleInfo, DecodesEveryFixtureModule) {
  for (const auto& fixture : testing::CommittedFixtures()) {
    auto info = DecodeModuleInfo(testing::ReadBytes(fixture.wasm_path));
    ASSERT_TRUE(info.ok()) << fixture.name << ": " << info.status();
    EXPECT_GT(info->num_declared_functions, 0u) << fixture.name;
  }
  const auto imports = testing::LoadCommitted("x64/imports");
  EXPECT_GT(imports.module.num_imported_functions, 0u);
}

}  // namespace
}  // namespace wasmcache::reference
