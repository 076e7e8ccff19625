#include "spec/environment.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_format.h"
#include "spec/v8_tables.h"

namespace wasmcache {
namespace {

// Whether all values are distinct (a sorted copy: cheaper than a hash set
// for the few hundred ids an environment holds, and checked on every load).
// Values already strictly increasing, as code-pointer handles handed out in
// order are (one per function), need no copy.
template <class T>
bool AllDistinct(const std::vector<T>& values) {
  if (std::adjacent_find(values.begin(), values.end(),
                         std::greater_equal<T>()) == values.end()) {
    return true;
  }
  std::vector<T> sorted(values);
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
}

}  // namespace

Environment DefaultEnvironment(Arch arch, const ModuleInfo& module) {
  Environment env;
  env.arch = arch;
  env.expected_header[0] = v8_13_6::kMagicNumber;
  env.expected_header[1] = v8_13_6::kVersionHash;
  env.num_external_references = v8_13_6::kNumExternalReferences;
  for (const v8_13_6::FarSlotBuiltin& b : v8_13_6::kFarSlotBuiltins) {
    env.far_slot_builtins.push_back(b.builtin_id);
  }
  env.lazy_compile_builtin = v8_13_6::kWasmCompileLazy;
  env.canonical_sig_ids.assign(module.structural_class.begin(),
                               module.structural_class.end());
  env.code_pointer_handles.resize(module.num_declared_functions);
  for (uint32_t i = 0; i < module.num_declared_functions; ++i) {
    env.code_pointer_handles[i] = kCodePointerHandleBase + i;
  }
  const bool wide = TraitsOf(arch).word_size == 8;
  env.external_reference_base =
      wide ? kExternalReferenceBase64 : kExternalReferenceBase32;
  env.builtin_entry_base = wide ? kBuiltinEntryBase64 : kBuiltinEntryBase32;
  return env;
}

absl::Status ValidateEnvironment(const Environment& env,
                                 const ModuleInfo& module) {
  auto invalid = [](std::string what) {
    return absl::InvalidArgumentError("environment: " + what);
  };
  if (env.canonical_sig_ids.size() != module.num_types()) {
    return invalid(absl::StrFormat("%d canonical sig ids for %d types",
                                   env.canonical_sig_ids.size(),
                                   module.num_types()));
  }
  if (env.code_pointer_handles.size() != module.num_declared_functions) {
    return invalid(absl::StrFormat("%d code-pointer handles for %d functions",
                                   env.code_pointer_handles.size(),
                                   module.num_declared_functions));
  }
  if (!AllDistinct(env.code_pointer_handles)) {
    return invalid("code-pointer handles are not distinct");
  }
  if (!AllDistinct(env.far_slot_builtins)) {
    return invalid("far-slot builtins are not distinct");
  }
  if (std::find(env.far_slot_builtins.begin(), env.far_slot_builtins.end(),
                env.lazy_compile_builtin) == env.far_slot_builtins.end()) {
    return invalid("the lazy-compile builtin has no far slot");
  }
  if (!env.external_reference_addresses.empty()) {
    if (env.external_reference_addresses.size() !=
        env.num_external_references) {
      return invalid("external_reference_addresses must have one entry per "
                     "external reference");
    }
    if (!AllDistinct(env.external_reference_addresses)) {
      return invalid("external reference addresses are not distinct");
    }
  }
  if (!env.builtin_entries.empty() &&
      env.builtin_entries.size() != env.far_slot_builtins.size()) {
    return invalid("builtin_entries must have one entry per far slot");
  }
  // Synthetic addresses must not wrap and must stay in the target's word.
  const uint32_t word = TraitsOf(env.arch).word_size;
  const uint64_t limit = word == 8 ? ~uint64_t{0} : 0xffffffffu;
  if (env.external_reference_base >
      limit - uint64_t{env.num_external_references} * word) {
    return invalid("external-reference addresses overflow the word");
  }
  if (env.builtin_entry_base >
      limit - uint64_t{env.far_slot_builtins.size()} * 64) {
    return invalid("builtin entry addresses overflow the word");
  }
  return absl::OkStatus();
}

}  // namespace wasmcache
