// mips64: the fast target operations agree with the reference codec.

#include "gtest/gtest.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

// The harness corpus (synthesized caches and committed fixtures) gives
// 5370 sites on mips64.
TEST(FastArchMips64Test, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kMips64Ops), 4500u);
}

}  // namespace
}  // namespace wasmcache
