#include "fast/module.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::fast {
namespace {

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

uint64_t PageSize() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

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

// --- NativeModule ----------------------------------------------------------

NativeModule::NativeModule(CodeManager* manager, ModuleInfo module,
                           Environment env)
    : manager_(manager), module_(std::move(module)), env_(std::move(env)) {}

NativeModule::~NativeModule() {
  if (registered_) manager_->Unregister(this);
  uint64_t committed = 0, reserved = 0;
  for (const CodeSpaceInfo& s : spaces_) {
    munmap(s.base, s.size);
    committed += AlignUp(s.used, PageSize());
    reserved += s.size;
  }
  manager_->Release(committed, reserved);
}

const CodeSpaceInfo* NativeModule::SpaceOf(uint64_t address) const {
  for (const CodeSpaceInfo& s : spaces_) {
    if (s.contains(address)) return &s;
  }
  return nullptr;
}

const WasmCode* NativeModule::Lookup(uint64_t pc) const {
  const WasmCode* code = nullptr;
  if (by_address_.empty()) {
    const WasmCode* begin = codes_.get();
    const WasmCode* it = std::upper_bound(
        begin, begin + num_codes_, pc, [](uint64_t p, const WasmCode& c) {
          return p < c.instruction_start();
        });
    if (it == begin) return nullptr;
    code = it - 1;
  } else {
    auto it = std::upper_bound(
        by_address_.begin(), by_address_.end(), pc,
        [](uint64_t p, const std::pair<uint64_t, uint32_t>& e) {
          return p < e.first;
        });
    if (it == by_address_.begin()) return nullptr;
    code = &codes_[(it - 1)->second];
  }
  return code->contains(pc) ? code : nullptr;
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
  const CodeSpaceInfo& first = spaces_.front();
  return first.start() + first.lazy_offset +
         uint64_t{declared_index} * traits().lazy_compile_slot_size;
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

uint64_t NativeModule::reserved_code_space() const {
  uint64_t total = 0;
  for (const CodeSpaceInfo& s : spaces_) total += s.size;
  return total;
}

uint64_t NativeModule::committed_code_space() const {
  uint64_t total = 0;
  for (const CodeSpaceInfo& s : spaces_) total += AlignUp(s.used, PageSize());
  return total;
}

uint64_t NativeModule::EstimateCurrentMemoryConsumption() const {
  return sizeof(*this) + num_codes_ * sizeof(WasmCode) +
         by_address_.size() * sizeof(by_address_[0]) +
         code_of_declared_.size() * sizeof(int32_t) +
         function_states_.size() * sizeof(FunctionState) +
         tiering_budgets_.size() * sizeof(uint32_t) + metadata_size_ +
         committed_code_space();
}

// --- CodeManager -----------------------------------------------------------

CodeManager::CodeManager(CodeManagerOptions options) : options_(options) {}
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

bool CodeManager::Commit(uint64_t bytes) {
  uint64_t now = committed_.load();
  do {
    if (bytes > options_.max_committed_code_space ||
        now > options_.max_committed_code_space - bytes) {
      return false;
    }
  } while (!committed_.compare_exchange_weak(now, now + bytes));
  return true;
}

void CodeManager::Release(uint64_t committed, uint64_t reserved) {
  committed_.fetch_sub(committed);
  reserved_.fetch_sub(reserved);
}

void CodeManager::Register(NativeModule* module) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  for (const CodeSpaceInfo& s : module->spaces_) {
    spaces_[s.start()] = Range{s.start() + s.size, module};
  }
  ++num_modules_;
  module->registered_ = true;
}

void CodeManager::Unregister(NativeModule* module) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  for (const CodeSpaceInfo& s : module->spaces_) spaces_.erase(s.start());
  --num_modules_;
}

NativeModule* CodeManager::LookupNativeModule(uint64_t pc) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = spaces_.upper_bound(pc);
  if (it == spaces_.begin()) return nullptr;
  --it;
  return pc < it->second.end ? it->second.module : nullptr;
}

const WasmCode* CodeManager::LookupCode(uint64_t pc) const {
  NativeModule* module = LookupNativeModule(pc);
  return module == nullptr ? nullptr : module->Lookup(pc);
}

std::pair<const WasmCode*, SafepointHit> CodeManager::LookupCodeAndSafepoint(
    uint64_t pc) const {
  const WasmCode* code = LookupCode(pc);
  if (code == nullptr) return {nullptr, SafepointHit{}};
  return {code, FindSafepoint(code->instructions().data(), code->header(),
                              code->native_module()->arch(),
                              static_cast<uint32_t>(pc -
                                                    code->instruction_start()))};
}

size_t CodeManager::num_code_spaces() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return spaces_.size();
}

size_t CodeManager::num_native_modules() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return num_modules_;
}

}  // namespace wasmcache::fast
