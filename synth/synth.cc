#include "synth/synth.h"

#include <algorithm>

#include "reference/byte_io.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "spec/errors.h"
#include "spec/layout.h"
#include "spec/v8_tables.h"
#include "synth/assembly.h"
#include "synth/function_code.h"
#include "synth/wasm_module.h"

namespace wasmcache::synth {

std::vector<RelocMode> SiteModes(Arch arch, bool all_forms) {
  std::vector<RelocMode> modes = {
      RelocMode::kWasmCall, RelocMode::kWasmStubCall,
      RelocMode::kExternalReference, RelocMode::kWasmCanonicalSigId,
      RelocMode::kWasmCodePointerTableEntry};
  switch (arch) {
    case Arch::kArm64:
      // V8's arm64 br_table is a pc-relative branch table: no internal
      // references; veneer pools only in functions over 1 MB of branches.
      if (all_forms) {
        modes.push_back(RelocMode::kInternalReference);
        modes.push_back(RelocMode::kVeneerPool);
      }
      break;
    case Arch::kArm:
      break;
    case Arch::kRiscv64:
    case Arch::kRiscv32:
      modes.push_back(RelocMode::kInternalReference);
      modes.push_back(RelocMode::kConstPool);
      break;
    case Arch::kPpc64:
      modes.push_back(RelocMode::kInternalReference);
      modes.push_back(RelocMode::kInternalReferenceEncoded);
      break;
    default:  // x64, ia32, mips64, s390x, loong64
      modes.push_back(RelocMode::kInternalReference);
      break;
  }
  return modes;
}

std::vector<RelocMode> SynthesizedModes(Arch arch, bool all_forms) {
  std::vector<RelocMode> modes = SiteModes(arch, all_forms);
  if (arch == Arch::kArm64 || arch == Arch::kArm) {
    modes.push_back(RelocMode::kConstPool);  // the pools of the loads
  }
  return modes;
}

std::unique_ptr<TargetEmitter> MakeEmitter(Arch arch, bool all_forms) {
  switch (arch) {
    case Arch::kX64: return MakeX64Emitter(all_forms);
    case Arch::kIa32: return MakeIa32Emitter(all_forms);
    case Arch::kArm64: return MakeArm64Emitter(all_forms);
    case Arch::kArm: return MakeArmEmitter(all_forms);
    case Arch::kRiscv64: return MakeRiscv64Emitter(all_forms);
    case Arch::kRiscv32: return MakeRiscv32Emitter(all_forms);
    case Arch::kMips64: return MakeMips64Emitter(all_forms);
    case Arch::kPpc64: return MakePpc64Emitter(all_forms);
    case Arch::kS390x: return MakeS390xEmitter(all_forms);
    case Arch::kLoong64: return MakeLoong64Emitter(all_forms);
  }
  return nullptr;
}

absl::StatusOr<SynthResult> Synthesize(const SynthOptions& options) {
  if (options.num_functions == 0 || options.num_functions > 100000) {
    return absl::InvalidArgumentError(
        "synth: num_functions must be in [1, 100000]");
  }
  const ArchTraits& traits = TraitsOf(options.arch);
  Rng rng(options.seed);
  SynthResult result;

  // 1. The module, and what the loader derives from it.
  const WasmModuleShape shape =
      RandomModuleShape(rng, options.num_functions, options.struct_type);
  result.wasm = EncodeModule(shape, rng);
  WASMCACHE_ASSIGN_OR_RETURN(const ModuleInfo module,
                             DecodeModuleInfo(result.wasm));
  const Environment env =
      DefaultEnvironment(options.arch, module);

  // 2. Function states: a mix, at least one TurboFan; the first TurboFan
  // function holds every mode.
  std::vector<FunctionTag> tags(options.num_functions);
  for (FunctionTag& tag : tags) {
    const uint32_t roll = rng.Uniform32(0, 7);
    tag = roll < 4 ? FunctionTag::kTurboFan
                   : roll < 6 ? FunctionTag::kLazy : FunctionTag::kEager;
  }
  tags[rng.Uniform(0, options.num_functions - 1)] = FunctionTag::kTurboFan;
  const FunctionContext ctx{options.arch,      module,
                            env,               options.canonical,
                            options.all_forms, options.max_sites_per_function};
  std::vector<TurboFanRecord> records;
  uint64_t total_code_size = 0;
  for (FunctionTag tag : tags) {
    if (tag != FunctionTag::kTurboFan) continue;
    const std::vector<RelocMode> forced =
        records.empty() ? SiteModes(options.arch, options.all_forms)
                        : std::vector<RelocMode>{};
    WASMCACHE_ASSIGN_OR_RETURN(TurboFanRecord record,
                               BuildTurboFanRecord(ctx, rng, forced));
    total_code_size += static_cast<uint64_t>(record.header.instructions_size);
    records.push_back(std::move(record));
  }

  // 3. Headers.
  GlobalHeader global;
  global.magic = v8_13_6::kMagicNumber;
  global.version_hash = v8_13_6::kVersionHash;
  global.cpu_features = rng.Chance(1, 2) ? rng.Next32() : rng.Next32() & 0x3ffff;
  global.flag_hash =
      rng.Chance(1, 2) ? v8_13_6::kFixtureFlagHash : rng.Next32();
  global.enabled_features =
      rng.Chance(1, 2) ? v8_13_6::kEnabledFeatures : rng.Next32() & 0xfffff;
  ModuleHeader mh;
  const uint32_t feature_choices[] = {0, 0x00400000,
                                      rng.Next32() & 0x00ffffff};
  mh.detected_features = rng.Pick(feature_choices);
  mh.total_code_size = total_code_size;
  mh.all_functions_validated = static_cast<uint8_t>(rng.Uniform(0, 1));
  mh.compile_time_imports = env.compile_time_imports;
  mh.constants_module = env.constants_module;
  for (uint32_t i = 0; i < module.num_imported_functions; ++i) {
    mh.well_known_imports.push_back(
        static_cast<uint8_t>(rng.Uniform(0, v8_13_6::kMaxWellKnownImport)));
  }

  // 4. The cache.
  reference::ByteWriter w(traits.byte_order, traits.word_size);
  reference::WriteLayout(w, global);
  reference::WriteLayout(w, mh, size_t{module.num_imported_functions});
  size_t next_record = 0;
  for (FunctionTag tag : tags) {
    w.U8(static_cast<uint8_t>(tag));
    if (tag != FunctionTag::kTurboFan) continue;
    const TurboFanRecord& record = records[next_record++];
    reference::WriteLayout(w, record.header);
    for (const std::vector<uint8_t>& part : record.parts) w.Bytes(part);
  }
  for (uint32_t i = 0; i < options.num_functions; ++i) {
    const uint32_t budgets[] = {13000000, rng.Uniform32(0, 13000000),
                                rng.Next32()};
    w.U32(rng.Pick(budgets));
  }
  result.cache = w.Release();
  return result;
}

}  // namespace wasmcache::synth
