#include "reference/deserializer.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/cache_parser.h"
#include "reference/relocation.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// The real value a site gets for its tag.
uint64_t TargetForTag(const NativeModule& native_module,
                      const PatchedSite& patched, uint64_t code_address) {
  const Environment& env = native_module.env();
  const uint32_t imported = native_module.module().num_imported_functions;
  const uint64_t site_address = code_address + patched.site.field_offset;
  switch (patched.mode) {
    case RelocMode::kWasmCall:
      return native_module.NearCallTargetForFunction(
          site_address, static_cast<uint32_t>(patched.tag) - imported);
    case RelocMode::kWasmStubCall:
      return native_module.FarSlotForBuiltin(site_address, patched.far_slot);
    case RelocMode::kExternalReference:
      return env.external_reference_base +
             patched.tag * native_module.traits().word_size;
    case RelocMode::kWasmCanonicalSigId:
      return env.canonical_sig_ids[patched.tag];
    case RelocMode::kWasmCodePointerTableEntry:
      return env.code_pointer_handles[patched.tag - imported];
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
      return code_address + patched.tag;
    default:
      return 0;
  }
}

absl::Status LoadFunction(NativeModule& native_module,
                          const ParsedFunction& fn) {
  const absl::Span<const uint8_t> code = fn.part(CodePart::kInstructions);
  WASMCACHE_ASSIGN_OR_RETURN(uint8_t* const memory,
                             native_module.AllocateCode(code.size()));
  if (!code.empty()) std::memcpy(memory, code.data(), code.size());
  const uint64_t code_address = reinterpret_cast<uintptr_t>(memory);
  for (const PatchedSite& patched : fn.sites) {
    const uint64_t target = TargetForTag(native_module, patched, code_address);
    if (!WriteTarget(native_module.arch(), memory, code_address, patched.site,
                     target)) {
      return InternalError(
          section::kCodeSpace,
          absl::StrFormat("%s at pc 0x%x cannot reach 0x%x",
                          RelocModeName(patched.mode), patched.site.pc,
                          target),
          fn.code_offset() + patched.site.field_offset);
    }
  }
  std::array<std::vector<uint8_t>, kNumCodeParts> parts;
  for (int p = 0; p < kNumCodeParts; ++p) {
    if (p == static_cast<int>(CodePart::kInstructions)) continue;
    parts[p].assign(fn.parts[p].begin(), fn.parts[p].end());
  }
  native_module.PublishCode(
      std::make_unique<WasmCode>(fn.index, fn.header, memory, std::move(parts)));
  return absl::OkStatus();
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
  for (size_t i = 0; i < parsed.functions.size(); ++i) {
    const ParsedFunction& fn = parsed.functions[i];
    switch (fn.tag) {
      case FunctionTag::kLazy:
        native_module->function_states[i] = FunctionState::kLazy;
        break;
      case FunctionTag::kEager:
        native_module->function_states[i] = FunctionState::kEager;
        break;
      case FunctionTag::kTurboFan:
        // On failure the module (and everything it allocated) is destroyed
        // when `native_module` goes out of scope.
        WASMCACHE_RETURN_IF_ERROR(LoadFunction(*native_module, fn));
        break;
    }
  }
  return native_module;
}

absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeWithWireBytes(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    absl::Span<const uint8_t> wire_bytes, const Environment& env) {
  WASMCACHE_ASSIGN_OR_RETURN(ModuleInfo module, DecodeModuleInfo(wire_bytes));
  return Deserialize(manager, cache, module, env);
}

}  // namespace wasmcache::reference
