#include "reference/native_module.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "reference/code_manager.h"
#include "reference/relocation.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

absl::StatusOr<CompiledCode> PrepareCompiledCode(
    const ModuleInfo& module, const Environment& env, uint32_t index,
    const CodeHeader& header,
    const std::array<absl::Span<const uint8_t>, kNumCodeParts>& parts,
    ForDebugging for_debugging) {
  ParsedFunction fn;
  fn.index = index;
  fn.tag = FunctionTag::kTurboFan;
  fn.header = header;
  fn.parts = parts;
  WASMCACHE_RETURN_IF_ERROR(CheckFunctionCode(module, env, fn, true));
  CompiledCode code;
  code.index = index;
  code.header = header;
  code.parts = parts;
  code.sites = std::move(fn.sites);
  code.for_debugging = for_debugging;
  return code;
}

// --- Lifetime -------------------------------------------------------------

NativeModule::NativeModule(CodeManager* manager, ModuleInfo module,
                           Environment env,
                           std::unique_ptr<CodeSpace> first_space,
                           uint8_t* tables)
    : manager_(manager),
      module_(std::move(module)),
      env_(std::move(env)),
      code_table_(module_.num_declared_functions, nullptr) {
  function_states.assign(module_.num_declared_functions, FunctionState::kLazy);
  tiering_budgets.assign(module_.num_declared_functions, 0);
  Lock lock(mutex_);
  CodeSpaceEntry entry;
  entry.layout = ComputeJumpTableLayout(
      arch(), module_.num_declared_functions,
      static_cast<uint32_t>(env_.far_slot_builtins.size()), true);
  entry.tables = tables;
  entry.space = std::move(first_space);
  manager_->RegisterCodeSpace(*entry.space, this);
  spaces_.push_back(std::move(entry));
  InitializeTablesLocked(spaces_.back(), true);
}

NativeModule::~NativeModule() {
  manager_->FreeNativeModule(this);
  Lock lock(mutex_);
  // The code table holds one reference to each installed code; any other
  // is a WasmCodeRefScope's, which would touch the freed code when it
  // closes. A module must outlive the scopes that hold its code: stop here
  // rather than leave a scope with dangling code.
  for (const auto& [start, code] : owned_code_) {
    const uint32_t declared = code->index() - module_.num_imported_functions;
    const int table_refs =
        declared < code_table_.size() && code_table_[declared] == code.get();
    if (code->ref_count() > table_refs) {
      std::fprintf(stderr,
                   "wasmcache: NativeModule destroyed while a "
                   "WasmCodeRefScope still holds the code of function %u "
                   "(%d references); a module must outlive the scopes "
                   "holding its code\n",
                   code->index(), code->ref_count() - table_refs);
      std::abort();
    }
  }
  owned_code_.clear();
  spaces_.clear();
}

bool NativeModule::mprotect_mode() const {
  return !manager_->MemoryProtectionKeysEnabled();
}

NativeModule::ExecutionScope::ExecutionScope(const NativeModule& module)
    : module_(module) {
  if (module_.mprotect_mode()) module_.code_write_mutex_.lock_shared();
}

NativeModule::ExecutionScope::~ExecutionScope() {
  if (module_.mprotect_mode()) module_.code_write_mutex_.unlock_shared();
}

// --- Code spaces and jump tables -----------------------------------------

absl::Status NativeModule::AddCodeSpaceLocked(uint64_t min_code_size) {
  uint64_t total_reserved = 0;
  for (const CodeSpaceEntry& e : spaces_) total_reserved += e.space->size();
  const uint32_t builtins =
      static_cast<uint32_t>(env_.far_slot_builtins.size());
  WASMCACHE_ASSIGN_OR_RETURN(
      const uint64_t size,
      CodeManager::ReservationSize(arch(), min_code_size,
                                   module_.num_declared_functions, builtins,
                                   total_reserved));
  // No retries here: a pressure callback must not run under module locks.
  const JumpTableLayout layout = ComputeJumpTableLayout(
      arch(), module_.num_declared_functions, builtins, false);
  if (size < layout.total_size + min_code_size) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("%d bytes of code and %d of jump tables exceed the "
                        "%d-byte code space of %s",
                        min_code_size, layout.total_size,
                        traits().max_code_space_size, ArchName(arch())),
        0);
  }
  WASMCACHE_ASSIGN_OR_RETURN(
      std::unique_ptr<CodeSpace> space,
      manager_->ReserveCodeSpace(size, arch(), /*with_retries=*/false));
  CodeSpaceEntry entry;
  entry.layout = layout;
  WASMCACHE_ASSIGN_OR_RETURN(entry.tables, space->Allocate(layout.total_size));
  entry.space = std::move(space);
  manager_->RegisterCodeSpace(*entry.space, this);
  spaces_.push_back(std::move(entry));
  InitializeTablesLocked(spaces_.back(), false);
  return absl::OkStatus();
}

void NativeModule::InitializeTablesLocked(CodeSpaceEntry& entry,
                                          bool with_lazy_table) {
  const ArchTraits& t = traits();
  const JumpTableLayout& layout = entry.layout;
  const uint64_t base = entry.tables_address();
  CodeWriteScope write(manager_->protection(), entry.tables,
                       layout.total_size);
  // Far slots of builtins: the environment's entry points.
  for (uint32_t s = 0; s < layout.num_far_builtin_slots; ++s) {
    const uint64_t offset = layout.FarSlotOffset(t, s);
    WriteFarJumpSlot(arch(), entry.tables + offset, base + offset,
                     env_.BuiltinEntry(s));
  }
  // Far slots of functions jump to themselves until a near slot needs one.
  for (uint32_t i = 0; i < layout.num_far_function_slots; ++i) {
    const uint64_t offset =
        layout.FarSlotOffset(t, layout.num_far_builtin_slots + i);
    WriteFarJumpSlot(arch(), entry.tables + offset, base + offset,
                     base + offset);
  }
  if (with_lazy_table) {
    const uint32_t lazy_builtin_slot = static_cast<uint32_t>(
        std::find(env_.far_slot_builtins.begin(), env_.far_slot_builtins.end(),
                  env_.lazy_compile_builtin) -
        env_.far_slot_builtins.begin());
    const uint64_t lazy_target =
        base + layout.FarSlotOffset(t, lazy_builtin_slot);
    for (uint32_t i = 0; i < module_.num_declared_functions; ++i) {
      const uint64_t offset = layout.LazySlotOffset(t, i);
      const bool ok = WriteLazyCompileSlot(
          arch(), entry.tables + offset, base + offset,
          module_.num_imported_functions + i, lazy_target);
      assert(ok);
      (void)ok;
    }
  }
  for (uint32_t i = 0; i < module_.num_declared_functions; ++i) {
    PatchSlotsLocked(entry, i, FunctionTargetLocked(i));
  }
}

std::unique_lock<std::shared_mutex> NativeModule::LockCodeWrites() const {
  std::unique_lock<std::shared_mutex> exclusive(code_write_mutex_,
                                                std::defer_lock);
  if (mprotect_mode()) exclusive.lock();
  return exclusive;
}

uint64_t NativeModule::lazy_slot_address(uint32_t declared_index) const {
  const CodeSpaceEntry& first = spaces_.front();
  return first.tables_address() +
         first.layout.LazySlotOffset(traits(), declared_index);
}

uint64_t NativeModule::FunctionTargetLocked(uint32_t declared_index) const {
  if (const WasmCode* code = code_table_[declared_index]) {
    return code->instruction_start();
  }
  return lazy_slot_address(declared_index);
}

// Writes go through the caller's write scope.
void NativeModule::PatchSlotsLocked(CodeSpaceEntry& entry,
                                    uint32_t declared_index, uint64_t target) {
  const ArchTraits& t = traits();
  const uint64_t base = entry.tables_address();
  const uint64_t near_offset = entry.layout.NearSlotOffset(t, declared_index);
  const uint64_t near_address = base + near_offset;
  if (WriteNearJumpSlot(arch(), entry.tables + near_offset, near_address,
                        target)) {
    return;
  }
  // Out of near reach: go through this space's far slot of the function.
  assert(entry.layout.num_far_function_slots != 0);
  const uint64_t far_offset = entry.layout.FarSlotOffset(
      t, entry.layout.num_far_builtin_slots + declared_index);
  WriteFarJumpSlot(arch(), entry.tables + far_offset, base + far_offset,
                   target);
  const bool ok = WriteNearJumpSlot(arch(), entry.tables + near_offset,
                                    near_address, base + far_offset);
  assert(ok);
  (void)ok;
}

void NativeModule::PatchAllSpacesLocked(uint32_t declared_index,
                                        uint64_t target,
                                        bool tables_writable) {
  for (CodeSpaceEntry& entry : spaces_) {
    if (tables_writable) {
      PatchSlotsLocked(entry, declared_index, target);
      continue;
    }
    CodeWriteScope write(manager_->protection(), entry.tables,
                         entry.layout.total_size);
    PatchSlotsLocked(entry, declared_index, target);
  }
}

const CodeSpaceEntry* NativeModule::SpaceOf(uint64_t address) const {
  for (const CodeSpaceEntry& entry : spaces_) {
    if (entry.space->Contains(address)) return &entry;
  }
  return nullptr;
}

JumpTablesRef NativeModule::FindJumpTablesForRegion(uint64_t start,
                                                    uint64_t size) const {
  Lock lock(mutex_);
  const uint64_t max_distance = traits().max_code_space_size;
  for (const CodeSpaceEntry& entry : spaces_) {
    const uint64_t tables_start = entry.tables_address();
    const uint64_t tables_end = tables_start + entry.layout.total_size;
    const uint64_t low = std::min(start, tables_start);
    const uint64_t high = std::max(start + size, tables_end);
    if (high - low <= max_distance) return {&entry};
  }
  return {};
}

uint64_t NativeModule::GetNearCallTargetForFunction(
    uint32_t declared_index, const JumpTablesRef& tables) const {
  return tables.space->tables_address() +
         tables.space->layout.NearSlotOffset(traits(), declared_index);
}

uint64_t NativeModule::GetJumpTableEntryForBuiltin(
    uint32_t far_index, const JumpTablesRef& tables) const {
  return tables.space->tables_address() +
         tables.space->layout.FarSlotOffset(traits(), far_index);
}

uint64_t NativeModule::NearCallTargetForFunction(
    uint64_t site, uint32_t declared_index) const {
  const JumpTablesRef tables = FindJumpTablesForRegion(site, 1);
  assert(tables.is_valid());
  return GetNearCallTargetForFunction(declared_index, tables);
}

uint64_t NativeModule::FarSlotForBuiltin(uint64_t site,
                                         uint32_t far_index) const {
  const JumpTablesRef tables = FindJumpTablesForRegion(site, 1);
  assert(tables.is_valid());
  return GetJumpTableEntryForBuiltin(far_index, tables);
}

uint64_t NativeModule::GetCallTargetForFunction(uint32_t declared_index) const {
  Lock lock(mutex_);
  return spaces_.front().tables_address() +
         spaces_.front().layout.NearSlotOffset(traits(), declared_index);
}

std::optional<uint32_t> NativeModule::DeclaredIndexFromNearSlot(
    uint64_t address) const {
  Lock lock(mutex_);
  const CodeSpaceEntry* entry = SpaceOf(address);
  if (entry == nullptr || address < entry->tables_address()) {
    return std::nullopt;
  }
  const uint64_t offset = address - entry->tables_address();
  if (offset >= entry->layout.near_size ||
      !SlotMap<NativeDomain>::IsSlot(NearSlots(traits()), offset,
                                     module_.num_declared_functions)) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(
      SlotMap<NativeDomain>::Index(NearSlots(traits()), offset));
}

std::optional<uint32_t> NativeModule::BuiltinSlotFromFarSlot(
    uint64_t address) const {
  Lock lock(mutex_);
  const CodeSpaceEntry* entry = SpaceOf(address);
  if (entry == nullptr) return std::nullopt;
  const uint64_t start = entry->tables_address() + entry->layout.far_offset;
  if (address < start) return std::nullopt;
  const uint64_t offset = address - start;
  if (!SlotMap<NativeDomain>::IsSlot(FarSlots(traits()), offset,
                                     entry->layout.num_far_builtin_slots)) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(
      SlotMap<NativeDomain>::Index(FarSlots(traits()), offset));
}

std::vector<const CodeSpaceEntry*> NativeModule::code_spaces() const {
  Lock lock(mutex_);
  std::vector<const CodeSpaceEntry*> out;
  for (const CodeSpaceEntry& entry : spaces_) out.push_back(&entry);
  return out;
}

// --- Adding and publishing code ------------------------------------------

absl::StatusOr<uint8_t*> NativeModule::AllocateLocked(uint64_t size) {
  // A space with room may still refuse to commit (the manager's limit):
  // that is the answer, not a reason to reserve another space.
  for (auto it = spaces_.rbegin(); it != spaces_.rend(); ++it) {
    if (it->space->HasRoomFor(size)) return it->space->Allocate(size);
  }
  WASMCACHE_RETURN_IF_ERROR(AddCodeSpaceLocked(size));
  return spaces_.back().space->Allocate(size);
}

void NativeModule::FreeRegionLocked(uint8_t* start, uint64_t size) {
  if (const CodeSpaceEntry* entry =
          SpaceOf(reinterpret_cast<uintptr_t>(start))) {
    entry->space->Free(start, size);
  }
}

void NativeModule::DiscardUnpublished(
    std::vector<std::unique_ptr<WasmCode>>& codes) {
  Lock lock(mutex_);
  for (const auto& code : codes) {
    FreeRegionLocked(code->mutable_instructions(),
                     RoundUp(code->instructions_size(), traits().code_alignment));
  }
  codes.clear();
}

absl::Status NativeModule::RelocateLocked(const CompiledCode& code,
                                          uint8_t* memory) {
  const uint64_t code_address = reinterpret_cast<uintptr_t>(memory);
  const uint64_t size = code.part(CodePart::kInstructions).size();
  // Calls go to the jump tables in reach of the whole code object.
  const CodeSpaceEntry* tables = nullptr;
  for (const CodeSpaceEntry& entry : spaces_) {
    const uint64_t low = std::min(code_address, entry.tables_address());
    const uint64_t high = std::max(code_address + size,
                                   entry.tables_address() +
                                       entry.layout.total_size);
    if (high - low <= traits().max_code_space_size) {
      tables = &entry;
      break;
    }
  }
  if (tables == nullptr) {
    return InternalError(section::kCodeSpace,
                         "no jump table in reach of the code", 0);
  }
  const JumpTablesRef ref{tables};
  const uint32_t imported = module_.num_imported_functions;
  for (const PatchedSite& patched : code.sites) {
    uint64_t target = 0;
    switch (patched.mode) {
      case RelocMode::kWasmCall:
        target = GetNearCallTargetForFunction(
            static_cast<uint32_t>(patched.tag) - imported, ref);
        break;
      case RelocMode::kWasmStubCall:
        target = GetJumpTableEntryForBuiltin(patched.far_slot, ref);
        break;
      case RelocMode::kExternalReference:
        target = env_.ExternalReference(static_cast<uint32_t>(patched.tag));
        break;
      case RelocMode::kWasmCanonicalSigId:
        target = env_.canonical_sig_ids[patched.tag];
        break;
      case RelocMode::kWasmCodePointerTableEntry:
        target = env_.code_pointer_handles[patched.tag - imported];
        break;
      case RelocMode::kInternalReference:
      case RelocMode::kInternalReferenceEncoded:
        target = code_address + patched.tag;
        break;
      default:
        return InternalError(section::kCodeSpace, "unexpected site", 0);
    }
    if (!WriteTarget(arch(), memory, code_address, patched.site, target)) {
      return InternalError(
          section::kCodeSpace,
          absl::StrFormat("%s at pc 0x%x cannot reach 0x%x",
                          RelocModeName(patched.mode), patched.site.pc,
                          target),
          code.file_offset + patched.site.field_offset);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::unique_ptr<WasmCode>>>
NativeModule::AddCompiledCode(absl::Span<const CompiledCode> batch) {
  const uint64_t alignment = traits().code_alignment;
  const uint64_t half_space = traits().max_code_space_size / 2;
  uint64_t total = 0;
  for (const CompiledCode& code : batch) {
    const uint64_t size =
        RoundUp(code.part(CodePart::kInstructions).size(), alignment);
    if (code.part(CodePart::kInstructions).empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "code space: function %d has no instructions", code.index));
    }
    if (size > half_space) {
      return LimitError(
          section::kCodeSpace,
          absl::StrFormat("function %d has %d bytes of code, over half the "
                          "%d-byte code space",
                          code.index, size, traits().max_code_space_size),
          code.file_offset);
    }
    total += size;
  }
  std::vector<std::unique_ptr<WasmCode>> result;
  if (batch.empty()) return result;
  if (total > half_space && batch.size() > 1) {
    // Split so that each part fits a code space, as V8 does.
    const size_t half = batch.size() / 2;
    WASMCACHE_ASSIGN_OR_RETURN(result, AddCompiledCode(batch.first(half)));
    absl::StatusOr<std::vector<std::unique_ptr<WasmCode>>> rest =
        AddCompiledCode(batch.subspan(half));
    if (!rest.ok()) {
      // Nothing of a failed batch stays allocated.
      DiscardUnpublished(result);
      return rest.status();
    }
    for (auto& code : *rest) result.push_back(std::move(code));
    return result;
  }
  const auto writes = LockCodeWrites();
  Lock lock(mutex_);
  WASMCACHE_ASSIGN_OR_RETURN(uint8_t* const region, AllocateLocked(total));
  CodeWriteScope write(manager_->protection(), region, total);
  uint64_t offset = 0;
  for (const CompiledCode& code : batch) {
    const absl::Span<const uint8_t> bytes = code.part(CodePart::kInstructions);
    uint8_t* memory = region + offset;
    std::memcpy(memory, bytes.data(), bytes.size());
    if (absl::Status status = RelocateLocked(code, memory); !status.ok()) {
      FreeRegionLocked(region, total);
      return status;
    }
    std::array<std::vector<uint8_t>, kNumCodeParts> parts;
    for (int p = 0; p < kNumCodeParts; ++p) {
      if (p == static_cast<int>(CodePart::kInstructions)) continue;
      parts[p].assign(code.parts[p].begin(), code.parts[p].end());
    }
    CodeHeader header = code.header;
    header.instructions_size = static_cast<int32_t>(bytes.size());
    result.push_back(std::make_unique<WasmCode>(this, code.index, header,
                                                memory, std::move(parts),
                                                code.for_debugging));
    offset += RoundUp(bytes.size(), alignment);
  }
  // Unused tail of the region (rounding) stays allocated with the batch.
  return result;
}

WasmCode* NativeModule::PublishLocked(std::unique_ptr<WasmCode> code,
                                      std::vector<WasmCode*>& dropped,
                                      bool tables_writable) {
  const uint32_t declared = code->index() - module_.num_imported_functions;
  WasmCode* raw = code.get();
  owned_code_[raw->instruction_start()] = std::move(code);
  generated_code_size_ += raw->instructions_size();
  WasmCode* prior = code_table_[declared];
  // Keep higher-tier code unless debugging is involved.
  if (prior != nullptr && !prior->for_debugging() && !raw->for_debugging() &&
      prior->tier() > raw->tier()) {
    dropped.push_back(raw);
    return nullptr;
  }
  code_table_[declared] = raw;
  // Liftoff code is what an eager record stands for.
  function_states[declared] =
      raw->is_turbofan() ? FunctionState::kTurboFan : FunctionState::kEager;
  PatchAllSpacesLocked(declared, raw->instruction_start(), tables_writable);
  if (prior != nullptr) dropped.push_back(prior);
  return raw;
}

WasmCode* NativeModule::PublishCode(std::unique_ptr<WasmCode> code) {
  std::vector<std::unique_ptr<WasmCode>> codes;
  codes.push_back(std::move(code));
  return PublishCode(std::move(codes)).front();
}

std::vector<WasmCode*> NativeModule::PublishCode(
    std::vector<std::unique_ptr<WasmCode>> codes) {
  std::vector<WasmCode*> published;
  std::vector<WasmCode*> dropped;
  {
    const auto writes = LockCodeWrites();
    Lock lock(mutex_);
    // One write window per space's tables for the whole batch (a window per
    // function would change the protection of every table page each time).
    std::vector<std::unique_ptr<CodeWriteScope>> windows;
    for (CodeSpaceEntry& entry : spaces_) {
      windows.push_back(std::make_unique<CodeWriteScope>(
          manager_->protection(), entry.tables, entry.layout.total_size));
    }
    for (auto& code : codes) {
      published.push_back(PublishLocked(std::move(code), dropped,
                                        /*tables_writable=*/true));
    }
  }
  // Replaced code stays alive while a scope of this thread holds it.
  for (WasmCode* code : dropped) {
    WasmCodeRefScope::AddRef(code);
    code->DecRef();
  }
  return published;
}

size_t NativeModule::RemoveCompiledCode(RemoveFilter filter) {
  std::vector<WasmCode*> removed;
  {
    const auto writes = LockCodeWrites();
    Lock lock(mutex_);
    std::vector<std::unique_ptr<CodeWriteScope>> windows;
    for (CodeSpaceEntry& entry : spaces_) {
      windows.push_back(std::make_unique<CodeWriteScope>(
          manager_->protection(), entry.tables, entry.layout.total_size));
    }
    for (uint32_t i = 0; i < code_table_.size(); ++i) {
      WasmCode* code = code_table_[i];
      if (code == nullptr) continue;
      bool matches = false;
      switch (filter) {
        case RemoveFilter::kRemoveDebugCode:
          matches = code->for_debugging();
          break;
        case RemoveFilter::kRemoveNonDebugCode:
          matches = !code->for_debugging();
          break;
        case RemoveFilter::kRemoveLiftoffCode:
          matches = code->is_liftoff();
          break;
        case RemoveFilter::kRemoveTurbofanCode:
          matches = code->is_turbofan();
          break;
      }
      if (!matches) continue;
      code_table_[i] = nullptr;
      function_states[i] = FunctionState::kLazy;
      PatchAllSpacesLocked(i, lazy_slot_address(i), /*tables_writable=*/true);
      removed.push_back(code);
    }
  }
  for (WasmCode* code : removed) {
    WasmCodeRefScope::AddRef(code);
    code->DecRef();
  }
  return removed.size();
}

// --- Lookup ----------------------------------------------------------------

WasmCode* NativeModule::GetCode(uint32_t declared_index) const {
  Lock lock(mutex_);
  WasmCode* code = code_table_[declared_index];
  if (code != nullptr) WasmCodeRefScope::AddRef(code);
  return code;
}

bool NativeModule::HasCode(uint32_t declared_index) const {
  Lock lock(mutex_);
  return code_table_[declared_index] != nullptr;
}

WasmCode* NativeModule::Lookup(uint64_t pc) const {
  Lock lock(mutex_);
  auto it = owned_code_.upper_bound(pc);
  if (it == owned_code_.begin()) return nullptr;
  --it;
  return it->second->contains(pc) ? it->second.get() : nullptr;
}

// --- Freeing -------------------------------------------------------------

void NativeModule::OnCodeDead(WasmCode* code) {
  manager_->FreeDeadCode(this, code);
}

bool NativeModule::FreeCodeLocked(WasmCode* code) {
  Lock lock(mutex_);
  // A lookup may have revived the code since its count reached zero.
  if (code->ref_count() != 0) return false;
  auto it = owned_code_.find(code->instruction_start());
  if (it == owned_code_.end() || it->second.get() != code) return false;
  const uint64_t size = code->instructions_size();
  uint8_t* start = code->mutable_instructions();
  FreeRegionLocked(start, RoundUp(size, traits().code_alignment));
  generated_code_size_ -= size;
  freed_code_size_ += size;
  owned_code_.erase(it);
  return true;
}

// --- Statistics ------------------------------------------------------------

uint64_t NativeModule::generated_code_size() const {
  Lock lock(mutex_);
  return generated_code_size_;
}

uint64_t NativeModule::freed_code_size() const {
  Lock lock(mutex_);
  return freed_code_size_;
}

uint64_t NativeModule::reserved_code_space() const {
  Lock lock(mutex_);
  uint64_t total = 0;
  for (const CodeSpaceEntry& e : spaces_) total += e.space->size();
  return total;
}

uint64_t NativeModule::committed_code_space() const {
  Lock lock(mutex_);
  uint64_t total = 0;
  for (const CodeSpaceEntry& e : spaces_) total += e.space->committed_bytes();
  return total;
}

size_t NativeModule::num_owned_code() const {
  Lock lock(mutex_);
  return owned_code_.size();
}

uint64_t NativeModule::EstimateCurrentMemoryConsumption() const {
  uint64_t total = CodeManager::EstimateNativeModuleMetaDataSize(module_);
  Lock lock(mutex_);
  for (const auto& [start, code] : owned_code_) {
    total += sizeof(WasmCode);
    for (int p = 0; p < kNumCodeParts; ++p) {
      total += code->part(static_cast<CodePart>(p)).capacity();
    }
  }
  for (const CodeSpaceEntry& e : spaces_) total += e.space->committed_bytes();
  return total;
}

}  // namespace wasmcache::reference
