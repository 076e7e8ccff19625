// Synthesized V8 13.6 wasm caches for any target.
//
// V8 gives real caches only for the targets it runs on here (x64, arm64).
// Synthesize() builds, deterministically from a seed, a wasm module and a
// cache of it for any of the ten targets, such that wasmcache's parser,
// deserializer and serializer accept it:
//
//   module  type section (signatures, some structurally equal so that
//           canonical signature merging matters; optionally a struct type),
//           function imports, the function section and trivial valid
//           bodies (wabt's wasm-validate accepts them).
//   cache   V8 13.6's magic and version hash, random CPU-feature, flag-hash
//           and enabled-features words (recorded, not checked, by the
//           default environment); a module header with random detected
//           features, validated flag and well-known import statuses; per
//           declared function a lazy (2), eager (3) or TurboFan (4) record,
//           at least one TurboFan; random tiering budgets.
//
// TurboFan code is real instructions of the target (synth/arch/): fillers,
// a prologue and epilogue, and relocation sites in the instruction forms
// V8 13.6 emits for each mode (calls to declared functions, stub calls to
// far-slot builtins, external references, signature ids, code-pointer
// table entries, internal references, constant pools), then a valid
// safepoint table with an entry after each call, 0xCC padding, and the
// code-header offsets V8 writes (ppc64: the embedded constant pool after
// the table). The first TurboFan function holds every mode the target
// uses, so every synthesized cache covers all of them.
//
// Determinism: one std::mt19937_64 seeded with `seed`, and range mappings
// written by hand (synth/random.h): the same options give the same bytes
// on every host and standard library.
//
// Canonical form: with `canonical`, the output is what wasmcache's
// serializer writes (signature tags are the smallest type index of their
// class, x64 external references have a zero high half), so relocating it
// gives the same bytes. Without it, tags vary as V8's may (any signature of
// a class; x64 external-reference high halves hold address bits).

#ifndef WASMCACHE_SYNTH_SYNTH_H_
#define WASMCACHE_SYNTH_SYNTH_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "spec/arch.h"
#include "spec/reloc_mode.h"

namespace wasmcache::synth {

struct SynthOptions {
  Arch arch = Arch::kX64;
  uint64_t seed = 0;
  uint32_t num_functions = 8;  // declared functions, >= 1
  // Write the canonical form (see above).
  bool canonical = false;
  // Also emit forms the codec accepts but V8 13.6 does not write in wasm
  // code (arm64 pool-form calls, arm64 INTERNAL_REFERENCE, VENEER_POOL).
  bool all_forms = false;
  // Add a struct type to the type section (a GC-proposal module; wabt needs
  // --enable-gc to validate it).
  bool struct_type = false;
  // Upper bound of relocation sites per TurboFan function, besides the
  // forced ones of the first TurboFan function.
  uint32_t max_sites_per_function = 12;
};

struct SynthResult {
  std::vector<uint8_t> wasm;
  std::vector<uint8_t> cache;
};

// kInvalidArgument for num_functions 0 or above 100000.
absl::StatusOr<SynthResult> Synthesize(const SynthOptions& options);

// Every mode that can appear in a synthesized cache for `arch` (sites and
// pool markers); each appears in every cache Synthesize() writes.
std::vector<RelocMode> SynthesizedModes(Arch arch, bool all_forms);

}  // namespace wasmcache::synth

#endif  // WASMCACHE_SYNTH_SYNTH_H_
