// arm: the fast target operations agree with the reference codec.

#include "gtest/gtest.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

TEST(FastArchArmTest, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kArmOps), 3000u);
}

}  // namespace
}  // namespace wasmcache
