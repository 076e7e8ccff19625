// wasmcache: inspect, verify and relocate V8 13.6 wasm code caches.
//
//   wasmcache inspect  --arch A --wasm M.wasm C.cache [--json]
//   wasmcache verify   --arch A --wasm M.wasm C.cache [--impl fast]
//   wasmcache relocate --arch A --wasm M.wasm C.cache -o OUT.cache
//                      [--impl fast]
//   wasmcache synth    --arch A --seed N --functions K -o C.cache
//                      --wasm-out M.wasm [--canonical] [--all-forms]
//   wasmcache equiv    [--arch A] [--seeds N] [--mutants M] DIR...
//   wasmcache bench    --arch A --wasm M.wasm C.cache [--runs N] [--json]
//   wasmcache prove    [--arch A] [--smt2-dir D] [--recheck cvc5] [--json]
//
// equiv compares the reference and the fast implementation
// (tools/wasmcache/equiv.cc); bench times them (tools/wasmcache/bench.cc);
// prove runs the Z3 proofs of the relocation encoders
// (tools/wasmcache/prove.cc, proofs/).
//
// synth writes a synthesized cache and its module (synth/synth.h),
// deterministic from the seed; the other commands accept them.
//
// Header options (all commands):
//   --expect-header W0,W1,W2,W3,W4   expected header words in hex; '-'
//                                    records a word without checking it
//   --record-header                  check no header word
//   --compile-time-imports N         compile-time import flags expected
//
// Exit status: 0 success, 1 invalid input (one line "error: ..."), 2 usage.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "fast/deserializer.h"
#include "fast/serializer.h"
#include "reference/cache_parser.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "reference/names_provider.h"
#include "reference/serializer.h"
#include "spec/cache_file.h"
#include "spec/v8_tables.h"
#include "synth/synth.h"
#include "tools/wasmcache/commands.h"

namespace wasmcache {
namespace {

using wasmcache::Environment;
using wasmcache::ModuleInfo;

struct Options {
  std::string command;
  std::optional<Arch> arch;
  std::string wasm_path;
  std::string cache_path;
  std::string output_path;
  bool json = false;
  bool record_header = false;
  std::optional<std::string> expect_header;
  uint32_t compile_time_imports = 0;
  bool fast = false;  // --impl fast
};

int Usage(const std::string& why) {
  std::fprintf(stderr,
               "wasmcache: %s\n"
               "usage: wasmcache inspect  --arch A --wasm M.wasm C.cache "
               "[--json]\n"
               "       wasmcache verify   --arch A --wasm M.wasm C.cache\n"
               "       wasmcache relocate --arch A --wasm M.wasm C.cache -o "
               "OUT.cache\n"
               "       wasmcache synth    --arch A --seed N --functions K -o "
               "C.cache --wasm-out M.wasm [--canonical] [--all-forms]\n"
               "options: --expect-header W0,W1,W2,W3,W4 | --record-header, "
               "--compile-time-imports N\n",
               why.c_str());
  return 2;
}

int Fail(const absl::Status& status) {
  std::printf("error: %s\n", std::string(status.message()).c_str());
  return 1;
}

std::optional<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

bool WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

absl::Status ApplyHeaderOptions(const Options& options, Environment& env) {
  if (options.record_header) {
    for (auto& word : env.expected_header) word.reset();
  }
  if (options.expect_header) {
    std::vector<std::string> words = absl::StrSplit(*options.expect_header, ',');
    if (words.size() != kNumHeaderWords) {
      return absl::InvalidArgumentError(
          "--expect-header takes five comma-separated words");
    }
    for (int i = 0; i < kNumHeaderWords; ++i) {
      if (words[i] == "-") {
        env.expected_header[i].reset();
        continue;
      }
      uint32_t value;
      if (!absl::SimpleHexAtoi(words[i], &value)) {
        return absl::InvalidArgumentError("bad header word " + words[i]);
      }
      env.expected_header[i] = value;
    }
  }
  env.compile_time_imports = options.compile_time_imports;
  return absl::OkStatus();
}

std::string_view TagName(FunctionTag tag) {
  switch (tag) {
    case FunctionTag::kLazy:
      return "lazy";
    case FunctionTag::kEager:
      return "eager";
    case FunctionTag::kTurboFan:
      return "turbofan";
  }
  return "unknown";
}

std::string BuiltinName(uint64_t id) {
  for (const auto& b : v8_13_6::kFarSlotBuiltins) {
    if (b.builtin_id == id) return std::string(b.name);
  }
  return "?";
}

// What a tag names, for the text report.
std::string DescribeTag(RelocMode mode, uint64_t tag, const ModuleInfo& m) {
  switch (mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmCodePointerTableEntry:
      return absl::StrFormat("function %d", tag);
    case RelocMode::kWasmStubCall:
      return absl::StrFormat("builtin %d (%s)", tag, BuiltinName(tag));
    case RelocMode::kExternalReference:
      return tag < v8_13_6::kNumExternalReferenceListEntries
                 ? absl::StrFormat("external reference %d", tag)
                 : absl::StrFormat(
                       "runtime function %d",
                       tag - v8_13_6::kNumExternalReferenceListEntries);
    case RelocMode::kWasmCanonicalSigId:
      return absl::StrFormat("type %d%s", tag,
                             tag < m.num_types() && m.is_signature[tag]
                                 ? " (signature)"
                                 : "");
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
      return absl::StrFormat("code offset 0x%x", tag);
    default:
      return "";
  }
}

// `name` in double quotes, escaped as a JSON string (quotes, backslashes,
// control characters); used by the text and the JSON report alike.
std::string Quoted(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppendFormat(&out, "\\u%04x", byte);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// ` "<name>"` for a function with a name, else nothing.
std::string NameLabel(const reference::NamesProvider& names, uint32_t index) {
  const std::optional<std::string_view> name = names.FunctionName(index);
  return name ? " " + Quoted(*name) : "";
}

// Names are a convenience: a module whose names cannot be read is still
// inspected, with a warning on stderr.
void WarnAboutNames(const reference::NamesProvider& names) {
  if (absl::Status s = names.module_status(); !s.ok()) {
    std::fprintf(stderr, "wasmcache: warning: no function names: %s\n",
                 std::string(s.message()).c_str());
  } else if (absl::Status n = names.name_section_status(); !n.ok()) {
    std::fprintf(stderr, "wasmcache: warning: name section ignored: %s\n",
                 std::string(n.message()).c_str());
  }
}

struct RelocRow {
  RelocMode mode;
  uint32_t pc;
  uint64_t value;
};

// All reloc entries of a function, with the stored value: the tag for
// patched modes, the payload for the others.
std::vector<RelocRow> RowsOf(const reference::ParsedFunction& fn) {
  std::vector<RelocRow> rows;
  size_t next_site = 0;
  for (const auto& entry : fn.relocs) {
    uint64_t value = entry.data;
    if (IsSerializerPatched(entry.mode)) value = fn.sites[next_site++].tag;
    rows.push_back({entry.mode, entry.pc, value});
  }
  return rows;
}

int Inspect(const Options& options, const reference::ParsedCache& parsed,
            const ModuleInfo& module, const reference::NamesProvider& names) {
  WarnAboutNames(names);
  std::map<std::string, uint64_t> totals;
  for (int m = 0; m < kNumberOfRelocModes; ++m) {
    const auto mode = static_cast<RelocMode>(m);
    if (IsAllowedInWasmCode(mode)) totals[std::string(RelocModeName(mode))] = 0;
  }
  const auto words = HeaderWords(parsed.header);
  if (options.json) {
    std::string out = absl::StrFormat("{\"arch\": \"%s\", \"header\": [",
                                      ArchName(*options.arch));
    for (int i = 0; i < kNumHeaderWords; ++i) {
      absl::StrAppendFormat(&out, "%s%d", i ? ", " : "", words[i]);
    }
    out += "], \"functions\": [";
    for (size_t i = 0; i < parsed.functions.size(); ++i) {
      const auto& fn = parsed.functions[i];
      absl::StrAppendFormat(&out, "%s{\"index\": %d", i ? ", " : "",
                            fn.index);
      if (const auto name = names.FunctionName(fn.index)) {
        absl::StrAppendFormat(&out, ", \"name\": %s", Quoted(*name));
      }
      absl::StrAppendFormat(&out, ", \"tag\": \"%s\"", TagName(fn.tag));
      if (fn.tag == FunctionTag::kTurboFan) {
        absl::StrAppendFormat(&out,
                              ", \"code_offset\": %d, \"code_size\": %d, "
                              "\"relocs\": [",
                              fn.code_offset(), fn.header.instructions_size);
        bool first = true;
        for (const RelocRow& row : RowsOf(fn)) {
          absl::StrAppendFormat(
              &out, "%s{\"mode\": \"%s\", \"pc\": %d, \"value\": %d}",
              first ? "" : ", ", RelocModeName(row.mode), row.pc, row.value);
          first = false;
          ++totals[std::string(RelocModeName(row.mode))];
        }
        out += "]";
      }
      out += "}";
    }
    out += "], \"totals\": {";
    bool first = true;
    for (const auto& [name, count] : totals) {
      absl::StrAppendFormat(&out, "%s\"%s\": %d", first ? "" : ", ", name,
                            count);
      first = false;
    }
    out += "}}";
    std::printf("%s\n", out.c_str());
    return 0;
  }
  std::printf("arch: %s\n", std::string(ArchName(*options.arch)).c_str());
  for (int i = 0; i < kNumHeaderWords; ++i) {
    std::printf("header %-16s 0x%08x\n",
                std::string(kHeaderWordNames[i]).c_str(), words[i]);
  }
  const auto& mh = parsed.module_header;
  std::printf(
      "module: %u imported + %u declared functions, %u types\n"
      "module header: detected_features 0x%x, total_code_size %llu, "
      "all_functions_validated %u, compile_time_imports 0x%x, "
      "constants_module %zu bytes\n",
      module.num_imported_functions, module.num_declared_functions,
      module.num_types(), mh.detected_features,
      static_cast<unsigned long long>(mh.total_code_size),
      mh.all_functions_validated, mh.compile_time_imports,
      mh.constants_module.size());
  uint64_t code_bytes = 0;
  for (const auto& fn : parsed.functions) {
    const uint32_t budget =
        parsed.tiering_budgets[fn.index - module.num_imported_functions];
    if (fn.tag != FunctionTag::kTurboFan) {
      std::printf("function %u%s: %s, tiering budget %u\n", fn.index,
                  NameLabel(names, fn.index).c_str(),
                  std::string(TagName(fn.tag)).c_str(), budget);
      continue;
    }
    const CodeHeader& h = fn.header;
    code_bytes += static_cast<uint64_t>(h.instructions_size);
    std::printf(
        "function %u%s: turbofan at 0x%llx, %d code bytes (unpadded %d), "
        "%d reloc bytes, %d source positions, %d inlining, %d deopt, %d protected, "
        "safepoints at 0x%x, %d stack slots, tiering budget %u\n",
        fn.index, NameLabel(names, fn.index).c_str(),
        static_cast<unsigned long long>(fn.code_offset()),
        h.instructions_size, h.unpadded_binary_size, h.reloc_info_size,
        h.source_positions_size, h.inlining_positions_size, h.deopt_data_size,
        h.protected_instructions_size, h.safepoint_table_offset,
        h.stack_slots, budget);
    for (const RelocRow& row : RowsOf(fn)) {
      ++totals[std::string(RelocModeName(row.mode))];
      std::printf("  pc 0x%04x %-30s %llu %s\n", row.pc,
                  std::string(RelocModeName(row.mode)).c_str(),
                  static_cast<unsigned long long>(row.value),
                  DescribeTag(row.mode, row.value, module).c_str());
    }
  }
  std::printf("totals: %llu code bytes;",
              static_cast<unsigned long long>(code_bytes));
  for (const auto& [name, count] : totals) {
    std::printf(" %s %llu", name.c_str(),
                static_cast<unsigned long long>(count));
  }
  std::printf("\n");
  return 0;
}

// verify and relocate with the fast implementation (--impl fast), which
// reads the cache file in step with the load (fast::DeserializeFile).
int RunFast(const Options& options, const ModuleInfo& module,
            const Environment& env) {
  fast::CodeManager manager;
  fast::FileLoadStats file;
  fast::LoadOptions load;
  load.file_stats = &file;
  auto native_module =
      fast::DeserializeFile(manager, options.cache_path, module, env, load);
  if (!native_module.ok()) return Fail(native_module.status());
  if (options.command == "verify") {
    std::printf("valid: %s cache, %u functions (%zu TurboFan), %zu bytes\n",
                std::string(ArchName(*options.arch)).c_str(),
                module.num_declared_functions, (*native_module)->num_code(),
                static_cast<size_t>(file.bytes_read));
    return 0;
  }
  auto bytes = fast::Serializer(**native_module).Serialize();
  if (!bytes.ok()) return Fail(bytes.status());
  if (!WriteFile(options.output_path,
                 std::vector<uint8_t>(bytes->begin(), bytes->end()))) {
    return Usage("cannot write " + options.output_path);
  }
  std::printf("relocated: %zu code spaces at 0x%llx, wrote %zu bytes to %s\n",
              (*native_module)->code_spaces().size(),
              static_cast<unsigned long long>(
                  (*native_module)->code_spaces().front().start()),
              bytes->size(), options.output_path.c_str());
  return 0;
}

int Run(const Options& options) {
  auto wire = ReadFile(options.wasm_path);
  if (!wire) return Usage("cannot read " + options.wasm_path);
  absl::StatusOr<ModuleInfo> module = DecodeModuleInfo(*wire);
  if (!module.ok()) return Fail(module.status());
  Environment env = DefaultEnvironment(*options.arch, *module);
  if (absl::Status s = ApplyHeaderOptions(options, env); !s.ok()) {
    return Usage(std::string(s.message()));
  }
  if (options.fast && options.command != "inspect") {
    return RunFast(options, *module, env);
  }
  // A cache that cannot be read is an error of the input (section "file"),
  // as in the fast load.
  absl::StatusOr<std::vector<uint8_t>> cache =
      ReadCacheFile(options.cache_path);
  if (!cache.ok()) return Fail(cache.status());
  if (options.command == "inspect") {
    absl::StatusOr<reference::ParsedCache> parsed =
        reference::ParseCache(*cache, *module, env);
    if (!parsed.ok()) return Fail(parsed.status());
    const reference::NamesProvider names(*wire);
    return Inspect(options, *parsed, *module, names);
  }
  reference::CodeManager manager;
  absl::StatusOr<std::unique_ptr<reference::NativeModule>> native_module =
      reference::Deserialize(manager, *cache, *module, env);
  if (!native_module.ok()) return Fail(native_module.status());
  if (options.command == "verify") {
    size_t turbofan = 0;
    for (uint32_t i = 0; i < module->num_declared_functions; ++i) {
      turbofan += (*native_module)->GetCode(i) != nullptr;
    }
    std::printf("valid: %s cache, %u functions (%zu TurboFan), %zu bytes\n",
                std::string(ArchName(*options.arch)).c_str(),
                module->num_declared_functions, turbofan, cache->size());
    return 0;
  }
  reference::Serializer serializer(**native_module);
  absl::StatusOr<std::vector<uint8_t>> bytes = serializer.Serialize();
  if (!bytes.ok()) return Fail(bytes.status());
  if (!WriteFile(options.output_path, *bytes)) {
    return Usage("cannot write " + options.output_path);
  }
  std::printf("relocated: %zu code spaces at 0x%llx, wrote %zu bytes to %s\n",
              (*native_module)->code_spaces().size(),
              static_cast<unsigned long long>(
                  (*native_module)->code_spaces().front()->space->start_address()),
              bytes->size(), options.output_path.c_str());
  return 0;
}

// `synth`: its own options; writes the cache and the module.
int Synth(int argc, char** argv) {
  synth::SynthOptions options;
  std::optional<Arch> arch;
  std::string cache_path, wasm_path;
  bool have_seed = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (arg == "--arch") {
      auto v = value();
      if (!v || !(arch = ParseArch(*v))) {
        return Usage("--arch needs one of x64 ia32 arm64 arm riscv64 riscv32 "
                     "mips64 ppc64 s390x loong64");
      }
    } else if (arg == "--seed") {
      auto v = value();
      if (!v || !absl::SimpleAtoi(*v, &options.seed)) {
        return Usage("--seed needs an unsigned number");
      }
      have_seed = true;
    } else if (arg == "--functions") {
      auto v = value();
      if (!v || !absl::SimpleAtoi(*v, &options.num_functions)) {
        return Usage("--functions needs a number");
      }
    } else if (arg == "-o") {
      auto v = value();
      if (!v) return Usage("-o needs a file");
      cache_path = *v;
    } else if (arg == "--wasm-out") {
      auto v = value();
      if (!v) return Usage("--wasm-out needs a file");
      wasm_path = *v;
    } else if (arg == "--canonical") {
      options.canonical = true;
    } else if (arg == "--all-forms") {
      options.all_forms = true;
    } else {
      return Usage("unknown synth option " + arg);
    }
  }
  if (!arch) return Usage("--arch is required");
  if (!have_seed) return Usage("--seed is required");
  if (cache_path.empty()) return Usage("synth needs -o C.cache");
  if (wasm_path.empty()) return Usage("synth needs --wasm-out M.wasm");
  options.arch = *arch;
  absl::StatusOr<synth::SynthResult> result = synth::Synthesize(options);
  if (!result.ok()) return Fail(result.status());
  if (!WriteFile(cache_path, result->cache)) {
    return Usage("cannot write " + cache_path);
  }
  if (!WriteFile(wasm_path, result->wasm)) {
    return Usage("cannot write " + wasm_path);
  }
  std::printf("synthesized: %s cache, %u functions, %zu bytes to %s, "
              "%zu-byte module to %s\n",
              std::string(ArchName(*arch)).c_str(), options.num_functions,
              result->cache.size(), cache_path.c_str(), result->wasm.size(),
              wasm_path.c_str());
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2) return Usage("missing command");
  if (std::string(argv[1]) == "synth") return Synth(argc, argv);
  if (std::string(argv[1]) == "equiv") return EquivMain(argc, argv);
  if (std::string(argv[1]) == "bench") return BenchMain(argc, argv);
  if (std::string(argv[1]) == "prove") {
#ifdef WASMCACHE_HAVE_PROOFS
    return ProveMain(argc, argv);
#else
    std::fprintf(stderr, "wasmcache prove: built without Z3 (libz3-dev)\n");
    return 2;
#endif
  }
  if (std::string(argv[1]) == "bench-peak") return BenchPeakMain(argc, argv);
  Options options;
  options.command = argv[1];
  if (options.command != "inspect" && options.command != "verify" &&
      options.command != "relocate") {
    return Usage("unknown command " + options.command);
  }
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (arg == "--arch") {
      auto v = value();
      if (!v || !(options.arch = ParseArch(*v))) {
        return Usage("--arch needs one of x64 ia32 arm64 arm riscv64 riscv32 "
                     "mips64 ppc64 s390x loong64");
      }
    } else if (arg == "--wasm") {
      auto v = value();
      if (!v) return Usage("--wasm needs a file");
      options.wasm_path = *v;
    } else if (arg == "-o") {
      auto v = value();
      if (!v) return Usage("-o needs a file");
      options.output_path = *v;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--impl") {
      auto v = value();
      if (!v || (*v != "fast" && *v != "reference")) {
        return Usage("--impl needs reference or fast");
      }
      options.fast = *v == "fast";
    } else if (arg == "--record-header") {
      options.record_header = true;
    } else if (arg == "--expect-header") {
      options.expect_header = value();
      if (!options.expect_header) return Usage("--expect-header needs words");
    } else if (arg == "--compile-time-imports") {
      auto v = value();
      if (!v || !absl::SimpleAtoi(*v, &options.compile_time_imports)) {
        return Usage("--compile-time-imports needs a number");
      }
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage("unknown option " + arg);
    } else if (options.cache_path.empty()) {
      options.cache_path = arg;
    } else {
      return Usage("more than one cache given");
    }
  }
  if (!options.arch) return Usage("--arch is required");
  if (options.wasm_path.empty()) return Usage("--wasm is required");
  if (options.cache_path.empty()) return Usage("a cache file is required");
  if (options.command == "relocate" && options.output_path.empty()) {
    return Usage("relocate needs -o OUT.cache");
  }
  return Run(options);
}

}  // namespace
}  // namespace wasmcache

int main(int argc, char** argv) { return wasmcache::Main(argc, argv); }
