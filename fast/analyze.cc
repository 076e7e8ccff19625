#include "fast/analyze.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "fast/check/safepoints.h"
#include "fast/reloc_info.h"
#include "spec/errors.h"
#include "spec/reloc_mode.h"

namespace wasmcache::fast {
namespace {

absl::Status RelocError(uint64_t offset, std::string what) {
  return MalformedError(section::kReloc, what, offset);
}

// What a decoded entry is, by mode number.
enum ModeClass : uint8_t { kRejected, kUnusedHere, kPassive, kPatched };

}  // namespace

AnalysisContext::AnalysisContext(const ModuleInfo& m, const Environment& e)
    : module(m), env(e), ops(OpsOf(e.arch)), traits(TraitsOf(e.arch)) {
  uint32_t max_id = 0;
  for (uint32_t id : env.far_slot_builtins) max_id = std::max(max_id, id);
  far_slot_of_builtin.assign(env.far_slot_builtins.empty() ? 0 : max_id + 1,
                             -1);
  for (uint32_t s = 0; s < env.far_slot_builtins.size(); ++s) {
    far_slot_of_builtin[env.far_slot_builtins[s]] = static_cast<int32_t>(s);
  }
}

namespace {

// Checks a tag against the module and environment; fills far_slot.
bool CheckTag(const AnalysisContext& ctx, uint32_t code_size, Site& site,
              std::string* what) {
  const uint64_t tag = site.tag;
  const uint32_t imported = ctx.module.num_imported_functions;
  switch (site.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmCodePointerTableEntry:
      if (tag >= imported && tag < ctx.module.num_functions()) return true;
      *what = absl::StrFormat("function index %d is not a declared function",
                              tag);
      return false;
    case RelocMode::kWasmStubCall:
      if (tag < ctx.far_slot_of_builtin.size() &&
          ctx.far_slot_of_builtin[tag] >= 0) {
        site.far_slot = static_cast<uint32_t>(ctx.far_slot_of_builtin[tag]);
        return true;
      }
      *what = absl::StrFormat("builtin %d has no far jump-table slot", tag);
      return false;
    case RelocMode::kExternalReference:
      if (tag < ctx.env.num_external_references) return true;
      *what = absl::StrFormat("external reference %d outside the table of %d",
                              tag, ctx.env.num_external_references);
      return false;
    case RelocMode::kWasmCanonicalSigId:
      if (tag < ctx.module.num_types() && ctx.module.is_signature[tag]) {
        return true;
      }
      *what = absl::StrFormat("type index %d is not a function signature",
                              tag);
      return false;
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
      if (tag < code_size) return true;
      *what = absl::StrFormat("internal offset 0x%x outside the code", tag);
      return false;
    default:
      *what = "mode is not patched";
      return false;
  }
}

// No two sites may share a byte (a second entry for the same field would
// read the first one's relocated value as its tag); the instruction read to
// find a pool slot must not be patched by any site.
absl::Status CheckOverlaps(
                           std::vector<Site>& sites, uint64_t code_offset) {
  if (sites.empty()) return absl::OkStatus();
  // Sites come in pc order, which is field order on most targets: sort
  // (pointers, reused per thread) only when they are not.
  thread_local std::vector<const Site*> order;
  thread_local std::vector<uint64_t> max_end;
  order.resize(sites.size());
  bool any_reader = false;
  for (size_t i = 0; i < sites.size(); ++i) {
    order[i] = &sites[i];
    any_reader |= sites[i].reader_size != 0;
  }
  auto key_less = [](const Site* a, const Site* b) {
    return a->field_offset != b->field_offset
               ? a->field_offset < b->field_offset
               : a->field_size < b->field_size;
  };
  if (!std::is_sorted(order.begin(), order.end(), key_less)) {
    std::sort(order.begin(), order.end(), key_less);
  }
  if (any_reader) {
    // Largest field end among the first k sites.
    max_end.resize(order.size());
    uint64_t running = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      running = std::max<uint64_t>(
          running, uint64_t{order[i]->field_offset} + order[i]->field_size);
      max_end[i] = running;
    }
  }
  for (const Site* reader_site : order) {
    if (!any_reader) break;
    const Site& reader = *reader_site;
    if (reader.reader_size == 0) continue;
    const uint64_t lo = reader.pc;
    const uint64_t hi = lo + reader.reader_size;
    // Sites whose field starts before hi; does any end after lo?
    const size_t k = static_cast<size_t>(
        std::lower_bound(order.begin(), order.end(), hi,
                         [](const Site* s, uint64_t v) {
                           return s->field_offset < v;
                         }) -
        order.begin());
    if (k > 0 && max_end[k - 1] > lo) {
      return RelocError(code_offset + reader.pc,
                        absl::StrFormat("%s at pc 0x%x: its instruction is "
                                        "patched by another site",
                                        RelocModeName(reader.mode), reader.pc));
    }
  }
  for (size_t i = 1; i < order.size(); ++i) {
    const Site& a = *order[i - 1];
    const Site& b = *order[i];
    if (uint64_t{b.field_offset} < uint64_t{a.field_offset} + a.field_size) {
      return RelocError(code_offset + b.field_offset,
                        absl::StrFormat("%s at pc 0x%x patches bytes of %s at "
                                        "pc 0x%x",
                                        RelocModeName(b.mode), b.pc,
                                        RelocModeName(a.mode), a.pc));
    }
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

constexpr std::string_view kCodeHeaderFieldNames[] = {
    "constant_pool_offset", "safepoint_table_offset", "handler_table_offset",
    "code_comments_offset"};

}  // namespace

absl::Status CheckCodeHeader(const CodeHeader& h, uint64_t at,
                             const ArchTraits& traits, bool allow_liftoff) {
  auto field = [&](int i) { return at + 4 * i; };
  for (int p = 0; p < kNumCodeParts; ++p) {
    if (h.*kCodePartSizes[p] < 0) {
      return MalformedError(
          section::kCodeHeader,
          absl::StrFormat("negative %s size %d", kCodePartNames[p],
                          h.*kCodePartSizes[p]),
          field(8 + p));
    }
  }
  if (static_cast<uint64_t>(h.instructions_size) > traits.max_code_space_size) {
    return LimitError(section::kCodeHeader,
                      absl::StrFormat("instructions size %d over the code "
                                      "space",
                                      h.instructions_size),
                      field(8));
  }
  if (h.unpadded_binary_size < 0 ||
      h.unpadded_binary_size > h.instructions_size) {
    return MalformedError(section::kCodeHeader,
                          absl::StrFormat("unpadded_binary_size %d outside "
                                          "the instructions",
                                          h.unpadded_binary_size),
                          field(4));
  }
  const int32_t offsets[] = {h.constant_pool_offset, h.safepoint_table_offset,
                             h.handler_table_offset, h.code_comments_offset};
  for (int i = 0; i < 4; ++i) {
    if (offsets[i] < 0 || offsets[i] > h.unpadded_binary_size) {
      return MalformedError(
          section::kCodeHeader,
          absl::StrFormat("%s %d outside [0, %d]", kCodeHeaderFieldNames[i],
                          offsets[i], h.unpadded_binary_size),
          field(i));
    }
  }
  if (h.stack_slots < 0 || h.ool_spills < 0) {
    return MalformedError(section::kCodeHeader,
                          "negative stack_slots or ool_spills",
                          field(h.stack_slots < 0 ? 5 : 6));
  }
  if (h.kind != kWasmFunctionKind) {
    return MalformedError(
        section::kCodeHeader,
        absl::StrFormat("kind %d is not a wasm function", h.kind), field(14));
  }
  if (h.tier != kTierTurboFan && !(allow_liftoff && h.tier == kTierLiftoff)) {
    return MalformedError(section::kCodeHeader,
                          absl::StrFormat("tier %d is not TurboFan", h.tier),
                          field(15));
  }
  return absl::OkStatus();
}

absl::Status AnalyzeFunction(const AnalysisContext& ctx,
                             const FunctionCode& fn,
                             std::vector<Site>& sites) {
  sites.clear();
  const uint32_t size =
      static_cast<uint32_t>(fn.header->instructions_size);
  const uint32_t cpo =
      static_cast<uint32_t>(fn.header->constant_pool_offset);
  const ArchOps& ops = ctx.ops;

  // The whole stream is decoded before any entry is checked (errors in
  // the stream come first, as the format's validation order says).
  thread_local std::vector<std::pair<RelocMode, uint32_t>> entries;
  entries.clear();
  WASMCACHE_RETURN_IF_ERROR(DecodeRelocInfo(
      fn.reloc_info, static_cast<size_t>(fn.header->reloc_info_size), size,
      fn.reloc_offset, [&](RelocMode mode, uint64_t pc) {
        entries.emplace_back(mode, static_cast<uint32_t>(pc));
        return absl::OkStatus();
      }));
  for (const auto& [mode, pc] : entries) {
    const uint64_t at = fn.instructions_offset + pc;
    if (!IsAllowedInWasmCode(mode)) {
      return RelocError(at, absl::StrFormat("mode %s is not allowed in wasm "
                                            "code",
                                            RelocModeName(mode)));
    }
    if (!ops.mode_used(mode)) {
      return RelocError(at, absl::StrFormat("mode %s is not used on %s",
                                            RelocModeName(mode),
                                            ctx.traits.name));
    }
    if (!IsSerializerPatched(mode)) continue;
    Site site;
    const char* why = nullptr;
    if (!ops.locate(fn.instructions, size, static_cast<uint32_t>(pc), mode,
                    cpo, &site, &why)) {
      return RelocError(at, absl::StrFormat("%s at pc 0x%x: %s",
                                            RelocModeName(mode), pc, why));
    }
    site.tag = ops.read_tag(fn.instructions, site);
    std::string what;
    if (!CheckTag(ctx, size, site, &what)) {
      return RelocError(fn.instructions_offset + site.field_offset,
                        absl::StrFormat("%s at pc 0x%x: %s",
                                        RelocModeName(mode), pc, what));
    }
    sites.push_back(site);
  }
  WASMCACHE_RETURN_IF_ERROR(
      CheckOverlaps(sites, fn.instructions_offset));
  return CheckSafepointTable(fn.instructions, size, *fn.header, ctx.env.arch,
                             fn.instructions_offset);
}

absl::Status RelocateSites(const AnalysisContext& ctx, uint8_t* code,
                           uint64_t address, absl::Span<const Site> sites,
                           uint64_t near_table, uint64_t far_table,
                           uint64_t instructions_offset) {
  const ArchTraits& t = ctx.traits;
  const Environment& env = ctx.env;
  const uint32_t imported = ctx.module.num_imported_functions;
  for (const Site& site : sites) {
    uint64_t target;
    switch (site.mode) {
      case RelocMode::kWasmCall:
        target =
            near_table +
            JumpTableSlotOffset(t, static_cast<uint32_t>(site.tag) - imported);
        break;
      case RelocMode::kWasmStubCall:
        target =
            far_table + uint64_t{site.far_slot} * t.far_jump_table_slot_size;
        break;
      case RelocMode::kExternalReference:
        target = env.ExternalReference(static_cast<uint32_t>(site.tag));
        break;
      case RelocMode::kWasmCanonicalSigId:
        target = env.canonical_sig_ids[site.tag];
        break;
      case RelocMode::kWasmCodePointerTableEntry:
        target = env.code_pointer_handles[site.tag - imported];
        break;
      default:  // internal references
        target = address + site.tag;
        break;
    }
    if (!ctx.ops.write_target(code, address, site, target)) {
      return InternalError(
          section::kCodeSpace,
          absl::StrFormat("%s at pc 0x%x cannot reach 0x%x",
                          RelocModeName(site.mode), site.pc, target),
          instructions_offset + site.field_offset);
    }
  }
  return absl::OkStatus();
}

}  // namespace wasmcache::fast
