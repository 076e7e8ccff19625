// riscv64: the fast target operations agree with the reference codec.

#include "gtest/gtest.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

// The harness corpus (synthesized caches and committed fixtures) gives
// 4566 sites on riscv64.
TEST(FastArchRiscv64Test, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kRiscv64Ops), 4000u);
}

}  // namespace
}  // namespace wasmcache
