#include "fast/serializer.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "fast/arch.h"
#include "fast/memory.h"
#include "fast/reloc_info.h"
#include "spec/errors.h"

namespace wasmcache::fast {
namespace {

// Faults in a buffer on huge pages before the batches write it, on the
// calling thread. Writers of neighbouring batches would otherwise wait on
// each other's huge-page faults, and so would two threads faulting huge
// pages at once after memory was freed in base pages, as when the
// reference's serialization ran before (measured on the 100,000-function
// module: 2 threads took 11-12 ms without this, against 9.2-9.7 ms on
// one; faulting in on all threads took 1.2-1.5 ms, but 5.2 ms after such
// frees, against 1.5-2.0 ms on one thread either way).
void PopulateHugePages(uint8_t* data, size_t size) {
  if (WorthHugePages(size)) PopulateForWriting(data, 0, size);
}

constexpr size_t kCodeHeaderBytes = kCodeHeaderSize - 1;  // after the tag

// The code serialized for declared function i: its TurboFan code, if
// installed (Liftoff code is not serialized; its record is eager). The
// caller holds the module's ReadLock.
const WasmCode* SerializedCode(const NativeModule& m, uint32_t i) {
  const WasmCode* code = m.code_locked(i);
  return code != nullptr && code->is_turbofan() ? code : nullptr;
}

bool AnyTurboFanCode(const NativeModule& m) {
  for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
    if (SerializedCode(m, i) != nullptr) return true;
  }
  return false;
}

// Record size of declared function i (tag included).
uint64_t RecordSize(const NativeModule& m, uint32_t i) {
  const WasmCode* code = SerializedCode(m, i);
  if (code == nullptr) return 1;
  uint64_t size = 1 + kCodeHeaderBytes;
  for (int p = 0; p < kNumCodeParts; ++p) {
    size += static_cast<uint32_t>(code->header().*kCodePartSizes[p]);
  }
  return size;
}

uint64_t ModuleHeaderSize(const NativeModule& m) {
  return ModuleHeaderFixedSize(m.traits().word_size) +
         m.module_header().constants_module.size() +
         m.module().num_imported_functions;
}

// Real values back to tags.
class TagMap {
 public:
  explicit TagMap(const NativeModule& m) : m_(m) {
    const Environment& env = m.env();
    const ModuleInfo& module = m.module();
    for (uint32_t t = 0; t < module.num_types(); ++t) {
      if (module.is_signature[t]) type_of_sig_.emplace(env.canonical_sig_ids[t], t);
    }
    // Handles usually run base, base + 1, ...: then the inverse is
    // arithmetic; otherwise a map.
    const auto& handles = env.code_pointer_handles;
    handles_consecutive_ = true;
    for (uint32_t i = 0; i < handles.size() && handles_consecutive_; ++i) {
      handles_consecutive_ = handles[i] == handles[0] + i;
    }
    if (!handles_consecutive_) {
      for (uint32_t i = 0; i < handles.size(); ++i) {
        function_of_handle_.emplace(handles[i],
                                    module.num_imported_functions + i);
      }
    }
    if (!env.external_reference_addresses.empty()) {
      for (uint32_t i = 0; i < env.num_external_references; ++i) {
        ext_of_address_.emplace(env.ExternalReference(i), i);
      }
    }
  }

  bool Tag(RelocMode mode, uint64_t target, const WasmCode& code,
           uint64_t* tag) const {
    const Environment& env = m_.env();
    switch (mode) {
      case RelocMode::kWasmCall:
        if (auto d = m_.DeclaredIndexFromNearSlot(target)) {
          *tag = uint64_t{m_.module().num_imported_functions} + *d;
          return true;
        }
        return false;
      case RelocMode::kWasmStubCall:
        if (auto s = m_.BuiltinSlotFromFarSlot(target)) {
          *tag = env.far_slot_builtins[*s];
          return true;
        }
        return false;
      case RelocMode::kExternalReference:
        if (env.external_reference_addresses.empty()) {
          // Synthetic addresses: base + index * word.
          const uint32_t word = m_.traits().word_size;
          const uint64_t base = env.external_reference_base;
          if (target < base || (target - base) % word != 0) return false;
          const uint64_t index = (target - base) / word;
          if (index >= env.num_external_references) return false;
          *tag = index;
          return true;
        } else {
          auto it = ext_of_address_.find(target);
          if (it == ext_of_address_.end()) return false;
          *tag = it->second;
          return true;
        }
      case RelocMode::kWasmCanonicalSigId: {
        auto it = type_of_sig_.find(static_cast<uint32_t>(target));
        if (target > 0xffffffff || it == type_of_sig_.end()) return false;
        *tag = it->second;
        return true;
      }
      case RelocMode::kWasmCodePointerTableEntry: {
        if (handles_consecutive_) {
          const auto& handles = env.code_pointer_handles;
          if (handles.empty() || target < handles[0] ||
              target - handles[0] >= handles.size()) {
            return false;
          }
          *tag = m_.module().num_imported_functions + (target - handles[0]);
          return true;
        }
        auto it = function_of_handle_.find(static_cast<uint32_t>(target));
        if (target > 0xffffffff || it == function_of_handle_.end()) {
          return false;
        }
        *tag = it->second;
        return true;
      }
      case RelocMode::kInternalReference:
      case RelocMode::kInternalReferenceEncoded:
        if (!code.contains(target)) return false;
        *tag = target - code.instruction_start();
        return true;
      default:
        return false;
    }
  }

 private:
  const NativeModule& m_;
  // try_emplace keeps the first (smallest) type index per id, as V8.
  absl::flat_hash_map<uint32_t, uint32_t> type_of_sig_;
  bool handles_consecutive_ = false;
  absl::flat_hash_map<uint32_t, uint32_t> function_of_handle_;
  absl::flat_hash_map<uint64_t, uint32_t> ext_of_address_;
};

void PutCodeHeader(uint8_t* out, const CodeHeader& h, ByteOrder order) {
  const int32_t ints[] = {h.constant_pool_offset, h.safepoint_table_offset,
                          h.handler_table_offset, h.code_comments_offset,
                          h.unpadded_binary_size, h.stack_slots,
                          h.ool_spills};
  for (int32_t v : ints) {
    Store32(out, static_cast<uint32_t>(v), order);
    out += 4;
  }
  Store32(out, h.tagged_parameter_slots, order);
  out += 4;
  for (int p = 0; p < kNumCodeParts; ++p) {
    Store32(out, static_cast<uint32_t>(h.*kCodePartSizes[p]), order);
    out += 4;
  }
  Store32(out, h.kind, order);
  out[4] = h.tier;
}

absl::Status WriteFunction(const NativeModule& m, const TagMap& tags,
                           const WasmCode& code, uint8_t* out) {
  const ByteOrder order = m.traits().byte_order;
  *out++ = static_cast<uint8_t>(FunctionTag::kTurboFan);
  PutCodeHeader(out, code.header(), order);
  out += kCodeHeaderBytes;
  const absl::Span<const uint8_t> live = code.instructions();
  std::memcpy(out, live.data(), live.size());
  const ArchOps& ops = OpsOf(m.arch());
  const absl::Span<const uint8_t> reloc = code.part(CodePart::kRelocInfo);
  const uint32_t cpo =
      static_cast<uint32_t>(code.header().constant_pool_offset);
  WASMCACHE_RETURN_IF_ERROR(DecodeRelocInfo(
      reloc.data(), reloc.size(), code.instructions_size(), 0,
      [&](RelocMode mode, uint64_t pc) -> absl::Status {
        if (!IsSerializerPatched(mode)) return absl::OkStatus();
        Site site;
        const char* why = nullptr;
        uint64_t tag = 0;
        if (!ops.locate(live.data(), code.instructions_size(),
                        static_cast<uint32_t>(pc), mode, cpo, &site, &why)) {
          return InternalError(section::kSerializer,
                               absl::StrFormat("function %d: %s", code.index(),
                                               why),
                               0);
        }
        const uint64_t target =
            ops.read_target(live.data(), code.instruction_start(), site);
        if (!tags.Tag(mode, target, code, &tag) || !ops.tag_fits(site, tag)) {
          return InternalError(
              section::kSerializer,
              absl::StrFormat("function %d: %s target 0x%x has no tag",
                              code.index(), RelocModeName(mode), target),
              0);
        }
        ops.write_tag(out, site, tag);
        return absl::OkStatus();
      }));
  out += live.size();
  // The other parts are contiguous in the metadata arena.
  const absl::Span<const uint8_t> first = code.part(CodePart::kRelocInfo);
  uint64_t rest = 0;
  for (int p = 1; p < kNumCodeParts; ++p) {
    rest += static_cast<uint32_t>(code.header().*kCodePartSizes[p]);
  }
  std::memcpy(out, first.data(), rest);
  return absl::OkStatus();
}

}  // namespace

size_t Serializer::Measure() const {
  const auto lock = module_.ReadLock();
  return MeasureLocked();
}

size_t Serializer::MeasureLocked() const {
  const NativeModule& m = module_;
  uint64_t size = kGlobalHeaderSize + ModuleHeaderSize(m);
  for (uint32_t i = 0; i < m.module().num_declared_functions; ++i) {
    size += RecordSize(m, i);
  }
  return size + uint64_t{kTieringBudgetSize} * m.module().num_declared_functions;
}

absl::StatusOr<Bytes> Serializer::Serialize() const {
  const auto lock = module_.ReadLock();
  if (!AnyTurboFanCode(module_)) {
    return absl::FailedPreconditionError(
        FormatError(section::kSerializer, "no TurboFan code to serialize", 0));
  }
  // Left uninitialized: every byte is written below.
  Bytes out(MeasureLocked());
  PopulateHugePages(out.data(), out.size());
  WASMCACHE_RETURN_IF_ERROR(SerializeLocked(absl::MakeSpan(out)));
  return out;
}

absl::Status Serializer::SerializeInto(absl::Span<uint8_t> out) const {
  const auto lock = module_.ReadLock();
  return SerializeLocked(out);
}

absl::Status Serializer::SerializeLocked(absl::Span<uint8_t> out) const {
  const NativeModule& m = module_;
  if (!AnyTurboFanCode(m)) {
    return absl::FailedPreconditionError(
        FormatError(section::kSerializer, "no TurboFan code to serialize", 0));
  }
  const uint32_t n = m.module().num_declared_functions;
  const ArchTraits& t = m.traits();
  const ByteOrder order = t.byte_order;
  // Offsets of every record: a prefix sum.
  std::vector<uint64_t> offsets(n + 1);
  uint64_t at = kGlobalHeaderSize + ModuleHeaderSize(m);
  uint64_t total = 0;  // instruction bytes serialized
  for (uint32_t i = 0; i < n; ++i) {
    offsets[i] = at;
    at += RecordSize(m, i);
    if (const WasmCode* code = SerializedCode(m, i)) {
      total += code->instructions_size();
    }
  }
  offsets[n] = at;
  if (at + uint64_t{kTieringBudgetSize} * n != out.size()) {
    return InternalError(section::kSerializer,
                         absl::StrFormat("buffer of %d bytes for %d", out.size(),
                                         at + kTieringBudgetSize * n),
                         0);
  }
  uint8_t* o = out.data();
  const auto words = HeaderWords(m.global_header());
  for (int w = 0; w < kNumHeaderWords; ++w) Store32(o + 4 * w, words[w], order);
  o += kGlobalHeaderSize;
  const ModuleHeader& h = m.module_header();
  Store32(o, h.detected_features, order);
  o += 4;
  if (t.word_size == 8) {
    Store64(o, total, order);
  } else {
    Store32(o, static_cast<uint32_t>(total), order);
  }
  o += t.word_size;
  *o++ = h.all_functions_validated;
  Store32(o, h.compile_time_imports, order);
  o += 4;
  Store32(o, static_cast<uint32_t>(h.constants_module.size()), order);
  o += 4;
  std::copy(h.constants_module.begin(), h.constants_module.end(), o);
  o += h.constants_module.size();
  // One status per import; a module made empty has none recorded, which
  // is status 0 for every import.
  const size_t imports = m.module().num_imported_functions;
  const size_t known = std::min(h.well_known_imports.size(), imports);
  std::copy_n(h.well_known_imports.begin(), known, o);
  std::fill_n(o + known, imports - known, uint8_t{0});
  uint8_t* budgets = out.data() + offsets[n];
  for (uint32_t i = 0; i < n; ++i) {
    Store32(budgets + 4 * i, m.tiering_budgets()[i], order);
  }

  const TagMap tags(m);
  // Batches of about equal bytes.
  ThreadPool& pool = PoolOf(options_);
  const int threads = ThreadsOf(options_);
  const uint64_t body = offsets[n] - offsets[0];
  const uint64_t target =
      std::max<uint64_t>(64 * 1024, body / (uint64_t{16} * threads));
  std::vector<uint32_t> starts = {0};
  for (uint32_t i = 0; i < n; ++i) {
    if (offsets[i + 1] - offsets[starts.back()] >= target) starts.push_back(i + 1);
  }
  if (starts.back() != n) starts.push_back(n);
  std::vector<absl::Status> errors(starts.size() - 1);
  std::atomic<bool> failed{false};
  pool.Run(
      starts.size() - 1,
      [&](size_t b, int) {
        if (failed.load(std::memory_order_relaxed)) return;
        for (uint32_t i = starts[b]; i < starts[b + 1]; ++i) {
          uint8_t* record = out.data() + offsets[i];
          const WasmCode* code = SerializedCode(m, i);
          if (code == nullptr) {
            const bool eager =
                m.function_state_locked(i) == FunctionState::kEager ||
                m.code_locked(i) != nullptr;
            *record = static_cast<uint8_t>(eager ? FunctionTag::kEager
                                                 : FunctionTag::kLazy);
            continue;
          }
          absl::Status st = WriteFunction(m, tags, *code, record);
          if (!st.ok()) {
            errors[b] = std::move(st);
            failed.store(true, std::memory_order_relaxed);
            return;
          }
        }
      },
      threads);
  for (const absl::Status& st : errors) WASMCACHE_RETURN_IF_ERROR(st);
  return absl::OkStatus();
}

}  // namespace wasmcache::fast
