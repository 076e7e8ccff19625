// The code manager of each implementation as the suites that run against
// both see it (tests/impl.h: the run's implementation is SelectedImpl()).
//
// ReferenceApi and FastApi name the implementation's types under the same
// names (ReferenceApi::NativeModule is reference::NativeModule,
// FastApi::NativeModule is fast::NativeModule, ...) and wrap the few
// things the two interfaces spell differently: preparing compiled code,
// serializing and loading, the global header of a module made empty, and
// the jump-table slots of a module's code spaces. A case is written once,
// as a generic body over the Api, and run with WithSelectedApi; helpers
// that take a module or a manager find its Api with ApiFor<T>.

#ifndef WASMCACHE_TESTS_CODE_API_H_
#define WASMCACHE_TESTS_CODE_API_H_

#include <array>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fast/code_space.h"
#include "fast/deserializer.h"
#include "fast/module.h"
#include "fast/serializer.h"
#include "reference/code_manager.h"
#include "reference/code_protection.h"
#include "reference/code_space.h"
#include "reference/deserializer.h"
#include "reference/native_module.h"
#include "reference/serializer.h"
#include "reference/wasm_code.h"
#include "spec/environment.h"
#include "spec/layout.h"
#include "spec/module_info.h"
#include "tests/impl.h"

namespace wasmcache::testing {

using CodeParts = std::array<absl::Span<const uint8_t>, kNumCodeParts>;

// The first bytes of a code space that hold its jump tables.
struct TablesBlock {
  uint64_t start = 0;
  uint64_t size = 0;
};

struct ReferenceApi {
  using CodeManager = reference::CodeManager;
  using CodeManagerOptions = reference::CodeManagerOptions;
  using CodeManagerMetrics = reference::CodeManagerMetrics;
  using NativeModule = reference::NativeModule;
  using RemoveFilter = reference::NativeModule::RemoveFilter;
  using WasmCode = reference::WasmCode;
  using WasmCodeRefScope = reference::WasmCodeRefScope;
  using CompiledCode = reference::CompiledCode;
  using ForDebugging = reference::ForDebugging;
  using CodeSpace = reference::CodeSpace;
  using CodeProtection = reference::CodeProtection;
  using CodeWriteScope = reference::CodeWriteScope;
  // The jump tables a region of code calls through.
  using JumpTables = reference::JumpTablesRef;

  static absl::StatusOr<CompiledCode> PrepareCompiledCode(
      const ModuleInfo& module, const Environment& env, uint32_t index,
      const CodeHeader& header, const CodeParts& parts,
      ForDebugging for_debugging = ForDebugging::kNotForDebugging) {
    return reference::PrepareCompiledCode(module, env, index, header, parts,
                                          for_debugging);
  }

  absl::StatusOr<std::vector<uint8_t>> Serialize(
      const NativeModule& native) const {
    return reference::Serializer(native).Serialize();
  }
  absl::StatusOr<std::unique_ptr<NativeModule>> Deserialize(
      CodeManager& manager, absl::Span<const uint8_t> cache,
      const ModuleInfo& module, const Environment& env) const {
    return reference::Deserialize(manager, cache, module, env);
  }
  // Every way this implementation loads a cache (one).
  std::vector<ReferenceApi> LoadVariants() const { return {*this}; }

  // For a module made empty: the header a serialization writes, and the
  // module header's well-known imports (one zero byte per import).
  static void SetHeaders(NativeModule& native, const GlobalHeader& header) {
    native.global_header = header;
    native.module_header.well_known_imports.assign(
        native.module().num_imported_functions, 0);
  }

  // Where a caller outside the module calls declared function `declared`:
  // its near slot in the first code space.
  static uint64_t CallTarget(const NativeModule& native, uint32_t declared) {
    return native.GetCallTargetForFunction(declared);
  }
  static JumpTables FirstSpaceTables(const NativeModule& native) {
    return {native.code_spaces().front()};
  }
  static bool IsValid(const JumpTables& tables) { return tables.is_valid(); }
  static uint64_t NearSlot(const NativeModule& native, const JumpTables& tables,
                           uint32_t declared) {
    return native.GetNearCallTargetForFunction(declared, tables);
  }
  static uint64_t FarSlot(const NativeModule& native, const JumpTables& tables,
                          uint32_t far_index) {
    return native.GetJumpTableEntryForBuiltin(far_index, tables);
  }
  static TablesBlock TablesOf(const JumpTables& tables) {
    return {tables.space->tables_address(), tables.space->layout.total_size};
  }
};

struct FastApi {
  using CodeManager = fast::CodeManager;
  using CodeManagerOptions = fast::CodeManagerOptions;
  using CodeManagerMetrics = fast::CodeManagerMetrics;
  using NativeModule = fast::NativeModule;
  using RemoveFilter = fast::NativeModule::RemoveFilter;
  using WasmCode = fast::WasmCode;
  using WasmCodeRefScope = fast::WasmCodeRefScope;
  using CompiledCode = fast::CompiledCode;
  using ForDebugging = fast::ForDebugging;
  using CodeSpace = fast::CodeSpace;
  using CodeProtection = fast::CodeProtection;
  using CodeWriteScope = fast::CodeWriteScope;
  using JumpTables = const fast::CodeSpaceInfo*;

  // Threads of loads and serializations ("fast1": one).
  fast::LoadOptions options;

  static absl::StatusOr<CompiledCode> PrepareCompiledCode(
      const ModuleInfo& module, const Environment& env, uint32_t index,
      const CodeHeader& header, const CodeParts& parts,
      ForDebugging for_debugging = ForDebugging::kNotForDebugging) {
    return fast::PrepareCompiledCode(module, env, index, header, parts,
                                     for_debugging);
  }

  absl::StatusOr<std::vector<uint8_t>> Serialize(
      const NativeModule& native) const {
    auto bytes = fast::Serializer(native, options).Serialize();
    if (!bytes.ok()) return bytes.status();
    return std::vector<uint8_t>(bytes->begin(), bytes->end());
  }
  absl::StatusOr<std::unique_ptr<NativeModule>> Deserialize(
      CodeManager& manager, absl::Span<const uint8_t> cache,
      const ModuleInfo& module, const Environment& env) const {
    return fast::Deserialize(manager, cache, module, env, options);
  }
  // Every way this implementation loads a cache: on one thread and on all.
  std::vector<FastApi> LoadVariants() const {
    return {FastApi{{.max_threads = 1}}, FastApi{{.max_threads = 0}}};
  }

  // The fast module has no setter for its module header: a module made
  // empty keeps the default one (no well-known imports recorded).
  static void SetHeaders(NativeModule& native, const GlobalHeader& header) {
    native.set_global_header(header);
  }

  static uint64_t CallTarget(const NativeModule& native, uint32_t declared) {
    return native.near_slot(native.code_spaces().front(), declared);
  }
  static JumpTables FirstSpaceTables(const NativeModule& native) {
    return &native.code_spaces().front();
  }
  static bool IsValid(JumpTables tables) { return tables != nullptr; }
  static uint64_t NearSlot(const NativeModule& native, JumpTables tables,
                           uint32_t declared) {
    return native.near_slot(*tables, declared);
  }
  static uint64_t FarSlot(const NativeModule& native, JumpTables tables,
                          uint32_t far_index) {
    return native.far_slot(*tables, far_index);
  }
  static TablesBlock TablesOf(JumpTables tables) {
    return {tables->start(), tables->tables_end};
  }
};

// The Api of a module, manager or code object of either implementation.
template <class T>
struct ApiForType;
template <>
struct ApiForType<reference::NativeModule> {
  using type = ReferenceApi;
};
template <>
struct ApiForType<reference::CodeManager> {
  using type = ReferenceApi;
};
template <>
struct ApiForType<fast::NativeModule> {
  using type = FastApi;
};
template <>
struct ApiForType<fast::CodeManager> {
  using type = FastApi;
};
template <class T>
using ApiFor = typename ApiForType<std::remove_const_t<T>>::type;

// Runs `body(api)` with the Api of the implementation this run tests.
template <class Body>
void WithSelectedApi(Body body) {
  const Impl impl = SelectedImpl();
  if (impl == Impl::kReference) {
    body(ReferenceApi{});
  } else {
    body(FastApi{{.max_threads = impl == Impl::kFastOneThread ? 1 : 0}});
  }
}

}  // namespace wasmcache::testing

#endif  // WASMCACHE_TESTS_CODE_API_H_
