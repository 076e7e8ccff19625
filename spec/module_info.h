// What the deserializer needs to know about a module from its wire bytes.
//
// The cache does not repeat the module's shape: how many functions are
// imported, how many are declared, which type indices are function
// signatures. V8 re-decodes the wire bytes for that; wasmcache does the same
// with a small decoder of the type, import and function sections. It
// validates what it reads (LEB128 bounds, section sizes, type indices) and
// skips every other section by its length.
//
// Errors: "wasm: <what> at offset 0x<hex>" with the offset in the wire bytes;
// truncation is kOutOfRange, anything else malformed kDataLoss, a count over
// V8's limits kResourceExhausted.

#ifndef WASMCACHE_SPEC_MODULE_INFO_H_
#define WASMCACHE_SPEC_MODULE_INFO_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace wasmcache {

// V8's limits (wasm-limits.h).
inline constexpr uint32_t kMaxTypes = 1'000'000;
inline constexpr uint32_t kMaxFunctions = 1'000'000;
inline constexpr uint32_t kMaxImports = 1'000'000;

struct ModuleInfo {
  uint32_t num_imported_functions = 0;
  uint32_t num_declared_functions = 0;
  // Per type index: true for a function signature (as opposed to a struct
  // or array type).
  std::vector<bool> is_signature;
  // Per type index: an equivalence class; two signatures in the same class
  // are canonicalized to the same id by V8's type canonicalizer. Types that
  // wasmcache cannot prove equal get classes of their own.
  std::vector<uint32_t> structural_class;
  // Type index of each declared function.
  std::vector<uint32_t> declared_function_types;

  uint32_t num_types() const { return static_cast<uint32_t>(is_signature.size()); }
  uint32_t num_functions() const {
    return num_imported_functions + num_declared_functions;
  }
};

absl::StatusOr<ModuleInfo> DecodeModuleInfo(absl::Span<const uint8_t> wire);

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_MODULE_INFO_H_
