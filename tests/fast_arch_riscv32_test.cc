// riscv32: the fast target operations agree with the reference codec.

#include "gtest/gtest.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

// The harness corpus (synthesized caches and committed fixtures) gives
// 4566 sites on riscv32.
TEST(FastArchRiscv32Test, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kRiscv32Ops), 4000u);
}

}  // namespace
}  // namespace wasmcache
