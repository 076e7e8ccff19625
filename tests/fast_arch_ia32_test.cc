// ia32: the fast target operations agree with the reference codec.

#include "gtest/gtest.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

TEST(FastArchIa32Test, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kIa32Ops), 5000u);
}

}  // namespace
}  // namespace wasmcache
