#include "spec/reloc_mode.h"

#include <array>

namespace wasmcache {
namespace {

constexpr std::array<std::string_view, kNumberOfRelocModes> kNames = {
    "NO_INFO",
    "CODE_TARGET",
    "RELATIVE_CODE_TARGET",
    "COMPRESSED_EMBEDDED_OBJECT",
    "FULL_EMBEDDED_OBJECT",
    "WASM_CALL",
    "WASM_STUB_CALL",
    "WASM_CODE_POINTER_TABLE_ENTRY",
    "WASM_CANONICAL_SIG_ID",
    "EXTERNAL_REFERENCE",
    "INTERNAL_REFERENCE",
    "INTERNAL_REFERENCE_ENCODED",
    "JS_DISPATCH_HANDLE",
    "OFF_HEAP_TARGET",
    "NEAR_BUILTIN_ENTRY",
    "CONST_POOL",
    "VENEER_POOL",
    "DEOPT_SCRIPT_OFFSET",
    "DEOPT_INLINING_ID",
    "DEOPT_REASON",
    "DEOPT_ID",
    "DEOPT_NODE_ID",
    "PC_JUMP",
};

}  // namespace

std::string_view RelocModeName(RelocMode mode) {
  const auto index = static_cast<size_t>(mode);
  return index < kNames.size() ? kNames[index] : "UNKNOWN";
}

std::optional<RelocMode> ParseRelocModeName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<RelocMode>(i);
  }
  return std::nullopt;
}

}  // namespace wasmcache
