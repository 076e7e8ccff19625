// The code manager under concurrent use, with generated x64 code that runs.
//
// Stress: threads call through jump-table slots (inside ExecutionScopes)
// and look code up by pc (inside WasmCodeRefScopes) while another thread
// re-patches the slots: it publishes two versions of a function in turn,
// replaces Liftoff code with TurboFan code, removes all code and adds it
// back. Every call must return a value some published version returns (or
// the function index, from the lazy-compile stub), every lookup must give
// nullptr or intact code that contains the pc, and at the end every byte
// of code ever added is either live or freed, exactly once.
//
// Lifetime: code held by WasmCodeRefScopes on several threads, removed by
// another, stays readable and runnable until the last scope closes and is
// then freed once; lookups that find code just as its last reference goes
// must not bring freed code back.
//
// Bounded: a few hundred writer steps; the suite takes about a second
// (several under ThreadSanitizer). It needs an x64 host; elsewhere it
// reports itself skipped.
//
// Implementations (tests/impl.h): every case runs against both, one body
// over the implementation's Api (tests/code_api.h): plain, the reference's
// CodeManager, NativeModule, WasmCode, WasmCodeRefScope and
// ExecutionScope; with WASMCACHE_IMPL=fast (names ending in ".fast") the
// fast ones.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "spec/v8_tables.h"
#include "tests/code_api.h"
#include "tests/x64_codegen.h"

namespace wasmcache {
namespace {

#if defined(__x86_64__)

using testing::ApiFor;
using testing::FastApi;
using testing::ReferenceApi;
using testing::WithSelectedApi;
using testing::x64::Assembler;
using testing::x64::CallGenerated;
using testing::x64::ExecutableBuffer;
using testing::x64::GeneratedCode;
using testing::x64::Reg;
using wasmcache::Environment;
using wasmcache::ModuleInfo;

constexpr uint32_t kImported = 1;

enum Declared : uint32_t {
  kConstant,  // returns kFirst, kSecond (TurboFan) or kLiftoff
  kCaller,    // constant() + 1000, through the near jump table
  kStable,    // a + b
  kNumDeclared,
};

constexpr uint32_t FunctionIndex(uint32_t declared) {
  return kImported + declared;
}

constexpr int64_t kFirst = 111;
constexpr int64_t kSecond = 222;
constexpr int64_t kLiftoff = 333;

ModuleInfo TestModule() {
  ModuleInfo module;
  module.num_imported_functions = kImported;
  module.num_declared_functions = kNumDeclared;
  module.is_signature = {true};
  module.structural_class = {0};
  module.declared_function_types.assign(kNumDeclared, 0);
  return module;
}

GeneratedCode GenerateConstant(int64_t value, uint8_t tier) {
  Assembler masm;
  masm.MovImm(Reg::kRax, static_cast<int32_t>(value));
  masm.Ret();
  return masm.Finish(FunctionIndex(kConstant), tier);
}

GeneratedCode GenerateCaller() {
  Assembler masm;
  masm.Push(Reg::kRbp);
  masm.Mov(Reg::kRbp, Reg::kRsp);
  masm.CallFunction(FunctionIndex(kConstant));
  masm.AddImm(Reg::kRax, 1000);
  masm.Pop(Reg::kRbp);
  masm.Ret();
  return masm.Finish(FunctionIndex(kCaller));
}

GeneratedCode GenerateStable() {
  Assembler masm;
  masm.Mov(Reg::kRax, Reg::kRdi);
  masm.Add(Reg::kRax, Reg::kRsi);
  masm.Ret();
  return masm.Finish(FunctionIndex(kStable));
}

bool IsConstantValue(int64_t value) {
  return value == kFirst || value == kSecond || value == kLiftoff;
}

// Helpers take a module or manager of either implementation (ApiFor).
class ConcurrencyTest : public ::testing::Test {
 protected:
  ConcurrencyTest()
      : module_(TestModule()),
        env_(testing::x64::HostEnvironment(module_)),
        lazy_stub_(testing::x64::LazyCompileStubCode()),
        first_(GenerateConstant(kFirst, kTierTurboFan)),
        second_(GenerateConstant(kSecond, kTierTurboFan)),
        liftoff_(GenerateConstant(kLiftoff, kTierLiftoff)),
        caller_(GenerateCaller()),
        stable_(GenerateStable()) {
    testing::x64::SetBuiltinEntry(env_, v8_13_6::kWasmCompileLazy,
                                  lazy_stub_.address());
    // Before any thread starts: prepared_ is not guarded.
    WithSelectedApi([&]<class Api>(const Api&) {
      for (const GeneratedCode* code :
           {&first_, &second_, &liftoff_, &caller_, &stable_}) {
        Prepared<Api>(*code);
      }
    });
  }

  template <class Manager>
  std::unique_ptr<typename ApiFor<Manager>::NativeModule> NewModule(
      Manager& manager) {
    auto native = manager.NewNativeModule(module_, env_, 4096);
    EXPECT_TRUE(native.ok()) << native.status();
    return native.ok() ? *std::move(native) : nullptr;
  }

  // The checked form of `code` for `Api`, prepared once: checking is not
  // what these tests exercise, and it would slow the writers down.
  template <class Api>
  const typename Api::CompiledCode& Prepared(const GeneratedCode& code) {
    using CompiledCode = typename Api::CompiledCode;
    auto& list = std::get<PreparedList<CompiledCode>>(prepared_);
    for (const auto& [generated, prepared] : list) {
      if (generated == &code) return prepared;
    }
    auto prepared = Api::PrepareCompiledCode(module_, env_, code.index,
                                             code.header, code.parts());
    EXPECT_TRUE(prepared.ok()) << prepared.status();
    list.emplace_back(&code,
                      prepared.ok() ? *std::move(prepared) : CompiledCode{});
    return list.back().second;
  }

  // Adds `codes` as one batch and publishes them. Returns the bytes added.
  template <class Module>
  uint64_t AddAndPublish(Module& native,
                         std::initializer_list<const GeneratedCode*> codes) {
    using Api = ApiFor<Module>;
    std::vector<typename Api::CompiledCode> batch;
    uint64_t bytes = 0;
    for (const GeneratedCode* code : codes) {
      batch.push_back(Prepared<Api>(*code));
      bytes += code->instructions.size();
    }
    auto added = native.AddCompiledCode(batch);
    EXPECT_TRUE(added.ok()) << added.status();
    if (!added.ok()) return 0;
    native.PublishCode(*std::move(added));
    return bytes;
  }

  // Whether live code equals one of the generated versions of its
  // function, outside the relocated fields.
  template <class WasmCode>
  bool IsIntact(const WasmCode& code) const {
    std::vector<const GeneratedCode*> versions;
    switch (code.index() - kImported) {
      case kConstant:
        versions = {&first_, &second_, &liftoff_};
        break;
      case kCaller:
        versions = {&caller_};
        break;
      case kStable:
        versions = {&stable_};
        break;
      default:
        return false;
    }
    const absl::Span<const uint8_t> live = code.instructions();
    for (const GeneratedCode* version : versions) {
      if (version->instructions.size() != live.size()) continue;
      std::vector<bool> relocated(live.size(), false);
      for (const reference::RelocEntry& entry : version->relocs) {
        for (uint32_t b = 0; b < 4; ++b) relocated[entry.pc + b] = true;
      }
      bool same = true;
      for (size_t i = 0; i < live.size() && same; ++i) {
        same = relocated[i] || live[i] == version->instructions[i];
      }
      if (same) return true;
    }
    return false;
  }

  ModuleInfo module_;
  Environment env_;
  ExecutableBuffer lazy_stub_;
  GeneratedCode first_;
  GeneratedCode second_;
  GeneratedCode liftoff_;
  GeneratedCode caller_;
  GeneratedCode stable_;
  template <class CompiledCode>
  using PreparedList =
      std::vector<std::pair<const GeneratedCode*, CompiledCode>>;
  std::tuple<PreparedList<ReferenceApi::CompiledCode>,
             PreparedList<FastApi::CompiledCode>>
      prepared_;
};

// A short sleep, which (unlike a yield) lets a waiting thread run when
// there are more busy threads than cores.
void Pause() { std::this_thread::sleep_for(std::chrono::microseconds(50)); }

// Waits until `done` holds: spins a little, then sleeps between checks
// (with more threads than cores, yielding alone can leave the awaited
// thread unscheduled for long).
template <class Predicate>
void SpinUntil(Predicate done) {
  for (int spins = 0; !done(); ++spins) {
    if (spins < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
}

TEST_F(ConcurrencyTest, CallsAndLookupsWhileSlotsArePatched) {
  WithSelectedApi([&]<class Api>(const Api&) {
    constexpr int kWriterSteps = 1000;
    constexpr int kExecutors = 2;
    constexpr int kMaxCalls = 5'000'000;      // per executor
    constexpr int kMaxLookups = 2'000'000;    // per lookup thread
    constexpr uint64_t kLookupWindow = 1024;  // bytes after the jump tables

    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    uint64_t added = AddAndPublish(*native, {&first_, &caller_, &stable_});
    const uint64_t freed_at_start = manager.Metrics().freed_code_size;

    const testing::TablesBlock tables =
        Api::TablesOf(Api::FirstSpaceTables(*native));
    const uint64_t tables_start = tables.start;
    const uint64_t code_start = tables_start + tables.size;
    uint64_t targets[kNumDeclared];
    for (uint32_t d = 0; d < kNumDeclared; ++d) {
      targets[d] = Api::CallTarget(*native, d);
    }

    std::atomic<bool> writer_done{false};
    std::atomic<uint64_t> calls_done[kExecutors] = {};
    std::atomic<bool> executor_done[kExecutors] = {};
    std::atomic<int> bad_calls{0};
    std::atomic<int> bad_lookups{0};
    std::atomic<int> lazy_calls{0};
    std::atomic<uint64_t> found{0};

    const bool executors_exclude_writer =
        !manager.MemoryProtectionKeysEnabled();
    std::atomic<bool> writer_waiting{false};
    auto executor = [&](int id) {
      std::mt19937_64 random(id);
      for (int i = 0; i < kMaxCalls && !writer_done.load(); ++i) {
        const int64_t a = static_cast<int64_t>(random() % 1000);
        const int64_t b = static_cast<int64_t>(random() % 1000);
        int64_t constant, caller, stable;
        {
          typename Api::NativeModule::ExecutionScope scope(*native);
          constant = CallGenerated(targets[kConstant], 0, 0);
          caller = CallGenerated(targets[kCaller], 0, 0);
          stable = CallGenerated(targets[kStable], a, b);
        }
        const bool constant_ok =
            IsConstantValue(constant) || constant == FunctionIndex(kConstant);
        const bool caller_ok = IsConstantValue(caller - 1000) ||
                               caller == 1000 + FunctionIndex(kConstant) ||
                               caller == FunctionIndex(kCaller);
        const bool stable_ok =
            stable == a + b || stable == FunctionIndex(kStable);
        if (!constant_ok || !caller_ok || !stable_ok) {
          if (bad_calls.fetch_add(1) == 0) {
            ADD_FAILURE() << "calls returned " << constant << ", " << caller
                          << ", " << stable << " for (" << a << ", " << b
                          << ")";
          }
        }
        if (constant == FunctionIndex(kConstant)) lazy_calls.fetch_add(1);
        calls_done[id].fetch_add(1, std::memory_order_release);
        // Executors that exclude writers (mprotect mode) step aside for one
        // that waits: a shared mutex does not promise writers a turn.
        if (executors_exclude_writer) {
          SpinUntil([&] { return !writer_waiting.load(); });
        }
        // With more threads than cores, pause now and then so that the
        // writer runs.
        if (i % 128 == 127) Pause();
      }
      executor_done[id].store(true);
    };

    auto looker = [&](int id) {
      std::mt19937_64 random(100 + id);
      for (int i = 0; i < kMaxLookups && !writer_done.load(); ++i) {
        if (i % 128 == 127) Pause();
        typename Api::WasmCodeRefScope scope;
        const uint64_t pc = code_start + random() % kLookupWindow;
        // Jump tables are not code.
        if (manager.LookupCode(tables_start + pc % tables.size) != nullptr) {
          bad_lookups.fetch_add(1);
        }
        const auto* code = manager.LookupCode(pc);
        if (code == nullptr) continue;
        found.fetch_add(1, std::memory_order_relaxed);
        bool ok = code->contains(pc) && IsIntact(*code);
        if (ok && i % 16 == 0) {
          // Hold the code a while: removal and reuse of its space must wait.
          for (int y = 0; y < 8; ++y) std::this_thread::yield();
          ok = IsIntact(*code) && manager.LookupCode(pc) == code;
        }
        if (!ok && bad_lookups.fetch_add(1) == 0) {
          ADD_FAILURE() << "lookup of 0x" << std::hex << pc
                        << " gave code at 0x" << code->instruction_start()
                        << std::dec << " of " << code->instructions_size()
                        << " bytes, function " << code->index();
        }
      }
    };

    std::vector<std::thread> threads;
    for (int id = 0; id < kExecutors; ++id) threads.emplace_back(executor, id);
    threads.emplace_back(looker, 0);

    // Code that leaves the table stays alive (in this scope) until every
    // executor has finished the call it was in: with protection keys,
    // executors do not exclude writers.
    auto wait_for_executors = [&] {
      uint64_t seen[kExecutors];
      for (int id = 0; id < kExecutors; ++id) seen[id] = calls_done[id].load();
      for (int id = 0; id < kExecutors; ++id) {
        SpinUntil([&] {
          return executor_done[id].load() ||
                 calls_done[id].load(std::memory_order_acquire) > seen[id];
        });
      }
    };
    const auto started = std::chrono::steady_clock::now();
    for (int step = 0; step < kWriterSteps; ++step) {
      typename Api::WasmCodeRefScope keep;
      writer_waiting.store(true);
      switch (step % 10) {
        case 8:
          // d0 is TurboFan here: everything goes.
          EXPECT_EQ(native->RemoveCompiledCode(
                        Api::RemoveFilter::kRemoveTurbofanCode),
                    kNumDeclared);
          break;
        case 9:
          // Liftoff first; the next step's TurboFan code replaces it.
          added += AddAndPublish(*native, {&liftoff_, &caller_, &stable_});
          break;
        default:
          added += AddAndPublish(*native, {step % 2 == 0 ? &first_ : &second_});
          break;
      }
      writer_waiting.store(false);
      wait_for_executors();
    }
    const auto writer_time = std::chrono::steady_clock::now() - started;
    writer_done.store(true);
    for (std::thread& thread : threads) thread.join();

    EXPECT_EQ(bad_calls.load(), 0);
    EXPECT_EQ(bad_lookups.load(), 0);
    EXPECT_GT(found.load(), 0u) << "no lookup found code";
    uint64_t calls = 0;
    for (auto& count : calls_done) calls += count.load();
    EXPECT_GT(calls, 0u);
    // Every byte added is live or was freed, once.
    const auto metrics = manager.Metrics();
    EXPECT_EQ(metrics.generated_code_size +
                  (metrics.freed_code_size - freed_at_start),
              added);
    EXPECT_EQ(metrics.generated_code_size, first_.instructions.size() +
                                               caller_.instructions.size() +
                                               stable_.instructions.size())
        << "the last step published d0's TurboFan code over the full set";
    std::printf(
        "writer: %d steps in %lld ms; %llu calls (%d lazy), %llu "
        "lookups found code\n",
        kWriterSteps,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(writer_time)
                .count()),
        static_cast<unsigned long long>(calls), lazy_calls.load(),
        static_cast<unsigned long long>(found.load()));
  });
}

// Three threads hold one code object in scopes (one of them in two nested
// scopes) while the main thread removes it. The code stays readable and
// runnable until the last scope closes, in any order, and is freed once.
TEST_F(ConcurrencyTest, NestedScopesAcrossThreadsFreeCodeOnce) {
  constexpr int kRounds = 40;
  constexpr int kHolders = 3;
  WithSelectedApi([&]<class Api>(const Api&) {
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    const uint64_t size = stable_.instructions.size();
    std::mt19937 random(7);

    for (int round = 0; round < kRounds; ++round) {
      SCOPED_TRACE(::testing::Message() << "round " << round);
      AddAndPublish(*native, {&stable_});
      uint64_t start = 0;
      {
        typename Api::WasmCodeRefScope scope;
        start = native->GetCode(kStable)->instruction_start();
      }
      const uint64_t freed_before = manager.Metrics().freed_code_size;
      // Holder h closes its scopes one per release step; released[h] counts
      // the steps done (after the scope's destructor ran).
      std::atomic<int> holding{0};
      std::atomic<int> release[kHolders] = {};
      std::atomic<int> released[kHolders] = {};
      std::atomic<int> failures{0};
      std::vector<std::thread> threads;
      // Holder 0: found by pc, an outer and an inner scope.
      threads.emplace_back([&] {
        {
          typename Api::WasmCodeRefScope outer;
          const auto* code = manager.LookupCode(start + 1);
          if (code == nullptr || code->instruction_start() != start) {
            failures.fetch_add(1);
          }
          {
            typename Api::WasmCodeRefScope inner;
            if (manager.LookupCode(start) != code) failures.fetch_add(1);
            holding.fetch_add(1);
            SpinUntil([&] { return release[0].load() >= 1; });
          }
          released[0].store(1);
          SpinUntil([&] { return release[0].load() >= 2; });
        }
        released[0].store(2);
      });
      // Holders 1 and 2: through the code table, one scope each.
      for (int id = 1; id < kHolders; ++id) {
        threads.emplace_back([&, id] {
          {
            typename Api::WasmCodeRefScope scope;
            const auto* code = native->GetCode(kStable);
            if (code == nullptr || code->instruction_start() != start) {
              failures.fetch_add(1);
            }
            holding.fetch_add(1);
            SpinUntil([&] { return release[id].load() >= 1; });
          }
          released[id].store(1);
        });
      }
      SpinUntil([&] { return holding.load() == kHolders; });
      EXPECT_EQ(
          native->RemoveCompiledCode(Api::RemoveFilter::kRemoveTurbofanCode),
          1u);
      // Release steps in a random order; holder 0 has two (inner first).
      std::vector<int> steps = {0, 0, 1, 2};
      std::shuffle(steps.begin(), steps.end(), random);
      int given[kHolders] = {};
      for (size_t s = 0; s < steps.size(); ++s) {
        const int id = steps[s];
        const int step = ++given[id];
        release[id].store(step);
        SpinUntil([&] { return released[id].load() >= step; });
        if (s + 1 == steps.size()) break;
        // Someone still holds the code: intact, runnable, not freed.
        EXPECT_EQ(manager.Metrics().freed_code_size, freed_before);
        const auto* code = native->Lookup(start);
        ASSERT_NE(code, nullptr);
        EXPECT_TRUE(IsIntact(*code));
        typename Api::NativeModule::ExecutionScope execution(*native);
        EXPECT_EQ(CallGenerated(start, 20, 22), 42);
      }
      for (std::thread& thread : threads) thread.join();
      EXPECT_EQ(failures.load(), 0);
      EXPECT_EQ(manager.Metrics().freed_code_size - freed_before, size);
      EXPECT_EQ(manager.LookupCode(start), nullptr);
      EXPECT_EQ(native->Lookup(start), nullptr);
      EXPECT_EQ(native->num_owned_code(), 0u);
    }
  });
}

// Lookups that find code just as its last reference goes: the lookup may
// take the code back (it is not freed yet) or find nothing; either way the
// code is freed once, after the last scope holding it closes.
TEST_F(ConcurrencyTest, LookupsRacingTheLastReference) {
  constexpr int kRounds = 1000;
  constexpr int kLookers = 1;
  WithSelectedApi([&]<class Api>(const Api&) {
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    const uint64_t size = stable_.instructions.size();

    // A looker reads the epoch, then the pc (0 for none), and when done with
    // that lookup publishes the epoch it read: once it has published epoch
    // E, it holds nothing it found before E began.
    std::atomic<uint64_t> target{0};
    std::atomic<uint64_t> epoch{0};
    std::atomic<uint64_t> done_epoch[kLookers] = {};
    std::atomic<uint64_t> hits[kLookers] = {};  // lookups that found code
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> lookers;
    for (int id = 0; id < kLookers; ++id) {
      lookers.emplace_back([&, id] {
        for (int i = 0; !stop.load(); ++i) {
          if (i % 128 == 127) Pause();
          const uint64_t seen = epoch.load();
          const uint64_t pc = target.load();
          if (pc != 0) {
            typename Api::WasmCodeRefScope scope;
            const auto* code = manager.LookupCode(pc);
            if (code != nullptr && (!code->contains(pc) || !IsIntact(*code))) {
              failures.fetch_add(1);
            }
            if (code != nullptr) {
              hits[id].fetch_add(1);
              // Hold it for a varying while, so that removals meet it held.
              for (int y = 0; y < i % 4; ++y) std::this_thread::yield();
            }
          }
          done_epoch[id].store(seen);
        }
      });
    }
    uint64_t freed = manager.Metrics().freed_code_size;
    int lookups_kept_code = 0;
    for (int round = 0; round < kRounds; ++round) {
      AddAndPublish(*native, {&stable_});
      uint64_t start = 0;
      {
        typename Api::WasmCodeRefScope scope;
        start = native->GetCode(kStable)->instruction_start();
      }
      uint64_t hits_before[kLookers];
      for (int id = 0; id < kLookers; ++id) hits_before[id] = hits[id].load();
      target.store(start + 1);
      // Once every looker is finding the code, drop the table's reference.
      for (int id = 0; id < kLookers; ++id) {
        SpinUntil([&] { return hits[id].load() > hits_before[id]; });
      }
      for (int y = 0; y < round % 8; ++y) std::this_thread::yield();
      EXPECT_EQ(
          native->RemoveCompiledCode(Api::RemoveFilter::kRemoveTurbofanCode),
          1u);
      lookups_kept_code += native->num_owned_code() != 0;
      target.store(0);
      const uint64_t cleared = epoch.fetch_add(1) + 1;
      for (int id = 0; id < kLookers; ++id) {
        SpinUntil([&] { return done_epoch[id].load() >= cleared; });
      }
      freed += size;
      if (manager.Metrics().freed_code_size != freed ||
          native->num_owned_code() != 0) {
        ADD_FAILURE() << "round " << round << ": freed "
                      << manager.Metrics().freed_code_size << ", expected "
                      << freed;
        break;
      }
    }
    stop.store(true);
    for (std::thread& thread : lookers) thread.join();
    EXPECT_EQ(failures.load(), 0);
    std::printf("%d of %d removals found the code held by a lookup\n",
                lookups_kept_code, kRounds);
  });
}

#else  // !defined(__x86_64__)

TEST(ConcurrencyTest, NeedsAnX64Host) {
  GTEST_SKIP() << "the generated code is x64 and this host cannot run it";
}

#endif  // defined(__x86_64__)

}  // namespace
}  // namespace wasmcache
