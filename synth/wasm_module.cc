#include "synth/wasm_module.h"

#include <cstddef>
#include <string>

namespace wasmcache::synth {
namespace {

constexpr uint8_t kValueTypes[] = {0x7f, 0x7e, 0x7d, 0x7c};  // i32 i64 f32 f64

void Leb(std::vector<uint8_t>& out, uint32_t value) {
  do {
    uint8_t b = value & 0x7f;
    value >>= 7;
    if (value != 0) b |= 0x80;
    out.push_back(b);
  } while (value != 0);
}

void Section(std::vector<uint8_t>& out, uint8_t id,
             const std::vector<uint8_t>& body) {
  out.push_back(id);
  Leb(out, static_cast<uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

void Name(std::vector<uint8_t>& out, const std::string& name) {
  Leb(out, static_cast<uint32_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
}

std::vector<uint32_t> SignatureIndices(const WasmModuleShape& shape) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < shape.types.size(); ++i) {
    if (!shape.types[i].is_struct) out.push_back(i);
  }
  return out;
}

}  // namespace

WasmModuleShape RandomModuleShape(Rng& rng, uint32_t num_functions,
                                  bool struct_type) {
  WasmModuleShape shape;
  const uint32_t num_signatures = rng.Uniform32(3, 7);
  for (uint32_t i = 0; i < num_signatures; ++i) {
    if (i > 0 && rng.Chance(1, 3)) {
      // A duplicate: V8 gives it the canonical id of the earlier one.
      shape.types.push_back(shape.types[rng.Uniform(0, i - 1)]);
      continue;
    }
    WasmType t;
    const uint32_t params = rng.Uniform32(0, 3);
    for (uint32_t p = 0; p < params; ++p) t.params.push_back(rng.Pick(kValueTypes));
    const uint32_t results = rng.Uniform32(0, 1);
    for (uint32_t r = 0; r < results; ++r) t.results.push_back(rng.Pick(kValueTypes));
    shape.types.push_back(t);
  }
  if (struct_type) {
    WasmType s;
    s.is_struct = true;
    const uint32_t fields = rng.Uniform32(1, 3);
    for (uint32_t f = 0; f < fields; ++f) s.results.push_back(rng.Pick(kValueTypes));
    const size_t at = rng.Uniform(0, shape.types.size());
    shape.types.insert(shape.types.begin() + static_cast<std::ptrdiff_t>(at), s);
  }
  const std::vector<uint32_t> signatures = SignatureIndices(shape);
  const uint32_t imports = rng.Uniform32(0, 3);
  for (uint32_t i = 0; i < imports; ++i) {
    shape.import_types.push_back(rng.Pick(signatures));
  }
  for (uint32_t i = 0; i < num_functions; ++i) {
    shape.function_types.push_back(rng.Pick(signatures));
  }
  return shape;
}

std::vector<uint8_t> EncodeModule(const WasmModuleShape& shape, Rng& rng) {
  std::vector<uint8_t> out = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  std::vector<uint8_t> types;
  Leb(types, static_cast<uint32_t>(shape.types.size()));
  for (const WasmType& t : shape.types) {
    if (t.is_struct) {
      types.push_back(0x5f);
      Leb(types, static_cast<uint32_t>(t.results.size()));
      for (uint8_t field : t.results) {
        types.push_back(field);
        types.push_back(0x01);  // mutable
      }
      continue;
    }
    types.push_back(0x60);
    Leb(types, static_cast<uint32_t>(t.params.size()));
    types.insert(types.end(), t.params.begin(), t.params.end());
    Leb(types, static_cast<uint32_t>(t.results.size()));
    types.insert(types.end(), t.results.begin(), t.results.end());
  }
  Section(out, 1, types);

  if (!shape.import_types.empty()) {
    std::vector<uint8_t> imports;
    Leb(imports, static_cast<uint32_t>(shape.import_types.size()));
    for (size_t i = 0; i < shape.import_types.size(); ++i) {
      Name(imports, "env");
      Name(imports, "import" + std::to_string(i));
      imports.push_back(0x00);  // function
      Leb(imports, shape.import_types[i]);
    }
    Section(out, 2, imports);
  }

  std::vector<uint8_t> functions;
  Leb(functions, static_cast<uint32_t>(shape.function_types.size()));
  for (uint32_t t : shape.function_types) Leb(functions, t);
  Section(out, 3, functions);

  std::vector<uint8_t> code;
  Leb(code, static_cast<uint32_t>(shape.function_types.size()));
  for (uint32_t t : shape.function_types) {
    std::vector<uint8_t> body = {0x00};  // no locals
    const uint32_t nops = rng.Uniform32(0, 2);
    for (uint32_t i = 0; i < nops; ++i) body.push_back(0x01);
    for (uint8_t result : shape.types[t].results) {
      switch (result) {
        case 0x7f: body.insert(body.end(), {0x41, 0x00}); break;
        case 0x7e: body.insert(body.end(), {0x42, 0x00}); break;
        case 0x7d: body.insert(body.end(), {0x43, 0, 0, 0, 0}); break;
        default: body.insert(body.end(), {0x44, 0, 0, 0, 0, 0, 0, 0, 0}); break;
      }
    }
    body.push_back(0x0b);
    Leb(code, static_cast<uint32_t>(body.size()));
    code.insert(code.end(), body.begin(), body.end());
  }
  Section(out, 10, code);
  return out;
}

}  // namespace wasmcache::synth
