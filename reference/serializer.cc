#include "reference/serializer.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "reference/byte_io.h"
#include "reference/reloc_stream.h"
#include "reference/relocation.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

// Reverse maps from real values back to tags.
struct TagMaps {
  absl::flat_hash_map<uint32_t, uint32_t> type_of_canonical_id;
  absl::flat_hash_map<uint32_t, uint32_t> function_of_handle;
  absl::flat_hash_map<uint64_t, uint32_t> external_reference_of_address;
};

TagMaps BuildTagMaps(const NativeModule& m) {
  TagMaps maps;
  const Environment& env = m.env();
  for (uint32_t t = 0; t < m.module().num_types(); ++t) {
    if (!m.module().is_signature[t]) continue;
    // The first (smallest) type index wins, as in V8.
    maps.type_of_canonical_id.emplace(env.canonical_sig_ids[t], t);
  }
  for (uint32_t i = 0; i < env.num_external_references; ++i) {
    maps.external_reference_of_address.emplace(env.ExternalReference(i), i);
  }
  for (uint32_t i = 0; i < env.code_pointer_handles.size(); ++i) {
    maps.function_of_handle.emplace(env.code_pointer_handles[i],
                                    m.module().num_imported_functions + i);
  }
  return maps;
}

absl::StatusOr<uint64_t> TagForTarget(const NativeModule& m,
                                      const TagMaps& maps, RelocMode mode,
                                      uint64_t target, const WasmCode& code) {
  const Environment& env = m.env();
  switch (mode) {
    case RelocMode::kWasmCall:
      if (auto slot = m.DeclaredIndexFromNearSlot(target)) {
        return uint64_t{m.module().num_imported_functions} + *slot;
      }
      break;
    case RelocMode::kWasmStubCall:
      if (auto slot = m.BuiltinSlotFromFarSlot(target)) {
        return env.far_slot_builtins[*slot];
      }
      break;
    case RelocMode::kExternalReference: {
      auto it = maps.external_reference_of_address.find(target);
      if (it != maps.external_reference_of_address.end()) return it->second;
      break;
    }
    case RelocMode::kWasmCanonicalSigId: {
      auto it = maps.type_of_canonical_id.find(static_cast<uint32_t>(target));
      if (target <= 0xffffffff && it != maps.type_of_canonical_id.end()) {
        return it->second;
      }
      break;
    }
    case RelocMode::kWasmCodePointerTableEntry: {
      auto it = maps.function_of_handle.find(static_cast<uint32_t>(target));
      if (target <= 0xffffffff && it != maps.function_of_handle.end()) {
        return it->second;
      }
      break;
    }
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
      if (code.contains(target)) return target - code.instruction_start();
      break;
    default:
      break;
  }
  return InternalError(
      section::kSerializer,
      absl::StrFormat("function %d: %s target 0x%x has no tag", code.index(),
                      RelocModeName(mode), target),
      0);
}

// Writes the instructions of `code` with every site turned back to its tag.
absl::Status WriteInstructions(const NativeModule& m, const TagMaps& maps,
                               const WasmCode& code, ByteWriter& w) {
  const size_t start = w.size();
  w.Bytes(code.instructions());
  uint8_t* out = w.bytes().data() + start;
  const absl::Span<const uint8_t> live = code.instructions();
  WASMCACHE_ASSIGN_OR_RETURN(
      const std::vector<RelocEntry> relocs,
      DecodeRelocStream(code.part(CodePart::kRelocInfo),
                        code.instructions_size(), 0));
  for (const RelocEntry& entry : relocs) {
    if (!IsSerializerPatched(entry.mode)) continue;
    WASMCACHE_ASSIGN_OR_RETURN(
        const Site site,
        LocateSite(m.arch(), live, entry, 0,
                   static_cast<uint32_t>(code.header().constant_pool_offset)));
    const uint64_t target =
        ReadTarget(m.arch(), live.data(), code.instruction_start(), site);
    WASMCACHE_ASSIGN_OR_RETURN(
        const uint64_t tag, TagForTarget(m, maps, entry.mode, target, code));
    if (!WriteTag(m.arch(), out, site, tag)) {
      return InternalError(
          section::kSerializer,
          absl::StrFormat("function %d: tag %d does not fit its site",
                          code.index(), tag),
          0);
    }
  }
  return absl::OkStatus();
}

CodeHeader HeaderOf(const WasmCode& code) {
  CodeHeader h = code.header();
  h.instructions_size = static_cast<int32_t>(code.instructions_size());
  for (int p = 0; p < kNumCodeParts; ++p) {
    if (p == static_cast<int>(CodePart::kInstructions)) continue;
    h.*kCodePartSizes[p] =
        static_cast<int32_t>(code.part(static_cast<CodePart>(p)).size());
  }
  return h;
}

// The TurboFan code of declared function i, or nullptr: only TurboFan code
// is serialized; a function with Liftoff code is written as eager.
const WasmCode* TurboFanCode(const NativeModule& m, uint32_t i) {
  const WasmCode* code = m.GetCode(i);
  return code != nullptr && code->is_turbofan() ? code : nullptr;
}

ModuleHeader ModuleHeaderOf(const NativeModule& m) {
  ModuleHeader h = m.module_header;
  h.total_code_size = 0;
  for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
    if (const WasmCode* code = TurboFanCode(m, i)) {
      h.total_code_size += code->instructions_size();
    }
  }
  return h;
}

}  // namespace

size_t Serializer::Measure() const {
  const NativeModule& m = native_module_;
  const uint32_t word = m.traits().word_size;
  size_t size = MeasureLayout(m.global_header, word) +
                MeasureLayout(ModuleHeaderOf(m), word,
                              size_t{m.module().num_imported_functions});
  for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
    size += 1;  // tag
    if (const WasmCode* code = TurboFanCode(m, i)) {
      const CodeHeader h = HeaderOf(*code);
      size += MeasureLayout(h, word);
      for (int p = 0; p < kNumCodeParts; ++p) {
        size += static_cast<size_t>(h.*kCodePartSizes[p]);
      }
    }
  }
  return size + kTieringBudgetSize * m.module().num_declared_functions;
}

absl::StatusOr<std::vector<uint8_t>> Serializer::Serialize() const {
  const NativeModule& m = native_module_;
  bool any_turbofan = false;
  for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
    any_turbofan |= TurboFanCode(m, i) != nullptr;
  }
  if (!any_turbofan) {
    return absl::FailedPreconditionError(
        FormatError(section::kSerializer, "no TurboFan code to serialize", 0));
  }
  const TagMaps maps = BuildTagMaps(m);
  const size_t expected = Measure();
  ByteWriter w(m.traits().byte_order, m.traits().word_size);
  w.Reserve(expected);
  WriteLayout(w, m.global_header);
  WriteLayout(w, ModuleHeaderOf(m), size_t{m.module().num_imported_functions});
  for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
    const WasmCode* code = TurboFanCode(m, i);
    if (code == nullptr) {
      const bool eager = m.function_states[i] == FunctionState::kEager ||
                         m.HasCode(i);
      w.U8(static_cast<uint8_t>(eager ? FunctionTag::kEager
                                      : FunctionTag::kLazy));
      continue;
    }
    w.U8(static_cast<uint8_t>(FunctionTag::kTurboFan));
    WriteLayout(w, HeaderOf(*code));
    WASMCACHE_RETURN_IF_ERROR(WriteInstructions(m, maps, *code, w));
    for (int p = 0; p < kNumCodeParts; ++p) {
      if (p == static_cast<int>(CodePart::kInstructions)) continue;
      w.Bytes(code->part(static_cast<CodePart>(p)));
    }
  }
  for (uint32_t budget : m.tiering_budgets) w.U32(budget);
  if (w.size() != expected) {
    return InternalError(
        section::kSerializer,
        absl::StrFormat("wrote %d bytes but measured %d", w.size(), expected),
        w.size());
  }
  return w.Release();
}

}  // namespace wasmcache::reference
