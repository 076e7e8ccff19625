// The cases of V8's test/cctest/wasm/test-wasm-serialization.cc, as far as
// they mean something outside V8, run against the reference deserializer
// and serializer on real V8 13.6 caches.
//
// V8's tests compile a module, serialize it and load it back in a fresh
// isolate. Here the caches come from V8 itself (corpus/v8-13.6), and "a
// fresh isolate" is a fresh CodeManager. Cases that exist for V8's
// embedding alone (source URLs, the code-generation callback, sharing a
// NativeModule across isolates) have no counterpart; the closest one,
// two independent loads of one cache, is TwoLoadsOfOneCacheAreIndependent.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/cache_parser.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/native_module.h"
#include "reference/serializer.h"
#include "spec/layout.h"
#include "spec/v8_tables.h"
#include "tests/impl.h"
#include "tests/test_util.h"

namespace wasmcache {
namespace {

using Bytes = std::vector<uint8_t>;
using absl::StatusCode;
using reference::CodeManager;
using wasmcache::Environment;
using reference::FunctionState;
using wasmcache::ModuleInfo;
using reference::NativeModule;
using reference::ParsedCache;
using wasmcache::testing::Impl;
using wasmcache::testing::LoadAndSerialize;
using wasmcache::testing::LoadCommitted;
using wasmcache::testing::SelectedImpl;
using wasmcache::testing::LoadedFixture;

// Byte offsets of the V8 13.6 layout on 64-bit targets.
constexpr size_t kVersionHashAt = 4;
constexpr size_t kDetectedFeaturesAt = 20;
constexpr size_t kTotalCodeSizeAt = 24;

uint64_t LoadLe(const Bytes& bytes, size_t at, size_t count) {
  EXPECT_LE(at + count, bytes.size());
  uint64_t value = 0;
  for (size_t i = 0; i < count && at + i < bytes.size(); ++i) {
    value |= uint64_t{bytes[at + i]} << (8 * i);
  }
  return value;
}

void StoreLe(Bytes& bytes, size_t at, uint64_t value, size_t count) {
  ASSERT_LE(at + count, bytes.size());
  for (size_t i = 0; i < count; ++i) {
    bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

std::vector<LoadedFixture> AllCommitted() {
  std::vector<LoadedFixture> out;
  for (const auto& fixture : wasmcache::testing::CommittedFixtures()) {
    out.push_back(wasmcache::testing::LoadFixture(fixture));
  }
  EXPECT_GE(out.size(), 14u);
  return out;
}

ParsedCache Parse(const Bytes& cache, const LoadedFixture& f) {
  absl::StatusOr<ParsedCache> parsed =
      reference::ParseCache(cache, f.module, f.env);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *std::move(parsed) : ParsedCache{};
}

// Fixtures made with V8 flags other than --no-liftoff
// --no-wasm-lazy-compilation carry a <name>.flags file (PROVENANCE).
bool HasOwnFlags(const LoadedFixture& f) {
  std::filesystem::path flags = f.fixture.cache_path;
  flags.replace_extension(".flags");
  return std::filesystem::exists(flags);
}

FunctionState StateOf(FunctionTag tag) {
  switch (tag) {
    case FunctionTag::kLazy:
      return FunctionState::kLazy;
    case FunctionTag::kEager:
      return FunctionState::kEager;
    case FunctionTag::kTurboFan:
      break;
  }
  return FunctionState::kTurboFan;
}

// Deserializes and serializes in a fresh code manager, with the
// implementation of this run of the suite (tests/impl.h).
absl::StatusOr<Bytes> RoundTrip(const Bytes& cache, const ModuleInfo& module,
                                const Environment& env) {
  Bytes out;
  const absl::Status status =
      LoadAndSerialize(SelectedImpl(), cache, module, env, &out);
  if (!status.ok()) return status;
  return out;
}

// Expects a rejection with `code`, and an empty code manager afterwards.
// The reference's message must contain `part`; the fast implementation's
// words are its own, but it names the reference's section and offset.
void ExpectRejected(const Bytes& cache, const ModuleInfo& module,
                    const Environment& env, StatusCode code,
                    const std::string& part) {
  const absl::StatusOr<Bytes> out = RoundTrip(cache, module, env);
  ASSERT_FALSE(out.ok()) << "accepted";
  EXPECT_EQ(out.status().code(), code) << out.status();
  if (SelectedImpl() != Impl::kReference) {
    wasmcache::testing::ExpectReferenceSectionAndOffset(out.status(), cache,
                                                        module, env);
    return;
  }
  EXPECT_NE(std::string(out.status().message()).find(part), std::string::npos)
      << out.status() << " lacks \"" << part << "\"";
}

// Replaces each listed function's record by a bare tag (2 lazy, 3 eager)
// and lowers the total code size to match, as V8's writer would for
// functions without TurboFan code.
Bytes WithoutCode(const Bytes& cache, const LoadedFixture& f,
                  const std::vector<std::pair<uint32_t, uint8_t>>& changes) {
  const ParsedCache parsed = Parse(cache, f);
  Bytes out = cache;
  uint64_t total = LoadLe(cache, kTotalCodeSizeAt, 8);
  // From the last record to the first, so earlier offsets stay valid.
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    const auto& [declared, tag] = *it;
    const size_t begin = parsed.functions[declared].record_offset;
    const size_t end = declared + 1 < parsed.functions.size()
                           ? parsed.functions[declared + 1].record_offset
                           : parsed.tiering_budgets_offset;
    total -= static_cast<uint32_t>(
        parsed.functions[declared].header.instructions_size);
    out.erase(out.begin() + begin + 1, out.begin() + end);
    out[begin] = tag;
  }
  StoreLe(out, kTotalCodeSizeAt, total, 8);
  return out;
}

// --- DeserializeValidModule -------------------------------------------------

TEST(V8SerializationTest, DeserializeValidModule) {
  int turbofan_only = 0;
  for (const LoadedFixture& f : AllCommitted()) {
    SCOPED_TRACE(f.fixture.name);
    const ParsedCache parsed = Parse(f.cache, f);
    ASSERT_EQ(parsed.functions.size(), f.module.num_declared_functions);
    // Made with --no-liftoff --no-wasm-lazy-compilation, every function
    // has TurboFan code (V8's test serializes after tier-up).
    if (!HasOwnFlags(f)) {
      ++turbofan_only;
      for (const auto& fn : parsed.functions) {
        EXPECT_EQ(fn.tag, FunctionTag::kTurboFan) << "function " << fn.index;
      }
    }
    CodeManager manager;
    absl::StatusOr<std::unique_ptr<NativeModule>> native =
        reference::DeserializeWithWireBytes(manager, f.cache, f.wire, f.env);
    ASSERT_TRUE(native.ok()) << native.status();
    const NativeModule& m = **native;
    EXPECT_GE(manager.num_code_spaces(), 1u);
    EXPECT_GT(manager.committed_bytes(), 0u);
    EXPECT_EQ(m.global_header, parsed.header);
    EXPECT_EQ(m.module_header, parsed.module_header);
    EXPECT_EQ(m.tiering_budgets, parsed.tiering_budgets);
    ASSERT_EQ(m.module().num_declared_functions,
              f.module.num_declared_functions);
    for (uint32_t i = 0; i < f.module.num_declared_functions; ++i) {
      SCOPED_TRACE(absl::StrFormat("declared function %d", i));
      const reference::ParsedFunction& fn = parsed.functions[i];
      EXPECT_EQ(m.function_states[i], StateOf(fn.tag));
      const reference::WasmCode* code = m.GetCode(i);
      if (fn.tag != FunctionTag::kTurboFan) {
        EXPECT_EQ(code, nullptr);
        continue;
      }
      ASSERT_NE(code, nullptr);
      EXPECT_EQ(code->index(), f.module.num_imported_functions + i);
      EXPECT_EQ(code->header().tier, kTierTurboFan);
      EXPECT_EQ(code->header(), fn.header);
      // The code is found from any pc inside it.
      for (uint64_t pc :
           {code->instruction_start(),
            code->instruction_start() + code->instructions_size() - 1}) {
        EXPECT_EQ(manager.LookupCode(pc), code);
        EXPECT_EQ(manager.LookupNativeModule(pc), native->get());
      }
      EXPECT_EQ(code->part(CodePart::kRelocInfo).size(),
                static_cast<size_t>(fn.header.reloc_info_size));
    }
  }
  EXPECT_GE(turbofan_only, 14);
}

// --- DeserializeMismatchingVersion ------------------------------------------

TEST(V8SerializationTest, DeserializeMismatchingVersion) {
  for (const char* name : {"x64/calls", "arm64/calls"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    ASSERT_EQ(LoadLe(f.cache, kVersionHashAt, 4), v8_13_6::kVersionHash);
    for (size_t at = kVersionHashAt; at < kVersionHashAt + 4; ++at) {
      Bytes cache = f.cache;
      cache[at] ^= 0x01;
      ExpectRejected(cache, f.module, f.env, StatusCode::kFailedPrecondition,
                     "version_hash");
    }
    // The same cache against an environment of another V8 version.
    Environment other = f.env;
    other.expected_header[1] = v8_13_6::kVersionHash + 1;
    ExpectRejected(f.cache, f.module, other, StatusCode::kFailedPrecondition,
                   "version_hash");
  }
}

// --- SerializationFailsOnChangedFlags ---------------------------------------

TEST(V8SerializationTest, SerializationFailsOnChangedFlags) {
  for (const char* name : {"x64/memory", "arm64/memory"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    // The fixtures were made with --no-liftoff --no-wasm-lazy-compilation.
    Environment same = f.env;
    same.expected_header[3] = v8_13_6::kFixtureFlagHash;
    EXPECT_TRUE(RoundTrip(f.cache, f.module, same).ok());
    // A loader started with other flags has another hash.
    Environment changed = f.env;
    changed.expected_header[3] = v8_13_6::kFixtureFlagHash ^ 0x00010000;
    ExpectRejected(f.cache, f.module, changed, StatusCode::kFailedPrecondition,
                   "flag_hash");
    // And a cache made with other flags is refused by a checking loader.
    Bytes cache = f.cache;
    StoreLe(cache, 12, v8_13_6::kFixtureFlagHash + 1, 4);
    ExpectRejected(cache, f.module, same, StatusCode::kFailedPrecondition,
                   "flag_hash");
  }
}

// --- SerializationFailsOnChangedFeatures ------------------------------------

TEST(V8SerializationTest, SerializationFailsOnChangedFeatures) {
  for (const char* name : {"x64/imports", "arm64/imports"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    Environment same = f.env;
    same.expected_header[4] = v8_13_6::kEnabledFeatures;
    EXPECT_TRUE(RoundTrip(f.cache, f.module, same).ok());
    // One more enabled feature (V8's test enables imported strings).
    for (uint32_t bit : {0u, 1u, 20u}) {
      SCOPED_TRACE(bit);
      Environment changed = f.env;
      changed.expected_header[4] = v8_13_6::kEnabledFeatures | (1u << bit);
      ASSERT_NE(*changed.expected_header[4], v8_13_6::kEnabledFeatures);
      ExpectRejected(f.cache, f.module, changed,
                     StatusCode::kFailedPrecondition, "enabled_features");
    }
  }
}

// --- DeserializeNoSerializedData --------------------------------------------

TEST(V8SerializationTest, DeserializeNoSerializedData) {
  for (const char* name : {"x64/calls", "arm64/calls"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    ExpectRejected({}, f.module, f.env, StatusCode::kOutOfRange,
                   "header: empty input");
    CodeManager manager;
    const auto native =
        reference::DeserializeWithWireBytes(manager, {}, f.wire, f.env);
    EXPECT_EQ(native.status().code(), StatusCode::kOutOfRange)
        << native.status();
    EXPECT_EQ(manager.num_code_spaces(), 0u);
  }
}

// --- DeserializeWireBytesAndSerializedDataInvalid ---------------------------

TEST(V8SerializationTest, DeserializeWireBytesAndSerializedDataInvalid) {
  for (const char* name : {"x64/calls", "arm64/calls"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    Bytes bad_version = f.cache;
    bad_version[kVersionHashAt] ^= 0xff;
    const Bytes zero_wire(f.wire.size(), 0);
    struct Case {
      const char* what;
      const Bytes& cache;
      const Bytes& wire;
      StatusCode code;
      std::string message_start;
    };
    const Case cases[] = {
        // The wire bytes are decoded first: their error wins.
        {"both invalid", bad_version, zero_wire, StatusCode::kDataLoss,
         "wasm: not a wasm module"},
        {"zeroed wire bytes", f.cache, zero_wire, StatusCode::kDataLoss,
         "wasm: not a wasm module"},
        {"bad version", bad_version, f.wire, StatusCode::kFailedPrecondition,
         "header: version_hash"},
        {"no wire bytes", f.cache, Bytes{}, StatusCode::kOutOfRange, "wasm: "},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(c.what);
      CodeManager manager;
      const auto native =
          reference::DeserializeWithWireBytes(manager, c.cache, c.wire, f.env);
      ASSERT_FALSE(native.ok());
      EXPECT_EQ(native.status().code(), c.code) << native.status();
      EXPECT_EQ(std::string(native.status().message())
                    .substr(0, c.message_start.size()),
                c.message_start)
          << native.status();
      EXPECT_EQ(manager.num_code_spaces(), 0u);
      EXPECT_EQ(manager.committed_bytes(), 0u);
    }
  }
}

// --- DeserializeTieringBudgetPartlyMissing ----------------------------------

TEST(V8SerializationTest, DeserializeTieringBudgetPartlyMissing) {
  for (const LoadedFixture& f : AllCommitted()) {
    SCOPED_TRACE(f.fixture.name);
    for (size_t missing : {1, 2, 3, 4}) {
      SCOPED_TRACE(missing);
      const Bytes cache(f.cache.begin(), f.cache.end() - missing);
      ExpectRejected(cache, f.module, f.env, StatusCode::kOutOfRange,
                     "tiering budget: ");
    }
  }
}

// --- SerializeTieringBudget -------------------------------------------------

TEST(V8SerializationTest, SerializeTieringBudget) {
  for (const char* name : {"x64/calls", "arm64/calls", "x64/imports"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const uint32_t n = f.module.num_declared_functions;
    std::vector<uint32_t> budgets(n);
    for (uint32_t i = 0; i < n; ++i) budgets[i] = 0x01000000u + 977 * i;
    Bytes serialized;
    {
      CodeManager manager;
      auto native = reference::Deserialize(manager, f.cache, f.module, f.env);
      ASSERT_TRUE(native.ok()) << native.status();
      // V8's default budget for every function in the fixtures.
      for (uint32_t b : (*native)->tiering_budgets) EXPECT_EQ(b, 13000000u);
      (*native)->tiering_budgets = budgets;
      auto out = reference::Serializer(**native).Serialize();
      ASSERT_TRUE(out.ok()) << out.status();
      serialized = *out;
    }
    ASSERT_EQ(serialized.size(), f.cache.size());
    for (uint32_t i = 0; i < n; ++i) {
      EXPECT_EQ(LoadLe(serialized, serialized.size() - 4 * (n - i), 4),
                budgets[i]);
    }
    CodeManager manager;
    auto native = reference::Deserialize(manager, serialized, f.module, f.env);
    ASSERT_TRUE(native.ok()) << native.status();
    EXPECT_EQ((*native)->tiering_budgets, budgets);
  }
}

// --- SerializeDetectedFeatures ----------------------------------------------

TEST(V8SerializationTest, SerializeDetectedFeatures) {
  for (const char* name : {"x64/calls", "arm64/calls", "x64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const auto written =
        static_cast<uint32_t>(LoadLe(f.cache, kDetectedFeaturesAt, 4));
    // calls.wat uses return_call, which V8 records as a detected feature.
    if (std::string(name).ends_with("calls")) EXPECT_NE(written, 0u);
    for (uint32_t features : {written, written | 0x1u, 0x80000001u}) {
      SCOPED_TRACE(features);
      // Set in the cache: kept through load and store.
      Bytes cache = f.cache;
      StoreLe(cache, kDetectedFeaturesAt, features, 4);
      Bytes first;
      {
        CodeManager manager;
        auto native = reference::Deserialize(manager, cache, f.module, f.env);
        ASSERT_TRUE(native.ok()) << native.status();
        EXPECT_EQ((*native)->module_header.detected_features, features);
        auto out = reference::Serializer(**native).Serialize();
        ASSERT_TRUE(out.ok()) << out.status();
        first = *out;
      }
      EXPECT_EQ(LoadLe(first, kDetectedFeaturesAt, 4), features);
      // Set on the loaded module: written out and read back.
      CodeManager manager;
      auto native = reference::Deserialize(manager, f.cache, f.module, f.env);
      ASSERT_TRUE(native.ok()) << native.status();
      (*native)->module_header.detected_features = features;
      auto out = reference::Serializer(**native).Serialize();
      ASSERT_TRUE(out.ok()) << out.status();
      CodeManager manager2;
      auto again = reference::Deserialize(manager2, *out, f.module, f.env);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_EQ((*again)->module_header.detected_features, features);
    }
  }
}

// --- SerializeLiftoffModuleFails --------------------------------------------

TEST(V8SerializationTest, SerializeLiftoffModuleFails) {
  for (const char* name : {"x64/calls", "arm64/calls"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    // A module that has code spaces and jump tables but no TurboFan code
    // (wasmcache never compiles: every function stays lazy or eager).
    for (FunctionState state : {FunctionState::kLazy, FunctionState::kEager}) {
      CodeManager manager;
      auto native = manager.NewNativeModule(f.module, f.env, 4096);
      ASSERT_TRUE(native.ok()) << native.status();
      (*native)->function_states.assign(f.module.num_declared_functions, state);
      const auto out = reference::Serializer(**native).Serialize();
      EXPECT_EQ(out.status().code(), StatusCode::kFailedPrecondition)
          << out.status();
      EXPECT_NE(std::string(out.status().message()).find("no TurboFan code"),
                std::string::npos)
          << out.status();
    }
    // The cache such a serialization would give (every function lazy or
    // eager) is rejected by the loader.
    const uint32_t n = f.module.num_declared_functions;
    std::vector<std::pair<uint32_t, uint8_t>> all;
    for (uint32_t i = 0; i < n; ++i) all.push_back({i, i % 2 ? 3 : 2});
    const Bytes cache = WithoutCode(f.cache, f, all);
    ASSERT_EQ(cache.size(), 20 + 21 + n + 4 * n);
    ExpectRejected(cache, f.module, f.env, StatusCode::kDataLoss,
                   "no TurboFan function");
  }
}

// --- DeserializeIndirectCallWithDifferentCanonicalId ------------------------

TEST(V8SerializationTest, DeserializeIndirectCallWithDifferentCanonicalId) {
  for (const char* name : {"x64/call_indirect", "arm64/call_indirect",
                           "x64/imports", "arm64/imports"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const ParsedCache parsed = Parse(f.cache, f);
    // The loading process's type canonicalizer gave other ids.
    Environment shifted = f.env;
    for (uint32_t& id : shifted.canonical_sig_ids) id += 1000;

    CodeManager manager;
    auto native = reference::Deserialize(manager, f.cache, f.module, shifted);
    ASSERT_TRUE(native.ok()) << native.status();
    int sites = 0;
    for (const reference::ParsedFunction& fn : parsed.functions) {
      for (const reference::PatchedSite& s : fn.sites) {
        if (s.mode != RelocMode::kWasmCanonicalSigId) continue;
        ++sites;
        const reference::WasmCode* code =
            (*native)->GetCode(fn.index - f.module.num_imported_functions);
        ASSERT_NE(code, nullptr);
        const Bytes live(code->instructions().begin(),
                         code->instructions().end());
        const uint64_t id = LoadLe(live, s.site.field_offset, 4);
        EXPECT_EQ(id, shifted.canonical_sig_ids[s.tag]);
        EXPECT_EQ(id, f.env.canonical_sig_ids[s.tag] + 1000);
      }
    }
    EXPECT_GT(sites, 0) << "the fixture has no WASM_CANONICAL_SIG_ID";
    // Serialized back, the ids are module-local type indices again: the
    // output is what the default environment gives.
    const auto out = reference::Serializer(**native).Serialize();
    ASSERT_TRUE(out.ok()) << out.status();
    const auto canonical = RoundTrip(f.cache, f.module, f.env);
    ASSERT_TRUE(canonical.ok()) << canonical.status();
    EXPECT_EQ(*out, *canonical);
  }
}

// --- TierDownAfterDeserialization (function states) -------------------------

TEST(V8SerializationTest, LazyAndEagerFunctionsKeepTheirStateThroughRoundTrip) {
  for (const char* name : {"x64/calls", "arm64/calls"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    // Function 4 is called (WASM_CALL) by functions 4 and 5; without code,
    // those calls go to its lazy-compile slot. Function 7 becomes eager.
    const Bytes cache = WithoutCode(f.cache, f, {{4, 2}, {7, 3}});
    ASSERT_LT(cache.size(), f.cache.size());
    Bytes out;
    {
      CodeManager manager;
      auto native = reference::Deserialize(manager, cache, f.module, f.env);
      ASSERT_TRUE(native.ok()) << native.status();
      const NativeModule& m = **native;
      for (uint32_t i = 0; i < f.module.num_declared_functions; ++i) {
        SCOPED_TRACE(i);
        const FunctionState expected = i == 4   ? FunctionState::kLazy
                                       : i == 7 ? FunctionState::kEager
                                                : FunctionState::kTurboFan;
        EXPECT_EQ(m.function_states[i], expected);
        EXPECT_EQ(m.GetCode(i) != nullptr,
                  expected == FunctionState::kTurboFan);
      }
      reference::Serializer serializer(m);
      auto serialized = serializer.Serialize();
      ASSERT_TRUE(serialized.ok()) << serialized.status();
      EXPECT_EQ(serializer.Measure(), serialized->size());
      out = *serialized;
    }
    // calls has no x64 external reference: the output is the input.
    EXPECT_EQ(out, cache);
    CodeManager manager;
    auto again = reference::Deserialize(manager, out, f.module, f.env);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->function_states[4], FunctionState::kLazy);
    EXPECT_EQ((*again)->function_states[7], FunctionState::kEager);
  }
}

TEST(V8SerializationTest, TieredCachesKeepLazyAndEagerStatesThroughRoundTrip) {
  // Caches V8 wrote with Liftoff, lazy compilation and dynamic tiering:
  // records 2 and 3 next to TurboFan code.
  int tiered = 0;
  for (const LoadedFixture& f : AllCommitted()) {
    const ParsedCache parsed = Parse(f.cache, f);
    bool lazy_or_eager = false;
    for (const auto& fn : parsed.functions) {
      lazy_or_eager |= fn.tag != FunctionTag::kTurboFan;
    }
    if (!lazy_or_eager) continue;
    ++tiered;
    SCOPED_TRACE(f.fixture.name);
    const absl::StatusOr<Bytes> out = RoundTrip(f.cache, f.module, f.env);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), f.cache.size());
    const ParsedCache again = Parse(*out, f);
    ASSERT_EQ(again.functions.size(), parsed.functions.size());
    for (size_t i = 0; i < parsed.functions.size(); ++i) {
      EXPECT_EQ(again.functions[i].tag, parsed.functions[i].tag) << i;
      EXPECT_EQ(again.functions[i].record_offset,
                parsed.functions[i].record_offset);
    }
    EXPECT_EQ(again.tiering_budgets, parsed.tiering_budgets);
    EXPECT_EQ(again.module_header, parsed.module_header);
  }
  if (tiered == 0)
    GTEST_SKIP() << "no committed fixture has lazy or eager records";
}

// --- Measure ----------------------------------------------------------------

TEST(V8SerializationTest, MeasureIsTheSerializedSizeAndOutputIsStable) {
  for (const LoadedFixture& f : AllCommitted()) {
    SCOPED_TRACE(f.fixture.name);
    CodeManager manager;
    auto native = reference::Deserialize(manager, f.cache, f.module, f.env);
    ASSERT_TRUE(native.ok()) << native.status();
    reference::Serializer serializer(**native);
    const auto out = serializer.Serialize();
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(serializer.Measure(), out->size());
    // Canonicalization rewrites bytes, never lengths.
    EXPECT_EQ(out->size(), f.cache.size());
    // A second round trip changes nothing.
    const auto again = RoundTrip(*out, f.module, f.env);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *out);
  }
}

// --- CompiledWasmModulesTransfer (closest counterpart) ----------------------

TEST(V8SerializationTest, TwoLoadsOfOneCacheAreIndependent) {
  const LoadedFixture f = LoadCommitted("x64/calls");
  CodeManager manager;
  auto first = reference::Deserialize(manager, f.cache, f.module, f.env);
  ASSERT_TRUE(first.ok()) << first.status();
  const size_t spaces = manager.num_code_spaces();
  auto second = reference::Deserialize(manager, f.cache, f.module, f.env);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(manager.num_code_spaces(), 2 * spaces);
  const uint64_t pc1 = (*first)->GetCode(0)->instruction_start();
  const uint64_t pc2 = (*second)->GetCode(0)->instruction_start();
  EXPECT_NE(pc1, pc2);
  EXPECT_EQ(manager.LookupNativeModule(pc1), first->get());
  EXPECT_EQ(manager.LookupNativeModule(pc2), second->get());
  const auto out1 = reference::Serializer(**first).Serialize();
  const auto out2 = reference::Serializer(**second).Serialize();
  ASSERT_TRUE(out1.ok() && out2.ok());
  EXPECT_EQ(*out1, *out2);
  first->reset();
  EXPECT_EQ(manager.num_code_spaces(), spaces);
  EXPECT_EQ(manager.LookupNativeModule(pc1), nullptr);
  EXPECT_EQ(manager.LookupCode(pc2), (*second)->GetCode(0));
}

}  // namespace
}  // namespace wasmcache
