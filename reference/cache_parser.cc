#include "reference/cache_parser.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "reference/byte_io.h"
#include "reference/safepoint_table.h"
#include "spec/errors.h"
#include "spec/v8_tables.h"

namespace wasmcache::reference {
namespace {


struct Context {
  const ModuleInfo& module;
  const Environment& env;
  const ArchTraits& traits;
  absl::flat_hash_map<uint32_t, uint32_t> far_slot_of_builtin;
};

absl::Status CheckGlobalHeader(const GlobalHeader& header,
                               const Environment& env) {
  const auto words = HeaderWords(header);
  for (int i = 0; i < kNumHeaderWords; ++i) {
    const auto& expected = env.expected_header[i];
    if (expected.has_value() && *expected != words[i]) {
      return MismatchError(
          section::kHeader,
          absl::StrFormat("%s is 0x%08x but the environment expects 0x%08x",
                          kHeaderWordNames[i], words[i], *expected),
          uint64_t{4} * i);
    }
  }
  return absl::OkStatus();
}

absl::Status ReadModuleHeader(ByteReader& r, const Context& ctx,
                              ParsedCache& parsed) {
  r.set_section(section::kModuleHeader);
  ModuleHeader& h = parsed.module_header;
  const uint64_t start = r.offset();
  WASMCACHE_RETURN_IF_ERROR(
      ReadLayout(r, h, size_t{ctx.module.num_imported_functions}));
  // Field offsets, derived from the layout.
  const uint64_t total_at = start + 4;
  const uint64_t validated_at = total_at + ctx.traits.word_size;
  const uint64_t imports_flags_at = validated_at + 1;
  const uint64_t constants_at = imports_flags_at + 4;
  const uint64_t statuses_at = constants_at + 4 + h.constants_module.size();
  parsed.total_code_size_offset = total_at;

  if (h.total_code_size > ctx.env.max_module_code_size) {
    return LimitError(
        section::kModuleHeader,
        absl::StrFormat("total code size %d over the limit of %d",
                        h.total_code_size, ctx.env.max_module_code_size),
        total_at);
  }
  if (h.all_functions_validated > 1) {
    return MalformedError(
        section::kModuleHeader,
        absl::StrFormat("all_functions_validated is %d, not a bool",
                        h.all_functions_validated),
        validated_at);
  }
  if (h.compile_time_imports & ~v8_13_6::kCompileTimeImportMask) {
    return MalformedError(
        section::kModuleHeader,
        absl::StrFormat("unknown compile-time import flags 0x%x",
                        h.compile_time_imports),
        imports_flags_at);
  }
  if (h.compile_time_imports != ctx.env.compile_time_imports) {
    return MismatchError(
        section::kModuleHeader,
        absl::StrFormat("compile-time imports 0x%x but the environment asks "
                        "for 0x%x",
                        h.compile_time_imports, ctx.env.compile_time_imports),
        imports_flags_at);
  }
  if (h.constants_module != ctx.env.constants_module) {
    return MismatchError(section::kModuleHeader,
                         "constants module differs from the environment's",
                         constants_at);
  }
  for (size_t i = 0; i < h.well_known_imports.size(); ++i) {
    if (h.well_known_imports[i] > v8_13_6::kMaxWellKnownImport) {
      return MalformedError(
          section::kModuleHeader,
          absl::StrFormat("import %d has unknown well-known status %d", i,
                          h.well_known_imports[i]),
          statuses_at + i);
    }
  }
  return absl::OkStatus();
}

// One function's code must fit in one code space of the target.
absl::Status CheckCodeHeader(const CodeHeader& h, uint64_t header_offset,
                             const ArchTraits& traits, bool allow_liftoff) {
  // Offsets of each field in the record (after the tag byte).
  auto at = [&](int field_index) { return header_offset + 4 * field_index; };
  for (int p = 0; p < kNumCodeParts; ++p) {
    const int32_t size = h.*kCodePartSizes[p];
    if (size < 0) {
      return MalformedError(
          section::kCodeHeader,
          absl::StrFormat("negative %s size %d", kCodePartNames[p], size),
          at(8 + p));
    }
  }
  if (static_cast<uint64_t>(h.instructions_size) >
      traits.max_code_space_size) {
    return LimitError(
        section::kCodeHeader,
        absl::StrFormat("instructions size %d over the %d-byte code space",
                        h.instructions_size, traits.max_code_space_size),
        at(8));
  }
  if (h.unpadded_binary_size < 0 ||
      h.unpadded_binary_size > h.instructions_size) {
    return MalformedError(
        section::kCodeHeader,
        absl::StrFormat("unpadded_binary_size %d outside [0, %d]",
                        h.unpadded_binary_size, h.instructions_size),
        at(4));
  }
  const std::tuple<const char*, int32_t, int> offsets[] = {
      {"constant_pool_offset", h.constant_pool_offset, 0},
      {"safepoint_table_offset", h.safepoint_table_offset, 1},
      {"handler_table_offset", h.handler_table_offset, 2},
      {"code_comments_offset", h.code_comments_offset, 3},
  };
  for (const auto& [name, value, index] : offsets) {
    if (value < 0 || value > h.unpadded_binary_size) {
      return MalformedError(
          section::kCodeHeader,
          absl::StrFormat("%s %d outside [0, %d]", name, value,
                          h.unpadded_binary_size),
          at(index));
    }
  }
  if (h.stack_slots < 0) {
    return MalformedError(section::kCodeHeader,
                          absl::StrFormat("negative stack_slots %d",
                                          h.stack_slots),
                          at(5));
  }
  if (h.ool_spills < 0) {
    return MalformedError(section::kCodeHeader,
                          absl::StrFormat("negative ool_spills %d",
                                          h.ool_spills),
                          at(6));
  }
  if (h.kind != kWasmFunctionKind) {
    return MalformedError(
        section::kCodeHeader,
        absl::StrFormat("kind %d is not a wasm function", h.kind), at(14));
  }
  if (h.tier != kTierTurboFan && !(allow_liftoff && h.tier == kTierLiftoff)) {
    return MalformedError(section::kCodeHeader,
                          absl::StrFormat("tier %d is not TurboFan", h.tier),
                          at(14) + 4);
  }
  return absl::OkStatus();
}

// Checks a site's tag against the module and environment.
absl::Status CheckTag(const Context& ctx, const ParsedFunction& fn,
                      PatchedSite& patched) {
  const uint64_t at = fn.code_offset() + patched.site.field_offset;
  const uint64_t tag = patched.tag;
  const uint32_t imported = ctx.module.num_imported_functions;
  const uint32_t total = ctx.module.num_functions();
  auto reject = [&](std::string what) {
    return MalformedError(section::kReloc,
                          absl::StrFormat("%s at pc 0x%x: %s",
                                          RelocModeName(patched.mode),
                                          patched.site.pc, what),
                          at);
  };
  switch (patched.mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmCodePointerTableEntry:
      if (tag < imported || tag >= total) {
        return reject(absl::StrFormat(
            "function index %d outside the declared functions [%d, %d)", tag,
            imported, total));
      }
      return absl::OkStatus();
    case RelocMode::kWasmStubCall: {
      auto it = ctx.far_slot_of_builtin.find(static_cast<uint32_t>(tag));
      if (tag > 0xffffffff || it == ctx.far_slot_of_builtin.end()) {
        return reject(
            absl::StrFormat("builtin %d has no far jump-table slot", tag));
      }
      patched.far_slot = it->second;
      return absl::OkStatus();
    }
    case RelocMode::kExternalReference:
      if (tag >= ctx.env.num_external_references) {
        return reject(absl::StrFormat(
            "external reference %d outside the table of %d", tag,
            ctx.env.num_external_references));
      }
      return absl::OkStatus();
    case RelocMode::kWasmCanonicalSigId:
      if (tag >= ctx.module.num_types() || !ctx.module.is_signature[tag]) {
        return reject(
            absl::StrFormat("type index %d is not a function signature", tag));
      }
      return absl::OkStatus();
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
      if (tag >= fn.part(CodePart::kInstructions).size()) {
        return reject(absl::StrFormat(
            "internal offset 0x%x outside the %d instruction bytes", tag,
            fn.part(CodePart::kInstructions).size()));
      }
      return absl::OkStatus();
    default:
      return reject("mode is not patched");
  }
}

// No two sites may share a byte, not even two entries for the same data
// field with the same tag: V8 relocates entries one after the other, each
// reading its tag from the field, so the second would read the address the
// first wrote as its tag (V8 13.6 crashes on such caches). The instruction
// read to locate a pool slot must not be patched by any site either.
absl::Status CheckOverlaps(const ParsedFunction& fn) {
  std::vector<const PatchedSite*> order;
  for (const PatchedSite& s : fn.sites) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const PatchedSite* a, const PatchedSite* b) {
              return std::tie(a->site.field_offset, a->site.field_size) <
                     std::tie(b->site.field_offset, b->site.field_size);
            });
  // Instructions read to locate a pool slot must stay as written.
  for (const PatchedSite* reader : order) {
    if (reader->site.instruction_size == 0) continue;
    for (const PatchedSite* writer : order) {
      if (writer->site.field_offset <
              reader->site.pc + reader->site.instruction_size &&
          reader->site.pc < writer->site.field_offset + writer->site.field_size) {
        return MalformedError(
            section::kReloc,
            absl::StrFormat("%s at pc 0x%x patches the instruction of %s at "
                            "pc 0x%x",
                            RelocModeName(writer->mode), writer->site.pc,
                            RelocModeName(reader->mode), reader->site.pc),
            fn.code_offset() + reader->site.pc);
      }
    }
  }
  for (size_t i = 1; i < order.size(); ++i) {
    const PatchedSite& a = *order[i - 1];
    const PatchedSite& b = *order[i];
    if (b.site.field_offset < a.site.field_offset + a.site.field_size) {
      return MalformedError(
          section::kReloc,
          absl::StrFormat("%s at pc 0x%x patches bytes of %s at pc 0x%x",
                          RelocModeName(b.mode), b.site.pc,
                          RelocModeName(a.mode), a.site.pc),
          fn.code_offset() + b.site.field_offset);
    }
  }
  return absl::OkStatus();
}

// Decodes the RelocInfo stream of `fn`, locates and checks every site.
absl::Status AnalyzeCode(const Context& ctx, ParsedFunction& fn) {
  const absl::Span<const uint8_t> code = fn.part(CodePart::kInstructions);
  WASMCACHE_ASSIGN_OR_RETURN(
      fn.relocs,
      DecodeRelocStream(fn.part(CodePart::kRelocInfo),
                        static_cast<uint32_t>(code.size()),
                        fn.part_offsets[static_cast<int>(CodePart::kRelocInfo)]));
  for (const RelocEntry& entry : fn.relocs) {
    if (!IsAllowedInWasmCode(entry.mode)) {
      return MalformedError(
          section::kReloc,
          absl::StrFormat("mode %s at pc 0x%x is not allowed in wasm code",
                          RelocModeName(entry.mode), entry.pc),
          fn.code_offset() + entry.pc);
    }
    if (!ModeUsedOnTarget(ctx.env.arch, entry.mode)) {
      return MalformedError(
          section::kReloc,
          absl::StrFormat("mode %s at pc 0x%x is not used on %s",
                          RelocModeName(entry.mode), entry.pc,
                          ArchName(ctx.env.arch)),
          fn.code_offset() + entry.pc);
    }
    if (!IsSerializerPatched(entry.mode)) continue;
    PatchedSite patched;
    patched.mode = entry.mode;
    WASMCACHE_ASSIGN_OR_RETURN(
        patched.site,
        LocateSite(ctx.env.arch, code, entry, fn.code_offset(),
                   static_cast<uint32_t>(fn.header.constant_pool_offset)));
    patched.tag = ReadTag(ctx.env.arch, code.data(), patched.site);
    WASMCACHE_RETURN_IF_ERROR(CheckTag(ctx, fn, patched));
    fn.sites.push_back(patched);
  }
  WASMCACHE_RETURN_IF_ERROR(CheckOverlaps(fn));
  // The safepoint table must be well formed and inside the instructions.
  return SafepointTable::Parse(code, fn.header, ctx.env.arch, fn.code_offset())
      .status();
}

Context MakeContext(const ModuleInfo& module, const Environment& env) {
  Context ctx{module, env, TraitsOf(env.arch), {}};
  for (uint32_t s = 0; s < env.far_slot_builtins.size(); ++s) {
    ctx.far_slot_of_builtin[env.far_slot_builtins[s]] = s;
  }
  return ctx;
}

absl::Status ReadTurboFanFunction(ByteReader& r, const Context& ctx,
                                  ParsedFunction& fn) {
  r.set_section(section::kCodeHeader);
  const uint64_t header_offset = r.offset();
  WASMCACHE_RETURN_IF_ERROR(ReadLayout(r, fn.header));
  WASMCACHE_RETURN_IF_ERROR(
      CheckCodeHeader(fn.header, header_offset, ctx.traits, false));
  r.set_section(section::kCode);
  for (int p = 0; p < kNumCodeParts; ++p) {
    fn.part_offsets[p] = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(
        fn.parts[p],
        r.Bytes(static_cast<size_t>(fn.header.*kCodePartSizes[p]),
                kCodePartNames[p]));
  }
  return AnalyzeCode(ctx, fn);
}

}  // namespace

absl::Status CheckFunctionCode(const ModuleInfo& module,
                               const Environment& env, ParsedFunction& fn,
                               bool allow_liftoff) {
  WASMCACHE_RETURN_IF_ERROR(ValidateEnvironment(env, module));
  const Context ctx = MakeContext(module, env);
  if (fn.index < module.num_imported_functions ||
      fn.index >= module.num_functions()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "code: function %d is not a declared function", fn.index));
  }
  WASMCACHE_RETURN_IF_ERROR(
      CheckCodeHeader(fn.header, 0, ctx.traits, allow_liftoff));
  for (int p = 0; p < kNumCodeParts; ++p) {
    if (fn.parts[p].size() !=
        static_cast<size_t>(fn.header.*kCodePartSizes[p])) {
      return MalformedError(
          section::kCodeHeader,
          absl::StrFormat("%s holds %d bytes but the header says %d",
                          kCodePartNames[p], fn.parts[p].size(),
                          fn.header.*kCodePartSizes[p]),
          0);
    }
  }
  return AnalyzeCode(ctx, fn);
}

absl::StatusOr<ParsedCache> ParseCache(absl::Span<const uint8_t> cache,
                                       const ModuleInfo& module,
                                       const Environment& env) {
  WASMCACHE_RETURN_IF_ERROR(ValidateEnvironment(env, module));
  const Context ctx = MakeContext(module, env);
  ParsedCache parsed;
  ByteReader r(cache, ctx.traits.byte_order, ctx.traits.word_size);

  r.set_section(section::kHeader);
  if (cache.empty()) {
    return TruncatedError(section::kHeader, "empty input", 0);
  }
  WASMCACHE_RETURN_IF_ERROR(ReadLayout(r, parsed.header));
  WASMCACHE_RETURN_IF_ERROR(CheckGlobalHeader(parsed.header, env));
  WASMCACHE_RETURN_IF_ERROR(ReadModuleHeader(r, ctx, parsed));

  uint64_t code_total = 0;
  bool any_turbofan = false;
  parsed.functions.reserve(module.num_declared_functions);
  for (uint32_t i = 0; i < module.num_declared_functions; ++i) {
    ParsedFunction fn;
    fn.index = module.num_imported_functions + i;
    fn.record_offset = r.offset();
    r.set_section(section::kFunction);
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t tag, r.U8("tag"));
    if (tag != static_cast<uint8_t>(FunctionTag::kLazy) &&
        tag != static_cast<uint8_t>(FunctionTag::kEager) &&
        tag != static_cast<uint8_t>(FunctionTag::kTurboFan)) {
      return MalformedError(
          section::kFunction,
          absl::StrFormat("unknown tag %d for function %d", tag, fn.index),
          fn.record_offset);
    }
    fn.tag = static_cast<FunctionTag>(tag);
    if (fn.tag == FunctionTag::kTurboFan) {
      any_turbofan = true;
      WASMCACHE_RETURN_IF_ERROR(ReadTurboFanFunction(r, ctx, fn));
      code_total += static_cast<uint64_t>(fn.header.instructions_size);
    }
    parsed.functions.push_back(std::move(fn));
  }

  r.set_section(section::kTieringBudget);
  parsed.tiering_budgets_offset = r.offset();
  parsed.tiering_budgets.reserve(module.num_declared_functions);
  for (uint32_t i = 0; i < module.num_declared_functions; ++i) {
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t budget, r.U32("budget"));
    parsed.tiering_budgets.push_back(budget);
  }
  if (r.remaining() != 0) {
    return MalformedError(
        section::kTrailer,
        absl::StrFormat("%d bytes after the tiering budgets", r.remaining()),
        r.offset());
  }
  if (code_total != parsed.module_header.total_code_size) {
    return MalformedError(
        section::kModuleHeader,
        absl::StrFormat("total code size %d but the functions hold %d",
                        parsed.module_header.total_code_size, code_total),
        parsed.total_code_size_offset);
  }
  if (!any_turbofan) {
    return MalformedError(section::kFunction,
                          "no TurboFan function (V8 never writes such a "
                          "cache)",
                          parsed.functions.empty()
                              ? r.offset()
                              : parsed.functions.front().record_offset);
  }
  return parsed;
}

}  // namespace wasmcache::reference
