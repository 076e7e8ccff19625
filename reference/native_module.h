// NativeModule: the loaded form of one wasm module.
//
// A module owns one or more code spaces. Each begins with its jump tables
// (reference/jump_table.h); code is allocated after them. The code table
// maps each declared function to its published WasmCode, or to none for a
// lazy or eager (Liftoff, not yet compiled here) function, whose near slots
// lead to the lazy-compile table of the first space.
//
// Adding code (AddCompiledCode) takes code in tag form (call targets as
// function indices and builtin ids, as a compiler or a cache provides
// them), allocates one region for a batch (splitting batches over half a
// code space), copies and relocates every site against the jump tables in
// reach of that region (FindJumpTablesForRegion). Publishing installs the
// code in the table and patches the function's slot in every space: the
// near slot if it reaches, else the space's far slot. RemoveCompiledCode
// takes code out again and points the slots back at the lazy stub; freed
// code returns its region to the allocator (reference/wasm_code.h says
// when code is freed).
//
// Threading: every public method is thread-safe. One mutex per module
// guards the code table, owned code, code spaces and jump-table patching.
// Code memory follows W^X (reference/code_protection.h); in mprotect mode
// threads that execute the module's code while it may be patched hold an
// ExecutionScope. Locks are taken in the order: code writes (exclusive for
// writers, shared for executors), the code manager's lookup cache, the
// module, the code manager's map of code spaces.

#ifndef WASMCACHE_REFERENCE_NATIVE_MODULE_H_
#define WASMCACHE_REFERENCE_NATIVE_MODULE_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "reference/cache_parser.h"
#include "reference/code_space.h"
#include "spec/environment.h"
#include "reference/jump_table.h"
#include "spec/module_info.h"
#include "reference/wasm_code.h"
#include "spec/layout.h"

namespace wasmcache::reference {

class CodeManager;

enum class FunctionState : uint8_t { kLazy, kEager, kTurboFan };

// Code compiled elsewhere, in tag form, with its sites located and its tags
// validated (PrepareCompiledCode or the cache parser). Spans must stay
// valid until AddCompiledCode returns.
struct CompiledCode {
  uint32_t index = 0;  // function index, counting imports
  CodeHeader header;
  std::array<absl::Span<const uint8_t>, kNumCodeParts> parts{};
  std::vector<PatchedSite> sites;
  ForDebugging for_debugging = ForDebugging::kNotForDebugging;
  uint64_t file_offset = 0;  // of the instructions, for error messages

  absl::Span<const uint8_t> part(CodePart p) const {
    return parts[static_cast<int>(p)];
  }
};

// Checks one function's code against the module and environment with the
// rules of the cache parser (header fields, RelocInfo stream, sites, tags)
// and returns it ready to add. Liftoff code (tier 1) is accepted here.
absl::StatusOr<CompiledCode> PrepareCompiledCode(
    const ModuleInfo& module, const Environment& env, uint32_t index,
    const CodeHeader& header,
    const std::array<absl::Span<const uint8_t>, kNumCodeParts>& parts,
    ForDebugging for_debugging = ForDebugging::kNotForDebugging);

struct CodeSpaceEntry {
  std::unique_ptr<CodeSpace> space;
  JumpTableLayout layout;
  uint8_t* tables = nullptr;  // start of the jump-table block

  uint64_t tables_address() const {
    return reinterpret_cast<uintptr_t>(tables);
  }
};

// The jump tables a region of code calls through.
struct JumpTablesRef {
  const CodeSpaceEntry* space = nullptr;
  bool is_valid() const { return space != nullptr; }
};

class NativeModule {
 public:
  enum class RemoveFilter {
    kRemoveDebugCode,
    kRemoveNonDebugCode,
    kRemoveLiftoffCode,
    kRemoveTurbofanCode,
  };

  // Holds off writes to code memory (mprotect mode) while code runs. With
  // protection keys it does nothing: code runs while slots are patched.
  // Neither mode keeps removed code alive: hold a WasmCodeRefScope for that.
  class ExecutionScope {
   public:
    explicit ExecutionScope(const NativeModule& module);
    ~ExecutionScope();
    ExecutionScope(const ExecutionScope&) = delete;
    ExecutionScope& operator=(const ExecutionScope&) = delete;

   private:
    const NativeModule& module_;
  };

  // Use CodeManager::NewNativeModule.
  // `tables` is the block of `first_space` allocated for its jump tables.
  NativeModule(CodeManager* manager, ModuleInfo module, Environment env,
               std::unique_ptr<CodeSpace> first_space, uint8_t* tables);
  ~NativeModule();
  NativeModule(const NativeModule&) = delete;
  NativeModule& operator=(const NativeModule&) = delete;

  Arch arch() const { return env_.arch; }
  const ArchTraits& traits() const { return TraitsOf(env_.arch); }
  const ModuleInfo& module() const { return module_; }
  const Environment& env() const { return env_; }
  CodeManager* manager() const { return manager_; }

  // Copies and relocates a batch into code space; the result is not yet
  // published. kResourceExhausted if one object exceeds half a code space
  // or the space cannot be had; then nothing of the batch stays allocated.
  // Code dropped without publishing keeps its region until the module dies.
  absl::StatusOr<std::vector<std::unique_ptr<WasmCode>>> AddCompiledCode(
      absl::Span<const CompiledCode> batch);

  // Installs code in the code table and patches its jump-table slots.
  // Code of a lower tier than the installed code is not installed (unless
  // either is for debugging) and is dropped. Returns the code if installed.
  WasmCode* PublishCode(std::unique_ptr<WasmCode> code);
  std::vector<WasmCode*> PublishCode(
      std::vector<std::unique_ptr<WasmCode>> codes);

  // Takes matching code out of the table and resets its slots to the
  // lazy-compile stub. Returns the number of functions reset.
  size_t RemoveCompiledCode(RemoveFilter filter);

  // Published code of declared function `declared_index`, or nullptr; the
  // result is added to the thread's open WasmCodeRefScope, if any.
  WasmCode* GetCode(uint32_t declared_index) const;
  bool HasCode(uint32_t declared_index) const;
  // Owned code (published or not, until freed) containing `pc`, or nullptr.
  WasmCode* Lookup(uint64_t pc) const;

  // The jump tables in reach of every byte of [start, start + size): those
  // of the first code space whose tables and the region fit in the
  // target's maximum code-space distance.
  JumpTablesRef FindJumpTablesForRegion(uint64_t start, uint64_t size) const;
  // Near slot of declared function `declared_index` in `tables`.
  uint64_t GetNearCallTargetForFunction(uint32_t declared_index,
                                        const JumpTablesRef& tables) const;
  // Far slot `far_index` (a builtin) in `tables`.
  uint64_t GetJumpTableEntryForBuiltin(uint32_t far_index,
                                       const JumpTablesRef& tables) const;
  // The same for a site at `site` (the tables in reach of it).
  uint64_t NearCallTargetForFunction(uint64_t site,
                                     uint32_t declared_index) const;
  uint64_t FarSlotForBuiltin(uint64_t site, uint32_t far_index) const;
  // Entry point of declared function `declared_index` for a caller outside
  // the module: its near slot in the first code space.
  uint64_t GetCallTargetForFunction(uint32_t declared_index) const;

  // Inverse maps, used by the serializer. nullopt if the address is not a
  // slot of that kind.
  std::optional<uint32_t> DeclaredIndexFromNearSlot(uint64_t address) const;
  std::optional<uint32_t> BuiltinSlotFromFarSlot(uint64_t address) const;

  std::vector<const CodeSpaceEntry*> code_spaces() const;
  uint64_t lazy_slot_address(uint32_t declared_index) const;

  // Statistics.
  uint64_t generated_code_size() const;  // live code bytes
  uint64_t freed_code_size() const;      // bytes of code freed so far
  uint64_t reserved_code_space() const;
  uint64_t committed_code_space() const;
  size_t num_owned_code() const;
  // Metadata (tables, headers, parts) plus committed code.
  uint64_t EstimateCurrentMemoryConsumption() const;

  // State kept for the serializer (written by the deserializer; read by
  // the serializer; not guarded by the module mutex).
  GlobalHeader global_header;
  ModuleHeader module_header;
  std::vector<FunctionState> function_states;
  std::vector<uint32_t> tiering_budgets;

  // Called by WasmCode::DecRef when it may drop the last reference: drops
  // it under the code manager's lock and frees the code if it was the last.
  void OnCodeDead(WasmCode* code);
  // Called by the code manager with its lock held: frees `code` if still
  // dead. Returns true if freed.
  bool FreeCodeLocked(WasmCode* code);

 private:
  using Lock = std::unique_lock<std::mutex>;

  const CodeSpaceEntry* SpaceOf(uint64_t address) const;
  absl::Status AddCodeSpaceLocked(uint64_t min_code_size);
  void InitializeTablesLocked(CodeSpaceEntry& entry, bool with_lazy_table);
  uint64_t FunctionTargetLocked(uint32_t declared_index) const;
  void PatchSlotsLocked(CodeSpaceEntry& entry, uint32_t declared_index,
                        uint64_t target);
  // `tables_writable`: the caller holds write windows on every space's
  // tables.
  void PatchAllSpacesLocked(uint32_t declared_index, uint64_t target,
                            bool tables_writable = false);
  absl::StatusOr<uint8_t*> AllocateLocked(uint64_t size);
  void FreeRegionLocked(uint8_t* start, uint64_t size);
  // Returns the regions of code that was added but not published.
  void DiscardUnpublished(std::vector<std::unique_ptr<WasmCode>>& codes);
  absl::Status RelocateLocked(const CompiledCode& code, uint8_t* memory);
  WasmCode* PublishLocked(std::unique_ptr<WasmCode> code,
                          std::vector<WasmCode*>& dropped,
                          bool tables_writable);
  bool mprotect_mode() const;
  // Excludes executors while code memory is written (mprotect mode only).
  // Taken before mutex_.
  std::unique_lock<std::shared_mutex> LockCodeWrites() const;

  CodeManager* manager_;
  ModuleInfo module_;
  Environment env_;

  mutable std::mutex mutex_;
  // Writers (mprotect mode) exclude executors.
  mutable std::shared_mutex code_write_mutex_;
  std::vector<CodeSpaceEntry> spaces_;
  std::vector<WasmCode*> code_table_;
  std::map<uint64_t, std::unique_ptr<WasmCode>> owned_code_;
  uint64_t generated_code_size_ = 0;
  uint64_t freed_code_size_ = 0;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_NATIVE_MODULE_H_
