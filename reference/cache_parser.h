// Reading and validating a whole cache, before anything is allocated.
//
// ParseCache() walks the cache once, front to back, and checks every rule
// of spec/FORMAT.md ("Validation"): header words against the environment,
// module-header fields, each function record's tag, sizes and offsets, the
// RelocInfo stream, each relocation site's instruction form and bounds,
// each tag against the module and the environment, sites that overlap, the
// total code size, the tiering budgets and the absence of trailing bytes.
// If it returns a ParsedCache, loading it cannot fail on account of the
// input; only resources (code space) remain.
//
// The result points into the input (spans); the input must outlive it.

#ifndef WASMCACHE_REFERENCE_CACHE_PARSER_H_
#define WASMCACHE_REFERENCE_CACHE_PARSER_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/reloc_stream.h"
#include "reference/relocation.h"
#include "spec/layout.h"

namespace wasmcache::reference {

// A relocation site that the serializer rewrites, with its on-disk tag.
struct PatchedSite {
  RelocMode mode = RelocMode::kNoInfo;
  Site site;
  uint64_t tag = 0;
  // For WASM_STUB_CALL: the far-slot index of the builtin.
  uint32_t far_slot = 0;
};

struct ParsedFunction {
  uint32_t index = 0;  // function index, counting imports
  FunctionTag tag = FunctionTag::kLazy;
  uint64_t record_offset = 0;  // file offset of the tag byte
  // TurboFan records only:
  CodeHeader header;
  std::array<uint64_t, kNumCodeParts> part_offsets{};  // file offsets
  std::array<absl::Span<const uint8_t>, kNumCodeParts> parts{};
  std::vector<RelocEntry> relocs;
  std::vector<PatchedSite> sites;

  absl::Span<const uint8_t> part(CodePart p) const {
    return parts[static_cast<int>(p)];
  }
  uint64_t code_offset() const {
    return part_offsets[static_cast<int>(CodePart::kInstructions)];
  }
};

struct ParsedCache {
  GlobalHeader header;
  ModuleHeader module_header;
  uint64_t total_code_size_offset = 0;
  std::vector<ParsedFunction> functions;  // one per declared function
  std::vector<uint32_t> tiering_budgets;
  uint64_t tiering_budgets_offset = 0;
};

// Checks one function's code (header fields, part sizes against the
// header, RelocInfo stream, sites, tags) as the parser does for a record;
// fills fn.relocs and fn.sites. With `allow_liftoff`, tier 1 is accepted
// too (code added by a compiler rather than read from a cache).
absl::Status CheckFunctionCode(const ModuleInfo& module,
                               const Environment& env, ParsedFunction& fn,
                               bool allow_liftoff);

absl::StatusOr<ParsedCache> ParseCache(absl::Span<const uint8_t> cache,
                                       const ModuleInfo& module,
                                       const Environment& env);

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_CACHE_PARSER_H_
