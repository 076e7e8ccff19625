// Safepoint tables (reference/safepoint_table.h, spec/FORMAT.md §7.3).
//
// Real tables: every TurboFan function of every fixture has one that parses
// and that an independent writer (below, after V8's
// SafepointTableBuilder::Emit) reproduces byte for byte; every entry sits at
// the return address of a call, checked by a small decoder of the call
// forms that occur and, on a sample, by llvm-mc; FindEntry finds what V8's
// TryFindEntry finds. Hostile tables: every rule rejects with kDataLoss at
// the offending byte, the last value in range passes, and no truncation or
// byte flip of a real table gets past the checks.

#include "reference/safepoint_table.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/byte_io.h"
#include "reference/cache_parser.h"
#include "tests/test_util.h"

namespace wasmcache::testing {
namespace {

using reference::ParsedFunction;
using reference::SafepointEntry;
using reference::SafepointTable;
using reference::SafepointTableConfig;

// ---------------------------------------------------------------------------
// An independent writer of V8 13.6 tables.

struct TableEntry {
  uint32_t pc = 0;
  int32_t deopt_index = -1;
  int32_t trampoline_pc = -1;
  uint32_t registers = 0;
  std::vector<uint32_t> tagged_bits;  // bitmap bit positions
};

struct TableSpec {
  uint32_t stack_slots = 8;
  std::vector<TableEntry> entries;
  // What V8 would derive, unless overridden (for hostile tables).
  std::optional<bool> has_deopt_data;
  std::optional<uint32_t> pc_width;
  std::optional<uint32_t> deopt_index_width;
  std::optional<uint32_t> registers_width;
  std::optional<uint32_t> bitmap_bytes;
};

uint32_t Width(uint64_t value) {
  return value == 0          ? 0
         : value <= 0xff     ? 1
         : value <= 0xffff   ? 2
         : value <= 0xffffff ? 3
                             : 4;
}

void PutLittle(std::vector<uint8_t>& out, uint64_t value, uint32_t width) {
  for (uint32_t b = 0; b < width; ++b) out.push_back(value >> (8 * b));
}

void PutWord(std::vector<uint8_t>& out, uint32_t value, ByteOrder order) {
  for (int b = 0; b < 4; ++b) {
    out.push_back(order == ByteOrder::kLittle ? value >> (8 * b)
                                              : value >> (8 * (3 - b)));
  }
}

// The table and its 0xCC padding to a multiple of 4.
std::vector<uint8_t> EncodeTable(const TableSpec& spec,
                                 ByteOrder order = ByteOrder::kLittle) {
  uint64_t largest_pc = 0, largest_deopt = 0;
  uint32_t registers = 0;
  int64_t highest_bit = -1;
  for (const TableEntry& e : spec.entries) {
    largest_pc = std::max<uint64_t>(
        {largest_pc, uint64_t{e.pc} + 1,
         static_cast<uint64_t>(int64_t{e.trampoline_pc} + 1)});
    largest_deopt = std::max<uint64_t>(
        largest_deopt, static_cast<uint64_t>(int64_t{e.deopt_index} + 1));
    registers |= e.registers;
    for (uint32_t bit : e.tagged_bits) {
      highest_bit = std::max<int64_t>(highest_bit, bit);
    }
  }
  const bool has_deopt = spec.has_deopt_data.value_or(largest_deopt != 0);
  const uint32_t pc_width = spec.pc_width.value_or(Width(largest_pc));
  const uint32_t deopt_width =
      spec.deopt_index_width.value_or(Width(largest_deopt));
  const uint32_t registers_width =
      spec.registers_width.value_or(Width(registers));
  const uint32_t bitmap_bytes = spec.bitmap_bytes.value_or(
      highest_bit >= 0 ? static_cast<uint32_t>(highest_bit + 8) / 8
                       : (spec.stack_slots + 7) / 8);
  const uint32_t config = uint32_t{has_deopt} | registers_width << 1 |
                          pc_width << 4 | deopt_width << 7 | bitmap_bytes << 10;
  std::vector<uint8_t> out;
  PutWord(out, spec.stack_slots, order);
  PutWord(out, static_cast<uint32_t>(spec.entries.size()), order);
  PutWord(out, config, order);
  for (const TableEntry& e : spec.entries) {
    PutLittle(out, e.pc, pc_width);
    if (has_deopt) {
      PutLittle(out, static_cast<uint64_t>(int64_t{e.deopt_index} + 1),
                deopt_width);
      PutLittle(out, static_cast<uint64_t>(int64_t{e.trampoline_pc} + 1),
                pc_width);
    }
    PutLittle(out, e.registers, registers_width);
  }
  for (const TableEntry& e : spec.entries) {
    std::vector<uint8_t> bitmap(bitmap_bytes, 0);
    for (uint32_t bit : e.tagged_bits) {
      EXPECT_LT(bit / 8, bitmap.size()) << "bit outside the bitmap";
      if (bit / 8 < bitmap.size()) bitmap[bit / 8] |= 1 << (bit % 8);
    }
    out.insert(out.end(), bitmap.begin(), bitmap.end());
  }
  while (out.size() % 4 != 0) out.push_back(0xCC);
  return out;
}

// The spec of a parsed table (every bit of every bitmap).
TableSpec SpecOf(const SafepointTable& table) {
  TableSpec spec;
  spec.stack_slots = table.stack_slots();
  for (const SafepointEntry& e : table.entries()) {
    TableEntry t{e.pc, e.deopt_index, e.trampoline_pc, e.tagged_registers, {}};
    for (uint32_t bit = 0; bit < e.tagged_slots.size() * 8; ++bit) {
      if (e.IsTaggedSlotBit(bit)) t.tagged_bits.push_back(bit);
    }
    spec.entries.push_back(t);
  }
  return spec;
}

// ---------------------------------------------------------------------------
// Synthetic code objects: `table_offset` bytes of code, then the table.

constexpr uint64_t kCodeFileOffset = 0x1000;
// The code-header fields, 57 and 53 bytes before the instructions.
constexpr uint64_t kSafepointOffsetFieldAt = kCodeFileOffset - 57;
constexpr uint64_t kHandlerOffsetFieldAt = kCodeFileOffset - 53;

struct Code {
  std::vector<uint8_t> bytes;
  CodeHeader header;
};

Code MakeCode(const TableSpec& spec, uint32_t table_offset = 0x40,
              ByteOrder order = ByteOrder::kLittle) {
  Code code;
  code.bytes.assign(table_offset, 0x90);
  const std::vector<uint8_t> table = EncodeTable(spec, order);
  code.bytes.insert(code.bytes.end(), table.begin(), table.end());
  const int32_t end = static_cast<int32_t>(code.bytes.size());
  CodeHeader& h = code.header;
  h.safepoint_table_offset = static_cast<int32_t>(table_offset);
  h.handler_table_offset = end;
  h.constant_pool_offset = end;
  h.code_comments_offset = end;
  h.unpadded_binary_size = end;
  h.instructions_size = end;
  h.stack_slots = static_cast<int32_t>(spec.stack_slots);
  h.kind = kWasmFunctionKind;
  h.tier = kTierTurboFan;
  return code;
}

absl::StatusOr<SafepointTable> ParseCode(const Code& code,
                                         Arch arch = Arch::kX64) {
  return SafepointTable::Parse(code.bytes, code.header, arch, kCodeFileOffset);
}

// Sets a little-endian u32 in the code (table header words on x64).
void SetWord(Code& code, uint32_t at, uint32_t value) {
  for (int b = 0; b < 4; ++b) code.bytes[at + b] = value >> (8 * b);
}

#define EXPECT_REJECTED(result, offset, fragment)                             \
  do {                                                                        \
    const auto& result_ = (result);                                           \
    ASSERT_FALSE(result_.ok()) << "accepted; expected: " << (fragment);       \
    EXPECT_EQ(result_.status().code(), absl::StatusCode::kDataLoss)           \
        << result_.status();                                                  \
    const std::string message_(result_.status().message());                   \
    EXPECT_EQ(message_.rfind("safepoints: ", 0), 0u) << message_;             \
    EXPECT_NE(message_.find(fragment), std::string::npos) << message_;        \
    const std::string at_ = absl::StrFormat(" at offset 0x%x", (offset));     \
    EXPECT_TRUE(                                                              \
        message_.size() >= at_.size() &&                                      \
        message_.compare(message_.size() - at_.size(), at_.size(), at_) == 0) \
        << message_ << " (expected" << at_ << ")";                            \
  } while (false)

// A small valid table: three calls, the middle one with a tagged slot.
TableSpec ThreeCalls() {
  TableSpec spec;
  spec.stack_slots = 8;  // spill slots: bits 0..3
  spec.entries = {
      {0x10, -1, -1, 0, {}}, {0x20, -1, -1, 0, {3}}, {0x30, -1, -1, 0, {}}};
  return spec;
}

// ---------------------------------------------------------------------------
// Configuration word and known answers.

TEST(SafepointTableConfig, DecodesV8Words) {
  // Words seen in the corpus (spec/FORMAT.md §7.3).
  const SafepointTableConfig empty = SafepointTableConfig::Decode(0x400);
  EXPECT_EQ(empty, (SafepointTableConfig{false, 0, 0, 0, 1}));
  const SafepointTableConfig one = SafepointTableConfig::Decode(0x810);
  EXPECT_EQ(one, (SafepointTableConfig{false, 0, 1, 0, 2}));
  EXPECT_EQ(one.entry_size(), 1u);
  // Every field at its extreme, and back.
  const SafepointTableConfig full{true, 7, 7, 7, (1u << 22) - 1};
  EXPECT_EQ(full.Encode(), 0xffffffffu);
  EXPECT_EQ(SafepointTableConfig::Decode(0xffffffff), full);
  const SafepointTableConfig deopt{true, 1, 2, 3, 5};
  EXPECT_EQ(deopt.Encode(), 1u | 1u << 1 | 2u << 4 | 3u << 7 | 5u << 10);
  EXPECT_EQ(deopt.entry_size(), 2u + 3u + 2u + 1u);
  EXPECT_EQ(SafepointTableConfig::Decode(deopt.Encode()), deopt);
}

const ParsedFunction& FunctionOf(const reference::ParsedCache& parsed,
                                 uint32_t index) {
  for (const ParsedFunction& fn : parsed.functions) {
    if (fn.index == index) return fn;
  }
  throw std::runtime_error("no function");
}

absl::StatusOr<SafepointTable> ParseFunction(const ParsedFunction& fn,
                                             Arch arch) {
  return SafepointTable::Parse(fn.part(CodePart::kInstructions), fn.header,
                               arch, fn.code_offset());
}

TEST(SafepointTable, KnownAnswerX64Calls) {
  // corpus/v8-13.6/x64/calls.cache, function 0: six calls share one entry.
  const LoadedFixture f = LoadCommitted("x64/calls");
  auto parsed = reference::ParseCache(f.cache, f.module, f.env);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ParsedFunction& fn = FunctionOf(*parsed, 0);
  auto table = ParseFunction(fn, Arch::kX64);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->offset(), 0x10cu);
  EXPECT_EQ(table->stack_slots(), 10u);
  EXPECT_EQ(table->config(), SafepointTableConfig::Decode(0x810));
  EXPECT_EQ(table->byte_size(), 15u);
  ASSERT_EQ(table->size(), 1u);
  EXPECT_EQ(table->entry(0).pc, 0x6eu);
  EXPECT_FALSE(table->entry(0).has_deopt_index());
  EXPECT_EQ(table->entry(0).tagged_slots.size(), 2u);
  int direct_calls = 0;
  for (const auto& r : fn.relocs) {
    if (r.mode != RelocMode::kWasmCall && r.mode != RelocMode::kWasmStubCall) {
      continue;
    }
    ++direct_calls;
    auto found = table->FindEntry(r.pc + 4);  // the call's return address
    ASSERT_TRUE(found.has_value()) << r.pc;
    EXPECT_EQ(found->pc, 0x6eu);
  }
  EXPECT_EQ(direct_calls, 7);
}

std::vector<uint8_t> Hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(SafepointTable, RealTableBeforeAHandlerTable) {
  // No fixture has a handler table; these bytes are function 1 of a module
  // with a legacy try/catch around an imported call, serialized by Node
  // 24.20.0 on x64 (tools/v8/serialize.cjs): code offsets 168 (safepoint
  // table), 188 (handler table), 196 (constant pool, comments, unpadded
  // end); 6 stack slots. Three entries, 0xCC padding, then two handler
  // table words.
  Code code;
  code.bytes.assign(168, 0x90);
  const std::vector<uint8_t> tail =
      Hex("060000000300000010040000"  // 6 slots, 3 entries, config 0x410
          "3c6797"                    // pcs
          "010300"                    // bitmaps
          "cccc"                      // padding
          "3c00000030050000");        // handler table
  code.bytes.insert(code.bytes.end(), tail.begin(), tail.end());
  code.header.safepoint_table_offset = 168;
  code.header.handler_table_offset = 188;
  code.header.constant_pool_offset = code.header.code_comments_offset =
      code.header.unpadded_binary_size = code.header.instructions_size = 196;
  code.header.stack_slots = 6;
  code.header.tier = kTierTurboFan;
  auto table = ParseCode(code);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), 3u);
  EXPECT_EQ(table->byte_size(), 18u);
  EXPECT_EQ(table->entry(1).pc, 0x67u);
  EXPECT_TRUE(table->entry(1).IsTaggedSlotBit(0));
  EXPECT_TRUE(table->entry(1).IsTaggedSlotBit(1));
  EXPECT_FALSE(table->entry(2).IsTaggedSlotBit(0));
  EXPECT_EQ(table->FindEntry(0x66)->pc, 0x3cu);
  // The handler table must start right after the padding.
  code.header.handler_table_offset = 192;
  EXPECT_REJECTED(ParseCode(code), kCodeFileOffset + 186,
                  "handler table starts at 0xc0 instead of 0xbc");
}

// ---------------------------------------------------------------------------
// Calls before safepoint pcs.

bool IsDirectCallSite(const ParsedFunction& fn, uint32_t field_pc) {
  for (const auto& r : fn.relocs) {
    if (r.pc == field_pc && (r.mode == RelocMode::kWasmCall ||
                             r.mode == RelocMode::kWasmStubCall)) {
      return true;
    }
  }
  return false;
}

// Length of the x64 `call r/m64` (optional REX, FF /2, ModRM, SIB,
// displacement) that ends at `pc`, or 0.
uint32_t X64IndirectCallEndingAt(absl::Span<const uint8_t> code, uint32_t pc) {
  for (uint32_t length = 2; length <= 8 && length <= pc; ++length) {
    size_t at = pc - length;
    if ((code[at] & 0xF0) == 0x40) ++at;  // REX
    if (at + 2 > pc || code[at] != 0xFF) continue;
    const uint8_t modrm = code[at + 1];
    if (((modrm >> 3) & 7) != 2) continue;
    const uint8_t mod = modrm >> 6, rm = modrm & 7;
    size_t end = at + 2;
    if (mod != 3 && rm == 4) {
      if (end >= pc) continue;
      const uint8_t sib = code[end++];
      if (mod == 0 && (sib & 7) == 5) end += 4;
    } else if (mod == 0 && rm == 5) {
      end += 4;
    }
    if (mod == 1) end += 1;
    if (mod == 2) end += 4;
    if (end == pc) return length;
  }
  return 0;
}

struct CallBefore {
  std::string form;            // "" if none
  std::vector<uint8_t> bytes;  // the call instruction
};

CallBefore FindCallBefore(Arch arch, const ParsedFunction& fn, uint32_t pc) {
  const absl::Span<const uint8_t> code = fn.part(CodePart::kInstructions);
  auto bytes = [&](uint32_t length) {
    return std::vector<uint8_t>(code.begin() + (pc - length),
                                code.begin() + pc);
  };
  if (arch == Arch::kX64) {
    if (pc >= 5 && code[pc - 5] == 0xE8 && IsDirectCallSite(fn, pc - 4)) {
      return {"call rel32", bytes(5)};
    }
    if (const uint32_t length = X64IndirectCallEndingAt(code, pc)) {
      return {"call r/m64", bytes(length)};
    }
    return {};
  }
  if (pc < 4 || pc % 4 != 0) return {};
  const uint32_t insn = static_cast<uint32_t>(
      reference::LoadUnaligned(&code[pc - 4], 4, ByteOrder::kLittle));
  if ((insn & 0xFC000000u) == 0x94000000u && IsDirectCallSite(fn, pc - 4)) {
    return {"bl", bytes(4)};
  }
  if ((insn & 0xFFFFFC1Fu) == 0xD63F0000u) return {"blr", bytes(4)};
  return {};
}

// ---------------------------------------------------------------------------
// Real fixtures.

struct Tally {
  int functions = 0;
  int empty_tables = 0;
  int entries = 0;
  std::map<std::string, int> calls;  // form -> entries after it
  // Distinct call encodings before safepoints, with their form.
  std::map<std::vector<uint8_t>, std::string> samples;
};

void CheckRealTable(Arch arch, const ParsedFunction& fn, Tally& tally) {
  SCOPED_TRACE(absl::StrFormat("function %d", fn.index));
  auto table = ParseFunction(fn, arch);
  ASSERT_TRUE(table.ok()) << table.status();
  const absl::Span<const uint8_t> code = fn.part(CodePart::kInstructions);
  const uint32_t start =
      static_cast<uint32_t>(fn.header.safepoint_table_offset);
  const uint32_t end = static_cast<uint32_t>(fn.header.handler_table_offset);
  ++tally.functions;
  if (table->size() == 0) ++tally.empty_tables;
  tally.entries += static_cast<int>(table->size());

  // An independent writer gives back the table's bytes.
  const std::vector<uint8_t> again = EncodeTable(SpecOf(*table));
  EXPECT_TRUE(again.size() == end - start &&
              std::equal(again.begin(), again.end(), code.begin() + start))
      << "re-encoded table differs";
  EXPECT_EQ(table->stack_slots(), static_cast<uint32_t>(fn.header.stack_slots));

  for (size_t i = 0; i < table->size(); ++i) {
    const SafepointEntry& e = table->entry(i);
    SCOPED_TRACE(absl::StrFormat("entry %d pc 0x%x", i, e.pc));
    EXPECT_GT(e.pc, 0u);
    EXPECT_LE(e.pc, start);
    EXPECT_FALSE(e.has_deopt_index());
    EXPECT_EQ(e.tagged_registers, 0u);
    const CallBefore call = FindCallBefore(arch, fn, e.pc);
    EXPECT_FALSE(call.form.empty())
        << "no call instruction ends at the safepoint";
    if (!call.form.empty()) {
      ++tally.calls[call.form];
      tally.samples.emplace(call.bytes, call.form);
    }
    // V8's lookup: exact pcs, pcs up to the next entry, pcs before it.
    const uint32_t next =
        i + 1 < table->size() ? table->entry(i + 1).pc : start + 1;
    for (uint32_t pc : {e.pc, e.pc + 1, next - 1}) {
      auto found = table->FindEntry(pc);
      ASSERT_TRUE(found.has_value()) << pc;
      EXPECT_EQ(found->pc, e.pc) << pc;
      EXPECT_EQ(found->tagged_slots.data(), e.tagged_slots.data());
    }
    auto before = table->FindEntry(e.pc - 1);
    if (i == 0) {
      EXPECT_FALSE(before.has_value());
    } else {
      ASSERT_TRUE(before.has_value());
      EXPECT_EQ(before->pc, table->entry(i - 1).pc);
    }
  }
  EXPECT_FALSE(table->FindEntry(0).has_value());
}

void CheckFixtures(const std::vector<Fixture>& fixtures, const char* what) {
  std::map<Arch, Tally> tallies;
  for (const Fixture& fixture : fixtures) {
    SCOPED_TRACE(fixture.name);
    const LoadedFixture f = LoadFixture(fixture);
    auto parsed = reference::ParseCache(f.cache, f.module, f.env);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    for (const ParsedFunction& fn : parsed->functions) {
      if (fn.tag != FunctionTag::kTurboFan) continue;
      CheckRealTable(fixture.arch, fn, tallies[fixture.arch]);
    }
  }
  for (const auto& [arch, t] : tallies) {
    std::ostringstream calls;
    for (const auto& [form, count] : t.calls)
      calls << ", " << count << " after " << form;
    std::cout << absl::StrFormat(
        "[ %s %s ] %d TurboFan functions (%d with "
        "empty tables), %d entries%s\n",
        what, ArchName(arch), t.functions, t.empty_tables, t.entries,
        calls.str());
    int after_calls = 0;
    for (const auto& [form, count] : t.calls) after_calls += count;
    EXPECT_EQ(after_calls, t.entries);
  }
}

TEST(SafepointTable, EveryCommittedFixture) {
  CheckFixtures(CommittedFixtures(), "committed");
}

TEST(SafepointTable, EveryLargeFixture) {
  const std::vector<Fixture> large = LargeFixtures();
  if (large.empty()) GTEST_SKIP() << "large fixtures not built";
  CheckFixtures(large, "large");
}

// ---------------------------------------------------------------------------
// llvm-mc confirms the call decoder on the encodings that occur.

std::string LlvmMcPath() {
  if (const char* env = std::getenv("LLVM_MC"); env != nullptr && *env) {
    return env;
  }
  std::string out;
  if (RunCommand("command -v llvm-mc 2>/dev/null || command -v llvm-mc-14 "
                 "2>/dev/null",
                 &out) != 0) {
    return "";
  }
  return out.substr(0, out.find('\n'));
}

// One mnemonic per line of bytes.
std::vector<std::string> Mnemonics(
    const std::string& mc, const std::string& triple,
    const std::vector<std::vector<uint8_t>>& lines) {
  std::string path = ::testing::TempDir();
  if (path.empty() || path.back() != '/') path += '/';
  path += "safepoint_calls_XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) return {};
  close(fd);
  {
    std::ofstream out(name.data());
    for (const auto& line : lines) {
      for (uint8_t b : line) out << absl::StrFormat("0x%02x ", b);
      out << "\n";
    }
  }
  std::string output;
  const int status = RunCommand("'" + mc + "' --disassemble -triple=" + triple +
                                    " < '" + name.data() + "' 2>&1",
                                &output);
  std::remove(name.data());
  EXPECT_EQ(status, 0) << output;
  std::vector<std::string> mnemonics;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.find("warning"), std::string::npos) << output;
    const size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '.') continue;
    mnemonics.push_back(line.substr(b, line.find_first_of(" \t", b) - b));
  }
  return mnemonics;
}

TEST(SafepointTable, LlvmMcDecodesTheCallsBeforeSafepoints) {
  const std::string mc = LlvmMcPath();
  ASSERT_FALSE(mc.empty()) << "llvm-mc not found (set LLVM_MC)";
  std::map<Arch, Tally> tallies;
  for (const Fixture& fixture : CommittedFixtures()) {
    const LoadedFixture f = LoadFixture(fixture);
    auto parsed = reference::ParseCache(f.cache, f.module, f.env);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    for (const ParsedFunction& fn : parsed->functions) {
      if (fn.tag != FunctionTag::kTurboFan) continue;
      auto table = ParseFunction(fn, fixture.arch);
      ASSERT_TRUE(table.ok()) << table.status();
      for (const SafepointEntry& e : table->entries()) {
        const CallBefore call = FindCallBefore(fixture.arch, fn, e.pc);
        if (!call.form.empty()) {
          tallies[fixture.arch].samples.emplace(call.bytes, call.form);
        }
      }
    }
  }
  for (const auto& [arch, t] : tallies) {
    SCOPED_TRACE(ArchName(arch));
    // Every distinct indirect form, and up to 32 direct calls.
    std::vector<std::vector<uint8_t>> lines;
    std::vector<std::string> forms;
    int direct = 0;
    for (const auto& [bytes, form] : t.samples) {
      const bool is_direct = form == "call rel32" || form == "bl";
      if (is_direct && ++direct > 32) continue;
      lines.push_back(bytes);
      forms.push_back(form);
    }
    const std::vector<std::string> mnemonics =
        Mnemonics(mc, arch == Arch::kX64 ? "x86_64" : "aarch64", lines);
    ASSERT_EQ(mnemonics.size(), lines.size())
        << "each sample must decode as exactly one instruction";
    for (size_t i = 0; i < lines.size(); ++i) {
      if (arch == Arch::kX64) {
        EXPECT_EQ(mnemonics[i].rfind("call", 0), 0u) << forms[i];
      } else {
        EXPECT_EQ(mnemonics[i], forms[i]);
      }
    }
    std::cout << absl::StrFormat("[ llvm-mc %s ] %d samples decode as calls\n",
                                 ArchName(arch), lines.size());
  }
}

// ---------------------------------------------------------------------------
// Lookup with deopt data (generic rules: not a TurboFan wasm function).

TEST(SafepointTable, FindEntryPrefersTrampolines) {
  TableSpec spec;
  spec.entries = {
      {0x10, -1, -1, 0, {}}, {0x20, 0, 0x40, 0, {}}, {0x30, 1, 0x48, 0, {1}}};
  Code code = MakeCode(spec, 0x50);
  code.header.tier = 1;  // Liftoff
  code.header.deopt_data_size = 16;
  auto table = ParseCode(code);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_TRUE(table->config().has_deopt_data);
  EXPECT_EQ(table->entry(1).deopt_index, 0);
  EXPECT_EQ(table->entry(1).trampoline_pc, 0x40);
  EXPECT_EQ(table->entry(0).trampoline_pc, SafepointEntry::kNoTrampolinePc);
  const std::pair<uint32_t, std::optional<uint32_t>> cases[] = {
      {0x0f, std::nullopt},
      {0x10, 0x10},
      {0x1f, 0x10},
      {0x20, 0x20},
      {0x2f, 0x20},
      {0x30, 0x30},
      {0x3f, 0x30},
      // At and after a trampoline: the trampoline's entry.
      {0x40, 0x20},
      {0x47, 0x20},
      {0x48, 0x30},
      {0x4f, 0x30},
  };
  for (const auto& [pc, expected] : cases) {
    auto found = table->FindEntry(pc);
    ASSERT_EQ(found.has_value(), expected.has_value()) << pc;
    if (expected) EXPECT_EQ(found->pc, *expected) << pc;
  }
}

TEST(SafepointTable, EmptyTableFindsNothing) {
  TableSpec spec;
  spec.stack_slots = 4;
  const Code code = MakeCode(spec);
  auto table = ParseCode(code);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 0u);
  EXPECT_EQ(table->byte_size(), 12u);
  EXPECT_EQ(table->config(), SafepointTableConfig::Decode(0x400));
  EXPECT_FALSE(table->FindEntry(0).has_value());
  EXPECT_FALSE(table->FindEntry(0x40).has_value());
}

TEST(SafepointTable, BigEndianHeaderWords) {
  // s390x: header words big-endian, entry fields still little-endian.
  TableSpec spec = ThreeCalls();
  spec.entries[2].pc = 0x130;  // a 2-byte pc field
  const Code code = MakeCode(spec, 0x140, ByteOrder::kBig);
  auto table = ParseCode(code, Arch::kS390x);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->entry(2).pc, 0x130u);
  EXPECT_EQ(table->stack_slots(), 8u);
  // Read as little-endian, the stack-slot word is 0x08000000.
  EXPECT_REJECTED(ParseCode(code, Arch::kX64), kCodeFileOffset + 0x140,
                  "stack slot count 134217728 differs");
}

// ---------------------------------------------------------------------------
// Hostile tables, one rule at a time (T = 0x40, code at file offset 0x1000).

constexpr uint32_t T = 0x40;
constexpr uint64_t At = kCodeFileOffset + T;

TEST(SafepointTableHostile, ValidBaseline) {
  const Code code = MakeCode(ThreeCalls());  // the table points into it
  auto table = ParseCode(code);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 3u);
  EXPECT_TRUE(table->entry(1).IsTaggedSlotBit(3));
}

TEST(SafepointTableHostile, HeaderOffsets) {
  Code code = MakeCode(ThreeCalls());
  code.header.safepoint_table_offset = code.header.handler_table_offset + 4;
  EXPECT_REJECTED(ParseCode(code), kSafepointOffsetFieldAt,
                  "safepoint_table_offset");
  code = MakeCode(ThreeCalls());
  code.header.safepoint_table_offset = -4;
  EXPECT_REJECTED(ParseCode(code), kSafepointOffsetFieldAt, "outside [0,");
  code = MakeCode(ThreeCalls());
  code.header.handler_table_offset += 4;
  EXPECT_REJECTED(ParseCode(code), kHandlerOffsetFieldAt,
                  "handler_table_offset");
}

TEST(SafepointTableHostile, UnalignedTable) {
  const Code code = MakeCode(ThreeCalls(), T + 2);
  EXPECT_REJECTED(ParseCode(code), At + 2, "not 4-byte aligned");
}

TEST(SafepointTableHostile, NoRoomForTheHeader) {
  Code code = MakeCode(ThreeCalls());
  // A function without a table: both offsets at the end.
  code.header.safepoint_table_offset = code.header.handler_table_offset;
  EXPECT_REJECTED(ParseCode(code),
                  kCodeFileOffset + code.header.handler_table_offset,
                  "12-byte table header does not fit in the 0 bytes");
  code = MakeCode(ThreeCalls());
  code.header.handler_table_offset = T + 8;
  EXPECT_REJECTED(ParseCode(code), At, "does not fit in the 8 bytes");
}

TEST(SafepointTableHostile, StackSlotsDifferFromTheCodeHeader) {
  Code code = MakeCode(ThreeCalls());
  code.header.stack_slots = 9;
  EXPECT_REJECTED(ParseCode(code), At,
                  "stack slot count 8 differs from the "
                  "code header's 9");
}

TEST(SafepointTableHostile, NegativeLength) {
  Code code = MakeCode(ThreeCalls());
  SetWord(code, T + 4, 0xffffffff);
  EXPECT_REJECTED(ParseCode(code), At + 4, "negative entry count -1");
}

TEST(SafepointTableHostile, Widths) {
  Code code = MakeCode(ThreeCalls());
  SetWord(code, T + 8, SafepointTableConfig{false, 0, 5, 0, 1}.Encode());
  EXPECT_REJECTED(ParseCode(code), At + 8, "pc width 5 over 4 bytes");
  SetWord(code, T + 8, SafepointTableConfig{true, 0, 1, 0, 1}.Encode());
  EXPECT_REJECTED(ParseCode(code), At + 8,
                  "deopt-data flag 1 with a deopt-index width of 0");
  SetWord(code, T + 8, SafepointTableConfig{false, 0, 1, 1, 1}.Encode());
  EXPECT_REJECTED(ParseCode(code), At + 8,
                  "deopt-data flag 0 with a deopt-index width of 1");
}

TEST(SafepointTableHostile, TaggedRegistersOnlyOutsideTurboFanWasm) {
  TableSpec spec = ThreeCalls();
  spec.entries[1].registers = 0x5;
  Code code = MakeCode(spec);
  EXPECT_REJECTED(ParseCode(code), At + 8, "tagged-register width 1");
  code.header.tier = 1;  // Liftoff
  auto table = ParseCode(code);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->entry(1).tagged_registers, 0x5u);
}

TEST(SafepointTableHostile, DeoptDataOnlyOutsideTurboFanWasm) {
  TableSpec spec = ThreeCalls();
  spec.entries[2].deopt_index = 0;
  spec.entries[2].trampoline_pc = 0x38;
  Code code = MakeCode(spec);
  code.header.deopt_data_size = 8;
  EXPECT_REJECTED(ParseCode(code), At + 8, "deopt data in a TurboFan wasm");
  code.header.kind = 1;
  EXPECT_TRUE(ParseCode(code).ok());
}

TEST(SafepointTableHostile, EntriesRunPastTheHandlerTable) {
  Code code = MakeCode(ThreeCalls());
  SetWord(code, T + 4, 5);
  EXPECT_REJECTED(ParseCode(code), At + 4,
                  "5 entries of 1 bytes with "
                  "1-byte bitmaps need 22 bytes, "
                  "but 20 precede");
  SetWord(code, T + 4, 0x7fffffff);
  EXPECT_REJECTED(ParseCode(code), At + 4, "2147483647 entries");
  // Entries of no bytes would let a count of 2^31 - 1 fit in 12 bytes.
  SetWord(code, T + 8, 0);
  EXPECT_REJECTED(ParseCode(code), At + 8,
                  "pc width 0 with 2147483647 entries");
  // A huge bitmap size cannot overflow the arithmetic either.
  SetWord(code, T + 4, 3);
  SetWord(code, T + 8,
          SafepointTableConfig{false, 0, 1, 0, (1u << 22) - 1}.Encode());
  EXPECT_REJECTED(ParseCode(code), At + 4, "4194303-byte bitmaps");
}

TEST(SafepointTableHostile, TheTableMustFillItsRegion) {
  // ThreeCalls is 12 + 3 + 3 = 18 bytes and 2 bytes of padding.
  Code code = MakeCode(ThreeCalls());
  ASSERT_EQ(code.bytes.size(), T + 20u);
  code.bytes.insert(code.bytes.end(), 4, 0xCC);
  code.header.handler_table_offset += 4;
  code.header.unpadded_binary_size = code.header.instructions_size =
      code.header.handler_table_offset;
  EXPECT_REJECTED(ParseCode(code), At + 18,
                  "table ends at 0x52, but the handler table starts at 0x58 "
                  "instead of 0x54");
  code = MakeCode(ThreeCalls());
  code.header.handler_table_offset -= 1;
  EXPECT_REJECTED(ParseCode(code), At + 18, "instead of 0x54");
  code = MakeCode(ThreeCalls());
  code.bytes[T + 19] = 0x00;
  EXPECT_REJECTED(ParseCode(code), At + 19, "padding byte 0x00 is not 0xcc");
}

TEST(SafepointTableHostile, Pcs) {
  TableSpec spec = ThreeCalls();
  spec.entries[0].pc = 0;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 12, "entry 0 has pc 0");
  // The last pc in range is the table's offset (a call that ends the code).
  spec = ThreeCalls();
  spec.entries[2].pc = T;
  EXPECT_TRUE(ParseCode(MakeCode(spec)).ok());
  spec.entries[2].pc = T + 1;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 14,
                  "entry 2 pc 0x41 is past the code, which ends at 0x40");
  spec = ThreeCalls();
  spec.entries[1].pc = 0x10;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 13,
                  "entry 1 pc 0x10 does not follow entry 0 pc 0x10");
  spec.entries[1].pc = 0x08;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 13, "does not follow");
}

// Deopt rules apply to other code headers; entry size is 1 + 1 + 1 here.
Code DeoptCode(const TableSpec& spec) {
  Code code = MakeCode(spec);
  code.header.kind = 1;
  code.header.deopt_data_size = 8;
  return code;
}

TableSpec TwoDeopts() {
  TableSpec spec;
  spec.entries = {
      {0x10, -1, -1, 0, {}}, {0x20, 0, 0x30, 0, {}}, {0x28, 1, 0x38, 0, {}}};
  return spec;
}

TEST(SafepointTableHostile, DeoptIndicesAndTrampolines) {
  ASSERT_TRUE(ParseCode(DeoptCode(TwoDeopts())).ok());
  // Entry 1's fields: pc at +15, deopt index at +16, trampoline at +17.
  Code code = DeoptCode(TwoDeopts());
  code.bytes[T + 17] = 0;  // trampoline "none"
  EXPECT_REJECTED(ParseCode(code), At + 16,
                  "entry 1 has a deopt index or a trampoline but not both");
  code = DeoptCode(TwoDeopts());
  code.header.deopt_data_size = 0;
  EXPECT_REJECTED(ParseCode(code), At + 16,
                  "entry 1 has deopt index 0, but the code has no deopt data");

  TableSpec spec = TwoDeopts();
  spec.entries[2].trampoline_pc = T;
  EXPECT_REJECTED(ParseCode(DeoptCode(spec)), At + 20,
                  "entry 2 trampoline 0x40 is past the code");
  spec.entries[2].trampoline_pc = T - 1;  // last in range
  EXPECT_TRUE(ParseCode(DeoptCode(spec)).ok());
  spec = TwoDeopts();
  spec.entries[1].trampoline_pc = 0x28;
  EXPECT_REJECTED(ParseCode(DeoptCode(spec)), At + 17,
                  "entry 1 trampoline 0x28 is not after the last entry's pc "
                  "0x28");
  spec = TwoDeopts();
  spec.entries[2].trampoline_pc = 0x30;
  EXPECT_REJECTED(ParseCode(DeoptCode(spec)), At + 20,
                  "entry 2 trampoline 0x30 does not follow the previous "
                  "trampoline 0x30");

  // A deopt index of 2^31 - 1 would overflow V8's int; 2^31 - 2 is fine.
  spec = TwoDeopts();
  spec.entries[2].deopt_index = 0x7ffffffe;
  EXPECT_TRUE(ParseCode(DeoptCode(spec)).ok());
  spec.deopt_index_width = 4;
  spec.entries[2].deopt_index = 0x7fffffff;  // stored as 0x80000000
  EXPECT_REJECTED(ParseCode(DeoptCode(spec)), At + 12 + 2 * 6 + 1,
                  "entry 2 deopt index 0x7fffffff out of range");
}

TEST(SafepointTableHostile, TaggedSlotsStayInTheSpillArea) {
  // 8 stack slots, 4 fixed: spill bits 0..3 (0..2 on ppc64).
  TableSpec spec = ThreeCalls();
  ASSERT_TRUE(ParseCode(MakeCode(spec)).ok());
  EXPECT_REJECTED(ParseCode(MakeCode(spec), Arch::kPpc64), At + 12 + 3 + 1,
                  "entry 1 marks slot bit 3 tagged, outside the 3 spill slots "
                  "of 8 stack slots");
  spec.entries[1].tagged_bits = {4};
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 12 + 3 + 1,
                  "entry 1 marks slot bit 4 tagged, outside the 4 spill slots");
  // A frame smaller than its fixed part has no spill slots at all.
  spec = ThreeCalls();
  spec.stack_slots = 3;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 12 + 3 + 1,
                  "outside the 0 spill slots of 3 stack slots");
}

TEST(SafepointTableHostile, EntriesThatV8WouldHaveMerged) {
  TableSpec spec = ThreeCalls();
  spec.entries[2].tagged_bits = {3};
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 14,
                  "entry 2 repeats entry 1 but for its pc");
}

TEST(SafepointTableHostile, WidthsOtherThanV8s) {
  TableSpec spec = ThreeCalls();
  spec.pc_width = 2;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 8,
                  "pc width 2, but V8 writes 1 for the largest stored value "
                  "0x31");
  spec = ThreeCalls();
  spec.entries[2].pc = 0xff;  // 0xff + 1 needs two bytes
  spec.pc_width = 1;
  Code code = MakeCode(spec, 0x100);
  EXPECT_REJECTED(ParseCode(code), kCodeFileOffset + 0x108,
                  "pc width 1, but V8 writes 2");
  spec = ThreeCalls();
  spec.bitmap_bytes = 2;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 8,
                  "2 bitmap bytes per entry, but V8 writes 1 for 8 stack "
                  "slots and highest tagged bit 3");
  spec = ThreeCalls();
  spec.stack_slots = 20;
  spec.entries[1].tagged_bits = {9};  // V8 would use 2 bytes, not 3
  spec.bitmap_bytes = 3;
  EXPECT_REJECTED(ParseCode(MakeCode(spec)), At + 8,
                  "3 bitmap bytes per entry, but V8 writes 2");
  spec.bitmap_bytes.reset();
  EXPECT_TRUE(ParseCode(MakeCode(spec)).ok());
}

// ---------------------------------------------------------------------------
// Hostile variants of a real table: x64/imports function 7 (four entries,
// 2-byte pcs, one bitmap byte).

struct RealCode {
  LoadedFixture fixture;
  reference::ParsedCache parsed;
  const ParsedFunction* fn = nullptr;
};

RealCode LoadImports7() {
  RealCode real{LoadCommitted("x64/imports"), {}, nullptr};
  auto parsed = reference::ParseCache(real.fixture.cache, real.fixture.module,
                                      real.fixture.env);
  if (!parsed.ok()) throw std::runtime_error(parsed.status().ToString());
  real.parsed = *std::move(parsed);
  real.fn = &FunctionOf(real.parsed, 7);
  return real;
}

TEST(SafepointTableRealHostile, KnownShape) {
  const RealCode real = LoadImports7();
  auto table = ParseFunction(*real.fn, Arch::kX64);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->offset(), 0x148u);
  EXPECT_EQ(table->byte_size(), 24u);
  ASSERT_EQ(table->size(), 4u);
  EXPECT_EQ(table->entry(0).pc, 89u);
  EXPECT_EQ(table->entry(3).pc, 319u);
}

TEST(SafepointTableRealHostile, SwappedAndTruncated) {
  const RealCode real = LoadImports7();
  const ParsedFunction& fn = *real.fn;
  const uint64_t code_at = fn.code_offset();
  const std::vector<uint8_t> original(fn.part(CodePart::kInstructions).begin(),
                                      fn.part(CodePart::kInstructions).end());
  const uint32_t t = 0x148;
  // Entry 1 gets entry 0's pc.
  std::vector<uint8_t> code = original;
  code[t + 14] = code[t + 12];
  code[t + 15] = code[t + 13];
  EXPECT_REJECTED(SafepointTable::Parse(code, fn.header, Arch::kX64, code_at),
                  code_at + t + 14, "entry 1 pc 0x59 does not follow");
  // One entry more than the region holds.
  code = original;
  code[t + 4] += 1;
  EXPECT_REJECTED(SafepointTable::Parse(code, fn.header, Arch::kX64, code_at),
                  code_at + t + 4, "5 entries");
  // Every shorter region is rejected.
  for (int32_t end = t; end < fn.header.handler_table_offset; ++end) {
    CodeHeader header = fn.header;
    header.handler_table_offset = end;
    auto result = SafepointTable::Parse(original, header, Arch::kX64, code_at);
    ASSERT_FALSE(result.ok()) << end;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  }
}

// Flipping bits anywhere in a real table never gets an unsafe table past
// Parse, and errors are always kDataLoss (ASan watches the reads).
TEST(SafepointTableRealHostile, EveryByteFlip) {
  int rejected = 0, accepted = 0;
  for (const char* name : {"x64/imports", "arm64/imports", "x64/memory"}) {
    const LoadedFixture f = LoadCommitted(name);
    auto parsed = reference::ParseCache(f.cache, f.module, f.env);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    for (const ParsedFunction& fn : parsed->functions) {
      if (fn.tag != FunctionTag::kTurboFan) continue;
      const absl::Span<const uint8_t> original =
          fn.part(CodePart::kInstructions);
      const int32_t start = fn.header.safepoint_table_offset;
      for (int32_t at = start; at < fn.header.handler_table_offset; ++at) {
        for (uint8_t mask : {0x01, 0x10, 0x80, 0xff}) {
          std::vector<uint8_t> code(original.begin(), original.end());
          code[at] ^= mask;
          auto table = SafepointTable::Parse(code, fn.header, f.fixture.arch,
                                             fn.code_offset());
          if (!table.ok()) {
            ++rejected;
            EXPECT_EQ(table.status().code(), absl::StatusCode::kDataLoss)
                << table.status();
            continue;
          }
          ++accepted;
          for (size_t i = 0; i < table->size(); ++i) {
            const SafepointEntry& e = table->entry(i);
            EXPECT_GT(e.pc, 0u);
            EXPECT_LE(e.pc, static_cast<uint32_t>(start));
            if (i > 0) EXPECT_GT(e.pc, table->entry(i - 1).pc);
            EXPECT_GE(e.tagged_slots.data(), code.data() + start);
            EXPECT_LE(e.tagged_slots.data() + e.tagged_slots.size(),
                      code.data() + fn.header.handler_table_offset);
          }
        }
      }
    }
  }
  std::cout << absl::StrFormat("[ flips ] %d rejected, %d accepted\n", rejected,
                               accepted);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace wasmcache::testing
