// NativeModule: the loaded form of one wasm module, and WasmCode: one
// function's machine code in code space.
//
// A NativeModule owns one or more code spaces. Each begins with its jump
// tables (reference/jump_table.h); code is allocated after them. The code
// table maps each declared function to its published WasmCode (or to none,
// for a lazy or eager Liftoff function, which wasmcache keeps as state only:
// it never compiles). Publishing code patches the function's near slot in
// every code space (through the space's far slot when the near one cannot
// reach) so every call site, which always calls a near slot of its own
// space, reaches the new code.
//
// The module also keeps everything the serializer must write back that the
// code does not hold: the global and module headers as read, each
// function's state (lazy, eager, TurboFan) and its tiering budget.
//
// Threading: single-threaded (the reference implementation).

#ifndef WASMCACHE_REFERENCE_NATIVE_MODULE_H_
#define WASMCACHE_REFERENCE_NATIVE_MODULE_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "reference/code_space.h"
#include "reference/environment.h"
#include "reference/jump_table.h"
#include "reference/module_info.h"
#include "spec/layout.h"

namespace wasmcache::reference {

class CodeManager;

enum class FunctionState : uint8_t { kLazy, kEager, kTurboFan };

class WasmCode {
 public:
  WasmCode(uint32_t index, const CodeHeader& header, uint8_t* instructions,
           std::array<std::vector<uint8_t>, kNumCodeParts> parts)
      : index_(index),
        header_(header),
        instructions_(instructions),
        parts_(std::move(parts)) {}

  // Function index, counting imports.
  uint32_t index() const { return index_; }
  const CodeHeader& header() const { return header_; }
  uint64_t instruction_start() const {
    return reinterpret_cast<uintptr_t>(instructions_);
  }
  uint32_t instructions_size() const {
    return static_cast<uint32_t>(header_.instructions_size);
  }
  absl::Span<const uint8_t> instructions() const {
    return {instructions_, instructions_size()};
  }
  uint8_t* mutable_instructions() const { return instructions_; }
  bool contains(uint64_t pc) const {
    return pc >= instruction_start() &&
           pc < instruction_start() + instructions_size();
  }
  // A variable part other than the instructions (those live in code space).
  const std::vector<uint8_t>& part(CodePart part) const {
    return parts_[static_cast<int>(part)];
  }

 private:
  uint32_t index_;
  CodeHeader header_;
  uint8_t* instructions_;
  std::array<std::vector<uint8_t>, kNumCodeParts> parts_;
};

struct CodeSpaceEntry {
  std::unique_ptr<CodeSpace> space;
  JumpTableLayout layout;
  uint8_t* tables = nullptr;  // start of the jump-table block

  uint64_t tables_address() const { return reinterpret_cast<uintptr_t>(tables); }
};

class NativeModule {
 public:
  // Use CodeManager::NewNativeModule.
  NativeModule(CodeManager* manager, ModuleInfo module, Environment env);
  ~NativeModule();

  NativeModule(const NativeModule&) = delete;
  NativeModule& operator=(const NativeModule&) = delete;

  Arch arch() const { return env_.arch; }
  const ArchTraits& traits() const { return TraitsOf(env_.arch); }
  const ModuleInfo& module() const { return module_; }
  const Environment& env() const { return env_; }

  // Creates the first code space, sized for `code_size_estimate` bytes of
  // code plus the jump tables (with the lazy-compile table).
  absl::Status Initialize(uint64_t code_size_estimate);

  // Allocates room for `size` bytes of code, adding a code space if the
  // current ones are full. kResourceExhausted if a single object cannot
  // fit any code space of the target.
  absl::StatusOr<uint8_t*> AllocateCode(uint64_t size);

  // Takes ownership of relocated code and installs it in the code table.
  WasmCode* PublishCode(std::unique_ptr<WasmCode> code);

  // Address a call site at `site` must call to reach declared function
  // `declared_index`: the near slot of the site's own code space.
  uint64_t NearCallTargetForFunction(uint64_t site,
                                     uint32_t declared_index) const;
  // Address of the far slot of builtin slot `far_index` in the site's space.
  uint64_t FarSlotForBuiltin(uint64_t site, uint32_t far_index) const;

  // Inverse maps, used by the serializer. nullopt if the address is not a
  // slot of that kind.
  std::optional<uint32_t> DeclaredIndexFromNearSlot(uint64_t address) const;
  std::optional<uint32_t> BuiltinSlotFromFarSlot(uint64_t address) const;

  // Code of declared function `declared_index`, or nullptr.
  const WasmCode* GetCode(uint32_t declared_index) const {
    return code_table_[declared_index];
  }
  // The code containing `pc`, or nullptr.
  const WasmCode* Lookup(uint64_t pc) const;

  const std::vector<CodeSpaceEntry>& code_spaces() const { return spaces_; }
  uint64_t lazy_slot_address(uint32_t declared_index) const;

  // State kept for the serializer.
  GlobalHeader global_header;
  ModuleHeader module_header;
  std::vector<FunctionState> function_states;
  std::vector<uint32_t> tiering_budgets;

 private:
  const CodeSpaceEntry* SpaceOf(uint64_t address) const;
  absl::Status AddCodeSpace(uint64_t min_code_size);
  void InitializeTables(CodeSpaceEntry& entry, bool with_lazy_table);
  // Current target of declared function `i`: its code or its lazy slot.
  uint64_t FunctionTarget(uint32_t declared_index) const;
  void PatchSlots(CodeSpaceEntry& entry, uint32_t declared_index,
                  uint64_t target);

  CodeManager* manager_;
  ModuleInfo module_;
  Environment env_;
  std::vector<CodeSpaceEntry> spaces_;
  std::vector<WasmCode*> code_table_;
  std::map<uint64_t, std::unique_ptr<WasmCode>> owned_code_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_NATIVE_MODULE_H_
