// The code manager against a model: what code_manager_fuzzer runs.
//
// An input is a program of code-manager operations. Each is run on the
// reference code manager (reference/code_manager.h, native_module.h,
// wasm_code.h), and on the fast one where its interface allows (fast
// modules are built whole from a cache and never change), and applied to a
// plain model: which modules and code objects exist, where each lies, which
// code each function's table entry holds, how many references each open
// WasmCodeRefScope holds, and which code was taken out of the table but is
// still referenced. After every operation the model and the managers must
// agree on:
//
//   placement     live code regions (aligned, rounded to the code
//                 alignment) never overlap each other or any jump-table
//                 block, and each lies in a code space of its own module;
//                 code spaces of all modules are disjoint.
//   lookup        LookupCode, LookupCodeAndSafepoint and LookupNativeModule
//                 at a code's first and last byte and just outside it (and
//                 at code that died, and inside jump tables) give exactly
//                 the model's answer: the code, its neighbour, or nothing.
//   lifetime      a code object's reference count is the model's (its
//                 unpublished handle, its table entry, the scopes' refs);
//                 code is freed exactly when the model's count reaches
//                 zero, so code removed while a scope holds it stays owned,
//                 lookup-able and byte-for-byte intact until the scope
//                 closes, and the lookup cache never returns freed code.
//   tables        GetCode/HasCode match the model's table; every code
//                 space's near slot of a function leads (directly or
//                 through its far slot) to the installed code or to the
//                 function's lazy-compile slot.
//   accounting    committed bytes equal the pages touched by jump tables
//                 and code regions still allocated (published or not;
//                 dropped unpublished code keeps its region until its
//                 module dies), summed over modules, never above
//                 the limit; reserved bytes, code-space and module counts,
//                 generated and freed code sizes and memory-pressure
//                 notifications are the model's; everything returns to
//                 zero once the last module is freed.
//   differential  a synthesized cache loaded into both managers gives
//                 code of the same functions with equal headers, and equal
//                 lookups and safepoints at equal offsets.
//
// Trust: the model takes from the managers only where code spaces and
// their jump tables lie (code_spaces()) and where each new code object was
// placed (then checks the placement); everything else it predicts. It
// follows the library's contracts: a module is not freed while an open
// scope holds its code, and unpublished handles are dropped first.
//
// A disagreement reports a finding (fuzz/lib/finding.h) whose signature
// begins "code-manager-" and names the invariant, never an input value.
//
// Input format. Every byte string is a program: reads past the end give
// zeros (fuzz/lib/byte_source.h), and the program stops at the end of the
// input or after kMaxCodeManagerOps operations.
//
//   byte 0   configuration
//              bit 0     use a memory protection key if the system has one
//              bit 1     flush Liftoff code under memory pressure
//              bits 2-3  committed-code limit: 0 V8's 4095 MB, 1 128 KiB,
//                        2 512 KiB, 3 2 MiB (small limits make reservations
//                        fail and memory pressure happen)
//   then     operations: an opcode byte (CodeManagerOp, modulo
//            kNumCodeManagerOps) and its operands. "module" bytes pick a
//            live module modulo the number of candidates; u16 values are
//            little-endian.
//
//   op  name             operands
//   0   new-module       arch (mod 10), num_declared u16 v (bit 15
//                        clear: 1 + v % 24; set: 1 + (v & 0x7fff) % 300),
//                        code-size estimate (x 256 bytes)
//   1   add-code         module, count (1..8), per code: declared u16,
//                        size (v < 224: 12 + 4v bytes, else (v - 223)
//                        KiB), flags (bit 0 Liftoff, bit 1 for debugging)
//   2   publish          module, count (1..pending), rotation of the
//                        pending list, mode (bit 0: one call per code)
//   3   drop-unpublished module, which pending code
//   4   remove-code      module, filter (RemoveFilter, mod 4)
//   5   free-module      module (reference and fast modules; not while an
//                        open scope holds code of it)
//   6   lookup           kind, which u16, edge. Kind bits 0-1: the call
//                        (LookupCode, LookupCodeAndSafepoint,
//                        LookupNativeModule, or all three), made of both
//                        managers; bits 2-3: the pc:
//                          0 code object `which` (of all ever made, live
//                            or not), by (edge & 7) % 5: start, last
//                            byte, end, start - 1, or start + size *
//                            (edge >> 3) / 32
//                          1 in the jump tables of space `which` (of all
//                            ever seen), edge * 8 bytes in
//                          2 space `which` by edge % 4: start - 1, start,
//                            end - 1, end
//                          3 space `edge`, which * 16 bytes in
//   7   get-code         module, declared u16
//   8   open-scope       (scopes nest up to 4 deep)
//   9   close-scope
//   10  load-cache       arch (mod 10), seed u16, functions (1..16): a
//                        synthesized cache into both managers
//
// Costs: at most 4 live modules, 160 code objects and 64 operations per
// input. Each operation checks what it touched (plus every reference
// count, code kept alive by scopes, and the accounting); every 16th and
// the teardown check everything. A typical input runs in about a
// millisecond under ASan, the heaviest (large modules, several caches) in
// a few.

#ifndef WASMCACHE_FUZZ_LIB_CODE_MANAGER_MODEL_H_
#define WASMCACHE_FUZZ_LIB_CODE_MANAGER_MODEL_H_

#include <array>
#include <cstdint>

#include "absl/types/span.h"

namespace wasmcache::fuzz {

enum class CodeManagerOp : uint8_t {
  kNewModule = 0,
  kAddCode = 1,
  kPublish = 2,
  kDropUnpublished = 3,
  kRemoveCode = 4,
  kFreeModule = 5,
  kLookup = 6,
  kGetCode = 7,
  kOpenScope = 8,
  kCloseScope = 9,
  kLoadCache = 10,
};
inline constexpr int kNumCodeManagerOps = 11;
inline constexpr int kMaxCodeManagerOps = 64;

// What a program did: per opcode, how many operations ran with effect
// (an operation without a candidate, e.g. publish with nothing pending,
// counts as skipped). For tests and for checking that seeds reach every
// operation.
struct CodeManagerRunStats {
  std::array<uint32_t, kNumCodeManagerOps> ran{};
  std::array<uint32_t, kNumCodeManagerOps> skipped{};
  uint32_t codes_freed = 0;             // code objects freed by count
  uint32_t freed_while_scoped = 0;      // of those, freed at a scope close
  uint32_t add_failures = 0;            // resource exhaustion (tolerated)
  uint32_t pressure_notifications = 0;  // reference manager
};

// Runs the program in `input` against fresh code managers and tears
// everything down at the end. Reports a finding (and aborts) on the first
// invariant violated. Cost: proportional to the operations run (see
// "Costs" above).
CodeManagerRunStats RunCodeManagerProgram(absl::Span<const uint8_t> input);

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_CODE_MANAGER_MODEL_H_
