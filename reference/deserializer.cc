#include "reference/deserializer.h"

#include "absl/strings/str_format.h"
#include "reference/cache_parser.h"
#include "reference/relocation.h"
#include "spec/cache_file.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NativeModule>> Deserialize(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    const ModuleInfo& module, const Environment& env) {
  WASMCACHE_ASSIGN_OR_RETURN(ParsedCache parsed,
                             ParseCache(cache, module, env));
  const uint32_t alignment = TraitsOf(env.arch).code_alignment;
  uint64_t estimate = 0;
  for (const ParsedFunction& fn : parsed.functions) {
    if (fn.tag == FunctionTag::kTurboFan) {
      estimate += RoundUp(fn.part(CodePart::kInstructions).size(), alignment);
    }
  }
  WASMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<NativeModule> native_module,
                             manager.NewNativeModule(module, env, estimate));
  native_module->global_header = parsed.header;
  native_module->module_header = parsed.module_header;
  native_module->tiering_budgets = parsed.tiering_budgets;
  std::vector<CompiledCode> batch;
  for (size_t i = 0; i < parsed.functions.size(); ++i) {
    ParsedFunction& fn = parsed.functions[i];
    switch (fn.tag) {
      case FunctionTag::kLazy:
        native_module->function_states[i] = FunctionState::kLazy;
        break;
      case FunctionTag::kEager:
        native_module->function_states[i] = FunctionState::kEager;
        break;
      case FunctionTag::kTurboFan: {
        CompiledCode code;
        code.index = fn.index;
        code.header = fn.header;
        code.parts = fn.parts;
        code.sites = std::move(fn.sites);
        code.file_offset = fn.code_offset();
        batch.push_back(std::move(code));
        break;
      }
    }
  }
  // On failure the module (and everything it allocated) is destroyed when
  // `native_module` goes out of scope: nothing stays published.
  WASMCACHE_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<WasmCode>> code,
                             native_module->AddCompiledCode(batch));
  native_module->PublishCode(std::move(code));
  return native_module;
}

absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeWithWireBytes(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    absl::Span<const uint8_t> wire_bytes, const Environment& env) {
  WASMCACHE_ASSIGN_OR_RETURN(ModuleInfo module, DecodeModuleInfo(wire_bytes));
  return Deserialize(manager, cache, module, env);
}

absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeFile(
    CodeManager& manager, const std::string& path, const ModuleInfo& module,
    const Environment& env) {
  WASMCACHE_ASSIGN_OR_RETURN(std::vector<uint8_t> cache, ReadCacheFile(path));
  return Deserialize(manager, cache, module, env);
}

}  // namespace wasmcache::reference
