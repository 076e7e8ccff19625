// fast/check/safepoints against reference/safepoint_table (the oracle).
//
// Differential: every TurboFan function of the committed fixtures (and of
// the large fixtures when built), in their byte order and byte-swapped for
// a big-endian target; each one-bit flip and the inversion of every byte of
// the committed tables; seeded random mutants of the tables and of the
// code-header fields, of real tables and of generated ones (which carry
// deopt data and tagged registers, which real wasm tables never have). For
// each input both implementations must agree on accept or reject,
// rejections must be the same status (code and message, so the same rule at
// the same offset), and for an accepted table the lookup must return the
// same entry for every pc of the code and a few beyond it (for generated
// code over 8 KiB: every pc around an entry's pc or trampoline, where the
// answer changes, and a sample of the rest). Every rule must have rejected
// some generated input.
//
// Unit cases: every rejection rule of spec/FORMAT.md §7.3 once, with its
// offset, against both implementations.
//
// FAST_SAFEPOINTS_RULES=1 lists the rejections by rule.

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "fast/check/safepoints.h"
#include "gtest/gtest.h"
#include "reference/cache_parser.h"
#include "reference/safepoint_table.h"
#include "tests/test_util.h"

namespace wasmcache::testing {
namespace {

using reference::ParsedFunction;
using reference::SafepointEntry;
using reference::SafepointTable;

// ---------------------------------------------------------------------------
// The comparison.

struct Tally {
  int inputs = 0;
  int accepted = 0;
  int rejected = 0;
  long lookups = 0;
  std::map<std::string, int> rules;  // rejections by rule
};

// The rule a message names: its text without numbers.
std::string RuleOf(const std::string& message) {
  std::string out;
  for (size_t i = 0; i < message.size(); ++i) {
    const char ch = message[i];
    if (ch == '0' && i + 1 < message.size() && message[i + 1] == 'x') {
      ++i;
      while (i + 1 < message.size() && std::isxdigit(message[i + 1])) ++i;
      out += '#';
    } else if (std::isdigit(ch) || (ch == '-' && i + 1 < message.size() &&
                                    std::isdigit(message[i + 1]))) {
      while (i + 1 < message.size() && std::isdigit(message[i + 1])) ++i;
      out += '#';
    } else {
      out += ch;
    }
  }
  return out;
}

// An entry, its bitmap as an offset in the code it was looked up in.
std::string Describe(const std::optional<SafepointEntry>& e,
                     const uint8_t* code) {
  if (!e.has_value()) return "none";
  return absl::StrFormat(
      "pc 0x%x deopt %d trampoline %d registers 0x%x bitmap at 0x%x+%d", e->pc,
      e->deopt_index, e->trampoline_pc, e->tagged_registers,
      e->tagged_slots.data() - code, e->tagged_slots.size());
}

std::string Describe(const fast::SafepointHit& h, const uint8_t* code) {
  if (!h.found) return "none";
  return absl::StrFormat(
      "pc 0x%x deopt %d trampoline %d registers 0x%x bitmap at 0x%x+%d", h.pc,
      h.deopt_index, h.trampoline_pc, h.tagged_registers, h.bitmap - code,
      h.bitmap_bytes);
}

// Bitmaps are compared by their offset in each one's copy of the code.
bool SameEntry(const std::optional<SafepointEntry>& r, const uint8_t* r_code,
               const fast::SafepointHit& f, const uint8_t* f_code) {
  if (r.has_value() != f.found) return false;
  if (!f.found) return true;
  return r->pc == f.pc && r->deopt_index == f.deopt_index &&
         r->trampoline_pc == f.trampoline_pc &&
         r->tagged_registers == f.tagged_registers &&
         r->tagged_slots.data() - r_code == f.bitmap - f_code &&
         r->tagged_slots.size() == f.bitmap_bytes;
}

// Runs both on one input; on disagreement adds a test failure naming
// `what`. Returns whether both accepted.
bool Compare(const std::vector<uint8_t>& code, const CodeHeader& header,
             Arch arch, uint64_t file_offset, const std::string& what,
             Tally& tally, bool every_pc = false) {
  ++tally.inputs;
  auto ref = SafepointTable::Parse(code, header, arch, file_offset);
  const absl::Status fast =
      fast::CheckSafepointTable(code.data(), static_cast<uint32_t>(code.size()),
                                header, arch, file_offset);
  if (!ref.ok()) {
    ++tally.rejected;
    ++tally.rules[RuleOf(std::string(ref.status().message()))];
    EXPECT_EQ(fast, ref.status()) << what;
    return false;
  }
  if (!fast.ok()) {
    ADD_FAILURE() << what
                  << ": fast rejects what the reference accepts: " << fast;
    return false;
  }
  ++tally.accepted;
  // Every pc of the code, a few past it, and the extremes. Above
  // kEveryPcUpTo bytes (generated code only), the pcs around each entry's
  // pc and trampoline, where the answer changes, and a sample of the rest.
  constexpr size_t kEveryPcUpTo = 8192;
  std::vector<uint32_t> pcs;
  const uint32_t stride = every_pc || code.size() <= kEveryPcUpTo ? 1 : 61;
  for (uint32_t pc = 0; pc <= code.size() + 2; pc += stride) pcs.push_back(pc);
  if (stride != 1) {
    for (const SafepointEntry& e : ref->entries()) {
      for (int64_t around : {int64_t{e.pc}, int64_t{e.trampoline_pc}}) {
        for (int64_t d = -2; d <= 2; ++d) {
          if (around + d >= 0) pcs.push_back(uint32_t(around + d));
        }
      }
    }
  }
  pcs.push_back(0x7fffffffu);
  pcs.push_back(0xffffffffu);
  int mismatches = 0;
  for (uint32_t pc : pcs) {
    ++tally.lookups;
    const std::optional<SafepointEntry> r = ref->FindEntry(pc);
    const fast::SafepointHit f =
        fast::FindSafepoint(code.data(), header, arch, pc);
    if (!SameEntry(r, code.data(), f, code.data())) {
      ADD_FAILURE() << what << ": lookup at pc 0x" << std::hex << pc
                    << ": reference " << Describe(r, code.data())
                    << ", fast " << Describe(f, code.data());
      if (++mismatches == 5) break;
    }
  }
  return true;
}

void Print(const char* name, const Tally& t) {
  std::cout << absl::StrFormat(
      "[ %s ] %d inputs: %d accepted, %d rejected (agreeing) by %d rules; "
      "%d lookups\n",
      name, t.inputs, t.accepted, t.rejected, t.rules.size(), t.lookups);
  if (std::getenv("FAST_SAFEPOINTS_RULES") != nullptr) {
    for (const auto& [rule, count] : t.rules) {
      std::cout << absl::StrFormat("    %6d  %s\n", count, rule);
    }
  }
}

// ---------------------------------------------------------------------------
// Deterministic randomness (splitmix64: the same stream on every platform).

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for tests; n > 0.
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }
  bool OneIn(uint32_t n) { return Below(n) == 0; }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------
// A table writer (what V8's SafepointTableBuilder emits, with overrides for
// hostile tables).

struct Entry {
  uint32_t pc = 0;
  int32_t deopt_index = -1;
  int32_t trampoline = -1;
  uint32_t registers = 0;
  std::vector<uint32_t> bits;
};

struct Table {
  uint32_t stack_slots = 8;
  std::vector<Entry> entries;
  std::optional<bool> deopt;
  std::optional<uint32_t> pc_width, deopt_width, register_width, bitmap_bytes;
};

uint32_t BytesFor(uint64_t v) {
  uint32_t w = 0;
  while (v != 0 && w < 4) {
    v >>= 8;
    ++w;
  }
  return v != 0 ? 4 : w;
}

void PutLe(std::vector<uint8_t>& out, uint64_t v, uint32_t width) {
  for (uint32_t b = 0; b < width; ++b) out.push_back(uint8_t(v >> (8 * b)));
}

void PutWord(std::vector<uint8_t>& out, uint32_t v, ByteOrder order) {
  for (int b = 0; b < 4; ++b) {
    const int shift = order == ByteOrder::kLittle ? 8 * b : 8 * (3 - b);
    out.push_back(uint8_t(v >> shift));
  }
}

std::vector<uint8_t> Encode(const Table& t, ByteOrder order) {
  uint64_t pcs = 0, deopts = 0;
  uint32_t regs = 0;
  int64_t top = -1;
  for (const Entry& e : t.entries) {
    pcs = std::max<uint64_t>(
        {pcs, uint64_t{e.pc} + 1, uint64_t(int64_t{e.trampoline} + 1)});
    deopts = std::max<uint64_t>(deopts, uint64_t(int64_t{e.deopt_index} + 1));
    regs |= e.registers;
    for (uint32_t b : e.bits) top = std::max<int64_t>(top, b);
  }
  const bool deopt = t.deopt.value_or(deopts != 0);
  const uint32_t pw = t.pc_width.value_or(BytesFor(pcs));
  const uint32_t dw = t.deopt_width.value_or(BytesFor(deopts));
  const uint32_t rw = t.register_width.value_or(BytesFor(regs));
  const uint32_t bb = t.bitmap_bytes.value_or(
      top >= 0 ? uint32_t(top / 8 + 1) : (t.stack_slots + 7) / 8);
  std::vector<uint8_t> out;
  PutWord(out, t.stack_slots, order);
  PutWord(out, uint32_t(t.entries.size()), order);
  PutWord(out, uint32_t{deopt} | rw << 1 | pw << 4 | dw << 7 | bb << 10, order);
  for (const Entry& e : t.entries) {
    PutLe(out, e.pc, pw);
    if (deopt) {
      PutLe(out, uint64_t(int64_t{e.deopt_index} + 1), dw);
      PutLe(out, uint64_t(int64_t{e.trampoline} + 1), pw);
    }
    PutLe(out, e.registers, rw);
  }
  for (const Entry& e : t.entries) {
    std::vector<uint8_t> bitmap(bb, 0);
    for (uint32_t b : e.bits) {
      if (b / 8 < bb) bitmap[b / 8] |= uint8_t(1u << (b % 8));
    }
    out.insert(out.end(), bitmap.begin(), bitmap.end());
  }
  while (out.size() % 4 != 0) out.push_back(0xCC);
  return out;
}

struct Code {
  std::vector<uint8_t> bytes;
  CodeHeader header;
  Arch arch = Arch::kX64;
  uint64_t file_offset = 0x1000;
};

// `at` bytes of code (0x90), the table, then `trailer` bytes (a handler
// table or constant pool) after handler_table_offset.
Code Make(const Table& t, uint32_t at = 0x40, Arch arch = Arch::kX64,
          uint32_t kind = kWasmFunctionKind, uint32_t trailer = 0) {
  Code c;
  c.arch = arch;
  c.bytes.assign(at, 0x90);
  const std::vector<uint8_t> table = Encode(t, TraitsOf(arch).byte_order);
  c.bytes.insert(c.bytes.end(), table.begin(), table.end());
  const int32_t handler = int32_t(c.bytes.size());
  c.bytes.insert(c.bytes.end(), trailer, 0xAB);
  CodeHeader& h = c.header;
  h.safepoint_table_offset = int32_t(at);
  h.handler_table_offset = handler;
  h.constant_pool_offset = h.code_comments_offset = h.unpadded_binary_size =
      int32_t(c.bytes.size());
  h.instructions_size = int32_t(c.bytes.size());
  h.stack_slots = int32_t(t.stack_slots);
  h.kind = kind;
  h.tier = kTierTurboFan;
  h.deopt_data_size = kind == kWasmFunctionKind ? 0 : 16;
  return c;
}

bool Compare(const Code& c, const std::string& what, Tally& tally,
             bool every_pc = false) {
  return Compare(c.bytes, c.header, c.arch, c.file_offset, what, tally,
                 every_pc);
}

// A random table that is mostly one V8 could write: increasing pcs,
// trampolines after the last pc, bits among the spill slots, consecutive
// entries not mergeable. Deopt data and registers only for `kind` != 0.
Code RandomCode(Rng& rng) {
  static constexpr Arch kArchs[] = {Arch::kX64, Arch::kArm64, Arch::kPpc64,
                                    Arch::kS390x, Arch::kIa32};
  const Arch arch = kArchs[rng.Below(5)];
  const uint32_t kind = rng.OneIn(3) ? kWasmFunctionKind : 1 + rng.Below(3);
  const bool wasm = kind == kWasmFunctionKind;
  Table t;
  t.stack_slots = rng.OneIn(8) ? rng.Below(5) : 4 + rng.Below(40);
  const uint32_t spill = t.stack_slots > (arch == Arch::kPpc64 ? 5u : 4u)
                             ? t.stack_slots - (arch == Arch::kPpc64 ? 5u : 4u)
                             : 0;
  // Code sizes across the pc widths 1..3.
  static constexpr uint32_t kSizes[] = {0x20,  0x40,   0xfc,    0x100,
                                        0x400, 0xfffc, 0x10000, 0x10400};
  const uint32_t code_size = kSizes[rng.Below(8)];
  const uint32_t n = rng.OneIn(6) ? 0 : 1 + rng.Below(8);
  uint32_t pc = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t room = code_size / 2 / (n + 1);
    pc += 1 + rng.Below(std::max<uint32_t>(room, 1));
    Entry e;
    e.pc = pc;
    if (!wasm && rng.OneIn(3)) e.registers = rng.Below(1u << rng.Below(20));
    if (spill > 0) {
      const uint32_t count = rng.Below(4);
      for (uint32_t k = 0; k < count; ++k) e.bits.push_back(rng.Below(spill));
    }
    t.entries.push_back(e);
  }
  // Deopt indices and trampolines, increasing and after the last pc.
  if (!wasm && rng.OneIn(2)) {
    uint32_t trampoline = pc + rng.Below(8);
    uint32_t index = rng.OneIn(8)   ? 0x7fffffe0u + rng.Below(0x10)
                     : rng.OneIn(4) ? rng.Below(0x20000)
                                    : rng.Below(4);
    for (Entry& e : t.entries) {
      if (!rng.OneIn(3)) continue;
      e.deopt_index = int32_t(index);
      index += 1 + rng.Below(3);
      trampoline += 1 + rng.Below(16);
      e.trampoline = int32_t(trampoline);
    }
    if (trampoline >= code_size) {  // no room for them in small code
      for (Entry& e : t.entries) {
        e.trampoline = -1;
        e.deopt_index = -1;
      }
    }
  }
  // Break runs that V8 would have merged.
  for (size_t i = 1; i < t.entries.size(); ++i) {
    Entry& e = t.entries[i];
    const Entry& p = t.entries[i - 1];
    auto sorted = [](std::vector<uint32_t> v) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      return v;
    };
    if (e.deopt_index == p.deopt_index && e.trampoline == p.trampoline &&
        e.registers == p.registers && sorted(e.bits) == sorted(p.bits) &&
        !rng.OneIn(10)) {
      if (!wasm) {
        e.registers ^= 1u << rng.Below(8);
      } else if (spill > 0) {
        const uint32_t b = rng.Below(spill);
        auto it = std::find(e.bits.begin(), e.bits.end(), b);
        if (it != e.bits.end()) {
          e.bits.erase(std::remove(e.bits.begin(), e.bits.end(), b),
                       e.bits.end());
        } else {
          e.bits.push_back(b);
        }
      }
    }
  }
  // Now and then a field wider than V8 would make it.
  if (rng.OneIn(20)) {
    const uint32_t wider = 2 + rng.Below(3);
    switch (rng.Below(3)) {
      case 0:
        t.pc_width = wider;
        break;
      case 1:
        t.deopt_width = wider;
        break;
      case 2:
        t.register_width = wider;
        break;
    }
  }
  Code c = Make(t, code_size, arch, kind, rng.OneIn(3) ? 8 : 0);
  c.header.tier = wasm || rng.OneIn(2) ? kTierTurboFan : kTierLiftoff;
  return c;
}

// One to three random changes of the table bytes or the header fields.
Code Mutate(const Code& base, Rng& rng) {
  Code c = base;
  CodeHeader& h = c.header;
  const int32_t start = std::max(h.safepoint_table_offset, 0);
  const int32_t end = std::min<int32_t>(std::max(h.handler_table_offset, start),
                                        int32_t(c.bytes.size()));
  const int32_t region = std::max(end - start, 1);
  static constexpr uint8_t kValues[] = {0x00, 0x01, 0x02, 0x7f,
                                        0x80, 0xcc, 0xfe, 0xff};
  static constexpr int32_t kDeltas[] = {-8, -4, -3, -2, -1, 1, 2, 3, 4, 8};
  const uint32_t changes = 1 + rng.Below(3);
  for (uint32_t k = 0; k < changes; ++k) {
    const uint32_t at =
        std::min<uint32_t>(uint32_t(start) + rng.Below(uint32_t(region)),
                           uint32_t(c.bytes.size()) - 1);
    switch (rng.Below(16)) {
      case 0:
      case 1:
      case 2:
      case 3:  // one bit
        c.bytes[at] ^= uint8_t(1u << rng.Below(8));
        break;
      case 4:
      case 5:  // a random byte
        c.bytes[at] ^= uint8_t(1 + rng.Below(255));
        break;
      case 6:
      case 7:  // an interesting value
        c.bytes[at] = kValues[rng.Below(8)];
        break;
      case 8:  // the header word fields, by a small delta
        c.bytes[std::min<uint32_t>(uint32_t(start) + rng.Below(12),
                                   uint32_t(c.bytes.size()) - 1)] +=
            uint8_t(kDeltas[rng.Below(10)]);
        break;
      case 9:
        h.safepoint_table_offset =
            rng.OneIn(4) ? int32_t(rng.Next())
                         : h.safepoint_table_offset + kDeltas[rng.Below(10)];
        break;
      case 10:
        h.handler_table_offset += kDeltas[rng.Below(10)];
        break;
      case 11:
        h.stack_slots = rng.OneIn(4) ? -int32_t(rng.Below(3)) - 1
                                     : h.stack_slots + kDeltas[rng.Below(10)];
        break;
      case 12:
        h.kind = rng.Below(4);
        h.tier = uint8_t(rng.Below(3));
        break;
      case 13:
        h.deopt_data_size = rng.OneIn(2) ? 0 : 16;
        break;
      case 14:  // instructions cut short
        c.bytes.resize(std::max<size_t>(
            c.bytes.size() - std::min<size_t>(c.bytes.size(), rng.Below(8)),
            1));
        break;
      case 15:  // another target: fixed slots, byte order
        c.arch = rng.OneIn(2) ? Arch::kPpc64 : Arch::kArm64;
        c.file_offset = rng.OneIn(2) ? rng.Below(60) : c.file_offset;
        break;
    }
  }
  return c;
}

// The table's three header words byte-swapped: the same table for a target
// of the other byte order.
Code SwapOrder(const Code& c, Arch other) {
  Code s = c;
  s.arch = other;
  const uint32_t t = uint32_t(c.header.safepoint_table_offset);
  for (uint32_t w = 0; w < 3; ++w)
    std::reverse(&s.bytes[t + 4 * w], &s.bytes[t + 4 * w + 4]);
  return s;
}

// ---------------------------------------------------------------------------
// Real fixtures.

struct RealFunction {
  std::string name;
  Code code;
};

std::vector<RealFunction> RealFunctions(const std::vector<Fixture>& fixtures) {
  std::vector<RealFunction> out;
  for (const Fixture& fixture : fixtures) {
    const LoadedFixture f = LoadFixture(fixture);
    auto parsed = reference::ParseCache(f.cache, f.module, f.env);
    EXPECT_TRUE(parsed.ok()) << fixture.name << ": " << parsed.status();
    if (!parsed.ok()) continue;
    for (const ParsedFunction& fn : parsed->functions) {
      if (fn.tag != FunctionTag::kTurboFan) continue;
      const auto code = fn.part(CodePart::kInstructions);
      out.push_back({absl::StrFormat("%s function %d", fixture.name, fn.index),
                     Code{std::vector<uint8_t>(code.begin(), code.end()),
                          fn.header, fixture.arch, fn.code_offset()}});
    }
  }
  return out;
}

void CompareReal(const std::vector<RealFunction>& functions, const char* what) {
  Tally tally, swapped;
  for (const RealFunction& f : functions) {
    EXPECT_TRUE(Compare(f.code, f.name, tally, /*every_pc=*/true))
        << f.name << " rejected";
    EXPECT_TRUE(
        Compare(SwapOrder(f.code, Arch::kS390x), f.name + " on s390x", swapped))
        << f.name << " rejected on s390x";
  }
  Print(what, tally);
  Print((std::string(what) + " byte-swapped").c_str(), swapped);
  EXPECT_EQ(tally.accepted, int(functions.size()));
}

TEST(FastSafepoints, EveryCommittedFunction) {
  const std::vector<RealFunction> functions =
      RealFunctions(CommittedFixtures());
  ASSERT_GT(functions.size(), 600u);
  CompareReal(functions, "committed");
}

TEST(FastSafepoints, EveryLargeFixtureFunction) {
  const std::vector<Fixture> large = LargeFixtures();
  if (large.empty()) GTEST_SKIP() << "large fixtures not built";
  CompareReal(RealFunctions(large), "large");
}

TEST(FastSafepoints, EveryByteFlipOfTheCommittedTables) {
  Tally tally;
  for (const RealFunction& f : RealFunctions(CommittedFixtures())) {
    const CodeHeader& h = f.code.header;
    for (int32_t at = h.safepoint_table_offset; at < h.handler_table_offset;
         ++at) {
      for (uint8_t mask :
           {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
        Code c = f.code;
        c.bytes[at] ^= mask;
        Compare(c, absl::StrFormat("%s, byte 0x%x ^ 0x%x", f.name, at, mask),
                tally);
      }
    }
  }
  Print("flips", tally);
  EXPECT_GT(tally.accepted, 0);
  EXPECT_GT(tally.rejected, 0);
}

TEST(FastSafepoints, RandomMutantsOfRealTables) {
  Rng rng(0x5afe9017);
  Tally tally;
  const std::vector<RealFunction> functions =
      RealFunctions(CommittedFixtures());
  for (const RealFunction& f : functions) {
    for (int k = 0; k < 40; ++k) {
      const Code base = rng.OneIn(8) ? SwapOrder(f.code, Arch::kS390x) : f.code;
      Compare(Mutate(base, rng), absl::StrFormat("%s, mutant %d", f.name, k),
              tally);
    }
  }
  Print("real mutants", tally);
  EXPECT_GT(tally.inputs, 20000);
  EXPECT_GT(tally.accepted, 500);
}

TEST(FastSafepoints, RandomGeneratedTablesAndMutants) {
  Rng rng(0x7ab1e5);
  Tally bases, mutants;
  int with_deopts = 0, with_registers = 0;
  for (int k = 0; k < 3000; ++k) {
    const Code base = RandomCode(rng);
    const std::string what = absl::StrFormat("generated %d", k);
    if (Compare(base, what, bases)) {
      // The configuration word (kind, not byte order, matters here).
      const uint32_t at = uint32_t(base.header.safepoint_table_offset) + 8;
      const bool big = TraitsOf(base.arch).byte_order == ByteOrder::kBig;
      const uint8_t low = big ? base.bytes[at + 3] : base.bytes[at];
      with_deopts += (low & 1) != 0;
      with_registers += ((low >> 1) & 7) != 0;
    }
    for (int m = 0; m < 8; ++m) {
      Compare(Mutate(base, rng), absl::StrFormat("%s mutant %d", what, m),
              mutants);
    }
  }
  Print("generated", bases);
  Print("generated mutants", mutants);
  std::cout << absl::StrFormat(
      "[ generated ] %d accepted with deopt data, %d with registers\n",
      with_deopts, with_registers);
  // Every rule of §7.3 rejected some input (31 messages).
  std::map<std::string, int> rules = mutants.rules;
  for (const auto& [rule, count] : bases.rules) rules[rule] += count;
  EXPECT_EQ(rules.size(), 31u);
  EXPECT_GT(bases.accepted, 2000);
  EXPECT_GT(with_deopts, 300);
  EXPECT_GT(with_registers, 300);
  EXPECT_GT(mutants.accepted, 1000);
}

// ---------------------------------------------------------------------------
// Each rule once: both implementations give the same status, kDataLoss,
// with the expected fragment at the expected offset.

void ExpectRule(const Code& c, uint64_t offset, const std::string& fragment) {
  const absl::Status fast =
      fast::CheckSafepointTable(c.bytes.data(), uint32_t(c.bytes.size()),
                                c.header, c.arch, c.file_offset);
  ASSERT_FALSE(fast.ok()) << "accepted; expected: " << fragment;
  EXPECT_EQ(fast.code(), absl::StatusCode::kDataLoss) << fast;
  const std::string message(fast.message());
  EXPECT_EQ(message.rfind("safepoints: ", 0), 0u) << message;
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
  const std::string at = absl::StrFormat(" at offset 0x%x", offset);
  EXPECT_TRUE(message.size() >= at.size() &&
              message.compare(message.size() - at.size(), at.size(), at) == 0)
      << message << " (expected" << at << ")";
  auto ref = SafepointTable::Parse(c.bytes, c.header, c.arch, c.file_offset);
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(fast, ref.status());
}

void ExpectAccepted(const Code& c) {
  Tally tally;
  EXPECT_TRUE(Compare(c, "unit", tally));
}

constexpr uint32_t T = 0x40;
constexpr uint64_t At = 0x1000 + T;  // file offset of the table

Table ThreeCalls() {  // 8 stack slots: spill bits 0..3
  Table t;
  t.entries = {
      {0x10, -1, -1, 0, {}}, {0x20, -1, -1, 0, {3}}, {0x30, -1, -1, 0, {}}};
  return t;
}

// Deopt data (kind 1): entry size 1 + 1 + 1.
Table TwoDeopts() {
  Table t;
  t.entries = {
      {0x10, -1, -1, 0, {}}, {0x20, 0, 0x30, 0, {}}, {0x28, 1, 0x38, 0, {}}};
  return t;
}

void SetWord(Code& c, uint32_t at, uint32_t v) {
  for (int b = 0; b < 4; ++b) c.bytes[at + b] = uint8_t(v >> (8 * b));
}

uint32_t ConfigWord(bool deopt, uint32_t rw, uint32_t pw, uint32_t dw,
                    uint32_t bb) {
  return uint32_t{deopt} | rw << 1 | pw << 4 | dw << 7 | bb << 10;
}

TEST(FastSafepointsRules, Accepted) {
  ExpectAccepted(Make(ThreeCalls()));
  ExpectAccepted(Make(ThreeCalls(), T, Arch::kS390x));
  ExpectAccepted(Make(TwoDeopts(), T, Arch::kX64, 1));
  ExpectAccepted(Make(Table{}, T));  // no entries: one bitmap byte declared
  Table last = ThreeCalls();
  last.entries[2].pc = T;  // a call that ends the code
  ExpectAccepted(Make(last));
  ExpectAccepted(Make(ThreeCalls(), T, Arch::kX64, 0, 8));  // handler table
}

TEST(FastSafepointsRules, HeaderOffsets) {
  Code c = Make(ThreeCalls());
  c.header.safepoint_table_offset = -4;
  ExpectRule(c, 0x1000 - 57, "safepoint_table_offset -4 outside [0, ");
  c = Make(ThreeCalls());
  c.header.safepoint_table_offset = c.header.handler_table_offset + 4;
  ExpectRule(c, 0x1000 - 57, "outside [0, handler_table_offset 84]");
  c.file_offset = 20;  // closer to the file start than the field distance
  ExpectRule(c, 0, "outside [0,");
  c = Make(ThreeCalls());
  c.header.handler_table_offset += 4;
  ExpectRule(c, 0x1000 - 53, "handler_table_offset 88 past the 84");
}

TEST(FastSafepointsRules, Alignment) {
  ExpectRule(Make(ThreeCalls(), T + 2), At + 2,
             "table at 0x42 is not 4-byte aligned");
}

TEST(FastSafepointsRules, HeaderRoom) {
  Code c = Make(ThreeCalls());
  c.header.safepoint_table_offset = c.header.handler_table_offset;
  ExpectRule(c, 0x1000 + c.header.handler_table_offset,
             "12-byte table header does not fit in the 0 bytes");
  c = Make(ThreeCalls());
  c.header.handler_table_offset = T + 8;
  ExpectRule(c, At, "does not fit in the 8 bytes");
}

TEST(FastSafepointsRules, StackSlots) {
  Code c = Make(ThreeCalls());
  c.header.stack_slots = 9;
  ExpectRule(c, At, "stack slot count 8 differs from the code header's 9");
  c.header.stack_slots = -1;
  ExpectRule(c, At, "code header's -1");
  c = Make(ThreeCalls());
  SetWord(c, T, 0xfffffffe);
  c.header.stack_slots = -2;  // the same bits, but the header's is signed
  ExpectRule(c, At, "differs from the code header's -2");
}

TEST(FastSafepointsRules, NegativeLength) {
  Code c = Make(ThreeCalls());
  SetWord(c, T + 4, 0x80000000u);
  ExpectRule(c, At + 4, "negative entry count -2147483648");
}

TEST(FastSafepointsRules, Widths) {
  Code c = Make(ThreeCalls());
  SetWord(c, T + 8, ConfigWord(false, 5, 7, 0, 1));
  ExpectRule(c, At + 8, "tagged-register width 5 over 4 bytes");
  SetWord(c, T + 8, ConfigWord(false, 0, 6, 0, 1));
  ExpectRule(c, At + 8, "pc width 6 over 4 bytes");
  SetWord(c, T + 8, ConfigWord(true, 0, 1, 7, 1));
  ExpectRule(c, At + 8, "deopt-index width 7 over 4 bytes");
  SetWord(c, T + 8, ConfigWord(false, 0, 0, 0, 1));
  ExpectRule(c, At + 8, "pc width 0 with 3 entries");
  SetWord(c, T + 8, ConfigWord(true, 0, 1, 0, 1));
  ExpectRule(c, At + 8, "deopt-data flag 1 with a deopt-index width of 0");
  SetWord(c, T + 8, ConfigWord(false, 0, 1, 2, 1));
  ExpectRule(c, At + 8, "deopt-data flag 0 with a deopt-index width of 2");
}

TEST(FastSafepointsRules, TurboFanWasmHasNoRegistersOrDeopts) {
  Table t = ThreeCalls();
  t.entries[1].registers = 0x3;
  Code c = Make(t);
  ExpectRule(c, At + 8, "tagged-register width 1 in a TurboFan wasm");
  c.header.tier = kTierLiftoff;
  ExpectAccepted(c);
  c = Make(TwoDeopts(), T, Arch::kX64, 1);
  c.header.kind = kWasmFunctionKind;
  ExpectRule(c, At + 8, "deopt data in a TurboFan wasm function");
}

TEST(FastSafepointsRules, EntriesPastTheRegion) {
  Code c = Make(ThreeCalls());
  SetWord(c, T + 4, 5);
  ExpectRule(c, At + 4,
             "5 entries of 1 bytes with 1-byte bitmaps need 22 bytes, but 20 "
             "precede the handler table");
  SetWord(c, T + 4, 0x7fffffff);
  SetWord(c, T + 8, ConfigWord(true, 4, 4, 4, (1u << 22) - 1));
  c.header.kind = 1;
  ExpectRule(c, At + 4, "2147483647 entries of 16 bytes with 4194303-byte");
}

TEST(FastSafepointsRules, RegionEnd) {
  Code c = Make(ThreeCalls(), T, Arch::kX64, 0, 8);
  c.header.handler_table_offset += 4;
  ExpectRule(c, At + 18,
             "table ends at 0x52, but the handler table starts at 0x58 "
             "instead of 0x54");
  c.header.handler_table_offset -= 5;
  ExpectRule(c, At + 18, "starts at 0x53 instead of 0x54");
  c = Make(ThreeCalls());
  c.bytes[T + 19] = 0xCD;
  ExpectRule(c, At + 19, "padding byte 0xcd is not 0xcc");
  c.bytes[T + 18] = 0x00;
  ExpectRule(c, At + 18, "padding byte 0x00 is not 0xcc");
}

TEST(FastSafepointsRules, Pcs) {
  Table t = ThreeCalls();
  t.entries[0].pc = 0;
  ExpectRule(Make(t), At + 12, "entry 0 has pc 0, which V8 reads as no entry");
  t = ThreeCalls();
  t.entries[2].pc = T + 1;
  ExpectRule(Make(t), At + 14,
             "entry 2 pc 0x41 is past the code, which ends at 0x40");
  t = ThreeCalls();
  t.entries[1].pc = 0x10;
  ExpectRule(Make(t), At + 13,
             "entry 1 pc 0x10 does not follow entry 0 pc 0x10");
  t.entries[1].pc = 0x08;
  ExpectRule(Make(t), At + 13, "entry 1 pc 0x8 does not follow entry 0");
}

TEST(FastSafepointsRules, DeoptIndicesAndTrampolines) {
  // Entry 1: pc at +15, deopt index at +16, trampoline at +17.
  Code c = Make(TwoDeopts(), T, Arch::kX64, 1);
  c.bytes[T + 17] = 0;
  ExpectRule(c, At + 16,
             "entry 1 has a deopt index or a trampoline but not both");
  c = Make(TwoDeopts(), T, Arch::kX64, 1);
  c.bytes[T + 16] = 0;
  ExpectRule(c, At + 16, "entry 1 has a deopt index or a trampoline but not");
  c = Make(TwoDeopts(), T, Arch::kX64, 1);
  c.header.deopt_data_size = 0;
  ExpectRule(c, At + 16,
             "entry 1 has deopt index 0, but the code has no deopt data");

  Table t = TwoDeopts();
  t.deopt_width = 4;
  t.entries[2].deopt_index = 0x7fffffff;  // stored as 0x80000000
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 12 + 6 * 2 + 1,
             "entry 2 deopt index 0x7fffffff out of range");
  t.entries[2].deopt_index = 0x7ffffffe;
  t.deopt_width.reset();
  ExpectAccepted(Make(t, T, Arch::kX64, 1));

  t = TwoDeopts();
  t.entries[2].trampoline = T;
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 20,
             "entry 2 trampoline 0x40 is past the code, which ends at 0x40");
  t.entries[2].trampoline = T - 1;
  ExpectAccepted(Make(t, T, Arch::kX64, 1));
  t = TwoDeopts();
  t.entries[1].trampoline = 0x28;
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 17,
             "entry 1 trampoline 0x28 is not after the last entry's pc 0x28");
  t = TwoDeopts();
  t.entries[2].trampoline = 0x30;
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 20,
             "entry 2 trampoline 0x30 does not follow the previous "
             "trampoline 0x30");
}

TEST(FastSafepointsRules, BitsOutsideTheSpillSlots) {
  Table t = ThreeCalls();
  ExpectRule(Make(t, T, Arch::kPpc64), At + 16,
             "entry 1 marks slot bit 3 tagged, outside the 3 spill slots of 8 "
             "stack slots");
  t.entries[1].bits = {4};
  ExpectRule(Make(t), At + 16,
             "entry 1 marks slot bit 4 tagged, outside the 4");
  t = ThreeCalls();
  t.stack_slots = 3;
  ExpectRule(Make(t), At + 16, "outside the 0 spill slots of 3 stack slots");
  // In a later bitmap byte: 20 slots, 16 spill slots, bitmap bytes 3.
  t = ThreeCalls();
  t.stack_slots = 20;
  t.entries[0].bits = {1};
  t.entries[1].bits = {2, 17};
  ExpectRule(Make(t), At + 12 + 3 + 3 + 2,
             "entry 1 marks slot bit 17 tagged, outside the 16 spill slots");
  t.entries[1].bits = {2, 19, 23};  // the lowest offending bit is named
  ExpectRule(Make(t), At + 12 + 3 + 3 + 2, "slot bit 19 tagged");
}

TEST(FastSafepointsRules, Merged) {
  Table t = ThreeCalls();
  t.entries[2].bits = {3};
  ExpectRule(Make(t), At + 14,
             "entry 2 repeats entry 1 but for its pc (V8 merges such "
             "entries)");
  // Registers tell entries apart; equal registers do not.
  t = ThreeCalls();
  t.entries[0].registers = 1;
  t.entries[1].bits = {};
  t.entries[1].registers = 1;
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 12 + 2, "entry 1 repeats entry 0");
  t.entries[1].registers = 2;
  ExpectAccepted(Make(t, T, Arch::kX64, 1));
}

TEST(FastSafepointsRules, WidthsOtherThanV8s) {
  Table t = ThreeCalls();
  t.pc_width = 2;
  ExpectRule(Make(t), At + 8,
             "pc width 2, but V8 writes 1 for the largest stored value 0x31");
  t = TwoDeopts();
  t.pc_width = 2;  // the trampolines decide: 0x39
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 8,
             "pc width 2, but V8 writes 1 for the largest stored value 0x39");
  t = TwoDeopts();
  t.deopt_width = 2;
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 8,
             "deopt-index width 2, but V8 writes 1 for the largest stored "
             "value 0x2");
  t = ThreeCalls();
  t.entries[0].registers = 0x100;
  t.register_width = 3;
  ExpectRule(Make(t, T, Arch::kX64, 1), At + 8,
             "tagged-register width 3, but V8 writes 2 for the largest stored "
             "value 0x100");
  t = ThreeCalls();
  t.bitmap_bytes = 2;
  ExpectRule(Make(t), At + 8,
             "2 bitmap bytes per entry, but V8 writes 1 for 8 stack slots and "
             "highest tagged bit 3");
  t = Table{};
  t.stack_slots = 20;
  t.bitmap_bytes = 2;  // no bit set: V8 sizes by the frame, 3 bytes
  ExpectRule(Make(t), At + 8,
             "2 bitmap bytes per entry, but V8 writes 3 for 20 stack slots and "
             "highest tagged bit -1");
  t = ThreeCalls();
  t.stack_slots = 20;
  t.entries[1].bits = {9};
  t.bitmap_bytes = 3;
  ExpectRule(Make(t), At + 8, "3 bitmap bytes per entry, but V8 writes 2");
  t.bitmap_bytes.reset();
  ExpectAccepted(Make(t));
}

// The lookup on a table with deopt data: trampolines win after the last pc.
TEST(FastSafepointsLookup, Trampolines) {
  const Code c = Make(TwoDeopts(), T, Arch::kX64, 1);
  ASSERT_TRUE(fast::CheckSafepointTable(c.bytes.data(),
                                        uint32_t(c.bytes.size()), c.header,
                                        c.arch, c.file_offset)
                  .ok());
  auto at = [&](uint32_t pc) {
    return fast::FindSafepoint(c.bytes.data(), c.header, c.arch, pc);
  };
  EXPECT_FALSE(at(0x0f).found);
  EXPECT_EQ(at(0x10).pc, 0x10u);
  EXPECT_EQ(at(0x27).pc, 0x20u);
  EXPECT_EQ(at(0x2f).pc, 0x28u);
  EXPECT_EQ(at(0x30).pc, 0x20u);  // entry 1's trampoline
  EXPECT_EQ(at(0x30).trampoline_pc, 0x30);
  EXPECT_EQ(at(0x30).deopt_index, 0);
  EXPECT_EQ(at(0x38).pc, 0x28u);
  EXPECT_EQ(at(0xffffffff).deopt_index, 1);
  EXPECT_EQ(at(0x10).deopt_index, fast::SafepointHit::kNone);
}

}  // namespace
}  // namespace wasmcache::testing
