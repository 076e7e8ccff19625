#include "equiv/equiv.h"

#include "absl/strings/str_format.h"
#include "fast/arch.h"
#include "fast/deserializer.h"
#include "fast/serializer.h"
#include "reference/cache_parser.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "reference/jump_table.h"
#include "reference/serializer.h"

namespace wasmcache::equiv {
namespace {

const uint8_t* At(uint64_t address) {
  return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(address));
}

// Where a near slot leads: directly, or through a far slot.
template <class ReadNear, class ReadFar>
SlotTarget Resolve(uint64_t slot, uint64_t code, uint64_t lazy,
                   ReadNear read_near, ReadFar read_far) {
  std::optional<uint64_t> target = read_near(slot);
  if (!target.has_value()) return SlotTarget::kElsewhere;
  for (int hop = 0; hop < 2; ++hop) {
    if (code != 0 && *target == code) return SlotTarget::kOwnCode;
    if (*target == lazy) return SlotTarget::kLazySlot;
    target = read_far(*target);
    if (!target.has_value()) return SlotTarget::kElsewhere;
  }
  return SlotTarget::kElsewhere;
}

ModuleSnapshot SnapshotOf(const reference::NativeModule& m,
                          const reference::CodeManager& manager) {
  const Arch arch = m.arch();
  const ArchTraits& t = TraitsOf(arch);
  ModuleSnapshot s;
  s.global_header = m.global_header;
  s.module_header = m.module_header;
  s.tiering_budgets = m.tiering_budgets;
  s.generated_code_size = m.generated_code_size();
  auto read_near = [&](uint64_t slot) -> std::optional<uint64_t> {
    auto r = reference::ReadNearJumpSlotTarget(arch, At(slot), slot);
    if (!r.ok()) return std::nullopt;
    return *r;
  };
  auto read_far = [&](uint64_t slot) -> std::optional<uint64_t> {
    // Only the far tables are read (anything else may be inaccessible).
    bool in_far_table = false;
    for (const reference::CodeSpaceEntry* space : m.code_spaces()) {
      const uint64_t far = space->tables_address() + space->layout.far_offset;
      in_far_table |= slot >= far && slot < far + space->layout.far_size;
    }
    if (!in_far_table) return std::nullopt;
    auto r = reference::ReadFarJumpSlotTarget(arch, At(slot), slot);
    if (!r.ok()) return std::nullopt;
    return *r;
  };
  s.far_slots_ok = true;
  for (const reference::CodeSpaceEntry* space : m.code_spaces()) {
    for (uint32_t b = 0; b < m.env().far_slot_builtins.size(); ++b) {
      const uint64_t at =
          space->tables_address() + space->layout.FarSlotOffset(t, b);
      auto r = read_far(at);
      s.far_slots_ok &= r.has_value() && *r == m.env().BuiltinEntry(b);
    }
  }
  const uint32_t n = m.module().num_declared_functions;
  s.functions.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    FunctionSnapshot& f = s.functions[i];
    f.state = static_cast<uint8_t>(m.function_states[i]);
    const reference::WasmCode* code = m.GetCode(i);
    f.has_code = code != nullptr;
    uint64_t start = 0;
    if (code != nullptr) {
      start = code->instruction_start();
      f.header = code->header();
      for (int p = 1; p < kNumCodeParts; ++p) {
        const auto& part = code->part(static_cast<CodePart>(p));
        f.metadata.insert(f.metadata.end(), part.begin(), part.end());
      }
      f.lookup_ok =
          manager.LookupCode(start) == code &&
          manager.LookupCode(start + code->instructions_size() - 1) == code;
    } else {
      f.lookup_ok = true;
    }
    f.slot = SlotTarget::kLazySlot;
    for (const reference::CodeSpaceEntry* space : m.code_spaces()) {
      const uint64_t slot =
          space->tables_address() + space->layout.NearSlotOffset(t, i);
      const SlotTarget here =
          Resolve(slot, start, m.lazy_slot_address(i), read_near, read_far);
      if (here != (code != nullptr ? SlotTarget::kOwnCode
                                   : SlotTarget::kLazySlot)) {
        f.slot = SlotTarget::kElsewhere;
        break;
      }
      f.slot = here;
    }
  }
  return s;
}

ModuleSnapshot SnapshotOf(const fast::NativeModule& m,
                          const fast::CodeManager& manager) {
  const fast::ArchOps& ops = fast::OpsOf(m.arch());
  ModuleSnapshot s;
  s.global_header = m.global_header();
  s.module_header = m.module_header();
  s.tiering_budgets = m.tiering_budgets();
  s.generated_code_size = m.generated_code_size();
  auto read_near = [&](uint64_t slot) -> std::optional<uint64_t> {
    uint64_t target;
    if (!ops.read_near_slot(At(slot), slot, &target)) return std::nullopt;
    return target;
  };
  auto read_far = [&](uint64_t slot) -> std::optional<uint64_t> {
    // Only the far tables are read (anything else may be inaccessible).
    const uint32_t far_slots = static_cast<uint32_t>(
        m.env().far_slot_builtins.size() +
        (m.traits().far_jumps_between_code_spaces
             ? m.module().num_declared_functions
             : 0));
    bool in_far_table = false;
    for (const fast::CodeSpaceInfo& space : m.code_spaces()) {
      in_far_table |= slot >= m.far_slot(space, 0) &&
                      slot < m.far_slot(space, far_slots);
    }
    if (!in_far_table) return std::nullopt;
    uint64_t target;
    if (!ops.read_far_slot(At(slot), slot, &target)) return std::nullopt;
    return target;
  };
  s.far_slots_ok = true;
  for (const fast::CodeSpaceInfo& space : m.code_spaces()) {
    for (uint32_t b = 0; b < m.env().far_slot_builtins.size(); ++b) {
      auto r = read_far(m.far_slot(space, b));
      s.far_slots_ok &= r.has_value() && *r == m.env().BuiltinEntry(b);
    }
  }
  const uint32_t n = m.module().num_declared_functions;
  s.functions.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    FunctionSnapshot& f = s.functions[i];
    f.state = static_cast<uint8_t>(m.function_state(i));
    const fast::WasmCode* code = m.GetCode(i);
    f.has_code = code != nullptr;
    uint64_t start = 0;
    if (code != nullptr) {
      start = code->instruction_start();
      f.header = code->header();
      for (int p = 1; p < kNumCodeParts; ++p) {
        const auto part = code->part(static_cast<CodePart>(p));
        f.metadata.insert(f.metadata.end(), part.begin(), part.end());
      }
      f.lookup_ok =
          manager.LookupCode(start) == code &&
          manager.LookupCode(start + code->instructions_size() - 1) == code;
    } else {
      f.lookup_ok = true;
    }
    for (const fast::CodeSpaceInfo& space : m.code_spaces()) {
      const SlotTarget here = Resolve(m.near_slot(space, i), start,
                                      m.lazy_slot(i), read_near, read_far);
      if (here != (code != nullptr ? SlotTarget::kOwnCode
                                   : SlotTarget::kLazySlot)) {
        f.slot = SlotTarget::kElsewhere;
        break;
      }
      f.slot = here;
    }
  }
  return s;
}

Difference CompareSnapshots(const ModuleSnapshot& a, const ModuleSnapshot& b) {
  if (!(a.global_header == b.global_header)) return {"global header", ""};
  if (!(a.module_header == b.module_header)) return {"module header", ""};
  if (a.tiering_budgets != b.tiering_budgets) return {"tiering budgets", ""};
  if (a.generated_code_size != b.generated_code_size) {
    return {"generated code size",
            absl::StrFormat("%d vs %d", a.generated_code_size,
                            b.generated_code_size)};
  }
  if (a.far_slots_ok != b.far_slots_ok) return {"far jump-table slots", ""};
  if (a.functions.size() != b.functions.size()) return {"function count", ""};
  for (size_t i = 0; i < a.functions.size(); ++i) {
    const FunctionSnapshot& x = a.functions[i];
    const FunctionSnapshot& y = b.functions[i];
    auto diff = [&](const char* field) -> Difference {
      return {field, absl::StrFormat("declared function %d", i)};
    };
    if (x.state != y.state) return diff("function state");
    if (x.has_code != y.has_code) return diff("has code");
    if (!(x.header == y.header)) return diff("code header");
    if (x.metadata != y.metadata) return diff("metadata parts");
    if (x.slot != y.slot) return diff("jump-table slot target");
    if (x.lookup_ok != y.lookup_ok) return diff("lookup by pc");
  }
  return {};
}

}  // namespace

Outcome RunReference(absl::Span<const uint8_t> cache, const ModuleInfo& module,
                     const Environment& env) {
  Outcome out;
  reference::CodeManager manager;
  auto native = reference::Deserialize(manager, cache, module, env);
  out.status = native.status();
  if (!native.ok()) return out;
  out.snapshot = SnapshotOf(**native, manager);
  auto bytes = reference::Serializer(**native).Serialize();
  if (!bytes.ok()) {
    out.status = bytes.status();
    return out;
  }
  out.serialized = std::move(*bytes);
  return out;
}

Outcome RunFast(absl::Span<const uint8_t> cache, const ModuleInfo& module,
                const Environment& env, const RunOptions& options) {
  Outcome out;
  fast::CodeManager manager;
  fast::LoadOptions load;
  load.max_threads = options.fast_threads;
  load.file_window_bytes = options.fast_file_window_bytes;
  auto native =
      options.fast_from_file.empty()
          ? fast::Deserialize(manager, cache, module, env, load)
          : fast::DeserializeFile(manager, options.fast_from_file, module,
                                  env, load);
  out.status = native.status();
  if (!native.ok()) return out;
  out.snapshot = SnapshotOf(**native, manager);
  auto bytes = fast::Serializer(**native, load).Serialize();
  if (!bytes.ok()) {
    out.status = bytes.status();
    return out;
  }
  out.serialized.assign(bytes->begin(), bytes->end());
  return out;
}

std::string DescribeOffset(absl::Span<const uint8_t> cache,
                           const ModuleInfo& module, const Environment& env,
                           uint64_t offset) {
  auto parsed = reference::ParseCache(cache, module, env);
  if (!parsed.ok()) return absl::StrFormat("offset 0x%x", offset);
  if (offset < kGlobalHeaderSize) return "global header";
  std::string where = "module header";
  for (const auto& fn : parsed->functions) {
    if (offset < fn.record_offset) break;
    where = absl::StrFormat("function %d record", fn.index);
    if (fn.tag != FunctionTag::kTurboFan) continue;
    if (offset >= fn.record_offset + 1) {
      where = absl::StrFormat("function %d code header", fn.index);
    }
    for (int p = 0; p < kNumCodeParts; ++p) {
      if (offset >= fn.part_offsets[p]) {
        where = absl::StrFormat("function %d %s +0x%x", fn.index,
                                kCodePartNames[p],
                                offset - fn.part_offsets[p]);
      }
    }
  }
  if (offset >= parsed->tiering_budgets_offset) where = "tiering budgets";
  return absl::StrFormat("%s (offset 0x%x)", where, offset);
}

std::string Difference::ToString() const {
  if (field.empty()) return "";
  return detail.empty() ? field : field + ": " + detail;
}

Difference CompareOutcomes(const Outcome& reference, const Outcome& fast,
                           const ModuleInfo& module, const Environment& env) {
  if (reference.status.code() != fast.status.code()) {
    return {"status", absl::StrFormat("reference %s, fast %s",
                                      reference.status.ToString(),
                                      fast.status.ToString())};
  }
  if (!reference.status.ok()) return {};
  if (Difference d = CompareSnapshots(reference.snapshot, fast.snapshot);
      !d.empty()) {
    return d;
  }
  const auto& a = reference.serialized;
  const auto& b = fast.serialized;
  const size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    if (a[i] != b[i]) {
      return {"serialized bytes",
              absl::StrFormat("%s: reference 0x%02x, fast 0x%02x",
                              DescribeOffset(a, module, env, i), a[i], b[i])};
    }
  }
  if (a.size() != b.size()) {
    return {"serialized size",
            absl::StrFormat("reference %d, fast %d", a.size(), b.size())};
  }
  return {};
}

std::string Compare(const Outcome& reference, const Outcome& fast,
                    absl::Span<const uint8_t> cache, const ModuleInfo& module,
                    const Environment& env) {
  (void)cache;
  return CompareOutcomes(reference, fast, module, env).ToString();
}

}  // namespace wasmcache::equiv
