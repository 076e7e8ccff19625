#include "reference/native_module.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_format.h"
#include "reference/code_manager.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

NativeModule::NativeModule(CodeManager* manager, ModuleInfo module,
                           Environment env)
    : manager_(manager),
      module_(std::move(module)),
      env_(std::move(env)),
      code_table_(module_.num_declared_functions, nullptr) {
  function_states.assign(module_.num_declared_functions, FunctionState::kLazy);
  tiering_budgets.assign(module_.num_declared_functions, 0);
}

NativeModule::~NativeModule() {
  owned_code_.clear();
  for (const CodeSpaceEntry& entry : spaces_) {
    manager_->UnregisterCodeSpace(*entry.space);
  }
}

absl::Status NativeModule::Initialize(uint64_t code_size_estimate) {
  const JumpTableLayout layout = ComputeJumpTableLayout(
      arch(), module_.num_declared_functions,
      static_cast<uint32_t>(env_.far_slot_builtins.size()), true);
  const uint64_t max = traits().max_code_space_size;
  const uint64_t room = max - std::min(max, layout.total_size);
  return AddCodeSpace(std::min(code_size_estimate, room));
}

absl::Status NativeModule::AddCodeSpace(uint64_t min_code_size) {
  // As in V8, the first space always carries the lazy-compile table.
  const bool with_lazy_table = spaces_.empty();
  const JumpTableLayout layout = ComputeJumpTableLayout(
      arch(), module_.num_declared_functions,
      static_cast<uint32_t>(env_.far_slot_builtins.size()), with_lazy_table);
  const uint64_t max = traits().max_code_space_size;
  if (layout.total_size > max || min_code_size > max - layout.total_size) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("%d bytes of code and %d of jump tables exceed the "
                        "%d-byte code space of %s",
                        min_code_size, layout.total_size, max, ArchName(arch())),
        0);
  }
  const uint64_t size = layout.total_size + min_code_size;
  WASMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<CodeSpace> space,
                             CodeSpace::Reserve(size, traits().code_alignment));
  CodeSpaceEntry entry;
  entry.layout = layout;
  WASMCACHE_ASSIGN_OR_RETURN(entry.tables,
                             space->Allocate(layout.total_size));
  entry.space = std::move(space);
  manager_->RegisterCodeSpace(*entry.space, this);
  spaces_.push_back(std::move(entry));
  InitializeTables(spaces_.back(), with_lazy_table);
  return absl::OkStatus();
}

void NativeModule::InitializeTables(CodeSpaceEntry& entry,
                                    bool with_lazy_table) {
  const ArchTraits& t = traits();
  const JumpTableLayout& layout = entry.layout;
  const uint64_t base = entry.tables_address();
  // Far slots of builtins: synthetic entry points.
  for (uint32_t s = 0; s < layout.num_far_builtin_slots; ++s) {
    const uint64_t offset = layout.FarSlotOffset(t, s);
    WriteFarJumpSlot(arch(), entry.tables + offset, base + offset,
                     env_.builtin_entry_base + uint64_t{s} * 64);
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
    const uint64_t lazy_target = base + layout.FarSlotOffset(t, lazy_builtin_slot);
    for (uint32_t i = 0; i < module_.num_declared_functions; ++i) {
      const uint64_t offset = layout.LazySlotOffset(t, i);
      const bool ok = WriteLazyCompileSlot(arch(), entry.tables + offset,
                                           base + offset,
                                           module_.num_imported_functions + i,
                                           lazy_target);
      assert(ok);
      (void)ok;
    }
  }
  for (uint32_t i = 0; i < module_.num_declared_functions; ++i) {
    PatchSlots(entry, i, FunctionTarget(i));
  }
}

uint64_t NativeModule::lazy_slot_address(uint32_t declared_index) const {
  const CodeSpaceEntry& first = spaces_.front();
  return first.tables_address() +
         first.layout.LazySlotOffset(traits(), declared_index);
}

uint64_t NativeModule::FunctionTarget(uint32_t declared_index) const {
  if (const WasmCode* code = code_table_[declared_index]) {
    return code->instruction_start();
  }
  return lazy_slot_address(declared_index);
}

void NativeModule::PatchSlots(CodeSpaceEntry& entry, uint32_t declared_index,
                              uint64_t target) {
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

absl::StatusOr<uint8_t*> NativeModule::AllocateCode(uint64_t size) {
  for (auto it = spaces_.rbegin(); it != spaces_.rend(); ++it) {
    absl::StatusOr<uint8_t*> block = it->space->Allocate(size);
    if (block.ok()) return block;
  }
  // A new space as large as the last one (capped by the target's maximum),
  // or larger if the object needs it.
  const uint64_t needed = RoundUp(size, traits().code_alignment);
  const uint64_t max = traits().max_code_space_size;
  const uint64_t tables =
      ComputeJumpTableLayout(arch(), module_.num_declared_functions,
                             static_cast<uint32_t>(
                                 env_.far_slot_builtins.size()),
                             false)
          .total_size;
  const uint64_t room = max - std::min(max, tables);
  const uint64_t last = spaces_.empty() ? 0 : spaces_.back().space->size();
  WASMCACHE_RETURN_IF_ERROR(
      AddCodeSpace(std::max(needed, std::min(room, last))));
  return spaces_.back().space->Allocate(size);
}

WasmCode* NativeModule::PublishCode(std::unique_ptr<WasmCode> code) {
  const uint32_t declared = code->index() - module_.num_imported_functions;
  WasmCode* raw = code.get();
  owned_code_[raw->instruction_start()] = std::move(code);
  code_table_[declared] = raw;
  function_states[declared] = FunctionState::kTurboFan;
  for (CodeSpaceEntry& entry : spaces_) {
    PatchSlots(entry, declared, raw->instruction_start());
  }
  return raw;
}

const CodeSpaceEntry* NativeModule::SpaceOf(uint64_t address) const {
  for (const CodeSpaceEntry& entry : spaces_) {
    if (entry.space->Contains(address)) return &entry;
  }
  return nullptr;
}

uint64_t NativeModule::NearCallTargetForFunction(
    uint64_t site, uint32_t declared_index) const {
  const CodeSpaceEntry* entry = SpaceOf(site);
  assert(entry != nullptr);
  return entry->tables_address() +
         entry->layout.NearSlotOffset(traits(), declared_index);
}

uint64_t NativeModule::FarSlotForBuiltin(uint64_t site,
                                         uint32_t far_index) const {
  const CodeSpaceEntry* entry = SpaceOf(site);
  assert(entry != nullptr);
  return entry->tables_address() +
         entry->layout.FarSlotOffset(traits(), far_index);
}

std::optional<uint32_t> NativeModule::DeclaredIndexFromNearSlot(
    uint64_t address) const {
  const CodeSpaceEntry* entry = SpaceOf(address);
  if (entry == nullptr) return std::nullopt;
  const ArchTraits& t = traits();
  const uint64_t offset = address - entry->tables_address();
  if (offset >= entry->layout.near_size) return std::nullopt;
  const uint64_t line = offset / t.jump_table_line_size;
  const uint64_t in_line = offset % t.jump_table_line_size;
  if (in_line % t.jump_table_slot_size != 0) return std::nullopt;
  const uint64_t index =
      line * SlotsPerLine(t) + in_line / t.jump_table_slot_size;
  if (index >= module_.num_declared_functions) return std::nullopt;
  return static_cast<uint32_t>(index);
}

std::optional<uint32_t> NativeModule::BuiltinSlotFromFarSlot(
    uint64_t address) const {
  const CodeSpaceEntry* entry = SpaceOf(address);
  if (entry == nullptr) return std::nullopt;
  const ArchTraits& t = traits();
  const uint64_t start = entry->tables_address() + entry->layout.far_offset;
  if (address < start) return std::nullopt;
  const uint64_t offset = address - start;
  if (offset % t.far_jump_table_slot_size != 0) return std::nullopt;
  const uint64_t index = offset / t.far_jump_table_slot_size;
  if (index >= entry->layout.num_far_builtin_slots) return std::nullopt;
  return static_cast<uint32_t>(index);
}

const WasmCode* NativeModule::Lookup(uint64_t pc) const {
  auto it = owned_code_.upper_bound(pc);
  if (it == owned_code_.begin()) return nullptr;
  --it;
  return it->second->contains(pc) ? it->second.get() : nullptr;
}

}  // namespace wasmcache::reference
