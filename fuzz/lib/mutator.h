// The structure-aware mutator of caches, shared by libFuzzer
// (LLVMFuzzerCustomMutator in deserialize_fuzzer), AFL++ (the custom
// mutator library, fuzz/drivers/afl_mutator.cc) and `wasmcache-mutate`.
//
// It reads the cache as structure (fuzz/lib/cache_model.h), applies one to
// three mutations, then writes it back with consistent lengths (each part
// size from its part, the module's total code size from the instruction
// sizes) unless the mutation was aimed at a length, so that most mutants
// get past the framing into the checks that matter. The mutations:
//
//   header-word      one of the five global header words
//   module-header    detected features, total code size, validated flag,
//                    compile-time imports, constants module, well-known
//                    import statuses
//   record-tag       a function's tag (lazy, eager, TurboFan; a TurboFan
//                    record gets a copy of another one's code)
//   code-header      one of the 16 code-header fields, to a boundary value
//                    (0, -1, limits, a neighbouring size, another field's)
//   reloc-entry      one RelocInfo entry: its mode, pc or data changed, or
//                    an entry removed, duplicated or added; re-encoded
//   site-tag         the tag stored at a relocation site (a function index,
//                    builtin, signature, external reference) set to a
//                    boundary value through the target's own encoder
//   code-bytes       bits of an instruction at a relocation site, in the
//                    safepoint table, or anywhere in the code
//   metadata         bytes of source positions, inlining positions, deopt
//                    data or protected instructions; a part resized
//   tiering-budgets  a budget changed, or budgets cut or added
//   structure        a record removed, duplicated or swapped; the cache cut
//                    at a record boundary
//   raw              the engine's own byte mutation (LLVMFuzzerMutate), or
//                    a built-in one, over the whole cache
//   wasm             (containers only) the wire bytes, the target, the
//                    thread bit or the file bit
//
// Everything is deterministic in the seed.

#ifndef WASMCACHE_FUZZ_LIB_MUTATOR_H_
#define WASMCACHE_FUZZ_LIB_MUTATOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "spec/arch.h"
#include "spec/module_info.h"

namespace wasmcache::fuzz {

// An engine's byte mutation: mutates data[0, size) in place within
// max_size bytes of room and returns the new size (LLVMFuzzerMutate's
// contract).
using RawMutator =
    std::function<size_t(uint8_t* data, size_t size, size_t max_size)>;

struct MutatorOptions {
  // Never change the wire bytes, the target or the flag bits of a
  // container.
  bool cache_only = false;
  // The engine's byte mutation; empty: the built-in one.
  RawMutator raw;
};

struct Mutation {
  std::vector<uint8_t> bytes;
  // What was done, e.g. "code-header unpadded_binary_size=-1 (function 3)";
  // the first word is the mutation's name from the list above.
  std::string description;
};

// A mutant of a cache of `module` for `arch`.
Mutation MutateCache(absl::Span<const uint8_t> cache, Arch arch,
                     const ModuleInfo& module, uint64_t seed,
                     const MutatorOptions& options = {});

// A mutant of a container (fuzz/lib/container.h), at most max_size bytes.
Mutation MutateContainer(absl::Span<const uint8_t> container, size_t max_size,
                         uint64_t seed, const MutatorOptions& options = {});

// The built-in byte mutation: bit flips, byte sets to interesting values,
// small arithmetic on 1, 2, 4 or 8 bytes, block removal, insertion and
// duplication.
size_t BuiltinRawMutate(uint8_t* data, size_t size, size_t max_size,
                        uint64_t seed);

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_MUTATOR_H_
