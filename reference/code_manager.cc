#include "reference/code_manager.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

uint64_t PageSize() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

CodeManager::CodeManager(CodeManagerOptions options)
    : options_(std::move(options)),
      protection_(options_.use_memory_protection_keys),
      critical_committed_(options_.max_committed_code_space / 2) {}

CodeManager::~CodeManager() {
  // Modules must not outlive their manager.
  assert(lookup_map_.empty());
}

// --- Sizes -----------------------------------------------------------------

uint64_t CodeManager::OverheadPerCodeSpace(Arch arch, uint32_t num_declared,
                                           uint32_t num_builtins) {
  return ComputeJumpTableLayout(arch, num_declared, num_builtins, false)
      .total_size;
}

absl::StatusOr<uint64_t> CodeManager::ReservationSize(
    Arch arch, uint64_t code_size_estimate, uint32_t num_declared,
    uint32_t num_builtins, uint64_t total_reserved) {
  const ArchTraits& t = TraitsOf(arch);
  const uint64_t overhead =
      OverheadPerCodeSpace(arch, num_declared, num_builtins);
  const uint64_t cap = t.max_code_space_size;
  if (2 * overhead > cap) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("jump tables of %d functions (%d bytes) do not fit "
                        "twice in the %d-byte code space of %s",
                        num_declared, overhead, cap, ArchName(arch)),
        0);
  }
  // As V8, the estimate rounds to the code alignment; reservations are
  // whole pages.
  const uint64_t suggested =
      std::max({RoundUp(code_size_estimate, t.code_alignment) + overhead,
                2 * overhead, total_reserved / 4});
  return std::min(RoundUp(suggested, PageSize()), cap);
}

uint64_t CodeManager::EstimateNativeModuleMetaDataSize(
    const ModuleInfo& module) {
  // Code table, function states and budgets, per-function jump-table
  // bookkeeping, type tables, plus the module object itself.
  const uint64_t functions = module.num_declared_functions;
  return sizeof(NativeModule) +
         functions * (sizeof(WasmCode*) + sizeof(FunctionState) +
                      sizeof(uint32_t) * 2) +
         module.num_types() * (sizeof(uint32_t) * 2 + 1);
}

// --- Accounting and pressure ----------------------------------------------

bool CodeManager::Account(int64_t delta) {
  if (delta < 0) {
    committed_.fetch_sub(static_cast<uint64_t>(-delta));
    return true;
  }
  uint64_t current = committed_.load();
  do {
    if (current + static_cast<uint64_t>(delta) >
        options_.max_committed_code_space) {
      return false;
    }
  } while (!committed_.compare_exchange_weak(
      current, current + static_cast<uint64_t>(delta)));
  return true;
}

void CodeManager::SetMemoryPressureCallback(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(mutex_);
  pressure_callback_ = std::move(callback);
}

void CodeManager::HandleMemoryPressure() {
  std::shared_lock<std::shared_mutex> alive(modules_alive_);
  std::function<void()> callback;
  std::vector<NativeModule*> modules;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t committed = committed_.load();
    if (committed <= critical_committed_) return;
    ++pressure_notifications_;
    callback = pressure_callback_;
    critical_committed_ =
        committed + (options_.max_committed_code_space - committed) / 2;
    std::lock_guard<std::mutex> map_lock(map_mutex_);
    for (const auto& [module, spaces] : modules_) modules.push_back(module);
  }
  if (options_.flush_liftoff_code) {
    for (NativeModule* module : modules) {
      module->RemoveCompiledCode(NativeModule::RemoveFilter::kRemoveLiftoffCode);
    }
  }
  alive.unlock();
  // The callback may free modules, so no lock is held while it runs.
  if (callback) callback();
}

// --- Modules and code spaces -----------------------------------------------

absl::StatusOr<std::unique_ptr<CodeSpace>> CodeManager::ReserveCodeSpace(
    uint64_t size, Arch arch, bool with_retries) {
  for (int attempt = 0;; ++attempt) {
    // 32-bit targets hold code addresses in 4 bytes.
    const uint64_t address_limit =
        TraitsOf(arch).word_size == 4 ? uint64_t{1} << 32 : 0;
    absl::StatusOr<std::unique_ptr<CodeSpace>> space = options_.reserve(
        size, TraitsOf(arch).code_alignment, &protection_,
        [this](int64_t delta) { return Account(delta); }, address_limit);
    if (space.ok()) return space;
    failed_reservations_.fetch_add(1);
    if (!with_retries || attempt >= options_.reservation_retries) {
      return space.status();
    }
    // Give the embedder a chance to release memory, then retry.
    std::function<void()> callback;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++pressure_notifications_;
      callback = pressure_callback_;
    }
    if (callback) callback();
  }
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
  HandleMemoryPressure();
  const uint32_t builtins = static_cast<uint32_t>(env.far_slot_builtins.size());
  // The first space also holds the lazy-compile table.
  const JumpTableLayout first = ComputeJumpTableLayout(
      env.arch, module.num_declared_functions, builtins, true);
  const uint64_t lazy = first.total_size - OverheadPerCodeSpace(
                                               env.arch,
                                               module.num_declared_functions,
                                               builtins);
  WASMCACHE_ASSIGN_OR_RETURN(
      const uint64_t size,
      ReservationSize(env.arch, code_size_estimate + lazy,
                      module.num_declared_functions, builtins, 0));
  if (size < first.total_size) {
    return LimitError(section::kCodeSpace,
                      "jump tables do not fit the code space", 0);
  }
  WASMCACHE_ASSIGN_OR_RETURN(
      std::unique_ptr<CodeSpace> space,
      ReserveCodeSpace(size, env.arch, /*with_retries=*/true));
  // The tables may be refused by the committed-space limit.
  WASMCACHE_ASSIGN_OR_RETURN(uint8_t* const tables,
                             space->Allocate(first.total_size));
  return std::make_unique<NativeModule>(this, std::move(module),
                                        std::move(env), std::move(space),
                                        tables);
}

void CodeManager::RegisterCodeSpace(const CodeSpace& space,
                                    NativeModule* module) {
  std::lock_guard<std::mutex> lock(map_mutex_);
  lookup_map_[space.start_address()] = {space.end_address(), module, &space};
  ++modules_[module];
  reserved_.fetch_add(space.size());
}

void CodeManager::FreeNativeModule(NativeModule* module) {
  std::unique_lock<std::shared_mutex> alive(modules_alive_);
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.fill({});
  // The module's lock comes before the map's: read its count first.
  const uint64_t module_freed = module->freed_code_size();
  std::lock_guard<std::mutex> map_lock(map_mutex_);
  for (auto it = lookup_map_.begin(); it != lookup_map_.end();) {
    if (it->second.module == module) {
      reserved_.fetch_sub(it->second.space->size());
      it = lookup_map_.erase(it);
    } else {
      ++it;
    }
  }
  freed_code_size_.fetch_add(module_freed);
  modules_.erase(module);
}

void CodeManager::FreeDeadCode(NativeModule* module, WasmCode* code) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Lookups reference code found by pc under this lock: a count that
  // reaches zero here stays zero, and this call alone frees the code.
  if (!code->DecRefLocked()) return;
  // Flush first: after this no cache entry names the code, and new
  // lookups need this lock, so none can return it until it is gone.
  cache_.fill({});
  module->FreeCodeLocked(code);
}

// --- Lookup ----------------------------------------------------------------

uint32_t CodeManager::CacheIndex(uint64_t pc) {
  // Multiplicative hash of the pc; the top bits index the table.
  const uint64_t hash = pc * 0x9E3779B97F4A7C15ull;
  return static_cast<uint32_t>(hash >> 54) & (kLookupCacheSize - 1);
}

NativeModule* CodeManager::LookupNativeModule(uint64_t pc) const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  auto it = lookup_map_.upper_bound(pc);
  if (it == lookup_map_.begin()) return nullptr;
  --it;
  return pc < it->second.end ? it->second.module : nullptr;
}

CodeManager::CacheEntry* CodeManager::LookupEntryLocked(uint64_t pc) const {
  CacheEntry& entry = cache_[CacheIndex(pc)];
  if (entry.pc == pc && entry.code != nullptr) {
    ++cache_hits_;
    return &entry;
  }
  ++cache_misses_;
  NativeModule* module = LookupNativeModule(pc);
  WasmCode* code = module == nullptr ? nullptr : module->Lookup(pc);
  if (code == nullptr) return nullptr;
  entry = CacheEntry{pc, code, false, std::nullopt};
  return &entry;
}

WasmCode* CodeManager::LookupCode(uint64_t pc) const {
  std::lock_guard<std::mutex> lock(mutex_);
  CacheEntry* entry = LookupEntryLocked(pc);
  if (entry == nullptr) return nullptr;
  WasmCodeRefScope::AddRef(entry->code);
  return entry->code;
}

std::pair<WasmCode*, std::optional<SafepointEntry>>
CodeManager::LookupCodeAndSafepoint(uint64_t pc) const {
  std::lock_guard<std::mutex> lock(mutex_);
  CacheEntry* entry = LookupEntryLocked(pc);
  if (entry == nullptr) return {nullptr, std::nullopt};
  WasmCode* code = entry->code;
  if (!entry->safepoint_computed) {
    // The table was validated when the code was added; read it in place.
    absl::StatusOr<SafepointTable> table = SafepointTable::Parse(
        code->instructions(), code->header(),
        code->native_module()->arch(), 0);
    if (table.ok()) {
      entry->safepoint = table->FindEntry(
          static_cast<uint32_t>(pc - code->instruction_start()));
    }
    entry->safepoint_computed = true;
  }
  WasmCodeRefScope::AddRef(code);
  return {code, entry->safepoint};
}

// --- Statistics ------------------------------------------------------------

size_t CodeManager::num_code_spaces() const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  return lookup_map_.size();
}

CodeManagerMetrics CodeManager::Metrics() const {
  std::shared_lock<std::shared_mutex> alive(modules_alive_);
  CodeManagerMetrics m;
  std::vector<NativeModule*> modules;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    m.critical_committed_code_space = critical_committed_;
    m.memory_pressure_notifications = pressure_notifications_;
    m.lookup_cache_hits = cache_hits_;
    m.lookup_cache_misses = cache_misses_;
    std::lock_guard<std::mutex> map_lock(map_mutex_);
    m.num_code_spaces = lookup_map_.size();
    m.num_native_modules = modules_.size();
    for (const auto& [module, spaces] : modules_) modules.push_back(module);
  }
  m.committed_code_space = committed_.load();
  m.max_committed_code_space = options_.max_committed_code_space;
  m.reserved_code_space = reserved_.load();
  m.failed_reservations = failed_reservations_.load();
  m.freed_code_size = freed_code_size_.load();
  for (NativeModule* module : modules) {
    m.generated_code_size += module->generated_code_size();
    m.freed_code_size += module->freed_code_size();
  }
  return m;
}

uint64_t CodeManager::EstimateCurrentMemoryConsumption() const {
  std::shared_lock<std::shared_mutex> alive(modules_alive_);
  std::vector<NativeModule*> modules;
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (const auto& [module, spaces] : modules_) modules.push_back(module);
  }
  uint64_t total = sizeof(CodeManager);
  for (NativeModule* module : modules) {
    total += module->EstimateCurrentMemoryConsumption();
  }
  return total;
}

}  // namespace wasmcache::reference
