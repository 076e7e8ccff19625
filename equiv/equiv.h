// Running the reference and the fast implementation on the same input and
// comparing everything they produce: the status code of a rejection, the
// re-serialized bytes, and the state of the loaded module (per function:
// state, tier, header, parts, where its jump-table slot leads; tiering
// budgets; headers; lookup by pc). Used by `wasmcache equiv`, the tests and
// the fuzzers.

#ifndef WASMCACHE_EQUIV_EQUIV_H_
#define WASMCACHE_EQUIV_EQUIV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "spec/environment.h"
#include "spec/layout.h"
#include "spec/module_info.h"

namespace wasmcache::equiv {

// Where a declared function's near jump-table slots lead, in every code
// space of its module.
enum class SlotTarget : uint8_t {
  kOwnCode,    // the function's published code
  kLazySlot,   // its lazy-compile slot
  kElsewhere,  // anything else: a defect
};

struct FunctionSnapshot {
  uint8_t state = 0;  // 0 lazy, 1 eager, 2 TurboFan
  bool has_code = false;
  CodeHeader header;
  std::vector<uint8_t> metadata;  // parts other than the instructions
  SlotTarget slot = SlotTarget::kElsewhere;
  bool lookup_ok = false;  // pc lookup finds the code at its first and last
                           // byte (and nothing at code-less functions)
};

struct ModuleSnapshot {
  GlobalHeader global_header;
  ModuleHeader module_header;
  std::vector<FunctionSnapshot> functions;
  std::vector<uint32_t> tiering_budgets;
  uint64_t generated_code_size = 0;
  bool far_slots_ok = false;  // every builtin's far slot leads to its entry
};

// What one implementation made of one input.
struct Outcome {
  absl::Status status;  // of deserialization (or of serialization)
  ModuleSnapshot snapshot;
  std::vector<uint8_t> serialized;
};

struct RunOptions {
  int fast_threads = 0;  // 0: all
  // If set: the fast load reads the cache from this file, which holds the
  // same bytes (fast::DeserializeFile, with this window; 0: its default).
  std::string fast_from_file;
  uint64_t fast_file_window_bytes = 0;
};

Outcome RunReference(absl::Span<const uint8_t> cache, const ModuleInfo& module,
                     const Environment& env);
Outcome RunFast(absl::Span<const uint8_t> cache, const ModuleInfo& module,
                const Environment& env, const RunOptions& options = {});

// The first difference between two outcomes: `field` names what differs
// in words that never depend on the input ("status", "code header",
// "serialized bytes", ...: the fuzzers build their finding signatures from
// it), `detail` says where and how (function index, file offset, values).
// Both empty if the outcomes agree: same status code; and if both loaded,
// the same snapshot and serialized bytes.
struct Difference {
  std::string field;
  std::string detail;

  bool empty() const { return field.empty(); }
  // "<field>: <detail>", or "" if there is no difference.
  std::string ToString() const;
};
Difference CompareOutcomes(const Outcome& reference, const Outcome& fast,
                           const ModuleInfo& module, const Environment& env);

// CompareOutcomes(...).ToString().
std::string Compare(const Outcome& reference, const Outcome& fast,
                    absl::Span<const uint8_t> cache, const ModuleInfo& module,
                    const Environment& env);

// Names the field of a cache at `offset` ("function 12 instructions +0x40").
std::string DescribeOffset(absl::Span<const uint8_t> cache,
                           const ModuleInfo& module, const Environment& env,
                           uint64_t offset);

}  // namespace wasmcache::equiv

#endif  // WASMCACHE_EQUIV_EQUIV_H_
