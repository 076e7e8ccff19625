// The loaded form of a module in the fast implementation, and the code
// manager that owns code space and finds code by pc.
//
// A NativeModule is built whole by the deserializer (fast/deserializer.h):
// its code spaces are reserved read-write, every function is copied and
// relocated in parallel, the jump tables are written with their final
// targets, and only then is the code made read-execute (never writable and
// executable at once) and the module registered with the code manager. A
// module is immutable once published, so lookups and the serializer read it
// without locks; the code manager's map of code spaces is guarded by a
// shared mutex.
//
// Layout of a code space (the facts of spec/FORMAT.md, "Jump tables"): the
// near jump table (one slot per declared function) at the start, then the
// far jump table (one slot per builtin with a far slot, then one per
// declared function on targets that need far jumps between code spaces),
// then, in the first space only, the lazy-compile table; code follows,
// each function aligned to the target's code alignment. Code in a space
// calls through that space's tables.

#ifndef WASMCACHE_FAST_MODULE_H_
#define WASMCACHE_FAST_MODULE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <shared_mutex>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fast/check/safepoints.h"
#include "spec/arch.h"
#include "spec/environment.h"
#include "spec/layout.h"
#include "spec/module_info.h"

namespace wasmcache::fast {

enum class FunctionState : uint8_t { kLazy, kEager, kTurboFan };

class NativeModule;
class CodeManager;

// One function's published code. The variable parts other than the
// instructions live in the module's metadata arena. Only the deserializer
// makes these, constructing each in place in the module's array from the
// thread that loads the function (so that thread, not one sequential
// pass, first touches the array's pages).
class WasmCode {
 public:
  NativeModule* native_module() const { return module_; }
  uint32_t index() const { return index_; }  // counting imports
  const CodeHeader& header() const { return header_; }
  uint8_t tier() const { return header_.tier; }
  bool is_turbofan() const { return header_.tier == kTierTurboFan; }
  uint64_t instruction_start() const {
    return reinterpret_cast<uintptr_t>(instructions_);
  }
  uint32_t instructions_size() const {
    return static_cast<uint32_t>(header_.instructions_size);
  }
  absl::Span<const uint8_t> instructions() const {
    return {instructions_, instructions_size()};
  }
  bool contains(uint64_t pc) const {
    return pc >= instruction_start() &&
           pc - instruction_start() < instructions_size();
  }
  // Any variable part, the instructions included.
  absl::Span<const uint8_t> part(CodePart part) const;

 private:
  friend class NativeModule;
  friend class Loader;
  NativeModule* module_;
  uint32_t index_;
  CodeHeader header_;
  uint8_t* instructions_;
  const uint8_t* metadata_;  // parts 1..5, concatenated
};
static_assert(std::is_trivially_destructible_v<WasmCode>);

struct CodeSpaceInfo {
  uint8_t* base = nullptr;
  uint64_t size = 0;       // reserved
  uint64_t used = 0;       // tables and code, aligned
  uint64_t near_offset = 0;
  uint64_t far_offset = 0;
  uint64_t lazy_offset = 0;  // first space only
  bool has_lazy_table = false;

  uint64_t start() const { return reinterpret_cast<uintptr_t>(base); }
  bool contains(uint64_t address) const {
    return address >= start() && address - start() < size;
  }
};

class NativeModule {
 public:
  ~NativeModule();
  NativeModule(const NativeModule&) = delete;
  NativeModule& operator=(const NativeModule&) = delete;

  Arch arch() const { return env_.arch; }
  const ArchTraits& traits() const { return TraitsOf(env_.arch); }
  const ModuleInfo& module() const { return module_; }
  const Environment& env() const { return env_; }
  CodeManager* manager() const { return manager_; }

  // Published code of declared function `declared_index`, or nullptr.
  const WasmCode* GetCode(uint32_t declared_index) const {
    const int32_t slot = code_of_declared_[declared_index];
    return slot < 0 ? nullptr : &codes_[slot];
  }
  bool HasCode(uint32_t declared_index) const {
    return code_of_declared_[declared_index] >= 0;
  }
  // Code containing `pc`, or nullptr.
  const WasmCode* Lookup(uint64_t pc) const;

  absl::Span<const CodeSpaceInfo> code_spaces() const { return spaces_; }
  // Slot addresses in the tables of `space`.
  uint64_t near_slot(const CodeSpaceInfo& space, uint32_t declared) const;
  uint64_t far_slot(const CodeSpaceInfo& space, uint32_t far_index) const;
  uint64_t lazy_slot(uint32_t declared_index) const;
  // Inverse maps (any space); nullopt if not such a slot.
  std::optional<uint32_t> DeclaredIndexFromNearSlot(uint64_t address) const;
  std::optional<uint32_t> BuiltinSlotFromFarSlot(uint64_t address) const;
  // The space holding `address`, or nullptr.
  const CodeSpaceInfo* SpaceOf(uint64_t address) const;

  FunctionState function_state(uint32_t declared_index) const {
    return function_states_[declared_index];
  }
  const std::vector<FunctionState>& function_states() const {
    return function_states_;
  }
  const std::vector<uint32_t>& tiering_budgets() const {
    return tiering_budgets_;
  }
  const GlobalHeader& global_header() const { return global_header_; }
  const ModuleHeader& module_header() const { return module_header_; }

  uint64_t generated_code_size() const { return generated_code_size_; }
  uint64_t reserved_code_space() const;
  uint64_t committed_code_space() const;
  size_t num_code() const { return num_codes_; }
  // Metadata (tables, headers, parts) plus committed code.
  uint64_t EstimateCurrentMemoryConsumption() const;

 private:
  friend class Loader;
  friend class CodeManager;
  NativeModule(CodeManager* manager, ModuleInfo module, Environment env);

  CodeManager* manager_;
  ModuleInfo module_;
  Environment env_;
  std::vector<CodeSpaceInfo> spaces_;
  // Raw storage: entries [0, num_codes_) are constructed.
  struct FreeCodes {
    void operator()(WasmCode* codes) const { ::operator delete(codes); }
  };
  std::unique_ptr<WasmCode[], FreeCodes> codes_;  // in declared-function order
  size_t num_codes_ = 0;
  std::vector<int32_t> code_of_declared_;     // index in codes_, or -1
  // (instruction start, index in codes_), sorted by address; empty when
  // codes_ itself is in address order (code placed in one space, or in
  // spaces at increasing addresses).
  std::vector<std::pair<uint64_t, uint32_t>> by_address_;
  std::unique_ptr<uint8_t[]> metadata_;       // parts 1..5 of every code
  uint64_t metadata_size_ = 0;
  std::vector<FunctionState> function_states_;
  std::vector<uint32_t> tiering_budgets_;
  GlobalHeader global_header_;
  ModuleHeader module_header_;
  uint64_t generated_code_size_ = 0;
  bool registered_ = false;
};

struct CodeManagerOptions {
  // --wasm-max-committed-code-mb (4095 MB in V8).
  uint64_t max_committed_code_space = uint64_t{4095} << 20;
};

class CodeManager {
 public:
  explicit CodeManager(CodeManagerOptions options = {});
  ~CodeManager();
  CodeManager(const CodeManager&) = delete;
  CodeManager& operator=(const CodeManager&) = delete;

  // V8's reservation size for a module's next code space (spec/FORMAT.md):
  // max(estimate + overhead, 2 * overhead, total_reserved / 4), page
  // rounded, capped by the target's maximum code space; kResourceExhausted
  // if twice the overhead does not fit.
  static uint64_t OverheadPerCodeSpace(Arch arch, uint32_t num_declared,
                                       uint32_t num_builtins);
  static absl::StatusOr<uint64_t> ReservationSize(Arch arch,
                                                  uint64_t estimate,
                                                  uint32_t num_declared,
                                                  uint32_t num_builtins,
                                                  uint64_t total_reserved);

  NativeModule* LookupNativeModule(uint64_t pc) const;
  const WasmCode* LookupCode(uint64_t pc) const;
  // The code containing pc and the safepoint entry V8 would use for a
  // frame suspended at pc (found == false if none). The bitmap points into
  // the code: it lives as long as the module.
  std::pair<const WasmCode*, SafepointHit> LookupCodeAndSafepoint(
      uint64_t pc) const;

  uint64_t committed_bytes() const { return committed_.load(); }
  uint64_t reserved_bytes() const { return reserved_.load(); }
  size_t num_code_spaces() const;
  size_t num_native_modules() const;

 private:
  friend class Loader;
  friend class NativeModule;
  // Accounts `bytes` of committed code; false (nothing accounted) over
  // the limit.
  bool Commit(uint64_t bytes);
  void Release(uint64_t committed, uint64_t reserved);
  void Register(NativeModule* module);
  void Unregister(NativeModule* module);

  CodeManagerOptions options_;
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> reserved_{0};
  mutable std::shared_mutex mutex_;
  struct Range {
    uint64_t end;
    NativeModule* module;
  };
  std::map<uint64_t, Range> spaces_;  // by start address
  size_t num_modules_ = 0;
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_MODULE_H_
