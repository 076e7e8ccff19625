// Lookup benchmark: resolving a pc to its code on a real V8 13.6 cache.
//
// Loads the largest x64 fixture available (build/fixtures-large/x64/
// sql-wasm when tools/build-fixtures.sh --large has run, else
// corpus/v8-13.6/x64/many), deserializes it into a CodeManager, and times
// three ways to find the code containing a pc:
//
//   CodeManager::LookupCode    through the manager's lookup cache
//   NativeModule::Lookup       the module's code map, no cache
//
// on two streams of pcs:
//
//   hot     64 pcs, repeated (a working set that fits the cache: hits)
//   random  65536 pcs uniform over every code byte (mostly misses)
//
// Each benchmark does one lookup per iteration, so the time per iteration
// is the time per lookup; the cache hit rate comes from the manager's
// Metrics() before and after. A final line compares cached and uncached
// lookups. The source folder is found from WASMCACHE_SOURCE_DIR (environment
// or compile definition), else from this file's path.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/native_module.h"

namespace wasmcache::bench {
namespace {

namespace fs = std::filesystem;
using reference::CodeManager;
using reference::NativeModule;
using reference::WasmCode;

constexpr size_t kHotPcs = 64;
constexpr size_t kRandomPcs = 65536;

fs::path SourceDir() {
  if (const char* env = std::getenv("WASMCACHE_SOURCE_DIR")) return env;
#ifdef WASMCACHE_SOURCE_DIR
  return WASMCACHE_SOURCE_DIR;
#else
  return fs::path(__FILE__).parent_path().parent_path();
#endif
}

std::vector<uint8_t> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The loaded fixture and the pc streams, built once.
struct Workload {
  std::string name;
  CodeManager manager;
  std::unique_ptr<NativeModule> native_module;
  size_t num_code = 0;
  uint64_t code_bytes = 0;
  std::vector<uint64_t> hot;
  std::vector<uint64_t> random;
};

Workload& GetWorkload() {
  static Workload* const workload = [] {
    auto* w = new Workload;
    const fs::path root = SourceDir();
    fs::path stem = root / "build" / "fixtures-large" / "x64" / "sql-wasm";
    if (!fs::exists(stem.string() + ".cache")) {
      stem = root / "corpus" / "v8-13.6" / "x64" / "many";
    }
    w->name = fs::relative(stem, root).string();
    const std::vector<uint8_t> wire = ReadBytes(stem.string() + ".wasm");
    const std::vector<uint8_t> cache = ReadBytes(stem.string() + ".cache");
    auto module = DecodeModuleInfo(wire);
    if (!module.ok()) {
      std::fprintf(stderr, "%s: %s\n", w->name.c_str(),
                   module.status().ToString().c_str());
      std::exit(2);
    }
    const Environment env =
        DefaultEnvironment(Arch::kX64, *module);
    auto native_module =
        reference::Deserialize(w->manager, cache, *module, env);
    if (!native_module.ok()) {
      std::fprintf(stderr, "%s: %s\n", w->name.c_str(),
                   native_module.status().ToString().c_str());
      std::exit(2);
    }
    w->native_module = *std::move(native_module);

    // Every code object, and the running total of code bytes before each,
    // so that a uniform byte offset picks an object by its size.
    std::vector<const WasmCode*> codes;
    std::vector<uint64_t> ends;
    for (uint32_t i = 0; i < module->num_declared_functions; ++i) {
      if (const WasmCode* code = w->native_module->GetCode(i)) {
        codes.push_back(code);
        w->code_bytes += code->instructions_size();
        ends.push_back(w->code_bytes);
      }
    }
    w->num_code = codes.size();
    std::mt19937_64 rng(1);
    auto random_pc = [&] {
      const uint64_t offset =
          std::uniform_int_distribution<uint64_t>(0, w->code_bytes - 1)(rng);
      const size_t k = static_cast<size_t>(
          std::upper_bound(ends.begin(), ends.end(), offset) - ends.begin());
      const uint64_t before = ends[k] - codes[k]->instructions_size();
      return codes[k]->instruction_start() + (offset - before);
    };
    for (size_t i = 0; i < kHotPcs; ++i) w->hot.push_back(random_pc());
    for (size_t i = 0; i < kRandomPcs; ++i) w->random.push_back(random_pc());
    return w;
  }();
  return *workload;
}

void SetHitRate(benchmark::State& state,
                const reference::CodeManagerMetrics& before,
                const reference::CodeManagerMetrics& after) {
  const double hits =
      static_cast<double>(after.lookup_cache_hits - before.lookup_cache_hits);
  const double misses = static_cast<double>(after.lookup_cache_misses -
                                            before.lookup_cache_misses);
  state.counters["hit_rate"] =
      hits + misses == 0 ? 0.0 : hits / (hits + misses);
}

void CachedLookup(benchmark::State& state, const std::vector<uint64_t>& pcs) {
  Workload& w = GetWorkload();
  const reference::CodeManagerMetrics before = w.manager.Metrics();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.manager.LookupCode(pcs[i]));
    if (++i == pcs.size()) i = 0;
  }
  SetHitRate(state, before, w.manager.Metrics());
  state.SetItemsProcessed(state.iterations());
}

void DirectLookup(benchmark::State& state, const std::vector<uint64_t>& pcs) {
  Workload& w = GetWorkload();
  const reference::CodeManagerMetrics before = w.manager.Metrics();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.native_module->Lookup(pcs[i]));
    if (++i == pcs.size()) i = 0;
  }
  SetHitRate(state, before, w.manager.Metrics());  // 0: no cache involved
  state.SetItemsProcessed(state.iterations());
}

void BM_LookupCode_Hot(benchmark::State& state) {
  CachedLookup(state, GetWorkload().hot);
}
void BM_LookupCode_Random(benchmark::State& state) {
  CachedLookup(state, GetWorkload().random);
}
void BM_NativeModuleLookup_Hot(benchmark::State& state) {
  DirectLookup(state, GetWorkload().hot);
}
void BM_NativeModuleLookup_Random(benchmark::State& state) {
  DirectLookup(state, GetWorkload().random);
}

BENCHMARK(BM_LookupCode_Hot)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_LookupCode_Random)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_NativeModuleLookup_Hot)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_NativeModuleLookup_Random)->Unit(benchmark::kNanosecond);

// Prints as the console reporter does and keeps each benchmark's time per
// iteration (ns) and hit rate for the summary: the median when the run is
// repeated (--benchmark_repetitions), else the single run.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter()
      : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular
                                                    : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate &&
                          run.aggregate_name == "median";
      if (run.run_type != Run::RT_Iteration && !median) continue;
      Result& r = results_[run.run_name.function_name];
      if (r.from_median && !median) continue;
      r.from_median = median;
      r.ns = run.GetAdjustedRealTime();
      auto it = run.counters.find("hit_rate");
      r.hit_rate = it == run.counters.end() ? 0.0 : it->second.value;
    }
  }

  void PrintSummary(const Workload& w) const {
    auto get = [&](const char* name) {
      auto it = results_.find(name);
      return it == results_.end() ? Result{} : it->second;
    };
    const Result hot = get("BM_LookupCode_Hot");
    const Result random = get("BM_LookupCode_Random");
    const Result direct_hot = get("BM_NativeModuleLookup_Hot");
    const Result direct_random = get("BM_NativeModuleLookup_Random");
    if (hot.ns == 0 || random.ns == 0 || direct_hot.ns == 0 ||
        direct_random.ns == 0) {
      return;  // filtered run
    }
    std::printf(
        "summary: %s (%zu code objects, %llu code bytes): LookupCode hot "
        "%.1f ns (hit rate %.4f), random %.1f ns (hit rate %.4f); "
        "NativeModule::Lookup hot %.1f ns, random %.1f ns; cached/uncached "
        "hot %.2f, random %.2f; random/hot cached %.2f\n",
        w.name.c_str(), w.num_code,
        static_cast<unsigned long long>(w.code_bytes), hot.ns, hot.hit_rate,
        random.ns, random.hit_rate, direct_hot.ns, direct_random.ns,
        hot.ns / direct_hot.ns, random.ns / direct_random.ns,
        random.ns / hot.ns);
  }

 private:
  struct Result {
    double ns = 0;
    double hit_rate = 0;
    bool from_median = false;
  };
  std::map<std::string, Result> results_;
};

}  // namespace
}  // namespace wasmcache::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  wasmcache::bench::Workload& w = wasmcache::bench::GetWorkload();
  std::printf("fixture: %s, %zu code objects, %llu code bytes\n",
              w.name.c_str(), w.num_code,
              static_cast<unsigned long long>(w.code_bytes));
  wasmcache::bench::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary(w);
  benchmark::Shutdown();
  // The module must go before its manager; the workload lives to the end.
  w.native_module.reset();
  return 0;
}
