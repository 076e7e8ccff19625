// Checking one function's code: the RelocInfo stream, decoded once, with
// every relocation site located, its tag read and checked against the
// module and environment as it is decoded; then overlapping sites and the
// safepoint table. The rules are those of spec/FORMAT.md ("Validation");
// every failure is kDataLoss with the file offset of the offending byte.

#ifndef WASMCACHE_FAST_ANALYZE_H_
#define WASMCACHE_FAST_ANALYZE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "fast/arch.h"
#include "spec/environment.h"
#include "spec/layout.h"
#include "spec/module_info.h"

namespace wasmcache::fast {

// What the checks need to know about the module and environment, in the
// form the hot loop wants (dense tables instead of maps).
struct AnalysisContext {
  AnalysisContext(const ModuleInfo& module, const Environment& env);

  const ModuleInfo& module;
  const Environment& env;
  const ArchOps& ops;
  const ArchTraits& traits;
  // Builtin id -> far slot, or -1 (dense up to the largest far-slot id).
  std::vector<int32_t> far_slot_of_builtin;
};

// One function's code as found in a cache (or handed in by a caller).
struct FunctionCode {
  const CodeHeader* header;
  const uint8_t* instructions;  // header->instructions_size bytes
  const uint8_t* reloc_info;    // header->reloc_info_size bytes
  uint64_t instructions_offset;  // file offsets, for errors
  uint64_t reloc_offset;
};

// Checks a code header read at file offset `at`: part sizes, offsets
// inside the code, kind, and tier (TurboFan, or Liftoff if allowed).
absl::Status CheckCodeHeader(const CodeHeader& h, uint64_t at,
                             const ArchTraits& traits,
                             bool allow_liftoff = false);

// Checks `code`; on success `sites` holds its patched sites with their tags
// (and far slots for stub calls), in stream order.
absl::Status AnalyzeFunction(const AnalysisContext& ctx,
                             const FunctionCode& code,
                             std::vector<Site>& sites);

// Writes the real target of every site of `code`, placed at `address`:
// calls through the near table at `near_table`, stub calls through the far
// table at `far_table`. kInternal (at the field's file offset, from
// `instructions_offset`) if a target is out of a form's reach.
absl::Status RelocateSites(const AnalysisContext& ctx, uint8_t* code,
                           uint64_t address, absl::Span<const Site> sites,
                           uint64_t near_table, uint64_t far_table,
                           uint64_t instructions_offset);

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ANALYZE_H_
