// CodeManager and NativeModule: where code goes, when it is freed, how a pc
// is resolved, and how reservation, committed-space limits and memory
// pressure behave.
//
// Every test states the invariant it checks in its comment. Modules are
// real V8 13.6 fixtures (tests/test_util.h) or made by hand: a ModuleInfo
// with one signature type, and code without relocation entries (one fill
// byte around an empty safepoint table), which PrepareCompiledCode accepts
// for every target, so the same tests run for x64 and arm64 code spaces.
// Nothing here measures time; bench/lookup_benchmark.cc does.
//
// The suite runs twice (tests/CMakeLists.txt): against the reference and,
// with WASMCACHE_IMPL=fast, against fast::CodeManager. Every case runs
// against the implementation of the run (SelectedImpl()): its body is
// written once, over ReferenceImpl or FastImpl (below), and run by
// WithSelectedImpl; where the two interfaces differ, small overloads
// adapt them. Hand-made modules come from either implementation's
// NewNativeModule and take code through its PrepareCompiledCode,
// AddCompiledCode, PublishCode and RemoveCompiledCode; fixtures load
// through its deserializer. The reference still does side jobs that are
// not under test: decoding jump-table slots, parsing a fixture into a
// batch, and writing the cache of an arm64 module too large for one code
// space, which the fast run loads too (a load across implementations, on
// top of the checks on the fast implementation's own such module).

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <semaphore>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "fast/code_space.h"
#include "fast/deserializer.h"
#include "fast/module.h"
#include "fast/serializer.h"
#include "gtest/gtest.h"
#include "reference/cache_parser.h"
#include "reference/code_manager.h"
#include "reference/code_protection.h"
#include "reference/code_space.h"
#include "reference/deserializer.h"
#include "spec/environment.h"
#include "reference/jump_table.h"
#include "spec/module_info.h"
#include "reference/native_module.h"
#include "reference/serializer.h"
#include "reference/wasm_code.h"
#include "spec/arch.h"
#include "spec/layout.h"
#include "tests/impl.h"
#include "tests/test_util.h"

namespace wasmcache::testing {
namespace {

using absl::StatusCode;
using reference::CodeSpaceEntry;
using reference::JumpTableLayout;
using reference::JumpTablesRef;
using wasmcache::Environment;
using wasmcache::ModuleInfo;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kGiB = uint64_t{1} << 30;

uint64_t PageSize() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string Hex(uint64_t value) { return absl::StrFormat("0x%x", value); }

// --- Hand-made modules and code --------------------------------------------

// A module of `num_declared` functions of one signature type.
ModuleInfo HandModule(uint32_t num_declared, uint32_t num_imported = 0) {
  ModuleInfo module;
  module.num_imported_functions = num_imported;
  module.num_declared_functions = num_declared;
  module.is_signature = {true};
  module.structural_class = {0};
  module.declared_function_types.assign(num_declared, 0);
  return module;
}

// An empty module of `num_declared` functions in `manager`, of either
// implementation.
template <class Manager>
auto NewHandModule(Manager& manager, Arch arch, uint32_t num_declared,
                   uint64_t code_size_estimate) ->
    typename decltype(manager.NewNativeModule(ModuleInfo{}, Environment{},
                                              0))::value_type {
  ModuleInfo module = HandModule(num_declared);
  Environment env = DefaultEnvironment(arch, module);
  auto native_module =
      manager.NewNativeModule(std::move(module), std::move(env),
                              code_size_estimate);
  EXPECT_TRUE(native_module.ok()) << native_module.status();
  if (!native_module.ok()) return nullptr;
  return *std::move(native_module);
}

// One function's code to add: declared index, instruction bytes, tier.
struct CodeSpec {
  uint32_t declared_index = 0;
  uint32_t size = 64;
  uint8_t tier = kTierTurboFan;
  bool for_debugging = false;
  uint8_t fill = 0xcc;  // int3 on x64; any bytes do on arm64 (never run)
};

CodeSpec TurboFan(uint32_t index, uint32_t size = 64) {
  return {index, size, kTierTurboFan, false};
}
CodeSpec Liftoff(uint32_t index, uint32_t size = 64) {
  return {index, size, kTierLiftoff, false};
}
CodeSpec Debug(CodeSpec spec) {
  spec.for_debugging = true;
  return spec;
}

// Every code object carries a safepoint table (the parser insists): an
// empty one, 12 bytes (stack slots 0, no entries, configuration 0), at the
// last 4-aligned offset that fits, then the handler table (empty).
constexpr int32_t kEmptySafepointTableSize = 12;
constexpr uint32_t kMinCodeSize = kEmptySafepointTableSize;

uint32_t SafepointTableOffset(uint32_t size) {
  return (size - kEmptySafepointTableSize) / 4 * 4;
}

using CodeParts = std::array<absl::Span<const uint8_t>, kNumCodeParts>;

// Function `index`'s code (counting imports) checked by the
// PrepareCompiledCode of `m`'s implementation, ready to add to `m`.
absl::StatusOr<reference::CompiledCode> PrepareCode(
    const reference::NativeModule& m, uint32_t index, const CodeHeader& header,
    const CodeParts& parts, bool for_debugging = false) {
  return reference::PrepareCompiledCode(
      m.module(), m.env(), index, header, parts,
      for_debugging ? reference::ForDebugging::kForDebugging
                    : reference::ForDebugging::kNotForDebugging);
}

absl::StatusOr<fast::CompiledCode> PrepareCode(const fast::NativeModule& m,
                                               uint32_t index,
                                               const CodeHeader& header,
                                               const CodeParts& parts,
                                               bool for_debugging = false) {
  return fast::PrepareCompiledCode(
      m.module(), m.env(), index, header, parts,
      for_debugging ? fast::ForDebugging::kForDebugging
                    : fast::ForDebugging::kNotForDebugging);
}

// A module's code object and its code to add, by the module's type.
template <class Module>
using CodeOf =
    std::remove_cvref_t<decltype(*std::declval<const Module&>().GetCode(0))>;
template <class Module>
using CompiledCodeOf =
    typename decltype(PrepareCode(std::declval<const Module&>(), 0,
                                  CodeHeader{}, CodeParts{}))::value_type;

// Makes CompiledCode for a module and keeps the instruction bytes alive
// (one buffer per size and fill, shared by every object that uses it).
template <class Module>
class CodeMaker {
 public:
  using CompiledCode = CompiledCodeOf<Module>;

  explicit CodeMaker(const Module& native_module)
      : native_module_(native_module) {}

  CompiledCode Make(const CodeSpec& spec) {
    const std::vector<uint8_t>& bytes = Bytes(spec.size, spec.fill);
    CodeHeader header;
    const auto size = static_cast<int32_t>(spec.size);
    header.instructions_size = size;
    header.unpadded_binary_size = size;
    header.constant_pool_offset = size;
    header.safepoint_table_offset =
        static_cast<int32_t>(SafepointTableOffset(spec.size));
    header.handler_table_offset =
        header.safepoint_table_offset + kEmptySafepointTableSize;
    header.code_comments_offset = size;
    header.kind = kWasmFunctionKind;
    header.tier = spec.tier;
    CodeParts parts{};
    parts[static_cast<int>(CodePart::kInstructions)] = bytes;
    auto code = PrepareCode(
        native_module_,
        native_module_.module().num_imported_functions + spec.declared_index,
        header, parts, spec.for_debugging);
    if (!code.ok()) {
      ADD_FAILURE() << "hand-made code rejected: " << code.status();
      return {};
    }
    return *std::move(code);
  }

  std::vector<CompiledCode> Batch(const std::vector<CodeSpec>& specs) {
    std::vector<CompiledCode> batch;
    for (const CodeSpec& spec : specs) batch.push_back(Make(spec));
    return batch;
  }

  // The instruction bytes of every object of this size and fill: the fill,
  // with the empty safepoint table near the end.
  const std::vector<uint8_t>& Bytes(uint32_t size, uint8_t fill) {
    auto [it, inserted] = bytes_.try_emplace({size, fill});
    if (inserted && size >= kMinCodeSize) {
      it->second.assign(size, fill);
      std::fill_n(it->second.begin() + SafepointTableOffset(size),
                  kEmptySafepointTableSize, 0);
    }
    return it->second;
  }

 private:
  const Module& native_module_;
  std::map<std::pair<uint32_t, uint8_t>, std::vector<uint8_t>> bytes_;
};

template <class Module>
absl::StatusOr<std::vector<std::unique_ptr<CodeOf<Module>>>> Add(
    Module& native_module, CodeMaker<Module>& maker,
    const std::vector<CodeSpec>& specs) {
  const auto batch = maker.Batch(specs);
  for (const auto& code : batch) {
    // A rejected spec (reported by Make) is not passed on.
    if (code.part(CodePart::kInstructions).empty()) {
      return absl::InternalError("test: a hand-made code object was rejected");
    }
  }
  return native_module.AddCompiledCode(batch);
}

// Adds and publishes one batch; every object must be installed.
template <class Module>
std::vector<CodeOf<Module>*> AddAndPublish(Module& native_module,
                                           CodeMaker<Module>& maker,
                                           const std::vector<CodeSpec>& specs) {
  auto added = Add(native_module, maker, specs);
  EXPECT_TRUE(added.ok()) << added.status();
  if (!added.ok()) return {};
  std::vector<CodeOf<Module>*> published =
      native_module.PublishCode(std::move(*added));
  for (const CodeOf<Module>* code : published) EXPECT_NE(code, nullptr);
  return published;
}

// --- Jump-table slots --------------------------------------------------------

uint64_t NearSlotAddress(const reference::NativeModule& m,
                         const CodeSpaceEntry& space,
                         uint32_t declared_index) {
  return space.tables_address() +
         space.layout.NearSlotOffset(m.traits(), declared_index);
}

uint64_t FarFunctionSlotAddress(const reference::NativeModule& m,
                                const CodeSpaceEntry& space,
                                uint32_t declared_index) {
  return space.tables_address() +
         space.layout.FarSlotOffset(
             m.traits(), space.layout.num_far_builtin_slots + declared_index);
}

// Where the near slot at `near` leads: its target, or the target of the
// far slot at `far` when the near slot jumps there (`far` 0: the space has
// no far slots for functions). 0 if a slot does not decode.
uint64_t ResolvedSlotTarget(Arch arch, uint64_t near, uint64_t far) {
  auto target = reference::ReadNearJumpSlotTarget(
      arch, reinterpret_cast<const uint8_t*>(near), near);
  if (!target.ok()) return 0;
  if (far != 0 && *target == far) {
    auto far_target = reference::ReadFarJumpSlotTarget(
        arch, reinterpret_cast<const uint8_t*>(far));
    return far_target.ok() ? *far_target : 0;
  }
  return *target;
}

// The near slot of `declared_index` in every code space leads to `target`.
void ExpectSlotsLeadTo(const reference::NativeModule& m,
                       uint32_t declared_index,
                       uint64_t target) {
  for (const CodeSpaceEntry* space : m.code_spaces()) {
    const uint64_t far =
        space->layout.num_far_function_slots == 0
            ? 0
            : FarFunctionSlotAddress(m, *space, declared_index);
    EXPECT_EQ(ResolvedSlotTarget(
                  m.arch(), NearSlotAddress(m, *space, declared_index), far),
              target)
        << "function " << declared_index << " in the space at "
        << Hex(space->space->start_address());
  }
}

// The same for a module of the fast implementation.
void ExpectSlotsLeadTo(const fast::NativeModule& m, uint32_t declared_index,
                       uint64_t target) {
  const auto builtins = static_cast<uint32_t>(m.env().far_slot_builtins.size());
  for (const fast::CodeSpaceInfo& space : m.code_spaces()) {
    const uint64_t far = m.traits().far_jumps_between_code_spaces
                             ? m.far_slot(space, builtins + declared_index)
                             : 0;
    EXPECT_EQ(
        ResolvedSlotTarget(m.arch(), m.near_slot(space, declared_index), far),
        target)
        << "function " << declared_index << " in the space at "
        << Hex(space.start());
  }
}

// --- Real fixtures -----------------------------------------------------------

// The TurboFan records of a parsed cache as a batch for `m`, as the
// deserializer builds it. Spans point into the fixture's cache bytes.
std::vector<reference::CompiledCode> BatchOf(
    const reference::NativeModule& /*m*/,
    const reference::ParsedCache& parsed) {
  std::vector<reference::CompiledCode> batch;
  for (const reference::ParsedFunction& fn : parsed.functions) {
    if (fn.tag != FunctionTag::kTurboFan) continue;
    reference::CompiledCode code;
    code.index = fn.index;
    code.header = fn.header;
    code.parts = fn.parts;
    code.sites = fn.sites;
    code.file_offset = fn.code_offset();
    batch.push_back(std::move(code));
  }
  return batch;
}

// The same for a fast module: each record's header and parts go through
// fast::PrepareCompiledCode, so that the fast implementation's own checks
// and site analysis run.
std::vector<fast::CompiledCode> BatchOf(const fast::NativeModule& m,
                                        const reference::ParsedCache& parsed) {
  std::vector<fast::CompiledCode> batch;
  for (const reference::ParsedFunction& fn : parsed.functions) {
    if (fn.tag != FunctionTag::kTurboFan) continue;
    auto code = PrepareCode(m, fn.index, fn.header, fn.parts);
    EXPECT_TRUE(code.ok()) << "function " << fn.index << ": " << code.status();
    if (!code.ok()) continue;
    code->file_offset = fn.code_offset();
    batch.push_back(*std::move(code));
  }
  return batch;
}

// --- The implementation under test ------------------------------------------

// Cases that run against both implementations are written once over one
// of these: the code manager's types, how a cache becomes a module and
// how a module becomes a cache. Where the two interfaces differ in more
// than the namespace, overloads below adapt them.
struct ReferenceImpl {
  using Manager = reference::CodeManager;
  using Options = reference::CodeManagerOptions;
  using Metrics = reference::CodeManagerMetrics;
  using Module = reference::NativeModule;
  using Code = reference::WasmCode;
  using CodeRefScope = reference::WasmCodeRefScope;
  using Space = reference::CodeSpace;
  using Protection = reference::CodeProtection;
  using WriteScope = reference::CodeWriteScope;

  absl::StatusOr<std::unique_ptr<Module>> Load(Manager& manager,
                                               absl::Span<const uint8_t> cache,
                                               const ModuleInfo& module,
                                               const Environment& env) const {
    return reference::Deserialize(manager, cache, module, env);
  }

  absl::StatusOr<std::vector<uint8_t>> Serialize(const Module& m) const {
    return reference::Serializer(m).Serialize();
  }
};

struct FastImpl {
  using Manager = fast::CodeManager;
  using Options = fast::CodeManagerOptions;
  using Metrics = fast::CodeManagerMetrics;
  using Module = fast::NativeModule;
  using Code = fast::WasmCode;
  using CodeRefScope = fast::WasmCodeRefScope;
  using Space = fast::CodeSpace;
  using Protection = fast::CodeProtection;
  using WriteScope = fast::CodeWriteScope;

  fast::LoadOptions options;

  absl::StatusOr<std::unique_ptr<Module>> Load(Manager& manager,
                                               absl::Span<const uint8_t> cache,
                                               const ModuleInfo& module,
                                               const Environment& env) const {
    return fast::Deserialize(manager, cache, module, env, options);
  }

  absl::StatusOr<fast::Bytes> Serialize(const Module& m) const {
    return fast::Serializer(m, options).Serialize();
  }
};

// In a body written once over an implementation `I` (a template lambda
// that WithSelectedImpl runs): `I`'s types under the names both
// implementations give them.
#define CODE_MANAGER_TYPES_OF(I)                                           \
  using CodeManager [[maybe_unused]] = typename I::Manager;                \
  using CodeManagerOptions [[maybe_unused]] = typename I::Options;         \
  using CodeManagerMetrics [[maybe_unused]] = typename I::Metrics;         \
  using NativeModule [[maybe_unused]] = typename I::Module;                \
  using RemoveFilter [[maybe_unused]] = typename I::Module::RemoveFilter;  \
  using WasmCode [[maybe_unused]] = typename I::Code;                      \
  using WasmCodeRefScope [[maybe_unused]] = typename I::CodeRefScope;      \
  using CodeSpace [[maybe_unused]] = typename I::Space;                    \
  using CodeProtection [[maybe_unused]] = typename I::Protection;          \
  using CodeWriteScope [[maybe_unused]] = typename I::WriteScope

// Loads a fixture with `impl`.
template <class I>
absl::StatusOr<std::unique_ptr<typename I::Module>> Load(
    const I& impl, typename I::Manager& manager, const LoadedFixture& f) {
  return impl.Load(manager, f.cache, f.module, f.env);
}

// The fast implementation as `impl` runs it (on one thread for "fast1").
FastImpl FastImplOf(Impl impl) {
  FastImpl fast_impl;
  fast_impl.options.max_threads = impl == Impl::kFastOneThread ? 1 : 0;
  return fast_impl;
}

// Runs `body(impl)` with the implementation this run tests
// (tests/impl.h).
template <class Body>
void WithSelectedImpl(Body body) {
  const Impl impl = SelectedImpl();
  if (impl == Impl::kReference) {
    body(ReferenceImpl{});
  } else {
    body(FastImplOf(impl));
  }
}

// Where the two interfaces differ.

struct CodeSpaceRange {
  uint64_t start;
  uint64_t end;
  uint64_t near_table;  // the space's first near jump-table slot
  uint64_t tables;      // the space's block of jump tables
  uint64_t tables_end;

  bool contains(uint64_t pc) const { return pc >= start && pc < end; }
};

CodeSpaceRange CodeSpaceRangeOf(const reference::NativeModule& m,
                                const CodeSpaceEntry& space) {
  return {space.space->start_address(), space.space->end_address(),
          NearSlotAddress(m, space, 0), space.tables_address(),
          space.tables_address() + space.layout.total_size};
}

CodeSpaceRange CodeSpaceRangeOf(const fast::NativeModule& m,
                                const fast::CodeSpaceInfo& space) {
  // The tables are [0, tables_end) of the space (fast/module.h).
  return {space.start(), space.start() + space.size, m.near_slot(space, 0),
          space.start(), space.start() + space.tables_end};
}

std::vector<CodeSpaceRange> CodeSpaceRanges(const reference::NativeModule& m) {
  std::vector<CodeSpaceRange> ranges;
  for (const CodeSpaceEntry* space : m.code_spaces()) {
    ranges.push_back(CodeSpaceRangeOf(m, *space));
  }
  return ranges;
}

std::vector<CodeSpaceRange> CodeSpaceRanges(const fast::NativeModule& m) {
  std::vector<CodeSpaceRange> ranges;
  for (const fast::CodeSpaceInfo& space : m.code_spaces()) {
    ranges.push_back(CodeSpaceRangeOf(m, space));
  }
  return ranges;
}

// The code space of `m` that holds `pc`, if any.
template <class Module>
std::optional<CodeSpaceRange> SpaceContaining(const Module& m, uint64_t pc) {
  for (const CodeSpaceRange& space : CodeSpaceRanges(m)) {
    if (space.contains(pc)) return space;
  }
  return std::nullopt;
}

// Gives a module made empty the global header its environment expects, so
// that it serializes.
void SetExpectedGlobalHeader(reference::NativeModule& m) {
  m.global_header.magic = *m.env().expected_header[0];
  m.global_header.version_hash = *m.env().expected_header[1];
}
void SetExpectedGlobalHeader(fast::NativeModule& m) {
  GlobalHeader header = m.global_header();
  header.magic = *m.env().expected_header[0];
  header.version_hash = *m.env().expected_header[1];
  m.set_global_header(header);
}

uint64_t ReservedBytes(const reference::CodeManager& manager) {
  return manager.Metrics().reserved_code_space;
}
uint64_t ReservedBytes(const fast::CodeManager& manager) {
  return manager.reserved_bytes();
}

uint64_t NumNativeModules(const reference::CodeManager& manager) {
  return manager.Metrics().num_native_modules;
}
uint64_t NumNativeModules(const fast::CodeManager& manager) {
  return manager.num_native_modules();
}

// The static sizing functions of the implementation under test.
uint64_t OverheadPerCodeSpace(Arch arch, uint32_t num_declared,
                              uint32_t num_builtins) {
  return SelectedImpl() == Impl::kReference
             ? reference::CodeManager::OverheadPerCodeSpace(
                   arch, num_declared, num_builtins)
             : fast::CodeManager::OverheadPerCodeSpace(arch, num_declared,
                                                       num_builtins);
}

absl::StatusOr<uint64_t> ReservationSize(Arch arch, uint64_t estimate,
                                         uint32_t num_declared,
                                         uint32_t num_builtins,
                                         uint64_t total_reserved) {
  return SelectedImpl() == Impl::kReference
             ? reference::CodeManager::ReservationSize(
                   arch, estimate, num_declared, num_builtins, total_reserved)
             : fast::CodeManager::ReservationSize(arch, estimate, num_declared,
                                                  num_builtins, total_reserved);
}

template <class Module>
struct LoadedModule {
  LoadedFixture fixture;
  std::unique_ptr<Module> native_module;
};

template <class I>
std::vector<LoadedModule<typename I::Module>> LoadAll(
    const I& impl, typename I::Manager& manager,
    const std::vector<Fixture>& fixtures) {
  std::vector<LoadedModule<typename I::Module>> loaded;
  for (const Fixture& fixture : fixtures) {
    LoadedModule<typename I::Module> l{LoadFixture(fixture), nullptr};
    auto m = Load(impl, manager, l.fixture);
    EXPECT_TRUE(m.ok()) << fixture.name << ": " << m.status();
    if (!m.ok()) continue;
    l.native_module = *std::move(m);
    loaded.push_back(std::move(l));
  }
  return loaded;
}

template <class Module>
std::vector<Module*> ModulesOf(
    const std::vector<LoadedModule<Module>>& loaded) {
  std::vector<Module*> modules;
  for (const LoadedModule<Module>& l : loaded) {
    modules.push_back(l.native_module.get());
  }
  return modules;
}

// The committed fixtures named (e.g. "x64/many"), in that order.
std::vector<Fixture> CommittedFixturesNamed(
    const std::vector<std::string>& names) {
  std::vector<Fixture> named;
  const std::vector<Fixture> all = CommittedFixtures();
  for (const std::string& name : names) {
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const Fixture& f) { return f.name == name; });
    EXPECT_NE(it, all.end()) << "no committed fixture " << name;
    if (it != all.end()) named.push_back(*it);
  }
  return named;
}

// ============================================================================
// Allocation
// ============================================================================

class CodeManagerAllocationPerTargetTest : public ::testing::TestWithParam<Arch> {};

// Invariant: code regions of live objects never overlap each other or any
// jump table, start at the target's kCodeAlignment, lie wholly inside one
// code space registered with the manager, and keep their bytes while other
// objects come and go. Batches of random sizes (fixed seed) add new
// functions or replace earlier ones (which frees the replaced code).
TEST_P(CodeManagerAllocationPerTargetTest, LiveCodeNeverOverlapsAndStaysAlignedInsideItsSpace) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    const Arch arch = GetParam();
    const ArchTraits& traits = TraitsOf(arch);
    CodeManager manager;
    constexpr uint32_t kFunctions = 400;
    auto native_module = NewHandModule(manager, arch, kFunctions, 16 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    std::mt19937 rng(0x5eed);
    std::vector<bool> has_code(kFunctions, false);
    std::vector<uint8_t> fill_of(kFunctions, 0);
    uint32_t next_new = 0;
    for (int round = 0; round < 60; ++round) {
      std::vector<CodeSpec> specs;
      std::vector<bool> in_batch(kFunctions, false);
      const int count = std::uniform_int_distribution<int>(1, 12)(rng);
      for (int k = 0; k < count; ++k) {
        uint32_t index;
        if (next_new < kFunctions && (round % 3 != 2 || next_new == 0)) {
          index = next_new++;
        } else {
          index =
              std::uniform_int_distribution<uint32_t>(0, next_new - 1)(rng);
          if (in_batch[index]) continue;
        }
        in_batch[index] = true;
        CodeSpec spec = TurboFan(
            index, std::uniform_int_distribution<uint32_t>(16, 6000)(rng));
        // A fill per function and round lets a stray write show.
        spec.fill = static_cast<uint8_t>(index * 7 + round);
        specs.push_back(spec);
      }
      std::vector<WasmCode*> published =
          AddAndPublish(*native_module, maker, specs);
      ASSERT_EQ(published.size(), specs.size());
      for (const CodeSpec& spec : specs) {
        has_code[spec.declared_index] = true;
        fill_of[spec.declared_index] = spec.fill;
      }
    }

    std::vector<std::pair<WasmCode*, uint8_t>> live;
    for (uint32_t i = 0; i < kFunctions; ++i) {
      WasmCode* code = native_module->GetCode(i);
      ASSERT_EQ(code != nullptr, has_code[i]) << "function " << i;
      if (code != nullptr) live.push_back({code, fill_of[i]});
    }
    EXPECT_EQ(native_module->num_owned_code(), live.size())
        << "replaced code is freed, not kept";
    const std::vector<CodeSpaceRange> spaces = CodeSpaceRanges(*native_module);
    EXPECT_GE(spaces.size(), 2u) << "the small first space overflowed";
    EXPECT_EQ(manager.num_code_spaces(), spaces.size());
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
      return a.first->instruction_start() < b.first->instruction_start();
    });
    uint64_t previous_end = 0;
    for (const auto& [code, expected_fill] : live) {
      const uint8_t fill = expected_fill;
      const uint64_t start = code->instruction_start();
      const uint64_t end = start + code->instructions_size();
      SCOPED_TRACE(absl::StrFormat("function %d at [%s, %s)", code->index(),
                                   Hex(start), Hex(end)));
      EXPECT_EQ(start % traits.code_alignment, 0u);
      EXPECT_GE(start, previous_end) << "overlaps the previous object";
      previous_end = end;
      const std::optional<CodeSpaceRange> space =
          SpaceContaining(*native_module, start);
      ASSERT_TRUE(space.has_value())
          << "outside every code space of the module";
      EXPECT_TRUE(space->contains(end - 1)) << "straddles a space end";
      EXPECT_EQ(manager.LookupNativeModule(start), native_module.get());
      for (const CodeSpaceRange& other : spaces) {
        EXPECT_TRUE(end <= other.tables || start >= other.tables_end)
            << "overlaps the jump tables at " << Hex(other.tables);
      }
      EXPECT_TRUE(code->instructions() ==
                  absl::MakeConstSpan(
                      maker.Bytes(code->instructions_size(), fill)))
          << "code bytes changed after they were written";
      // Its slots in every space lead to it.
      ExpectSlotsLeadTo(*native_module,
                        code->index() -
                            native_module->module().num_imported_functions,
                        start);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Targets, CodeManagerAllocationPerTargetTest,
                         ::testing::Values(Arch::kX64, Arch::kArm64),
                         [](const auto& test_info) {
                           return std::string(ArchName(test_info.param));
                         });

// Invariant: removed code with no reference left is freed at once: its
// bytes count in freed_code_size (module and manager), the next batch is
// placed first fit into the freed region, and every page that became
// wholly free is decommitted (committed bytes return to the jump tables'
// pages).
TEST(CodeManagerAllocationTest, FreedCodeIsReusedAndWholeFreePagesAreDecommitted) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 32, 256 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const uint64_t tables_committed = manager.committed_bytes();
    const CodeManagerMetrics before = manager.Metrics();
    ASSERT_EQ(before.freed_code_size, 0u);

    std::vector<CodeSpec> first;
    for (uint32_t i = 0; i < 8; ++i) first.push_back(TurboFan(i, 8000));
    const std::vector<WasmCode*> old =
        AddAndPublish(*native_module, maker, first);
    ASSERT_EQ(old.size(), 8u);
    const uint64_t old_start = old.front()->instruction_start();
    EXPECT_GE(manager.committed_bytes(), tables_committed + 15 * PageSize());
    EXPECT_EQ(manager.Metrics().generated_code_size, 8u * 8000u);

    EXPECT_EQ(
        native_module->RemoveCompiledCode(RemoveFilter::kRemoveTurbofanCode),
        8u);
    EXPECT_EQ(native_module->num_owned_code(), 0u) << "nothing holds the code";
    EXPECT_EQ(native_module->freed_code_size(), 8u * 8000u);
    const CodeManagerMetrics after = manager.Metrics();
    EXPECT_EQ(after.freed_code_size - before.freed_code_size, 8u * 8000u);
    EXPECT_EQ(after.generated_code_size, 0u);
    EXPECT_EQ(manager.committed_bytes(), tables_committed)
        << "pages wholly freed must be decommitted, the tables' kept";
    EXPECT_EQ(native_module->committed_code_space(), tables_committed);

    const std::vector<WasmCode*> reused =
        AddAndPublish(*native_module, maker,
                      {TurboFan(8, 3000), TurboFan(9, 3000),
                       TurboFan(10, 100)});
    ASSERT_EQ(reused.size(), 3u);
    EXPECT_EQ(reused[0]->instruction_start(), old_start)
        << "the freed region is the first fit";
    EXPECT_EQ(reused[1]->instruction_start(), old_start + RoundUp(3000, 64));
    EXPECT_EQ(manager.LookupCode(old_start), reused[0]);
  });
}

// Invariant: code objects of one batch share the batch's region but are
// freed one by one; freeing one must keep every page that a live object
// (or the jump tables) still uses committed, and decommit exactly the
// pages that became wholly free.
TEST(CodeManagerAllocationTest, FreeingPartOfABatchKeepsPagesOfItsNeighboursCommitted) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    const uint64_t page = PageSize();
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 4, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const uint64_t tables_committed = manager.committed_bytes();
    // Two objects of two pages each, one Liftoff and one TurboFan, so a
    // filter can remove one of them.
    const std::vector<WasmCode*> codes = AddAndPublish(
        *native_module, maker,
        {Liftoff(0, static_cast<uint32_t>(2 * page)),
         TurboFan(1, static_cast<uint32_t>(2 * page))});
    ASSERT_EQ(codes.size(), 2u);
    const uint64_t a_start = codes[0]->instruction_start();
    const uint64_t b_start = codes[1]->instruction_start();
    const uint64_t b_end = b_start + 2 * page;
    const uint64_t base = CodeSpaceRanges(*native_module)[0].start;
    // Pages touched by the tables and the two objects.
    const uint64_t used_pages = (b_end - base + page - 1) / page;
    ASSERT_EQ(manager.committed_bytes(), used_pages * page);
    // Pages that hold nothing but A: those wholly inside [a_start, b_start).
    const uint64_t a_only_pages =
        (b_start / page * page - RoundUp(a_start, page)) / page;

    ASSERT_EQ(
        native_module->RemoveCompiledCode(RemoveFilter::kRemoveLiftoffCode),
        1u);
    ASSERT_EQ(native_module->num_owned_code(), 1u);
    ASSERT_EQ(manager.committed_bytes(), (used_pages - a_only_pages) * page)
        << "freeing A decommitted a page that B or the tables still use";
    EXPECT_TRUE(codes[1]->instructions() ==
                absl::MakeConstSpan(
                    maker.Bytes(static_cast<uint32_t>(2 * page), 0xcc)))
        << "B's bytes changed when A was freed";
    // The tables survived too: both slots still decode.
    ExpectSlotsLeadTo(*native_module, 0, native_module->lazy_slot_address(0));
    ExpectSlotsLeadTo(*native_module, 1, b_start);

    ASSERT_EQ(
        native_module->RemoveCompiledCode(RemoveFilter::kRemoveTurbofanCode),
        1u);
    EXPECT_EQ(manager.committed_bytes(), tables_committed);
    ExpectSlotsLeadTo(*native_module, 0, native_module->lazy_slot_address(0));
    ExpectSlotsLeadTo(*native_module, 1, native_module->lazy_slot_address(1));
  });
}

// Invariant: every code object has an address of its own. Code shorter
// than an empty safepoint table (12 bytes), empty code included, never
// gets as far as AddCompiledCode: PrepareCompiledCode rejects it as the
// cache parser does, so no two objects of a batch share a start address
// (and an entry of the module's code map).
TEST(CodeManagerAllocationTest, CodeTooShortForASafepointTableIsRejected) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 4, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    for (uint32_t size : {0u, 1u, kMinCodeSize - 1}) {
      CodeHeader header;
      header.instructions_size = static_cast<int32_t>(size);
      header.unpadded_binary_size = static_cast<int32_t>(size);
      header.tier = kTierTurboFan;
      const std::vector<uint8_t> bytes(size, 0);
      CodeParts parts{};
      parts[static_cast<int>(CodePart::kInstructions)] = bytes;
      auto code = PrepareCode(*native_module, 0, header, parts);
      EXPECT_EQ(code.status().code(), StatusCode::kDataLoss)
          << size << " bytes: " << code.status();
    }
    CodeMaker maker(*native_module);
    const std::vector<WasmCode*> codes = AddAndPublish(
        *native_module, maker,
        {TurboFan(0, kMinCodeSize), TurboFan(1, kMinCodeSize),
         TurboFan(2, kMinCodeSize)});
    ASSERT_EQ(codes.size(), 3u);
    EXPECT_LT(codes[0]->instruction_start(), codes[1]->instruction_start());
    EXPECT_LT(codes[1]->instruction_start(), codes[2]->instruction_start());
    EXPECT_EQ(native_module->num_owned_code(), 3u);
  });
}

// ============================================================================
// Lookup
// ============================================================================

// The truth about a pc, computed from the modules' code tables and code
// spaces without the manager's map or cache.
template <class Module>
class PcOracle {
 public:
  using Code =
      std::remove_cvref_t<decltype(*std::declval<Module&>().GetCode(0))>;

  explicit PcOracle(const std::vector<Module*>& modules) {
    for (Module* m : modules) {
      size_t owned = 0;
      for (uint32_t i = 0; i < m->module().num_declared_functions; ++i) {
        if (const Code* code = m->GetCode(i)) {
          codes_.push_back(code);
          ++owned;
        }
      }
      EXPECT_EQ(m->num_owned_code(), owned) << "all owned code is published";
      for (const CodeSpaceRange& space : CodeSpaceRanges(*m)) {
        spaces_.push_back({space.start, space.end, m});
      }
    }
    std::sort(codes_.begin(), codes_.end(), [](const Code* a, const Code* b) {
      return a->instruction_start() < b->instruction_start();
    });
  }

  const std::vector<const Code*>& codes() const { return codes_; }

  const Code* CodeAt(uint64_t pc) const {
    auto it = std::upper_bound(
        codes_.begin(), codes_.end(), pc,
        [](uint64_t p, const Code* c) { return p < c->instruction_start(); });
    if (it == codes_.begin()) return nullptr;
    --it;
    return (*it)->contains(pc) ? *it : nullptr;
  }

  Module* ModuleAt(uint64_t pc) const {
    for (const SpaceRange& s : spaces_) {
      if (pc >= s.start && pc < s.end) return s.module;
    }
    return nullptr;
  }

 private:
  struct SpaceRange {
    uint64_t start;
    uint64_t end;
    Module* module;
  };
  std::vector<const Code*> codes_;
  std::vector<SpaceRange> spaces_;
};

// Checks LookupCode, LookupNativeModule and NativeModule::Lookup at
// start - 1, start, end - 1 and end of every code object, twice (in the
// reference, the second pass is answered from the lookup cache where it
// hits).
template <class Manager, class Module>
void CheckEveryCodeBoundary(const Manager& manager,
                            const std::vector<Module*>& modules) {
  const PcOracle<Module> oracle(modules);
  ASSERT_FALSE(oracle.codes().empty());
  int failures = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto* code : oracle.codes()) {
      const uint64_t start = code->instruction_start();
      const uint64_t end = start + code->instructions_size();
      for (const uint64_t pc : {start - 1, start, end - 1, end}) {
        const auto* expected_code = oracle.CodeAt(pc);
        const Module* expected_module = oracle.ModuleAt(pc);
        const auto* found = manager.LookupCode(pc);
        const Module* found_module = manager.LookupNativeModule(pc);
        const auto* direct =
            expected_module == nullptr ? nullptr : expected_module->Lookup(pc);
        if ((found != expected_code || found_module != expected_module ||
             direct != expected_code) &&
            ++failures <= 10) {
          ADD_FAILURE() << "pass " << pass << " pc " << Hex(pc)
                        << " (function " << code->index() << " at ["
                        << Hex(start) << ", " << Hex(end) << "))"
                        << ": LookupCode " << found << " expected "
                        << expected_code << ", LookupNativeModule "
                        << found_module << " expected " << expected_module
                        << ", Lookup " << direct;
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

// Invariant: with every committed x64 and arm64 fixture loaded into one
// manager, a pc resolves to the code object containing it and to the
// module whose code space contains it (nothing else), at the first and
// last byte of every object and one byte outside each end.
TEST(CodeManagerLookupTest, EveryPcAtTheEdgesOfEveryCommittedFixtureCodeObject) {
  WithSelectedImpl([](const auto& impl) {
    typename std::decay_t<decltype(impl)>::Manager manager;
    const auto loaded = LoadAll(impl, manager, CommittedFixtures());
    ASSERT_EQ(loaded.size(), CommittedFixtures().size());
    bool x64 = false;
    bool arm64 = false;
    for (const auto& l : loaded) {
      x64 |= l.fixture.fixture.arch == Arch::kX64;
      arm64 |= l.fixture.fixture.arch == Arch::kArm64;
    }
    ASSERT_TRUE(x64 && arm64);
    CheckEveryCodeBoundary(manager, ModulesOf(loaded));
  });
}

// The same on the large fixtures (build/fixtures-large).
// Skipped when they were not built, unless WASMCACHE_REQUIRE_LARGE is set
// (CI), which makes their absence a failure.
TEST(CodeManagerLookupTest, EveryPcAtTheEdgesOfEveryLargeFixtureCodeObject) {
  const std::vector<Fixture> large = LargeFixtures();
  if (large.empty()) {
    if (std::getenv("WASMCACHE_REQUIRE_LARGE") != nullptr) {
      FAIL() << "WASMCACHE_REQUIRE_LARGE is set but build/fixtures-large holds "
                "no fixture (run tools/build-fixtures.sh --large)";
    }
    GTEST_SKIP() << "no large fixtures (tools/build-fixtures.sh --large); set "
                    "WASMCACHE_REQUIRE_LARGE to make this a failure";
  }
  WithSelectedImpl([&](const auto& impl) {
    typename std::decay_t<decltype(impl)>::Manager manager;
    const auto loaded = LoadAll(impl, manager, large);
    ASSERT_EQ(loaded.size(), large.size());
    CheckEveryCodeBoundary(manager, ModulesOf(loaded));
  });
}

// Invariant: the lookup cache never answers with freed code. Over many
// rounds, pcs of every object are looked up (filling the cache), then part
// or all of the code is freed by replacement or removal; a second lookup
// of each pc misses the cache (it was flushed) and finds exactly the code
// that contains the pc now, or nothing. Metrics count one miss for the
// first lookup of a pc after a flush and one hit for an immediate repeat.
TEST(CodeManagerLookupTest, TheCacheNeverReturnsFreedCode) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManager manager;
    constexpr uint32_t kFunctions = 48;
    auto native_module =
        NewHandModule(manager, Arch::kX64, kFunctions, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    std::mt19937 rng(42);
    auto random_size = [&] {
      return std::uniform_int_distribution<uint32_t>(16, 700)(rng);
    };
    std::vector<CodeSpec> all;
    for (uint32_t i = 0; i < kFunctions; ++i) {
      all.push_back(TurboFan(i, random_size()));
    }
    AddAndPublish(*native_module, maker, all);

    for (int round = 0; round < 40; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      // Distinct pcs: first, middle and last byte of each object.
      std::vector<uint64_t> pcs;
      for (uint32_t i = 0; i < kFunctions; ++i) {
        if (const WasmCode* code = native_module->GetCode(i)) {
          const uint64_t start = code->instruction_start();
          const uint32_t size = code->instructions_size();
          pcs.push_back(start);
          if (size > 2) pcs.push_back(start + size / 2);
          if (size > 1) pcs.push_back(start + size - 1);
        }
      }
      // Fill the cache: a first lookup of each pc, then an immediate repeat
      // (a hit: same pc, same slot).
      std::map<uint64_t, WasmCode*> cached;
      CodeManagerMetrics m0 = manager.Metrics();
      for (uint64_t pc : pcs) {
        WasmCode* first = manager.LookupCode(pc);
        ASSERT_NE(first, nullptr);
        ASSERT_EQ(manager.LookupCode(pc), first);
        cached[pc] = first;
      }
      CodeManagerMetrics m1 = manager.Metrics();
      // Every repeat hits; a first lookup hits only if a previous round
      // cached the pc and nothing was freed since.
      const uint64_t hits = m1.lookup_cache_hits - m0.lookup_cache_hits;
      EXPECT_GE(hits, pcs.size());
      EXPECT_EQ(hits + m1.lookup_cache_misses - m0.lookup_cache_misses,
                2 * pcs.size());

      // Free code: remove everything, or replace a random subset.
      if (round % 4 == 3) {
        size_t published = 0;
        for (uint32_t i = 0; i < kFunctions; ++i) {
          published += native_module->HasCode(i);
        }
        ASSERT_EQ(native_module->RemoveCompiledCode(
                      RemoveFilter::kRemoveTurbofanCode),
                  published);
      } else {
        std::vector<CodeSpec> replacements;
        for (uint32_t i = 0; i < kFunctions; ++i) {
          if (!native_module->HasCode(i) || rng() % 2 == 0) {
            replacements.push_back(TurboFan(i, random_size()));
          }
        }
        if (replacements.empty()) {
          replacements.push_back(TurboFan(0, random_size()));
        }
        AddAndPublish(*native_module, maker, replacements);
      }

      const PcOracle<NativeModule> oracle({native_module.get()});
      m0 = manager.Metrics();
      for (uint64_t pc : pcs) {
        WasmCode* now = manager.LookupCode(pc);
        ASSERT_EQ(now, oracle.CodeAt(pc)) << "pc " << Hex(pc);
        if (now != nullptr) {
          EXPECT_TRUE(now->contains(pc));
          EXPECT_EQ(native_module->GetCode(now->index()), now)
              << "the answer is the published code";
        }
      }
      m1 = manager.Metrics();
      EXPECT_EQ(m1.lookup_cache_hits - m0.lookup_cache_hits, 0u)
          << "freeing code flushes the cache";
      EXPECT_EQ(m1.lookup_cache_misses - m0.lookup_cache_misses, pcs.size());
    }
  });
}

// Invariant: the same on a real fixture: after its code is removed, no pc
// of it resolves; after the same code is added again (first fit puts it at
// the same addresses) each pc resolves to the new object.
TEST(CodeManagerLookupTest, TheCacheNeverReturnsFreedCodeOfARealFixture) {
  WithSelectedImpl([&]<class I>(const I& impl) {
    CODE_MANAGER_TYPES_OF(I);
    const LoadedFixture f = LoadCommitted("x64/many");
    auto parsed = reference::ParseCache(f.cache, f.module, f.env);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    CodeManager manager;
    auto m = Load(impl, manager, f);
    ASSERT_TRUE(m.ok()) << m.status();
    NativeModule& native_module = **m;
    for (int round = 0; round < 8; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      const PcOracle<NativeModule> before({&native_module});
      std::vector<std::pair<uint64_t, uint32_t>> pcs;  // pc, function index
      for (const WasmCode* code : before.codes()) {
        pcs.push_back({code->instruction_start(), code->index()});
        pcs.push_back(
            {code->instruction_start() + code->instructions_size() - 1,
             code->index()});
        ASSERT_EQ(manager.LookupCode(pcs.back().first), code);
        ASSERT_EQ(manager.LookupCode(pcs.back().first), code);
      }
      const size_t removed = native_module.RemoveCompiledCode(
          RemoveFilter::kRemoveTurbofanCode);
      ASSERT_EQ(removed, before.codes().size());
      for (const auto& [pc, index] : pcs) {
        ASSERT_EQ(manager.LookupCode(pc), nullptr) << "pc " << Hex(pc);
      }
      auto added =
          native_module.AddCompiledCode(BatchOf(native_module, *parsed));
      ASSERT_TRUE(added.ok()) << added.status();
      native_module.PublishCode(std::move(*added));
      for (const auto& [pc, index] : pcs) {
        WasmCode* now = manager.LookupCode(pc);
        ASSERT_NE(now, nullptr) << "pc " << Hex(pc);
        EXPECT_EQ(now->index(), index);
        EXPECT_EQ(now, native_module.GetCode(
                           index - f.module.num_imported_functions));
      }
    }
  });
}

// With one loaded fixture per manager: the first near slot of every code
// space, one byte either side of the space, its last byte and every gap
// between two code objects resolve to no code, and to the module exactly
// inside its spaces.
template <class I>
void ExpectPcsOutsideCodeResolveToNoCode(const I& impl) {
  size_t checked = 0;
  for (const Fixture& fixture : CommittedFixtures()) {
    SCOPED_TRACE(fixture.name);
    typename I::Manager manager;
    const auto loaded = LoadAll(impl, manager, {fixture});
    ASSERT_EQ(loaded.size(), 1u);
    typename I::Module* m = loaded[0].native_module.get();
    const PcOracle<typename I::Module> oracle({m});
    std::vector<uint64_t> pcs = {0, ~uint64_t{0}};
    for (const CodeSpaceRange& space : CodeSpaceRanges(*m)) {
      EXPECT_EQ(oracle.CodeAt(space.near_table), nullptr)
          << "code over the jump tables at " << Hex(space.near_table);
      pcs.insert(pcs.end(),
                 {space.near_table, space.start - 1, space.end - 1, space.end});
    }
    const auto& codes = oracle.codes();
    for (size_t k = 0; k + 1 < codes.size(); ++k) {
      const uint64_t end =
          codes[k]->instruction_start() + codes[k]->instructions_size();
      for (uint64_t pc = end; pc < codes[k + 1]->instruction_start(); ++pc) {
        pcs.push_back(pc);
      }
    }
    for (const uint64_t pc : pcs) {
      if (oracle.CodeAt(pc) != nullptr) continue;  // a space full to its end
      EXPECT_EQ(manager.LookupCode(pc), nullptr) << "pc " << Hex(pc);
      EXPECT_EQ(manager.LookupNativeModule(pc), oracle.ModuleAt(pc))
          << "pc " << Hex(pc);
      ++checked;
    }
    EXPECT_EQ(manager.LookupNativeModule(0), nullptr);
    EXPECT_EQ(manager.LookupNativeModule(~uint64_t{0}), nullptr);
  }
  EXPECT_GT(checked, 4 * CommittedFixtures().size());
}

// Invariant: a pc outside all code (jump tables, unallocated space, no
// space at all) resolves to no code, is never cached (each lookup is a
// miss), and resolves to the owning module only inside its code spaces.
// Loaded fixtures, and an empty hand-made module with the lookup cache's
// counters.
TEST(CodeManagerLookupTest, PcsOutsideCodeAreMissesAndNeverCached) {
  WithSelectedImpl([]<class I>(const I& impl) {
    CODE_MANAGER_TYPES_OF(I);
    ExpectPcsOutsideCodeResolveToNoCode(impl);
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 4, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    const std::vector<CodeSpaceRange> spaces = CodeSpaceRanges(*native_module);
    ASSERT_EQ(spaces.size(), 1u);
    const CodeSpaceRange& space = spaces[0];
    const uint64_t slot = space.near_table;
    const CodeManagerMetrics m0 = manager.Metrics();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(manager.LookupCode(slot), nullptr);
      EXPECT_EQ(manager.LookupCode(space.end - 1), nullptr);
      EXPECT_EQ(manager.LookupCode(space.end), nullptr);
    }
    const CodeManagerMetrics m1 = manager.Metrics();
    EXPECT_EQ(m1.lookup_cache_hits, m0.lookup_cache_hits);
    EXPECT_EQ(m1.lookup_cache_misses - m0.lookup_cache_misses, 9u);
    EXPECT_EQ(manager.LookupNativeModule(slot), native_module.get());
    EXPECT_EQ(manager.LookupNativeModule(space.end - 1), native_module.get());
    EXPECT_EQ(manager.LookupNativeModule(space.start - 1), nullptr);
    EXPECT_EQ(manager.LookupNativeModule(space.end), nullptr);
    EXPECT_EQ(manager.LookupNativeModule(0), nullptr);
    EXPECT_EQ(manager.LookupNativeModule(~uint64_t{0}), nullptr);
  });
}

// ============================================================================
// Reservation
// ============================================================================

constexpr Arch kAllArchs[] = {Arch::kX64,     Arch::kIa32,    Arch::kArm64,
                              Arch::kArm,     Arch::kRiscv64, Arch::kRiscv32,
                              Arch::kMips64,  Arch::kPpc64,   Arch::kS390x,
                              Arch::kLoong64};

const uint32_t kV8FarSlots = static_cast<uint32_t>(
    DefaultEnvironment(Arch::kX64, HandModule(0))
        .far_slot_builtins.size());

// Invariant: OverheadPerCodeSpace is the size of a space's jump-table block
// without the lazy table: the near table in whole lines, then the far
// table (builtins, plus one slot per function on targets that jump far
// between spaces), each table at kCodeAlignment, per the traits table.
TEST(CodeManagerReservationTest, OverheadPerCodeSpaceMatchesTheJumpTableLayout) {
  for (Arch arch : kAllArchs) {
    const ArchTraits& t = TraitsOf(arch);
    for (uint32_t n : {0u, 1u, 7u, 13u, 100u, 4097u, 1'000'000u}) {
      for (uint32_t builtins : {0u, 1u, kV8FarSlots}) {
        SCOPED_TRACE(absl::StrFormat("%s, %d functions, %d builtins",
                                     ArchName(arch), n, builtins));
        const uint64_t near = JumpTableSize(t, n);
        const uint64_t far_slots =
            uint64_t{builtins} + (t.far_jumps_between_code_spaces ? n : 0);
        const uint64_t expected =
            RoundUp(RoundUp(near, t.code_alignment) +
                        far_slots * t.far_jump_table_slot_size,
                    t.code_alignment);
        const uint64_t overhead = OverheadPerCodeSpace(arch, n, builtins);
        EXPECT_EQ(overhead, expected);
        const JumpTableLayout layout =
            reference::ComputeJumpTableLayout(arch, n, builtins, false);
        EXPECT_EQ(overhead, layout.total_size);
        EXPECT_EQ(layout.lazy_size, 0u);
        const JumpTableLayout first =
            reference::ComputeJumpTableLayout(arch, n, builtins, true);
        EXPECT_EQ(first.total_size,
                  RoundUp(overhead + uint64_t{n} * t.lazy_compile_slot_size,
                          t.code_alignment));
      }
    }
  }
}

// Invariant: a reservation is max(estimate + overhead, 2 * overhead,
// total_reserved / 4), page-rounded, capped at the target's maximum code
// space (x64 1024 MB, arm64 128 MB, ppc64 32 MB, ...); the estimate counts
// rounded to kCodeAlignment (V8's RoundUp<kCodeAlignment>), not to a page.
TEST(CodeManagerReservationTest, SizeIsTheLargestNeedRoundedToPagesAndCapped) {
  const uint64_t page = PageSize();
  for (Arch arch : kAllArchs) {
    const uint64_t cap = TraitsOf(arch).max_code_space_size;
    for (uint32_t n : {1u, 1000u, 50'000u}) {
      const uint64_t overhead = OverheadPerCodeSpace(arch, n, kV8FarSlots);
      for (uint64_t estimate :
           {uint64_t{0}, uint64_t{1}, page - 1, page, kMiB + 3, cap / 2,
            cap - overhead, cap, 4 * cap}) {
        for (uint64_t total : {uint64_t{0}, 8 * kMiB, 2 * cap, 8 * cap}) {
          SCOPED_TRACE(absl::StrFormat(
              "%s: %d functions, estimate %d, total reserved %d",
              ArchName(arch), n, estimate, total));
          auto size = ReservationSize(arch, estimate, n, kV8FarSlots, total);
          ASSERT_TRUE(size.ok()) << size.status();
          // The documented contract (code_manager.h), with the estimate
          // rounded to kCodeAlignment as V8's ReservationSize does.
          const uint64_t need = std::max(
              {RoundUp(estimate, TraitsOf(arch).code_alignment) + overhead,
               2 * overhead, total / 4});
          EXPECT_EQ(*size, std::min(RoundUp(need, page), cap));
          EXPECT_EQ(*size % page, 0u);
          EXPECT_LE(*size, cap);
          if (*size < cap) {
            EXPECT_GE(*size, estimate + overhead);
            EXPECT_GE(*size, 2 * overhead);
            EXPECT_GE(*size, total / 4);
          }
        }
      }
    }
  }
  // Known answers.
  EXPECT_EQ(*ReservationSize(Arch::kX64, 4 * kGiB, 10, 0, 0), 1024 * kMiB);
  EXPECT_EQ(*ReservationSize(Arch::kArm64, 4 * kGiB, 10, 0, 0), 128 * kMiB);
  EXPECT_EQ(*ReservationSize(Arch::kPpc64, 4 * kGiB, 10, 0, 0), 32 * kMiB);
  EXPECT_EQ(*ReservationSize(Arch::kX64, 0, 10, 0, 2 * kGiB), 512 * kMiB);
  // x64, 10 functions, no builtins: 80 bytes of near slots, far table at 128
  // with 10 * 16 bytes: 320 bytes after alignment.
  ASSERT_EQ(OverheadPerCodeSpace(Arch::kX64, 10, 0), 320u);
  EXPECT_EQ(*ReservationSize(Arch::kX64, kMiB, 10, 0, 0), kMiB + page);
  EXPECT_EQ(*ReservationSize(Arch::kX64, 0, 10, 0, 0), page);
}

// Invariant: when two jump-table blocks do not fit the target's maximum
// code space the reservation is kResourceExhausted; the last function
// count that fits passes. Reachable within V8's function limit on ppc64
// (32 MB spaces, 52 bytes of slots per function); on x64 and arm64 even
// kMaxFunctions fits.
TEST(CodeManagerReservationTest, JumpTablesThatDoNotFitTwiceAreResourceExhausted) {
  for (Arch arch : kAllArchs) {
    SCOPED_TRACE(ArchName(arch));
    const uint64_t cap = TraitsOf(arch).max_code_space_size;
    auto fits = [&](uint32_t n) {
      return 2 * OverheadPerCodeSpace(arch, n, kV8FarSlots) <= cap;
    };
    if (fits(kMaxFunctions)) {
      EXPECT_TRUE(ReservationSize(arch, 0, kMaxFunctions, kV8FarSlots, 0).ok());
      continue;
    }
    // Largest n that fits (the overhead grows with n).
    uint32_t low = 0;
    uint32_t high = kMaxFunctions;
    while (high - low > 1) {
      const uint32_t mid = low + (high - low) / 2;
      (fits(mid) ? low : high) = mid;
    }
    auto last = ReservationSize(arch, 0, low, kV8FarSlots, 0);
    ASSERT_TRUE(last.ok()) << last.status();
    EXPECT_EQ(*last,
              std::min(RoundUp(2 * OverheadPerCodeSpace(arch, low, kV8FarSlots),
                               PageSize()),
                       cap));
    auto over = ReservationSize(arch, 0, high, kV8FarSlots, 0);
    EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted)
        << over.status();
  }
  EXPECT_EQ(
      ReservationSize(Arch::kPpc64, 0, 400'000, kV8FarSlots, 0).status().code(),
      StatusCode::kResourceExhausted);
}

// A loaded fixture's code fits its first code space, sized by
// ReservationSize of the code and the lazy table: the code counted as
// placed (aligned sizes, as the reference and the fast implementation's
// plain load count it) or, when the fast implementation reserves before
// it walks the records (its pipelined load), as the sum of the sizes with
// the worst alignment padding of every function.
template <class I>
void ExpectLoadedModulesFitTheirFirstCodeSpace(const I& impl) {
  for (const Fixture& fixture : CommittedFixtures()) {
    SCOPED_TRACE(fixture.name);
    typename I::Manager manager;
    const auto loaded = LoadAll(impl, manager, {fixture});
    ASSERT_EQ(loaded.size(), 1u);
    const auto& m = *loaded[0].native_module;
    const ArchTraits& t = TraitsOf(fixture.arch);
    const uint32_t n = m.module().num_declared_functions;
    const auto builtins =
        static_cast<uint32_t>(m.env().far_slot_builtins.size());
    uint64_t placed = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; ++i) {
      if (const auto* code = m.GetCode(i)) {
        placed += RoundUp(code->instructions_size(), t.code_alignment);
        total += code->instructions_size();
      }
    }
    const uint64_t lazy = uint64_t{n} * t.lazy_compile_slot_size;
    auto as_placed =
        ReservationSize(fixture.arch, placed + lazy, n, builtins, 0);
    auto worst_case = ReservationSize(
        fixture.arch, total + uint64_t{n} * (t.code_alignment - 1) + lazy, n,
        builtins, 0);
    ASSERT_TRUE(as_placed.ok() && worst_case.ok());
    const std::vector<CodeSpaceRange> spaces = CodeSpaceRanges(m);
    ASSERT_EQ(spaces.size(), 1u);
    const uint64_t size = spaces[0].end - spaces[0].start;
    EXPECT_TRUE(size == *as_placed || size == *worst_case)
        << size << " bytes reserved; " << *as_placed << " for the code as "
        << "placed, " << *worst_case << " for the worst case";
    EXPECT_EQ(m.reserved_code_space(), size);
  }
}

// Invariant: a module's first reservation follows ReservationSize (with
// the lazy table added to the estimate): capped at 1 GB on x64, 128 MB on
// arm64 and 32 MB on ppc64 however large the estimate. Loaded fixtures in
// both implementations (the arm64 cap for a loaded module:
// CodeManagerCodeSpacesTest) and hand-made modules of any estimate.
TEST(CodeManagerReservationTest, FirstCodeSpaceOfAModuleIsSizedAndCapped) {
  WithSelectedImpl([]<class I>(const I& impl) {
    CODE_MANAGER_TYPES_OF(I);
    ExpectLoadedModulesFitTheirFirstCodeSpace(impl);
    CodeManager manager;
    auto x64 = NewHandModule(manager, Arch::kX64, 10, 3 * kGiB);
    ASSERT_NE(x64, nullptr);
    EXPECT_EQ(x64->reserved_code_space(), 1024 * kMiB);
    auto arm64 = NewHandModule(manager, Arch::kArm64, 10, 3 * kGiB);
    ASSERT_NE(arm64, nullptr);
    EXPECT_EQ(arm64->reserved_code_space(), 128 * kMiB);
    auto small = NewHandModule(manager, Arch::kX64, 10, 0);
    ASSERT_NE(small, nullptr);
    // Twice the jump-table overhead of 10 functions (2 x 2240 bytes) needs
    // two pages.
    EXPECT_EQ(
        2 * CodeManager::OverheadPerCodeSpace(Arch::kX64, 10, kV8FarSlots),
        4480u);
    EXPECT_EQ(small->reserved_code_space(), 2 * PageSize());
    EXPECT_EQ(manager.Metrics().reserved_code_space,
              1024 * kMiB + 128 * kMiB + 2 * PageSize());
    // ppc64 code spaces are capped at 32 MB.
    ModuleInfo module = HandModule(10);
    auto ppc = manager.NewNativeModule(
        module, DefaultEnvironment(Arch::kPpc64, module), 3 * kGiB);
    ASSERT_TRUE(ppc.ok()) << ppc.status();
    EXPECT_EQ((*ppc)->reserved_code_space(), 32 * kMiB);
    EXPECT_EQ(manager.Metrics().num_native_modules, 4u);
  });
}

// Replaces CodeManagerOptions::reserve of implementation `I` with one that
// refuses the first `failures` calls.
template <class I>
struct FlakyReserve {
  using CodeSpace = typename I::Space;

  int failures = 0;
  int calls = 0;

  typename I::Options Options(int retries) {
    typename I::Options options;
    options.reservation_retries = retries;
    options.reserve = [this](uint64_t size, uint32_t alignment,
                             const typename I::Protection* protection,
                             typename CodeSpace::AccountingHook accounting,
                             uint64_t address_limit)
        -> absl::StatusOr<std::unique_ptr<CodeSpace>> {
      ++calls;
      if (failures > 0) {
        --failures;
        return absl::ResourceExhaustedError("code space: refused by the test");
      }
      return CodeSpace::Reserve(size, alignment, protection,
                                std::move(accounting), address_limit);
    };
    return options;
  }
};

// Invariant: a refused reservation is retried up to reservation_retries
// times, each retry after one memory-pressure notification (the callback
// runs once per refusal that is retried); every refusal counts in
// failed_reservations; beyond the retries NewNativeModule is
// kResourceExhausted and leaves nothing reserved.
TEST(CodeManagerReservationTest, RefusedReservationsAreRetriedAfterMemoryPressure) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    for (int retries : {0, 1, 2, 4}) {
      for (int failures = 0; failures <= retries + 1; ++failures) {
        SCOPED_TRACE(absl::StrFormat("%d retries, %d refusals", retries,
                                     failures));
        FlakyReserve<I> flaky{failures};
        CodeManager manager(flaky.Options(retries));
        int callbacks = 0;
        manager.SetMemoryPressureCallback([&] { ++callbacks; });
        auto native_module = manager.NewNativeModule(
            HandModule(8),
            DefaultEnvironment(Arch::kX64, HandModule(8)), 4096);
        const CodeManagerMetrics m = manager.Metrics();
        EXPECT_EQ(m.failed_reservations, static_cast<uint64_t>(failures));
        if (failures <= retries) {
          ASSERT_TRUE(native_module.ok()) << native_module.status();
          EXPECT_EQ(callbacks, failures);
          EXPECT_EQ(flaky.calls, failures + 1);
          EXPECT_EQ(m.memory_pressure_notifications,
                    static_cast<uint64_t>(failures));
          EXPECT_EQ(m.num_native_modules, 1u);
        } else {
          EXPECT_EQ(native_module.status().code(),
                    StatusCode::kResourceExhausted)
              << native_module.status();
          EXPECT_EQ(callbacks, retries);
          EXPECT_EQ(flaky.calls, retries + 1);
          EXPECT_EQ(m.num_native_modules, 0u);
          EXPECT_EQ(m.reserved_code_space, 0u);
          EXPECT_EQ(m.committed_code_space, 0u);
        }
      }
    }
  });
}

// ============================================================================
// Several code spaces per module
// ============================================================================

// The fast implementation's load of the cache of an arm64 module over one
// code space (Arm64ModuleOverOneCodeSpaceGetsSpacesWithTheirOwnTables):
// spaces of at most 128 MB, the first capped, each with its own tables
// (the lazy table only in the first), every code object inside a space
// and so within reach of that space's tables, every slot in every space
// leading to its function's code, the same bytes when serialized, and
// the committed limit honoured to the byte.
void ExpectFastLoadGetsSpacesWithTheirOwnTables(const FastImpl& impl,
                                                absl::Span<const uint8_t> cache,
                                                const ModuleInfo& module,
                                                const Environment& env) {
  const uint64_t cap = TraitsOf(env.arch).max_code_space_size;
  const uint32_t n = module.num_declared_functions;
  fast::CodeManager manager;
  auto loaded = impl.Load(manager, cache, module, env);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const fast::NativeModule& m = **loaded;
  const absl::Span<const fast::CodeSpaceInfo> spaces = m.code_spaces();
  ASSERT_GE(spaces.size(), 2u);
  EXPECT_EQ(manager.num_code_spaces(), spaces.size());
  EXPECT_EQ(spaces[0].size, cap) << "the first space is capped";
  std::vector<uint64_t> tables;
  for (size_t s = 0; s < spaces.size(); ++s) {
    const fast::CodeSpaceInfo& space = spaces[s];
    EXPECT_LE(space.size, cap);
    EXPECT_EQ(space.has_lazy_table, s == 0) << "lazy table of space " << s;
    tables.push_back(m.near_slot(space, 0));
    EXPECT_TRUE(space.contains(tables.back()));
    EXPECT_EQ(m.DeclaredIndexFromNearSlot(m.near_slot(space, n - 1)), n - 1);
  }
  std::sort(tables.begin(), tables.end());
  EXPECT_EQ(std::unique(tables.begin(), tables.end()), tables.end());
  for (uint32_t i = 0; i < n; ++i) {
    const fast::WasmCode* code = m.GetCode(i);
    ASSERT_NE(code, nullptr);
    const uint64_t start = code->instruction_start();
    const fast::CodeSpaceInfo* space = m.SpaceOf(start);
    ASSERT_NE(space, nullptr) << "function " << i;
    EXPECT_TRUE(space->contains(start + code->instructions_size() - 1))
        << "function " << i << " straddles a space end";
    ExpectSlotsLeadTo(m, i, start);
  }
  auto again = fast::Serializer(m, impl.options).Serialize();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(
      std::equal(again->begin(), again->end(), cache.begin(), cache.end()))
      << "serialized bytes differ after a load";

  // This load reserves space by space (too large to be pipelined): at a
  // committed limit one byte short of what it commits it is refused whole;
  // at exactly that it loads.
  const uint64_t committed = manager.committed_bytes();
  loaded->reset();
  for (const uint64_t limit : {committed - 1, committed}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    fast::CodeManagerOptions options;
    options.max_committed_code_space = limit;
    fast::CodeManager limited(options);
    auto at_limit = impl.Load(limited, cache, module, env);
    if (limit < committed) {
      EXPECT_EQ(at_limit.status().code(), StatusCode::kResourceExhausted)
          << at_limit.status();
      EXPECT_EQ(limited.committed_bytes(), 0u);
      EXPECT_EQ(limited.reserved_bytes(), 0u);
      EXPECT_EQ(limited.num_code_spaces(), 0u);
      EXPECT_EQ(limited.num_native_modules(), 0u);
    } else {
      ASSERT_TRUE(at_limit.ok()) << at_limit.status();
      EXPECT_EQ(limited.committed_bytes(), limit);
    }
  }
}

// The module of Arm64ModuleOverOneCodeSpaceGetsSpacesWithTheirOwnTables
// (below), in `manager` of either implementation: 80 arm64 functions of
// 2 MB each (160 MB of code, more than one 128 MB code space), added and
// published 8 at a time, with the global header its environment expects
// so that it serializes. nullptr (after a failure) if it could not be made.
constexpr uint32_t kOverOneSpaceFunctions = 80;
constexpr uint32_t kOverOneSpaceObjectSize = 2 * 1024 * 1024;

template <class Manager>
auto Arm64ModuleOverOneCodeSpace(Manager& manager)
    -> decltype(NewHandModule(manager, Arch::kArm64, 0, 0)) {
  auto native_module =
      NewHandModule(manager, Arch::kArm64, kOverOneSpaceFunctions, 160 * kMiB);
  if (native_module == nullptr) return nullptr;
  CodeMaker maker(*native_module);
  for (uint32_t batch = 0; batch < kOverOneSpaceFunctions / 8; ++batch) {
    std::vector<CodeSpec> specs;
    for (uint32_t k = 0; k < 8; ++k) {
      specs.push_back(TurboFan(batch * 8 + k, kOverOneSpaceObjectSize));
    }
    const size_t published = AddAndPublish(*native_module, maker, specs).size();
    EXPECT_EQ(published, 8u) << "batch " << batch;
    if (published != 8) return nullptr;
  }
  SetExpectedGlobalHeader(*native_module);
  return native_module;
}

// What the checks on a module of several code spaces read of each space's
// jump tables, in the order of code_spaces(): whether the space has the
// lazy table, how many far slots for functions it has, and the address of
// the near slot of one function.
struct SpaceTables {
  bool has_lazy_table;
  uint64_t num_far_function_slots;
  uint64_t near_slot;
};

std::vector<SpaceTables> SpaceTablesOf(const reference::NativeModule& m,
                                       uint32_t declared_index) {
  std::vector<SpaceTables> tables;
  for (const CodeSpaceEntry* space : m.code_spaces()) {
    tables.push_back({space->layout.lazy_size != 0,
                      space->layout.num_far_function_slots,
                      NearSlotAddress(m, *space, declared_index)});
  }
  return tables;
}

// The fast implementation keeps no count of a space's far slots: they are
// counted from its far table, [far_offset, lazy_offset) of the space (its
// slots, then the alignment padding, never written): the slots after the
// builtins' that decode as far jump slots (a function's jumps to itself
// until a near slot needs it), up to the first that does not or the end
// of the table.
std::vector<SpaceTables> SpaceTablesOf(const fast::NativeModule& m,
                                       uint32_t declared_index) {
  const uint64_t slot_size = m.traits().far_jump_table_slot_size;
  const auto builtins = static_cast<uint32_t>(m.env().far_slot_builtins.size());
  std::vector<SpaceTables> tables;
  for (const fast::CodeSpaceInfo& space : m.code_spaces()) {
    const uint64_t far_end = space.start() + space.lazy_offset;
    uint32_t functions = 0;
    for (;; ++functions) {
      const uint64_t slot = m.far_slot(space, builtins + functions);
      if (slot + slot_size > far_end ||
          !reference::ReadFarJumpSlotTarget(
               m.arch(), reinterpret_cast<const uint8_t*>(slot))
               .ok()) {
        break;
      }
    }
    tables.push_back(
        {space.has_lazy_table, functions, m.near_slot(space, declared_index)});
  }
  return tables;
}

// The code space whose jump tables code at [start, start + size) uses
// (FindJumpTablesForRegion), if any.
std::optional<CodeSpaceRange> JumpTablesForRegion(
    const reference::NativeModule& m, uint64_t start, uint64_t size) {
  const JumpTablesRef ref = m.FindJumpTablesForRegion(start, size);
  if (!ref.is_valid()) return std::nullopt;
  return CodeSpaceRangeOf(m, *ref.space);
}

std::optional<CodeSpaceRange> JumpTablesForRegion(const fast::NativeModule& m,
                                                  uint64_t start,
                                                  uint64_t size) {
  const fast::CodeSpaceInfo* space = m.FindJumpTablesForRegion(start, size);
  if (space == nullptr) return std::nullopt;
  return CodeSpaceRangeOf(m, *space);
}

// In the fast run, the fast implementation's load of the reference's cache
// of the same module (ExpectFastLoadGetsSpacesWithTheirOwnTables): a load
// across implementations. Nothing more in the reference run.
void ExpectLoadOfTheReferenceCacheOfAModuleOverOneCodeSpace(
    const ReferenceImpl& /*impl*/) {}

void ExpectLoadOfTheReferenceCacheOfAModuleOverOneCodeSpace(
    const FastImpl& impl) {
  reference::CodeManager manager;
  auto native_module = Arm64ModuleOverOneCodeSpace(manager);
  ASSERT_NE(native_module, nullptr);
  auto bytes = reference::Serializer(*native_module).Serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const ModuleInfo module = native_module->module();
  const Environment env = native_module->env();
  native_module.reset();
  ExpectFastLoadGetsSpacesWithTheirOwnTables(impl, *bytes, module, env);
}

// Invariant: an arm64 module with more code than one 128 MB code space gets
// more spaces, each with its own near and far tables (the lazy table only
// in the first); every code object has jump tables in reach (tables and
// object within 128 MB); publishing patches the function's slot in every
// space so that it leads to the code, directly or through the space's far
// slot; removing code resets every space's slot to the lazy stub; and the
// module serializes, deserializes into spaces of its own and serializes
// again to the same bytes. In the fast run, the fast implementation also
// loads the reference's cache of the same module.
TEST(CodeManagerCodeSpacesTest, Arm64ModuleOverOneCodeSpaceGetsSpacesWithTheirOwnTables) {
  WithSelectedImpl([&]<class I>(const I& impl) {
    CODE_MANAGER_TYPES_OF(I);
    constexpr Arch kArch = Arch::kArm64;
    const uint64_t cap = TraitsOf(kArch).max_code_space_size;
    constexpr uint32_t kFunctions = kOverOneSpaceFunctions;
    {
      CodeManager manager;
      auto native_module = Arm64ModuleOverOneCodeSpace(manager);
      ASSERT_NE(native_module, nullptr);
      const Environment& env = native_module->env();
      auto bytes = impl.Serialize(*native_module);
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      const std::vector<CodeSpaceRange> spaces =
          CodeSpaceRanges(*native_module);
      const std::vector<SpaceTables> space_tables =
          SpaceTablesOf(*native_module, kFunctions - 1);
      ASSERT_GE(spaces.size(), 2u);
      ASSERT_EQ(space_tables.size(), spaces.size());
      EXPECT_EQ(manager.num_code_spaces(), spaces.size());
      EXPECT_EQ(spaces[0].end - spaces[0].start, cap)
          << "the first space is capped";
      std::vector<uint64_t> tables;
      for (size_t s = 0; s < spaces.size(); ++s) {
        const CodeSpaceRange& space = spaces[s];
        EXPECT_LE(space.end - space.start, cap);
        EXPECT_TRUE(space.contains(space.tables));
        EXPECT_EQ(space_tables[s].has_lazy_table, s == 0)
            << "lazy table of space " << s;
        EXPECT_EQ(space_tables[s].num_far_function_slots, kFunctions)
            << "far slots of space " << s;
        tables.push_back(space.tables);
        // Its near slots are recognized as its own.
        EXPECT_EQ(
            native_module->DeclaredIndexFromNearSlot(space_tables[s].near_slot),
            kFunctions - 1);
      }
      std::sort(tables.begin(), tables.end());
      EXPECT_EQ(std::unique(tables.begin(), tables.end()), tables.end());

      for (uint32_t i = 0; i < kFunctions; ++i) {
        const WasmCode* code = native_module->GetCode(i);
        ASSERT_NE(code, nullptr);
        const uint64_t start = code->instruction_start();
        const uint64_t end = start + code->instructions_size();
        const std::optional<CodeSpaceRange> in_reach = JumpTablesForRegion(
            *native_module, start, code->instructions_size());
        ASSERT_TRUE(in_reach.has_value()) << "function " << i;
        EXPECT_LE(std::max(end, in_reach->tables_end) -
                      std::min(start, in_reach->tables),
                  cap)
            << "function " << i << ": jump tables out of reach";
        ExpectSlotsLeadTo(*native_module, i, start);
      }

      // Deserialize, serialize again.
      {
        auto again = impl.Load(manager, *bytes, native_module->module(), env);
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_GE(CodeSpaceRanges(**again).size(), 2u);
        auto twice = impl.Serialize(**again);
        ASSERT_TRUE(twice.ok()) << twice.status();
        EXPECT_TRUE(*twice == *bytes)
            << "serialized bytes differ after a reload";
      }

      EXPECT_EQ(
          native_module->RemoveCompiledCode(RemoveFilter::kRemoveTurbofanCode),
          kFunctions);
      for (uint32_t i = 0; i < kFunctions; ++i) {
        ExpectSlotsLeadTo(*native_module, i,
                          native_module->lazy_slot_address(i));
      }
    }
    ExpectLoadOfTheReferenceCacheOfAModuleOverOneCodeSpace(impl);
  });
}

// ============================================================================
// Batches
// ============================================================================

// Invariant: a batch whose code exceeds half a code space is split in
// halves until each part fits half a space, so no region (and no new code
// space, whose size follows the part) exceeds half a space plus its jump
// tables; the objects of each part are contiguous. On arm64, 3 x 40 MB
// objects (120 MB, which one 128 MB space could hold unsplit) land in
// three regions.
TEST(CodeManagerBatchTest, BatchOverHalfACodeSpaceIsSplit) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    constexpr Arch kArch = Arch::kArm64;
    const uint64_t half = TraitsOf(kArch).max_code_space_size / 2;
    constexpr uint32_t kObjectSize = 40 * 1024 * 1024;
    CodeManager manager;
    auto native_module = NewHandModule(manager, kArch, 4, 0);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const std::vector<WasmCode*> codes = AddAndPublish(
        *native_module, maker,
        {TurboFan(0, kObjectSize), TurboFan(1, kObjectSize),
         TurboFan(2, kObjectSize)});
    ASSERT_EQ(codes.size(), 3u);
    const uint64_t overhead =
        CodeManager::OverheadPerCodeSpace(kArch, 4, kV8FarSlots);
    const std::vector<CodeSpaceRange> spaces = CodeSpaceRanges(*native_module);
    EXPECT_EQ(spaces.size(), 4u) << "the tables' space, then one per part";
    for (const CodeSpaceRange& space : spaces) {
      EXPECT_LE(space.end - space.start, RoundUp(half + overhead, PageSize()));
    }
    for (const WasmCode* code : codes) {
      const std::optional<CodeSpaceRange> space =
          SpaceContaining(*native_module, code->instruction_start());
      ASSERT_TRUE(space.has_value());
      EXPECT_TRUE(space->contains(code->instruction_start() +
                                  code->instructions_size() - 1));
    }
    EXPECT_EQ(manager.Metrics().generated_code_size, 3u * kObjectSize);
  });
}

// Invariant: one object over half a code space is kResourceExhausted and
// the batch it is in adds nothing (no code, no committed bytes); an object
// of exactly half a space is accepted.
TEST(CodeManagerBatchTest, ObjectOverHalfACodeSpaceIsResourceExhausted) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    constexpr Arch kArch = Arch::kArm64;
    const auto half =
        static_cast<uint32_t>(TraitsOf(kArch).max_code_space_size / 2);
    CodeManager manager;
    auto native_module = NewHandModule(manager, kArch, 4, 0);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const uint64_t committed = manager.committed_bytes();
    auto too_big =
        Add(*native_module, maker, {TurboFan(0, 64), TurboFan(1, half + 1)});
    EXPECT_EQ(too_big.status().code(), StatusCode::kResourceExhausted)
        << too_big.status();
    EXPECT_EQ(manager.committed_bytes(), committed);
    EXPECT_EQ(native_module->code_spaces().size(), 1u);
    auto exactly_half = Add(*native_module, maker, {TurboFan(2, half)});
    ASSERT_TRUE(exactly_half.ok()) << exactly_half.status();
    EXPECT_EQ(native_module->PublishCode(std::move((*exactly_half)[0]))
                  ->instructions_size(),
              half);
  });
}

// ============================================================================
// Committed-space limit
// ============================================================================

// Invariant: with max_committed_code_space = 1 MB, a batch that would
// commit past the limit is kResourceExhausted and leaves nothing behind:
// no code owned or installed, slots still lazy, committed bytes as before;
// a batch that fits still succeeds afterwards.
TEST(CodeManagerLimitTest, CommittedSpaceLimitRefusesABatchWithoutHalfPublishing) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManagerOptions options;
    options.max_committed_code_space = kMiB;
    CodeManager manager(options);
    auto native_module = NewHandModule(manager, Arch::kX64, 16, 4 * kMiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    ASSERT_EQ(AddAndPublish(*native_module, maker,
                            {TurboFan(0, 64 * kKiB), TurboFan(1, 64 * kKiB)})
                  .size(),
              2u);
    const uint64_t committed = manager.committed_bytes();
    const uint64_t generated = native_module->generated_code_size();
    const size_t spaces = native_module->code_spaces().size();
    // The first space has room for the batch; the limit refuses the commit.
    // Refused again and again, it leaves the module as it was each time.
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto refused = Add(*native_module, maker,
                         {TurboFan(2, 300 * kKiB), TurboFan(3, 300 * kKiB),
                          TurboFan(4, 300 * kKiB)});
      EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted)
          << refused.status();
    }
    EXPECT_EQ(native_module->code_spaces().size(), spaces)
        << "a refused commit is no reason to reserve another code space";
    EXPECT_EQ(manager.committed_bytes(), committed);
    EXPECT_EQ(native_module->num_owned_code(), 2u);
    EXPECT_EQ(native_module->generated_code_size(), generated);
    for (uint32_t i = 2; i <= 4; ++i) {
      EXPECT_FALSE(native_module->HasCode(i));
      ExpectSlotsLeadTo(*native_module, i, native_module->lazy_slot_address(i));
    }
    EXPECT_LE(manager.Metrics().committed_code_space, kMiB);
    EXPECT_EQ(
        AddAndPublish(*native_module, maker, {TurboFan(2, 64 * kKiB)}).size(),
        1u);
  });
}

// Invariant: a batch split in parts (over half a code space) that fails in
// a later part leaves nothing of the earlier parts behind either: the
// committed bytes and the free space of the module are as before.
TEST(CodeManagerLimitTest, FailedSplitBatchReleasesItsEarlierParts) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    constexpr uint32_t kObjectSize = 30 * 1024 * 1024;
    CodeManagerOptions options;
    options.max_committed_code_space = 80 * kMiB;
    CodeManager manager(options);
    auto native_module = NewHandModule(manager, Arch::kArm64, 4, 0);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const uint64_t committed = manager.committed_bytes();
    // 90 MB: split into 30 MB (fits) and 60 MB (over the 80 MB limit).
    auto refused = Add(*native_module, maker,
                       {TurboFan(0, kObjectSize), TurboFan(1, kObjectSize),
                        TurboFan(2, kObjectSize)});
    ASSERT_EQ(refused.status().code(), StatusCode::kResourceExhausted)
        << refused.status();
    EXPECT_EQ(native_module->num_owned_code(), 0u);
    // Spaces reserved on the way may stay; only their tables are committed.
    uint64_t tables = 0;
    for (const CodeSpaceRange& space : CodeSpaceRanges(*native_module)) {
      tables += RoundUp(space.tables_end - space.tables, PageSize());
    }
    EXPECT_GE(tables, committed);
    EXPECT_EQ(manager.committed_bytes(), tables)
        << "the first part's region stayed allocated and committed";
  });
}

// Invariant: the manager's reserved_code_space is the sum of its modules'
// reservations, also after a new code space was reserved but its jump
// tables could not be committed (limit reached); when the module is gone,
// nothing is reserved.
TEST(CodeManagerLimitTest, RefusedTablesCommitLeavesNoReservationBehind) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    // Committed bytes of a fresh 8-function x64 module (its tables).
    uint64_t tables = 0;
    {
      CodeManager probe;
      auto m = NewHandModule(probe, Arch::kX64, 8, 0);
      ASSERT_NE(m, nullptr);
      tables = probe.committed_bytes();
    }
    CodeManagerOptions options;
    options.max_committed_code_space = tables;
    CodeManager manager(options);
    {
      auto native_module = NewHandModule(manager, Arch::kX64, 8, 0);
      ASSERT_NE(native_module, nullptr);
      ASSERT_EQ(manager.committed_bytes(), tables);
      CodeMaker maker(*native_module);
      // Too large for the first space: a second one is reserved, and its
      // tables cannot be committed.
      auto refused = Add(*native_module, maker, {TurboFan(0, 64 * kKiB)});
      EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted)
          << refused.status();
      EXPECT_EQ(manager.Metrics().reserved_code_space,
                native_module->reserved_code_space());
    }
    EXPECT_EQ(manager.Metrics().reserved_code_space, 0u);
    EXPECT_EQ(manager.committed_bytes(), 0u);
  });
}

// Committed bytes of loading `fixture` alone.
template <class I>
uint64_t CommittedByLoading(const I& impl, const LoadedFixture& fixture) {
  typename I::Manager probe;
  auto m = Load(impl, probe, fixture);
  EXPECT_TRUE(m.ok()) << fixture.fixture.name << ": " << m.status();
  return probe.committed_bytes();
}

template <class I>
void ExpectLoadsAtTheCommittedLimit(const I& impl) {
  const LoadedFixture kept_fixture = LoadCommitted("x64/many");
  const LoadedFixture refused_fixture = LoadCommitted("arm64/many");
  const LoadedFixture fitting_fixture = LoadCommitted("x64/calls");
  const uint64_t kept_bytes = CommittedByLoading(impl, kept_fixture);
  const uint64_t refused_bytes = CommittedByLoading(impl, refused_fixture);
  const uint64_t fitting_bytes = CommittedByLoading(impl, fitting_fixture);
  ASSERT_GT(kept_bytes, 0u);
  ASSERT_GT(refused_bytes, fitting_bytes)
      << "the refused module must need more than the one that fits";

  typename I::Options options;
  options.max_committed_code_space = kept_bytes + fitting_bytes;
  typename I::Manager manager(options);
  auto kept = Load(impl, manager, kept_fixture);
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(manager.committed_bytes(), kept_bytes);
  const uint64_t reserved = ReservedBytes(manager);
  const size_t spaces = manager.num_code_spaces();
  EXPECT_EQ(reserved, (*kept)->reserved_code_space());
  for (int attempt = 0; attempt < 5; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    auto refused = Load(impl, manager, refused_fixture);
    EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted)
        << refused.status();
    EXPECT_EQ(manager.committed_bytes(), kept_bytes);
    EXPECT_EQ(ReservedBytes(manager), reserved)
        << "the refused load left a reservation behind";
    EXPECT_EQ(manager.num_code_spaces(), spaces);
    EXPECT_EQ(NumNativeModules(manager), 1u);
  }
  CheckEveryCodeBoundary(manager,
                         std::vector<typename I::Module*>{kept->get()});
  // The limit itself is allowed.
  auto fitting = Load(impl, manager, fitting_fixture);
  ASSERT_TRUE(fitting.ok()) << fitting.status();
  EXPECT_EQ(manager.committed_bytes(), options.max_committed_code_space);
  EXPECT_EQ(ReservedBytes(manager),
            reserved + (*fitting)->reserved_code_space());
  kept->reset();
  fitting->reset();
  EXPECT_EQ(manager.committed_bytes(), 0u);
  EXPECT_EQ(ReservedBytes(manager), 0u);
  EXPECT_EQ(manager.num_code_spaces(), 0u);
}

// Invariant: a load that would commit past max_committed_code_space is
// kResourceExhausted and leaves nothing of itself behind (no module, code
// space, committed or reserved byte), again and again, while the modules
// loaded before it keep resolving; a load that takes committed space to
// exactly the limit succeeds.
TEST(CodeManagerLimitTest,
     RefusedLoadPublishesNothingAndALoadThatFitsExactlySucceeds) {
  WithSelectedImpl(
      [](const auto& impl) { ExpectLoadsAtTheCommittedLimit(impl); });
}

// At a committed limit of 0, with implementation `I`: NewNativeModule (its
// jump tables cannot be committed) and the load of a fixture are
// kResourceExhausted and leave nothing behind (no reservation, module or
// code space). Reports each status on stderr; true if all is as expected.
template <class I>
bool RefusedAtACommittedLimitOf0(const I& impl) {
  typename I::Options options;
  options.max_committed_code_space = 0;
  bool ok = true;
  auto nothing_left = [](const typename I::Manager& manager) {
    return ReservedBytes(manager) == 0 && NumNativeModules(manager) == 0 &&
           manager.num_code_spaces() == 0;
  };
  {
    typename I::Manager manager(options);
    ModuleInfo module = HandModule(8);
    auto m = manager.NewNativeModule(module,
                                     DefaultEnvironment(Arch::kX64, module), 0);
    std::fprintf(stderr, "NewNativeModule: %s, %s\n",
                 m.status().ToString().c_str(),
                 nothing_left(manager) ? "nothing left" : "something left");
    ok &= m.status().code() == StatusCode::kResourceExhausted &&
          nothing_left(manager);
  }
  {
    const LoadedFixture f = LoadCommitted("x64/many");
    typename I::Manager manager(options);
    auto m = Load(impl, manager, f);
    std::fprintf(stderr, "load of x64/many: %s, %s\n",
                 m.status().ToString().c_str(),
                 nothing_left(manager) ? "nothing left" : "something left");
    ok &= m.status().code() == StatusCode::kResourceExhausted &&
          nothing_left(manager);
  }
  return ok;
}

// Invariant: creating a module when its jump tables cannot be committed
// (the limit is reached) is kResourceExhausted, not a crash, and leaves
// nothing reserved, no module and no code space; so is a load at a limit
// of 0. Run in a child process so that a crash fails this test only.
TEST(CodeManagerLimitDeathTest, NewModuleAtTheCommittedLimitIsResourceExhausted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        bool ok = false;
        WithSelectedImpl(
            [&](const auto& impl) { ok = RefusedAtACommittedLimitOf0(impl); });
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// ============================================================================
// Memory pressure
// ============================================================================

template <class Module>
struct PressureRun {
  int callbacks = 0;
  uint64_t committed_at_pressure = 0;
  std::vector<std::unique_ptr<Module>> modules;
};

// Creates modules of 16 Liftoff and 16 TurboFan functions (32 KB each)
// until committed space passes the critical threshold (initially half the
// limit); checks that the callback runs exactly on the next NewNativeModule
// and that the threshold moves to committed + (limit - committed) / 2.
template <class Manager, class Module>
void RunUntilPressure(Manager& manager, PressureRun<Module>& run,
                      uint64_t limit) {
  manager.SetMemoryPressureCallback([&run] { ++run.callbacks; });
  ASSERT_EQ(manager.Metrics().critical_committed_code_space, limit / 2);
  for (int i = 0; i < 32; ++i) {
    const uint64_t committed = manager.committed_bytes();
    const uint64_t critical = manager.Metrics().critical_committed_code_space;
    auto native_module = NewHandModule(manager, Arch::kX64, 32, 1 * kMiB);
    ASSERT_NE(native_module, nullptr);
    if (committed > critical) {
      run.committed_at_pressure = committed;
      EXPECT_EQ(run.callbacks, 1) << "the callback runs on the next module";
      const auto m = manager.Metrics();
      EXPECT_EQ(m.critical_committed_code_space,
                committed + (limit - committed) / 2);
      EXPECT_EQ(m.memory_pressure_notifications, 1u);
      run.modules.push_back(std::move(native_module));
      return;
    }
    EXPECT_EQ(run.callbacks, 0) << "under the threshold: no callback";
    CodeMaker maker(*native_module);
    std::vector<CodeSpec> specs;
    for (uint32_t f = 0; f < 16; ++f) specs.push_back(Liftoff(f, 32 * kKiB));
    for (uint32_t f = 16; f < 32; ++f) specs.push_back(TurboFan(f, 32 * kKiB));
    ASSERT_EQ(AddAndPublish(*native_module, maker, specs).size(), 32u);
    run.modules.push_back(std::move(native_module));
  }
  FAIL() << "committed space never passed the critical threshold";
}

// Invariant: under memory pressure (committed above the critical
// threshold when a module is created), the callback runs once, Liftoff
// code of every existing module is flushed (slots back to lazy) while
// TurboFan code stays, committed space goes down, and the threshold moves
// to committed + (limit - committed) / 2.
TEST(CodeManagerPressureTest, CriticalThresholdFlushesLiftoffAndKeepsTurboFan) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    constexpr uint64_t kLimit = 8 * kMiB;
    CodeManagerOptions options;
    options.max_committed_code_space = kLimit;
    CodeManager manager(options);
    PressureRun<NativeModule> run;
    RunUntilPressure(manager, run, kLimit);
    ASSERT_GE(run.modules.size(), 3u);
    EXPECT_LT(manager.committed_bytes(), run.committed_at_pressure)
        << "flushing Liftoff code decommits its pages";
    for (size_t k = 0; k + 1 < run.modules.size(); ++k) {
      const NativeModule& m = *run.modules[k];
      for (uint32_t f = 0; f < 16; ++f) {
        EXPECT_FALSE(m.HasCode(f)) << "module " << k << " Liftoff " << f;
        ExpectSlotsLeadTo(m, f, m.lazy_slot_address(f));
      }
      for (uint32_t f = 16; f < 32; ++f) {
        ASSERT_TRUE(m.HasCode(f)) << "module " << k << " TurboFan " << f;
        EXPECT_TRUE(m.GetCode(f)->is_turbofan());
      }
      EXPECT_EQ(m.num_owned_code(), 16u);
    }
    run.modules.clear();
  });
}

// Invariant: with flush_liftoff_code off, pressure still notifies (the
// callback runs once, the threshold moves) but no code is removed.
TEST(CodeManagerPressureTest, WithoutLiftoffFlushingPressureOnlyNotifies) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    constexpr uint64_t kLimit = 8 * kMiB;
    CodeManagerOptions options;
    options.max_committed_code_space = kLimit;
    options.flush_liftoff_code = false;
    CodeManager manager(options);
    PressureRun<NativeModule> run;
    RunUntilPressure(manager, run, kLimit);
    for (size_t k = 0; k + 1 < run.modules.size(); ++k) {
      EXPECT_EQ(run.modules[k]->num_owned_code(), 32u);
      EXPECT_TRUE(run.modules[k]->HasCode(0));
    }
    run.modules.clear();
  });
}

// ============================================================================
// Module lifetime
// ============================================================================

// Three loaded modules (x64, arm64, x64) in one manager, then none.
template <class I>
void ExpectFreeingLoadedModulesReleasesEverything(const I& impl) {
  typename I::Manager manager;
  std::vector<uint64_t> pcs;
  {
    const auto loaded =
        LoadAll(impl, manager,
                CommittedFixturesNamed({"x64/many", "arm64/many", "x64/many"}));
    ASSERT_EQ(loaded.size(), 3u);
    EXPECT_EQ(NumNativeModules(manager), 3u);
    EXPECT_GE(manager.num_code_spaces(), 3u);
    EXPECT_GT(manager.committed_bytes(), 0u);
    EXPECT_GT(ReservedBytes(manager), 0u);
    for (const auto& l : loaded) {
      const auto& m = *l.native_module;
      for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
        const auto* code = m.GetCode(i);
        if (code == nullptr) continue;
        pcs.push_back(code->instruction_start());
        pcs.push_back(code->instruction_start() + code->instructions_size() -
                      1);
        ASSERT_EQ(manager.LookupCode(pcs.back()), code);
      }
      for (const CodeSpaceRange& space : CodeSpaceRanges(m)) {
        pcs.push_back(space.near_table);
        ASSERT_EQ(manager.LookupNativeModule(space.near_table), &m);
      }
    }
  }
  EXPECT_EQ(NumNativeModules(manager), 0u);
  EXPECT_EQ(manager.num_code_spaces(), 0u);
  EXPECT_EQ(manager.committed_bytes(), 0u);
  EXPECT_EQ(ReservedBytes(manager), 0u);
  for (uint64_t pc : pcs) {
    EXPECT_EQ(manager.LookupCode(pc), nullptr) << "pc " << Hex(pc);
    EXPECT_EQ(manager.LookupNativeModule(pc), nullptr) << "pc " << Hex(pc);
  }
}

// Invariant: when every module is gone the manager holds nothing: no code
// space, no module, nothing committed or reserved, no live code; the
// history of freed code stays; no pc of the old code resolves. Loaded
// modules, and hand-made modules whose code was replaced (a history of
// freed code).
TEST(CodeManagerLifetimeTest, FreeingEveryModuleReleasesEverything) {
  WithSelectedImpl([]<class I>(const I& impl) {
    CODE_MANAGER_TYPES_OF(I);
    ExpectFreeingLoadedModulesReleasesEverything(impl);
    CodeManager manager;
    std::vector<uint64_t> pcs;
    {
      std::vector<std::unique_ptr<NativeModule>> modules;
      for (Arch arch : {Arch::kX64, Arch::kArm64, Arch::kX64}) {
        auto m = NewHandModule(manager, arch, 64, 0);
        ASSERT_NE(m, nullptr);
        CodeMaker maker(*m);
        std::vector<CodeSpec> specs;
        for (uint32_t f = 0; f < 64; ++f) {
          specs.push_back(TurboFan(f, 5000 + f));
        }
        for (WasmCode* code : AddAndPublish(*m, maker, specs)) {
          pcs.push_back(code->instruction_start());
          ASSERT_EQ(manager.LookupCode(code->instruction_start()), code);
        }
        // Replace some so that freed_code_size has a history.
        AddAndPublish(*m, maker, {TurboFan(0, 100), TurboFan(1, 100)});
        modules.push_back(std::move(m));
      }
      const CodeManagerMetrics m = manager.Metrics();
      EXPECT_EQ(m.num_native_modules, 3u);
      EXPECT_GE(m.num_code_spaces, 6u) << "each module outgrew its first space";
      EXPECT_GT(m.committed_code_space, 0u);
      EXPECT_EQ(m.freed_code_size, 3u * (5000 + 5001));
    }
    const CodeManagerMetrics m = manager.Metrics();
    EXPECT_EQ(m.num_native_modules, 0u);
    EXPECT_EQ(m.num_code_spaces, 0u);
    EXPECT_EQ(manager.num_code_spaces(), 0u);
    EXPECT_EQ(m.committed_code_space, 0u);
    EXPECT_EQ(manager.committed_bytes(), 0u);
    EXPECT_EQ(m.reserved_code_space, 0u);
    EXPECT_EQ(m.generated_code_size, 0u);
    EXPECT_EQ(m.freed_code_size, 3u * (5000 + 5001));
    EXPECT_EQ(manager.EstimateCurrentMemoryConsumption(), sizeof(CodeManager));
    for (uint64_t pc : pcs) {
      EXPECT_EQ(manager.LookupCode(pc), nullptr);
      EXPECT_EQ(manager.LookupNativeModule(pc), nullptr);
    }
  });
}

// ============================================================================
// Reference counting
// ============================================================================

// Invariant: code held by WasmCodeRefScopes on two threads (one found by
// pc, one fetched from the code table) outlives its removal from the
// table until both scopes close, and is freed exactly once, by whichever
// closes last: freed_code_size grows by its size once, num_owned_code
// drops by one.
TEST(CodeManagerRefCountTest, ScopesOnTwoThreadsKeepRemovedCodeUntilBothClose) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 4, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const std::vector<WasmCode*> codes = AddAndPublish(
        *native_module, maker, {TurboFan(0, 1000), TurboFan(1, 300)});
    ASSERT_EQ(codes.size(), 2u);
    WasmCode* const x = codes[0];
    const uint64_t pc = x->instruction_start() + 10;
    const uint32_t x_size = x->instructions_size();

    std::latch holding(2);
    std::binary_semaphore release_a(0);
    std::binary_semaphore release_b(0);
    WasmCode* seen_a = nullptr;
    WasmCode* seen_b = nullptr;
    std::thread a([&] {
      WasmCodeRefScope scope;
      seen_a = manager.LookupCode(pc);
      holding.count_down();
      release_a.acquire();
    });
    std::thread b([&] {
      WasmCodeRefScope outer;
      {
        WasmCodeRefScope inner;  // nested scopes on thread B
        seen_b = native_module->GetCode(0);
        holding.count_down();
        release_b.acquire();
      }
    });
    holding.wait();
    EXPECT_EQ(seen_a, x);
    EXPECT_EQ(seen_b, x);
    EXPECT_EQ(x->ref_count(), 3) << "the table and two scopes";

    ASSERT_EQ(
        native_module->RemoveCompiledCode(RemoveFilter::kRemoveTurbofanCode),
        2u);
    // X is held by the scopes; the other object was freed at once.
    EXPECT_EQ(native_module->num_owned_code(), 1u);
    EXPECT_EQ(native_module->freed_code_size(), 300u);
    EXPECT_EQ(x->ref_count(), 2);
    EXPECT_EQ(manager.LookupCode(pc), x) << "held code is still found by pc";
    EXPECT_EQ(native_module->GetCode(0), nullptr);

    release_a.release();
    a.join();
    EXPECT_EQ(native_module->num_owned_code(), 1u) << "B still holds X";
    EXPECT_EQ(x->ref_count(), 1);
    EXPECT_EQ(native_module->freed_code_size(), 300u);

    release_b.release();
    b.join();
    EXPECT_EQ(native_module->num_owned_code(), 0u);
    EXPECT_EQ(native_module->freed_code_size(), 300u + x_size);
    EXPECT_EQ(manager.Metrics().freed_code_size, 300u + x_size);
    EXPECT_EQ(manager.LookupCode(pc), nullptr);
  });
}

// Invariant: nested scopes on one thread: the innermost open scope takes
// the reference; closing the inner scope drops only its references, and
// code held by the outer scope stays alive until the outer closes.
TEST(CodeManagerRefCountTest, NestedScopesOnOneThreadReleaseInOrder) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 4, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const std::vector<WasmCode*> codes = AddAndPublish(
        *native_module, maker, {TurboFan(0, 500), TurboFan(1, 700)});
    ASSERT_EQ(codes.size(), 2u);
    EXPECT_FALSE(WasmCodeRefScope::IsOpen());
    {
      WasmCodeRefScope outer;
      EXPECT_EQ(native_module->GetCode(0), codes[0]);  // held by outer
      {
        WasmCodeRefScope inner;
        EXPECT_EQ(manager.LookupCode(codes[1]->instruction_start()), codes[1]);
        EXPECT_EQ(manager.LookupCode(codes[0]->instruction_start()), codes[0]);
        EXPECT_EQ(codes[0]->ref_count(), 3);
        EXPECT_EQ(codes[1]->ref_count(), 2);
        ASSERT_EQ(native_module->RemoveCompiledCode(
                      RemoveFilter::kRemoveTurbofanCode),
                  2u);
        EXPECT_EQ(native_module->num_owned_code(), 2u);
      }
      // Inner closed: code 1 (held by inner only) is freed, code 0 is not.
      EXPECT_EQ(native_module->num_owned_code(), 1u);
      EXPECT_EQ(native_module->freed_code_size(), 700u);
      EXPECT_EQ(codes[0]->ref_count(), 1);
      EXPECT_EQ(manager.LookupCode(codes[0]->instruction_start()), codes[0]);
      EXPECT_EQ(codes[0]->ref_count(), 2) << "a lookup adds to the open scope";
    }
    EXPECT_FALSE(WasmCodeRefScope::IsOpen());
    EXPECT_EQ(native_module->num_owned_code(), 0u);
    EXPECT_EQ(native_module->freed_code_size(), 1200u);
  });
}

// Contract: a module must outlive the scopes holding its code. Destroying
// it earlier aborts with a message instead of leaving the scope to drop
// references on freed code; destroying it after the scope closed, or while
// no scope holds its code, is fine.
TEST(CodeManagerRefCountDeathTest, DestroyingAModuleWhileAScopeHoldsItsCodeAborts) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
          CodeManager manager;
          auto native_module =
              NewHandModule(manager, Arch::kX64, 2, 64 * kKiB);
          CodeMaker maker(*native_module);
          const std::vector<WasmCode*> codes =
              AddAndPublish(*native_module, maker, {TurboFan(0, 300)});
          WasmCodeRefScope scope;
          native_module->GetCode(0);  // held by the scope
          native_module.reset();
        },
        "NativeModule destroyed while a WasmCodeRefScope still holds the code "
        "of function");
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 2, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    ASSERT_EQ(AddAndPublish(*native_module, maker, {TurboFan(0, 300)}).size(),
              1u);
    {
      WasmCodeRefScope scope;
      EXPECT_NE(native_module->GetCode(0), nullptr);
    }
    native_module.reset();  // the scope has closed: no abort
    EXPECT_EQ(manager.committed_bytes(), 0u);
  });
}

// ============================================================================
// Publishing
// ============================================================================

// Invariant: published code of a lower tier never replaces code of a
// higher tier (PublishCode returns nullptr, the dropped code is freed)
// unless the old or the new code is for debugging; equal or higher tiers
// replace; the replaced code is freed; slots lead to the installed code.
TEST(CodeManagerPublishTest, LowerTierReplacesHigherOnlyForDebugging) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 8, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    struct Case {
      CodeSpec first;
      CodeSpec second;
      bool second_installed;
    };
    const Case cases[] = {
        {TurboFan(0, 100), Liftoff(0, 200), false},
        {Liftoff(1, 100), TurboFan(1, 200), true},
        {TurboFan(2, 100), Debug(Liftoff(2, 200)), true},
        {Debug(Liftoff(3, 100)), TurboFan(3, 200), true},
        {Debug(TurboFan(4, 100)), Liftoff(4, 200), true},
        {TurboFan(5, 100), TurboFan(5, 200), true},
        {Liftoff(6, 100), Liftoff(6, 200), true},
        {Debug(Liftoff(7, 100)), Debug(Liftoff(7, 200)), true},
    };
    uint64_t freed = 0;
    for (const Case& c : cases) {
      const uint32_t i = c.first.declared_index;
      SCOPED_TRACE("function " + std::to_string(i));
      WasmCode* first = AddAndPublish(*native_module, maker, {c.first})[0];
      auto added = Add(*native_module, maker, {c.second});
      ASSERT_TRUE(added.ok());
      WasmCode* second = native_module->PublishCode(std::move((*added)[0]));
      WasmCode* installed = native_module->GetCode(i);
      if (c.second_installed) {
        ASSERT_NE(second, nullptr);
        EXPECT_EQ(installed, second);
        EXPECT_EQ(second->tier(), c.second.tier);
        EXPECT_EQ(second->for_debugging(), c.second.for_debugging);
        freed += c.first.size;
      } else {
        EXPECT_EQ(second, nullptr);
        EXPECT_EQ(installed, first);
        freed += c.second.size;
      }
      ExpectSlotsLeadTo(*native_module, i, installed->instruction_start());
      EXPECT_EQ(native_module->freed_code_size(), freed)
          << "the loser is freed";
    }
    EXPECT_EQ(native_module->num_owned_code(), 8u);
  });
}

// Invariant: each RemoveCompiledCode filter removes exactly the matching
// functions (debug, non-debug, Liftoff, TurboFan), returns their number,
// resets their slots to the lazy-compile slots and leaves every other
// function's code and slot as it was.
TEST(CodeManagerPublishTest, RemoveFiltersRemoveExactlyTheMatchingCode) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    struct Case {
      RemoveFilter filter;
      const char* name;
      std::vector<uint32_t> removed;
    };
    // Functions: 0 TurboFan, 1 Liftoff, 2 Liftoff for debugging, 3 TurboFan
    // for debugging, 4 no code.
    const Case cases[] = {
        {RemoveFilter::kRemoveDebugCode, "debug", {2, 3}},
        {RemoveFilter::kRemoveNonDebugCode, "non-debug", {0, 1}},
        {RemoveFilter::kRemoveLiftoffCode, "Liftoff", {1, 2}},
        {RemoveFilter::kRemoveTurbofanCode, "TurboFan", {0, 3}},
    };
    for (Arch arch : {Arch::kX64, Arch::kArm64}) {
      for (const Case& c : cases) {
        SCOPED_TRACE(absl::StrFormat("%s, %s", ArchName(arch), c.name));
        CodeManager manager;
        auto native_module = NewHandModule(manager, arch, 5, 64 * kKiB);
        ASSERT_NE(native_module, nullptr);
        CodeMaker maker(*native_module);
        const std::vector<WasmCode*> codes = AddAndPublish(
            *native_module, maker,
            {TurboFan(0, 100), Liftoff(1, 110), Debug(Liftoff(2, 120)),
             Debug(TurboFan(3, 130))});
        ASSERT_EQ(codes.size(), 4u);
        std::vector<uint32_t> sizes;
        for (const WasmCode* code : codes) {
          sizes.push_back(code->instructions_size());
        }
        EXPECT_EQ(native_module->RemoveCompiledCode(c.filter),
                  c.removed.size());
        uint64_t freed = 0;
        for (uint32_t i = 0; i < 5; ++i) {
          const bool removed =
              std::find(c.removed.begin(), c.removed.end(), i) !=
              c.removed.end();
          if (i == 4 || removed) {
            EXPECT_FALSE(native_module->HasCode(i)) << "function " << i;
            ExpectSlotsLeadTo(*native_module, i,
                              native_module->lazy_slot_address(i));
            if (removed) freed += sizes[i];
          } else {
            EXPECT_EQ(native_module->GetCode(i), codes[i])
                << "function " << i;
            ExpectSlotsLeadTo(*native_module, i,
                              codes[i]->instruction_start());
          }
        }
        EXPECT_EQ(native_module->freed_code_size(), freed);
        EXPECT_EQ(native_module->num_owned_code(), 4u - c.removed.size());
        // Nothing left to match.
        EXPECT_EQ(native_module->RemoveCompiledCode(c.filter), 0u);
      }
    }
  });
}

// Invariant: the serializer writes TurboFan code only, as V8 does (Liftoff
// functions become lazy records): a module with TurboFan and Liftoff code
// serializes to a cache that loads again, with the Liftoff functions lazy;
// a module with Liftoff code only has nothing to serialize
// (kFailedPrecondition).
TEST(CodeManagerPublishTest, SerializerWritesTurboFanCodeOnly) {
  WithSelectedImpl([&]<class I>(const I& impl) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManager manager;
    auto native_module = NewHandModule(manager, Arch::kX64, 3, 64 * kKiB);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    const Environment& env = native_module->env();
    SetExpectedGlobalHeader(*native_module);
    AddAndPublish(*native_module, maker, {Liftoff(0, 100)});
    EXPECT_EQ(impl.Serialize(*native_module).status().code(),
              StatusCode::kFailedPrecondition);
    AddAndPublish(*native_module, maker, {TurboFan(1, 100)});
    auto bytes = impl.Serialize(*native_module);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    auto again = impl.Load(manager, *bytes, native_module->module(), env);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_FALSE((*again)->HasCode(0));
    EXPECT_TRUE((*again)->HasCode(1));
  });
}

// ============================================================================
// Metrics and estimates
// ============================================================================

// Every committed fixture loaded into one manager: the manager's counters
// are the sums of its modules' (committed, reserved, code spaces), each
// module's generated code is the sum of its code sizes, and its memory
// estimate covers at least its committed code.
template <class I>
void ExpectCountersAgreeWithTheLoadedModules(const I& impl) {
  typename I::Manager manager;
  const auto loaded = LoadAll(impl, manager, CommittedFixtures());
  ASSERT_EQ(loaded.size(), CommittedFixtures().size());
  uint64_t committed = 0;
  uint64_t reserved = 0;
  size_t spaces = 0;
  for (const auto& l : loaded) {
    SCOPED_TRACE(l.fixture.fixture.name);
    const auto& m = *l.native_module;
    uint64_t generated = 0;
    for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
      if (const auto* code = m.GetCode(i))
        generated += code->instructions_size();
    }
    EXPECT_EQ(m.generated_code_size(), generated);
    EXPECT_GE(m.committed_code_space(), generated);
    EXPECT_GE(m.EstimateCurrentMemoryConsumption(), m.committed_code_space());
    committed += m.committed_code_space();
    reserved += m.reserved_code_space();
    spaces += CodeSpaceRanges(m).size();
  }
  EXPECT_EQ(manager.committed_bytes(), committed);
  EXPECT_EQ(ReservedBytes(manager), reserved);
  EXPECT_EQ(manager.num_code_spaces(), spaces);
  EXPECT_EQ(NumNativeModules(manager), loaded.size());
}

// Invariant: metadata estimates grow with the module's shape; the
// manager's metrics agree with its modules (committed, reserved, spaces,
// live code = sum of live code sizes, freed code); the memory estimate is
// the manager plus every module's estimate and grows with code. Loaded
// modules' counters, and estimates, metrics snapshots and freed code of
// hand-made modules.
TEST(CodeManagerMetricsTest, EstimatesAndMetricsAreConsistent) {
  WithSelectedImpl([]<class I>(const I& impl) {
    CODE_MANAGER_TYPES_OF(I);
    ExpectCountersAgreeWithTheLoadedModules(impl);
    uint64_t previous = 0;
    for (uint32_t n : {0u, 1u, 10u, 1000u, 100'000u}) {
      const uint64_t size =
          CodeManager::EstimateNativeModuleMetaDataSize(HandModule(n));
      EXPECT_GT(size, previous) << n << " functions";
      previous = size;
    }
    ModuleInfo more_types = HandModule(10);
    more_types.is_signature.assign(50, true);
    more_types.structural_class.assign(50, 0);
    EXPECT_GT(CodeManager::EstimateNativeModuleMetaDataSize(more_types),
              CodeManager::EstimateNativeModuleMetaDataSize(HandModule(10)));

    CodeManager manager;
    auto a = NewHandModule(manager, Arch::kX64, 50, 0);
    auto b = NewHandModule(manager, Arch::kArm64, 50, 0);
    ASSERT_TRUE(a != nullptr && b != nullptr);
    const uint64_t empty_estimate = manager.EstimateCurrentMemoryConsumption();
    CodeMaker maker_a(*a);
    CodeMaker maker_b(*b);
    std::mt19937 rng(7);
    uint64_t estimate = empty_estimate;
    for (int round = 0; round < 10; ++round) {
      std::vector<CodeSpec> specs;
      for (uint32_t f = 0; f < 5; ++f) {
        specs.push_back(TurboFan(
            round * 5 + f,
            std::uniform_int_distribution<uint32_t>(kMinCodeSize, 20000)(rng)));
      }
      AddAndPublish(*a, maker_a, specs);
      AddAndPublish(*b, maker_b, specs);
      const uint64_t now = manager.EstimateCurrentMemoryConsumption();
      EXPECT_GT(now, estimate) << "round " << round;
      estimate = now;
    }
    // Replace half of a's code: the replaced objects are freed.
    std::vector<CodeSpec> replacements;
    for (uint32_t f = 0; f < 50; f += 2) {
      replacements.push_back(TurboFan(f, 16));
    }
    AddAndPublish(*a, maker_a, replacements);

    const CodeManagerMetrics m = manager.Metrics();
    uint64_t live = 0;
    for (const NativeModule* native_module : {a.get(), b.get()}) {
      for (uint32_t f = 0; f < 50; ++f) {
        if (const WasmCode* code = native_module->GetCode(f)) {
          live += code->instructions_size();
        }
      }
    }
    EXPECT_EQ(m.generated_code_size, live);
    EXPECT_EQ(m.generated_code_size,
              a->generated_code_size() + b->generated_code_size());
    EXPECT_EQ(m.freed_code_size, a->freed_code_size() + b->freed_code_size());
    EXPECT_GT(m.freed_code_size, 0u);
    EXPECT_EQ(m.committed_code_space, manager.committed_bytes());
    EXPECT_EQ(m.committed_code_space,
              a->committed_code_space() + b->committed_code_space());
    EXPECT_EQ(m.reserved_code_space,
              a->reserved_code_space() + b->reserved_code_space());
    EXPECT_EQ(m.num_code_spaces,
              a->code_spaces().size() + b->code_spaces().size());
    EXPECT_EQ(m.num_code_spaces, manager.num_code_spaces());
    EXPECT_EQ(m.num_native_modules, 2u);
    EXPECT_EQ(m.max_committed_code_space,
              CodeManagerOptions{}.max_committed_code_space);
    EXPECT_EQ(manager.EstimateCurrentMemoryConsumption(),
              sizeof(CodeManager) + a->EstimateCurrentMemoryConsumption() +
                  b->EstimateCurrentMemoryConsumption());
    EXPECT_GE(a->EstimateCurrentMemoryConsumption(),
              CodeManager::EstimateNativeModuleMetaDataSize(a->module()) +
                  a->committed_code_space());
  });
}

// ============================================================================
// Memory protection keys
// ============================================================================

// pkey_alloc straight from the kernel, independent of the library's probe.
bool KernelOffersProtectionKeys(std::string* why) {
  const long key = syscall(SYS_pkey_alloc, 0, 0);
  if (key < 0) {
    *why = std::string("pkey_alloc: ") + std::strerror(errno);
    return false;
  }
  syscall(SYS_pkey_free, key);
  return true;
}

// Permissions ("rwxp" style) of the mapping containing `address`, from
// /proc/self/maps.
std::string MappingPermissions(uint64_t address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range;
    std::string perms;
    in >> range >> perms;
    const size_t dash = range.find('-');
    const uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    const uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (address >= start && address < end) return perms;
  }
  return "";
}

// Invariant: HasMemoryProtectionKeySupport() says whether the kernel
// hands out a protection key; a manager told not to use keys does not;
// no thread may write code outside a write scope.
TEST(CodeManagerProtectionTest, KeySupportMatchesTheKernelAndKeysCanBeTurnedOff) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    std::string why;
    const bool kernel = KernelOffersProtectionKeys(&why);
    CodeManagerOptions options;
    options.use_memory_protection_keys = false;
    CodeManager without_keys(options);
    CodeManager with_keys;
    EXPECT_EQ(without_keys.HasMemoryProtectionKeySupport(), kernel) << why;
    EXPECT_EQ(CodeProtection::HasMemoryProtectionKeySupport(), kernel);
    EXPECT_FALSE(without_keys.MemoryProtectionKeysEnabled());
    EXPECT_EQ(with_keys.MemoryProtectionKeysEnabled(), kernel)
        << "keys are used exactly where the system offers them";
    EXPECT_FALSE(without_keys.MemoryProtectionKeyWritable());
    EXPECT_FALSE(with_keys.MemoryProtectionKeyWritable());
    // Loading a module leaves no write window open.
    auto native_module = NewHandModule(without_keys, Arch::kX64, 4, 0);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    AddAndPublish(*native_module, maker, {TurboFan(0, 100)});
    EXPECT_FALSE(without_keys.MemoryProtectionKeyWritable());
    const uint64_t code = native_module->GetCode(0)->instruction_start();
    EXPECT_EQ(MappingPermissions(code).substr(0, 3), "r-x");
  });
}

// Invariant (mprotect mode): write scopes nest; a page stays writable
// until the outermost scope covering it closes, and is executable, not
// writable, afterwards.
TEST(CodeManagerProtectionTest, NestedWriteScopesKeepThePageWritableUntilTheOuterCloses) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    CodeManagerOptions options;
    options.use_memory_protection_keys = false;
    CodeManager manager(options);
    auto native_module = NewHandModule(manager, Arch::kX64, 4, 0);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    WasmCode* code =
        AddAndPublish(*native_module, maker, {TurboFan(0, 100)})[0];
    uint8_t* bytes = code->mutable_instructions();
    const uint64_t at = code->instruction_start();
    {
      CodeWriteScope outer(manager.protection(), bytes, 100);
      EXPECT_EQ(MappingPermissions(at).substr(0, 3), "rw-");
      {
        CodeWriteScope inner(manager.protection(), bytes + 50, 10);
        EXPECT_TRUE(manager.MemoryProtectionKeyWritable());
      }
      EXPECT_TRUE(manager.MemoryProtectionKeyWritable());
      EXPECT_EQ(MappingPermissions(at).substr(0, 3), "rw-")
          << "closing the inner scope ended the outer scope's write window";
    }
    EXPECT_FALSE(manager.MemoryProtectionKeyWritable());
    EXPECT_EQ(MappingPermissions(at).substr(0, 3), "r-x");
  });
}

// Invariant (key mode): with a protection key, code pages are mapped once;
// a write scope opens writes for its own thread only, and no thread may
// write outside a scope. Runs only where the system offers keys.
TEST(CodeManagerProtectionTest, KeyModeWriteWindowIsPerThread) {
  WithSelectedImpl([&]<class I>(const I&) {
    CODE_MANAGER_TYPES_OF(I);
    std::string why;
    if (!CodeProtection::HasMemoryProtectionKeySupport()) {
      KernelOffersProtectionKeys(&why);
      GTEST_SKIP() << "no memory protection keys on this machine (" << why
                   << "); the key mode can only be tested where they exist";
    }
    CodeManager manager;
    ASSERT_TRUE(manager.MemoryProtectionKeysEnabled());
    auto native_module = NewHandModule(manager, Arch::kX64, 4, 0);
    ASSERT_NE(native_module, nullptr);
    CodeMaker maker(*native_module);
    WasmCode* code =
        AddAndPublish(*native_module, maker, {TurboFan(0, 100)})[0];
    EXPECT_FALSE(manager.MemoryProtectionKeyWritable());
    // The other thread exists before the window opens: Linux copies PKRU to
    // a new thread, so a thread started inside a write window inherits the
    // window and would not show that it is per thread.
    std::binary_semaphore window_open{0};
    std::binary_semaphore checked{0};
    bool other_thread_writable = true;
    std::thread other([&] {
      window_open.acquire();
      other_thread_writable = manager.MemoryProtectionKeyWritable();
      checked.release();
    });
    {
      CodeWriteScope write(manager.protection(), code->mutable_instructions(),
                           100);
      EXPECT_TRUE(manager.MemoryProtectionKeyWritable());
      code->mutable_instructions()[0] = 0xcc;
      window_open.release();
      checked.acquire();
      EXPECT_FALSE(other_thread_writable);
    }
    other.join();
    EXPECT_FALSE(manager.MemoryProtectionKeyWritable());
  });
}

}  // namespace
}  // namespace wasmcache::testing
