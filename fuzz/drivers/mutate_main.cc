// wasmcache-mutate: the structure-aware mutator (fuzz/lib/mutator.h) on
// the command line.
//
//   wasmcache-mutate [--seed S] [--count N] [--stats] [-o DIR] CONTAINER...
//       N mutants of each container (deserialize_fuzzer's input format),
//       written as DIR/<name>.<i>.
//   wasmcache-mutate --arch A --wasm M.wasm --cache-only [--seed S]
//                    [--count N] [--stats] [-o DIR] C.cache...
//       N mutants of each cache of module M (the wire bytes never change),
//       written as DIR/<name>.<i>.cache.
//   wasmcache-mutate --pack --arch A --wasm M.wasm -o OUT C.cache
//   wasmcache-mutate --unpack --wasm-out M.wasm --cache-out C.cache IN
//
// --stats loads every mutant with the reference implementation and prints
// how many pass the global-header check (the part of a cache V8 itself
// checks), how many load completely, and the same per mutation kind.
// Without -o, nothing is written (statistics only).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "fuzz/lib/container.h"
#include "fuzz/lib/mutator.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "spec/environment.h"
#include "spec/module_info.h"

namespace {

namespace fs = std::filesystem;
using wasmcache::Arch;
using wasmcache::ModuleInfo;

bool ReadFile(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  return true;
}

bool WriteFile(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

int Usage(const std::string& why) {
  std::fprintf(stderr,
               "wasmcache-mutate: %s\n"
               "usage: wasmcache-mutate [--seed S] [--count N] [--stats] [-o DIR] CONTAINER...\n"
               "       wasmcache-mutate --arch A --wasm M.wasm --cache-only [--seed S] [--count N] [--stats] [-o DIR] C.cache...\n"
               "       wasmcache-mutate --pack --arch A --wasm M.wasm -o OUT C.cache\n"
               "       wasmcache-mutate --unpack --wasm-out M.wasm --cache-out C.cache IN\n",
               why.c_str());
  return 2;
}

struct Tally {
  uint64_t mutants = 0;
  uint64_t header_ok = 0;
  uint64_t loaded = 0;
};

// Loads with the reference: 0 header rejected, 1 header passed, 2 loaded.
int Verdict(Arch arch, const ModuleInfo& module,
            absl::Span<const uint8_t> cache) {
  const wasmcache::Environment env = wasmcache::DefaultEnvironment(arch, module);
  wasmcache::reference::CodeManager manager;
  auto loaded = wasmcache::reference::Deserialize(manager, cache, module, env);
  if (loaded.ok()) return 2;
  return absl::StartsWith(loaded.status().message(), "header:") ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Arch> arch;
  std::string wasm_path, out, wasm_out, cache_out;
  uint64_t seed = 1;
  int count = 16;
  bool cache_only = false, stats = false, pack = false, unpack = false;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--arch") {
      if (!(v = value()) || !(arch = wasmcache::ParseArch(v))) return Usage("--arch needs a target");
    } else if (arg == "--wasm") {
      if (!(v = value())) return Usage("--wasm needs a file");
      wasm_path = v;
    } else if (arg == "-o") {
      if (!(v = value())) return Usage("-o needs a path");
      out = v;
    } else if (arg == "--wasm-out") {
      if (!(v = value())) return Usage("--wasm-out needs a file");
      wasm_out = v;
    } else if (arg == "--cache-out") {
      if (!(v = value())) return Usage("--cache-out needs a file");
      cache_out = v;
    } else if (arg == "--seed") {
      if (!(v = value()) || !absl::SimpleAtoi(v, &seed)) return Usage("--seed needs a number");
    } else if (arg == "--count") {
      if (!(v = value()) || !absl::SimpleAtoi(v, &count) || count < 0) return Usage("--count needs a number");
    } else if (arg == "--cache-only") {
      cache_only = true;
    } else if (arg == "--stats") {
      stats = true;
    } else if (arg == "--pack") {
      pack = true;
    } else if (arg == "--unpack") {
      unpack = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage("unknown option " + arg);
    } else {
      inputs.push_back(arg);
    }
  }
  if (inputs.empty()) return Usage("no input");

  std::vector<uint8_t> wasm;
  if (!wasm_path.empty() && !ReadFile(wasm_path, &wasm)) {
    return Usage("cannot read " + wasm_path);
  }
  if (unpack) {
    if (inputs.size() != 1 || wasm_out.empty() || cache_out.empty()) {
      return Usage("--unpack needs one input, --wasm-out and --cache-out");
    }
    std::vector<uint8_t> bytes;
    if (!ReadFile(inputs[0], &bytes)) return Usage("cannot read " + inputs[0]);
    const wasmcache::fuzz::Container c = wasmcache::fuzz::ParseContainer(bytes);
    if (!WriteFile(wasm_out, c.wasm) || !WriteFile(cache_out, c.cache)) {
      return Usage("cannot write the outputs");
    }
    std::printf("%s\n", std::string(wasmcache::ArchName(c.arch)).c_str());
    return 0;
  }
  if (pack) {
    if (inputs.size() != 1 || !arch || wasm_path.empty() || out.empty()) {
      return Usage("--pack needs --arch, --wasm, -o and one cache");
    }
    wasmcache::fuzz::Container c;
    c.arch = *arch;
    c.wasm = wasm;
    if (!ReadFile(inputs[0], &c.cache)) return Usage("cannot read " + inputs[0]);
    return WriteFile(out, wasmcache::fuzz::WriteContainer(c)) ? 0 : 1;
  }
  if (cache_only && (!arch || wasm_path.empty())) {
    return Usage("--cache-only needs --arch and --wasm");
  }
  std::optional<ModuleInfo> fixed_module;
  if (cache_only) {
    auto m = wasmcache::DecodeModuleInfo(wasm);
    if (!m.ok()) return Usage("the module: " + m.status().ToString());
    fixed_module = *m;
  }
  if (!out.empty()) fs::create_directories(out);

  Tally total;
  std::map<std::string, Tally> by_kind;
  wasmcache::fuzz::MutatorOptions options;
  options.cache_only = cache_only;
  for (size_t n = 0; n < inputs.size(); ++n) {
    std::vector<uint8_t> input;
    if (!ReadFile(inputs[n], &input)) return Usage("cannot read " + inputs[n]);
    const std::string name = fs::path(inputs[n]).stem().string();
    for (int i = 0; i < count; ++i) {
      const uint64_t s = seed * 1000003 + n * 7919 + static_cast<uint64_t>(i);
      wasmcache::fuzz::Mutation m =
          cache_only ? wasmcache::fuzz::MutateCache(input, *arch, *fixed_module, s, options)
                     : wasmcache::fuzz::MutateContainer(input, input.size() + 4096, s, options);
      if (!out.empty()) {
        const fs::path path = fs::path(out) /
            (cache_only ? absl::StrFormat("%s.%d.cache", name, i)
                        : absl::StrFormat("%s.%d", name, i));
        if (!WriteFile(path, m.bytes)) return Usage("cannot write " + path.string());
      }
      if (!stats) continue;
      int verdict = 0;
      if (cache_only) {
        verdict = Verdict(*arch, *fixed_module, m.bytes);
      } else {
        const wasmcache::fuzz::ContainerView view = wasmcache::fuzz::ViewContainer(m.bytes);
        auto module = wasmcache::DecodeModuleInfo(view.wasm);
        if (module.ok()) verdict = Verdict(view.arch, *module, view.cache);
      }
      const std::string kind = m.description.substr(0, m.description.find(' '));
      for (Tally* t : {&total, &by_kind[kind]}) {
        ++t->mutants;
        t->header_ok += verdict >= 1;
        t->loaded += verdict == 2;
      }
    }
  }
  if (stats) {
    auto pct = [](uint64_t a, uint64_t b) { return b == 0 ? 0.0 : 100.0 * a / b; };
    std::printf("%-18s %9s %14s %14s\n", "mutation", "mutants", "header passes", "loads");
    for (const auto& [kind, t] : by_kind) {
      std::printf("%-18s %9llu %13.1f%% %13.1f%%\n", kind.c_str(),
                  static_cast<unsigned long long>(t.mutants), pct(t.header_ok, t.mutants),
                  pct(t.loaded, t.mutants));
    }
    std::printf("%-18s %9llu %13.1f%% %13.1f%%\n", "all",
                static_cast<unsigned long long>(total.mutants),
                pct(total.header_ok, total.mutants), pct(total.loaded, total.mutants));
  }
  return 0;
}
