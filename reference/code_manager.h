// CodeManager: the process-wide owner of code space.
//
// It reserves code space for modules (ReservationSize: room for the code
// plus each space's jump-table overhead, at least twice that overhead,
// capped by the target's maximum code-space size), retries a failed
// reservation after a memory-pressure notification, accounts every
// committed byte against a limit, and keeps the map from code-space start
// to (end, module) that resolves a pc to its module and code. A small
// direct-mapped cache (1024 entries, indexed by a hash of the pc) answers
// repeated lookups; it is flushed whenever code is freed, so it never
// returns freed code.
//
// Memory pressure: committed space is compared against a critical
// threshold (initially half the limit) whenever a module is created. Above
// it, the registered callback runs, non-TurboFan code can be flushed from
// every module, and the threshold moves to committed + (limit -
// committed) / 2, as in V8.
//
// Threading: thread-safe. The manager's lock is taken before any module's.

#ifndef WASMCACHE_REFERENCE_CODE_MANAGER_H_
#define WASMCACHE_REFERENCE_CODE_MANAGER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "absl/status/statusor.h"
#include "reference/code_protection.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/native_module.h"
#include "reference/safepoint_table.h"

namespace wasmcache::reference {

struct CodeManagerOptions {
  // --wasm-max-committed-code-mb (4095 MB in V8).
  uint64_t max_committed_code_space = uint64_t{4095} << 20;
  // Use a memory protection key when the system offers one.
  bool use_memory_protection_keys = true;
  // Flush Liftoff code of every module under memory pressure.
  bool flush_liftoff_code = true;
  // Reservation attempts after the first fails (V8: 2).
  int reservation_retries = 2;
  // Reserves a code space; replaceable to test failures and retries.
  std::function<absl::StatusOr<std::unique_ptr<CodeSpace>>(
      uint64_t size, uint32_t alignment, const CodeProtection* protection,
      CodeSpace::AccountingHook accounting, uint64_t address_limit)>
      reserve = CodeSpace::Reserve;
};

// A plain snapshot of the manager's counters (the seed's SampleCodeSize and
// friends).
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
  static_assert((kLookupCacheSize & (kLookupCacheSize - 1)) == 0);

  explicit CodeManager(CodeManagerOptions options = {});
  ~CodeManager();
  CodeManager(const CodeManager&) = delete;
  CodeManager& operator=(const CodeManager&) = delete;

  // Jump-table bytes of one code space (near table, far table), aligned.
  static uint64_t OverheadPerCodeSpace(Arch arch, uint32_t num_declared,
                                       uint32_t num_builtins);
  // Size of the next reservation for a module: max(estimate + overhead,
  // 2 * overhead, total_reserved / 4), page-rounded, capped by the target's
  // maximum code space. kResourceExhausted if 2 * overhead exceeds the cap.
  static absl::StatusOr<uint64_t> ReservationSize(
      Arch arch, uint64_t code_size_estimate, uint32_t num_declared,
      uint32_t num_builtins, uint64_t total_reserved);
  // Bytes of metadata a module of this shape needs (tables, code table,
  // per-function state), without code.
  static uint64_t EstimateNativeModuleMetaDataSize(const ModuleInfo& module);

  // Creates a module with its first code space, sized for
  // `code_size_estimate` bytes of code. kUnimplemented for targets whose
  // jump tables are not implemented.
  absl::StatusOr<std::unique_ptr<NativeModule>> NewNativeModule(
      ModuleInfo module, Environment env, uint64_t code_size_estimate);

  NativeModule* LookupNativeModule(uint64_t pc) const;
  // Code containing pc (through the lookup cache), added to the thread's
  // open WasmCodeRefScope if any.
  WasmCode* LookupCode(uint64_t pc) const;
  // The code containing pc and the safepoint entry V8 would use for a frame
  // suspended at pc (nullopt if none); the entry is computed once per cache
  // entry. Its bitmap view lives in the code: keep the code alive (a
  // WasmCodeRefScope) while using it.
  std::pair<WasmCode*, std::optional<SafepointEntry>> LookupCodeAndSafepoint(
      uint64_t pc) const;

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
  size_t num_code_spaces() const;
  uint64_t committed_bytes() const { return committed_.load(); }

  // Called by NativeModule.
  // Reserves a space; with retries, a failure first notifies the memory
  // pressure callback (only where no module lock is held).
  absl::StatusOr<std::unique_ptr<CodeSpace>> ReserveCodeSpace(
      uint64_t size, Arch arch, bool with_retries);
  void RegisterCodeSpace(const CodeSpace& space, NativeModule* module);
  void FreeNativeModule(NativeModule* module);
  // Drops a reference to `code` under the lock; if it was the last, flushes
  // the lookup cache and frees the code.
  void FreeDeadCode(NativeModule* module, WasmCode* code);

 private:
  struct Range {
    uint64_t end;
    NativeModule* module;
    const CodeSpace* space;
  };
  struct CacheEntry {
    uint64_t pc = 0;
    WasmCode* code = nullptr;
    bool safepoint_computed = false;
    std::optional<SafepointEntry> safepoint;
  };
  // The cache entry for pc, filled on a miss; nullptr if no code has pc.
  // Called with mutex_ held.
  CacheEntry* LookupEntryLocked(uint64_t pc) const;

  bool Account(int64_t delta);
  void HandleMemoryPressure();
  static uint32_t CacheIndex(uint64_t pc);

  CodeManagerOptions options_;
  CodeProtection protection_;
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> reserved_{0};
  std::atomic<uint64_t> failed_reservations_{0};
  std::atomic<uint64_t> freed_code_size_{0};

  // Held shared while walking modules outside the map lock (pressure
  // flush, statistics); a module's destruction takes it exclusively first.
  mutable std::shared_mutex modules_alive_;
  // Guards the lookup cache and pressure state; taken before module locks.
  mutable std::mutex mutex_;
  uint64_t critical_committed_ = 0;
  uint64_t pressure_notifications_ = 0;
  std::function<void()> pressure_callback_;
  mutable std::array<CacheEntry, kLookupCacheSize> cache_{};
  mutable uint64_t cache_hits_ = 0;
  mutable uint64_t cache_misses_ = 0;
  // Guards the map of code spaces and the module set; a leaf lock.
  mutable std::mutex map_mutex_;
  std::map<uint64_t, Range> lookup_map_;
  std::map<NativeModule*, int> modules_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_CODE_MANAGER_H_
