// The prover: every property of every form of every architecture, the
// jump-table reach and slot-map obligations, and the mutants, each checked
// with Z3 and exported as SMT-LIB2.
//
// An obligation "premise => conclusion" is
//   proved    when premise /\ not conclusion is unsatisfiable, the premise
//             is satisfiable and every Select the encoders built can go both
//             ways under the premise;
//   vacuous   when the premise is unsatisfiable or some Select can go only
//             one way (the proof would say nothing about that branch);
//   refuted   when premise /\ not conclusion has a model: the model is the
//             counterexample, replayed with the native instantiation of the
//             same templates (NativeDomain) to confirm it;
//   timeout   when Z3 answers unknown within the time limit.

#ifndef WASMCACHE_PROOFS_PROVER_H_
#define WASMCACHE_PROOFS_PROVER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "proofs/properties.h"
#include "proofs/z3_domain.h"
#include "spec/arch.h"

namespace wasmcache::proofs {

enum class Status : uint8_t { kProved, kRefuted, kTimeout, kVacuous };
const char* StatusName(Status s);

// Variable values of a counterexample, by name ("w0".."w5", "site", ...).
struct Counterexample {
  std::vector<std::pair<std::string, uint64_t>> values;
  std::string ToString() const;
  Vars<NativeDomain> ToVars() const;
};

// One obligation in both domains.
struct ObligationSpec {
  std::string arch, form, property, impl;
  std::string note;  // an assumption of this obligation worth reporting
  std::function<Obligation<Z3Domain>(const Vars<Z3Domain>&)> z3;
  std::function<Obligation<NativeDomain>(const Vars<NativeDomain>&)> native;
};

struct Result {
  std::string arch, form, property, impl;
  Status status = Status::kTimeout;
  double seconds = 0;
  std::string detail;  // counterexample, vacuity reason, or the spec's note
  Counterexample counterexample;
  // Refuted: the counterexample, run natively, also violates the property.
  bool confirmed_natively = false;
  std::string smt2_file;  // relative to the smt2 directory
};

struct ProveOptions {
  std::vector<Arch> archs;  // empty: all
  std::string smt2_dir;     // empty: no export
  unsigned timeout_ms = 60000;
  int threads = 0;  // 0: the hardware's
};

// Checks one obligation in a fresh context.
Result Check(const ObligationSpec& spec, const ProveOptions& options);

// Every obligation of `archs`, in report order.
std::vector<ObligationSpec> AllObligations(const std::vector<Arch>& archs);

// Checks `specs` on a pool of threads (one Z3 context each); results in
// the order of `specs`.
std::vector<Result> CheckAll(const std::vector<ObligationSpec>& specs,
                             const ProveOptions& options);

std::string Z3Version();

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_PROVER_H_
