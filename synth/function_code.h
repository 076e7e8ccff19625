// One synthesized TurboFan function record: code header and the six
// variable parts (spec/FORMAT.md §7).
//
// Layout of the instructions, as V8's code generator writes them:
//
//   prologue, body (fillers and relocation sites), epilogue
//   out-of-line parts (constant pool, internal-reference tables)
//   no-op padding to 4
//   safepoint_table_offset:  safepoint table (§7.3), 0xCC padding to 4
//   handler_table_offset (= constant_pool_offset without an embedded pool)
//   [ppc64: embedded constant pool, 8-aligned: constant_pool_offset]
//   unpadded_binary_size (= code_comments_offset)
//   zero padding to the target's code alignment: instructions_size
//
// Tags are stored last, through reference::LocateSite and WriteTag, so
// every site is checked by the codec that will read it.

#ifndef WASMCACHE_SYNTH_FUNCTION_CODE_H_
#define WASMCACHE_SYNTH_FUNCTION_CODE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "spec/layout.h"
#include "spec/reloc_mode.h"
#include "synth/random.h"

namespace wasmcache::synth {

struct TurboFanRecord {
  CodeHeader header;
  std::array<std::vector<uint8_t>, kNumCodeParts> parts;
};

struct FunctionContext {
  Arch arch;
  const ModuleInfo& module;
  const Environment& env;
  bool canonical;
  bool all_forms;
  uint32_t max_sites;
};

// Builds one record holding a site of each mode in `forced` plus up to
// max_sites random ones. kInternal if an emitter wrote a site its codec
// rejects (a generator bug).
absl::StatusOr<TurboFanRecord> BuildTurboFanRecord(
    const FunctionContext& ctx, Rng& rng, const std::vector<RelocMode>& forced);

}  // namespace wasmcache::synth

#endif  // WASMCACHE_SYNTH_FUNCTION_CODE_H_
