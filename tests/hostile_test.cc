// Hostile caches against the reference deserializer.
//
// Every case starts from a real V8 13.6 cache (corpus/v8-13.6) and changes
// it in one way: a prefix, one flipped byte, one field, one relocation
// entry or one tag. Each case states the canonical status code the change
// must produce (spec/errors.h, DESIGN.md "Trust model and errors"), and
// every rejection is checked to leave the CodeManager empty: no code space
// registered and no byte committed. A change that still describes a valid
// cache must be accepted, and re-serializing the loaded module must keep
// the changed value.
//
// The cache is taken apart by this file's own reader (CacheModel below),
// written from the byte offsets of the V8 13.6 layout rather than from the
// field tables in spec/layout.h, so a mistake in those tables cannot hide
// itself. Mutated caches are put back together by CacheModel::Assemble,
// which can recompute every length field and the total code size so that
// only the intended field is wrong.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/reloc_stream.h"
#include "reference/safepoint_table.h"
#include "reference/serializer.h"
#include "spec/arch.h"
#include "spec/reloc_mode.h"
#include "spec/v8_tables.h"
#include "tests/impl.h"
#include "tests/test_util.h"

namespace wasmcache {
namespace {

using Bytes = std::vector<uint8_t>;
using absl::StatusCode;
using reference::CodeManager;
using wasmcache::Environment;
using wasmcache::ModuleInfo;
using reference::RelocEntry;
using wasmcache::testing::LoadCommitted;
using wasmcache::testing::LoadedFixture;

// ---------------------------------------------------------------------------
// Little-endian access (x64 and arm64 caches are little-endian, 8-byte word).

uint64_t LoadLe(const Bytes& bytes, size_t at, size_t count) {
  if (at > bytes.size() || count > bytes.size() - at) {
    throw std::out_of_range(
        absl::StrFormat("load of %d bytes at %d", count, at));
  }
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i) {
    value |= uint64_t{bytes[at + i]} << (8 * i);
  }
  return value;
}

void StoreLe(Bytes& bytes, size_t at, uint64_t value, size_t count) {
  if (at > bytes.size() || count > bytes.size() - at) {
    throw std::out_of_range(
        absl::StrFormat("store of %d bytes at %d", count, at));
  }
  for (size_t i = 0; i < count; ++i) {
    bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

void AppendLe(Bytes& bytes, uint64_t value, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
}

// ---------------------------------------------------------------------------
// The V8 13.6 layout for a 64-bit little-endian target, as byte offsets.

constexpr size_t kWordSize = 8;
// Module header, from the start of the file.
constexpr size_t kDetectedFeaturesAt = 20;
constexpr size_t kTotalCodeSizeAt = 24;
constexpr size_t kAllFunctionsValidatedAt = 32;
constexpr size_t kCompileTimeImportsAt = 33;
constexpr size_t kConstantsModuleLengthAt = 37;
constexpr size_t kConstantsModuleAt = 41;
// A TurboFan record, from its tag byte: 14 int32 fields, kind, tier.
constexpr int kNumInts = 14;
constexpr size_t kKindAt = 1 + 4 * kNumInts;        // 57
constexpr size_t kTierAt = kKindAt + 4;             // 61
constexpr size_t kRecordHeaderBytes = kTierAt + 1;  // 62, tag included
static_assert(kRecordHeaderBytes == 62);

// Index of each int32 field of the code header.
enum Int : int {
  kConstantPoolOffset,
  kSafepointTableOffset,
  kHandlerTableOffset,
  kCodeCommentsOffset,
  kUnpaddedBinarySize,
  kStackSlots,
  kOolSpills,
  kTaggedParameterSlots,
  kInstructionsSize,
  kRelocInfoSize,
  kSourcePositionsSize,
  kInliningPositionsSize,
  kDeoptDataSize,
  kProtectedInstructionsSize,
};
constexpr size_t IntAt(int index) { return 1 + 4 * static_cast<size_t>(index); }
// Parts in file order; part p's length is int kInstructionsSize + p.
constexpr int kNumParts = 6;
enum Part : int {
  kCode,
  kReloc,
  kSourcePositions,
  kInlining,
  kDeopt,
  kProtected
};

// One function's code must fit one code space of the target:
// kDefaultMaxWasmCodeSpaceSizeMb of V8 13.6 (1024 MiB on x64, 128 MiB on
// arm64).
uint64_t MaxFunctionCodeSize(Arch arch) {
  return arch == Arch::kArm64 ? uint64_t{128} << 20 : uint64_t{1024} << 20;
}

constexpr uint8_t kTagLazy = 2;
constexpr uint8_t kTagEager = 3;
constexpr uint8_t kTagTurboFan = 4;

struct Record {
  uint8_t tag = kTagTurboFan;
  bool has_body = false;  // a code header and parts follow the tag
  std::array<int32_t, kNumInts> ints{};
  uint32_t kind = 0;
  uint8_t tier = 0;
  std::array<Bytes, kNumParts> parts;

  Bytes& code() { return parts[kCode]; }
  const Bytes& code() const { return parts[kCode]; }
};

// Where Assemble put things.
struct Layout {
  std::vector<size_t> record_at;  // file offset of each tag byte
  std::vector<std::array<size_t, kNumParts>> part_at;
  size_t budgets_at = 0;
};

struct CacheModel {
  std::array<uint32_t, 5> words{};
  uint32_t detected_features = 0;
  uint64_t total_code_size = 0;
  uint8_t all_functions_validated = 0;
  uint32_t compile_time_imports = 0;
  Bytes constants_module;
  Bytes import_statuses;
  std::vector<Record> records;
  std::vector<uint32_t> budgets;
  Bytes trailer;

  // Reads a whole cache; throws on anything it cannot read.
  static CacheModel Decode(const Bytes& cache, const ModuleInfo& module) {
    CacheModel m;
    size_t at = 0;
    auto take = [&](size_t count) {
      if (count > cache.size() - at)
        throw std::runtime_error("model: truncated");
      Bytes out(cache.begin() + at, cache.begin() + at + count);
      at += count;
      return out;
    };
    auto le = [&](size_t count) {
      const uint64_t v = LoadLe(cache, at, count);
      at += count;
      return v;
    };
    for (uint32_t& w : m.words) w = static_cast<uint32_t>(le(4));
    m.detected_features = static_cast<uint32_t>(le(4));
    m.total_code_size = le(kWordSize);
    m.all_functions_validated = static_cast<uint8_t>(le(1));
    m.compile_time_imports = static_cast<uint32_t>(le(4));
    m.constants_module = take(le(4));
    m.import_statuses = take(module.num_imported_functions);
    for (uint32_t i = 0; i < module.num_declared_functions; ++i) {
      Record r;
      r.tag = static_cast<uint8_t>(le(1));
      r.has_body = r.tag == kTagTurboFan;
      if (r.has_body) {
        for (int32_t& v : r.ints) v = static_cast<int32_t>(le(4));
        r.kind = static_cast<uint32_t>(le(4));
        r.tier = static_cast<uint8_t>(le(1));
        for (int p = 0; p < kNumParts; ++p) {
          r.parts[p] =
              take(static_cast<uint32_t>(r.ints[kInstructionsSize + p]));
        }
      }
      m.records.push_back(std::move(r));
    }
    for (uint32_t i = 0; i < module.num_declared_functions; ++i) {
      m.budgets.push_back(static_cast<uint32_t>(le(4)));
    }
    m.trailer = take(cache.size() - at);
    return m;
  }

  // Recomputes every part length and the total code size from the bytes.
  CacheModel& FixLengths() {
    total_code_size = 0;
    for (Record& r : records) {
      if (!r.has_body) continue;
      for (int p = 0; p < kNumParts; ++p) {
        r.ints[kInstructionsSize + p] = static_cast<int32_t>(r.parts[p].size());
      }
      total_code_size += r.parts[kCode].size();
    }
    return *this;
  }

  // Writes the model as it is (no length is recomputed).
  Bytes Assemble(Layout* layout = nullptr) const {
    Bytes out;
    Layout l;
    for (uint32_t w : words) AppendLe(out, w, 4);
    AppendLe(out, detected_features, 4);
    AppendLe(out, total_code_size, kWordSize);
    AppendLe(out, all_functions_validated, 1);
    AppendLe(out, compile_time_imports, 4);
    AppendLe(out, constants_module.size(), 4);
    out.insert(out.end(), constants_module.begin(), constants_module.end());
    out.insert(out.end(), import_statuses.begin(), import_statuses.end());
    for (const Record& r : records) {
      l.record_at.push_back(out.size());
      std::array<size_t, kNumParts> part_at{};
      out.push_back(r.tag);
      if (r.has_body) {
        for (int32_t v : r.ints) AppendLe(out, static_cast<uint32_t>(v), 4);
        AppendLe(out, r.kind, 4);
        AppendLe(out, r.tier, 1);
        for (int p = 0; p < kNumParts; ++p) {
          part_at[p] = out.size();
          out.insert(out.end(), r.parts[p].begin(), r.parts[p].end());
        }
      }
      l.part_at.push_back(part_at);
    }
    l.budgets_at = out.size();
    for (uint32_t b : budgets) AppendLe(out, b, 4);
    out.insert(out.end(), trailer.begin(), trailer.end());
    if (layout != nullptr) *layout = l;
    return out;
  }

  // Assemble() after FixLengths() on a copy.
  Bytes AssembleFixed(Layout* layout = nullptr) const {
    CacheModel copy = *this;
    return copy.FixLengths().Assemble(layout);
  }
};

// The decoded RelocInfo stream of a record.
std::vector<RelocEntry> Relocs(const Record& r) {
  auto entries = reference::DecodeRelocStream(
      r.parts[kReloc], static_cast<uint32_t>(r.code().size()), 0);
  if (!entries.ok()) throw std::runtime_error(entries.status().ToString());
  return *entries;
}

// Replaces the RelocInfo stream of a record (entries sorted by pc here).
void SetRelocs(Record& r, std::vector<RelocEntry> entries) {
  std::stable_sort(
      entries.begin(), entries.end(),
      [](const RelocEntry& a, const RelocEntry& b) { return a.pc < b.pc; });
  r.parts[kReloc] = reference::EncodeRelocStream(entries);
}

void AddReloc(Record& r, RelocMode mode, uint32_t pc, uint32_t data = 0) {
  std::vector<RelocEntry> entries = Relocs(r);
  entries.push_back({mode, pc, data});
  SetRelocs(r, entries);
}

// First entry of `mode` in record `r`, or nullopt.
std::optional<RelocEntry> FindReloc(const Record& r, RelocMode mode) {
  for (const RelocEntry& e : Relocs(r)) {
    if (e.mode == mode) return e;
  }
  return std::nullopt;
}

// Index of the first TurboFan record with an entry of `mode`.
std::optional<size_t> RecordWith(const CacheModel& m, RelocMode mode) {
  for (size_t i = 0; i < m.records.size(); ++i) {
    if (m.records[i].has_body && FindReloc(m.records[i], mode)) return i;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// arm64 instruction fields, from the Arm A64 encoding (not from the
// library's encoders).

constexpr uint32_t kArm64BranchOpcodeMask =
    0x7c000000;  // b: 000101, bl: 100101
constexpr uint32_t kArm64BranchOpcode = 0x14000000;
constexpr uint32_t kArm64Imm26Mask = 0x03ffffff;
constexpr uint32_t kArm64LdrLiteralXOpcode = 0x58000000;  // ldr xN, label
constexpr uint32_t kArm64LdrLiteralWOpcode = 0x18000000;  // ldr wN, label
constexpr uint32_t kArm64LdrOpcodeMask = 0xff000000;
constexpr uint32_t kArm64Imm19Mask = 0x00ffffe0;

bool IsArm64Branch(uint32_t insn) {
  return (insn & kArm64BranchOpcodeMask) == kArm64BranchOpcode;
}
bool IsArm64LdrLiteral(uint32_t insn) {
  const uint32_t op = insn & kArm64LdrOpcodeMask;
  return op == kArm64LdrLiteralXOpcode || op == kArm64LdrLiteralWOpcode;
}
// ldr literal: the loaded slot is at pc + sext(imm19) * 4.
int64_t Arm64LiteralOffset(uint32_t insn, uint32_t pc) {
  int64_t imm19 = (insn & kArm64Imm19Mask) >> 5;
  if (imm19 & (1 << 18)) imm19 -= 1 << 19;
  return int64_t{pc} + imm19 * 4;
}
uint32_t WithImm19(uint32_t insn, int64_t words) {
  return (insn & ~kArm64Imm19Mask) |
         ((static_cast<uint32_t>(words) << 5) & kArm64Imm19Mask);
}

// ---------------------------------------------------------------------------
// Loading and checking.

// Deserializes and re-serializes `cache` with the implementation this run
// of the suite is for (tests/impl.h), checking that a rejection leaves
// nothing allocated.
absl::Status Load(const Bytes& cache, const ModuleInfo& module,
                  const Environment& env, Bytes* out = nullptr) {
  return wasmcache::testing::LoadAndSerialize(
      wasmcache::testing::SelectedImpl(), cache, module, env, out);
}

// Expects `cache` to be rejected with `code`. The reference's message must
// contain `message_part` if given (to tell apart checks with the same
// code); the fast implementation's words are its own, but it must name the
// same section and offset as the reference does.
void ExpectRejected(const Bytes& cache, const LoadedFixture& f, StatusCode code,
                    std::string_view message_part = {}) {
  const absl::Status status = Load(cache, f.module, f.env);
  EXPECT_EQ(status.code(), code) << status;
  const wasmcache::testing::Impl impl = wasmcache::testing::SelectedImpl();
  if (impl != wasmcache::testing::Impl::kReference) {
    wasmcache::testing::ExpectReferenceSectionAndOffset(status, cache,
                                                        f.module, f.env);
    return;
  }
  if (!message_part.empty()) {
    const std::string message(status.message());
    EXPECT_NE(message.find(message_part), std::string::npos)
        << "\"" << message << "\" lacks \"" << message_part << "\"";
  }
}

// Expects `cache` to be accepted; returns the re-serialized bytes.
Bytes ExpectAccepted(const Bytes& cache, const ModuleInfo& module,
                     const Environment& env) {
  Bytes out;
  const absl::Status status = Load(cache, module, env, &out);
  EXPECT_TRUE(status.ok()) << status;
  return out;
}
Bytes ExpectAccepted(const Bytes& cache, const LoadedFixture& f) {
  return ExpectAccepted(cache, f.module, f.env);
}

// `count` bytes at `at` are the same in both.
void ExpectSameBytes(const Bytes& expected, const Bytes& actual, size_t at,
                     size_t count) {
  ASSERT_LE(at + count, expected.size());
  ASSERT_LE(at + count, actual.size()) << "output too short";
  EXPECT_EQ(LoadLe(expected, at, count), LoadLe(actual, at, count))
      << count << " bytes at offset 0x" << std::hex << at;
}

CacheModel ModelOf(const LoadedFixture& f) {
  return CacheModel::Decode(f.cache, f.module);
}

// Fixtures whose re-serialization is byte-identical to V8's output (no x64
// external reference with process-address bits).
constexpr const char* kExactFixtures[] = {"x64/br_table", "arm64/br_table",
                                          "x64/calls", "arm64/calls",
                                          "arm64/call_indirect"};

// ---------------------------------------------------------------------------
// The model itself.

TEST(CacheModelTest, ReassemblesEveryCommittedFixtureByteForByte) {
  const auto fixtures = wasmcache::testing::CommittedFixtures();
  ASSERT_GE(fixtures.size(), 14u);
  for (const auto& fixture : fixtures) {
    SCOPED_TRACE(fixture.name);
    const LoadedFixture f = wasmcache::testing::LoadFixture(fixture);
    const CacheModel m = ModelOf(f);
    EXPECT_TRUE(m.trailer.empty());
    EXPECT_EQ(m.Assemble(), f.cache);
    EXPECT_EQ(m.AssembleFixed(), f.cache) << "lengths V8 wrote differ";
    EXPECT_EQ(m.records.size(), f.module.num_declared_functions);
  }
}

TEST(CacheModelTest, ExactFixturesRoundTripByteForByte) {
  for (const char* name : kExactFixtures) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    EXPECT_EQ(ExpectAccepted(f.cache, f), f.cache);
  }
}

// ---------------------------------------------------------------------------
// Truncation.

// A field the parser reads in one step: a read that cannot be completed
// fails at the field's first byte, in the field's section.
struct ReadStep {
  size_t at;
  size_t size;
  std::string_view section;
};

std::vector<ReadStep> ReadSteps(const CacheModel& m) {
  std::vector<ReadStep> steps;
  size_t at = 0;
  auto step = [&](size_t size, std::string_view section) {
    if (size != 0) steps.push_back({at, size, section});
    at += size;
  };
  for (int i = 0; i < 5; ++i) step(4, "header");
  step(4, "module header");          // detected features
  step(kWordSize, "module header");  // total code size
  step(1, "module header");          // all functions validated
  step(4, "module header");          // compile-time imports
  step(4, "module header");          // constants-module length
  step(m.constants_module.size(), "module header");
  step(m.import_statuses.size(), "module header");  // one read
  for (const Record& r : m.records) {
    step(1, "function");
    if (!r.has_body) continue;
    for (int i = 0; i < kNumInts + 1; ++i) step(4, "code header");
    step(1, "code header");  // tier
    for (const Bytes& part : r.parts) step(part.size(), "code");
  }
  for (size_t i = 0; i < m.budgets.size(); ++i) step(4, "tiering budget");
  return steps;
}

void CheckEveryPrefix(const char* name) {
  SCOPED_TRACE(name);
  const LoadedFixture f = LoadCommitted(name);
  const std::vector<ReadStep> steps = ReadSteps(ModelOf(f));
  ASSERT_EQ(steps.back().at + steps.back().size, f.cache.size());
  size_t step = 0;
  for (size_t length = 0; length < f.cache.size(); ++length) {
    // The first read that needs a byte at or after `length`.
    while (steps[step].at + steps[step].size <= length) ++step;
    SCOPED_TRACE(absl::StrFormat("prefix of %d bytes", length));
    const Bytes prefix(f.cache.begin(), f.cache.begin() + length);
    const absl::Status status = Load(prefix, f.module, f.env);
    ASSERT_EQ(status.code(), StatusCode::kOutOfRange) << status;
    const std::string expected_start = std::string(steps[step].section) + ": ";
    const std::string expected_end =
        absl::StrFormat("at offset 0x%x", steps[step].at);
    const std::string message(status.message());
    EXPECT_EQ(message.substr(0, expected_start.size()), expected_start)
        << message;
    EXPECT_TRUE(message.size() >= expected_end.size() &&
                message.substr(message.size() - expected_end.size()) ==
                    expected_end)
        << message << " (expected it to end with " << expected_end << ")";
  }
  // The whole cache is the one length that is accepted.
  ExpectAccepted(f.cache, f);
}

TEST(TruncationTest, EveryPrefixOfX64BrTableIsOutOfRange) {
  CheckEveryPrefix("x64/br_table");
}
TEST(TruncationTest, EveryPrefixOfArm64BrTableIsOutOfRange) {
  CheckEveryPrefix("arm64/br_table");
}
TEST(TruncationTest, EveryPrefixOfX64ImportsIsOutOfRange) {
  // Has import statuses, read as one 4-byte step.
  CheckEveryPrefix("x64/imports");
}

// ---------------------------------------------------------------------------
// Single-byte flips of the global and module headers.

// The two flips applied to every byte.
struct Flip {
  std::string_view name;
  uint8_t (*apply)(uint8_t);
};
constexpr Flip kFlips[] = {
    {"xor 0xff", [](uint8_t b) { return static_cast<uint8_t>(b ^ 0xff); }},
    {"+1", [](uint8_t b) { return static_cast<uint8_t>(b + 1); }},
};

struct HeaderFlip {
  const LoadedFixture& fixture;
  const CacheModel& original;
  const Bytes& mutated;
  uint64_t value;  // the flipped field, zero-extended
};

// A header field and the code a cache with `value` in it must get, every
// other byte being as V8 wrote it. kOk: accepted, value kept.
struct HeaderField {
  std::string name;
  size_t at;
  size_t size;
  StatusCode (*expect)(const HeaderFlip&);
};

std::vector<HeaderField> HeaderFields(const CacheModel& m) {
  std::vector<HeaderField> fields = {
      // The default environment checks magic and version hash ...
      {"magic", 0, 4,
       [](const HeaderFlip& c) {
         return c.value == v8_13_6::kMagicNumber
                    ? StatusCode::kOk
                    : StatusCode::kFailedPrecondition;
       }},
      {"version_hash", 4, 4,
       [](const HeaderFlip& c) {
         return c.value == v8_13_6::kVersionHash
                    ? StatusCode::kOk
                    : StatusCode::kFailedPrecondition;
       }},
      // ... and only records the other three words.
      {"cpu_features", 8, 4, [](const HeaderFlip&) { return StatusCode::kOk; }},
      {"flag_hash", 12, 4, [](const HeaderFlip&) { return StatusCode::kOk; }},
      {"enabled_features", 16, 4,
       [](const HeaderFlip&) { return StatusCode::kOk; }},
      // Any set of detected features is kept as it is.
      {"detected_features", kDetectedFeaturesAt, 4,
       [](const HeaderFlip&) { return StatusCode::kOk; }},
      // Over the environment's limit first, then compared with the sum of
      // the code sizes after every record was read.
      {"total_code_size", kTotalCodeSizeAt, kWordSize,
       [](const HeaderFlip& c) {
         if (c.value > c.fixture.env.max_module_code_size) {
           return StatusCode::kResourceExhausted;
         }
         return c.value == c.original.total_code_size ? StatusCode::kOk
                                                      : StatusCode::kDataLoss;
       }},
      // A bool.
      {"all_functions_validated", kAllFunctionsValidatedAt, 1,
       [](const HeaderFlip& c) {
         return c.value > 1 ? StatusCode::kDataLoss : StatusCode::kOk;
       }},
      // Unknown flags are malformed; known ones must match the environment.
      {"compile_time_imports", kCompileTimeImportsAt, 4,
       [](const HeaderFlip& c) {
         if (c.value & ~uint64_t{v8_13_6::kCompileTimeImportMask}) {
           return StatusCode::kDataLoss;
         }
         return c.value == c.fixture.env.compile_time_imports
                    ? StatusCode::kOk
                    : StatusCode::kFailedPrecondition;
       }},
      // A length past the end is truncation; a string that fits but differs
      // from the environment's (empty) one is a mismatch.
      {"constants_module length", kConstantsModuleLengthAt, 4,
       [](const HeaderFlip& c) {
         if (c.value > c.mutated.size() - kConstantsModuleAt) {
           return StatusCode::kOutOfRange;
         }
         return c.value == c.fixture.env.constants_module.size()
                    ? StatusCode::kOk
                    : StatusCode::kFailedPrecondition;
       }},
  };
  // One WellKnownImport status per imported function: 0..60 exist.
  for (size_t i = 0; i < m.import_statuses.size(); ++i) {
    fields.push_back({absl::StrFormat("import status %d", i),
                      kConstantsModuleAt + m.constants_module.size() + i, 1,
                      [](const HeaderFlip& c) {
                        return c.value > v8_13_6::kMaxWellKnownImport
                                   ? StatusCode::kDataLoss
                                   : StatusCode::kOk;
                      }});
  }
  return fields;
}

void FlipEveryHeaderByte(const char* name, bool exact) {
  SCOPED_TRACE(name);
  const LoadedFixture f = LoadCommitted(name);
  const CacheModel original = ModelOf(f);
  int accepted = 0;
  int rejected = 0;
  size_t covered = 0;
  for (const HeaderField& field : HeaderFields(original)) {
    SCOPED_TRACE(field.name);
    EXPECT_EQ(field.at, covered) << "the table skips bytes";
    covered = field.at + field.size;
    for (size_t at = field.at; at < field.at + field.size; ++at) {
      for (const Flip& flip : kFlips) {
        SCOPED_TRACE(absl::StrFormat("byte 0x%x %s", at, flip.name));
        Bytes mutated = f.cache;
        mutated[at] = flip.apply(mutated[at]);
        const HeaderFlip c{f, original, mutated,
                           LoadLe(mutated, field.at, field.size)};
        const StatusCode expected = field.expect(c);
        if (expected == StatusCode::kOk) {
          ++accepted;
          const Bytes out = ExpectAccepted(mutated, f);
          ExpectSameBytes(mutated, out, field.at, field.size);
          if (exact) EXPECT_EQ(out, mutated);
        } else {
          ++rejected;
          const absl::Status status = Load(mutated, f.module, f.env);
          EXPECT_EQ(status.code(), expected) << status;
          // Caught while reading the header it is in.
          const std::string section =
              field.at < kDetectedFeaturesAt ? "header: " : "module header: ";
          EXPECT_EQ(std::string(status.message()).substr(0, section.size()),
                    section)
              << status;
        }
      }
    }
  }
  EXPECT_EQ(covered, kConstantsModuleAt + original.constants_module.size() +
                         original.import_statuses.size());
  // Both outcomes occur, so neither branch is vacuous.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

TEST(HeaderFlipTest, EveryHeaderByteOfX64BrTable) {
  FlipEveryHeaderByte("x64/br_table", true);
}
TEST(HeaderFlipTest, EveryHeaderByteOfArm64BrTable) {
  FlipEveryHeaderByte("arm64/br_table", true);
}
TEST(HeaderFlipTest, EveryHeaderByteOfX64ImportsWithImportStatuses) {
  FlipEveryHeaderByte("x64/imports", false);
}

// ---------------------------------------------------------------------------
// Single-byte flips of every code header (62 bytes with the tag).

struct CodeFlip {
  const LoadedFixture& fixture;
  const Bytes& mutated;
  size_t record_at;
  bool last_record;
  size_t num_budgets;
  int64_t value;  // the flipped field (int32 fields sign-extended)
  std::array<int32_t, kNumInts> ints;  // every int field after the flip
};

// Rule of the four table offsets: inside [0, unpadded_binary_size].
StatusCode OffsetRule(const CodeFlip& c) {
  return c.value < 0 || c.value > c.ints[kUnpaddedBinarySize]
             ? StatusCode::kDataLoss
             : StatusCode::kOk;
}

// Fields the safepoint table depends on (its offset, the handler-table
// offset it must end at, the stack slots its header repeats): after the
// field's own rule, the table of the flipped header must still parse where
// it now points (spec/FORMAT.md §7.3), else kDataLoss.
StatusCode SafepointRule(const CodeFlip& c, StatusCode own) {
  if (own != StatusCode::kOk) return own;
  CodeHeader h;
  h.constant_pool_offset = c.ints[kConstantPoolOffset];
  h.safepoint_table_offset = c.ints[kSafepointTableOffset];
  h.handler_table_offset = c.ints[kHandlerTableOffset];
  h.code_comments_offset = c.ints[kCodeCommentsOffset];
  h.unpadded_binary_size = c.ints[kUnpaddedBinarySize];
  h.stack_slots = c.ints[kStackSlots];
  h.ool_spills = c.ints[kOolSpills];
  h.instructions_size = c.ints[kInstructionsSize];
  h.tier = kTierTurboFan;
  const absl::Span<const uint8_t> code =
      absl::MakeConstSpan(c.mutated)
          .subspan(c.record_at + kRecordHeaderBytes,
                   static_cast<size_t>(c.ints[kInstructionsSize]));
  return reference::SafepointTable::Parse(code, h, c.fixture.fixture.arch, 0)
                 .ok()
             ? StatusCode::kOk
             : StatusCode::kDataLoss;
}

StatusCode OffsetThenSafepointRule(const CodeFlip& c) {
  return SafepointRule(c, OffsetRule(c));
}

// Rule of the six part lengths. A length that stays in range but differs
// from the bytes V8 wrote makes the parser read the rest of the cache out
// of step; where that leads is computed by DesyncRule.
StatusCode DesyncRule(const CodeFlip& c, int index);
StatusCode SizeRule(const CodeFlip& c, int index) {
  if (c.value < 0) return StatusCode::kDataLoss;
  if (index == kInstructionsSize) {
    if (static_cast<uint64_t>(c.value) >
        MaxFunctionCodeSize(c.fixture.fixture.arch)) {
      return StatusCode::kResourceExhausted;
    }
    if (c.ints[kUnpaddedBinarySize] > c.value) return StatusCode::kDataLoss;
  }
  uint64_t end = c.record_at + kRecordHeaderBytes;
  for (int p = 0; p < kNumParts; ++p) {
    end += static_cast<uint32_t>(c.ints[kInstructionsSize + p]);
  }
  if (end > c.mutated.size()) return StatusCode::kOutOfRange;
  return DesyncRule(c, index);
}

template <int kIndex>
StatusCode SizeRuleOf(const CodeFlip& c) {
  return SizeRule(c, kIndex);
}

struct CodeField {
  std::string_view name;
  size_t at;  // from the tag byte
  size_t size;
  StatusCode (*expect)(const CodeFlip&);
};

const CodeField kCodeFields[] = {
    // Only tags 2, 3 and 4 exist (V8 reads any other as 4).
    {"tag", 0, 1,
     [](const CodeFlip& c) {
       if (c.value == kTagTurboFan) return StatusCode::kOk;
       // 2 and 3 would end the record at its tag; neither flip of 4 gives
       // them.
       EXPECT_NE(c.value, kTagLazy);
       EXPECT_NE(c.value, kTagEager);
       return StatusCode::kDataLoss;
     }},
    {"constant_pool_offset", IntAt(kConstantPoolOffset), 4, OffsetThenSafepointRule},
    {"safepoint_table_offset", IntAt(kSafepointTableOffset), 4, OffsetThenSafepointRule},
    {"handler_table_offset", IntAt(kHandlerTableOffset), 4, OffsetThenSafepointRule},
    {"code_comments_offset", IntAt(kCodeCommentsOffset), 4, OffsetThenSafepointRule},
    // Inside [0, instructions size] and not below any table offset.
    {"unpadded_binary_size", IntAt(kUnpaddedBinarySize), 4,
     [](const CodeFlip& c) {
       if (c.value < 0 || c.value > c.ints[kInstructionsSize]) {
         return StatusCode::kDataLoss;
       }
       for (int i = kConstantPoolOffset; i <= kCodeCommentsOffset; ++i) {
         if (c.ints[i] > c.value) return StatusCode::kDataLoss;
       }
       return SafepointRule(c, StatusCode::kOk);
     }},
    // Frame sizes: V8 does not constrain them; negative ones are malformed.
    {"stack_slots", IntAt(kStackSlots), 4,
     [](const CodeFlip& c) {
       return SafepointRule(
           c, c.value < 0 ? StatusCode::kDataLoss : StatusCode::kOk);
     }},
    {"ool_spills", IntAt(kOolSpills), 4,
     [](const CodeFlip& c) {
       return c.value < 0 ? StatusCode::kDataLoss : StatusCode::kOk;
     }},
    // Unsigned and unconstrained.
    {"tagged_parameter_slots", IntAt(kTaggedParameterSlots), 4,
     [](const CodeFlip&) { return StatusCode::kOk; }},
    {"instructions_size", IntAt(kInstructionsSize), 4,
     SizeRuleOf<kInstructionsSize>},
    {"reloc_info_size", IntAt(kRelocInfoSize), 4, SizeRuleOf<kRelocInfoSize>},
    {"source_positions_size", IntAt(kSourcePositionsSize), 4,
     SizeRuleOf<kSourcePositionsSize>},
    {"inlining_positions_size", IntAt(kInliningPositionsSize), 4,
     SizeRuleOf<kInliningPositionsSize>},
    {"deopt_data_size", IntAt(kDeoptDataSize), 4, SizeRuleOf<kDeoptDataSize>},
    {"protected_instructions_size", IntAt(kProtectedInstructionsSize), 4,
     SizeRuleOf<kProtectedInstructionsSize>},
    // Only compiled wasm functions (kind 0) at the TurboFan tier (2).
    {"kind", kKindAt, 4,
     [](const CodeFlip& c) {
       return c.value == 0 ? StatusCode::kOk : StatusCode::kDataLoss;
     }},
    {"tier", kTierAt, 1,
     [](const CodeFlip& c) {
       return c.value == 2 ? StatusCode::kOk : StatusCode::kDataLoss;
     }},
};

// A part length that is in range and fits the input, but is not the length
// V8 wrote: the parser reads the rest of the record, and what follows it,
// out of step. Which check catches that follows from where the bytes fall:
//  - the RelocInfo stream now covers other bytes (the instructions or the
//    reloc length changed): it is decoded before anything after the record
//    is read, and none of the shifted streams of these fixtures is
//    well-formed: kDataLoss;
//  - after the last record, the tiering budgets are read from the wrong
//    place: they run past the end (kOutOfRange) or leave bytes over
//    (kDataLoss);
//  - otherwise the next record's tag is read from a byte inside a part,
//    which is not 2, 3 or 4: kDataLoss.
StatusCode DesyncRule(const CodeFlip& c, int index) {
  const size_t code_at = c.record_at + kRecordHeaderBytes;
  const size_t original_reloc_at =
      code_at +
      static_cast<uint32_t>(
          LoadLe(c.fixture.cache, c.record_at + IntAt(kInstructionsSize), 4));
  const size_t original_reloc_size = static_cast<uint32_t>(
      LoadLe(c.fixture.cache, c.record_at + IntAt(kRelocInfoSize), 4));
  const size_t reloc_at =
      code_at + static_cast<uint32_t>(c.ints[kInstructionsSize]);
  const size_t reloc_size = static_cast<uint32_t>(c.ints[kRelocInfoSize]);
  const Bytes original_stream(
      c.fixture.cache.begin() + original_reloc_at,
      c.fixture.cache.begin() + original_reloc_at + original_reloc_size);
  const Bytes stream(c.mutated.begin() + reloc_at,
                     c.mutated.begin() + reloc_at + reloc_size);
  if (stream != original_stream) {
    EXPECT_TRUE(index == kInstructionsSize || index == kRelocInfoSize);
    return StatusCode::kDataLoss;
  }
  uint64_t end = code_at;
  for (int p = 0; p < kNumParts; ++p) {
    end += static_cast<uint32_t>(c.ints[kInstructionsSize + p]);
  }
  if (c.last_record) {
    return end + 4 * c.num_budgets > c.mutated.size() ? StatusCode::kOutOfRange
                                                      : StatusCode::kDataLoss;
  }
  const uint8_t next_tag = c.mutated[end];
  EXPECT_TRUE(next_tag != kTagLazy && next_tag != kTagEager &&
              next_tag != kTagTurboFan)
      << "the byte read as the next tag is " << int{next_tag};
  return StatusCode::kDataLoss;
}

void FlipEveryCodeHeaderByte(const char* name) {
  SCOPED_TRACE(name);
  const LoadedFixture f = LoadCommitted(name);
  const CacheModel original = ModelOf(f);
  Layout layout;
  ASSERT_EQ(original.Assemble(&layout), f.cache);
  std::map<StatusCode, int> seen;
  for (size_t r = 0; r < original.records.size(); ++r) {
    ASSERT_TRUE(original.records[r].has_body);
    const size_t record_at = layout.record_at[r];
    size_t covered = 0;
    for (const CodeField& field : kCodeFields) {
      SCOPED_TRACE(absl::StrFormat("function %d %s", r, field.name));
      EXPECT_EQ(field.at, covered) << "the table skips bytes";
      covered = field.at + field.size;
      for (size_t at = record_at + field.at;
           at < record_at + field.at + field.size; ++at) {
        for (const Flip& flip : kFlips) {
          SCOPED_TRACE(absl::StrFormat("byte 0x%x %s", at, flip.name));
          Bytes mutated = f.cache;
          mutated[at] = flip.apply(mutated[at]);
          CodeFlip c{f,
                     mutated,
                     record_at,
                     r + 1 == original.records.size(),
                     original.budgets.size(),
                     0,
                     {}};
          for (int i = 0; i < kNumInts; ++i) {
            c.ints[i] =
                static_cast<int32_t>(LoadLe(mutated, record_at + IntAt(i), 4));
          }
          const uint64_t raw =
              LoadLe(mutated, record_at + field.at, field.size);
          c.value = field.size == 4 && field.at != kKindAt
                        ? int64_t{static_cast<int32_t>(raw)}
                        : static_cast<int64_t>(raw);
          const StatusCode expected = field.expect(c);
          ++seen[expected];
          if (expected == StatusCode::kOk) {
            const Bytes out = ExpectAccepted(mutated, f);
            ExpectSameBytes(mutated, out, record_at + field.at, field.size);
            EXPECT_EQ(out, mutated);
          } else {
            ExpectRejected(mutated, f, expected);
          }
        }
      }
    }
    EXPECT_EQ(covered, kRecordHeaderBytes);
  }
  // Each kind of outcome occurs.
  for (StatusCode code :
       {StatusCode::kOk, StatusCode::kDataLoss, StatusCode::kOutOfRange}) {
    EXPECT_GT(seen[code], 0) << absl::StatusCodeToString(code);
  }
}

TEST(CodeHeaderFlipTest, EveryCodeHeaderByteOfX64BrTable) {
  FlipEveryCodeHeaderByte("x64/br_table");
}
TEST(CodeHeaderFlipTest, EveryCodeHeaderByteOfArm64BrTable) {
  FlipEveryCodeHeaderByte("arm64/br_table");
}

// ---------------------------------------------------------------------------
// Tags at relocation sites.

// Where a site's tag lives in the instructions, found from the instruction
// encodings (x64: at the reloc pc; arm64: imm26 of b/bl, or the literal
// slot of ldr).
struct TagField {
  size_t offset = 0;
  size_t size = 0;
  bool arm64_branch = false;
  bool x64_imm64 = false;  // tag in the low 32 bits, the rest ignored
};

TagField TagFieldOf(Arch arch, const Record& r, const RelocEntry& e) {
  if (e.mode == RelocMode::kInternalReference) return {e.pc, 8};
  if (arch == Arch::kX64) {
    if (e.mode == RelocMode::kExternalReference) return {e.pc, 8, false, true};
    return {e.pc, 4};
  }
  const auto insn = static_cast<uint32_t>(LoadLe(r.code(), e.pc, 4));
  if (IsArm64Branch(insn)) return {e.pc, 4, true};
  if (IsArm64LdrLiteral(insn)) {
    const bool x = (insn & kArm64LdrOpcodeMask) == kArm64LdrLiteralXOpcode;
    return {static_cast<size_t>(Arm64LiteralOffset(insn, e.pc)), x ? 8u : 4u};
  }
  throw std::runtime_error(absl::StrFormat("no tag field at pc 0x%x", e.pc));
}

// Writes a tag as a writer of the on-disk form would (arm64 branches keep
// the low 26 bits).
void WriteTag(Arch arch, Record& r, const RelocEntry& e, uint64_t tag) {
  const TagField t = TagFieldOf(arch, r, e);
  if (t.arm64_branch) {
    const auto insn = static_cast<uint32_t>(LoadLe(r.code(), t.offset, 4));
    StoreLe(r.code(), t.offset,
            (insn & ~kArm64Imm26Mask) |
                (static_cast<uint32_t>(tag) & kArm64Imm26Mask),
            4);
  } else if (t.x64_imm64) {
    StoreLe(r.code(), t.offset, tag, 4);
  } else {
    StoreLe(r.code(), t.offset, tag, t.size);
  }
}

// A fixture with one site of `mode` singled out.
struct SiteCase {
  LoadedFixture fixture;
  CacheModel model;
  size_t record = 0;
  RelocEntry entry;

  Arch arch() const { return fixture.fixture.arch; }
  // The cache with the site's tag replaced.
  Bytes WithTag(uint64_t tag) const {
    CacheModel m = model;
    WriteTag(arch(), m.records[record], entry, tag);
    return m.Assemble();
  }
  // File offset of the site's tag field.
  size_t TagFileOffset() const {
    Layout layout;
    model.Assemble(&layout);
    return layout.part_at[record][kCode] +
           TagFieldOf(arch(), model.records[record], entry).offset;
  }
};

SiteCase FindSite(const char* name, RelocMode mode) {
  SiteCase c{LoadCommitted(name), {}, 0, {}};
  c.model = ModelOf(c.fixture);
  const std::optional<size_t> record = RecordWith(c.model, mode);
  if (!record) {
    throw std::runtime_error(
        absl::StrFormat("%s has no %s", name, RelocModeName(mode)));
  }
  c.record = *record;
  c.entry = *FindReloc(c.model.records[c.record], mode);
  return c;
}

// A tag the site accepts: the cache loads and the output holds the tag at
// the same place (exact fixtures: the output is the input).
void ExpectTagKept(const SiteCase& c, uint64_t tag, size_t tag_size) {
  SCOPED_TRACE(absl::StrFormat("valid tag %d", tag));
  const Bytes cache = c.WithTag(tag);
  const Bytes out = ExpectAccepted(cache, c.fixture);
  ExpectSameBytes(cache, out, c.TagFileOffset(), tag_size);
}

void ExpectTagRejected(const SiteCase& c, uint64_t tag,
                       std::string_view message_part) {
  SCOPED_TRACE(absl::StrFormat("tag 0x%x", tag));
  ExpectRejected(c.WithTag(tag), c.fixture, StatusCode::kDataLoss,
                 message_part);
}

TEST(WasmCallTest, FunctionIndexOutsideTheDeclaredFunctionsIsDataLoss) {
  for (const char* name : {"x64/calls", "arm64/calls"}) {
    SCOPED_TRACE(name);
    const SiteCase c = FindSite(name, RelocMode::kWasmCall);
    const uint32_t total = c.fixture.module.num_functions();
    ExpectTagRejected(c, total, "outside the declared functions");
    ExpectTagRejected(c, total + 1000, "outside the declared functions");
    if (c.arch() == Arch::kX64) {
      ExpectTagRejected(c, 0xffffffff, "outside the declared functions");
      ExpectTagRejected(c, 0x7fffffff, "outside the declared functions");
    }
    ExpectTagKept(c, total - 1, 4);
    ExpectTagKept(c, 0, 4);
  }
}

TEST(WasmCallTest, CallToAnImportedFunctionIndexIsDataLoss) {
  // x64/imports has 4 imported functions and no WASM_CALL: add one in the
  // padding of the first declared function. Imports are never called
  // through WASM_CALL; its tags name declared functions only.
  const LoadedFixture f = LoadCommitted("x64/imports");
  ASSERT_EQ(f.module.num_imported_functions, 4u);
  CacheModel m = ModelOf(f);
  Record& r = m.records[0];
  const uint32_t pc = static_cast<uint32_t>(r.ints[kUnpaddedBinarySize]) + 4;
  ASSERT_LE(pc + 4, r.code().size());
  ASSERT_TRUE(Relocs(r).empty());
  AddReloc(r, RelocMode::kWasmCall, pc);
  for (uint32_t import = 0; import < 4; ++import) {
    SCOPED_TRACE(import);
    StoreLe(r.code(), pc, import, 4);
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                   "outside the declared functions");
  }
  for (uint32_t declared : {4u, 9u}) {
    SCOPED_TRACE(declared);
    StoreLe(r.code(), pc, declared, 4);
    Layout layout;
    const Bytes cache = m.AssembleFixed(&layout);
    const Bytes out = ExpectAccepted(cache, f);
    ExpectSameBytes(cache, out, layout.part_at[0][kCode] + pc, 4);
  }
}

TEST(CodePointerTest, FunctionIndexOutsideTheDeclaredFunctionsIsDataLoss) {
  // WASM_CODE_POINTER_TABLE_ENTRY sites built in the padding of a function:
  // x64 an imm32 at the pc; arm64 `ldr w0, #8` reading a 4-byte slot.
  for (const char* name : {"x64/imports", "arm64/imports"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const uint32_t imported = f.module.num_imported_functions;
    const uint32_t total = f.module.num_functions();
    ASSERT_GT(imported, 0u);
    CacheModel m = ModelOf(f);
    Record& r = m.records[0];
    const uint32_t pc =
        (static_cast<uint32_t>(r.ints[kUnpaddedBinarySize]) + 3) & ~3u;
    uint32_t slot = pc;
    if (f.fixture.arch == Arch::kArm64) {
      slot = pc + 8;
      StoreLe(r.code(), pc, WithImm19(kArm64LdrLiteralWOpcode, 2), 4);
    }
    ASSERT_LE(slot + 4, r.code().size());
    AddReloc(r, RelocMode::kWasmCodePointerTableEntry, pc);
    for (uint64_t index : {uint64_t{0}, uint64_t{imported - 1}, uint64_t{total},
                           uint64_t{0xffffffff}}) {
      SCOPED_TRACE(index);
      StoreLe(r.code(), slot, index, 4);
      ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                     "outside the declared functions");
    }
    for (uint32_t index : {imported, total - 1}) {
      SCOPED_TRACE(index);
      StoreLe(r.code(), slot, index, 4);
      Layout layout;
      const Bytes cache = m.AssembleFixed(&layout);
      const Bytes out = ExpectAccepted(cache, f);
      ExpectSameBytes(cache, out, layout.part_at[0][kCode] + slot, 4);
    }
  }
}

TEST(StubCallTest, BuiltinWithoutAFarSlotIsDataLoss) {
  // The first real builtin id that has no far jump-table slot.
  std::optional<uint32_t> no_slot;
  for (uint32_t id = 0; id < v8_13_6::kBuiltinCount && !no_slot; ++id) {
    bool has_slot = false;
    for (const auto& b : v8_13_6::kFarSlotBuiltins)
      has_slot |= b.builtin_id == id;
    if (!has_slot) no_slot = id;
  }
  ASSERT_TRUE(no_slot.has_value());
  for (const char* name :
       {"x64/br_table", "arm64/br_table", "x64/calls", "arm64/calls"}) {
    SCOPED_TRACE(name);
    const SiteCase c = FindSite(name, RelocMode::kWasmStubCall);
    ExpectTagRejected(c, 99999, "has no far jump-table slot");
    ExpectTagRejected(c, *no_slot, "has no far jump-table slot");
    ExpectTagRejected(c, v8_13_6::kBuiltinCount, "has no far jump-table slot");
    if (c.arch() == Arch::kX64) {
      ExpectTagRejected(c, 0xffffffff, "has no far jump-table slot");
    } else {
      // imm26 of -1: a negative builtin id.
      ExpectTagRejected(c, kArm64Imm26Mask, "has no far jump-table slot");
    }
    // Every builtin with a far slot is a valid tag.
    ExpectTagKept(c, v8_13_6::kFarSlotBuiltins[0].builtin_id, 4);
    ExpectTagKept(c, v8_13_6::kWasmCompileLazy, 4);
  }
}

TEST(StubCallTest, EveryBuiltinIdIsAcceptedExactlyWhenItHasAFarSlot) {
  std::set<uint32_t> with_slot;
  for (const auto& b : v8_13_6::kFarSlotBuiltins)
    with_slot.insert(b.builtin_id);
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const SiteCase c = FindSite(name, RelocMode::kWasmStubCall);
    int accepted = 0;
    for (uint32_t id = 0; id < v8_13_6::kBuiltinCount; ++id) {
      if (with_slot.contains(id)) {
        ExpectTagKept(c, id, 4);
        ++accepted;
      } else {
        ExpectTagRejected(c, id, "has no far jump-table slot");
      }
    }
    EXPECT_EQ(accepted, static_cast<int>(with_slot.size()));
  }
}

TEST(ExternalReferenceTest, IndexOutsideTheListIsDataLoss) {
  static_assert(v8_13_6::kNumExternalReferences == 951);
  for (const char* name : {"x64/call_indirect", "arm64/call_indirect",
                           "x64/imports", "arm64/memory"}) {
    SCOPED_TRACE(name);
    const SiteCase c = FindSite(name, RelocMode::kExternalReference);
    ExpectTagRejected(c, 951, "outside the table of 951");
    ExpectTagRejected(c, 0x7fffffff, "outside the table of 951");
    ExpectTagRejected(c, 0xffffffff, "outside the table of 951");
    ExpectTagKept(c, 950, c.arch() == Arch::kX64 ? 4 : 8);
    ExpectTagKept(c, 0, c.arch() == Arch::kX64 ? 4 : 8);
    if (c.arch() == Arch::kArm64) {
      // V8 writes the tag zero-extended into the 8-byte literal slot; the
      // slot is read whole, so upper bits make the index out of range.
      ExpectTagRejected(c, (uint64_t{1} << 32) | 5, "outside the table");
    }
  }
}

TEST(ExternalReferenceTest, X64UpperAddressBitsAreIgnoredAndWrittenAsZero) {
  const SiteCase c =
      FindSite("x64/call_indirect", RelocMode::kExternalReference);
  CacheModel m = c.model;
  const size_t at = TagFieldOf(Arch::kX64, m.records[c.record], c.entry).offset;
  StoreLe(m.records[c.record].code(), at, (uint64_t{0xdeadbeef} << 32) | 17, 8);
  const Bytes cache = m.Assemble();
  const Bytes out = ExpectAccepted(cache, c.fixture);
  ASSERT_EQ(out.size(), cache.size());
  EXPECT_EQ(LoadLe(out, c.TagFileOffset(), 8), 17u);
}

// Appends `(type (struct))` to the type section of `wire`.
Bytes AppendStructType(const Bytes& wire) {
  auto read_leb = [](const Bytes& b, size_t& at) {
    uint32_t value = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t byte = b.at(at++);
      value |= uint32_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80)) return value;
    }
  };
  auto write_leb = [](Bytes& b, uint32_t value) {
    do {
      uint8_t byte = value & 0x7f;
      value >>= 7;
      if (value != 0) byte |= 0x80;
      b.push_back(byte);
    } while (value != 0);
  };
  Bytes out(wire.begin(), wire.begin() + 8);
  size_t at = 8;
  while (at < wire.size()) {
    const uint8_t id = wire[at++];
    const uint32_t size = read_leb(wire, at);
    Bytes body(wire.begin() + at, wire.begin() + at + size);
    at += size;
    if (id == 1) {
      size_t p = 0;
      const uint32_t count = read_leb(body, p);
      Bytes rewritten;
      write_leb(rewritten, count + 1);
      rewritten.insert(rewritten.end(), body.begin() + p, body.end());
      rewritten.push_back(0x5f);  // struct
      rewritten.push_back(0x00);  // no fields
      body = rewritten;
    }
    out.push_back(id);
    write_leb(out, static_cast<uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  }
  return out;
}

TEST(CanonicalSigIdTest, TypeIndexOutOfRangeIsDataLoss) {
  for (const char* name : {"x64/call_indirect", "arm64/call_indirect",
                           "x64/imports", "arm64/imports"}) {
    SCOPED_TRACE(name);
    const SiteCase c = FindSite(name, RelocMode::kWasmCanonicalSigId);
    const uint32_t types = c.fixture.module.num_types();
    ExpectTagRejected(c, types, "is not a function signature");
    ExpectTagRejected(c, 0xffffffff, "is not a function signature");
    // Any signature that is the first of its canonical class round-trips
    // (the serializer writes the smallest type index of a class).
    int kept = 0;
    for (uint32_t t = 0; t < types; ++t) {
      if (c.fixture.module.is_signature[t] &&
          c.fixture.module.structural_class[t] == t) {
        ExpectTagKept(c, t, 4);
        ++kept;
      }
    }
    EXPECT_GT(kept, 0);
  }
}

TEST(CanonicalSigIdTest, TypeIndexOfAStructTypeIsDataLoss) {
  for (const char* name : {"x64/call_indirect", "arm64/call_indirect"}) {
    SCOPED_TRACE(name);
    SiteCase c = FindSite(name, RelocMode::kWasmCanonicalSigId);
    const uint32_t struct_index = c.fixture.module.num_types();
    absl::StatusOr<ModuleInfo> module =
        DecodeModuleInfo(AppendStructType(c.fixture.wire));
    ASSERT_TRUE(module.ok()) << module.status();
    ASSERT_EQ(module->num_types(), struct_index + 1);
    ASSERT_FALSE(module->is_signature[struct_index]);
    c.fixture.module = *module;
    c.fixture.env = DefaultEnvironment(c.arch(), *module);
    // The unchanged cache still loads against the module with one more type.
    ExpectAccepted(c.fixture.cache, c.fixture);
    ExpectTagRejected(c, struct_index, "is not a function signature");
  }
}

TEST(InternalReferenceTest, OffsetOutsideTheInstructionsIsDataLoss) {
  const SiteCase c = FindSite("x64/br_table", RelocMode::kInternalReference);
  const uint64_t size = c.model.records[c.record].code().size();
  ExpectTagRejected(c, size, "internal offset");
  ExpectTagRejected(c, size + 64, "internal offset");
  ExpectTagRejected(c, uint64_t{1} << 32, "internal offset");
  ExpectTagRejected(c, ~uint64_t{0}, "internal offset");
  ExpectTagKept(c, size - 1, 8);
  ExpectTagKept(c, 0, 8);
}

TEST(InternalReferenceTest, Arm64OffsetOutsideTheInstructionsIsDataLoss) {
  // arm64 caches carry none (br_table becomes a branch table); add one in
  // the padding of a function.
  const LoadedFixture f = LoadCommitted("arm64/br_table");
  CacheModel m = ModelOf(f);
  Record& r = m.records[1];
  const uint32_t pc = static_cast<uint32_t>(r.ints[kUnpaddedBinarySize]) + 8;
  ASSERT_LE(pc + 8, r.code().size());
  AddReloc(r, RelocMode::kInternalReference, pc);
  for (uint64_t offset : {uint64_t{r.code().size()}, ~uint64_t{0}}) {
    SCOPED_TRACE(offset);
    StoreLe(r.code(), pc, offset, 8);
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                   "internal offset");
  }
  StoreLe(r.code(), pc, r.code().size() - 4, 8);
  const Bytes cache = m.AssembleFixed();
  EXPECT_EQ(ExpectAccepted(cache, f), cache);
}

// ---------------------------------------------------------------------------
// The RelocInfo stream and the sites it names.

TEST(RelocTest, PcOrFieldOutsideTheInstructionsIsDataLoss) {
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const CacheModel original = ModelOf(f);
    const size_t last = original.records.size() - 1;
    const auto size =
        static_cast<uint32_t>(original.records[last].code().size());
    struct Case {
      RelocMode mode;
      uint32_t pc;
      std::string_view message;
    };
    const Case cases[] = {
        // The entry's pc itself is past the end (the stream check).
        {RelocMode::kInternalReference, size, "outside the"},
        {RelocMode::kWasmStubCall, size, "outside the"},
        {RelocMode::kWasmStubCall, size + 100, "outside the"},
        // The pc is inside, the 8-byte value is not.
        {RelocMode::kInternalReference, size - 4, "outside the"},
        {RelocMode::kInternalReference, size - 1, "outside the"},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(
          absl::StrFormat("%s at pc 0x%x", RelocModeName(c.mode), c.pc));
      CacheModel m = original;
      AddReloc(m.records[last], c.mode, c.pc);
      ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss, c.message);
    }
  }
  {
    // Entries the serializer does not patch have no field; only the
    // stream's pc check sees them.
    const LoadedFixture f = LoadCommitted("arm64/br_table");
    const CacheModel original = ModelOf(f);
    const auto size =
        static_cast<uint32_t>(original.records.back().code().size());
    for (uint32_t pc : {size, size + 3, size + 1000}) {
      for (RelocMode mode : {RelocMode::kConstPool, RelocMode::kVeneerPool}) {
        SCOPED_TRACE(absl::StrFormat("%s at pc 0x%x", RelocModeName(mode), pc));
        CacheModel m = original;
        AddReloc(m.records.back(), mode, pc, 8);
        ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                       "outside the");
      }
    }
    CacheModel m = original;
    AddReloc(m.records.back(), RelocMode::kConstPool, size - 4, 8);
    const Bytes cache = m.AssembleFixed();
    EXPECT_EQ(ExpectAccepted(cache, f), cache);
  }
  // x64: a 4-byte rel32 that starts 2 bytes before the end.
  const LoadedFixture f = LoadCommitted("x64/br_table");
  CacheModel m = ModelOf(f);
  Record& r = m.records.back();
  AddReloc(r, RelocMode::kWasmStubCall,
           static_cast<uint32_t>(r.code().size() - 2));
  ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss, "outside the");
}

TEST(RelocTest, MalformedStreamsAreDataLoss) {
  const LoadedFixture f = LoadCommitted("x64/br_table");
  // Streams are read from the last byte to the first.
  const std::pair<const char*, Bytes> streams[] = {
      {"unknown mode 23", {0x00, (23 << 2) | 3}},
      {"unknown mode 63", {0x00, (63 << 2) | 3}},
      {"PC_JUMP with no record after it", {0x01, (22 << 2) | 3}},
      {"PC_JUMP of zero", {0x04, 0x00, (22 << 2) | 3}},
      {"long record truncated before its pc byte", {(10 << 2) | 3}},
      {"pc byte over 63", {0x40, (10 << 2) | 3}},
      {"short-tag mode as a long record", {0x00, (6 << 2) | 3}},
  };
  for (const auto& [what, stream] : streams) {
    SCOPED_TRACE(what);
    CacheModel m = ModelOf(f);
    m.records.back().parts[kReloc] = stream;
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss, "reloc: ");
  }
}

TEST(RelocTest, ModesNotAllowedInWasmCodeAreDataLoss) {
  const RelocMode modes[] = {
      RelocMode::kNoInfo,
      RelocMode::kCodeTarget,  // a short record
      RelocMode::kRelativeCodeTarget,
      RelocMode::kCompressedEmbeddedObject,
      RelocMode::kFullEmbeddedObject,  // a short record
      RelocMode::kJsDispatchHandle,
      RelocMode::kOffHeapTarget,
      RelocMode::kNearBuiltinEntry,
      RelocMode::kDeoptScriptOffset,
      RelocMode::kDeoptInliningId,
      RelocMode::kDeoptReason,
      RelocMode::kDeoptId,
      RelocMode::kDeoptNodeId,
  };
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    for (RelocMode mode : modes) {
      SCOPED_TRACE(RelocModeName(mode));
      CacheModel m = ModelOf(f);
      AddReloc(m.records[0], mode, 8, 1);
      ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                     "is not allowed in wasm code");
    }
  }
}

TEST(RelocTest, ModesTheTargetDoesNotUseAreDataLoss) {
  // x64 has no constant or veneer pools; neither target encodes internal
  // references in instructions.
  const std::pair<const char*, RelocMode> cases[] = {
      {"x64/br_table", RelocMode::kConstPool},
      {"x64/br_table", RelocMode::kVeneerPool},
      {"x64/br_table", RelocMode::kInternalReferenceEncoded},
      {"arm64/br_table", RelocMode::kInternalReferenceEncoded},
  };
  for (const auto& [name, mode] : cases) {
    SCOPED_TRACE(absl::StrFormat("%s %s", name, RelocModeName(mode)));
    const LoadedFixture f = LoadCommitted(name);
    CacheModel m = ModelOf(f);
    AddReloc(m.records[2], mode, 16, 12);
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss, "reloc: ");
  }
}

TEST(RelocTest, PoolMarkersAreAllowedAndKept) {
  // CONST_POOL and VENEER_POOL mark data in arm64 code; they are allowed
  // and not patched.
  const LoadedFixture f = LoadCommitted("arm64/br_table");
  for (RelocMode mode : {RelocMode::kConstPool, RelocMode::kVeneerPool}) {
    SCOPED_TRACE(RelocModeName(mode));
    CacheModel m = ModelOf(f);
    AddReloc(m.records[2], mode, 16, 12);
    const Bytes cache = m.AssembleFixed();
    EXPECT_EQ(ExpectAccepted(cache, f), cache);
  }
}

TEST(OverlapTest, SitesThatShareBytesAreDataLoss) {
  // Two INTERNAL_REFERENCE values in the padding of x64/br_table's last
  // function, each holding a valid offset; 8 bytes each.
  const LoadedFixture f = LoadCommitted("x64/br_table");
  CacheModel base = ModelOf(f);
  Record& r = base.records.back();
  const uint32_t at =
      (static_cast<uint32_t>(r.ints[kUnpaddedBinarySize]) + 7) & ~7u;
  ASSERT_LE(at + 16, r.code().size());
  ASSERT_TRUE(Relocs(r).empty());
  StoreLe(r.code(), at, 16, 8);
  StoreLe(r.code(), at + 8, 0, 8);
  {
    SCOPED_TRACE("adjacent: accepted");
    CacheModel m = base;
    SetRelocs(m.records.back(), {{RelocMode::kInternalReference, at, 0},
                                 {RelocMode::kInternalReference, at + 8, 0}});
    const Bytes cache = m.AssembleFixed();
    EXPECT_EQ(ExpectAccepted(cache, f), cache);
  }
  {
    // The second value (bytes at+4 .. at+11) reads as offset 0, valid on
    // its own: only the overlap check can reject it.
    SCOPED_TRACE("4 bytes shared");
    CacheModel m = base;
    SetRelocs(m.records.back(), {{RelocMode::kInternalReference, at, 0},
                                 {RelocMode::kInternalReference, at + 4, 0}});
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                   "patches bytes of");
  }
  {
    // The same 8-byte value named twice: V8 would relocate it twice, the
    // second time reading the first one's address as its tag (V8 13.6
    // crashes on such caches: corpus/regressions/v8gate).
    SCOPED_TRACE("same value twice");
    CacheModel m = base;
    SetRelocs(m.records.back(), {{RelocMode::kInternalReference, at, 0},
                                 {RelocMode::kInternalReference, at, 0}});
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                   "patches bytes of");
  }
  {
    // A pc-relative call patched twice is never the same site twice.
    SCOPED_TRACE("the same rel32 twice");
    const SiteCase c = FindSite("x64/br_table", RelocMode::kWasmStubCall);
    CacheModel m = c.model;
    AddReloc(m.records[c.record], RelocMode::kWasmStubCall, c.entry.pc);
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                   "patches bytes of");
  }
}

// ---------------------------------------------------------------------------
// Lengths, tags and totals.

TEST(LengthTest, NegativeAndHugeLengths) {
  struct Case {
    int index;
    int64_t value;  // kMax: the target's largest function
    StatusCode code;
    std::string_view message;
  };
  constexpr int64_t kMax = -1000;
  constexpr int64_t kMaxPlusOne = -1001;
  const Case cases[] = {
      {kInstructionsSize, -64, StatusCode::kDataLoss,
       "negative instructions size"},
      {kInstructionsSize, std::numeric_limits<int32_t>::min(),
       StatusCode::kDataLoss, "negative instructions size"},
      // More than one code space of the target holds.
      {kInstructionsSize, 0x7ffffff0, StatusCode::kResourceExhausted,
       "code space"},
      {kInstructionsSize, kMaxPlusOne, StatusCode::kResourceExhausted,
       "code space"},
      // At the limit: read, and the input ends first.
      {kInstructionsSize, kMax, StatusCode::kOutOfRange, "code: "},
      {kRelocInfoSize, 1000000, StatusCode::kOutOfRange, "code: "},
      {kRelocInfoSize, 0x7ffffff0, StatusCode::kOutOfRange, "code: "},
      {kRelocInfoSize, -1, StatusCode::kDataLoss, "negative reloc_info size"},
      {kSourcePositionsSize, -1, StatusCode::kDataLoss, "negative"},
      {kSourcePositionsSize, 0x7fffffff, StatusCode::kOutOfRange, "code: "},
      {kInliningPositionsSize, -1, StatusCode::kDataLoss, "negative"},
      {kInliningPositionsSize, 0x7fffffff, StatusCode::kOutOfRange, "code: "},
      {kDeoptDataSize, -1, StatusCode::kDataLoss, "negative"},
      {kDeoptDataSize, 0x7fffffff, StatusCode::kOutOfRange, "code: "},
      {kProtectedInstructionsSize, -1, StatusCode::kDataLoss, "negative"},
      {kProtectedInstructionsSize, 0x7fffffff, StatusCode::kOutOfRange,
       "code: "},
  };
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const CacheModel original = ModelOf(f);
    const auto max = static_cast<int64_t>(MaxFunctionCodeSize(f.fixture.arch));
    for (size_t record : {size_t{0}, original.records.size() - 1}) {
      for (const Case& c : cases) {
        const int64_t value = c.value == kMax          ? max
                              : c.value == kMaxPlusOne ? max + 1
                                                       : c.value;
        SCOPED_TRACE(
            absl::StrFormat("function %d int %d = %d", record, c.index, value));
        CacheModel m = original;
        m.records[record].ints[c.index] = static_cast<int32_t>(value);
        ExpectRejected(m.Assemble(), f, c.code, c.message);
      }
    }
  }
}

TEST(FunctionTagTest, UnknownTagsAreDataLoss) {
  // V8 reads any tag but 2 and 3 as TurboFan (a 7 loads and runs in V8).
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const CacheModel original = ModelOf(f);
    for (size_t record : {size_t{0}, original.records.size() - 1}) {
      for (uint8_t tag : {0, 1, 5, 7, 255}) {
        SCOPED_TRACE(absl::StrFormat("function %d tag %d", record, tag));
        CacheModel m = original;
        m.records[record].tag = tag;  // the record's body stays
        ExpectRejected(m.Assemble(), f, StatusCode::kDataLoss, "unknown tag");
      }
    }
  }
}

TEST(FunctionTagTest, LazyTagBeforeATurboFanBodyIsDataLoss) {
  // A 4 turned into 2 or 3 (V8 crashes on this): the record ends at the
  // tag, and the next tag is read from the first byte of the code header.
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const CacheModel original = ModelOf(f);
    const auto first_byte = static_cast<uint8_t>(
        original.records[0].ints[kConstantPoolOffset] & 0xff);
    ASSERT_TRUE(first_byte < 2 || first_byte > 4) << int{first_byte};
    for (uint8_t tag : {kTagLazy, kTagEager}) {
      CacheModel m = original;
      m.records[0].tag = tag;
      ExpectRejected(m.Assemble(), f, StatusCode::kDataLoss, "unknown tag");
    }
  }
}

TEST(TotalCodeSizeTest, WrongTotalIsDataLoss) {
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    const CacheModel original = ModelOf(f);
    const uint64_t total = original.total_code_size;
    // 64 is what V8 itself accepted.
    for (uint64_t wrong : {uint64_t{0}, uint64_t{64}, total - 1, total + 1,
                           total * 2, f.env.max_module_code_size}) {
      SCOPED_TRACE(wrong);
      CacheModel m = original;
      m.total_code_size = wrong;
      ExpectRejected(m.Assemble(), f, StatusCode::kDataLoss,
                     "but the functions hold");
    }
    for (uint64_t huge : {f.env.max_module_code_size + 1, ~uint64_t{0}}) {
      SCOPED_TRACE(huge);
      CacheModel m = original;
      m.total_code_size = huge;
      ExpectRejected(m.Assemble(), f, StatusCode::kResourceExhausted,
                     "over the limit");
    }
    // The limit belongs to the environment.
    LoadedFixture limited = f;
    limited.env.max_module_code_size = total - 1;
    ExpectRejected(f.cache, limited, StatusCode::kResourceExhausted,
                   "over the limit");
    limited.env.max_module_code_size = total;
    ExpectAccepted(f.cache, limited);
  }
}

TEST(TrailerTest, BytesAfterTheTieringBudgetsAreDataLoss) {
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    for (const Bytes& extra : {Bytes{0}, Bytes{0x40, 0x5d, 0xc6, 0x00},
                               Bytes(f.cache.begin(), f.cache.end())}) {
      SCOPED_TRACE(extra.size());
      Bytes cache = f.cache;
      cache.insert(cache.end(), extra.begin(), extra.end());
      ExpectRejected(cache, f, StatusCode::kDataLoss,
                     "after the tiering budgets");
    }
  }
}

TEST(NoTurboFanTest, CacheWithoutTurboFanCodeIsDataLoss) {
  // V8 never writes such a cache (it refuses to serialize without
  // TurboFan code).
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    for (uint8_t tag : {kTagLazy, kTagEager}) {
      SCOPED_TRACE(int{tag});
      CacheModel m = ModelOf(f);
      for (Record& r : m.records) {
        r.tag = tag;
        r.has_body = false;
      }
      ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss,
                     "no TurboFan function");
    }
  }
}

// ---------------------------------------------------------------------------
// Header and module-header fields against the environment.

TEST(HeaderTest, CheckedWordsMismatchIsFailedPrecondition) {
  for (const char* name : {"x64/br_table", "arm64/br_table"}) {
    SCOPED_TRACE(name);
    const LoadedFixture f = LoadCommitted(name);
    // Node 24.9's magic and version hash (V8 13.6.233.10).
    for (const auto& [word, value] :
         {std::pair<int, uint32_t>{0, 0xC0DE0688}, {1, 0x2B2C7714}}) {
      SCOPED_TRACE(word);
      CacheModel m = ModelOf(f);
      m.words[word] = value;
      ExpectRejected(m.Assemble(), f, StatusCode::kFailedPrecondition,
                     "but the environment expects");
      // An environment that only records the word accepts it, and keeps it.
      LoadedFixture recording = f;
      recording.env.expected_header[word] = std::nullopt;
      const Bytes cache = m.Assemble();
      EXPECT_EQ(ExpectAccepted(cache, recording), cache);
    }
    // Recorded words become checked ones when the environment says so.
    for (int word : {2, 3, 4}) {
      SCOPED_TRACE(word);
      LoadedFixture checking = f;
      checking.env.expected_header[word] = ModelOf(f).words[word] ^ 1;
      ExpectRejected(f.cache, checking, StatusCode::kFailedPrecondition,
                     "but the environment expects");
      checking.env.expected_header[word] = ModelOf(f).words[word];
      ExpectAccepted(f.cache, checking);
    }
  }
}

TEST(CompileTimeImportsTest, MismatchIsFailedPreconditionUnknownIsDataLoss) {
  const LoadedFixture f = LoadCommitted("x64/br_table");
  auto cache_with = [&](uint32_t flags, std::string_view constants) {
    CacheModel m = ModelOf(f);
    m.compile_time_imports = flags;
    m.constants_module.assign(constants.begin(), constants.end());
    return m.Assemble();
  };
  auto env_with = [&](uint32_t flags, std::string_view constants) {
    LoadedFixture e = f;
    e.env.compile_time_imports = flags;
    e.env.constants_module = std::string(constants);
    return e;
  };
  ExpectRejected(cache_with(1, ""), env_with(0, ""),
                 StatusCode::kFailedPrecondition, "compile-time imports");
  ExpectRejected(cache_with(0, ""), env_with(1, ""),
                 StatusCode::kFailedPrecondition, "compile-time imports");
  ExpectRejected(cache_with(0x3, ""), env_with(0x1, ""),
                 StatusCode::kFailedPrecondition, "compile-time imports");
  // Flags V8 13.6 does not have.
  ExpectRejected(cache_with(0x20, ""), env_with(0, ""), StatusCode::kDataLoss,
                 "unknown compile-time import flags");
  ExpectRejected(cache_with(0x80000000, ""), env_with(0, ""),
                 StatusCode::kDataLoss, "unknown compile-time import flags");
  // The imported-strings constants module must match too.
  ExpectRejected(cache_with(2, "'"), env_with(2, ""),
                 StatusCode::kFailedPrecondition, "constants module");
  ExpectRejected(cache_with(2, ""), env_with(2, "'"),
                 StatusCode::kFailedPrecondition, "constants module");
  // Matching ones are accepted and written back.
  for (const auto& [flags, constants] :
       {std::pair<uint32_t, std::string_view>{0x1f, ""}, {0x3, "strings"}}) {
    SCOPED_TRACE(flags);
    const Bytes cache = cache_with(flags, constants);
    EXPECT_EQ(ExpectAccepted(cache, env_with(flags, constants)), cache);
  }
}

TEST(WellKnownImportTest, StatusAboveSixtyIsDataLoss) {
  const LoadedFixture f = LoadCommitted("x64/imports");
  const CacheModel original = ModelOf(f);
  ASSERT_EQ(original.import_statuses.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    for (uint8_t status : {61, 62, 128, 255}) {
      CacheModel m = original;
      m.import_statuses[i] = status;
      ExpectRejected(m.Assemble(), f, StatusCode::kDataLoss,
                     "unknown well-known status");
    }
    for (uint8_t status : {1, 2, 60}) {
      CacheModel m = original;
      m.import_statuses[i] = status;
      const Bytes cache = m.Assemble();
      const Bytes out = ExpectAccepted(cache, f);
      ExpectSameBytes(cache, out, kConstantsModuleAt + i, 1);
    }
  }
}

TEST(AllFunctionsValidatedTest, NonBoolIsDataLoss) {
  const LoadedFixture f = LoadCommitted("x64/br_table");
  for (uint8_t value : {2, 3, 255}) {
    CacheModel m = ModelOf(f);
    m.all_functions_validated = value;
    ExpectRejected(m.Assemble(), f, StatusCode::kDataLoss, "not a bool");
  }
  CacheModel m = ModelOf(f);
  m.all_functions_validated = 0;  // lazy validation: valid
  const Bytes cache = m.Assemble();
  EXPECT_EQ(ExpectAccepted(cache, f), cache);
}

// ---------------------------------------------------------------------------
// arm64 instruction forms.

TEST(Arm64BranchTest, NegativeImm26TagsAreDataLoss) {
  {
    const SiteCase c = FindSite("arm64/calls", RelocMode::kWasmCall);
    ASSERT_TRUE(
        TagFieldOf(c.arch(), c.model.records[c.record], c.entry).arm64_branch);
    // imm26 is read sign-extended: -1, -2 and -2^25.
    for (uint32_t imm26 : {0x3ffffffu, 0x3fffffeu, 0x2000000u}) {
      ExpectTagRejected(c, imm26, "outside the declared functions");
    }
    ExpectTagKept(c, 9, 4);
  }
  {
    const SiteCase c = FindSite("arm64/br_table", RelocMode::kWasmStubCall);
    ASSERT_TRUE(
        TagFieldOf(c.arch(), c.model.records[c.record], c.entry).arm64_branch);
    for (uint32_t imm26 : {0x3ffffffu, 0x2000000u}) {
      ExpectTagRejected(c, imm26, "has no far jump-table slot");
    }
  }
}

TEST(Arm64LdrLiteralTest, LiteralOutsideTheInstructionsIsDataLoss) {
  for (RelocMode mode :
       {RelocMode::kExternalReference, RelocMode::kWasmCanonicalSigId}) {
    SCOPED_TRACE(RelocModeName(mode));
    const SiteCase c = FindSite("arm64/call_indirect", mode);
    const Record& r = c.model.records[c.record];
    const auto insn = static_cast<uint32_t>(LoadLe(r.code(), c.entry.pc, 4));
    ASSERT_TRUE(IsArm64LdrLiteral(insn));
    const int64_t pc = c.entry.pc;
    const int64_t size = static_cast<int64_t>(r.code().size());
    const size_t slot_size = TagFieldOf(c.arch(), r, c.entry).size;
    // Slot positions (from the start of the instructions) to point at.
    std::vector<int64_t> outside = {size,
                                    size + 4,
                                    -4,
                                    -pc - 4,
                                    pc + ((int64_t{1} << 18) - 1) * 4,
                                    pc - (int64_t{1} << 18) * 4};
    if (slot_size == 8) outside.push_back(size - 4);  // straddles the end
    for (int64_t slot : outside) {
      SCOPED_TRACE(absl::StrFormat("slot at %d of %d", slot, size));
      CacheModel m = c.model;
      StoreLe(m.records[c.record].code(), c.entry.pc,
              WithImm19(insn, (slot - pc) / 4), 4);
      ExpectRejected(m.Assemble(), c.fixture, StatusCode::kDataLoss,
                     "outside the");
    }
  }
  {
    // Moved to a slot in the padding that holds a valid tag: accepted, and
    // both the instruction and the slot are written back.
    const SiteCase c =
        FindSite("arm64/call_indirect", RelocMode::kExternalReference);
    CacheModel m = c.model;
    Record& r = m.records[c.record];
    const auto insn = static_cast<uint32_t>(LoadLe(r.code(), c.entry.pc, 4));
    const int64_t slot = r.code().size() - 8;
    ASSERT_GE(slot, r.ints[kUnpaddedBinarySize]);
    StoreLe(r.code(), static_cast<size_t>(slot), 131, 8);
    StoreLe(r.code(), c.entry.pc, WithImm19(insn, (slot - c.entry.pc) / 4), 4);
    const Bytes cache = m.Assemble();
    EXPECT_EQ(ExpectAccepted(cache, c.fixture), cache);
  }
}

TEST(Arm64SiteTest, WrongInstructionOrUnalignedPcIsDataLoss) {
  const LoadedFixture f = LoadCommitted("arm64/call_indirect");
  const CacheModel original = ModelOf(f);
  const size_t record = *RecordWith(original, RelocMode::kExternalReference);
  const Record& r = original.records[record];
  const RelocEntry ext = *FindReloc(r, RelocMode::kExternalReference);
  const RelocEntry stub = *FindReloc(r, RelocMode::kWasmStubCall);
  const RelocEntry sig = *FindReloc(r, RelocMode::kWasmCanonicalSigId);
  ASSERT_TRUE(
      IsArm64Branch(static_cast<uint32_t>(LoadLe(r.code(), stub.pc, 4))));
  const auto first = static_cast<uint32_t>(LoadLe(r.code(), 0, 4));
  ASSERT_FALSE(IsArm64Branch(first) || IsArm64LdrLiteral(first));
  struct Case {
    RelocMode mode;
    uint32_t pc;
    std::string_view message;
  };
  const Case cases[] = {
      {RelocMode::kWasmCall, 0, "neither b/bl nor ldr x literal"},
      {RelocMode::kWasmStubCall, 0, "neither b/bl nor ldr x literal"},
      {RelocMode::kExternalReference, stub.pc, "is not ldr x literal"},
      {RelocMode::kExternalReference, sig.pc, "is not ldr x literal"},
      {RelocMode::kWasmCanonicalSigId, ext.pc, "is not ldr w literal"},
      {RelocMode::kWasmCodePointerTableEntry, 0, "is not ldr w literal"},
      {RelocMode::kWasmStubCall, stub.pc + 1, "not 4-aligned"},
      {RelocMode::kWasmStubCall, stub.pc + 2, "not 4-aligned"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrFormat("%s at pc 0x%x", RelocModeName(c.mode), c.pc));
    CacheModel m = original;
    AddReloc(m.records[record], c.mode, c.pc);
    ExpectRejected(m.AssembleFixed(), f, StatusCode::kDataLoss, c.message);
  }
}

// ---------------------------------------------------------------------------
// A cache that passes every check but cannot be loaded.

TEST(LoadFailureTest, FunctionAsLargeAsACodeSpaceLeavesNothingBehind) {
  // arm64 code spaces hold 128 MiB, jump tables included. A function of
  // exactly 128 MiB passes every check of the cache, but a code object may
  // take at most half a code space (batches are split at that size). The
  // load fails after the module and its first space were created: both
  // must be gone when Deserialize returns.
  const LoadedFixture f = LoadCommitted("arm64/br_table");
  CacheModel m = ModelOf(f);
  ASSERT_TRUE(Relocs(m.records.back()).empty());
  // Keep the function's own bytes (its safepoint table) and pad with zeros.
  m.records.back().code().resize(MaxFunctionCodeSize(Arch::kArm64), 0);
  m.FixLengths();
  const Bytes cache = m.Assemble();
  m.records.back().code().clear();
  ExpectRejected(cache, f, StatusCode::kResourceExhausted,
                 "over half the 134217728-byte code space");
}

}  // namespace
}  // namespace wasmcache
