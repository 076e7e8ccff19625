// ppc64: the fast target operations agree with the reference codec.

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "reference/relocation.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

// The synthesized ppc64 corpus gives about 4800 sites: mov sequences of all
// three kinds, ld pool loads and INTERNAL_REFERENCE fields.
TEST(FastArchPpc64Test, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kPpc64Ops), 4000u);
}

constexpr RelocMode kModes[] = {
    RelocMode::kWasmCall,           RelocMode::kWasmStubCall,
    RelocMode::kExternalReference,  RelocMode::kInternalReference,
    RelocMode::kInternalReferenceEncoded, RelocMode::kWasmCanonicalSigId,
    RelocMode::kWasmCodePointerTableEntry};

void PutWord(std::vector<uint8_t>& code, size_t at, uint32_t word) {
  for (int i = 0; i < 4 && at + i < code.size(); ++i) {
    code[at + i] = static_cast<uint8_t>(word >> (8 * i));
  }
}

// Both locate every mode at `pc` alike; where they accept, they read the
// same tag and write the same bytes. Returns the fast site's reader size
// (0 if rejected or not a pool slot).
int CompareAt(const std::vector<uint8_t>& code, uint32_t pc, uint32_t cpo,
              std::mt19937_64& rng) {
  int reader = 0;
  for (RelocMode mode : kModes) {
    const reference::RelocEntry entry{mode, pc, 0};
    auto ref = reference::LocateSite(Arch::kPpc64, code, entry, 0, cpo);
    fast::Site site;
    const char* why = nullptr;
    const bool ok = fast::kPpc64Ops.locate(
        code.data(), static_cast<uint32_t>(code.size()), pc, mode, cpo, &site,
        &why);
    const std::string where = std::string(RelocModeName(mode)) + " pc " +
                              std::to_string(pc) + " cpo " +
                              std::to_string(cpo);
    EXPECT_EQ(ref.ok(), ok) << where << ": " << ref.status() << " / "
                            << (why ? why : "ok");
    if (!ref.ok() || !ok) continue;
    EXPECT_EQ(ref->field_offset, site.field_offset) << where;
    EXPECT_EQ(ref->field_size, site.field_size) << where;
    EXPECT_EQ(ref->pool_slot ? ref->instruction_size : 0u, site.reader_size)
        << where;
    EXPECT_EQ(site.tag, 0u) << where;
    reader = site.reader_size;
    EXPECT_EQ(reference::ReadTag(Arch::kPpc64, code.data(), *ref),
              fast::kPpc64Ops.read_tag(code.data(), site))
        << where;
    // INTERNAL_REFERENCE is a plain field at every pc; the harness writes it.
    if (mode == RelocMode::kInternalReference) continue;
    const uint64_t code_address = 0x00007f0000000000 + (rng() & 0xffff0000);
    for (uint64_t value : {uint64_t{0}, uint64_t{0xffffffff},
                           uint64_t{0x100000000}, uint64_t{rng()},
                           uint64_t{rng() & 0xffffffff}}) {
      std::vector<uint8_t> a = code, b = code;
      EXPECT_EQ(reference::WriteTarget(Arch::kPpc64, a.data(), code_address,
                                       *ref, value),
                fast::kPpc64Ops.write_target(b.data(), code_address, site,
                                             value))
          << where;
      EXPECT_EQ(a, b) << where;
      EXPECT_EQ(reference::ReadTarget(Arch::kPpc64, a.data(), code_address,
                                      *ref),
                fast::kPpc64Ops.read_target(b.data(), code_address, site))
          << where;
      a = code;
      b = code;
      const bool fits = reference::WriteTag(Arch::kPpc64, a.data(), *ref,
                                            value);
      EXPECT_EQ(fits, fast::kPpc64Ops.tag_fits(site, value)) << where;
      if (fits) fast::kPpc64Ops.write_tag(b.data(), site, value);
      EXPECT_EQ(a, b) << where;
    }
  }
  return reader;
}

// The corpus never needs `addis rT, r28, h; ld rT, l(rT)` (its pools are
// small), nor code that ends inside a sequence: plant pool loads and mov
// sequences in random code, with displacements whose halves carry into
// each other, and compare around them and at the end of the code.
TEST(FastArchPpc64Test, PlantedPoolLoadsAndEdgesAgreeWithReference) {
  std::mt19937_64 rng(0x99c64);
  int addis_ld = 0, ld = 0, carried = 0;
  for (int round = 0; round < 3000; ++round) {
    const bool large = round % 8 == 0;
    std::vector<uint8_t> code(large ? 0x9000 + rng() % 64 : rng() % 96);
    for (uint8_t& byte : code) byte = static_cast<uint8_t>(rng());
    if (code.size() < 4) {
      for (uint32_t pc = 0; pc < 8; ++pc) CompareAt(code, pc, 0, rng);
      continue;
    }
    const uint32_t size = static_cast<uint32_t>(code.size());
    const uint32_t pc = static_cast<uint32_t>(rng() % size) & ~3u;
    const uint32_t rt = static_cast<uint32_t>(rng() % 32);
    // Large code: a pool past 32 KiB of it, so the ld half is negative and
    // addis carries. Small code: a displacement that lands near the code
    // (8-aligned mostly), or anywhere.
    uint32_t cpo;
    int64_t want;
    if (large) {
      cpo = static_cast<uint32_t>(rng() % 256) & ~7u;
      want = 0x8000 + static_cast<int64_t>(rng() % (size - 0x8000 - 256));
    } else {
      const uint32_t pool = static_cast<uint32_t>(rng() % (size + 8)) & ~7u;
      cpo = rng() % 8 == 0 ? reference::kNoConstantPool : pool;
      want = rng() % 8 == 0 ? static_cast<int32_t>(rng())
                            : static_cast<int64_t>(rng() % (size + 24 - pool)) -
                                  16;
    }
    if (rng() % 8 != 0) want &= ~int64_t{7};
    const uint32_t lo = static_cast<uint32_t>(want) & 0xffff;
    // sext(lo) + (hi << 16) == want, hi taking the carry of a negative lo.
    const uint32_t hi =
        static_cast<uint32_t>((want - static_cast<int16_t>(lo)) >> 16) &
        0xffff;
    switch (rng() % 4) {
      case 0:
      case 1: {
        // ld names rT, or now and then another register; its DS field keeps
        // the low bits 00, or now and then not.
        const uint32_t ld_rt =
            rng() % 6 == 0 ? static_cast<uint32_t>(rng() % 32) : rt;
        const uint32_t ld_lo = rng() % 6 == 0 ? lo : lo & ~3u;
        PutWord(code, pc, 0x3c1c0000 | rt << 21 | hi);
        PutWord(code, pc + 4, 0xe8000000 | ld_rt << 21 | rt << 16 | ld_lo);
        break;
      }
      case 2:
        PutWord(code, pc, 0xe81c0000 | rt << 21 | (lo & ~3u));
        break;
      case 3: {
        const uint32_t rd_twice = rt << 21 | rt << 16;
        PutWord(code, pc, 0x3c000000 | rt << 21 | (rng() & 0xffff));
        PutWord(code, pc + 4, 0x60000000 | rd_twice | (rng() & 0xffff));
        PutWord(code, pc + 8, 0x780007c6 | rd_twice);
        PutWord(code, pc + 12, 0x64000000 | rd_twice | (rng() & 0xffff));
        PutWord(code, pc + 16, 0x60000000 | rd_twice | (rng() & 0xffff));
        break;
      }
    }
    if (rng() % 4 == 0) {
      const uint32_t at = pc + rng() % std::min<uint32_t>(20, size - pc);
      code[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    for (uint32_t at = pc >= 4 ? pc - 4 : 0; at < pc + 6; ++at) {
      const int reader = CompareAt(code, at, cpo, rng);
      addis_ld += reader == 8;
      carried += reader == 8 && at == pc && (lo & 0x8000) != 0;
      ld += reader == 4;
    }
    for (uint32_t at = size >= 24 ? size - 24 : 0; at < size + 6; ++at) {
      CompareAt(code, at, cpo, rng);
    }
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(addis_ld, 200);
  EXPECT_GT(ld, 100);
  EXPECT_GT(carried, 50);
  std::printf("pool loads compared: %d addis+ld (%d with a carry), %d ld\n",
              addis_ld, carried, ld);
}

}  // namespace
}  // namespace wasmcache
