// Code space allocation and the jump-table layout.

#include "reference/code_space.h"

#include <sys/mman.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "reference/jump_table.h"

namespace wasmcache::reference {
namespace {

TEST(CodeSpace, AllocatesAlignedDisjointBlocksAndMergesFrees) {
  auto space = CodeSpace::Reserve(1 << 20, 64);
  ASSERT_TRUE(space.ok()) << space.status();
  CodeSpace& s = **space;
  auto a = s.Allocate(100);
  auto b = s.Allocate(1);
  auto c = s.Allocate(64);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (uint8_t* p : {*a, *b, *c}) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    EXPECT_TRUE(s.Contains(reinterpret_cast<uintptr_t>(p)));
  }
  EXPECT_EQ(*b - *a, 128);
  EXPECT_EQ(*c - *b, 64);
  // Committed memory is writable inside a write scope, executable outside.
  {
    CodeWriteScope write(s.protection(), *a, 100);
    (*a)[0] = 0xcc;
  }
  {
    CodeWriteScope write(s.protection(), *c, 64);
    (*c)[63] = 0xcc;
  }
  EXPECT_EQ((*a)[0], 0xcc);
  EXPECT_GT(s.committed_bytes(), 0u);
  const uint64_t before = s.free_bytes();
  s.Free(*b, 1);
  EXPECT_EQ(s.free_bytes(), before + 64);
  // The freed block is reused first fit.
  auto d = s.Allocate(64);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, *b);
  s.Free(*a, 100);
  s.Free(*d, 64);
  s.Free(*c, 64);
  EXPECT_EQ(s.free_bytes(), s.size());
  EXPECT_EQ(s.committed_bytes(), 0u) << "whole free pages are decommitted";
  // Everything merged back into one region: the whole space fits again.
  EXPECT_TRUE(s.Allocate(s.size()).ok());
}

// A return instruction of the host (the test runs it; tools/cross-test.sh
// runs this suite on other hosts than x86-64).
#if defined(__x86_64__) || defined(__i386__)
constexpr uint8_t kHostRet[] = {0xc3};  // ret
#elif defined(__aarch64__)
constexpr uint8_t kHostRet[] = {0xc0, 0x03, 0x5f, 0xd6};  // ret
#elif defined(__riscv)
constexpr uint8_t kHostRet[] = {0x67, 0x80, 0x00, 0x00};  // jalr x0, 0(ra)
#elif defined(__s390x__)
constexpr uint8_t kHostRet[] = {0x07, 0xfe};  // br %r14
#else
#error "no return instruction for this host"
#endif

// W^X: outside a write scope a store to code faults; inside it the page is
// not executable.
TEST(CodeSpaceDeathTest, CodeIsNeverWritableOutsideAWriteScope) {
  auto space = CodeSpace::Reserve(1 << 16, 64);
  ASSERT_TRUE(space.ok());
  auto block = (*space)->Allocate(64);
  ASSERT_TRUE(block.ok());
  volatile uint8_t* code = *block;
  EXPECT_DEATH(code[0] = 1, "");
  {
    CodeWriteScope write((*space)->protection(), *block, 64);
    for (size_t i = 0; i < sizeof(kHostRet); ++i) code[i] = kHostRet[i];
    __builtin___clear_cache(reinterpret_cast<char*>(*block),
                            reinterpret_cast<char*>(*block) + sizeof(kHostRet));
    EXPECT_TRUE((*space)->protection().MemoryProtectionKeyWritable());
    // Writable pages are not executable (mprotect mode).
    if (!(*space)->protection().MemoryProtectionKeysEnabled()) {
      EXPECT_DEATH(reinterpret_cast<void (*)()>(*block)(), "");
    }
  }
  EXPECT_FALSE((*space)->protection().MemoryProtectionKeyWritable());
  // After the scope the code runs.
  reinterpret_cast<void (*)()>(*block)();
  EXPECT_EQ(code[0], kHostRet[0]);
}

// A size mmap cannot take (beyond size_t on a 32-bit host, or close to
// 2^64) is kResourceExhausted, never a smaller mapping than asked for.
TEST(CodeSpace, ReservationBeyondWhatTheHostCanMapFailsCleanly) {
  for (uint64_t size : {(uint64_t{4} << 30) + 8192, ~uint64_t{0} - 100}) {
    auto space = CodeSpace::Reserve(size, 64);
    if (space.ok()) {
      // All of it is mapped: msync fails with ENOMEM on unmapped pages.
      const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
      ASSERT_GE((*space)->size(), size);
      EXPECT_EQ(msync((*space)->base() + (*space)->size() - page, page,
                      MS_ASYNC),
                0);
    } else {
      EXPECT_EQ(space.status().code(), absl::StatusCode::kResourceExhausted)
          << space.status();
    }
  }
}

TEST(CodeSpace, AccountingHookSeesEveryCommitAndCanRefuse) {
  int64_t committed = 0;
  int64_t limit = 2 * 4096;
  auto space = CodeSpace::Reserve(1 << 20, 64, nullptr, [&](int64_t delta) {
    if (delta > 0 && committed + delta > limit) return false;
    committed += delta;
    return true;
  });
  ASSERT_TRUE(space.ok());
  auto a = (*space)->Allocate(4096);
  auto b = (*space)->Allocate(4096);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(committed, 2 * 4096);
  EXPECT_EQ((*space)->Allocate(64).status().code(),
            absl::StatusCode::kResourceExhausted);
  (*space)->Free(*a, 4096);
  EXPECT_EQ(committed, 4096);
  EXPECT_TRUE((*space)->Allocate(64).ok());
  space->reset();
  EXPECT_EQ(committed, 0) << "releasing the space returns its pages";
}

TEST(CodeSpace, ExhaustionIsResourceExhausted) {
  auto space = CodeSpace::Reserve(4096, 32);
  ASSERT_TRUE(space.ok());
  EXPECT_TRUE((*space)->Allocate(4096).ok());
  EXPECT_EQ((*space)->Allocate(32).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(JumpTableLayout, MatchesV8Geometry) {
  // x64: 8-byte near slots, 16-byte far slots, 10-byte lazy slots, each
  // table 64-aligned.
  JumpTableLayout x64 = ComputeJumpTableLayout(Arch::kX64, 3, 121, true);
  EXPECT_EQ(x64.near_size, 24u);
  EXPECT_EQ(x64.far_offset, 64u);
  EXPECT_EQ(x64.far_size, (121u + 3u) * 16u);
  EXPECT_EQ(x64.lazy_offset % 64, 0u);
  EXPECT_EQ(x64.lazy_size, 30u);
  EXPECT_EQ(x64.NearSlotOffset(TraitsOf(Arch::kX64), 2), 16u);
  JumpTableLayout arm64 = ComputeJumpTableLayout(Arch::kArm64, 5, 121, false);
  EXPECT_EQ(arm64.near_size, 20u);
  EXPECT_EQ(arm64.far_offset, 32u);
  EXPECT_EQ(arm64.lazy_size, 0u);
  // ia32 lines hold 12 five-byte slots and 4 bytes of padding.
  EXPECT_EQ(JumpTableSlotOffset(TraitsOf(Arch::kIa32), 12), 64u);
  EXPECT_EQ(JumpTableSlotOffset(TraitsOf(Arch::kIa32), 13), 69u);
}

TEST(JumpTable, NearSlotsReachTheirTargetsAndReportOutOfReach) {
  uint8_t slot[16] = {};
  const uint64_t at = 0x10000000;
  ASSERT_TRUE(WriteNearJumpSlot(Arch::kX64, slot, at, at + 0x1000));
  EXPECT_EQ(slot[0], 0xe9);
  EXPECT_EQ(slot[5], 0xcc);
  EXPECT_EQ(*ReadNearJumpSlotTarget(Arch::kX64, slot, at), at + 0x1000);
  EXPECT_FALSE(WriteNearJumpSlot(Arch::kX64, slot, at, at + (1ull << 32)));
  ASSERT_TRUE(WriteNearJumpSlot(Arch::kArm64, slot, at, at - (128ull << 20)));
  EXPECT_EQ(*ReadNearJumpSlotTarget(Arch::kArm64, slot, at),
            at - (128ull << 20));
  EXPECT_FALSE(WriteNearJumpSlot(Arch::kArm64, slot, at, at + (128ull << 20)));
  WriteFarJumpSlot(Arch::kArm64, slot, at, 0x123456789abcdef0);
  EXPECT_EQ(*ReadFarJumpSlotTarget(Arch::kArm64, slot), 0x123456789abcdef0u);
}

}  // namespace
}  // namespace wasmcache::reference

namespace wasmcache::reference {
namespace {

// 32-bit targets keep code below 4 GiB: every byte of the reservation is
// addressable in 4 bytes.
TEST(CodeSpace, AddressLimitKeepsTheWholeSpaceBelowIt) {
  const uint64_t limit = uint64_t{1} << 32;
  std::vector<std::unique_ptr<CodeSpace>> spaces;
  for (int i = 0; i < 3; ++i) {
    auto space = CodeSpace::Reserve(64 << 20, 32, nullptr, nullptr, limit);
    ASSERT_TRUE(space.ok()) << space.status();
    EXPECT_LE((*space)->end_address(), limit);
    auto block = (*space)->Allocate(100);
    ASSERT_TRUE(block.ok());
    EXPECT_LT(reinterpret_cast<uintptr_t>(*block), limit);
    spaces.push_back(std::move(*space));
  }
  // Distinct reservations never overlap.
  for (size_t i = 0; i < spaces.size(); ++i) {
    for (size_t j = i + 1; j < spaces.size(); ++j) {
      EXPECT_TRUE(spaces[i]->end_address() <= spaces[j]->start_address() ||
                  spaces[j]->end_address() <= spaces[i]->start_address());
    }
  }
  // A limit too small for the size is refused.
  EXPECT_EQ(CodeSpace::Reserve(64 << 20, 32, nullptr, nullptr, 32 << 20)
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace wasmcache::reference
