// The environment a cache is loaded into: what V8 knows at load time and
// the cache does not say.
//
// A cache names things by tag (a function index, a builtin id, an index in
// V8's external-reference list, a module-local type index). To turn a tag
// into an address, and to check that the tag names something that exists,
// the loader needs the target's tables: how many external references there
// are, which builtins have far jump-table slots, the canonical signature id
// of each type, the code-pointer handle of each function. It also needs the
// header words the loading V8 would compare (or an instruction to only
// record them).
//
// DefaultEnvironment() gives V8 13.6.233 (Node.js 24.20) values, established
// from V8's sources and the shipped Node binaries (see spec/FORMAT.md,
// "Environment"), plus synthetic addresses for the tables wasmcache does not
// have (builtin entry points, external references): any injective choice
// relocates and un-relocates to the same bytes.

#ifndef WASMCACHE_SPEC_ENVIRONMENT_H_
#define WASMCACHE_SPEC_ENVIRONMENT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "spec/module_info.h"
#include "spec/arch.h"
#include "spec/layout.h"

namespace wasmcache {

struct Environment {
  Arch arch = Arch::kX64;

  // Expected value of each global header word; nullopt records the word
  // without checking it.
  std::array<std::optional<uint32_t>, kNumHeaderWords> expected_header;

  // Compile-time imports and imported-string-constants module the loading
  // V8 was asked for (V8 rejects a cache made for others).
  uint32_t compile_time_imports = 0;
  std::string constants_module;

  // Number of entries in V8's wasm ExternalReferenceList.
  uint32_t num_external_references = 0;

  // Global Builtin id of each far jump-table slot, in slot order.
  std::vector<uint32_t> far_slot_builtins;
  // Builtin whose far slot lazy-compile slots jump to.
  uint32_t lazy_compile_builtin = 0;

  // Per module type index: the canonical signature id the loading V8 gives
  // it (meaningful for signatures only).
  std::vector<uint32_t> canonical_sig_ids;
  // Per declared function: its code-pointer-table handle.
  std::vector<uint32_t> code_pointer_handles;

  // Synthetic addresses: external reference i lives at
  // external_reference_base + i * word size, builtin slot s's entry at
  // builtin_entry_base + s * 64.
  uint64_t external_reference_base = 0;
  uint64_t builtin_entry_base = 0;

  // Real addresses, for code that is to run on this host: when not empty,
  // external reference i is external_reference_addresses[i] (one entry per
  // reference, all distinct) and far slot s jumps to builtin_entries[s].
  std::vector<uint64_t> external_reference_addresses;
  std::vector<uint64_t> builtin_entries;

  uint64_t ExternalReference(uint32_t index) const {
    if (!external_reference_addresses.empty()) {
      return external_reference_addresses[index];
    }
    return external_reference_base +
           uint64_t{index} * TraitsOf(arch).word_size;
  }
  uint64_t BuiltinEntry(uint32_t far_slot) const {
    if (!builtin_entries.empty()) return builtin_entries[far_slot];
    return builtin_entry_base + uint64_t{far_slot} * 64;
  }

  // Upper bound of code the loader may commit for one module.
  uint64_t max_module_code_size = uint64_t{4095} << 20;
};

// Synthetic address bases of the default environment.
inline constexpr uint64_t kExternalReferenceBase64 = 0x00005a0000000000;
inline constexpr uint64_t kBuiltinEntryBase64 = 0x00005b0000000000;
inline constexpr uint64_t kExternalReferenceBase32 = 0x5a000000;
inline constexpr uint64_t kBuiltinEntryBase32 = 0x5b000000;
inline constexpr uint32_t kCodePointerHandleBase = 0x10000;

// Builds the V8 13.6 environment for `arch` and `module`: magic and version
// hash checked, CPU features, flag hash and enabled features recorded only,
// V8 13.6's external-reference count and far-slot builtins, canonical sig
// ids that merge structurally equal signatures, one code-pointer handle per
// declared function.
Environment DefaultEnvironment(Arch arch, const ModuleInfo& module);

// Checks the environment against the module (table sizes, distinct ids).
absl::Status ValidateEnvironment(const Environment& env,
                                 const ModuleInfo& module);

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_ENVIRONMENT_H_
