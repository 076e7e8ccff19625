// CodeManager: the process-wide owner of code-space reservations and the
// map from code addresses to modules.
//
// Every code space of every live NativeModule is registered in a map from
// start to (end, module), so a pc can be resolved to its module and code
// (LookupNativeModule, LookupCode). A module's spaces are unregistered and
// released when the module is destroyed. (Issue-level scope: memory
// pressure, committed-space accounting and W^X come with the full code
// manager.)

#ifndef WASMCACHE_REFERENCE_CODE_MANAGER_H_
#define WASMCACHE_REFERENCE_CODE_MANAGER_H_

#include <cstdint>
#include <map>
#include <memory>

#include "absl/status/statusor.h"
#include "reference/environment.h"
#include "reference/module_info.h"
#include "reference/native_module.h"

namespace wasmcache::reference {

class CodeManager {
 public:
  CodeManager() = default;
  ~CodeManager();
  CodeManager(const CodeManager&) = delete;
  CodeManager& operator=(const CodeManager&) = delete;

  // Creates a module with its first code space, sized for
  // `code_size_estimate` bytes of code.
  absl::StatusOr<std::unique_ptr<NativeModule>> NewNativeModule(
      ModuleInfo module, Environment env, uint64_t code_size_estimate);

  NativeModule* LookupNativeModule(uint64_t pc) const;
  const WasmCode* LookupCode(uint64_t pc) const;

  // Number of registered code spaces (for tests: nothing leaks).
  size_t num_code_spaces() const { return lookup_map_.size(); }
  uint64_t committed_bytes() const;

  // Called by NativeModule.
  void RegisterCodeSpace(const CodeSpace& space, NativeModule* module);
  void UnregisterCodeSpace(const CodeSpace& space);

 private:
  struct Range {
    uint64_t end;
    NativeModule* module;
    const CodeSpace* space;
  };
  std::map<uint64_t, Range> lookup_map_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_CODE_MANAGER_H_
