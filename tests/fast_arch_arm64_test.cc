// arm64: the fast target operations agree with the reference codec.

#include "gtest/gtest.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

TEST(FastArchArm64Test, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kArm64Ops), 4000u);
}

}  // namespace
}  // namespace wasmcache
