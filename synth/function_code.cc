#include "synth/function_code.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "reference/reloc_stream.h"
#include "reference/relocation.h"
#include "reference/safepoint_table.h"
#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

using reference::RelocEntry;

uint32_t RoundUp(uint32_t value, uint32_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// V8's value_to_bytes.
uint32_t WidthFor(uint64_t value) {
  if (value == 0) return 0;
  if (value <= 0xff) return 1;
  if (value <= 0xffff) return 2;
  if (value <= 0xffffff) return 3;
  return 4;
}

// A safepoint table V8 13.6 would write for calls returning at `pcs`:
// no deopt data, no tagged registers, one bitmap per entry over the spill
// slots, consecutive entries distinct (V8 merges equal ones).
struct SafepointPlan {
  uint32_t stack_slots = 0;
  std::vector<uint32_t> pcs;
  std::vector<std::vector<bool>> tagged;  // per entry, per spill slot
  uint32_t pc_width = 0;
  uint32_t bitmap_bytes = 0;

  uint32_t byte_size() const {
    return reference::kSafepointTableHeaderSize +
           static_cast<uint32_t>(pcs.size()) * (pc_width + bitmap_bytes);
  }
};

SafepointPlan PlanSafepoints(Arch arch, std::vector<uint32_t> pcs, Rng& rng) {
  SafepointPlan plan;
  std::sort(pcs.begin(), pcs.end());
  pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());
  const uint32_t spill = rng.Uniform32(2, 20);
  plan.stack_slots = reference::WasmFrameFixedSlots(arch) + spill;
  plan.pcs = pcs;
  int64_t highest = -1;
  for (size_t i = 0; i < pcs.size(); ++i) {
    std::vector<bool> bits(spill);
    for (uint32_t s = 0; s < spill; ++s) bits[s] = rng.Chance(1, 4);
    if (i > 0 && bits == plan.tagged[i - 1]) {
      bits[i % spill] = !bits[i % spill];
    }
    for (uint32_t s = 0; s < spill; ++s) {
      if (bits[s]) highest = std::max<int64_t>(highest, s);
    }
    plan.tagged.push_back(bits);
  }
  plan.pc_width = pcs.empty() ? 0 : WidthFor(uint64_t{pcs.back()} + 1);
  plan.bitmap_bytes = highest >= 0
                          ? static_cast<uint32_t>((highest + 1 + 7) / 8)
                          : (plan.stack_slots + 7) / 8;
  return plan;
}

void EmitSafepointTable(Assembly& a, const SafepointPlan& plan) {
  reference::SafepointTableConfig config;
  config.pc_width = plan.pc_width;
  config.tagged_slot_bytes = plan.bitmap_bytes;
  a.U32(plan.stack_slots);
  a.U32(static_cast<uint32_t>(plan.pcs.size()));
  a.U32(config.Encode());
  for (uint32_t pc : plan.pcs) {
    for (uint32_t b = 0; b < plan.pc_width; ++b) {
      a.Byte(static_cast<uint8_t>(pc >> (8 * b)));
    }
  }
  for (const std::vector<bool>& bits : plan.tagged) {
    for (uint32_t byte = 0; byte < plan.bitmap_bytes; ++byte) {
      uint8_t value = 0;
      for (uint32_t bit = 0; bit < 8; ++bit) {
        const uint32_t s = byte * 8 + bit;
        if (s < bits.size() && bits[s]) value |= uint8_t{1} << bit;
      }
      a.Byte(value);
    }
  }
  while (a.pc() % reference::kSafepointTableAlignment != 0) {
    a.Byte(reference::kSafepointTablePadding);
  }
}

// The tag a site of `mode` gets.
uint64_t ChooseTag(const FunctionContext& ctx, const Assembly& a,
                   RelocMode mode, Rng& rng) {
  const ModuleInfo& m = ctx.module;
  switch (mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmCodePointerTableEntry:
      return rng.Uniform(m.num_imported_functions, m.num_functions() - 1);
    case RelocMode::kWasmStubCall:
      return rng.Pick(ctx.env.far_slot_builtins);
    case RelocMode::kExternalReference:
      return rng.Uniform(0, ctx.env.num_external_references - 1);
    case RelocMode::kWasmCanonicalSigId: {
      std::vector<uint32_t> signatures;
      for (uint32_t t = 0; t < m.num_types(); ++t) {
        if (m.is_signature[t]) signatures.push_back(t);
      }
      const uint32_t chosen = rng.Pick(signatures);
      if (!ctx.canonical) return chosen;
      for (uint32_t t : signatures) {
        if (ctx.env.canonical_sig_ids[t] == ctx.env.canonical_sig_ids[chosen]) {
          return t;
        }
      }
      return chosen;
    }
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
      return rng.Pick(a.instruction_starts());
    default:
      return 0;
  }
}

}  // namespace

absl::StatusOr<TurboFanRecord> BuildTurboFanRecord(
    const FunctionContext& ctx, Rng& rng,
    const std::vector<RelocMode>& forced) {
  const ArchTraits& traits = TraitsOf(ctx.arch);
  std::unique_ptr<TargetEmitter> emitter = MakeEmitter(ctx.arch, ctx.all_forms);
  Assembly a(ctx.arch);

  // 1. Prologue, body, epilogue, out-of-line parts.
  std::vector<RelocMode> modes = forced;
  const std::vector<RelocMode> choices = SiteModes(ctx.arch, ctx.all_forms);
  const uint32_t extra = rng.Uniform32(0, ctx.max_sites);
  for (uint32_t i = 0; i < extra; ++i) modes.push_back(rng.Pick(choices));
  for (size_t i = modes.size(); i > 1; --i) {
    std::swap(modes[i - 1], modes[rng.Uniform(0, i - 1)]);
  }
  emitter->Prologue(a, rng);
  for (RelocMode mode : modes) {
    const uint32_t fillers = rng.Uniform32(0, 3);
    for (uint32_t f = 0; f < fillers; ++f) emitter->Filler(a, rng);
    emitter->Site(a, rng, mode);
  }
  emitter->Filler(a, rng);
  emitter->Epilogue(a, rng);
  emitter->Trailer(a, rng);
  emitter->PadTo(a, reference::kSafepointTableAlignment);

  // 2. Safepoint table; ppc64's embedded pool must start 8-aligned right
  // after it, so the table may move by one instruction.
  const SafepointPlan plan = PlanSafepoints(ctx.arch, a.return_pcs(), rng);
  const uint32_t pool_alignment = emitter->EmbeddedPoolAlignment();
  if (pool_alignment != 0 &&
      (a.pc() + RoundUp(plan.byte_size(), 4)) % pool_alignment != 0) {
    emitter->Filler(a, rng);  // one 4-byte instruction on ppc64
  }
  CodeHeader h;
  h.safepoint_table_offset = static_cast<int32_t>(a.pc());
  EmitSafepointTable(a, plan);
  h.handler_table_offset = static_cast<int32_t>(a.pc());
  h.constant_pool_offset = h.handler_table_offset;
  if (pool_alignment != 0) emitter->EmitEmbeddedPool(a);
  h.unpadded_binary_size = static_cast<int32_t>(a.pc());
  h.code_comments_offset = h.unpadded_binary_size;
  if (pool_alignment == 0) h.constant_pool_offset = h.unpadded_binary_size;
  std::vector<uint8_t>& code = a.bytes();
  code.resize(RoundUp(a.pc(), traits.code_alignment), 0);

  // 3. Reloc stream, then the tags, each through its codec.
  std::vector<RelocEntry> relocs = a.relocs();
  std::stable_sort(relocs.begin(), relocs.end(),
                   [](const RelocEntry& x, const RelocEntry& y) {
                     return x.pc < y.pc;
                   });
  for (const RelocEntry& entry : relocs) {
    if (!IsSerializerPatched(entry.mode)) continue;
    absl::StatusOr<reference::Site> site = reference::LocateSite(
        ctx.arch, code, entry, 0,
        static_cast<uint32_t>(h.constant_pool_offset));
    if (!site.ok()) {
      return absl::InternalError(absl::StrFormat(
          "synth: %s emitter wrote a site its codec rejects: %s",
          ArchName(ctx.arch), site.status().message()));
    }
    const uint64_t tag = ChooseTag(ctx, a, entry.mode, rng);
    if (!reference::TagFitsForm(ctx.arch, *site, tag) ||
        !reference::WriteTag(ctx.arch, code.data(), *site, tag)) {
      return absl::InternalError(absl::StrFormat(
          "synth: tag %d does not fit the %s site at pc 0x%x", tag,
          RelocModeName(entry.mode), entry.pc));
    }
    if (!ctx.canonical && ctx.arch == Arch::kX64 &&
        entry.mode == RelocMode::kExternalReference && rng.Chance(2, 3)) {
      // V8 leaves the high half of the writing process's address here.
      const uint32_t high = rng.Chance(1, 2) ? 0x00007fff
                                             : rng.Uniform32(0x5500, 0x7fff);
      reference::StoreUnaligned(code.data() + site->field_offset + 4, high, 4,
                                traits.byte_order);
    }
  }

  // 4. The header and the other parts (opaque to wasmcache: plausible
  // lengths of random bytes).
  TurboFanRecord record;
  record.parts[static_cast<int>(CodePart::kRelocInfo)] =
      reference::EncodeRelocStream(relocs);
  auto random_bytes = [&](uint32_t max) {
    std::vector<uint8_t> bytes(rng.Uniform32(0, max));
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng.Next32());
    return bytes;
  };
  record.parts[static_cast<int>(CodePart::kSourcePositions)] = random_bytes(24);
  if (rng.Chance(1, 8)) {
    record.parts[static_cast<int>(CodePart::kInliningPositions)] =
        random_bytes(16);
  }
  if (rng.Chance(1, 4)) {
    record.parts[static_cast<int>(CodePart::kProtectedInstructions)] =
        random_bytes(12);
  }
  record.parts[static_cast<int>(CodePart::kInstructions)] = std::move(code);
  h.stack_slots = static_cast<int32_t>(plan.stack_slots);
  h.ool_spills = static_cast<int32_t>(rng.Uniform(0, 2));
  h.tagged_parameter_slots = rng.Chance(1, 2) ? 0 : rng.Next32() & 0x00ff00ff;
  for (int p = 0; p < kNumCodeParts; ++p) {
    h.*kCodePartSizes[p] = static_cast<int32_t>(record.parts[p].size());
  }
  h.kind = kWasmFunctionKind;
  h.tier = kTierTurboFan;
  record.header = h;
  return record;
}

}  // namespace wasmcache::synth
