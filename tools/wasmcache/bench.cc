// wasmcache bench: the fast implementation against the reference and
// against the page-fault-bound limit, on one cache, in one process.
//
//   wasmcache bench --arch A --wasm M.wasm C.cache [--runs N] [--json]
//
// Every figure is the median of N runs (default 7) after one warm-up run,
// measured side by side on the same bytes in memory: the runs of the
// figures compared with each other alternate (round k times each of them
// once), so a slow spell of a shared machine falls on all of them alike.
//   *_deserialize_ms  wire bytes and cache in memory -> published module:
//                     module decoding, environment, checks, copy,
//                     relocation, jump tables, publication (the module is
//                     destroyed outside the timing);
//   *_serialize_ms    loaded module -> cache bytes;
//   copy_fresh_mapping_ms  one memcpy of as many bytes as the module's code
//                     into a fresh anonymous mapping (faulting its pages in):
//                     the faster of its median between the loads and its
//                     median in runs of its own (..._between_loads_ms,
//                     ..._alone_ms); ..._all_threads_ms: the same copy split
//                     over all threads, between the loads (how far the
//                     machine lets page-fault-bound work scale);
//   copy_resident_ms  the same memcpy into memory already faulted in, and
//                     ..._all_threads_ms split over all threads (how far
//                     the machine lets memory-bandwidth-bound work scale);
//   fast_deserialize_file_ms  wire bytes in memory, cache in its file ->
//                     published module (fast::DeserializeFile: the file is
//                     read in step with the load), alternating with
//                     fast_read_then_deserialize_ms: the file read whole
//                     into memory, then fast::Deserialize;
//   peak_rss_bytes    peak resident memory of a fresh process that reads the
//                     wire bytes, decodes the module (dropping the wire
//                     bytes) and loads the cache from its file once with
//                     fast::DeserializeFile (baseline_rss_bytes: the same
//                     process before reading anything; decoded_rss_bytes:
//                     with the module decoded, before loading);
//   peak_rss_from_memory_bytes  the same for a process that reads both
//                     files into memory and deserializes once from there
//                     (inputs_rss_bytes: with both files read, before
//                     decoding and loading).
// tools/bench.sh puts these next to V8's own figures.

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "fast/deserializer.h"
#include "fast/serializer.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "reference/serializer.h"
#include "spec/cache_file.h"
#include "tools/wasmcache/commands.h"

namespace wasmcache {
namespace {

struct Args {
  std::optional<Arch> arch;
  std::string wasm_path;
  std::string cache_path;
  int runs = 7;
  bool json = false;
  bool from_file = false;  // bench-peak: load the cache from its file
};

int Usage(const std::string& why) {
  std::fprintf(stderr,
               "error: %s\nusage: wasmcache bench --arch A --wasm M.wasm "
               "C.cache [--runs N] [--json]\n",
               why.c_str());
  return 2;
}

// Reads a whole file into a buffer of exactly its size (no growth, so the
// peak memory is the file's): spec/cache_file.h reads any file so.
std::optional<std::vector<uint8_t>> ReadFile(const std::string& path) {
  absl::StatusOr<std::vector<uint8_t>> bytes = ReadCacheFile(path);
  if (!bytes.ok()) return std::nullopt;
  return *std::move(bytes);
}

std::optional<Args> ParseArgs(int argc, char** argv, std::string* error) {
  Args args;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--arch" && i + 1 < argc) {
      args.arch = ParseArch(argv[++i]);
    } else if (arg == "--wasm" && i + 1 < argc) {
      args.wasm_path = argv[++i];
    } else if (arg == "--cache" && i + 1 < argc) {
      args.cache_path = argv[++i];
    } else if (arg == "--runs" && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &args.runs) || args.runs < 1) {
        *error = "--runs needs a positive number";
        return std::nullopt;
      }
    } else if (arg == "--json") {
      args.json = true;
    } else if (arg == "--from-file") {
      args.from_file = true;
    } else if (!arg.empty() && arg[0] != '-' && args.cache_path.empty()) {
      args.cache_path = arg;
    } else {
      *error = "unexpected argument " + arg;
      return std::nullopt;
    }
  }
  if (!args.arch) *error = "--arch is required";
  if (args.wasm_path.empty()) *error = "--wasm is required";
  if (args.cache_path.empty()) *error = "a cache file is required";
  if (!error->empty()) return std::nullopt;
  return args;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Times each of `runs_of` (functions returning an object to destroy
// untimed) `runs` times after one warm-up round, alternating between them
// round by round; returns their medians in order. The runs abort the
// bench on failure.
template <class... Run>
std::array<double, sizeof...(Run)> TimeSideBySide(int runs, Run... run) {
  constexpr size_t kCount = sizeof...(Run);
  const std::array<std::function<double()>, kCount> timed = {[&run] {
    const auto start = std::chrono::steady_clock::now();
    auto result = run();  // destroyed after the timing
    const auto end = std::chrono::steady_clock::now();
    static_cast<void>(result);
    return std::chrono::duration<double, std::milli>(end - start).count();
  }...};
  std::array<std::vector<double>, kCount> ms;
  for (int round = 0; round <= runs; ++round) {
    for (size_t k = 0; k < kCount; ++k) {
      const double t = timed[k]();
      if (round > 0) ms[k].push_back(t);
    }
  }
  std::array<double, kCount> medians;
  for (size_t k = 0; k < kCount; ++k) medians[k] = Median(ms[k]);
  return medians;
}

[[noreturn]] void Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::exit(1);
}

uint64_t CurrentRss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    uint64_t kb = 0;
    if (line.rfind("VmRSS:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(
                             absl::StripSuffix(line.substr(6), "kB")),
                         &kb)) {
      return kb * 1024;
    }
  }
  return 0;
}

struct Peak {
  uint64_t baseline = 0;
  uint64_t inputs = 0;  // RSS before loading
  uint64_t peak = 0;
};

// Runs `wasmcache bench-peak` in a fresh process: loading the cache from
// its file, or from memory.
std::optional<Peak> MeasurePeak(const Args& args, bool from_file) {
  const std::string command = absl::StrFormat(
      "/proc/%d/exe bench-peak --arch %s --wasm '%s' --cache '%s'%s",
      static_cast<int>(getpid()), ArchName(*args.arch), args.wasm_path,
      args.cache_path, from_file ? " --from-file" : "");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  Peak peak;
  unsigned long long baseline = 0, inputs = 0, maximum = 0;
  const int read =
      std::fscanf(pipe, "%llu %llu %llu", &baseline, &inputs, &maximum);
  if (pclose(pipe) != 0 || read != 3) return std::nullopt;
  peak.baseline = baseline;
  peak.inputs = inputs;
  peak.peak = maximum;
  return peak;
}

// Loads once (`load` returns the module or its error) and prints what
// bench-peak reports: the baseline RSS, the RSS before loading, the peak.
template <class Load>
int LoadAndReportPeak(uint64_t baseline, uint64_t before, Load load) {
  fast::CodeManager manager;
  auto native = load(manager);
  if (!native.ok()) Fail("fast deserialization", native.status());
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%llu %llu %llu\n", static_cast<unsigned long long>(baseline),
              static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(usage.ru_maxrss) * 1024);
  return 0;
}

}  // namespace

int BenchPeakMain(int argc, char** argv) {
  const uint64_t baseline = CurrentRss();
  std::string error;
  auto args = ParseArgs(argc, argv, &error);
  if (!args) return Usage(error);
  if (args->from_file) {
    absl::StatusOr<ModuleInfo> module = absl::InternalError("unread");
    {
      auto wire = ReadFile(args->wasm_path);
      if (!wire) return Usage("cannot read " + args->wasm_path);
      module = DecodeModuleInfo(*wire);
    }
    if (!module.ok()) Fail("module", module.status());
    const Environment env = DefaultEnvironment(*args->arch, *module);
    return LoadAndReportPeak(
        baseline, CurrentRss(), [&](fast::CodeManager& manager) {
          return fast::DeserializeFile(manager, args->cache_path, *module,
                                       env);
        });
  }
  auto wire = ReadFile(args->wasm_path);
  auto cache = ReadFile(args->cache_path);
  if (!wire || !cache) return Usage("cannot read the inputs");
  return LoadAndReportPeak(
      baseline, CurrentRss(),
      [&](fast::CodeManager& manager)
          -> absl::StatusOr<std::unique_ptr<fast::NativeModule>> {
        absl::StatusOr<ModuleInfo> module = DecodeModuleInfo(*wire);
        if (!module.ok()) return module.status();
        const Environment env = DefaultEnvironment(*args->arch, *module);
        return fast::Deserialize(manager, *cache, *module, env);
      });
}

int BenchMain(int argc, char** argv) {
  std::string error;
  auto parsed = ParseArgs(argc, argv, &error);
  if (!parsed) return Usage(error);
  const Args& args = *parsed;
  auto wire_file = ReadFile(args.wasm_path);
  auto cache_file = ReadFile(args.cache_path);
  if (!wire_file || !cache_file) return Usage("cannot read the inputs");
  const std::vector<uint8_t>& wire = *wire_file;
  const std::vector<uint8_t>& cache = *cache_file;
  const Arch arch = *args.arch;

  auto decode = [&] {
    auto module = DecodeModuleInfo(wire);
    if (!module.ok()) Fail("module", module.status());
    Environment env = DefaultEnvironment(arch, *module);
    return std::make_pair(std::move(*module), std::move(env));
  };
  reference::CodeManager ref_manager;
  fast::CodeManager fast_manager;
  auto fast_load = [&](int threads) {
    auto [module, env] = decode();
    fast::LoadOptions options;
    options.max_threads = threads;
    auto native = fast::Deserialize(fast_manager, cache, module, env, options);
    if (!native.ok()) Fail("fast deserialization", native.status());
    return std::move(*native);
  };
  auto ref_load = [&] {
    auto [module, env] = decode();
    auto native = reference::Deserialize(ref_manager, cache, module, env);
    if (!native.ok()) Fail("reference deserialization", native.status());
    return std::move(*native);
  };
  const int threads = fast::DefaultPool().size();
  // The limit: as many bytes as the module's code, copied into fresh pages.
  const uint64_t code_bytes = fast_load(0)->generated_code_size();
  struct Mapping {
    void* base;
    size_t size;
    ~Mapping() { munmap(base, size); }
  };
  auto copy_fresh = [&] {
    const size_t size = std::max<size_t>(code_bytes, 1);
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) Fail("mmap", absl::ResourceExhaustedError("mmap"));
    std::memcpy(base, cache.data(), std::min<size_t>(size, cache.size()));
    return std::make_unique<Mapping>(Mapping{base, size});
  };
  // The same copy split over all threads: how far this machine lets
  // page-fault-bound work scale, next to fast's one-to-all-threads ratio.
  auto copy_fresh_all_threads = [&] {
    const size_t size = std::max<size_t>(code_bytes, 1);
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) Fail("mmap", absl::ResourceExhaustedError("mmap"));
    const size_t bytes = std::min<size_t>(size, cache.size());
    const size_t parts = static_cast<size_t>(threads);
    fast::DefaultPool().Run(parts, [&](size_t part, int) {
      const size_t from = bytes * part / parts;
      const size_t to = bytes * (part + 1) / parts;
      std::memcpy(static_cast<uint8_t*>(base) + from, cache.data() + from,
                  to - from);
    });
    return std::make_unique<Mapping>(Mapping{base, size});
  };
  const auto [fast_ms, fast1_ms, copy_between_ms, copy_all_ms] =
      TimeSideBySide(
          args.runs, [&] { return fast_load(0); },
          [&] { return fast_load(1); }, copy_fresh, copy_fresh_all_threads);
  // The same copy into memory already faulted in, on one thread and split
  // over all: how far this machine lets memory-bandwidth-bound work scale
  // (once the page faults are gone, a load is mostly that).
  std::vector<uint8_t> resident(std::max<size_t>(code_bytes, 1), 0);
  const size_t resident_bytes = std::min<size_t>(resident.size(), cache.size());
  auto copy_resident = [&] {
    std::memcpy(resident.data(), cache.data(), resident_bytes);
    return resident[resident_bytes / 2];
  };
  auto copy_resident_all_threads = [&] {
    const size_t parts = static_cast<size_t>(threads);
    fast::DefaultPool().Run(parts, [&](size_t part, int) {
      const size_t from = resident_bytes * part / parts;
      const size_t to = resident_bytes * (part + 1) / parts;
      std::memcpy(resident.data() + from, cache.data() + from, to - from);
    });
    return resident[resident_bytes / 2];
  };
  const auto [resident_ms, resident_all_ms] =
      TimeSideBySide(args.runs, copy_resident, copy_resident_all_threads);
  // Between loads the copy measures slower on some machines (12-20 ms
  // against 10-12 ms for the 26 MB of the 100,000-function module here):
  // its runs alone too, and the limit is the faster median of the two.
  const auto [copy_alone_ms] = TimeSideBySide(args.runs, copy_fresh);
  const double copy_ms = std::min(copy_between_ms, copy_alone_ms);
  // Loading from the file against reading it whole, then loading.
  auto fast_file_load = [&] {
    auto [module, env] = decode();
    auto native =
        fast::DeserializeFile(fast_manager, args.cache_path, module, env);
    if (!native.ok()) Fail("fast deserialization from the file", native.status());
    return std::move(*native);
  };
  auto fast_read_then_load = [&] {
    auto [module, env] = decode();
    absl::StatusOr<std::vector<uint8_t>> bytes = ReadCacheFile(args.cache_path);
    if (!bytes.ok()) Fail("reading the cache", bytes.status());
    auto native = fast::Deserialize(fast_manager, *bytes, module, env);
    if (!native.ok()) Fail("fast deserialization", native.status());
    return std::move(*native);
  };
  const auto [file_ms, read_then_ms] =
      TimeSideBySide(args.runs, fast_file_load, fast_read_then_load);
  // Apart: destroying a reference module frees far more memory than the
  // others, and the runs after it would pay for that.
  const auto [ref_ms] = TimeSideBySide(args.runs, ref_load);

  auto fast_module = fast_load(0);
  auto ref_module = ref_load();
  auto fast_serialize = [&](int t) {
    fast::LoadOptions options;
    options.max_threads = t;
    auto bytes = fast::Serializer(*fast_module, options).Serialize();
    if (!bytes.ok()) Fail("fast serialization", bytes.status());
    return std::move(*bytes);
  };
  auto ref_serialize = [&] {
    auto bytes = reference::Serializer(*ref_module).Serialize();
    if (!bytes.ok()) Fail("reference serialization", bytes.status());
    return std::move(*bytes);
  };
  const auto [fast_ser_ms, fast_ser1_ms, ref_ser_ms] = TimeSideBySide(
      args.runs, [&] { return fast_serialize(0); },
      [&] { return fast_serialize(1); }, ref_serialize);
  // The two serializers must agree, or the timing compares different work.
  const fast::Bytes fast_bytes = fast_serialize(0);
  const std::vector<uint8_t> ref_bytes = ref_serialize();
  if (!std::equal(fast_bytes.begin(), fast_bytes.end(), ref_bytes.begin(),
                  ref_bytes.end())) {
    Fail("comparison", absl::InternalError("fast and reference serialized "
                                           "bytes differ"));
  }

  const std::optional<Peak> peak = MeasurePeak(args, /*from_file=*/true);
  const std::optional<Peak> memory_peak = MeasurePeak(args, false);
  if (!peak || !memory_peak) {
    Fail("peak memory", absl::InternalError("bench-peak failed"));
  }

  if (args.json) {
    std::printf(
        "{\"arch\": \"%s\", \"runs\": %d, \"threads\": %d, "
        "\"functions\": %u, \"cache_bytes\": %zu, \"wasm_bytes\": %zu, "
        "\"code_bytes\": %llu, "
        "\"fast_deserialize_ms\": %.3f, \"fast_deserialize_1thread_ms\": %.3f, "
        "\"reference_deserialize_ms\": %.3f, \"fast_serialize_ms\": %.3f, "
        "\"fast_serialize_1thread_ms\": %.3f, "
        "\"reference_serialize_ms\": %.3f, \"copy_fresh_mapping_ms\": %.3f, "
        "\"copy_fresh_mapping_between_loads_ms\": %.3f, "
        "\"copy_fresh_mapping_alone_ms\": %.3f, "
        "\"copy_fresh_mapping_all_threads_ms\": %.3f, "
        "\"copy_resident_ms\": %.3f, \"copy_resident_all_threads_ms\": %.3f, "
        "\"fast_deserialize_file_ms\": %.3f, "
        "\"fast_read_then_deserialize_ms\": %.3f, "
        "\"peak_rss_bytes\": %llu, \"baseline_rss_bytes\": %llu, "
        "\"decoded_rss_bytes\": %llu, \"peak_rss_from_memory_bytes\": %llu, "
        "\"inputs_rss_bytes\": %llu}\n",
        std::string(ArchName(arch)).c_str(), args.runs, threads,
        fast_module->module().num_declared_functions, cache.size(), wire.size(),
        static_cast<unsigned long long>(code_bytes), fast_ms, fast1_ms, ref_ms,
        fast_ser_ms, fast_ser1_ms, ref_ser_ms, copy_ms, copy_between_ms,
        copy_alone_ms, copy_all_ms, resident_ms, resident_all_ms, file_ms,
        read_then_ms, static_cast<unsigned long long>(peak->peak),
        static_cast<unsigned long long>(peak->baseline),
        static_cast<unsigned long long>(peak->inputs),
        static_cast<unsigned long long>(memory_peak->peak),
        static_cast<unsigned long long>(memory_peak->inputs));
    return 0;
  }
  std::printf("%s: %u functions, %zu-byte cache, %llu code bytes, %d threads, "
              "median of %d runs\n",
              args.cache_path.c_str(),
              fast_module->module().num_declared_functions, cache.size(),
              static_cast<unsigned long long>(code_bytes), threads, args.runs);
  std::printf("  deserialize  fast %9.3f ms  (1 thread %9.3f ms, %.2fx)  "
              "reference %9.3f ms  (%.2fx)\n",
              fast_ms, fast1_ms, fast1_ms / fast_ms, ref_ms, ref_ms / fast_ms);
  std::printf("  serialize    fast %9.3f ms  (1 thread %9.3f ms, %.2fx)  "
              "reference %9.3f ms  (%.2fx)\n",
              fast_ser_ms, fast_ser1_ms, fast_ser1_ms / fast_ser_ms,
              ref_ser_ms, ref_ser_ms / fast_ser_ms);
  std::printf("  fresh-mapping copy %9.3f ms (between loads %.3f ms, alone "
              "%.3f ms): fast deserialization is %.2fx of it\n",
              copy_ms, copy_between_ms, copy_alone_ms, fast_ms / copy_ms);
  std::printf("  the copy on %d threads %9.3f ms (%.2fx of one thread's, "
              "between loads: this machine's scaling of page-fault-bound "
              "work)\n",
              threads, copy_all_ms, copy_between_ms / copy_all_ms);
  std::printf(
      "  the copy into resident memory %9.3f ms, on %d threads "
      "%9.3f ms (%.2fx: this machine's scaling of memory-bound "
      "work)\n",
      resident_ms, threads, resident_all_ms, resident_ms / resident_all_ms);
  std::printf("  from the file %9.3f ms, against reading it whole and then "
              "loading %9.3f ms (%.2fx)\n",
              file_ms, read_then_ms, file_ms / read_then_ms);
  std::printf("  peak RSS loading the file %llu bytes (baseline %llu, with "
              "the module decoded %llu)\n",
              static_cast<unsigned long long>(peak->peak),
              static_cast<unsigned long long>(peak->baseline),
              static_cast<unsigned long long>(peak->inputs));
  std::printf("  peak RSS loading from memory %llu bytes (with both files "
              "read %llu)\n",
              static_cast<unsigned long long>(memory_peak->peak),
              static_cast<unsigned long long>(memory_peak->inputs));
  return 0;
}

}  // namespace wasmcache
