#include "fast/module.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::fast {
namespace {

thread_local WasmCodeRefScope* innermost_scope = nullptr;

}  // namespace

// --- WasmCode and references ---------------------------------------------------

absl::Span<const uint8_t> WasmCode::part(CodePart part) const {
  if (part == CodePart::kInstructions) return instructions();
  const uint8_t* at = metadata_;
  for (int p = 1; p < static_cast<int>(part); ++p) {
    at += static_cast<uint32_t>(header_.*kCodePartSizes[p]);
  }
  return {at, static_cast<size_t>(
                  static_cast<uint32_t>(header_.*kCodePartSizes[
                      static_cast<int>(part)]))};
}

void WasmCode::DecRef() {
  int32_t now = refs_.load(std::memory_order_acquire);
  while (now > 1 &&
         !refs_.compare_exchange_weak(now, now - 1,
                                      std::memory_order_acq_rel)) {
  }
  if (now > 1) return;
  // Perhaps the last: that one is dropped where lookups take theirs.
  module_->OnCodeDead(this);
}

WasmCodeRefScope::WasmCodeRefScope() : outer_(innermost_scope) {
  innermost_scope = this;
}

WasmCodeRefScope::~WasmCodeRefScope() {
  if (innermost_scope != this) std::abort();  // scopes close in order
  innermost_scope = outer_;
  for (WasmCode* code : held_) code->DecRef();
}

bool WasmCodeRefScope::AddRef(WasmCode* code) {
  WasmCodeRefScope* scope = innermost_scope;
  if (scope == nullptr) return false;
  code->IncRef();
  scope->held_.push_back(code);
  return true;
}

bool WasmCodeRefScope::IsOpen() { return innermost_scope != nullptr; }

// --- NativeModule --------------------------------------------------------------

NativeModule::NativeModule(CodeManager* manager, ModuleInfo module,
                           Environment env)
    : manager_(manager),
      module_(std::move(module)),
      env_(std::move(env)),
      table_(module_.num_declared_functions, nullptr) {}

NativeModule::~NativeModule() {
  if (registered_) manager_->Unregister(this);
  // The table holds one reference to each installed code; more belong to a
  // WasmCodeRefScope, which would drop them on freed memory when it closes.
  auto check = [&](const WasmCode& code) {
    const uint32_t declared = code.index() - module_.num_imported_functions;
    const int installed = table_[declared] == &code ? 1 : 0;
    if (code.ref_count() <= installed) return;
    std::fprintf(stderr,
                 "wasmcache: NativeModule destroyed while a WasmCodeRefScope "
                 "still holds the code of function %u (%d references); a "
                 "module must outlive the scopes holding its code\n",
                 code.index(), code.ref_count() - installed);
    std::abort();
  };
  for (size_t i = 0; i < num_codes_; ++i) {
    if (!codes_[i].freed_) check(codes_[i]);
  }
  for (const auto& [start, code] : added_) check(*code);
  added_.clear();
  uint64_t reserved = 0;
  uint64_t loose_committed = 0;  // spaces of a load that never published
  for (CodeSpaceInfo& s : spaces_) {
    reserved += s.size;
    if (s.memory != nullptr) {
      s.memory.reset();
    } else {
      munmap(s.base, s.size);
      loose_committed += AlignUp(s.used, PageSize());
    }
  }
  manager_->Account(-static_cast<int64_t>(loose_committed));
  manager_->ReleaseReserved(reserved);
}

bool NativeModule::mprotect_mode() const {
  return !manager_->MemoryProtectionKeysEnabled();
}

std::unique_lock<std::shared_mutex> NativeModule::LockCodeWrites() const {
  std::unique_lock<std::shared_mutex> writes(code_writes_, std::defer_lock);
  if (mprotect_mode()) writes.lock();
  return writes;
}

NativeModule::ExecutionScope::ExecutionScope(const NativeModule& module)
    : module_(module) {
  if (module_.mprotect_mode()) module_.code_writes_.lock_shared();
}

NativeModule::ExecutionScope::~ExecutionScope() {
  if (module_.mprotect_mode()) module_.code_writes_.unlock_shared();
}

WasmCode* NativeModule::LookupLocked(uint64_t pc) const {
  WasmCode* found = nullptr;
  if (num_codes_ != 0) {
    WasmCode* begin = codes_;
    if (by_address_.empty()) {
      WasmCode* it = std::upper_bound(
          begin, begin + num_codes_, pc, [](uint64_t p, const WasmCode& c) {
            return p < c.instruction_start();
          });
      if (it != begin) found = it - 1;
    } else {
      auto it = std::upper_bound(
          by_address_.begin(), by_address_.end(), pc,
          [](uint64_t p, const std::pair<uint64_t, uint32_t>& e) {
            return p < e.first;
          });
      if (it != by_address_.begin()) found = &codes_[(it - 1)->second];
    }
    if (found != nullptr && (found->freed_ || !found->contains(pc))) {
      found = nullptr;
    }
  }
  if (found == nullptr && !added_.empty()) {
    auto it = added_.upper_bound(pc);
    if (it != added_.begin() && std::prev(it)->second->contains(pc)) {
      found = std::prev(it)->second.get();
    }
  }
  return found;
}

WasmCode* NativeModule::Lookup(uint64_t pc) const {
  Shared lock(mutex_);
  return LookupLocked(pc);
}

WasmCode* NativeModule::GetCode(uint32_t declared_index) const {
  Shared lock(mutex_);
  WasmCode* code = table_[declared_index];
  if (code != nullptr) WasmCodeRefScope::AddRef(code);
  return code;
}

bool NativeModule::HasCode(uint32_t declared_index) const {
  Shared lock(mutex_);
  return table_[declared_index] != nullptr;
}

FunctionState NativeModule::function_state(uint32_t declared_index) const {
  Shared lock(mutex_);
  return function_states_[declared_index];
}

std::vector<FunctionState> NativeModule::function_states() const {
  Shared lock(mutex_);
  return function_states_;
}

uint64_t NativeModule::near_slot(const CodeSpaceInfo& space,
                                 uint32_t declared) const {
  return space.start() + space.near_offset +
         JumpTableSlotOffset(traits(), declared);
}

uint64_t NativeModule::far_slot(const CodeSpaceInfo& space,
                                uint32_t far_index) const {
  return space.start() + space.far_offset +
         FarJumpTableSlotOffset(traits(), far_index);
}

uint64_t NativeModule::lazy_slot(uint32_t declared_index) const {
  // The first space never changes once made.
  const CodeSpaceInfo& first = spaces_.front();
  return first.start() + first.lazy_offset +
         uint64_t{declared_index} * traits().lazy_compile_slot_size;
}

const CodeSpaceInfo* NativeModule::SpaceOf(uint64_t address) const {
  for (const CodeSpaceInfo& s : spaces_) {
    if (s.contains(address)) return &s;
  }
  return nullptr;
}

const CodeSpaceInfo* NativeModule::FindJumpTablesForRegion(
    uint64_t start, uint64_t size) const {
  const uint64_t reach = traits().max_code_space_size;
  for (const CodeSpaceInfo& s : spaces_) {
    const uint64_t low = std::min(start, s.start());
    const uint64_t high = std::max(start + size, s.start() + s.tables_end);
    if (high - low <= reach) return &s;
  }
  return nullptr;
}

std::optional<uint32_t> NativeModule::DeclaredIndexFromNearSlot(
    uint64_t address) const {
  const SlotGeometry near = NearSlots(traits());
  for (const CodeSpaceInfo& s : spaces_) {
    const uint64_t table = s.start() + s.near_offset;
    if (address < table) continue;
    const uint64_t offset = address - table;
    if (SlotMap<NativeDomain>::IsSlot(near, offset,
                                      module_.num_declared_functions)) {
      return static_cast<uint32_t>(SlotMap<NativeDomain>::Index(near, offset));
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> NativeModule::BuiltinSlotFromFarSlot(
    uint64_t address) const {
  const SlotGeometry far = FarSlots(traits());
  for (const CodeSpaceInfo& s : spaces_) {
    const uint64_t table = s.start() + s.far_offset;
    if (address < table) continue;
    const uint64_t offset = address - table;
    if (SlotMap<NativeDomain>::IsSlot(far, offset,
                                      env_.far_slot_builtins.size())) {
      return static_cast<uint32_t>(SlotMap<NativeDomain>::Index(far, offset));
    }
  }
  return std::nullopt;
}

uint64_t NativeModule::generated_code_size() const {
  Shared lock(mutex_);
  return generated_code_size_;
}

uint64_t NativeModule::freed_code_size() const {
  Shared lock(mutex_);
  return freed_code_size_;
}

uint64_t NativeModule::reserved_code_space() const {
  Shared lock(mutex_);
  uint64_t total = 0;
  for (const CodeSpaceInfo& s : spaces_) total += s.size;
  return total;
}

uint64_t NativeModule::committed_code_space() const {
  Shared lock(mutex_);
  uint64_t total = 0;
  for (const CodeSpaceInfo& s : spaces_) {
    total += s.memory != nullptr ? s.memory->committed_bytes()
                                 : AlignUp(s.used, PageSize());
  }
  return total;
}

size_t NativeModule::num_owned_code() const {
  Shared lock(mutex_);
  return num_codes_ - freed_loaded_ + added_.size();
}

size_t NativeModule::num_code() const {
  Shared lock(mutex_);
  size_t count = 0;
  for (const WasmCode* code : table_) {
    count += code != nullptr && code->is_turbofan();
  }
  return count;
}

uint64_t NativeModule::EstimateCurrentMemoryConsumption() const {
  const uint64_t committed = committed_code_space();
  Shared lock(mutex_);
  uint64_t added = 0;
  for (const auto& [start, code] : added_) {
    added += sizeof(WasmCode) + code->header().reloc_info_size;
    for (int p = 2; p < kNumCodeParts; ++p) {
      added += static_cast<uint32_t>(code->header().*kCodePartSizes[p]);
    }
  }
  return sizeof(*this) + num_codes_ * sizeof(WasmCode) +
         by_address_.size() * sizeof(by_address_[0]) +
         table_.size() * sizeof(WasmCode*) +
         function_states_.size() * sizeof(FunctionState) +
         tiering_budgets_.size() * sizeof(uint32_t) + metadata_size_ + added +
         committed;
}

// --- CodeManager ---------------------------------------------------------------

CodeManager::CodeManager(CodeManagerOptions options)
    : options_(std::move(options)),
      protection_(options_.use_memory_protection_keys) {
  critical_committed_ = options_.max_committed_code_space / 2;
}

CodeManager::~CodeManager() = default;

uint64_t CodeManager::OverheadPerCodeSpace(Arch arch, uint32_t num_declared,
                                           uint32_t num_builtins) {
  const ArchTraits& t = TraitsOf(arch);
  const uint64_t far_slots =
      num_builtins + (t.far_jumps_between_code_spaces ? num_declared : 0);
  return AlignUp(JumpTableSize(t, num_declared), t.code_alignment) +
         AlignUp(far_slots * t.far_jump_table_slot_size, t.code_alignment);
}

absl::StatusOr<uint64_t> CodeManager::ReservationSize(Arch arch,
                                                      uint64_t estimate,
                                                      uint32_t num_declared,
                                                      uint32_t num_builtins,
                                                      uint64_t total_reserved) {
  const ArchTraits& t = TraitsOf(arch);
  const uint64_t overhead = OverheadPerCodeSpace(arch, num_declared,
                                                 num_builtins);
  if (2 * overhead > t.max_code_space_size) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("jump tables of %d functions need %d bytes, more than "
                        "half the %d-byte code space",
                        num_declared, overhead, t.max_code_space_size),
        0);
  }
  const uint64_t wanted =
      std::max({AlignUp(estimate, t.code_alignment) + overhead, 2 * overhead,
                total_reserved / 4});
  return std::min(AlignUp(wanted, PageSize()), t.max_code_space_size);
}

uint64_t CodeManager::EstimateNativeModuleMetaDataSize(
    const ModuleInfo& module) {
  const uint64_t n = module.num_declared_functions;
  return sizeof(NativeModule) +
         n * (sizeof(WasmCode*) + sizeof(FunctionState) + sizeof(uint32_t)) +
         module.num_types() * (sizeof(uint32_t) * 2 + 1);
}

bool CodeManager::Account(int64_t delta) {
  if (delta <= 0) {
    committed_.fetch_sub(static_cast<uint64_t>(-delta));
    return true;
  }
  const uint64_t bytes = static_cast<uint64_t>(delta);
  uint64_t now = committed_.load();
  do {
    if (bytes > options_.max_committed_code_space ||
        now > options_.max_committed_code_space - bytes) {
      return false;
    }
  } while (!committed_.compare_exchange_weak(now, now + bytes));
  return true;
}

void CodeManager::SetMemoryPressureCallback(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  pressure_callback_ = std::move(callback);
}

void CodeManager::HandleMemoryPressure() {
  std::shared_lock<std::shared_mutex> alive(modules_alive_);
  std::function<void()> callback;
  std::vector<NativeModule*> modules;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const uint64_t committed = committed_.load();
    if (committed <= critical_committed_) return;
    ++pressure_notifications_;
    callback = pressure_callback_;
    critical_committed_ =
        committed + (options_.max_committed_code_space - committed) / 2;
    std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
    for (const auto& entry : modules_) modules.push_back(entry.first);
  }
  if (options_.flush_liftoff_code) {
    for (NativeModule* module : modules) {
      module->RemoveCompiledCode(NativeModule::RemoveFilter::kRemoveLiftoffCode);
    }
  }
  alive.unlock();
  // The embedder's callback may free modules: it runs without locks.
  if (callback) callback();
}

absl::StatusOr<std::unique_ptr<CodeSpace>> CodeManager::ReserveCodeSpace(
    uint64_t size, Arch arch, bool with_retries) {
  const ArchTraits& t = TraitsOf(arch);
  // 32-bit targets hold code addresses in 4 bytes.
  const uint64_t below = t.word_size == 4 ? uint64_t{1} << 32 : 0;
  for (int retry = 0;; ++retry) {
    auto space = options_.reserve(
        size, t.code_alignment, &protection_,
        [this](int64_t delta) { return Account(delta); }, below);
    // Counted as reserved by the caller once the space is the module's.
    if (space.ok()) return space;
    failed_reservations_.fetch_add(1);
    if (!with_retries || retry == options_.reservation_retries) {
      return space.status();
    }
    std::function<void()> callback;
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      ++pressure_notifications_;
      callback = pressure_callback_;
    }
    if (callback) callback();
  }
}

void CodeManager::Register(NativeModule* module) {
  std::unique_lock<std::shared_mutex> lock(map_mutex_);
  for (const CodeSpaceInfo& s : module->spaces_) {
    spaces_[s.start()] = Range{s.start() + s.size, module};
  }
  modules_[module] += module->spaces_.size();
  module->registered_ = true;
}

void CodeManager::RegisterSpace(NativeModule* module,
                                const CodeSpaceInfo& space) {
  std::unique_lock<std::shared_mutex> lock(map_mutex_);
  spaces_[space.start()] = Range{space.start() + space.size, module};
  ++modules_[module];
}

void CodeManager::Unregister(NativeModule* module) {
  std::unique_lock<std::shared_mutex> alive(modules_alive_);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.fill({});
  freed_by_dead_modules_.fetch_add(module->freed_code_size());
  std::unique_lock<std::shared_mutex> map_lock(map_mutex_);
  for (const CodeSpaceInfo& s : module->spaces_) spaces_.erase(s.start());
  modules_.erase(module);
}

void CodeManager::FreeDeadCode(NativeModule* module, WasmCode* code) {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  // Lookups take their references under this lock: once the count is zero
  // here, no lookup can revive the code after the flush below.
  if (!code->DecRefLocked()) return;
  cache_.fill({});
  module->FreeCodeLocked(code);
}

NativeModule* CodeManager::LookupNativeModule(uint64_t pc) const {
  std::shared_lock<std::shared_mutex> lock(map_mutex_);
  auto it = spaces_.upper_bound(pc);
  if (it == spaces_.begin()) return nullptr;
  --it;
  return pc < it->second.end ? it->second.module : nullptr;
}

CodeManager::CacheEntry* CodeManager::CacheLookupLocked(uint64_t pc) const {
  // Fibonacci hashing of the pc: its top bits pick the entry.
  CacheEntry& entry =
      cache_[(pc * 0x9E3779B97F4A7C15ull) >> (64 - 10)];
  static_assert(kLookupCacheSize == 1u << 10);
  if (entry.code != nullptr && entry.pc == pc) {
    ++cache_hits_;
    return &entry;
  }
  ++cache_misses_;
  NativeModule* module = LookupNativeModule(pc);
  WasmCode* code = module == nullptr ? nullptr : module->Lookup(pc);
  if (code == nullptr) return nullptr;
  entry = CacheEntry{pc, code, false, SafepointHit{}};
  return &entry;
}

WasmCode* CodeManager::LookupCode(uint64_t pc) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  CacheEntry* entry = CacheLookupLocked(pc);
  if (entry == nullptr) return nullptr;
  WasmCodeRefScope::AddRef(entry->code);
  return entry->code;
}

std::pair<WasmCode*, SafepointHit> CodeManager::LookupCodeAndSafepoint(
    uint64_t pc) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  CacheEntry* entry = CacheLookupLocked(pc);
  if (entry == nullptr) return {nullptr, SafepointHit{}};
  WasmCode* code = entry->code;
  if (!entry->safepoint_known) {
    entry->safepoint = FindSafepoint(
        code->instructions().data(), code->header(),
        code->native_module()->arch(),
        static_cast<uint32_t>(pc - code->instruction_start()));
    entry->safepoint_known = true;
  }
  WasmCodeRefScope::AddRef(code);
  return {code, entry->safepoint};
}

size_t CodeManager::num_code_spaces() const {
  std::shared_lock<std::shared_mutex> lock(map_mutex_);
  return spaces_.size();
}

size_t CodeManager::num_native_modules() const {
  std::shared_lock<std::shared_mutex> lock(map_mutex_);
  return modules_.size();
}

CodeManagerMetrics CodeManager::Metrics() const {
  std::shared_lock<std::shared_mutex> alive(modules_alive_);
  CodeManagerMetrics m;
  std::vector<NativeModule*> modules;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    m.critical_committed_code_space = critical_committed_;
    m.memory_pressure_notifications = pressure_notifications_;
    m.lookup_cache_hits = cache_hits_;
    m.lookup_cache_misses = cache_misses_;
    std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
    m.num_code_spaces = spaces_.size();
    m.num_native_modules = modules_.size();
    for (const auto& entry : modules_) modules.push_back(entry.first);
  }
  m.committed_code_space = committed_.load();
  m.max_committed_code_space = options_.max_committed_code_space;
  m.reserved_code_space = reserved_.load();
  m.failed_reservations = failed_reservations_.load();
  m.freed_code_size = freed_by_dead_modules_.load();
  for (const NativeModule* module : modules) {
    m.generated_code_size += module->generated_code_size();
    m.freed_code_size += module->freed_code_size();
  }
  return m;
}

uint64_t CodeManager::EstimateCurrentMemoryConsumption() const {
  std::shared_lock<std::shared_mutex> alive(modules_alive_);
  std::vector<NativeModule*> modules;
  {
    std::shared_lock<std::shared_mutex> lock(map_mutex_);
    for (const auto& entry : modules_) modules.push_back(entry.first);
  }
  uint64_t total = sizeof(CodeManager);
  for (const NativeModule* module : modules) {
    total += module->EstimateCurrentMemoryConsumption();
  }
  return total;
}

}  // namespace wasmcache::fast
