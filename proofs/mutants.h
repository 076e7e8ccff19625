// Mutants: deliberately wrong encoders the prover must refute.
//
// Each mutant is a real form (or slot map) with one part replaced by a
// plausible mistake. The prover checks the property the mistake breaks; a
// mutant counts as refuted only when Z3 finds a counterexample, the native
// instantiation of the mutant fails on it too, and the real encoder holds
// on it. The counterexamples are kept in proofs/regressions.tsv and replayed
// against the real encoders by tests/proofs_test.cc.

#ifndef WASMCACHE_PROOFS_MUTANTS_H_
#define WASMCACHE_PROOFS_MUTANTS_H_

#include <string>
#include <vector>

#include "proofs/prover.h"

namespace wasmcache::proofs {

struct Mutant {
  std::string name;
  std::string description;
  ObligationSpec mutant;  // the property on the mutated encoder
  ObligationSpec real;    // the same property on the shipped encoder
};

std::vector<Mutant> AllMutants();

struct MutantResult {
  std::string name;
  std::string description;
  Result result;  // of the mutant's obligation
  // The shipped encoder satisfies the property on the counterexample.
  bool real_holds = false;
  bool refuted() const {
    return result.status == Status::kRefuted && result.confirmed_natively &&
           real_holds;
  }
};

std::vector<MutantResult> CheckMutants(const std::vector<Mutant>& mutants,
                                       const ProveOptions& options);

// Whether `spec`'s property holds, natively, at `values`.
bool HoldsNatively(const ObligationSpec& spec, const Counterexample& values);

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_MUTANTS_H_
