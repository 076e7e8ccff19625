// The wasm module of a synthesized cache: a random but valid module whose
// shape (types, imports, declared functions) the cache refers to.

#ifndef WASMCACHE_SYNTH_WASM_MODULE_H_
#define WASMCACHE_SYNTH_WASM_MODULE_H_

#include <cstdint>
#include <vector>

#include "synth/random.h"

namespace wasmcache::synth {

struct WasmType {
  bool is_struct = false;
  std::vector<uint8_t> params;   // value types (0x7f i32 .. 0x7c f64)
  std::vector<uint8_t> results;  // or struct fields when is_struct
};

struct WasmModuleShape {
  std::vector<WasmType> types;
  std::vector<uint32_t> import_types;    // type index per imported function
  std::vector<uint32_t> function_types;  // type index per declared function
};

// A random shape: 3 to 7 signatures of which some repeat an earlier one,
// optionally a struct type, 0 to 3 imports, `num_functions` declared
// functions.
WasmModuleShape RandomModuleShape(Rng& rng, uint32_t num_functions,
                                  bool struct_type);

// The binary module: type, import, function and code sections; each body
// returns zero constants of its result types.
std::vector<uint8_t> EncodeModule(const WasmModuleShape& shape, Rng& rng);

}  // namespace wasmcache::synth

#endif  // WASMCACHE_SYNTH_WASM_MODULE_H_
