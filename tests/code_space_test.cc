// Code space allocation and the jump-table layout.
//
// Every case runs against both implementations (tests/impl.h: plain, the
// reference; with WASMCACHE_IMPL=fast, names ending in ".fast", the fast
// one), one body over the implementation's Api (tests/code_api.h): its
// CodeSpace (allocation, decommit, the accounting hook, exhaustion,
// reservation limits), W^X through its CodeProtection and CodeWriteScope,
// the layout of a code space's tables (reference::ComputeJumpTableLayout,
// fast::TablesOf) and its jump-table slot writers and readers
// (reference/jump_table.h, fast::OpsOf(arch)).

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "fast/arch.h"
#include "fast/tables.h"
#include "gtest/gtest.h"
#include "reference/jump_table.h"
#include "spec/arch.h"
#include "tests/code_api.h"

namespace wasmcache {
namespace {

using testing::FastApi;
using testing::ReferenceApi;
using testing::WithSelectedApi;

TEST(CodeSpace, AllocatesAlignedDisjointBlocksAndMergesFrees) {
  WithSelectedApi([]<class Api>(const Api&) {
    auto space = Api::CodeSpace::Reserve(1 << 20, 64);
    ASSERT_TRUE(space.ok()) << space.status();
    auto& s = **space;
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
      typename Api::CodeWriteScope write(s.protection(), *a, 100);
      (*a)[0] = 0xcc;
    }
    {
      typename Api::CodeWriteScope write(s.protection(), *c, 64);
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
  });
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
  WithSelectedApi([]<class Api>(const Api&) {
    auto space = Api::CodeSpace::Reserve(1 << 16, 64);
    ASSERT_TRUE(space.ok());
    auto block = (*space)->Allocate(64);
    ASSERT_TRUE(block.ok());
    volatile uint8_t* code = *block;
    EXPECT_DEATH(code[0] = 1, "");
    {
      typename Api::CodeWriteScope write((*space)->protection(), *block, 64);
      for (size_t i = 0; i < sizeof(kHostRet); ++i) code[i] = kHostRet[i];
      __builtin___clear_cache(
          reinterpret_cast<char*>(*block),
          reinterpret_cast<char*>(*block) + sizeof(kHostRet));
      EXPECT_TRUE((*space)->protection().MemoryProtectionKeyWritable());
      // Writable pages are not executable (mprotect mode).
      if (!(*space)->protection().MemoryProtectionKeysEnabled()) {
        EXPECT_DEATH(reinterpret_cast<void (*)()>(*block)(), "");
      }
    }
    EXPECT_FALSE((*space)->protection().MemoryProtectionKeyWritable());
    // After the scope the code runs.
    reinterpret_cast<void (*)()> (*block)();
    EXPECT_EQ(code[0], kHostRet[0]);
  });
}

// A size mmap cannot take (beyond size_t on a 32-bit host, or close to
// 2^64) is kResourceExhausted, never a smaller mapping than asked for.
TEST(CodeSpace, ReservationBeyondWhatTheHostCanMapFailsCleanly) {
  WithSelectedApi([]<class Api>(const Api&) {
    for (uint64_t size : {(uint64_t{4} << 30) + 8192, ~uint64_t{0} - 100}) {
      auto space = Api::CodeSpace::Reserve(size, 64);
      if (space.ok()) {
        // All of it is mapped: msync fails with ENOMEM on unmapped pages.
        const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
        ASSERT_GE((*space)->size(), size);
        EXPECT_EQ(
            msync((*space)->base() + (*space)->size() - page, page, MS_ASYNC),
            0);
      } else {
        EXPECT_EQ(space.status().code(), absl::StatusCode::kResourceExhausted)
            << space.status();
      }
    }
  });
}

TEST(CodeSpace, AccountingHookSeesEveryCommitAndCanRefuse) {
  WithSelectedApi([]<class Api>(const Api&) {
    int64_t committed = 0;
    int64_t limit = 2 * 4096;
    auto space =
        Api::CodeSpace::Reserve(1 << 20, 64, nullptr, [&](int64_t delta) {
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
  });
}

TEST(CodeSpace, ExhaustionIsResourceExhausted) {
  WithSelectedApi([]<class Api>(const Api&) {
    auto space = Api::CodeSpace::Reserve(4096, 32);
    ASSERT_TRUE(space.ok());
    EXPECT_TRUE((*space)->Allocate(4096).ok());
    EXPECT_EQ((*space)->Allocate(32).status().code(),
              absl::StatusCode::kResourceExhausted);
  });
}

// --- Jump tables -------------------------------------------------------------

// The layout of a code space's tables as each implementation computes it.
reference::JumpTableLayout TableLayout(ReferenceApi, Arch arch,
                                       uint32_t declared, uint32_t builtins,
                                       bool with_lazy) {
  return reference::ComputeJumpTableLayout(arch, declared, builtins, with_lazy);
}
fast::TableLayout TableLayout(FastApi, Arch arch, uint32_t declared,
                              uint32_t builtins, bool with_lazy) {
  return fast::TablesOf(TraitsOf(arch), declared, builtins, with_lazy);
}

// Where the tables end (code may follow).
uint64_t TablesEnd(const reference::JumpTableLayout& layout) {
  return layout.total_size;
}
uint64_t TablesEnd(const fast::TableLayout& layout) { return layout.end; }

// Offset of a near slot from the start of the tables.
uint64_t NearSlotOffset(const reference::JumpTableLayout& layout, Arch arch,
                        uint32_t declared) {
  return layout.NearSlotOffset(TraitsOf(arch), declared);
}
uint64_t NearSlotOffset(const fast::TableLayout& layout, Arch arch,
                        uint32_t declared) {
  // As fast::NativeModule::near_slot places it.
  return layout.near_offset + JumpTableSlotOffset(TraitsOf(arch), declared);
}

TEST(JumpTableLayout, MatchesV8Geometry) {
  WithSelectedApi([]<class Api>(const Api& api) {
    // x64: 8-byte near slots, 16-byte far slots, 10-byte lazy slots, each
    // table 64-aligned.
    const auto x64 = TableLayout(api, Arch::kX64, 3, 121, true);
    EXPECT_EQ(x64.far_offset, 64u);
    EXPECT_EQ(x64.lazy_offset % 64, 0u);
    EXPECT_EQ(x64.lazy_offset, 64u + (121u + 3u) * 16u);
    EXPECT_EQ(TablesEnd(x64), x64.lazy_offset + 64u);
    EXPECT_EQ(NearSlotOffset(x64, Arch::kX64, 2), 16u);
    const auto arm64 = TableLayout(api, Arch::kArm64, 5, 121, false);
    EXPECT_EQ(arm64.far_offset, 32u);
    EXPECT_EQ(TablesEnd(arm64), arm64.lazy_offset);
    // The reference also records each table's size before alignment.
    if constexpr (requires { x64.near_size; }) {
      EXPECT_EQ(x64.near_size, 24u);
      EXPECT_EQ(x64.far_size, (121u + 3u) * 16u);
      EXPECT_EQ(x64.lazy_size, 30u);
      EXPECT_EQ(arm64.near_size, 20u);
      EXPECT_EQ(arm64.lazy_size, 0u);
    }
    // ia32 lines hold 12 five-byte slots and 4 bytes of padding.
    EXPECT_EQ(JumpTableSlotOffset(TraitsOf(Arch::kIa32), 12), 64u);
    EXPECT_EQ(JumpTableSlotOffset(TraitsOf(Arch::kIa32), 13), 69u);
  });
}

// Each implementation's slot writers and readers.
bool WriteNearSlot(ReferenceApi, Arch arch, uint8_t* slot, uint64_t at,
                   uint64_t target) {
  return reference::WriteNearJumpSlot(arch, slot, at, target);
}
bool WriteNearSlot(FastApi, Arch arch, uint8_t* slot, uint64_t at,
                   uint64_t target) {
  return fast::OpsOf(arch).write_near_slot(slot, at, target);
}
void WriteFarSlot(ReferenceApi, Arch arch, uint8_t* slot, uint64_t at,
                  uint64_t target) {
  reference::WriteFarJumpSlot(arch, slot, at, target);
}
void WriteFarSlot(FastApi, Arch arch, uint8_t* slot, uint64_t at,
                  uint64_t target) {
  fast::OpsOf(arch).write_far_slot(slot, at, target);
}
std::optional<uint64_t> ReadNearSlot(ReferenceApi, Arch arch,
                                     const uint8_t* slot, uint64_t at) {
  auto target = reference::ReadNearJumpSlotTarget(arch, slot, at);
  if (!target.ok()) return std::nullopt;
  return *target;
}
std::optional<uint64_t> ReadNearSlot(FastApi, Arch arch, const uint8_t* slot,
                                     uint64_t at) {
  uint64_t target = 0;
  if (!fast::OpsOf(arch).read_near_slot(slot, at, &target)) {
    return std::nullopt;
  }
  return target;
}
// A far slot read where it lies.
std::optional<uint64_t> ReadFarSlot(ReferenceApi, Arch arch,
                                    const uint8_t* slot) {
  auto target = reference::ReadFarJumpSlotTarget(arch, slot);
  if (!target.ok()) return std::nullopt;
  return *target;
}
std::optional<uint64_t> ReadFarSlot(FastApi, Arch arch, const uint8_t* slot) {
  uint64_t target = 0;
  if (!fast::OpsOf(arch).read_far_slot(slot, reinterpret_cast<uintptr_t>(slot),
                                       &target)) {
    return std::nullopt;
  }
  return target;
}

TEST(JumpTable, NearSlotsReachTheirTargetsAndReportOutOfReach) {
  WithSelectedApi([](const auto& api) {
    uint8_t slot[16] = {};
    const uint64_t at = 0x10000000;
    ASSERT_TRUE(WriteNearSlot(api, Arch::kX64, slot, at, at + 0x1000));
    EXPECT_EQ(slot[0], 0xe9);
    EXPECT_EQ(slot[5], 0xcc);
    EXPECT_EQ(ReadNearSlot(api, Arch::kX64, slot, at), at + 0x1000);
    EXPECT_FALSE(WriteNearSlot(api, Arch::kX64, slot, at, at + (1ull << 32)));
    ASSERT_TRUE(
        WriteNearSlot(api, Arch::kArm64, slot, at, at - (128ull << 20)));
    EXPECT_EQ(ReadNearSlot(api, Arch::kArm64, slot, at), at - (128ull << 20));
    EXPECT_FALSE(
        WriteNearSlot(api, Arch::kArm64, slot, at, at + (128ull << 20)));
    WriteFarSlot(api, Arch::kArm64, slot, at, 0x123456789abcdef0);
    EXPECT_EQ(ReadFarSlot(api, Arch::kArm64, slot), 0x123456789abcdef0u);
  });
}

// 32-bit targets keep code below 4 GiB: every byte of the reservation is
// addressable in 4 bytes.
TEST(CodeSpace, AddressLimitKeepsTheWholeSpaceBelowIt) {
  WithSelectedApi([]<class Api>(const Api&) {
    using CodeSpace = typename Api::CodeSpace;
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
  });
}

}  // namespace
}  // namespace wasmcache
