// Changing a module after it is made: new modules, adding, publishing,
// replacing, removing and freeing code (fast/module.h).

#include <cstring>
#include <new>

#include "absl/strings/str_format.h"
#include "fast/analyze.h"
#include "fast/module.h"
#include "fast/tables.h"
#include "spec/errors.h"

namespace wasmcache::fast {
namespace {

uint32_t PartSize(const CodeHeader& h, int part) {
  return static_cast<uint32_t>(h.*kCodePartSizes[part]);
}

// One write window per code space's tables, for a whole batch of patches.
class TableWindows {
 public:
  TableWindows(const CodeProtection& protection,
               const std::vector<CodeSpaceInfo>& spaces) {
    windows_.reserve(spaces.size());
    for (const CodeSpaceInfo& s : spaces) {
      windows_.push_back(
          std::make_unique<CodeWriteScope>(protection, s.base, s.tables_end));
    }
  }

 private:
  std::vector<std::unique_ptr<CodeWriteScope>> windows_;
};

// Drops the references a change took out of the table; the calling thread's
// open scope, if any, keeps the code alive until it closes.
void DropReferences(const std::vector<WasmCode*>& codes) {
  for (WasmCode* code : codes) {
    WasmCodeRefScope::AddRef(code);
    code->DecRef();
  }
}

// A reservation whose tables were just allocated, as a module's space.
CodeSpaceInfo MakeSpace(std::unique_ptr<CodeSpace> memory,
                      const TableLayout& tables, bool with_lazy) {
  CodeSpaceInfo space;
  space.base = memory->base();
  space.size = memory->size();
  space.used = tables.end;
  PlaceTables(space, tables, with_lazy);
  space.memory = std::move(memory);
  return space;
}

}  // namespace

absl::StatusOr<CompiledCode> PrepareCompiledCode(
    const ModuleInfo& module, const Environment& env, uint32_t index,
    const CodeHeader& header,
    const std::array<absl::Span<const uint8_t>, kNumCodeParts>& parts,
    ForDebugging for_debugging) {
  WASMCACHE_RETURN_IF_ERROR(ValidateEnvironment(env, module));
  if (index < module.num_imported_functions ||
      index >= module.num_functions()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "code: function %d is not a declared function", index));
  }
  WASMCACHE_RETURN_IF_ERROR(
      CheckCodeHeader(header, 0, TraitsOf(env.arch), /*allow_liftoff=*/true));
  for (int p = 0; p < kNumCodeParts; ++p) {
    if (parts[p].size() != PartSize(header, p)) {
      return MalformedError(
          section::kCodeHeader,
          absl::StrFormat("%s holds %d bytes but the header says %d",
                          kCodePartNames[p], parts[p].size(),
                          PartSize(header, p)),
          0);
    }
  }
  CompiledCode code;
  const AnalysisContext ctx(module, env);
  const FunctionCode fn{&header,
                        parts[static_cast<int>(CodePart::kInstructions)].data(),
                        parts[static_cast<int>(CodePart::kRelocInfo)].data(),
                        0, PartSize(header, 0)};
  WASMCACHE_RETURN_IF_ERROR(AnalyzeFunction(ctx, fn, code.sites));
  code.index = index;
  code.header = header;
  code.parts = parts;
  code.for_debugging = for_debugging;
  return code;
}

// --- Spaces ------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<NativeModule>> CodeManager::NewNativeModule(
    ModuleInfo module, Environment env, uint64_t code_size_estimate) {
  WASMCACHE_RETURN_IF_ERROR(ValidateEnvironment(env, module));
  HandleMemoryPressure();
  const ArchTraits& t = TraitsOf(env.arch);
  const uint32_t n = module.num_declared_functions;
  const auto builtins = static_cast<uint32_t>(env.far_slot_builtins.size());
  const TableLayout first = TablesOf(t, n, builtins, /*with_lazy=*/true);
  const uint64_t lazy_table =
      first.end - OverheadPerCodeSpace(env.arch, n, builtins);
  WASMCACHE_ASSIGN_OR_RETURN(
      const uint64_t size,
      ReservationSize(env.arch, code_size_estimate + lazy_table, n, builtins,
                      0));
  if (size < first.end) {
    return LimitError(section::kCodeSpace,
                      "jump tables do not fit the code space", 0);
  }
  WASMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<CodeSpace> memory,
                             ReserveCodeSpace(size, env.arch, true));
  // The committed-space limit may refuse even the tables.
  WASMCACHE_RETURN_IF_ERROR(memory->Allocate(first.end).status());
  std::unique_ptr<NativeModule> m(
      new NativeModule(this, std::move(module), std::move(env)));
  m->function_states_.assign(n, FunctionState::kLazy);
  m->tiering_budgets_.assign(n, 0);
  m->module_header_.well_known_imports.assign(
      m->module_.num_imported_functions, 0);
  CodeSpaceInfo space = MakeSpace(std::move(memory), first, /*with_lazy=*/true);
  reserved_.fetch_add(space.size);
  {
    std::unique_lock<std::shared_mutex> lock(m->mutex_);
    m->spaces_.push_back(std::move(space));
    m->InitializeSpaceLocked(m->spaces_.back());
  }
  Register(m.get());
  return m;
}

void NativeModule::InitializeSpaceLocked(CodeSpaceInfo& space) {
  CodeWriteScope write(manager_->protection(), space.base, space.tables_end);
  WriteTables(*this, OpsOf(arch()), space,
              [this](uint32_t i) { return TargetLocked(i); });
}

uint64_t NativeModule::TargetLocked(uint32_t declared_index) const {
  const WasmCode* code = table_[declared_index];
  return code != nullptr ? code->instruction_start() : lazy_slot(declared_index);
}

absl::Status NativeModule::AddSpaceLocked(uint64_t min_code_size) {
  uint64_t total_reserved = 0;
  for (const CodeSpaceInfo& s : spaces_) total_reserved += s.size;
  const uint32_t n = module_.num_declared_functions;
  const auto builtins = static_cast<uint32_t>(env_.far_slot_builtins.size());
  WASMCACHE_ASSIGN_OR_RETURN(
      const uint64_t size,
      CodeManager::ReservationSize(arch(), min_code_size, n, builtins,
                                   total_reserved));
  const TableLayout tables = TablesOf(traits(), n, builtins, false);
  if (size < tables.end + min_code_size) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("%d bytes of code and %d of jump tables exceed the "
                        "%d-byte code space of %s",
                        min_code_size, tables.end,
                        traits().max_code_space_size, ArchName(arch())),
        0);
  }
  // No retries: the pressure callback must not run under a module's lock.
  WASMCACHE_ASSIGN_OR_RETURN(
      std::unique_ptr<CodeSpace> memory,
      manager_->ReserveCodeSpace(size, arch(), /*with_retries=*/false));
  WASMCACHE_RETURN_IF_ERROR(memory->Allocate(tables.end).status());
  CodeSpaceInfo space =
      MakeSpace(std::move(memory), tables, /*with_lazy=*/false);
  manager_->reserved_.fetch_add(space.size);
  spaces_.push_back(std::move(space));
  manager_->RegisterSpace(this, spaces_.back());
  InitializeSpaceLocked(spaces_.back());
  return absl::OkStatus();
}

absl::StatusOr<uint8_t*> NativeModule::AllocateLocked(uint64_t size) {
  // Newest space first. A space with room that cannot commit (the
  // manager's limit) gives the answer; another space would not help.
  for (auto it = spaces_.rbegin(); it != spaces_.rend(); ++it) {
    if (it->memory->HasRoomFor(size)) return it->memory->Allocate(size);
  }
  WASMCACHE_RETURN_IF_ERROR(AddSpaceLocked(size));
  return spaces_.back().memory->Allocate(size);
}

void NativeModule::FreeRegionLocked(uint8_t* start, uint64_t size) {
  for (CodeSpaceInfo& s : spaces_) {
    if (s.contains(reinterpret_cast<uintptr_t>(start))) {
      s.memory->Free(start, size);
      return;
    }
  }
}

// --- Adding ------------------------------------------------------------------

absl::Status NativeModule::RelocateLocked(const AnalysisContext& ctx,
                                          const CompiledCode& code,
                                          uint8_t* memory) const {
  const uint64_t address = reinterpret_cast<uintptr_t>(memory);
  const uint64_t size = code.part(CodePart::kInstructions).size();
  const CodeSpaceInfo* tables = FindJumpTablesForRegion(address, size);
  if (tables == nullptr) {
    return InternalError(section::kCodeSpace,
                         "no jump table in reach of the code",
                         code.file_offset);
  }
  return RelocateSites(ctx, memory, address, code.sites,
                       tables->start() + tables->near_offset,
                       tables->start() + tables->far_offset, code.file_offset);
}

absl::StatusOr<std::vector<std::unique_ptr<WasmCode>>>
NativeModule::AddCompiledCode(absl::Span<const CompiledCode> batch) {
  const uint64_t alignment = traits().code_alignment;
  const uint64_t half_space = traits().max_code_space_size / 2;
  uint64_t total = 0;
  for (const CompiledCode& code : batch) {
    const uint64_t bytes = code.part(CodePart::kInstructions).size();
    if (bytes == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "code space: function %d has no instructions", code.index));
    }
    if (AlignUp(bytes, alignment) > half_space) {
      return LimitError(
          section::kCodeSpace,
          absl::StrFormat("function %d has %d bytes of code, over half the "
                          "%d-byte code space",
                          code.index, AlignUp(bytes, alignment),
                          traits().max_code_space_size),
          code.file_offset);
    }
    total += AlignUp(bytes, alignment);
  }
  if (total <= half_space || batch.size() < 2) return AddBatch(batch, total);
  // Halves until each part fits a code space, as V8 does.
  const size_t half = batch.size() / 2;
  WASMCACHE_ASSIGN_OR_RETURN(auto added, AddCompiledCode(batch.first(half)));
  auto rest = AddCompiledCode(batch.subspan(half));
  if (!rest.ok()) {
    Discard(added);  // nothing of a failed batch stays allocated
    return rest.status();
  }
  added.reserve(added.size() + rest->size());
  for (auto& code : *rest) added.push_back(std::move(code));
  return added;
}

absl::StatusOr<std::vector<std::unique_ptr<WasmCode>>> NativeModule::AddBatch(
    absl::Span<const CompiledCode> batch, uint64_t total) {
  std::vector<std::unique_ptr<WasmCode>> added;
  if (batch.empty()) return added;
  const AnalysisContext ctx(module_, env_);
  const uint64_t alignment = traits().code_alignment;
  const auto writes = LockCodeWrites();
  Exclusive lock(mutex_);
  WASMCACHE_ASSIGN_OR_RETURN(uint8_t* const region, AllocateLocked(total));
  CodeWriteScope write(manager_->protection(), region, total);
  added.reserve(batch.size());
  uint8_t* at = region;
  for (const CompiledCode& code : batch) {
    const absl::Span<const uint8_t> bytes = code.part(CodePart::kInstructions);
    std::memcpy(at, bytes.data(), bytes.size());
    if (absl::Status st = RelocateLocked(ctx, code, at); !st.ok()) {
      FreeRegionLocked(region, total);
      return st;
    }
    // The object and its parts 1..5 in one allocation.
    uint64_t metadata = 0;
    for (int p = 1; p < kNumCodeParts; ++p) metadata += code.parts[p].size();
    void* storage = ::operator new(sizeof(WasmCode) + metadata);
    std::unique_ptr<WasmCode> made(new (storage) WasmCode);
    uint8_t* parts = static_cast<uint8_t*>(storage) + sizeof(WasmCode);
    made->module_ = this;
    made->index_ = code.index;
    made->header_ = code.header;
    made->header_.instructions_size = static_cast<int32_t>(bytes.size());
    made->instructions_ = at;
    made->metadata_ = parts;
    made->for_debugging_ = code.for_debugging;
    for (int p = 1; p < kNumCodeParts; ++p) {
      if (code.parts[p].empty()) continue;
      std::memcpy(parts, code.parts[p].data(), code.parts[p].size());
      parts += code.parts[p].size();
    }
    added.push_back(std::move(made));
    at += AlignUp(bytes.size(), alignment);
  }
  return added;
}

void NativeModule::Discard(std::vector<std::unique_ptr<WasmCode>>& codes) {
  Exclusive lock(mutex_);
  for (const auto& code : codes) {
    FreeRegionLocked(code->mutable_instructions(), code->instructions_size());
  }
  codes.clear();
}

// --- Publishing and removing ---------------------------------------------------

WasmCode* NativeModule::PublishCode(std::unique_ptr<WasmCode> code) {
  std::vector<std::unique_ptr<WasmCode>> one;
  one.push_back(std::move(code));
  return PublishCode(std::move(one)).front();
}

std::vector<WasmCode*> NativeModule::PublishCode(
    std::vector<std::unique_ptr<WasmCode>> codes) {
  std::vector<WasmCode*> installed;
  std::vector<WasmCode*> unreferenced;
  {
    const auto writes = LockCodeWrites();
    Exclusive lock(mutex_);
    const TableWindows windows(manager_->protection(), spaces_);
    const ArchOps& ops = OpsOf(arch());
    installed.reserve(codes.size());
    for (std::unique_ptr<WasmCode>& owned : codes) {
      WasmCode* code = owned.get();
      const uint32_t declared = code->index() - module_.num_imported_functions;
      added_[code->instruction_start()] = std::move(owned);
      generated_code_size_ += code->instructions_size();
      WasmCode* prior = table_[declared];
      // Higher-tier code stays unless debugging is involved.
      if (prior != nullptr && !prior->for_debugging() &&
          !code->for_debugging() && prior->tier() > code->tier()) {
        unreferenced.push_back(code);
        installed.push_back(nullptr);
        continue;
      }
      table_[declared] = code;
      // Liftoff code is what an eager record stands for.
      function_states_[declared] = code->is_turbofan()
                                       ? FunctionState::kTurboFan
                                       : FunctionState::kEager;
      for (const CodeSpaceInfo& s : spaces_) {
        WriteFunctionSlot(*this, ops, s, declared, code->instruction_start());
      }
      if (prior != nullptr) unreferenced.push_back(prior);
      installed.push_back(code);
    }
  }
  DropReferences(unreferenced);
  return installed;
}

size_t NativeModule::RemoveCompiledCode(RemoveFilter filter) {
  auto matches = [filter](const WasmCode& code) {
    switch (filter) {
      case RemoveFilter::kRemoveDebugCode:
        return code.for_debugging();
      case RemoveFilter::kRemoveNonDebugCode:
        return !code.for_debugging();
      case RemoveFilter::kRemoveLiftoffCode:
        return code.is_liftoff();
      case RemoveFilter::kRemoveTurbofanCode:
        return code.is_turbofan();
    }
    return false;
  };
  std::vector<WasmCode*> removed;
  {
    const auto writes = LockCodeWrites();
    Exclusive lock(mutex_);
    const TableWindows windows(manager_->protection(), spaces_);
    const ArchOps& ops = OpsOf(arch());
    for (uint32_t i = 0; i < table_.size(); ++i) {
      WasmCode* code = table_[i];
      if (code == nullptr || !matches(*code)) continue;
      table_[i] = nullptr;
      function_states_[i] = FunctionState::kLazy;
      for (const CodeSpaceInfo& s : spaces_) {
        WriteFunctionSlot(*this, ops, s, i, lazy_slot(i));
      }
      removed.push_back(code);
    }
  }
  DropReferences(removed);
  return removed.size();
}

// --- Freeing -------------------------------------------------------------------

void NativeModule::OnCodeDead(WasmCode* code) {
  manager_->FreeDeadCode(this, code);
}

bool NativeModule::FreeCodeLocked(WasmCode* code) {
  Exclusive lock(mutex_);
  // A lookup may have taken a reference since the count reached zero.
  if (code->ref_count() != 0) return false;
  const uint32_t size = code->instructions_size();
  if (IsLoaded(code)) {
    if (code->freed_) return false;
    code->freed_ = true;
    ++freed_loaded_;
    FreeRegionLocked(code->mutable_instructions(), size);
  } else {
    auto it = added_.find(code->instruction_start());
    if (it == added_.end() || it->second.get() != code) return false;
    FreeRegionLocked(code->mutable_instructions(), size);
    added_.erase(it);
  }
  generated_code_size_ -= size;
  freed_code_size_ += size;
  return true;
}

}  // namespace wasmcache::fast
