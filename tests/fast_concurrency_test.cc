// The fast implementation under concurrency (run under ThreadSanitizer by
// tools/test.sh): parallel loads on a shared pool from several threads at
// once, lookups by pc while other modules come and go, parallel
// serialization, and thread pools of every size giving identical results.

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "fast/deserializer.h"
#include "fast/serializer.h"
#include "fast/thread_pool.h"
#include "gtest/gtest.h"
#include "synth/synth.h"
#include "tests/test_util.h"

namespace wasmcache {
namespace {

struct Input {
  std::vector<uint8_t> cache;
  ModuleInfo module;
  Environment env;
};

Input Synthesized(Arch arch, uint64_t seed, uint32_t functions) {
  auto r = synth::Synthesize(
      {.arch = arch, .seed = seed, .num_functions = functions});
  EXPECT_TRUE(r.ok()) << r.status();
  auto module = DecodeModuleInfo(r->wasm);
  EXPECT_TRUE(module.ok()) << module.status();
  Input in{std::move(r->cache), *module, {}};
  in.env = DefaultEnvironment(arch, in.module);
  return in;
}

std::vector<uint8_t> LoadAndSerialize(fast::CodeManager& manager,
                                      const Input& in,
                                      const fast::LoadOptions& options) {
  auto native = fast::Deserialize(manager, in.cache, in.module, in.env,
                                  options);
  EXPECT_TRUE(native.ok()) << native.status();
  if (!native.ok()) return {};
  auto bytes = fast::Serializer(**native, options).Serialize();
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? std::vector<uint8_t>(bytes->begin(), bytes->end())
                    : std::vector<uint8_t>{};
}

TEST(FastConcurrencyTest, PoolRunsEveryTaskOnceAtAnySize) {
  for (int size : {1, 2, 3, 8}) {
    fast::ThreadPool pool(size);
    for (size_t tasks : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}}) {
      std::vector<std::atomic<int>> runs(tasks);
      pool.Run(tasks, [&](size_t task, int worker) {
        EXPECT_LT(worker, size);
        runs[task].fetch_add(1);
      });
      for (size_t t = 0; t < tasks; ++t) EXPECT_EQ(runs[t].load(), 1);
    }
  }
}

TEST(FastConcurrencyTest, EveryPoolSizeGivesTheSameBytes) {
  const Input in = Synthesized(Arch::kArm64, 7, 300);
  fast::CodeManager manager;
  fast::ThreadPool one(1);
  const auto expected = LoadAndSerialize(manager, in, {.pool = &one});
  ASSERT_FALSE(expected.empty());
  for (int size : {2, 3, 5}) {
    fast::ThreadPool pool(size);
    EXPECT_EQ(LoadAndSerialize(manager, in, {.pool = &pool}), expected)
        << size << " threads";
  }
}

// Enough code for many batches: the record walk runs while other threads
// check, copy and relocate the batches it has closed.
TEST(FastConcurrencyTest, ManyBatchesGiveTheSameBytesAndErrorsOnEveryPoolSize) {
  const Input in = Synthesized(Arch::kX64, 11, 12000);
  // Batches hold at least 64 KiB of code: this makes more than eight.
  ASSERT_GT(in.cache.size(), size_t{8} * 64 * 1024);
  fast::CodeManager manager;
  fast::ThreadPool one(1);
  const auto expected = LoadAndSerialize(manager, in, {.pool = &one});
  ASSERT_FALSE(expected.empty());
  std::mt19937_64 rng(7);
  for (int size : {2, 4}) {
    fast::ThreadPool pool(size);
    EXPECT_EQ(LoadAndSerialize(manager, in, {.pool = &pool}), expected)
        << size << " threads";
    // A bad byte late in the code, and one early: the same error either way.
    for (int i = 0; i < 6; ++i) {
      std::vector<uint8_t> mutated = in.cache;
      const size_t at = (i % 2 == 0 ? mutated.size() / 2 : mutated.size() / 8) +
                        rng() % (mutated.size() / 4);
      mutated[at] ^= 0xff;
      auto a = fast::Deserialize(manager, mutated, in.module, in.env,
                                 {.pool = &one});
      auto b = fast::Deserialize(manager, mutated, in.module, in.env,
                                 {.pool = &pool});
      EXPECT_EQ(a.status(), b.status()) << "byte 0x" << std::hex << at;
    }
  }
}

TEST(FastConcurrencyTest, ConcurrentLoadsLookupsAndSerializations) {
  std::vector<Input> inputs;
  for (int a = 0; a < kNumArchs; ++a) {
    inputs.push_back(Synthesized(static_cast<Arch>(a), 100 + a, 60));
  }
  fast::CodeManager manager;
  // The expected bytes, one thread each.
  std::vector<std::vector<uint8_t>> expected;
  for (const Input& in : inputs) {
    expected.push_back(LoadAndSerialize(manager, in, {.max_threads = 1}));
  }
  // A module that stays while others come and go; readers look it up.
  auto resident = fast::Deserialize(manager, inputs[0].cache,
                                    inputs[0].module, inputs[0].env);
  ASSERT_TRUE(resident.ok()) << resident.status();
  std::vector<uint64_t> pcs;
  for (uint32_t i = 0; i < (*resident)->module().num_declared_functions; ++i) {
    if (const fast::WasmCode* code = (*resident)->GetCode(i)) {
      pcs.push_back(code->instruction_start() + code->instructions_size() / 2);
    }
  }
  ASSERT_FALSE(pcs.empty());
  std::atomic<bool> stop{false};
  std::atomic<size_t> lookups{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        for (uint64_t pc : pcs) {
          const fast::WasmCode* code = manager.LookupCode(pc);
          ASSERT_NE(code, nullptr);
          ASSERT_TRUE(code->contains(pc));
          ASSERT_EQ(code->native_module(), resident->get());
          lookups.fetch_add(1);
        }
      }
    });
  }
  std::vector<std::thread> loaders;
  for (int l = 0; l < 3; ++l) {
    loaders.emplace_back([&, l] {
      for (size_t round = 0; round < 2; ++round) {
        for (size_t i = l % inputs.size(); i < inputs.size(); i += 3) {
          EXPECT_EQ(LoadAndSerialize(manager, inputs[i], {}), expected[i])
              << ArchName(inputs[i].env.arch);
        }
      }
    });
  }
  for (std::thread& t : loaders) t.join();
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_GT(lookups.load(), 0u);
  EXPECT_EQ(manager.num_native_modules(), 1u);
}

TEST(FastConcurrencyTest, RejectionsAreTheSameOnEveryPoolSize) {
  const Input in = Synthesized(Arch::kX64, 3, 200);
  std::mt19937_64 rng(42);
  fast::ThreadPool pool(4);
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> mutated = in.cache;
    for (int c = 0; c < 3; ++c) {
      mutated[rng() % mutated.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    }
    fast::CodeManager manager;
    auto one = fast::Deserialize(manager, mutated, in.module, in.env,
                                 {.max_threads = 1});
    auto many = fast::Deserialize(manager, mutated, in.module, in.env,
                                  {.pool = &pool});
    ASSERT_EQ(one.status(), many.status()) << "mutant " << i;
  }
}

}  // namespace
}  // namespace wasmcache
