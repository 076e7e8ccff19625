// wasmcache equiv: the reference and the fast implementation on every cache
// of some directories, on synthesized caches of every target, and on
// mutants of both; any difference in status code, module state or
// serialized bytes is reported and makes the exit status 1.
//
//   wasmcache equiv [--arch A] [--seeds N] [--mutants M] DIR...
//
// A cache is C.cache with its module C.wasm beside it; its target is --arch
// or the name of its directory (x64, arm64, ...). Synthesized caches: N
// seeds per target (default 16), for --arch only if given. Each cache also
// gets M mutants (default 24): one to three bytes changed, or the cache cut
// short. The fast implementation runs with all threads, with one, and
// reading the cache from a file (fast::DeserializeFile, with a 16 KiB
// window); each must agree with the reference.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "equiv/equiv.h"
#include "synth/synth.h"
#include "tools/wasmcache/commands.h"

namespace wasmcache {
namespace {

namespace fs = std::filesystem;

struct Counts {
  size_t inputs = 0;
  size_t accepted = 0;
  std::map<std::string, size_t> rejected;  // by status code
  size_t differences = 0;
};

struct Run {
  std::map<std::string, Counts> by_arch;
  std::vector<std::string> differences;
  // Every input is also written here and loaded from the file by fast.
  std::string scratch_path;
};

std::vector<uint8_t> ReadFile(const fs::path& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void CompareOne(Run& run, Arch arch, const std::string& name,
                const std::vector<uint8_t>& cache, const ModuleInfo& module,
                const Environment& env) {
  Counts& counts = run.by_arch[std::string(ArchName(arch))];
  ++counts.inputs;
  const equiv::Outcome ref = equiv::RunReference(cache, module, env);
  const equiv::Outcome all = equiv::RunFast(cache, module, env);
  const equiv::Outcome one =
      equiv::RunFast(cache, module, env, {.fast_threads = 1});
  std::string diff = equiv::Compare(ref, all, cache, module, env);
  if (diff.empty()) {
    diff = equiv::Compare(ref, one, cache, module, env);
    if (!diff.empty()) diff = "(one thread) " + diff;
  }
  if (diff.empty()) {
    // From a file, with a window small enough that reading waits for the
    // batches before it.
    std::ofstream out(run.scratch_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(cache.data()),
              static_cast<std::streamsize>(cache.size()));
    out.close();
    if (!out) {
      diff = "cannot write " + run.scratch_path;
    } else {
      const equiv::Outcome file = equiv::RunFast(
          cache, module, env,
          {.fast_from_file = run.scratch_path,
           .fast_file_window_bytes = 16 * 1024});
      diff = equiv::Compare(ref, file, cache, module, env);
      if (!diff.empty()) diff = "(from a file) " + diff;
    }
  }
  if (ref.status.ok()) {
    ++counts.accepted;
  } else {
    ++counts.rejected[absl::StatusCodeToString(ref.status.code())];
  }
  if (!diff.empty()) {
    ++counts.differences;
    run.differences.push_back(
        absl::StrFormat("%s %s: %s", ArchName(arch), name, diff));
  }
}

// Mutants of a cache: byte changes and truncations, deterministic.
void CompareMutants(Run& run, Arch arch, const std::string& name,
                    const std::vector<uint8_t>& cache,
                    const ModuleInfo& module, const Environment& env,
                    int mutants, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < mutants && !cache.empty(); ++i) {
    std::vector<uint8_t> mutated = cache;
    std::string what;
    if (i % 8 == 7) {
      mutated.resize(rng() % cache.size());
      what = absl::StrFormat("cut to %d", mutated.size());
    } else {
      const int changes = 1 + static_cast<int>(rng() % 3);
      for (int c = 0; c < changes; ++c) {
        const size_t at = rng() % mutated.size();
        mutated[at] ^= static_cast<uint8_t>(1 + rng() % 255);
        what += absl::StrFormat("%s0x%x", what.empty() ? "changed " : ",", at);
      }
    }
    CompareOne(run, arch, name + " mutant (" + what + ")", mutated, module,
               env);
  }
}

int Usage(const std::string& why) {
  std::fprintf(stderr,
               "error: %s\nusage: wasmcache equiv [--arch A] [--seeds N] "
               "[--mutants M] DIR...\n",
               why.c_str());
  return 2;
}

}  // namespace

int EquivMain(int argc, char** argv) {
  std::optional<Arch> only_arch;
  int seeds = 16;
  int mutants = 24;
  std::vector<std::string> dirs;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto number = [&](int* out) {
      return i + 1 < argc && absl::SimpleAtoi(argv[++i], out) && *out >= 0;
    };
    if (arg == "--arch") {
      if (i + 1 >= argc || !(only_arch = ParseArch(argv[++i]))) {
        return Usage("--arch needs a target name");
      }
    } else if (arg == "--seeds") {
      if (!number(&seeds)) return Usage("--seeds needs a number");
    } else if (arg == "--mutants") {
      if (!number(&mutants)) return Usage("--mutants needs a number");
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage("unknown option " + arg);
    } else {
      dirs.push_back(arg);
    }
  }
  Run run;
  // The file every input is also loaded from.
  std::string scratch =
      (fs::temp_directory_path() / "wasmcache-equiv-XXXXXX").string();
  const int scratch_fd = mkstemp(scratch.data());
  if (scratch_fd < 0) return Usage("cannot create " + scratch);
  close(scratch_fd);
  struct RemoveAtExit {
    std::string path;
    ~RemoveAtExit() { std::remove(path.c_str()); }
  } remove_scratch{scratch};
  run.scratch_path = scratch;
  size_t files = 0;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return Usage("not a directory: " + dir);
    std::vector<fs::path> caches;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().extension() == ".cache") caches.push_back(entry.path());
    }
    std::sort(caches.begin(), caches.end());
    for (const fs::path& cache_path : caches) {
      fs::path wasm_path = cache_path;
      wasm_path.replace_extension(".wasm");
      const std::optional<Arch> dir_arch =
          ParseArch(cache_path.parent_path().filename().string());
      const std::optional<Arch> arch = only_arch ? only_arch : dir_arch;
      if (!arch.has_value()) {
        return Usage("no target for " + cache_path.string() +
                     " (use --arch or an <arch>/ directory)");
      }
      if (only_arch && dir_arch && *dir_arch != *only_arch) continue;
      bool ok_wasm = false, ok_cache = false;
      const std::vector<uint8_t> wire = ReadFile(wasm_path, &ok_wasm);
      const std::vector<uint8_t> cache = ReadFile(cache_path, &ok_cache);
      if (!ok_wasm || !ok_cache) {
        return Usage("cannot read " + cache_path.string() + " and its .wasm");
      }
      auto module = DecodeModuleInfo(wire);
      if (!module.ok()) {
        std::printf("%s: module rejected by both (%s); skipped\n",
                    wasm_path.c_str(), module.status().ToString().c_str());
        continue;
      }
      const Environment env = DefaultEnvironment(*arch, *module);
      ++files;
      CompareOne(run, *arch, cache_path.string(), cache, *module, env);
      CompareMutants(run, *arch, cache_path.string(), cache, *module, env,
                     mutants, files);
    }
  }
  for (int a = 0; a < kNumArchs; ++a) {
    const Arch arch = static_cast<Arch>(a);
    if (only_arch && *only_arch != arch) continue;
    for (int seed = 0; seed < seeds; ++seed) {
      auto r = synth::Synthesize({.arch = arch,
                                  .seed = static_cast<uint64_t>(seed),
                                  .num_functions = 4 + static_cast<uint32_t>(
                                                           seed % 24),
                                  .all_forms = seed % 2 == 1});
      if (!r.ok()) {
        std::printf("error: synthesizing %s seed %d: %s\n",
                    std::string(ArchName(arch)).c_str(), seed,
                    r.status().ToString().c_str());
        return 1;
      }
      auto module = DecodeModuleInfo(r->wasm);
      if (!module.ok()) return Usage("synthesized module rejected");
      const Environment env = DefaultEnvironment(arch, *module);
      const std::string name = absl::StrFormat("synth seed %d", seed);
      CompareOne(run, arch, name, r->cache, *module, env);
      CompareMutants(run, arch, name, r->cache, *module, env, mutants,
                     0x5eed0000 + a * 1000 + seed);
    }
  }
  std::printf("%-8s %8s %8s  %-44s %s\n", "target", "inputs", "accepted",
              "rejected (same code in both)", "differences");
  size_t total_inputs = 0, total_differences = 0;
  for (const auto& [arch, c] : run.by_arch) {
    std::string rejected;
    for (const auto& [code, count] : c.rejected) {
      rejected += absl::StrFormat("%s%s %d", rejected.empty() ? "" : ", ",
                                  code, count);
    }
    std::printf("%-8s %8zu %8zu  %-44s %zu\n", arch.c_str(), c.inputs,
                c.accepted, rejected.c_str(), c.differences);
    total_inputs += c.inputs;
    total_differences += c.differences;
  }
  std::printf("%zu cache files, %zu inputs in all, %zu differences\n", files,
              total_inputs, total_differences);
  for (size_t i = 0; i < run.differences.size() && i < 50; ++i) {
    std::printf("DIFFERENCE %s\n", run.differences[i].c_str());
  }
  return total_differences == 0 ? 0 : 1;
}

}  // namespace wasmcache
