// Real V8 13.6 caches: every fixture verifies, relocates to real addresses
// that point where they should, and serializes back to its canonical form.

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"
#include "reference/byte_io.h"
#include "reference/cache_parser.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "reference/safepoint_table.h"
#include "reference/serializer.h"
#include "fast/arch.h"
#include "fast/deserializer.h"
#include "tests/impl.h"
#include "tests/test_util.h"

namespace wasmcache::testing {
namespace {

using reference::CodeManager;
using reference::ParsedCache;
using reference::PatchedSite;

// The canonical form of a cache, computed from its parse: x64 external
// references lose the upper halves V8 leaves in them; signature tags become
// the smallest type index of their class.
std::vector<uint8_t> Canonical(const LoadedFixture& f, const ParsedCache& p) {
  std::vector<uint8_t> out = f.cache;
  for (const auto& fn : p.functions) {
    for (const PatchedSite& s : fn.sites) {
      const uint64_t at = fn.code_offset() + s.site.field_offset;
      if (s.mode == RelocMode::kExternalReference && f.fixture.arch == Arch::kX64) {
        std::memset(out.data() + at + 4, 0, 4);
      }
      if (s.mode == RelocMode::kWasmCanonicalSigId) {
        uint32_t smallest = static_cast<uint32_t>(s.tag);
        for (uint32_t t = 0; t < f.module.num_types(); ++t) {
          if (f.module.is_signature[t] &&
              f.env.canonical_sig_ids[t] == f.env.canonical_sig_ids[s.tag]) {
            smallest = t;
            break;
          }
        }
        reference::StoreUnaligned(out.data() + at, smallest, s.site.field_size,
                                  TraitsOf(f.fixture.arch).byte_order);
      }
    }
  }
  return out;
}

// Loads and re-serializes with the implementation of this run of the
// suite (tests/impl.h).
std::vector<uint8_t> Relocate(const LoadedFixture& f,
                              absl::Span<const uint8_t> cache) {
  std::vector<uint8_t> bytes;
  const absl::Status status =
      LoadAndSerialize(SelectedImpl(), cache, f.module, f.env, &bytes);
  EXPECT_TRUE(status.ok()) << status;
  return bytes;
}

void CheckRoundTrip(const Fixture& fixture) {
  SCOPED_TRACE(fixture.name);
  const LoadedFixture f = LoadFixture(fixture);
  auto parsed = reference::ParseCache(f.cache, f.module, f.env);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const std::vector<uint8_t> canonical = Canonical(f, *parsed);
  const std::vector<uint8_t> once = Relocate(f, f.cache);
  ASSERT_EQ(once.size(), canonical.size());
  EXPECT_TRUE(once == canonical) << "relocate output differs from the "
                                    "canonical form of the input";
  const std::vector<uint8_t> twice = Relocate(f, once);
  EXPECT_TRUE(twice == once) << "relocating the output again changed it";
}

class CommittedFixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(CommittedFixtureTest, RelocatesToCanonicalFormAndIsIdempotent) {
  CheckRoundTrip(GetParam());
}

// Every relocated site holds the address its tag names, and the jump
// tables lead from each near slot to the function's code.
// The same for the fast implementation, through its own target operations
// and module: every site holds what its tag names, and each function's near
// slot leads to its code.
void CheckFastSitesPointWhereTheirTagsSay(const LoadedFixture& f) {
  auto parsed = reference::ParseCache(f.cache, f.module, f.env);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  fast::CodeManager manager;
  auto m = fast::Deserialize(manager, f.cache, f.module, f.env);
  ASSERT_TRUE(m.ok()) << m.status();
  const fast::NativeModule& native = **m;
  const fast::ArchOps& ops = fast::OpsOf(f.fixture.arch);
  const uint32_t imported = f.module.num_imported_functions;
  size_t checked = 0;
  for (const auto& fn : parsed->functions) {
    if (fn.tag != FunctionTag::kTurboFan) continue;
    const fast::WasmCode* code = native.GetCode(fn.index - imported);
    ASSERT_NE(code, nullptr);
    const uint64_t start = code->instruction_start();
    ASSERT_EQ(manager.LookupCode(start), code);
    ASSERT_EQ(manager.LookupCode(start + code->instructions_size() - 1), code);
    const fast::CodeSpaceInfo* space = native.SpaceOf(start);
    ASSERT_NE(space, nullptr);
    // The near slot of the function (in the code's own space) jumps to it.
    const uint64_t slot = native.near_slot(*space, fn.index - imported);
    uint64_t slot_target = 0;
    ASSERT_TRUE(ops.read_near_slot(reinterpret_cast<const uint8_t*>(slot),
                                   slot, &slot_target));
    EXPECT_EQ(slot_target, start);
    EXPECT_EQ(manager.LookupCode(slot), nullptr) << "a jump table is no code";
    for (const PatchedSite& s : fn.sites) {
      fast::Site site;
      const char* why = nullptr;
      ASSERT_TRUE(ops.locate(code->instructions().data(),
                             code->instructions_size(), s.site.pc, s.mode,
                             static_cast<uint32_t>(
                                 code->header().constant_pool_offset),
                             &site, &why))
          << why;
      const uint64_t target =
          ops.read_target(code->instructions().data(), start, site);
      switch (s.mode) {
        case RelocMode::kWasmCall:
          EXPECT_EQ(target, native.near_slot(*space, static_cast<uint32_t>(
                                                         s.tag - imported)));
          break;
        case RelocMode::kWasmStubCall: {
          EXPECT_EQ(target, native.far_slot(*space, s.far_slot));
          EXPECT_EQ(f.env.far_slot_builtins[s.far_slot], s.tag);
          uint64_t entry = 0;
          ASSERT_TRUE(ops.read_far_slot(
              reinterpret_cast<const uint8_t*>(target), target, &entry));
          EXPECT_EQ(entry, f.env.BuiltinEntry(s.far_slot));
          break;
        }
        case RelocMode::kExternalReference:
          EXPECT_EQ(target, f.env.ExternalReference(
                                static_cast<uint32_t>(s.tag)));
          break;
        case RelocMode::kWasmCanonicalSigId:
          EXPECT_EQ(target, f.env.canonical_sig_ids[s.tag]);
          break;
        case RelocMode::kWasmCodePointerTableEntry:
          EXPECT_EQ(target, f.env.code_pointer_handles[s.tag - imported]);
          break;
        case RelocMode::kInternalReference:
          EXPECT_EQ(target, start + s.tag);
          break;
        default:
          ADD_FAILURE() << "unexpected mode";
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST_P(CommittedFixtureTest, RelocatedSitesPointWhereTheirTagsSay) {
  if (SelectedImpl() != Impl::kReference) {
    CheckFastSitesPointWhereTheirTagsSay(LoadFixture(GetParam()));
    return;
  }
  const LoadedFixture f = LoadFixture(GetParam());
  auto parsed = reference::ParseCache(f.cache, f.module, f.env);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  CodeManager manager;
  auto m = reference::Deserialize(manager, f.cache, f.module, f.env);
  ASSERT_TRUE(m.ok()) << m.status();
  const reference::NativeModule& native_module = **m;
  const Arch arch = f.fixture.arch;
  const uint32_t imported = f.module.num_imported_functions;
  size_t checked = 0;
  for (const auto& fn : parsed->functions) {
    if (fn.tag != FunctionTag::kTurboFan) continue;
    const reference::WasmCode* code = native_module.GetCode(fn.index - imported);
    ASSERT_NE(code, nullptr);
    ASSERT_EQ(manager.LookupCode(code->instruction_start()), code);
    ASSERT_EQ(manager.LookupCode(code->instruction_start() +
                                 code->instructions_size() - 1),
              code);
    // The near slot of the function jumps to its code.
    const uint64_t slot = native_module.NearCallTargetForFunction(
        code->instruction_start(), fn.index - imported);
    auto slot_target = reference::ReadNearJumpSlotTarget(
        arch, reinterpret_cast<const uint8_t*>(slot), slot);
    ASSERT_TRUE(slot_target.ok());
    EXPECT_EQ(*slot_target, code->instruction_start());
    EXPECT_EQ(manager.LookupCode(slot), nullptr) << "a jump table is no code";
    for (const PatchedSite& s : fn.sites) {
      const uint64_t target = reference::ReadTarget(
          arch, code->instructions().data(), code->instruction_start(), s.site);
      switch (s.mode) {
        case RelocMode::kWasmCall: {
          auto callee = native_module.DeclaredIndexFromNearSlot(target);
          ASSERT_TRUE(callee.has_value());
          EXPECT_EQ(*callee + imported, s.tag);
          break;
        }
        case RelocMode::kWasmStubCall: {
          auto far = native_module.BuiltinSlotFromFarSlot(target);
          ASSERT_TRUE(far.has_value());
          EXPECT_EQ(f.env.far_slot_builtins[*far], s.tag);
          auto entry = reference::ReadFarJumpSlotTarget(
              arch, reinterpret_cast<const uint8_t*>(target));
          ASSERT_TRUE(entry.ok());
          EXPECT_EQ(*entry, f.env.builtin_entry_base + uint64_t{*far} * 64);
          break;
        }
        case RelocMode::kExternalReference:
          EXPECT_EQ(target, f.env.external_reference_base + s.tag * 8);
          break;
        case RelocMode::kWasmCanonicalSigId:
          EXPECT_EQ(target, f.env.canonical_sig_ids[s.tag]);
          break;
        case RelocMode::kWasmCodePointerTableEntry:
          EXPECT_EQ(target, f.env.code_pointer_handles[s.tag - imported]);
          break;
        case RelocMode::kInternalReference:
          EXPECT_EQ(target, code->instruction_start() + s.tag);
          break;
        default:
          ADD_FAILURE() << "unexpected mode";
      }
      ++checked;
    }
  }
  // Every fixture has at least the stack-guard stub calls.
  EXPECT_GT(checked, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, CommittedFixtureTest, ::testing::ValuesIn(CommittedFixtures()),
    [](const ::testing::TestParamInfo<Fixture>& info) {
      std::string name = info.param.name;
      std::replace(name.begin(), name.end(), '/', '_');
      return name;
    });

TEST(Corpus, HasBothArchitectures) {
  WASMCACHE_REFERENCE_ONLY("tests the corpus, not a loader");
  size_t x64 = 0, arm64 = 0;
  for (const Fixture& f : CommittedFixtures()) {
    (f.arch == Arch::kX64 ? x64 : arm64) += 1;
  }
  EXPECT_GE(x64, 7u);
  EXPECT_GE(arm64, 7u);
}

// Rebuilt by tools/build-fixtures.sh --large (CI sets
// WASMCACHE_REQUIRE_LARGE=1, so there their absence fails).
TEST(LargeFixtures, RelocateToCanonicalForm) {
  const std::vector<Fixture> large = LargeFixtures();
  if (large.empty()) {
    if (std::getenv("WASMCACHE_REQUIRE_LARGE") != nullptr) {
      FAIL() << "large fixtures missing: run tools/build-fixtures.sh --large";
    }
    GTEST_SKIP() << "large fixtures not built";
  }
  EXPECT_GE(large.size(), 6u);
  for (const Fixture& fixture : large) CheckRoundTrip(fixture);
}

TEST(CodeManagerTest, ModulesUnregisterTheirCodeSpaces) {
  const LoadedFixture f = LoadCommitted("x64/calls");
  if (SelectedImpl() != Impl::kReference) {
    fast::CodeManager manager;
    uint64_t start = 0;
    {
      auto m = fast::Deserialize(manager, f.cache, f.module, f.env);
      ASSERT_TRUE(m.ok()) << m.status();
      EXPECT_EQ(manager.num_code_spaces(), 1u);
      EXPECT_GT(manager.committed_bytes(), 0u);
      start = (*m)->GetCode(0)->instruction_start();
      EXPECT_EQ(manager.LookupNativeModule(start), m->get());
      EXPECT_EQ(manager.LookupCode(start), (*m)->GetCode(0));
    }
    EXPECT_EQ(manager.num_code_spaces(), 0u);
    EXPECT_EQ(manager.LookupNativeModule(start), nullptr);
    EXPECT_EQ(manager.LookupCode(start), nullptr);
    return;
  }
  CodeManager manager;
  uint64_t start = 0;
  {
    auto m = reference::Deserialize(manager, f.cache, f.module, f.env);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(manager.num_code_spaces(), 1u);
    EXPECT_GT(manager.committed_bytes(), 0u);
    start = (*m)->GetCode(0)->instruction_start();
    EXPECT_EQ(manager.LookupNativeModule(start), m->get());
  }
  EXPECT_EQ(manager.num_code_spaces(), 0u);
  EXPECT_EQ(manager.LookupNativeModule(start), nullptr);
  EXPECT_EQ(manager.LookupCode(start), nullptr);
}

}  // namespace
}  // namespace wasmcache::testing

namespace wasmcache::testing {
namespace {

// LookupCodeAndSafepoint: at every return address of a real cache the code
// and its safepoint entry are found (through the lookup cache the second
// time), and the entry's pc is that return address.
// The same with the fast code manager: the entry it finds at every pc of
// every function is the reference's.
void CheckFastSafepointLookup() {
  size_t checked = 0;
  for (const Fixture& fixture : CommittedFixtures()) {
    SCOPED_TRACE(fixture.name);
    const LoadedFixture f = LoadFixture(fixture);
    fast::CodeManager manager;
    auto m = fast::Deserialize(manager, f.cache, f.module, f.env);
    ASSERT_TRUE(m.ok()) << m.status();
    for (uint32_t i = 0; i < f.module.num_declared_functions; ++i) {
      const fast::WasmCode* code = (*m)->GetCode(i);
      if (code == nullptr) continue;
      auto table = reference::SafepointTable::Parse(
          code->instructions(), code->header(), fixture.arch, 0);
      ASSERT_TRUE(table.ok()) << table.status();
      for (uint32_t offset = 0; offset < code->instructions_size(); ++offset) {
        const uint64_t pc = code->instruction_start() + offset;
        auto [found, hit] = manager.LookupCodeAndSafepoint(pc);
        ASSERT_EQ(found, code);
        const auto entry = table->FindEntry(offset);
        ASSERT_EQ(hit.found, entry.has_value()) << "pc offset " << offset;
        if (!entry.has_value()) continue;
        EXPECT_EQ(hit.pc, entry->pc);
        EXPECT_EQ(hit.deopt_index, entry->deopt_index);
        EXPECT_EQ(hit.trampoline_pc, entry->trampoline_pc);
        EXPECT_EQ(hit.tagged_registers, entry->tagged_registers);
        EXPECT_EQ(hit.bitmap_bytes, entry->tagged_slots.size());
        EXPECT_TRUE(std::equal(entry->tagged_slots.begin(),
                               entry->tagged_slots.end(), hit.bitmap));
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 5000u);
}

TEST(SafepointLookup, EveryReturnAddressOfRealCachesFindsItsEntry) {
  if (SelectedImpl() != Impl::kReference) {
    CheckFastSafepointLookup();
    return;
  }
  size_t checked = 0;
  for (const Fixture& fixture : CommittedFixtures()) {
    SCOPED_TRACE(fixture.name);
    const LoadedFixture f = LoadFixture(fixture);
    CodeManager manager;
    auto m = reference::Deserialize(manager, f.cache, f.module, f.env);
    ASSERT_TRUE(m.ok()) << m.status();
    for (uint32_t i = 0; i < f.module.num_declared_functions; ++i) {
      reference::WasmCodeRefScope scope;
      const reference::WasmCode* code = (*m)->GetCode(i);
      if (code == nullptr) continue;
      auto table = reference::SafepointTable::Parse(
          code->instructions(), code->header(), fixture.arch, 0);
      ASSERT_TRUE(table.ok()) << table.status();
      for (const auto& entry : table->entries()) {
        const uint64_t pc = code->instruction_start() + entry.pc;
        const auto before = manager.Metrics();
        for (int round = 0; round < 2; ++round) {
          auto [found, safepoint] = manager.LookupCodeAndSafepoint(pc);
          EXPECT_EQ(found, code);
          ASSERT_TRUE(safepoint.has_value());
          EXPECT_EQ(safepoint->pc, entry.pc);
        }
        const auto after = manager.Metrics();
        EXPECT_EQ(after.lookup_cache_hits, before.lookup_cache_hits + 1);
        ++checked;
      }
      // Before the first call there is no safepoint.
      auto [found, safepoint] =
          manager.LookupCodeAndSafepoint(code->instruction_start());
      EXPECT_EQ(found, code);
      if (table->size() > 0 && table->entry(0).pc > 0) {
        EXPECT_FALSE(safepoint.has_value());
      }
    }
  }
  EXPECT_GT(checked, 500u);
}

}  // namespace
}  // namespace wasmcache::testing
