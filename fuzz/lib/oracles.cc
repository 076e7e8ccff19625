#include "fuzz/lib/oracles.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "equiv/equiv.h"
#include "fast/deserializer.h"
#include "fast/serializer.h"
#include "fuzz/lib/finding.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "reference/serializer.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "synth/synth.h"

namespace wasmcache::fuzz {
namespace {

// The words of an error message without its numbers: "code header:
// handler_table_offset 70 outside [0, 68] at offset 0x9c" -> "code header:
// handler_table_offset outside at offset".
std::string WithoutNumbers(const std::string& message) {
  std::string out;
  size_t at = 0;
  while (at < message.size()) {
    size_t end = message.find(' ', at);
    if (end == std::string::npos) end = message.size();
    const std::string word = message.substr(at, end - at);
    at = end + 1;
    if (word.empty() || std::any_of(word.begin(), word.end(), [](char c) {
          return c >= '0' && c <= '9';
        })) {
      continue;
    }
    if (!out.empty()) out.push_back(' ');
    out += word;
  }
  return out;
}

// What a status disagreement is about, stably: both codes and the check
// that rejected (the rejecting side's message without its numbers; the
// reference's if both rejected).
std::string StatusQualifier(const equiv::Outcome& reference,
                            const equiv::Outcome& fast) {
  const absl::Status& rejected =
      !reference.status.ok() ? reference.status : fast.status;
  return absl::StrFormat(
      "%s-%s-%s", Slug(absl::StatusCodeToString(reference.status.code())),
      Slug(absl::StatusCodeToString(fast.status.code())),
      Slug(WithoutNumbers(std::string(rejected.message()))).substr(0, 80));
}

[[noreturn]] void Disagree(std::string_view stage, Arch arch,
                           const equiv::Difference& d,
                           std::string_view context,
                           std::string_view qualifier = "") {
  std::string signature = absl::StrFormat("%s-%s-difference", stage, Slug(d.field));
  if (!qualifier.empty()) signature += "-" + std::string(qualifier);
  ReportFinding(signature,
                absl::StrFormat("target %s; %s; %s", ArchName(arch),
                                d.ToString(), context));
}

// Both implementations on one cache, compared (the fast one run as
// `fast_run` says: its threads, and whether it reads the cache from a
// file).
equiv::Outcome CompareBoth(std::string_view stage,
                           absl::Span<const uint8_t> cache,
                           const ModuleInfo& module, const Environment& env,
                           const equiv::RunOptions& fast_run,
                           std::string_view context) {
  equiv::Outcome ref = equiv::RunReference(cache, module, env);
  const equiv::Outcome fast = equiv::RunFast(cache, module, env, fast_run);
  const equiv::Difference d =
      equiv::CompareOutcomes(ref, fast, module, env);
  if (!d.empty()) {
    Disagree(stage, env.arch, d, context,
             d.field == "status" ? StatusQualifier(ref, fast) : "");
  }
  return ref;
}

// A second environment for the same module: every synthetic address and
// every id the loader maps tags to moved by `shift`.
Environment Shifted(const Environment& env, uint32_t shift) {
  Environment e = env;
  const uint64_t bytes = uint64_t{shift} << 16;
  e.external_reference_base += bytes;
  e.builtin_entry_base += bytes;
  for (uint32_t& id : e.canonical_sig_ids) id += shift;
  for (uint32_t& h : e.code_pointer_handles) h += shift;
  return e;
}

}  // namespace

std::string InMemoryCacheFile(absl::Span<const uint8_t> cache) {
  static const int fd = memfd_create("wasmcache-fuzz-cache", MFD_CLOEXEC);
  auto fail = [](const char* what) {
    ReportFinding("harness-cache-file-failed",
                  absl::StrFormat("%s: %s", what, std::strerror(errno)));
  };
  if (fd < 0) fail("memfd_create");
  if (ftruncate(fd, 0) != 0) fail("ftruncate");
  for (size_t done = 0; done < cache.size();) {
    const ssize_t n = pwrite(fd, cache.data() + done, cache.size() - done,
                             static_cast<off_t>(done));
    if (n <= 0) fail("pwrite");
    done += static_cast<size_t>(n);
  }
  return absl::StrFormat("/proc/self/fd/%d", fd);
}

bool CheckDeserialize(const ContainerView& input) {
  absl::StatusOr<ModuleInfo> module = DecodeModuleInfo(input.wasm);
  if (!module.ok()) return false;
  // The fuzzer keeps modules small: a huge declared count only measures
  // the allocator.
  if (module->num_functions() > 20000) return false;
  const Environment env = DefaultEnvironment(input.arch, *module);
  equiv::RunOptions fast_run{.fast_threads = input.one_thread ? 1 : 0};
  if (input.from_file) {
    // The streamed load at its tightest: a page read at a time, never
    // more than a page ahead of the oldest batch still loading.
    fast_run.fast_from_file = InMemoryCacheFile(input.cache);
    fast_run.fast_file_window_bytes =
        static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }
  const equiv::Outcome ref =
      CompareBoth(input.from_file ? "reference-fast-file" : "reference-fast",
                  input.cache, *module, env, fast_run, "deserialize");
  return ref.status.ok();
}

void CheckRoundTrip(ByteSource& input) {
  synth::SynthOptions options;
  options.arch = static_cast<Arch>(input.U8() % kNumArchs);
  options.seed = input.U64();
  options.num_functions = static_cast<uint32_t>(input.InRange(1, 48));
  const uint8_t flags = input.U8();
  options.canonical = (flags & 1) != 0;
  options.all_forms = (flags & 2) != 0;
  options.struct_type = (flags & 4) != 0;
  const int fast_threads = (flags & 8) != 0 ? 1 : 0;
  options.max_sites_per_function = static_cast<uint32_t>(input.InRange(0, 24));
  const uint32_t shift = static_cast<uint32_t>(input.InRange(1, 255));
  const std::string context = absl::StrFormat(
      "synth seed 0x%x, %d functions, canonical %d, all forms %d, struct %d, "
      "fast threads %d, shift %d",
      options.seed, options.num_functions, options.canonical,
      options.all_forms, options.struct_type, fast_threads, shift);

  absl::StatusOr<synth::SynthResult> synth = synth::Synthesize(options);
  if (!synth.ok()) {
    ReportFinding("roundtrip-synthesizer-failed",
                  context + "; " + synth.status().ToString());
  }
  absl::StatusOr<ModuleInfo> module = DecodeModuleInfo(synth->wasm);
  if (!module.ok()) {
    ReportFinding("roundtrip-synthesized-module-unreadable",
                  context + "; " + module.status().ToString());
  }
  const Environment env = DefaultEnvironment(options.arch, *module);

  // First load and serialization: the implementations agree, and accept.
  const equiv::RunOptions fast_run{.fast_threads = fast_threads};
  const equiv::Outcome first = CompareBoth("roundtrip-load", synth->cache,
                                           *module, env, fast_run, context);
  if (!first.status.ok()) {
    ReportFinding("roundtrip-synthesized-cache-rejected",
                  context + "; " + first.status.ToString());
  }

  // Keep a module of each implementation alive, so that the second loads
  // land at other addresses.
  reference::CodeManager ref_manager;
  auto ref_module = reference::Deserialize(ref_manager, synth->cache, *module, env);
  fast::CodeManager fast_manager;
  fast::LoadOptions load;
  load.max_threads = fast_threads;
  auto fast_module = fast::Deserialize(fast_manager, synth->cache, *module, env, load);
  if (!ref_module.ok() || !fast_module.ok()) {
    ReportFinding("roundtrip-second-load-rejected",
                  context + "; the same cache loaded once already");
  }

  // The output, loaded elsewhere (and under an environment whose addresses
  // and ids all moved), serializes to itself.
  const Environment moved = Shifted(env, shift);
  for (const Environment* e : {&env, &moved}) {
    const char* stage =
        e == &env ? "roundtrip-reload" : "roundtrip-reload-moved";
    const equiv::Outcome again =
        CompareBoth(stage, first.serialized, *module, *e, fast_run, context);
    if (!again.status.ok()) {
      ReportFinding(absl::StrFormat("%s-rejected", stage),
                    context + "; " + again.status.ToString());
    }
    if (again.serialized != first.serialized) {
      const equiv::Difference d = {
          "serialized bytes",
          absl::StrFormat("sizes %d and %d", first.serialized.size(),
                          again.serialized.size())};
      Disagree(absl::StrFormat("%s-unrelocation", stage), options.arch, d,
               context);
    }
  }
}

}  // namespace wasmcache::fuzz
