// fast/pages.h: which buffers go on huge pages, their alignment and
// ownership, and faulting them in ahead of their writers. Each case checks
// what the system it runs on gives: with transparent huge pages on request
// (the usual Linux setting) and without them.

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "fast/code_space.h"
#include "fast/pages.h"
#include "gtest/gtest.h"

namespace wasmcache::fast {
namespace {

// Pages of [base, base + size) resident, by mincore.
std::vector<bool> Resident(const uint8_t* base, uint64_t size) {
  const uint64_t page = PageSize();
  std::vector<unsigned char> v((size + page - 1) / page);
  EXPECT_EQ(mincore(const_cast<uint8_t*>(base), size, v.data()), 0);
  std::vector<bool> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = (v[i] & 1) != 0;
  return out;
}

TEST(FastPages, HugePagesAreWorthItFromFourOfThem) {
  const uint64_t huge = HugePageSize();
  if (huge == 0) {
    EXPECT_FALSE(WorthHugePages(uint64_t{1} << 40));
    return;
  }
  EXPECT_GT(huge, PageSize());
  EXPECT_EQ(huge & (huge - 1), 0u);
  EXPECT_FALSE(WorthHugePages(4 * huge - 1));
  EXPECT_TRUE(WorthHugePages(4 * huge));
}

TEST(FastPages, LargeBuffersAreAlignedAndSmallOnesAreNot) {
  const uint64_t huge = HugePageSize();
  const uint64_t size = huge != 0 ? 4 * huge + 12345 : 9 << 20;
  LargeBuffer large(size);
  ASSERT_NE(large.data(), nullptr);
  EXPECT_EQ(large.size(), size);
  EXPECT_EQ(large.huge(), huge != 0);
  if (huge != 0) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(large.data()) % huge, 0u);
  }
  // All of it is usable memory.
  std::memset(large.data(), 0xA5, size);
  EXPECT_EQ(large.data()[size - 1], 0xA5);

  LargeBuffer small(4096);
  EXPECT_FALSE(small.huge());
  LargeBuffer empty(0);  // one byte at least
  EXPECT_EQ(empty.size(), 1u);
  empty.data()[0] = 1;
}

TEST(FastPages, LargeBuffersMoveTheirMapping) {
  LargeBuffer a(1 << 20);
  uint8_t* const data = a.data();
  data[0] = 7;
  LargeBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), data);
  LargeBuffer c(64);
  c = std::move(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(c.data(), data);
  EXPECT_EQ(c.data()[0], 7);
}

// Whether MADV_POPULATE_WRITE takes effect here (not under an emulator
// that ignores it, nor on a kernel before 5.14).
bool PopulateWorks() {
  LargeBuffer probe(4 * PageSize());
  return PopulateForWriting(probe.data(), 0, probe.size()) &&
         Resident(probe.data(), probe.size())[3];
}

TEST(FastPages, ThePopulatorFaultsInWholeHugePagesAheadOnly) {
  const uint64_t huge = HugePageSize();
  const uint64_t page = PageSize();
  if (huge != 0 && !PopulateWorks()) {
    GTEST_SKIP() << "MADV_POPULATE_WRITE has no effect on this system";
  }
  const uint64_t size = huge != 0 ? 6 * huge : 6 << 20;
  LargeBuffer buffer(size);
  HugePopulator populator(buffer.data(), buffer.size(), buffer.huge());
  EXPECT_EQ(populator.on(), huge != 0);
  populator.Reach(1);
  std::vector<bool> resident = Resident(buffer.data(), size);
  if (huge == 0) {
    // Off: nothing is touched.
    for (bool r : resident) EXPECT_FALSE(r);
    return;
  }
  const uint64_t per_huge = huge / page;
  for (uint64_t i = 0; i < resident.size(); ++i) {
    EXPECT_EQ(resident[i], i < per_huge) << "page " << i;
  }
  // Reaching into the third huge page brings in the second and third.
  populator.Reach(2 * huge + 1);
  resident = Resident(buffer.data(), size);
  for (uint64_t i = 0; i < resident.size(); ++i) {
    EXPECT_EQ(resident[i], i < 3 * per_huge) << "page " << i;
  }
  // Never past the end of the buffer.
  populator.Reach(100 * huge);
  resident = Resident(buffer.data(), size);
  for (bool r : resident) EXPECT_TRUE(r);
}

TEST(FastPages, LargeCodeSpacesAreAlignedToHugePages) {
  const uint64_t huge = HugePageSize();
  const uint64_t size = 5 * (huge != 0 ? huge : 2 << 20);
  void* base = MapCodeSpace(size, PROT_NONE, 0);
  ASSERT_NE(base, MAP_FAILED);
  if (huge != 0) EXPECT_EQ(reinterpret_cast<uintptr_t>(base) % huge, 0u);
  munmap(base, size);
  // Below 4 GiB (a 32-bit target's space) too.
  void* low = MapCodeSpace(size, PROT_NONE, uint64_t{1} << 32);
  ASSERT_NE(low, MAP_FAILED);
  EXPECT_LT(reinterpret_cast<uintptr_t>(low) + size, uint64_t{1} << 32);
  if (huge != 0) EXPECT_EQ(reinterpret_cast<uintptr_t>(low) % huge, 0u);
  munmap(low, size);
}

}  // namespace
}  // namespace wasmcache::fast
