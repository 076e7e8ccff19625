// Function and module names: precedence (name section, import, export),
// V8's rules inside the name section, malformed name sections, laziness and
// concurrent first use, the committed fixtures, modules built by
// `wat2wasm --debug-names`, and the labels of `wasmcache inspect`.

#include "reference/names_provider.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "spec/module_info.h"
#include "tests/test_util.h"

namespace wasmcache::reference {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes Leb(uint32_t value) {
  Bytes out;
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
  return out;
}

Bytes Str(std::string_view s) {
  return Cat({Leb(static_cast<uint32_t>(s.size())), Bytes(s.begin(), s.end())});
}

Bytes Section(uint8_t id, const Bytes& body) {
  return Cat({{id}, Leb(static_cast<uint32_t>(body.size())), body});
}

Bytes Subsection(uint8_t id, const Bytes& body) { return Section(id, body); }

// A custom section called "name" with `payload` as its contents.
Bytes NameSection(const Bytes& payload) {
  return Section(0, Cat({Str("name"), payload}));
}

Bytes Module(std::initializer_list<Bytes> sections) {
  Bytes out = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  for (const Bytes& s : sections) out.insert(out.end(), s.begin(), s.end());
  return out;
}

// One signature, () -> (), and `count` functions of it.
Bytes Types() { return Section(1, {1, 0x60, 0, 0}); }
Bytes Functions(uint32_t count) {
  Bytes body = Leb(count);
  for (uint32_t i = 0; i < count; ++i) body.push_back(0);
  return Section(3, body);
}

Bytes FunctionImport(std::string_view module, std::string_view field) {
  return Cat({Str(module), Str(field), {0, 0}});
}
Bytes FunctionExport(std::string_view name, uint32_t index) {
  return Cat({Str(name), {0}, Leb(index)});
}

std::optional<std::string> NameOf(const NamesProvider& names, uint32_t i) {
  auto name = names.FunctionName(i);
  if (!name) return std::nullopt;
  return std::string(*name);
}

// Imports, exports and a name section that exercise every precedence rule.
//
//   0  import env.add           no name-section entry      "$env.add"
//   1  import "my mod"."f(x)"   entry not UTF-8 (skipped)  "$my_mod.f_x_"
//   2  declared                 entries "named", "dup"     "$named"
//   3  declared                 entry ""                   "$"
//   4  declared                 exports "exported","second" "$exported"
//   5  declared                 export ""                   none
//   6  declared                 export "h\u00e9llo\U0001F600" "$h_llo__"
//   0 is also exported as "imp": the import name wins.
Bytes PrecedenceModule() {
  const Bytes imports = Cat({Leb(3), FunctionImport("env", "add"),
                             Str("env"), Str("mem"), {2, 0, 1},  // memory
                             FunctionImport("my mod", "f(x)")});
  const Bytes exports =
      Cat({Leb(6), FunctionExport("exported", 4), FunctionExport("second", 4),
           FunctionExport("", 5), FunctionExport("imp", 0),
           FunctionExport("h\xc3\xa9llo\xf0\x9f\x98\x80", 6),
           Str("memory"), {2, 0}});
  const Bytes function_names = Cat({
      Leb(6),
      Leb(2), Str("named"),
      Leb(2), Str("dup"),
      Leb(7), Str("past the functions"),
      Leb(1), Str("\xc0\x80"),  // overlong: not UTF-8
      Leb(3), Str(""),
      Leb(0xffffffff), Str("huge"),
  });
  const Bytes local_names = {1, 2, 1, 0, 1, 'x'};  // skipped by length
  const Bytes payload =
      Cat({Subsection(0, Str("demo")), Subsection(1, function_names),
           Subsection(2, local_names)});
  return Module({Types(), Section(2, imports), Functions(5),
                 Section(7, exports), NameSection(payload)});
}

TEST(NamesProvider, FollowsV8Precedence) {
  const Bytes wire = PrecedenceModule();
  ASSERT_TRUE(DecodeModuleInfo(wire).ok());
  NamesProvider names(wire);
  EXPECT_EQ(names.module_status(), absl::OkStatus());
  EXPECT_EQ(names.name_section_status(), absl::OkStatus());
  EXPECT_EQ(names.ModuleName(), "demo");
  EXPECT_EQ(NameOf(names, 0), "$env.add");
  EXPECT_EQ(NameOf(names, 1), "$my_mod.f_x_");
  EXPECT_EQ(NameOf(names, 2), "$named");
  EXPECT_EQ(NameOf(names, 3), "$");
  EXPECT_EQ(NameOf(names, 4), "$exported");
  EXPECT_EQ(NameOf(names, 5), std::nullopt);
  EXPECT_EQ(NameOf(names, 6), "$h_llo__");
  EXPECT_EQ(NameOf(names, 7), std::nullopt);
  EXPECT_EQ(NameOf(names, 0xffffffff), std::nullopt);
}

TEST(NamesProvider, NameSectionNamesAreNotSanitized) {
  const Bytes payload = Subsection(
      1, Cat({Leb(2), Leb(0), Str("a b\"(\xe2\x82\xac)"), Leb(1),
              Str("\xed\xa0\x80")}));  // a surrogate: skipped
  const Bytes wire = Module({Types(), Functions(2), NameSection(payload)});
  NamesProvider names(wire);
  EXPECT_EQ(NameOf(names, 0), "$a b\"(\xe2\x82\xac)");
  EXPECT_EQ(NameOf(names, 1), std::nullopt);
}

TEST(NamesProvider, RejectsMalformedUtf8InNamesSkipsIt) {
  // Not UTF-8: overlong, surrogate, past U+10FFFF, cut short, stray
  // continuation byte. Each entry is skipped, the section stays valid.
  const std::vector<std::string> bad = {"\xc0\x80", "\xed\xa0\x80",
                                        "\xf4\x90\x80\x80", "\xe2\x82",
                                        "\x80"};
  Bytes entries = Leb(static_cast<uint32_t>(bad.size() + 1));
  for (uint32_t i = 0; i < bad.size(); ++i) {
    entries = Cat({entries, Leb(i), Str(bad[i])});
  }
  // The largest code point is fine.
  entries = Cat({entries, Leb(5), Str("\xf4\x8f\xbf\xbf")});
  const Bytes wire =
      Module({Types(), Functions(6), NameSection(Subsection(1, entries))});
  NamesProvider names(wire);
  EXPECT_EQ(names.name_section_status(), absl::OkStatus());
  for (uint32_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(NameOf(names, i), std::nullopt) << i;
  }
  EXPECT_EQ(NameOf(names, 5), "$\xf4\x8f\xbf\xbf");
}

TEST(NamesProvider, RepeatedSubsectionsAndSectionsFollowV8) {
  // First function-names subsection counts; the last module name does; the
  // second "name" section is not read at all (even though it is broken).
  const Bytes first = Cat({
      Subsection(0, Str("first")),
      Subsection(1, Cat({Leb(1), Leb(0), Str("one")})),
      Subsection(1, Cat({Leb(2), Leb(0), Str("two"), Leb(1), Str("two")})),
      Subsection(0, Str("last")),
      Subsection(9, {0xff, 0xff}),  // unknown subsection: skipped
  });
  const Bytes wire = Module({Types(), Functions(2), NameSection(first),
                             NameSection({0x81})});
  NamesProvider names(wire);
  EXPECT_EQ(names.name_section_status(), absl::OkStatus());
  EXPECT_EQ(names.ModuleName(), "last");
  EXPECT_EQ(NameOf(names, 0), "$one");
  EXPECT_EQ(NameOf(names, 1), std::nullopt);
}

TEST(NamesProvider, IndexBoundaries) {
  // The last function is named; the first index past it is ignored.
  const Bytes payload = Subsection(
      1, Cat({Leb(2), Leb(2), Str("last"), Leb(3), Str("past")}));
  const Bytes wire = Module({Types(), Functions(3), NameSection(payload)});
  NamesProvider names(wire);
  EXPECT_EQ(NameOf(names, 2), "$last");
  EXPECT_EQ(NameOf(names, 3), std::nullopt);
}

TEST(NamesProvider, NoNameSectionNoExportsNoNames) {
  const Bytes wire = Module({Types(), Functions(2)});
  NamesProvider names(wire);
  EXPECT_EQ(names.name_section_status(), absl::OkStatus());
  EXPECT_EQ(names.ModuleName(), std::nullopt);
  EXPECT_EQ(NameOf(names, 0), std::nullopt);
  EXPECT_EQ(NameOf(names, 1), std::nullopt);
}

struct MalformedCase {
  std::string what;
  Bytes payload;
  // Expected message without the offset, and the offset from the start of
  // the name section's payload.
  std::string message;
  size_t offset;
};

std::vector<MalformedCase> MalformedCases() {
  return {
      {"truncated entry", Subsection(1, {1}),
       "name section: function index truncated", 3},
      {"truncated subsection size", {1},
       "name section: subsection size truncated", 1},
      {"LEB128 too long",
       Subsection(1, {1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}),
       "name section: function index: LEB128 too long", 3},
      {"LEB128 out of range",
       Subsection(1, {1, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00}),
       "name section: function index: LEB128 out of range", 3},
      {"name length past the end", Subsection(1, {1, 0, 9, 'a'}),
       "name section: function name of 9 bytes truncated", 4},
      {"subsection past the section", {1, 50, 1, 0, 1, 'a'},
       "name section: subsection 1 of 50 bytes truncated", 1},
      {"subsection size too large", {1, 5, 1, 0, 1, 'a', 0},
       "name section: function names subsection has 1 bytes left over", 6},
      {"subsection size too small", {1, 3, 1, 0, 1, 'a'},
       "name section: function name of 1 bytes truncated", 4},
      {"subsection id not a varuint7", {0x81, 0},
       "name section: subsection id 0x81 is not a varuint7", 0},
      {"module name past its subsection", {0, 2, 5, 'a'},
       "name section: module name of 5 bytes truncated", 2},
      {"module name subsection too large", {0, 3, 1, 'm', 0},
       "name section: module name subsection has 1 bytes left over", 4},
      {"good names, then a bad subsection",
       Cat({Subsection(0, Str("m")), Subsection(1, {1, 0, 1, 'f'}), {0x81}}),
       "name section: subsection id 0x81 is not a varuint7", 10},
  };
}

TEST(NamesProvider, MalformedNameSectionsGiveNoNamesAndDataLoss) {
  for (const MalformedCase& c : MalformedCases()) {
    SCOPED_TRACE(c.what);
    const Bytes wire =
        Module({Types(), Functions(2), NameSection(c.payload)});
    const size_t payload_at = wire.size() - c.payload.size();
    NamesProvider names(wire);
    EXPECT_EQ(names.module_status(), absl::OkStatus());
    const absl::Status status = names.name_section_status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(std::string(status.message()),
              absl::StrFormat("wasm: %s at offset 0x%x", c.message,
                              payload_at + c.offset));
    EXPECT_EQ(names.ModuleName(), std::nullopt);
    EXPECT_EQ(NameOf(names, 0), std::nullopt);
    EXPECT_EQ(NameOf(names, 1), std::nullopt);
  }
}

TEST(NamesProvider, EveryTruncationOfANameSectionIsSafe) {
  // Cut the name section's payload at every length (keeping the declared
  // section size consistent): never a crash, never a partial result. A cut
  // between the two subsections leaves a valid section.
  const Bytes module_name = Subsection(0, Str("mod"));
  const Bytes payload =
      Cat({module_name, Subsection(1, Cat({Leb(2), Leb(0), Str("zero"),
                                           Leb(1), Str("one")}))});
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    const Bytes part(payload.begin(), payload.begin() + cut);
    const Bytes wire = Module({Types(), Functions(2), NameSection(part)});
    NamesProvider names(wire);
    if (cut == 0 || cut == module_name.size()) {
      EXPECT_EQ(names.name_section_status(), absl::OkStatus());
      EXPECT_EQ(NameOf(names, 0), std::nullopt);
      continue;
    }
    EXPECT_EQ(names.name_section_status().code(), absl::StatusCode::kDataLoss)
        << cut;
    EXPECT_EQ(NameOf(names, 0), std::nullopt) << cut;
    EXPECT_EQ(NameOf(names, 1), std::nullopt) << cut;
    EXPECT_EQ(names.ModuleName(), std::nullopt) << cut;
  }
}

TEST(NamesProvider, BadNameSectionKeepsImportAndExportNames) {
  const Bytes wire =
      Module({Types(), Section(2, Cat({Leb(1), FunctionImport("env", "f")})),
              Functions(1), Section(7, Cat({Leb(1), FunctionExport("g", 1)})),
              NameSection(Subsection(1, {1, 0, 9}))});
  NamesProvider names(wire);
  EXPECT_EQ(names.name_section_status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(NameOf(names, 0), "$env.f");
  EXPECT_EQ(NameOf(names, 1), "$g");
}

TEST(NamesProvider, ModuleEndingInsideTheNameSectionIsOutOfRange) {
  Bytes wire = Module({Types(), Functions(1),
                       NameSection(Subsection(1, {1, 0, 1, 'f'}))});
  wire.resize(wire.size() - 2);
  NamesProvider names(wire);
  EXPECT_EQ(names.module_status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(names.name_section_status(), names.module_status());
  EXPECT_EQ(NameOf(names, 0), std::nullopt);
}

TEST(NamesProvider, MalformedModulesGiveNoNames) {
  struct Case {
    std::string what;
    Bytes wire;
    absl::StatusCode code;
    std::string message;
  };
  const Bytes exported = Section(7, Cat({Leb(1), FunctionExport("f", 0)}));
  const std::vector<Case> cases = {
      {"bad magic", {0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0},
       absl::StatusCode::kDataLoss,
       "wasm: not a wasm module (bad magic or version) at offset 0x3"},
      {"short preamble", {0x00, 0x61}, absl::StatusCode::kOutOfRange,
       "wasm: module preamble truncated at offset 0x2"},
      {"export past the functions",
       Module({Types(), Functions(1),
               Section(7, Cat({Leb(1), FunctionExport("f", 1)}))}),
       absl::StatusCode::kDataLoss,
       "wasm: export of function 1 outside the functions [0, 1) at offset "
       "0x18"},
      {"export name not UTF-8",
       Module({Types(), Functions(1),
               Section(7, Cat({Leb(1), FunctionExport("\xff", 0)}))}),
       absl::StatusCode::kDataLoss,
       "wasm: export name is not valid UTF-8 at offset 0x15"},
      {"unknown export kind",
       Module({Types(), Functions(1), Section(7, {1, 1, 'f', 5, 0})}),
       absl::StatusCode::kDataLoss,
       "wasm: unknown export kind 5 at offset 0x17"},
      {"export section left over",
       Module({Types(), Functions(1),
               Section(7, Cat({Leb(1), FunctionExport("f", 0), {0}}))}),
       absl::StatusCode::kDataLoss,
       "wasm: export section has 1 bytes left over at offset 0x19"},
      {"export section out of order",
       Module({Types(), exported, Functions(1)}),
       absl::StatusCode::kDataLoss,
       "wasm: section 3 out of order or repeated at offset 0x15"},
      {"import field truncated",
       Module({Types(), Section(2, {1, 3, 'e', 'n', 'v', 4, 'f'})}),
       absl::StatusCode::kOutOfRange,
       "wasm: import field name of 4 bytes truncated at offset 0x15"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    NamesProvider names(c.wire);
    EXPECT_EQ(names.module_status().code(), c.code);
    EXPECT_EQ(std::string(names.module_status().message()), c.message);
    EXPECT_EQ(names.name_section_status(), names.module_status());
    EXPECT_EQ(NameOf(names, 0), std::nullopt);
  }
}

TEST(NamesProvider, CountLimitsAtTheBoundary) {
  // A count at V8's limit passes the limit check (and then runs out of
  // bytes); one past it is kResourceExhausted.
  auto status_of = [](const Bytes& wire) {
    return NamesProvider(wire).module_status();
  };
  EXPECT_EQ(status_of(Module({Section(7, Leb(kMaxExports))})).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status_of(Module({Section(7, Leb(kMaxExports + 1))})).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status_of(Module({Section(2, Leb(kMaxImports))})).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status_of(Module({Section(2, Leb(kMaxImports + 1))})).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status_of(Module({Section(3, Leb(kMaxFunctions))})),
            absl::OkStatus());
  EXPECT_EQ(status_of(Module({Section(3, Leb(kMaxFunctions + 1))})).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(NamesProvider, DecodesOnFirstUseOnly) {
  const Bytes wire = PrecedenceModule();
  NamesProvider names(wire);
  EXPECT_EQ(names.decode_count_for_testing(), 0);
  EXPECT_EQ(NameOf(names, 2), "$named");
  EXPECT_EQ(names.decode_count_for_testing(), 1);
  EXPECT_EQ(names.ModuleName(), "demo");
  EXPECT_EQ(names.name_section_status(), absl::OkStatus());
  EXPECT_EQ(names.module_status(), absl::OkStatus());
  EXPECT_EQ(NameOf(names, 4), "$exported");
  EXPECT_EQ(names.decode_count_for_testing(), 1);
}

TEST(NamesProvider, ConstructionReadsNothing) {
  // Bytes that are not a module: constructing is fine, the first lookup
  // reports the problem.
  const Bytes garbage = {1, 2, 3};
  NamesProvider names(garbage);
  EXPECT_EQ(names.decode_count_for_testing(), 0);
  EXPECT_EQ(names.module_status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(names.decode_count_for_testing(), 1);
}

TEST(NamesProvider, ConcurrentFirstUseIsConsistent) {
  const Bytes wire = PrecedenceModule();
  constexpr int kThreads = 8;
  constexpr uint32_t kIndices = 9;
  for (int round = 0; round < 20; ++round) {
    NamesProvider names(wire);
    std::atomic<bool> go{false};
    std::vector<std::vector<std::optional<std::string>>> seen(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        // Start at a different index on each thread.
        seen[t].resize(kIndices);
        for (uint32_t k = 0; k < kIndices; ++k) {
          const uint32_t i = (k + static_cast<uint32_t>(t)) % kIndices;
          seen[t][i] = NameOf(names, i);
        }
      });
    }
    go.store(true, std::memory_order_release);
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(names.decode_count_for_testing(), 1);
    for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]) << t;
    EXPECT_EQ(seen[0][0], "$env.add");
    EXPECT_EQ(seen[0][2], "$named");
  }
}

// ---- Real modules ----------------------------------------------------------

TEST(NamesProviderFixtures, CommittedModulesHaveNoNameSection) {
  // tools/build-fixtures.sh runs wat2wasm without --debug-names: names come
  // from imports and exports only.
  for (const auto& fixture : testing::CommittedFixtures()) {
    SCOPED_TRACE(fixture.name);
    const Bytes wire = testing::ReadBytes(fixture.wasm_path);
    NamesProvider names(wire);
    EXPECT_EQ(names.module_status(), absl::OkStatus());
    EXPECT_EQ(names.name_section_status(), absl::OkStatus());
    EXPECT_EQ(names.ModuleName(), std::nullopt);
  }
  for (const char* arch : {"x64", "arm64"}) {
    const auto calls = testing::LoadCommitted(std::string(arch) + "/calls");
    NamesProvider names(calls.wire);
    EXPECT_EQ(NameOf(names, 0), "$fib");
    EXPECT_EQ(NameOf(names, 4), std::nullopt);  // $sum_acc, not exported
    EXPECT_EQ(NameOf(names, 5), "$sum_to");
    const auto imports = testing::LoadCommitted(std::string(arch) + "/imports");
    NamesProvider import_names(imports.wire);
    EXPECT_EQ(NameOf(import_names, 0), "$env.add");
    EXPECT_EQ(NameOf(import_names, 3), "$env.big");
    EXPECT_EQ(NameOf(import_names, 4), std::nullopt);  // $local_sub
    EXPECT_EQ(NameOf(import_names, 5), "$add3");
    EXPECT_EQ(NameOf(import_names, 9), "$via_table");
  }
}

std::string OutputDir() {
  const std::string dir =
      std::string(WASMCACHE_BINARY_DIR) + "/names_provider_test";
  std::filesystem::create_directories(dir);
  return dir;
}

// Compiles corpus/wat/<name>.wat with --debug-names (and the flags of its
// ";; wat2wasm-flags:" line). wat2wasm comes from Debian's wabt package,
// which tools/setup.sh installs.
Bytes WatWithDebugNames(const std::string& name, const std::string& flags) {
  std::string ignored;
  if (testing::RunCommand("command -v wat2wasm", &ignored) != 0) {
    ADD_FAILURE() << "wat2wasm not found: install the Debian package 'wabt' "
                     "(tools/setup.sh does) to build modules with name "
                     "sections";
    return {};
  }
  const std::string wat =
      std::string(WASMCACHE_SOURCE_DIR) + "/corpus/wat/" + name + ".wat";
  const std::string out = OutputDir() + "/" + name + ".debug-names.wasm";
  std::string output;
  const int status = testing::RunCommand(
      "wat2wasm --debug-names " + flags + " '" + wat + "' -o '" + out +
          "' 2>&1",
      &output);
  if (status != 0) {
    ADD_FAILURE() << "wat2wasm failed on " << wat << ": " << output;
    return {};
  }
  return testing::ReadBytes(out);
}

TEST(NamesProviderFixtures, Wat2WasmDebugNames) {
  const Bytes calls = WatWithDebugNames("calls", "--enable-tail-call");
  ASSERT_FALSE(calls.empty());
  NamesProvider names(calls);
  EXPECT_EQ(names.name_section_status(), absl::OkStatus());
  EXPECT_EQ(names.ModuleName(), std::nullopt);  // the module has no $id
  EXPECT_EQ(NameOf(names, 0), "$fib");
  EXPECT_EQ(NameOf(names, 3), "$is_odd");
  EXPECT_EQ(NameOf(names, 4), "$sum_acc");  // from the name section
  EXPECT_EQ(NameOf(names, 5), "$sum_to");   // unnamed: its export
  EXPECT_EQ(NameOf(names, 6), "$ack");      // name section over "ackermann"
  EXPECT_EQ(NameOf(names, 8), "$mix");
  EXPECT_EQ(NameOf(names, 9), "$forever");
  EXPECT_EQ(NameOf(names, 10), std::nullopt);

  const Bytes imports = WatWithDebugNames("imports", "");
  ASSERT_FALSE(imports.empty());
  NamesProvider import_names(imports);
  EXPECT_EQ(NameOf(import_names, 0), "$add");  // name section over env.add
  EXPECT_EQ(NameOf(import_names, 4), "$local_sub");
  EXPECT_EQ(NameOf(import_names, 5), "$add3");
}

// ---- wasmcache inspect -----------------------------------------------------

std::string Inspect(const std::string& wasm, const std::string& cache,
                    const std::string& extra) {
  std::string output;
  const int status = testing::RunCommand(
      std::string(WASMCACHE_CLI) + " inspect --arch x64 --wasm '" + wasm +
          "' '" + cache + "' " + extra,
      &output);
  EXPECT_EQ(status, 0) << output;
  return output;
}

std::string Committed(const std::string& file) {
  return std::string(WASMCACHE_SOURCE_DIR) + "/corpus/v8-13.6/x64/" + file;
}

std::string WriteModule(const std::string& name, const Bytes& wire) {
  const std::string path = OutputDir() + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(wire.data()),
            static_cast<std::streamsize>(wire.size()));
  return path;
}

TEST(NamesProviderInspect, LabelsFunctionsWithTheirNames) {
  const std::string cache = Committed("calls.cache");
  const std::string text = Inspect(Committed("calls.wasm"), cache, "");
  EXPECT_NE(text.find("\nfunction 0 \"$fib\": turbofan at "), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nfunction 4: turbofan at "), std::string::npos);
  const std::string json = Inspect(Committed("calls.wasm"), cache, "--json");
  EXPECT_NE(json.find("{\"index\": 0, \"name\": \"$fib\", \"tag\": "),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"index\": 4, \"tag\": "), std::string::npos);
}

TEST(NamesProviderInspect, EscapesNamesAndSurvivesBadNameSections) {
  // The committed module with a name section appended: the cache does not
  // depend on custom sections, so it still matches.
  const Bytes base = testing::ReadBytes(Committed("calls.wasm"));
  const Bytes odd = Cat(
      {base, NameSection(Subsection(
                 1, Cat({Leb(2), Leb(0), Str("q\"b\\s\t"), Leb(4),
                         Str("acc")})))});
  const std::string odd_path = WriteModule("calls.odd-names.wasm", odd);
  const std::string cache = Committed("calls.cache");
  const std::string text = Inspect(odd_path, cache, "");
  EXPECT_NE(text.find("\nfunction 0 \"$q\\\"b\\\\s\\u0009\": turbofan"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nfunction 4 \"$acc\": turbofan"), std::string::npos);
  const std::string json = Inspect(odd_path, cache, "--json");
  EXPECT_NE(json.find("\"name\": \"$q\\\"b\\\\s\\u0009\""), std::string::npos)
      << json;

  const Bytes bad = Cat({base, NameSection(Subsection(1, {1, 0, 9}))});
  const std::string bad_path = WriteModule("calls.bad-names.wasm", bad);
  const std::string warned = Inspect(bad_path, cache, "2>&1");
  EXPECT_NE(warned.find("wasmcache: warning: name section ignored: wasm: "
                        "name section: function name of 9 bytes truncated "
                        "at offset 0x"),
            std::string::npos)
      << warned;
  // Export names remain.
  EXPECT_NE(warned.find("\nfunction 0 \"$fib\": turbofan"), std::string::npos);
}

}  // namespace
}  // namespace wasmcache::reference
