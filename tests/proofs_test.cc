// The proofs' own checks:
//   - Z3Domain means what NativeDomain means: every form of every target,
//     built as Z3 terms over constants and simplified, gives the native
//     result on random inputs (so a proof about the terms is a proof about
//     the code the library runs);
//   - the prover reports a false property as refuted, an unsatisfiable
//     premise and a one-way branch as vacuous, and a true property as
//     proved;
//   - every mutant's counterexample in proofs/regressions.tsv fails the
//     mutant and holds for the shipped encoder.

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "proofs/forms.h"
#include "proofs/mutants.h"
#include "proofs/prover.h"

namespace wasmcache::proofs {
namespace {

uint64_t Numeral(const z3::expr& e) {
  const z3::expr v = e.simplify();
  uint64_t out = 0;
  EXPECT_TRUE(v.is_numeral()) << v.to_string();
  Z3_get_numeral_uint64(v.ctx(), v, &out);
  return out;
}

bool Truth(const z3::expr& e) {
  const z3::expr v = e.simplify();
  EXPECT_TRUE(v.is_true() || v.is_false()) << v.to_string();
  return v.is_true();
}

// Interesting 64-bit values: edges of every power of two, and random ones.
uint64_t Draw(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: {
      const int bit = static_cast<int>(rng() % 64);
      const int64_t delta = static_cast<int64_t>(rng() % 5) - 2;
      const uint64_t edge = uint64_t{1} << bit;
      return (rng() % 2 ? edge : 0 - edge) + static_cast<uint64_t>(delta);
    }
    case 1:
      return rng() & 0xffffffff;
    default:
      return rng();
  }
}

class DomainTest : public testing::TestWithParam<Arch> {};

TEST_P(DomainTest, Z3TermsEvaluateLikeTheNativeCode) {
  const Arch arch = GetParam();
  z3::context c;
  Z3Domain::Scope scope(c);
  const std::vector<Form<Z3Domain>> zforms = FormsOf<Z3Domain>(arch);
  const std::vector<Form<NativeDomain>> nforms = FormsOf<NativeDomain>(arch);
  ASSERT_EQ(zforms.size(), nforms.size());
  std::mt19937_64 rng(static_cast<uint64_t>(arch) + 1);
  int compared = 0;
  for (size_t f = 0; f < zforms.size(); ++f) {
    const Form<Z3Domain>& z = zforms[f];
    const Form<NativeDomain>& n = nforms[f];
    ASSERT_EQ(z.name, n.name);
    ASSERT_EQ(z.field_masks.size(), static_cast<size_t>(z.num_words));
    for (int trial = 0; trial < 300; ++trial) {
      Words<NativeDomain> nw;
      Words<Z3Domain> zw;
      for (int i = 0; i < n.num_words; ++i) {
        nw.push_back(static_cast<uint32_t>(Draw(rng)));
        zw.push_back(c.bv_val(nw.back(), 32));
      }
      const uint64_t site = Draw(rng), value = Draw(rng);
      const z3::expr zsite = c.bv_val(site, 64), zvalue = c.bv_val(value, 64);
      SCOPED_TRACE(testing::Message()
                   << z.arch << " " << z.name << " site=0x" << std::hex
                   << site << " value=0x" << value);
      EXPECT_EQ(Truth(z.shape(zw)), n.shape(nw));
      ASSERT_EQ(static_cast<bool>(z.fast_shape),
                static_cast<bool>(n.fast_shape));
      if (z.fast_shape) {
        EXPECT_EQ(Truth(z.fast_shape(zw)), n.fast_shape(nw));
      }
      EXPECT_EQ(Truth(z.site_ok(zsite)), n.site_ok(site));
      for (Impl impl : {Impl::kReference, Impl::kFast}) {
        const FormImpl<Z3Domain>& zi = ImplOf(z, impl);
        const FormImpl<NativeDomain>& ni = ImplOf(n, impl);
        EXPECT_EQ(Numeral(zi.decode(zw, zsite)), ni.decode(nw, site));
        ++compared;
        if (z.decode_only) continue;
        EXPECT_EQ(Truth(zi.accept(zsite, zvalue)), ni.accept(site, value));
        const Words<Z3Domain> ze = zi.encode(zw, zsite, zvalue);
        const Words<NativeDomain> ne = ni.encode(nw, site, value);
        ASSERT_EQ(ze.size(), ne.size());
        for (size_t i = 0; i < ne.size(); ++i) {
          EXPECT_EQ(Numeral(ze[i]), ne[i]) << "word " << i;
        }
      }
    }
  }
  EXPECT_FALSE(zforms.empty()) << "no forms bound for this target";
  EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(
    AllTargets, DomainTest,
    testing::Values(Arch::kX64, Arch::kIa32, Arch::kArm64, Arch::kArm,
                    Arch::kRiscv64, Arch::kRiscv32, Arch::kMips64,
                    Arch::kPpc64, Arch::kS390x, Arch::kLoong64),
    [](const testing::TestParamInfo<Arch>& info) {
      return std::string(ArchName(info.param));
    });

ObligationSpec Spec(
    std::function<Obligation<Z3Domain>(const Vars<Z3Domain>&)> z3,
    std::function<Obligation<NativeDomain>(const Vars<NativeDomain>&)>
        native) {
  return {"test", "form", "property", "impl", "", std::move(z3),
          std::move(native)};
}

TEST(ProverTest, AFalsePropertyIsRefutedWithACounterexampleReplayedNatively) {
  // x + 1 > x fails at the top of the range.
  const Result r = Check(
      Spec([](const Vars<Z3Domain>& x) {
             return Obligation<Z3Domain>{
                 Z3Domain::True(),
                 Z3Domain::Ult(x.value, Z3Domain::Add(x.value,
                                                      Z3Domain::C64(1)))};
           },
           [](const Vars<NativeDomain>& x) {
             return Obligation<NativeDomain>{true, x.value < x.value + 1};
           }),
      {});
  EXPECT_EQ(r.status, Status::kRefuted);
  EXPECT_TRUE(r.confirmed_natively);
  ASSERT_EQ(r.counterexample.values.size(), 1u);
  EXPECT_EQ(r.counterexample.values[0].first, "value");
  EXPECT_EQ(r.counterexample.values[0].second, ~uint64_t{0});
}

TEST(ProverTest, AnUnsatisfiablePremiseIsVacuousNotProved) {
  const Result r = Check(
      Spec([](const Vars<Z3Domain>& x) {
             return Obligation<Z3Domain>{
                 Z3Domain::Ult(x.value, Z3Domain::C64(0)),
                 Z3Domain::Eq(x.value, Z3Domain::C64(7))};
           },
           [](const Vars<NativeDomain>& x) {
             return Obligation<NativeDomain>{x.value < 0, x.value == 7};
           }),
      {});
  EXPECT_EQ(r.status, Status::kVacuous);
  EXPECT_EQ(r.detail, "premise unsatisfiable");
}

TEST(ProverTest, ABranchThePremiseExcludesIsVacuous) {
  // Under value < 10 the Select's "else" side is unreachable.
  using D = Z3Domain;
  const Result r = Check(
      Spec([](const Vars<D>& x) {
             const D::Bool small = D::Ult(x.value, D::C64(10));
             const D::U64 v = D::Select(small, x.value, D::C64(0));
             return Obligation<D>{small, D::Eq(v, x.value)};
           },
           [](const Vars<NativeDomain>& x) {
             return Obligation<NativeDomain>{x.value < 10, true};
           }),
      {});
  EXPECT_EQ(r.status, Status::kVacuous);
  EXPECT_NE(r.detail.find("never skipped"), std::string::npos) << r.detail;
}

TEST(ProverTest, ATruePropertyWithReachableBranchesIsProved) {
  using D = Z3Domain;
  const Result r = Check(
      Spec([](const Vars<D>& x) {
             const D::Bool small = D::Ult(x.value, D::C64(10));
             const D::U64 v = D::Select(small, x.value, D::C64(10));
             return Obligation<D>{D::True(),
                                  D::Ult(v, D::C64(11))};
           },
           [](const Vars<NativeDomain>& x) {
             return Obligation<NativeDomain>{true,
                                             std::min<uint64_t>(x.value, 10) <
                                                 11};
           }),
      {});
  EXPECT_EQ(r.status, Status::kProved) << r.detail;
}

// proofs/regressions.tsv: mutant, arch, form, property, impl, values.
TEST(MutantRegressionTest, EveryCounterexampleFailsTheMutantAndNotTheEncoder) {
  std::ifstream in(std::string(WASMCACHE_SOURCE_DIR) +
                   "/proofs/regressions.tsv");
  ASSERT_TRUE(in) << "proofs/regressions.tsv is missing";
  std::map<std::string, Mutant> mutants;
  for (Mutant& m : AllMutants()) mutants.emplace(m.name, std::move(m));
  std::map<std::string, int> seen;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> cols = absl::StrSplit(line, '\t');
    ASSERT_EQ(cols.size(), 6u) << line;
    const auto it = mutants.find(cols[0]);
    ASSERT_NE(it, mutants.end()) << "unknown mutant " << cols[0];
    const Mutant& m = it->second;
    EXPECT_EQ(cols[1], m.real.arch);
    EXPECT_EQ(cols[2], m.real.form);
    EXPECT_EQ(cols[3], m.real.property);
    Counterexample cex;
    for (absl::string_view pair : absl::StrSplit(cols[5], ' ')) {
      const std::vector<std::string> kv = absl::StrSplit(pair, '=');
      ASSERT_EQ(kv.size(), 2u) << pair;
      uint64_t value = 0;
      ASSERT_TRUE(absl::SimpleHexAtoi(kv[1], &value)) << pair;
      cex.values.emplace_back(kv[0], value);
    }
    SCOPED_TRACE(line);
    EXPECT_TRUE(HoldsNatively(m.real, cex)) << "the shipped encoder fails";
    EXPECT_FALSE(HoldsNatively(m.mutant, cex)) << "the mutant passes";
    ++seen[m.name];
  }
  for (const auto& [name, m] : mutants) {
    EXPECT_EQ(seen[name], 1) << name << " has no regression line";
  }
}

}  // namespace
}  // namespace wasmcache::proofs
