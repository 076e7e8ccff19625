// The loaded form of a module in the fast implementation, and the code
// manager that owns code space and finds code by pc.
//
// A NativeModule comes whole from the deserializer (fast/deserializer.h):
// its code spaces are reserved read-write, every function is copied and
// relocated in parallel, the jump tables are written with their final
// targets, and only then is the code made executable (never writable and
// executable at once) and the module registered with the code manager.
// Modules also come empty from CodeManager::NewNativeModule. Either way
// code can then be added (AddCompiledCode: checked, copied and relocated
// against the jump tables in reach), published (patching the function's
// slot in every space), replaced and removed, as in V8.
//
// Lifetime of code: a code object holds one reference for the code table
// (or, unpublished, for the caller's handle). Code found by pc or fetched
// with GetCode while a WasmCodeRefScope is open on the thread gets one more,
// dropped when the scope closes. When the last goes, the code's region is
// freed (its pages decommitted once nothing else is on them) and the
// manager's lookup cache is flushed, under the manager's lock, the lock
// under which lookups take their references.
//
// Threading: every public method is thread-safe. A module's code table,
// owned code and spaces are guarded by its shared mutex (readers share
// it); locks are taken in the order: code writes (mprotect mode), the
// manager's lookup cache, a module, the manager's map of code spaces.
//
// Layout of a code space (the facts of spec/FORMAT.md, "Jump tables"): the
// near jump table (one slot per declared function) at the start, then the
// far jump table (one slot per builtin with a far slot, then one per
// declared function on targets that need far jumps between code spaces),
// then, in the first space only, the lazy-compile table; code follows,
// each function aligned to the target's code alignment. Code calls
// through the tables of the first space in reach of all of it.

#ifndef WASMCACHE_FAST_MODULE_H_
#define WASMCACHE_FAST_MODULE_H_

#include <array>
#include <functional>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <utility>
#include <shared_mutex>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fast/arch.h"
#include "fast/check/safepoints.h"
#include "fast/code_space.h"
#include "fast/pages.h"
#include "spec/arch.h"
#include "spec/environment.h"
#include "spec/layout.h"
#include "spec/module_info.h"

namespace wasmcache::fast {

enum class FunctionState : uint8_t { kLazy, kEager, kTurboFan };
enum class ForDebugging : uint8_t { kNotForDebugging, kForDebugging };

class NativeModule;
class CodeManager;
struct AnalysisContext;

// One function's code in code space. The variable parts other than the
// instructions live in the module's metadata arena (loaded code) or right
// after the object (added code).
class WasmCode {
 public:
  NativeModule* native_module() const { return module_; }
  uint32_t index() const { return index_; }  // counting imports
  const CodeHeader& header() const { return header_; }
  uint8_t tier() const { return header_.tier; }
  bool is_liftoff() const { return header_.tier == kTierLiftoff; }
  bool is_turbofan() const { return header_.tier == kTierTurboFan; }
  bool for_debugging() const {
    return for_debugging_ == ForDebugging::kForDebugging;
  }
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
           pc - instruction_start() < instructions_size();
  }
  // Any variable part, the instructions included.
  absl::Span<const uint8_t> part(CodePart part) const;

  // References (see the file comment).
  void IncRef() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // Drops one; the last is dropped under the code manager's lock and frees
  // the code.
  void DecRef();
  // With the code manager's lock held: true if this dropped the last.
  bool DecRefLocked() {
    return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
  int ref_count() const { return refs_.load(std::memory_order_acquire); }

  // Added code is one allocation: the object, then its metadata.
  static void operator delete(void* at) { ::operator delete(at); }
  static void* operator new(size_t, void* at) { return at; }

 private:
  friend class NativeModule;
  friend class Loader;
  WasmCode() = default;

  NativeModule* module_;
  uint32_t index_;
  std::atomic<int32_t> refs_{1};
  CodeHeader header_;
  uint8_t* instructions_;
  const uint8_t* metadata_;  // parts 1..5, concatenated
  ForDebugging for_debugging_ = ForDebugging::kNotForDebugging;
  bool freed_ = false;  // loaded code whose region was freed (module lock)
};
static_assert(std::is_trivially_destructible_v<WasmCode>);

// Keeps every code object added to it alive until it closes. Scopes nest
// per thread; CodeManager::LookupCode and NativeModule::GetCode add their
// result to the innermost open scope of the calling thread.
class WasmCodeRefScope {
 public:
  WasmCodeRefScope();
  ~WasmCodeRefScope();
  WasmCodeRefScope(const WasmCodeRefScope&) = delete;
  WasmCodeRefScope& operator=(const WasmCodeRefScope&) = delete;

  // False (adding nothing) if the thread has no open scope.
  static bool AddRef(WasmCode* code);
  static bool IsOpen();

 private:
  WasmCodeRefScope* outer_;
  std::vector<WasmCode*> held_;
};

// Code compiled elsewhere, in tag form, checked and with its sites located
// (PrepareCompiledCode). Spans must stay valid until AddCompiledCode
// returns.
struct CompiledCode {
  uint32_t index = 0;  // counting imports
  CodeHeader header;
  std::array<absl::Span<const uint8_t>, kNumCodeParts> parts{};
  std::vector<Site> sites;
  ForDebugging for_debugging = ForDebugging::kNotForDebugging;
  uint64_t file_offset = 0;  // of the instructions, for errors

  absl::Span<const uint8_t> part(CodePart p) const {
    return parts[static_cast<int>(p)];
  }
};

// Checks one function's code with the deserializer's rules (header, parts,
// RelocInfo stream, sites, tags, safepoint table); Liftoff code is
// accepted here. Returns it ready to add.
absl::StatusOr<CompiledCode> PrepareCompiledCode(
    const ModuleInfo& module, const Environment& env, uint32_t index,
    const CodeHeader& header,
    const std::array<absl::Span<const uint8_t>, kNumCodeParts>& parts,
    ForDebugging for_debugging = ForDebugging::kNotForDebugging);

struct CodeSpaceInfo {
  uint8_t* base = nullptr;
  uint64_t size = 0;       // reserved
  uint64_t used = 0;       // tables and code placed by the deserializer
  uint64_t near_offset = 0;
  uint64_t far_offset = 0;
  uint64_t lazy_offset = 0;  // first space only
  uint64_t tables_end = 0;   // the jump tables are [0, tables_end)
  bool has_lazy_table = false;
  // The reservation once published (the allocator of later code).
  std::unique_ptr<CodeSpace> memory;

  uint64_t start() const { return reinterpret_cast<uintptr_t>(base); }
  bool contains(uint64_t address) const {
    return address >= start() && address - start() < size;
  }
};

class NativeModule {
 public:
  enum class RemoveFilter {
    kRemoveDebugCode,
    kRemoveNonDebugCode,
    kRemoveLiftoffCode,
    kRemoveTurbofanCode,
  };

  // In mprotect mode, holds off writes to the module's code while the
  // thread runs it; with protection keys it does nothing.
  class ExecutionScope {
   public:
    explicit ExecutionScope(const NativeModule& module);
    ~ExecutionScope();
    ExecutionScope(const ExecutionScope&) = delete;
    ExecutionScope& operator=(const ExecutionScope&) = delete;

   private:
    const NativeModule& module_;
  };

  ~NativeModule();
  NativeModule(const NativeModule&) = delete;
  NativeModule& operator=(const NativeModule&) = delete;

  Arch arch() const { return env_.arch; }
  const ArchTraits& traits() const { return TraitsOf(env_.arch); }
  const ModuleInfo& module() const { return module_; }
  const Environment& env() const { return env_; }
  CodeManager* manager() const { return manager_; }

  // Checks, copies and relocates a batch into code space, unpublished. A
  // batch over half a code space is split; kResourceExhausted if one
  // object is over half a code space or space cannot be had, and then
  // nothing of the batch stays allocated. An unpublished handle dropped
  // keeps its region until the module dies.
  absl::StatusOr<std::vector<std::unique_ptr<WasmCode>>> AddCompiledCode(
      absl::Span<const CompiledCode> batch);
  // Installs code and patches its slot in every space. Code of a lower
  // tier than the installed code is dropped (unless either is for
  // debugging). Returns the code if installed, else nullptr.
  WasmCode* PublishCode(std::unique_ptr<WasmCode> code);
  std::vector<WasmCode*> PublishCode(
      std::vector<std::unique_ptr<WasmCode>> codes);
  // Takes matching code out of the table, its slots back to the lazy stub;
  // returns how many functions were reset.
  size_t RemoveCompiledCode(RemoveFilter filter);

  // Installed code of declared function `declared_index`, or nullptr; added
  // to the thread's open WasmCodeRefScope, if any.
  WasmCode* GetCode(uint32_t declared_index) const;
  bool HasCode(uint32_t declared_index) const;
  // Owned code containing `pc`, or nullptr.
  WasmCode* Lookup(uint64_t pc) const;

  // The spaces. The span is invalidated when code added to the module
  // needs a new space: do not hold it across AddCompiledCode. The slot and
  // space queries below read the spaces without the module's lock (the
  // serializer calls them under its ReadLock): like the span, they must not
  // race a batch that adds a space on another thread.
  absl::Span<const CodeSpaceInfo> code_spaces() const { return spaces_; }
  // Slot addresses in the tables of `space`.
  uint64_t near_slot(const CodeSpaceInfo& space, uint32_t declared) const;
  uint64_t far_slot(const CodeSpaceInfo& space, uint32_t far_index) const;
  uint64_t lazy_slot(uint32_t declared_index) const;
  uint64_t lazy_slot_address(uint32_t declared_index) const {
    return lazy_slot(declared_index);
  }
  // The first space whose tables are in reach of all of [start, start +
  // size), or nullptr.
  const CodeSpaceInfo* FindJumpTablesForRegion(uint64_t start,
                                               uint64_t size) const;
  // Inverse maps (any space); nullopt if not such a slot.
  std::optional<uint32_t> DeclaredIndexFromNearSlot(uint64_t address) const;
  std::optional<uint32_t> BuiltinSlotFromFarSlot(uint64_t address) const;
  // The space holding `address`, or nullptr.
  const CodeSpaceInfo* SpaceOf(uint64_t address) const;

  // For a reader of many functions at once (the serializer): holds off
  // every change to the module while held; under it, the *_locked
  // accessors read without further locking and take no references.
  std::shared_lock<std::shared_mutex> ReadLock() const {
    return std::shared_lock<std::shared_mutex>(mutex_);
  }
  const WasmCode* code_locked(uint32_t declared_index) const {
    return table_[declared_index];
  }
  FunctionState function_state_locked(uint32_t declared_index) const {
    return function_states_[declared_index];
  }

  FunctionState function_state(uint32_t declared_index) const;
  std::vector<FunctionState> function_states() const;
  const std::vector<uint32_t>& tiering_budgets() const {
    return tiering_budgets_;
  }
  const GlobalHeader& global_header() const { return global_header_; }
  // For a module made empty: the header a serialization writes.
  void set_global_header(const GlobalHeader& header) {
    global_header_ = header;
  }
  const ModuleHeader& module_header() const { return module_header_; }

  uint64_t generated_code_size() const;
  uint64_t freed_code_size() const;
  uint64_t reserved_code_space() const;
  uint64_t committed_code_space() const;
  // Code objects the module owns (installed, or replaced but still
  // referenced).
  size_t num_owned_code() const;
  // Installed TurboFan code (what a serialization writes).
  size_t num_code() const;
  // Metadata (tables, headers, parts) plus committed code.
  uint64_t EstimateCurrentMemoryConsumption() const;

  // Called when code may have lost its last reference.
  void OnCodeDead(WasmCode* code);
  // With the code manager's lock held: frees `code` if still dead.
  bool FreeCodeLocked(WasmCode* code);

 private:
  friend class Loader;
  friend class CodeManager;
  NativeModule(CodeManager* manager, ModuleInfo module, Environment env);

  using Shared = std::shared_lock<std::shared_mutex>;
  using Exclusive = std::unique_lock<std::shared_mutex>;

  bool mprotect_mode() const;
  std::unique_lock<std::shared_mutex> LockCodeWrites() const;
  // Writes the tables of a space the module just reserved.
  void InitializeSpaceLocked(CodeSpaceInfo& space);
  absl::Status AddSpaceLocked(uint64_t min_code_size);
  absl::StatusOr<uint8_t*> AllocateLocked(uint64_t size);
  void FreeRegionLocked(uint8_t* start, uint64_t size);
  uint64_t TargetLocked(uint32_t declared_index) const;
  absl::Status RelocateLocked(const AnalysisContext& ctx,
                              const CompiledCode& code, uint8_t* memory) const;
  // One region for a batch of `total` aligned bytes.
  absl::StatusOr<std::vector<std::unique_ptr<WasmCode>>> AddBatch(
      absl::Span<const CompiledCode> batch, uint64_t total);
  void Discard(std::vector<std::unique_ptr<WasmCode>>& codes);
  WasmCode* LookupLocked(uint64_t pc) const;
  bool IsLoaded(const WasmCode* code) const {
    return code >= codes_ && code < codes_ + num_codes_;
  }

  CodeManager* manager_;
  ModuleInfo module_;
  Environment env_;
  mutable std::shared_mutex mutex_;
  // Writers of code (mprotect mode) exclude executors.
  mutable std::shared_mutex code_writes_;
  std::vector<CodeSpaceInfo> spaces_;
  // Code the deserializer loaded, in its placement order, in codes_memory_
  // (raw storage): entries [0, num_codes_) are constructed; freed ones
  // stay, marked.
  LargeBuffer codes_memory_;
  WasmCode* codes_ = nullptr;
  size_t num_codes_ = 0;
  size_t freed_loaded_ = 0;
  // (instruction start, index in codes_), sorted by address; empty when
  // codes_ itself is in address order.
  std::vector<std::pair<uint64_t, uint32_t>> by_address_;
  LargeBuffer metadata_;  // parts 1..5 of loaded code
  uint64_t metadata_size_ = 0;
  // Installed code per declared function.
  std::vector<WasmCode*> table_;
  // Code published after the load, by instruction start.
  std::map<uint64_t, std::unique_ptr<WasmCode>> added_;
  std::vector<FunctionState> function_states_;
  std::vector<uint32_t> tiering_budgets_;
  GlobalHeader global_header_;
  ModuleHeader module_header_;
  uint64_t generated_code_size_ = 0;
  uint64_t freed_code_size_ = 0;
  bool registered_ = false;
};

struct CodeManagerOptions {
  // --wasm-max-committed-code-mb (4095 MB in V8).
  uint64_t max_committed_code_space = uint64_t{4095} << 20;
  // Use a memory protection key when the system offers one.
  bool use_memory_protection_keys = true;
  // Flush Liftoff code of every module under memory pressure.
  bool flush_liftoff_code = true;
  // Reservation attempts after the first fails (V8: 2).
  int reservation_retries = 2;
  // Reserves a code space of a module made by NewNativeModule or grown by
  // AddCompiledCode; replaceable to test failures and retries.
  std::function<absl::StatusOr<std::unique_ptr<CodeSpace>>(
      uint64_t size, uint32_t alignment, const CodeProtection* protection,
      CodeSpace::AccountingHook accounting, uint64_t address_limit)>
      reserve = CodeSpace::Reserve;
};

// A snapshot of the manager's counters.
struct CodeManagerMetrics {
  uint64_t committed_code_space = 0;
  uint64_t max_committed_code_space = 0;
  uint64_t critical_committed_code_space = 0;
  uint64_t reserved_code_space = 0;
  uint64_t num_native_modules = 0;
  uint64_t num_code_spaces = 0;
  uint64_t generated_code_size = 0;  // live code bytes over all modules
  uint64_t freed_code_size = 0;      // code bytes freed over all modules
  uint64_t memory_pressure_notifications = 0;
  uint64_t failed_reservations = 0;
  uint64_t lookup_cache_hits = 0;
  uint64_t lookup_cache_misses = 0;
};

class CodeManager {
 public:
  static constexpr uint32_t kLookupCacheSize = 1024;

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

  // Bytes of metadata a module of this shape needs (code table, function
  // states and budgets, slot bookkeeping), without code.
  static uint64_t EstimateNativeModuleMetaDataSize(const ModuleInfo& module);

  // An empty module (every function lazy) with its first code space, sized
  // for `code_size_estimate` bytes of code. A refused reservation is
  // retried after a memory-pressure notification.
  absl::StatusOr<std::unique_ptr<NativeModule>> NewNativeModule(
      ModuleInfo module, Environment env, uint64_t code_size_estimate);

  NativeModule* LookupNativeModule(uint64_t pc) const;
  // Code containing pc (through the lookup cache), added to the thread's
  // open WasmCodeRefScope if any.
  WasmCode* LookupCode(uint64_t pc) const;
  // The code containing pc and the safepoint entry V8 would use for a
  // frame suspended at pc (found == false if none), computed once per cache
  // entry. The bitmap points into the code: keep the code alive.
  std::pair<WasmCode*, SafepointHit> LookupCodeAndSafepoint(
      uint64_t pc) const;

  // Runs when a module is made above the critical committed size, and
  // before each retry of a refused reservation.
  void SetMemoryPressureCallback(std::function<void()> callback);

  bool HasMemoryProtectionKeySupport() const {
    return CodeProtection::HasMemoryProtectionKeySupport();
  }
  bool MemoryProtectionKeysEnabled() const {
    return protection_.MemoryProtectionKeysEnabled();
  }
  bool MemoryProtectionKeyWritable() const {
    return protection_.MemoryProtectionKeyWritable();
  }
  const CodeProtection& protection() const { return protection_; }

  CodeManagerMetrics Metrics() const;
  // Metadata and committed code of every live module.
  uint64_t EstimateCurrentMemoryConsumption() const;
  uint64_t committed_bytes() const { return committed_.load(); }
  uint64_t reserved_bytes() const { return reserved_.load(); }
  size_t num_code_spaces() const;
  size_t num_native_modules() const;

 private:
  friend class Loader;
  friend class NativeModule;
  struct Range {
    uint64_t end;
    NativeModule* module;
  };
  struct CacheEntry {
    uint64_t pc = 0;
    WasmCode* code = nullptr;
    bool safepoint_known = false;
    SafepointHit safepoint;
  };

  // Accounts `delta` bytes of committed code; a positive delta over the
  // limit is refused (false, nothing accounted).
  bool Account(int64_t delta);
  bool Commit(uint64_t bytes) { return Account(static_cast<int64_t>(bytes)); }
  void ReleaseReserved(uint64_t bytes) { reserved_.fetch_sub(bytes); }
  absl::StatusOr<std::unique_ptr<CodeSpace>> ReserveCodeSpace(
      uint64_t size, Arch arch, bool with_retries);
  // Above the critical committed size: notify, flush Liftoff code, move
  // the threshold.
  void HandleMemoryPressure();
  void Register(NativeModule* module);
  void RegisterSpace(NativeModule* module, const CodeSpaceInfo& space);
  void Unregister(NativeModule* module);
  void FreeDeadCode(NativeModule* module, WasmCode* code);
  CacheEntry* CacheLookupLocked(uint64_t pc) const;

  CodeManagerOptions options_;
  CodeProtection protection_;
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> reserved_{0};
  std::atomic<uint64_t> failed_reservations_{0};
  std::atomic<uint64_t> freed_by_dead_modules_{0};
  // Held shared while modules are walked outside the map's lock (pressure,
  // metrics); a module's unregistration takes it exclusively.
  mutable std::shared_mutex modules_alive_;
  // Guards the lookup cache and the pressure state.
  mutable std::mutex cache_mutex_;
  mutable std::array<CacheEntry, kLookupCacheSize> cache_{};
  mutable uint64_t cache_hits_ = 0;
  mutable uint64_t cache_misses_ = 0;
  uint64_t critical_committed_ = 0;
  uint64_t pressure_notifications_ = 0;
  std::function<void()> pressure_callback_;
  // Guards the map of spaces and the module count; a leaf lock.
  mutable std::shared_mutex map_mutex_;
  std::map<uint64_t, Range> spaces_;  // by start address
  std::map<NativeModule*, size_t> modules_;
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_MODULE_H_
