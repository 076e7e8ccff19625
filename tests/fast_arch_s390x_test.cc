// s390x: the fast target operations agree with the reference codec.

#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "reference/relocation.h"
#include "tests/fast_arch_harness.h"

namespace wasmcache {
namespace {

// The synthesized s390x corpus gives about 5400 sites: iihf + iilf pairs of
// both kinds and INTERNAL_REFERENCE fields.
TEST(FastArchS390xTest, AgreesWithReference) {
  EXPECT_GT(testing::CheckFastArchAgainstReference(fast::kS390xOps), 4500u);
}

constexpr RelocMode kModes[] = {
    RelocMode::kWasmCall,           RelocMode::kWasmStubCall,
    RelocMode::kExternalReference,  RelocMode::kInternalReference,
    RelocMode::kInternalReferenceEncoded, RelocMode::kWasmCanonicalSigId,
    RelocMode::kWasmCodePointerTableEntry};

// The corpus has its sites at even pcs well inside the code: sweep every pc
// (odd ones and those where a pair would run past the end) of short random
// code holding planted pairs, pairs of two registers, and brcl/brasl heads.
// Both must accept the same sites and, for the pairs, agree on reading and
// writing them.
TEST(FastArchS390xTest, EveryPcOfPlantedCodeAgreesWithReference) {
  std::mt19937_64 rng(0x5390);
  int pairs = 0;
  for (int round = 0; round < 1500; ++round) {
    std::vector<uint8_t> code(rng() % 40);
    for (uint8_t& byte : code) byte = static_cast<uint8_t>(rng());
    for (size_t at = rng() % 4; at + 1 < code.size(); at += 2 + rng() % 8) {
      const uint8_t r1 = static_cast<uint8_t>(rng() % 16);
      switch (rng() % 4) {
        case 0:  // iihf r1 ; iilf r1 (or another register)
          code[at] = 0xc0;
          code[at + 1] = static_cast<uint8_t>(r1 << 4 | 8);
          if (at + 7 < code.size()) {
            code[at + 6] = 0xc0;
            code[at + 7] = static_cast<uint8_t>(
                (rng() % 5 == 0 ? rng() % 16 : r1) << 4 | 9);
          }
          break;
        case 1:  // brcl m / brasl r1
          code[at] = 0xc0;
          code[at + 1] = static_cast<uint8_t>(r1 << 4 | (4 + rng() % 2));
          break;
        default:
          break;
      }
    }
    const uint32_t size = static_cast<uint32_t>(code.size());
    for (uint32_t pc = 0; pc < size + 4; ++pc) {
      for (RelocMode mode : kModes) {
        const reference::RelocEntry entry{mode, pc, 0};
        auto ref = reference::LocateSite(Arch::kS390x, code, entry, 0);
        fast::Site site;
        const char* why = nullptr;
        const bool ok = fast::kS390xOps.locate(
            code.data(), size, pc, mode, reference::kNoConstantPool, &site,
            &why);
        const std::string where =
            std::string(RelocModeName(mode)) + " pc " + std::to_string(pc);
        ASSERT_EQ(ref.ok(), ok) << where << ": " << ref.status() << " / "
                                << (why ? why : "ok");
        if (!ok) continue;
        ASSERT_EQ(ref->field_offset, site.field_offset) << where;
        ASSERT_EQ(ref->field_size, site.field_size) << where;
        ASSERT_EQ(site.reader_size, 0) << where;
        ASSERT_EQ(site.tag, 0u) << where;
        ASSERT_EQ(reference::ReadTag(Arch::kS390x, code.data(), *ref),
                  fast::kS390xOps.read_tag(code.data(), site))
            << where;
        if (mode == RelocMode::kInternalReference) continue;
        ++pairs;
        const uint64_t code_address = 0x000003ff00000000 + (rng() & 0xfffffffe);
        for (uint64_t value : {uint64_t{rng()}, uint64_t{rng() & 0xffffffff},
                               uint64_t{0x100000000}}) {
          std::vector<uint8_t> a = code, b = code;
          ASSERT_EQ(reference::WriteTarget(Arch::kS390x, a.data(),
                                           code_address, *ref, value),
                    fast::kS390xOps.write_target(b.data(), code_address, site,
                                                 value))
              << where;
          ASSERT_EQ(a, b) << where;
          ASSERT_EQ(reference::ReadTarget(Arch::kS390x, a.data(),
                                          code_address, *ref),
                    fast::kS390xOps.read_target(b.data(), code_address, site))
              << where;
        }
      }
    }
  }
  EXPECT_GT(pairs, 500);
}

}  // namespace
}  // namespace wasmcache
