// The cache generator (synth/): for every target, synthesized caches are
// deterministic, parse, relocate to their canonical form and stay fixed,
// cover every mode the target uses, come with a module wabt validates, and
// on x64 and arm64 have the structure of real V8 13.6 caches. The command
// line's synth output goes through verify, relocate and inspect.

#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/byte_io.h"
#include "reference/cache_parser.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/serializer.h"
#include "synth/synth.h"
#include "tests/impl.h"
#include "tests/test_util.h"

namespace wasmcache::testing {
namespace {

using reference::ParsedCache;
using reference::PatchedSite;

constexpr Arch kAllArchs[] = {Arch::kX64,     Arch::kIa32,    Arch::kArm64,
                              Arch::kArm,     Arch::kRiscv64, Arch::kRiscv32,
                              Arch::kMips64,  Arch::kPpc64,   Arch::kS390x,
                              Arch::kLoong64};
constexpr uint64_t kSeeds[] = {1, 7, 12345, 0xdeadbeefcafe};
constexpr uint32_t kSizes[] = {1, 5, 40};

struct Loaded {
  synth::SynthResult result;
  ModuleInfo module;
  Environment env;
};

Loaded Make(const synth::SynthOptions& options) {
  Loaded l;
  auto result = synth::Synthesize(options);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return l;
  l.result = *result;
  auto module = DecodeModuleInfo(l.result.wasm);
  EXPECT_TRUE(module.ok()) << module.status();
  if (!module.ok()) return l;
  l.module = *module;
  l.env = DefaultEnvironment(options.arch, l.module);
  return l;
}

// The canonical form of a parsed cache (as in fixtures_test.cc): x64
// external references lose their high halves; signature tags become the
// smallest type index of their class.
std::vector<uint8_t> Canonical(Arch arch, const Loaded& l,
                               const ParsedCache& p) {
  std::vector<uint8_t> out = l.result.cache;
  for (const auto& fn : p.functions) {
    for (const PatchedSite& s : fn.sites) {
      const uint64_t at = fn.code_offset() + s.site.field_offset;
      if (s.mode == RelocMode::kExternalReference && arch == Arch::kX64) {
        std::memset(out.data() + at + 4, 0, 4);
      }
      if (s.mode == RelocMode::kWasmCanonicalSigId) {
        uint32_t smallest = static_cast<uint32_t>(s.tag);
        for (uint32_t t = 0; t < l.module.num_types(); ++t) {
          if (l.module.is_signature[t] &&
              l.env.canonical_sig_ids[t] == l.env.canonical_sig_ids[s.tag]) {
            smallest = t;
            break;
          }
        }
        if (s.site.form == reference::SiteForm::kAbsolute64 ||
            s.site.form == reference::SiteForm::kImm32) {
          reference::StoreUnaligned(out.data() + at, smallest,
                                    s.site.field_size,
                                    TraitsOf(arch).byte_order);
        } else {
          EXPECT_TRUE(reference::WriteTag(arch, out.data() + fn.code_offset(),
                                          s.site, smallest));
        }
      }
    }
  }
  return out;
}

// Loads and re-serializes with the implementation of this run of the
// suite (tests/impl.h).
std::vector<uint8_t> Relocate(const Loaded& l,
                              absl::Span<const uint8_t> cache) {
  std::vector<uint8_t> bytes;
  const absl::Status status = testing::LoadAndSerialize(
      testing::SelectedImpl(), cache, l.module, l.env, &bytes);
  EXPECT_TRUE(status.ok()) << status;
  return bytes;
}

std::string Name(Arch arch, uint64_t seed, uint32_t size) {
  return absl::StrFormat("%s seed %d functions %d", ArchName(arch), seed, size);
}

TEST(Synth, IsDeterministicAndSeedsDiffer) {
  WASMCACHE_REFERENCE_ONLY("tests the synthesizer, not a loader");
  for (Arch arch : kAllArchs) {
    for (uint32_t size : kSizes) {
      for (uint64_t seed : kSeeds) {
        SCOPED_TRACE(Name(arch, seed, size));
        synth::SynthOptions options{.arch = arch, .seed = seed,
                                    .num_functions = size};
        auto a = synth::Synthesize(options);
        auto b = synth::Synthesize(options);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ(a->cache, b->cache);
        EXPECT_EQ(a->wasm, b->wasm);
        options.seed = seed + 1;
        auto c = synth::Synthesize(options);
        ASSERT_TRUE(c.ok());
        EXPECT_NE(a->cache, c->cache);
      }
    }
  }
}

TEST(Synth, RejectsNoFunctions) {
  WASMCACHE_REFERENCE_ONLY("tests the synthesizer, not a loader");
  synth::SynthOptions options{.arch = Arch::kX64, .seed = 1, .num_functions = 0};
  EXPECT_EQ(synth::Synthesize(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Synth, ParsesAndRelocatesToCanonicalFormOnEveryTarget) {
  for (Arch arch : kAllArchs) {
    for (uint32_t size : kSizes) {
      for (uint64_t seed : kSeeds) {
        for (bool canonical : {false, true}) {
          for (bool all_forms : {false, true}) {
            SCOPED_TRACE(Name(arch, seed, size) +
                         (canonical ? " canonical" : "") +
                         (all_forms ? " all-forms" : ""));
            const Loaded l = Make({.arch = arch, .seed = seed,
                                   .num_functions = size,
                                   .canonical = canonical,
                                   .all_forms = all_forms,
                                   .struct_type = seed % 2 == 0});
            auto parsed = reference::ParseCache(l.result.cache, l.module, l.env);
            ASSERT_TRUE(parsed.ok()) << parsed.status();
            const std::vector<uint8_t> expected = Canonical(arch, l, *parsed);
            if (canonical) EXPECT_TRUE(expected == l.result.cache);
            const std::vector<uint8_t> once = Relocate(l, l.result.cache);
            ASSERT_EQ(once.size(), expected.size());
            EXPECT_TRUE(once == expected)
                << "relocate output differs from the canonical form";
            const std::vector<uint8_t> twice = Relocate(l, once);
            EXPECT_TRUE(twice == once) << "relocating again changed it";
          }
        }
      }
    }
  }
}

TEST(Synth, EveryModeOfTheTargetAppears) {
  WASMCACHE_REFERENCE_ONLY("tests the synthesizer, not a loader");
  for (Arch arch : kAllArchs) {
    for (bool all_forms : {false, true}) {
      for (uint64_t seed : kSeeds) {
        SCOPED_TRACE(Name(arch, seed, 8) + (all_forms ? " all-forms" : ""));
        const Loaded l = Make({.arch = arch, .seed = seed, .num_functions = 8,
                               .all_forms = all_forms});
        auto parsed = reference::ParseCache(l.result.cache, l.module, l.env);
        ASSERT_TRUE(parsed.ok()) << parsed.status();
        std::set<RelocMode> seen;
        for (const auto& fn : parsed->functions) {
          for (const auto& entry : fn.relocs) seen.insert(entry.mode);
        }
        const std::vector<RelocMode> modes =
            synth::SynthesizedModes(arch, all_forms);
        EXPECT_EQ(seen, std::set<RelocMode>(modes.begin(), modes.end()));
        for (RelocMode mode : modes) {
          EXPECT_TRUE(reference::ModeUsedOnTarget(arch, mode))
              << RelocModeName(mode);
        }
      }
    }
  }
}

TEST(Synth, ModulesPassWasmValidate) {
  WASMCACHE_REFERENCE_ONLY("tests the synthesizer, not a loader");
  std::string out;
  ASSERT_EQ(RunCommand("command -v wasm-validate", &out), 0)
      << "wabt's wasm-validate is required";
  const std::string dir = std::string(WASMCACHE_BINARY_DIR) + "/synth-test";
  ASSERT_EQ(RunCommand("mkdir -p " + dir, &out), 0);
  for (Arch arch : kAllArchs) {
    for (uint64_t seed : kSeeds) {
      for (bool gc : {false, true}) {
        SCOPED_TRACE(Name(arch, seed, 6));
        auto r = synth::Synthesize(
            {.arch = arch, .seed = seed, .num_functions = 6, .struct_type = gc});
        ASSERT_TRUE(r.ok());
        const std::string path = dir + "/module.wasm";
        FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        std::fwrite(r->wasm.data(), 1, r->wasm.size(), f);
        std::fclose(f);
        const int status = RunCommand(
            "wasm-validate " + std::string(gc ? "--enable-gc " : "") + path +
                " 2>&1",
            &out);
        EXPECT_EQ(status, 0) << out;
      }
    }
  }
}

// The structure of a cache: per mode, the site forms and instruction forms
// at its sites.
using Structure = std::map<RelocMode, std::set<std::string>>;

std::string InstructionForm(Arch arch, RelocMode mode,
                            absl::Span<const uint8_t> code, uint32_t pc) {
  if (arch == Arch::kX64) {
    switch (mode) {
      case RelocMode::kWasmCall:
      case RelocMode::kWasmStubCall:
        return code[pc - 1] == 0xe8 ? "call rel32" : code[pc - 1] == 0xe9
                                                         ? "jmp rel32"
                                                         : "?";
      case RelocMode::kExternalReference:
        return (code[pc - 2] & 0xfe) == 0x48 && (code[pc - 1] & 0xf8) == 0xb8
                   ? "movabs r64, imm64"
                   : "?";
      case RelocMode::kWasmCanonicalSigId:
      case RelocMode::kWasmCodePointerTableEntry:
        return (code[pc - 1] & 0xf8) == 0xb8 ? "mov r32, imm32" : "?";
      default:
        return "data";
    }
  }
  if (pc + 4 > code.size()) return "?";
  const uint32_t insn = static_cast<uint32_t>(
      reference::LoadUnaligned(code.data() + pc, 4, ByteOrder::kLittle));
  if (mode == RelocMode::kInternalReference) return "data";
  if ((insn & 0xfc000000) == 0x94000000) return "bl";
  if ((insn & 0xfc000000) == 0x14000000) return "b";
  if ((insn & 0xff00001f) == 0x5800001f) {
    return "ldr xzr, literal (pool marker)";
  }
  if ((insn & 0xff000000) == 0x58000000) return "ldr x, literal";
  if ((insn & 0xff000000) == 0x18000000) return "ldr w, literal";
  return absl::StrFormat("other %08x", insn);
}

void AddStructure(Arch arch, const ParsedCache& parsed, Structure& s) {
  for (const auto& fn : parsed.functions) {
    size_t next_site = 0;
    for (const auto& entry : fn.relocs) {
      std::string form =
          InstructionForm(arch, entry.mode, fn.part(CodePart::kInstructions),
                          entry.pc);
      if (IsSerializerPatched(entry.mode)) {
        form += absl::StrFormat(
            " / form %d",
            static_cast<int>(fn.sites[next_site++].site.form));
      }
      s[entry.mode].insert(form);
    }
  }
}

TEST(Synth, HasTheStructureOfRealCaches) {
  WASMCACHE_REFERENCE_ONLY("tests the synthesizer, not a loader");
  for (Arch arch : {Arch::kX64, Arch::kArm64}) {
    SCOPED_TRACE(ArchName(arch));
    Structure real;
    for (const Fixture& fixture : CommittedFixtures()) {
      if (fixture.arch != arch) continue;
      const LoadedFixture f = LoadFixture(fixture);
      auto parsed = reference::ParseCache(f.cache, f.module, f.env);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      AddStructure(arch, *parsed, real);
    }
    ASSERT_FALSE(real.empty());
    Structure synthesized;
    for (uint64_t seed : kSeeds) {
      const Loaded l = Make({.arch = arch, .seed = seed, .num_functions = 30});
      auto parsed = reference::ParseCache(l.result.cache, l.module, l.env);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      AddStructure(arch, *parsed, synthesized);
    }
    for (const auto& [mode, forms] : real) {
      SCOPED_TRACE(RelocModeName(mode));
      ASSERT_TRUE(synthesized.contains(mode)) << "mode missing";
      EXPECT_EQ(synthesized[mode], forms);
    }
    for (const auto& [mode, forms] : synthesized) {
      EXPECT_TRUE(real.contains(mode))
          << RelocModeName(mode) << " is not in the real caches";
    }
  }
}

TEST(SynthCli, SynthVerifyRelocateInspect) {
  WASMCACHE_REFERENCE_ONLY("tests the synthesizer, not a loader");
  const std::string cli = WASMCACHE_CLI;
  const std::string dir = std::string(WASMCACHE_BINARY_DIR) + "/synth-cli";
  std::string out;
  ASSERT_EQ(RunCommand("mkdir -p " + dir, &out), 0);
  for (Arch arch : kAllArchs) {
    const std::string a(ArchName(arch));
    SCOPED_TRACE(a);
    const std::string cache = dir + "/" + a + ".cache";
    const std::string wasm = dir + "/" + a + ".wasm";
    ASSERT_EQ(RunCommand(cli + " synth --arch " + a +
                             " --seed 42 --functions 9 -o " + cache +
                             " --wasm-out " + wasm,
                         &out),
              0)
        << out;
    // The same bytes as the library.
    auto r = synth::Synthesize({.arch = arch, .seed = 42, .num_functions = 9});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(ReadBytes(cache), r->cache);
    EXPECT_EQ(ReadBytes(wasm), r->wasm);
    ASSERT_EQ(RunCommand(cli + " verify --arch " + a + " --wasm " + wasm + " " +
                             cache,
                         &out),
              0)
        << out;
    EXPECT_NE(out.find("valid: " + a), std::string::npos) << out;
    ASSERT_EQ(RunCommand(cli + " relocate --arch " + a + " --wasm " + wasm +
                             " " + cache + " -o " + cache + ".relocated",
                         &out),
              0)
        << out;
    ASSERT_EQ(RunCommand(cli + " inspect --json --arch " + a + " --wasm " +
                             wasm + " " + cache + ".relocated",
                         &out),
              0)
        << out;
    EXPECT_NE(out.find("\"arch\": \"" + a + "\""), std::string::npos);
    EXPECT_NE(out.find("WASM_STUB_CALL"), std::string::npos);
  }
  EXPECT_EQ(RunCommand(cli + " synth --arch x64 -o x --wasm-out y", &out), 2);
}

}  // namespace
}  // namespace wasmcache::testing
