#include "reference/code_manager.h"

#include <cassert>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::reference {

CodeManager::~CodeManager() {
  // Modules must not outlive their manager.
  assert(lookup_map_.empty());
}

absl::StatusOr<std::unique_ptr<NativeModule>> CodeManager::NewNativeModule(
    ModuleInfo module, Environment env, uint64_t code_size_estimate) {
  if (!JumpTablesSupported(env.arch)) {
    return absl::UnimplementedError(FormatError(
        section::kCodeSpace,
        absl::StrFormat("jump tables of %s are not implemented yet",
                        ArchName(env.arch)),
        0));
  }
  auto native_module =
      std::make_unique<NativeModule>(this, std::move(module), std::move(env));
  WASMCACHE_RETURN_IF_ERROR(native_module->Initialize(code_size_estimate));
  return native_module;
}

void CodeManager::RegisterCodeSpace(const CodeSpace& space,
                                    NativeModule* module) {
  lookup_map_[space.start_address()] = {space.end_address(), module, &space};
}

void CodeManager::UnregisterCodeSpace(const CodeSpace& space) {
  lookup_map_.erase(space.start_address());
}

NativeModule* CodeManager::LookupNativeModule(uint64_t pc) const {
  auto it = lookup_map_.upper_bound(pc);
  if (it == lookup_map_.begin()) return nullptr;
  --it;
  return pc < it->second.end ? it->second.module : nullptr;
}

const WasmCode* CodeManager::LookupCode(uint64_t pc) const {
  NativeModule* module = LookupNativeModule(pc);
  return module == nullptr ? nullptr : module->Lookup(pc);
}

uint64_t CodeManager::committed_bytes() const {
  uint64_t total = 0;
  for (const auto& [start, range] : lookup_map_) {
    total += range.space->committed_bytes();
  }
  return total;
}

}  // namespace wasmcache::reference
