// fuzz/lib: what the fuzz targets stand on. The container and the cache
// model must give back exactly what they read; the mutator must be
// deterministic, respect the engine's size limit, leave the wire bytes
// alone when asked, and mostly produce caches that get past the framing;
// the seed corpus must load in both implementations (so the fuzzers start
// deep); and a finding must abort with its signature.

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "equiv/equiv.h"
#include "fast/deserializer.h"
#include "fuzz/lib/byte_source.h"
#include "fuzz/lib/cache_model.h"
#include "fuzz/lib/container.h"
#include "fuzz/lib/finding.h"
#include "fuzz/lib/mutator.h"
#include "fuzz/lib/oracles.h"
#include "gtest/gtest.h"
#include "spec/module_info.h"
#include "synth/synth.h"
#include "tests/test_util.h"

namespace wasmcache::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::vector<uint8_t>>> Seeds() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  const fs::path dir =
      fs::path(WASMCACHE_SOURCE_DIR) / "corpus/fuzz/deserialize_fuzzer";
  for (const auto& entry : fs::directory_iterator(dir)) {
    out.emplace_back(entry.path().filename().string(),
                     testing::ReadBytes(entry.path().string()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The named seeds (v8-*: real caches, synth-*: synthesized ones) are
// valid; the rest of the corpus is what campaigns kept (any bytes).
bool NamedSeed(const std::string& name) {
  return name.rfind("v8-", 0) == 0 || name.rfind("synth-", 0) == 0;
}

TEST(Container, ReadsAnyBytesAndWritesThemBack) {
  Container c;
  c.arch = Arch::kS390x;
  c.flags = kOneThreadBit | kFromFileBit;
  c.wasm = {0, 'a', 's', 'm'};
  c.cache = {1, 2, 3};
  const std::vector<uint8_t> bytes = WriteContainer(c);
  ASSERT_EQ(bytes.size(), kContainerHeaderSize + 7);
  const ContainerView v = ViewContainer(bytes);
  EXPECT_EQ(v.arch, Arch::kS390x);
  EXPECT_TRUE(v.one_thread);
  EXPECT_TRUE(v.from_file);
  EXPECT_EQ(std::vector<uint8_t>(v.wasm.begin(), v.wasm.end()), c.wasm);
  EXPECT_EQ(std::vector<uint8_t>(v.cache.begin(), v.cache.end()), c.cache);
  EXPECT_EQ(WriteContainer(ParseContainer(bytes)), bytes);

  // A length past the end means "the rest"; short inputs are empty ones.
  const std::vector<uint8_t> odd = {0x0f, 0xff, 0xff, 0, 0, 7, 8};
  const ContainerView w = ViewContainer(odd);
  EXPECT_EQ(w.arch, Arch::kRiscv32);  // 15 mod 10
  EXPECT_EQ(w.wasm.size(), 2u);
  EXPECT_TRUE(w.cache.empty());
  EXPECT_EQ(ViewContainer({}).wasm.size(), 0u);
  EXPECT_EQ(ViewContainer(std::vector<uint8_t>{3, 9}).arch, Arch::kArm);
}

TEST(ByteSource, ZerosAfterTheEndAndRangesHold) {
  const std::vector<uint8_t> bytes = {0x34, 0x12, 0xff};
  ByteSource s(bytes);
  EXPECT_EQ(s.U16(), 0x1234);
  EXPECT_EQ(s.InRange(10, 12), 10u + 0xff % 3);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.U64(), 0u);
  EXPECT_EQ(s.InRange(5, 5), 5u);
}

TEST(CacheModel, WritesBackExactlyWhatItRead) {
  for (const auto& [name, bytes] : Seeds()) {
    if (!NamedSeed(name)) continue;
    const ContainerView v = ViewContainer(bytes);
    auto module = DecodeModuleInfo(v.wasm);
    ASSERT_TRUE(module.ok()) << name;
    auto model = ReadCacheModel(v.cache, v.arch, module->num_imported_functions,
                                module->num_declared_functions);
    ASSERT_TRUE(model.has_value()) << name;
    EXPECT_EQ(model->records.size(), module->num_declared_functions) << name;
    EXPECT_TRUE(model->trailing.empty()) << name;
    const std::vector<uint8_t> again = WriteCacheModel(*model);
    EXPECT_EQ(again, std::vector<uint8_t>(v.cache.begin(), v.cache.end()))
        << name;
    // The lengths a serializer writes are the ones already there.
    CacheModel fixed = *model;
    FixLengths(fixed);
    EXPECT_EQ(WriteCacheModel(fixed), again) << name;
    // Cut anywhere, what is read still writes back to the same bytes.
    for (size_t cut : {v.cache.size() / 3, v.cache.size() / 2,
                       v.cache.size() - 1}) {
      auto part = v.cache.subspan(0, cut);
      auto m = ReadCacheModel(part, v.arch, module->num_imported_functions,
                              module->num_declared_functions);
      if (!m.has_value()) continue;
      EXPECT_EQ(WriteCacheModel(*m),
                std::vector<uint8_t>(part.begin(), part.end()))
          << name << " cut at " << cut;
    }
  }
}

TEST(Seeds, EveryTargetHasSeedsAndTheyAllLoadInBothImplementations) {
  std::map<Arch, int> per_arch;
  for (const auto& [name, bytes] : Seeds()) {
    if (!NamedSeed(name)) continue;
    ContainerView v = ViewContainer(bytes);
    ++per_arch[v.arch];
    // CheckDeserialize aborts on any difference; it returns whether the
    // reference accepted. Each seed also with the fast load from a file.
    for (bool from_file : {false, true}) {
      v.from_file = from_file;
      EXPECT_TRUE(CheckDeserialize(v)) << name << (from_file ? " (file)" : "");
    }
  }
  EXPECT_EQ(per_arch.size(), static_cast<size_t>(kNumArchs));
}

// The file bit's load is the streamed one: the in-memory file
// CheckDeserialize writes is a regular file, and a seed in it loads
// streamed, a page at a time, with every byte read once.
TEST(Seeds, InAnInMemoryFileTheyLoadStreamed) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  int streamed = 0;
  for (const auto& [name, bytes] : Seeds()) {
    if (!NamedSeed(name)) continue;
    const ContainerView v = ViewContainer(bytes);
    auto module = DecodeModuleInfo(v.wasm);
    ASSERT_TRUE(module.ok()) << name;
    const std::string path = InMemoryCacheFile(v.cache);
    fast::CodeManager manager;
    fast::FileLoadStats stats;
    fast::LoadOptions options;
    options.file_window_bytes = page;
    options.file_stats = &stats;
    auto loaded = fast::DeserializeFile(
        manager, path, *module, DefaultEnvironment(v.arch, *module), options);
    ASSERT_TRUE(loaded.ok()) << name << ": " << loaded.status();
    EXPECT_TRUE(stats.streamed) << name;
    EXPECT_EQ(stats.bytes_read, v.cache.size()) << name;
    streamed += stats.streamed ? 1 : 0;
  }
  EXPECT_GT(streamed, 0);
}

TEST(Mutator, DeterministicBoundedAndMostlyPastTheFraming) {
  auto seeds = Seeds();
  std::erase_if(seeds, [](const auto& s) { return !NamedSeed(s.first); });
  int mutants = 0;
  int framed = 0;
  std::map<std::string, int> kinds;
  uint64_t seed = 0;
  for (const auto& [name, bytes] : seeds) {
    for (int k = 0; k < 40; ++k) {
      const uint64_t s = ++seed;
      const size_t max_size = bytes.size() + 256;
      const Mutation a = MutateContainer(bytes, max_size, s);
      const Mutation b = MutateContainer(bytes, max_size, s);
      ASSERT_EQ(a.bytes, b.bytes) << name << " seed " << s;
      ASSERT_EQ(a.description, b.description);
      ASSERT_LE(a.bytes.size(), max_size) << name << " " << a.description;
      ++kinds[a.description.substr(0, a.description.find(' '))];
      ++mutants;
      // Framing: the headers read and every record is whole.
      const ContainerView v = ViewContainer(a.bytes);
      auto module = DecodeModuleInfo(v.wasm);
      if (!module.ok()) continue;
      auto model = ReadCacheModel(v.cache, v.arch,
                                  module->num_imported_functions,
                                  module->num_declared_functions);
      framed += model.has_value() &&
                model->records.size() == module->num_declared_functions &&
                model->trailing.empty();
    }
  }
  // Every mutation kind is drawn.
  for (const char* kind :
       {"header-word", "module-header", "record-tag", "code-header",
        "reloc-entry", "site-tag", "code-bytes", "metadata",
        "tiering-budgets", "structure", "raw", "wasm"}) {
    EXPECT_GT(kinds[kind], 0) << kind;
  }
  EXPECT_GT(framed * 100, mutants * 60)
      << framed << " of " << mutants << " mutants are framed";
}

TEST(Mutator, SizeLimitAndCacheOnly) {
  const auto seeds = Seeds();
  const auto& [name, bytes] = seeds.front();
  for (uint64_t s = 0; s < 200; ++s) {
    const Mutation m = MutateContainer(bytes, bytes.size(), s);
    ASSERT_LE(m.bytes.size(), bytes.size()) << m.description;
    MutatorOptions options;
    options.cache_only = true;
    const Mutation c = MutateContainer(bytes, bytes.size() + 4096, s, options);
    const ContainerView before = ViewContainer(bytes);
    const ContainerView after = ViewContainer(c.bytes);
    ASSERT_EQ(after.arch, before.arch) << c.description;
    ASSERT_EQ(after.one_thread, before.one_thread);
    ASSERT_EQ(after.from_file, before.from_file);
    ASSERT_TRUE(std::equal(after.wasm.begin(), after.wasm.end(),
                           before.wasm.begin(), before.wasm.end()))
        << c.description;
  }
}

TEST(Mutator, BuiltinRawMutationStaysInTheBuffer) {
  std::vector<uint8_t> buffer(64, 0xab);
  size_t size = 16;
  for (uint64_t s = 0; s < 2000; ++s) {
    size = BuiltinRawMutate(buffer.data(), size, buffer.size(), s);
    ASSERT_LE(size, buffer.size());
    if (size == 0) size = 1;
  }
}

TEST(Finding, SignaturesAreStableSlugs) {
  EXPECT_EQ(Slug("code header"), "code-header");
  EXPECT_EQ(Slug("jump-table slot target"), "jump-table-slot-target");
  EXPECT_EQ(Slug("  Serialized  Bytes: "), "serialized-bytes");
}

TEST(FindingDeathTest, AbortsWithItsSignature) {
  EXPECT_DEATH(ReportFinding("reference-fast-status-difference", "details"),
               "wasmcache-finding: reference-fast-status-difference");
}

TEST(Oracle, DifferencesNameAStableField) {
  // Two outcomes that differ only in status code, then only in bytes.
  equiv::Outcome a, b;
  a.status = absl::OkStatus();
  b.status = absl::DataLossError("code: x at offset 0x10");
  ModuleInfo module;
  Environment env;
  EXPECT_EQ(equiv::CompareOutcomes(a, b, module, env).field, "status");
  b.status = absl::OkStatus();
  a.serialized = {1, 2, 3};
  b.serialized = {1, 2};
  EXPECT_EQ(equiv::CompareOutcomes(a, b, module, env).field,
            "serialized size");
  b.serialized = {1, 2, 4};
  EXPECT_EQ(equiv::CompareOutcomes(a, b, module, env).field,
            "serialized bytes");
  b.serialized = a.serialized;
  EXPECT_TRUE(equiv::CompareOutcomes(a, b, module, env).empty());
}

TEST(RoundTrip, SeedsRunOnEveryTarget) {
  // CheckRoundTrip aborts on any failure; each target once.
  for (int arch = 0; arch < kNumArchs; ++arch) {
    const std::vector<uint8_t> input = {static_cast<uint8_t>(arch), 7, 0, 0, 0,
                                        0, 0, 0, 0, 5, 1, 6, 3};
    ByteSource source(input);
    CheckRoundTrip(source);
  }
}

}  // namespace
}  // namespace wasmcache::fuzz
