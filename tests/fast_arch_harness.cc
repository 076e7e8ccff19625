#include "tests/fast_arch_harness.h"

#include <random>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/cache_parser.h"
#include "reference/jump_table.h"
#include "reference/relocation.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "synth/synth.h"
#include "tests/test_util.h"

namespace wasmcache::testing {
namespace {

using reference::PatchedSite;
using reference::RelocEntry;

struct Code {
  std::vector<uint8_t> bytes;
  uint32_t constant_pool_offset;
  std::vector<PatchedSite> sites;
  std::string where;
};

// Every TurboFan function of a cache, as the reference parses it.
void CollectCode(absl::Span<const uint8_t> wire, absl::Span<const uint8_t> cache,
                 Arch arch, const std::string& name, std::vector<Code>& out) {
  auto module = DecodeModuleInfo(wire);
  ASSERT_TRUE(module.ok()) << name << ": " << module.status();
  const Environment env = DefaultEnvironment(arch, *module);
  auto parsed = reference::ParseCache(cache, *module, env);
  ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status();
  for (const auto& fn : parsed->functions) {
    if (fn.tag != FunctionTag::kTurboFan) continue;
    const auto code = fn.part(CodePart::kInstructions);
    out.push_back({{code.begin(), code.end()},
                   static_cast<uint32_t>(fn.header.constant_pool_offset),
                   fn.sites,
                   absl::StrFormat("%s function %d", name, fn.index)});
  }
}

std::vector<Code> CodeOf(Arch arch) {
  std::vector<Code> out;
  for (uint64_t seed = 0; seed < 24; ++seed) {
    for (bool all_forms : {false, true}) {
      auto r = synth::Synthesize({.arch = arch,
                                  .seed = seed,
                                  .num_functions = 12,
                                  .all_forms = all_forms,
                                  .max_sites_per_function = 24});
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) continue;
      CollectCode(r->wasm, r->cache, arch,
                  absl::StrFormat("synth seed %d%s", seed,
                                  all_forms ? " all forms" : ""),
                  out);
    }
  }
  for (const Fixture& f : CommittedFixtures()) {
    if (f.arch != arch) continue;
    CollectCode(ReadBytes(f.wasm_path), ReadBytes(f.cache_path), arch, f.name,
                out);
  }
  return out;
}

bool Is32Bit(Arch arch) { return TraitsOf(arch).word_size == 4; }

// Targets worth trying for a site at `at`: around it, at the edges of
// every power-of-two reach, and anywhere.
std::vector<uint64_t> TargetsAround(uint64_t at, std::mt19937_64& rng,
                                    bool narrow) {
  std::vector<uint64_t> out;
  for (int k = 2; k < (narrow ? 33 : 64); ++k) {
    const uint64_t reach = uint64_t{1} << k;
    for (int64_t d : {-8, -4, -2, -1, 0, 1, 2, 4}) {
      out.push_back(at + reach + d);
      out.push_back(at - reach + d);
    }
  }
  for (int i = 0; i < 24; ++i) {
    out.push_back(at + static_cast<int64_t>(rng() % (1 << 24)) - (1 << 23));
    out.push_back(rng());
    out.push_back(rng() & 0xffffffff);
  }
  if (narrow) {
    for (uint64_t& t : out) t &= 0xffffffff;
  }
  return out;
}

std::vector<uint64_t> Tags(uint64_t tag, std::mt19937_64& rng) {
  std::vector<uint64_t> out = {tag, 0, 1, 0x7fffffff, 0x80000000, 0xffffffff,
                               0x100000000, ~uint64_t{0}};
  for (int k = 1; k < 64; ++k) {
    out.push_back((uint64_t{1} << k) - 1);
    out.push_back(uint64_t{1} << k);
  }
  for (int i = 0; i < 8; ++i) {
    out.push_back(rng() & 0xffff);
    out.push_back(rng());
  }
  return out;
}

constexpr RelocMode kPatchedModes[] = {
    RelocMode::kWasmCall,           RelocMode::kWasmStubCall,
    RelocMode::kExternalReference,  RelocMode::kInternalReference,
    RelocMode::kInternalReferenceEncoded, RelocMode::kWasmCanonicalSigId,
    RelocMode::kWasmCodePointerTableEntry};

// Both locate `mode` at `pc` in `code` alike. Returns the fast site if both
// accept.
std::optional<fast::Site> CompareLocate(const fast::ArchOps& ops,
                                        const std::vector<uint8_t>& code,
                                        uint32_t pc, RelocMode mode,
                                        uint32_t cpo, const std::string& where,
                                        reference::Site* ref_site) {
  const RelocEntry entry{mode, pc, 0};
  auto ref = reference::LocateSite(ops.arch, code, entry, 0, cpo);
  fast::Site site;
  const char* why = nullptr;
  const bool ok = ops.locate(code.data(), static_cast<uint32_t>(code.size()),
                             pc, mode, cpo, &site, &why);
  EXPECT_EQ(ref.ok(), ok) << where << " " << RelocModeName(mode) << " pc "
                          << pc << ": reference " << ref.status()
                          << ", fast " << (why ? why : "ok");
  if (!ref.ok() || !ok) return std::nullopt;
  EXPECT_EQ(ref->field_offset, site.field_offset) << where;
  EXPECT_EQ(ref->field_size, site.field_size) << where;
  EXPECT_EQ(ref->pool_slot ? ref->instruction_size : 0u, site.reader_size)
      << where;
  EXPECT_EQ(site.pc, pc) << where;
  EXPECT_EQ(site.mode, mode) << where;
  EXPECT_EQ(reference::ReadTag(ops.arch, code.data(), *ref),
            ops.read_tag(code.data(), site))
      << where;
  *ref_site = *ref;
  return site;
}

void CompareWrites(const fast::ArchOps& ops, const std::vector<uint8_t>& code,
                   const reference::Site& ref_site, const fast::Site& site,
                   std::mt19937_64& rng, const std::string& where) {
  const Arch arch = ops.arch;
  const uint64_t code_address =
      Is32Bit(arch) ? (0x10000000 + (rng() & 0x3fff0000))
                    : (0x00007f0000000000 + (rng() & 0xffffff0000));
  const uint64_t at = code_address + site.field_offset;
  for (uint64_t target : TargetsAround(at, rng, Is32Bit(arch))) {
    std::vector<uint8_t> a = code, b = code;
    const bool ref_ok =
        reference::WriteTarget(arch, a.data(), code_address, ref_site, target);
    const bool fast_ok = ops.write_target(b.data(), code_address, site, target);
    ASSERT_EQ(ref_ok, fast_ok)
        << where << " target 0x" << std::hex << target << " at 0x" << at;
    ASSERT_EQ(a, b) << where << " target 0x" << std::hex << target;
    if (ref_ok) {
      ASSERT_EQ(reference::ReadTarget(arch, a.data(), code_address, ref_site),
                ops.read_target(b.data(), code_address, site))
          << where << " target 0x" << std::hex << target;
    }
  }
  for (uint64_t tag : Tags(site.tag, rng)) {
    const bool ref_fits = reference::TagFitsForm(arch, ref_site, tag);
    ASSERT_EQ(ref_fits, ops.tag_fits(site, tag))
        << where << " tag 0x" << std::hex << tag;
    if (!ref_fits) continue;
    std::vector<uint8_t> a = code, b = code;
    reference::WriteTag(arch, a.data(), ref_site, tag);
    ops.write_tag(b.data(), site, tag);
    ASSERT_EQ(a, b) << where << " tag 0x" << std::hex << tag;
    ASSERT_EQ(reference::ReadTag(arch, a.data(), ref_site),
              ops.read_tag(b.data(), site))
        << where << " tag 0x" << std::hex << tag;
  }
}

void CompareSlots(const fast::ArchOps& ops, std::mt19937_64& rng) {
  const Arch arch = ops.arch;
  const ArchTraits& t = TraitsOf(arch);
  for (int round = 0; round < 400; ++round) {
    const uint64_t base = Is32Bit(arch)
                              ? (0x20000000 + (rng() & 0x0fff0000))
                              : (0x00007e0000000000 + (rng() & 0xfffff0000));
    const uint32_t index = rng() % 5000;
    const uint64_t near_at = base + JumpTableSlotOffset(t, index);
    const uint64_t far_at = base + 0x100000 +
                            uint64_t{index} * t.far_jump_table_slot_size;
    const uint64_t lazy_at = base + 0x200000 +
                             uint64_t{index} * t.lazy_compile_slot_size;
    for (uint64_t target : TargetsAround(near_at, rng, Is32Bit(arch))) {
      if (round % 8 != 0 && (rng() & 7) != 0) continue;
      std::vector<uint8_t> a(64, 0), b(64, 0);
      const bool ref_ok =
          reference::WriteNearJumpSlot(arch, a.data(), near_at, target);
      const bool fast_ok = ops.write_near_slot(b.data(), near_at, target);
      ASSERT_EQ(ref_ok, fast_ok) << "near slot at 0x" << std::hex << near_at
                                 << " to 0x" << target;
      ASSERT_EQ(a, b) << "near slot at 0x" << std::hex << near_at << " to 0x"
                      << target;
      if (ref_ok) {
        auto ref_read =
            reference::ReadNearJumpSlotTarget(arch, a.data(), near_at);
        uint64_t fast_read = 0;
        ASSERT_EQ(ref_read.ok(), ops.read_near_slot(b.data(), near_at,
                                                    &fast_read));
        if (ref_read.ok()) {
          ASSERT_EQ(*ref_read, fast_read);
        }
      }

      std::vector<uint8_t> c(64, 0), d(64, 0);
      reference::WriteFarJumpSlot(arch, c.data(), far_at, target);
      ops.write_far_slot(d.data(), far_at, target);
      ASSERT_EQ(c, d) << "far slot at 0x" << std::hex << far_at << " to 0x"
                      << target;
      auto ref_far = reference::ReadFarJumpSlotTarget(arch, c.data(), far_at);
      uint64_t fast_far = 0;
      ASSERT_EQ(ref_far.ok(), ops.read_far_slot(d.data(), far_at, &fast_far));
      if (ref_far.ok()) {
        ASSERT_EQ(*ref_far, fast_far);
      }

      std::vector<uint8_t> e(64, 0), f(64, 0);
      const uint32_t fn = static_cast<uint32_t>(rng());
      ASSERT_EQ(
          reference::WriteLazyCompileSlot(arch, e.data(), lazy_at, fn, target),
          ops.write_lazy_slot(f.data(), lazy_at, fn, target))
          << "lazy slot at 0x" << std::hex << lazy_at << " to 0x" << target;
      ASSERT_EQ(e, f) << "lazy slot at 0x" << std::hex << lazy_at;
    }
    // Reading bytes that are not a slot: both refuse or both agree.
    std::vector<uint8_t> junk(64);
    for (uint8_t& byte : junk) byte = static_cast<uint8_t>(rng());
    uint64_t fast_read = 0;
    auto ref_near = reference::ReadNearJumpSlotTarget(arch, junk.data(), near_at);
    ASSERT_EQ(ref_near.ok(), ops.read_near_slot(junk.data(), near_at, &fast_read));
    if (ref_near.ok()) {
      ASSERT_EQ(*ref_near, fast_read);
    }
    auto ref_far = reference::ReadFarJumpSlotTarget(arch, junk.data(), far_at);
    ASSERT_EQ(ref_far.ok(), ops.read_far_slot(junk.data(), far_at, &fast_read));
    if (ref_far.ok()) {
      ASSERT_EQ(*ref_far, fast_read);
    }
  }
}

}  // namespace

size_t CheckFastArchAgainstReference(const fast::ArchOps& ops) {
  const Arch arch = ops.arch;
  for (int m = 0; m < kNumberOfRelocModes; ++m) {
    const auto mode = static_cast<RelocMode>(m);
    EXPECT_EQ(reference::ModeUsedOnTarget(arch, mode), ops.mode_used(mode))
        << RelocModeName(mode);
  }
  std::mt19937_64 rng(0x5eed0000 + static_cast<int>(arch));
  size_t compared = 0;
  for (const Code& code : CodeOf(arch)) {
    for (const PatchedSite& patched : code.sites) {
      const std::string where = absl::StrFormat(
          "%s %s pc 0x%x", code.where, RelocModeName(patched.mode),
          patched.site.pc);
      reference::Site ref_site;
      auto site = CompareLocate(ops, code.bytes, patched.site.pc, patched.mode,
                                code.constant_pool_offset, where, &ref_site);
      if (!site.has_value()) {
        ADD_FAILURE() << where << ": a site of a valid cache was rejected";
        continue;
      }
      EXPECT_EQ(site->tag, 0u) << "locate must not fill the tag";
      site->tag = patched.tag;
      EXPECT_EQ(ops.read_tag(code.bytes.data(), *site), patched.tag) << where;
      ++compared;
      if (compared % 3 == 0) {
        CompareWrites(ops, code.bytes, ref_site, *site, rng, where);
        if (::testing::Test::HasFatalFailure()) return compared;
      }
      // Other modes at the same pc.
      for (RelocMode mode : kPatchedModes) {
        reference::Site ignored;
        CompareLocate(ops, code.bytes, patched.site.pc, mode,
                      code.constant_pool_offset, where, &ignored);
      }
      // Bit flips around the site.
      for (int round = 0; round < 12; ++round) {
        std::vector<uint8_t> mutated = code.bytes;
        const int flips = 1 + static_cast<int>(rng() % 3);
        for (int i = 0; i < flips; ++i) {
          const int64_t lo = std::max<int64_t>(0, int64_t{patched.site.pc} - 8);
          const int64_t hi = std::min<int64_t>(
              static_cast<int64_t>(mutated.size()),
              int64_t{patched.site.pc} + 24);
          if (hi <= lo) break;
          const size_t at = lo + rng() % (hi - lo);
          mutated[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        reference::Site ignored;
        CompareLocate(ops, mutated, patched.site.pc, patched.mode,
                      code.constant_pool_offset, where + " (mutated)",
                      &ignored);
      }
      if (::testing::Test::HasFailure()) return compared;
    }
  }
  CompareSlots(ops, rng);
  return compared;
}

}  // namespace wasmcache::testing
