#include "proofs/prover.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proofs/forms.h"

namespace wasmcache::proofs {

const char* PropertyName(Property p) {
  switch (p) {
    case Property::kRoundTrip:
      return "round-trip";
    case Property::kExactRange:
      return "exact-range";
    case Property::kFrame:
      return "frame";
    case Property::kInjective:
      return "injective";
    case Property::kFastEqualsReference:
      return "fast=reference";
    case Property::kJumpTableReach:
      return "jump-table-reach";
    case Property::kSlotMapInverse:
      return "slot-map-inverse";
  }
  return "?";
}

const char* ImplName(Impl impl) {
  return impl == Impl::kReference ? "reference" : "fast";
}

const char* StatusName(Status s) {
  switch (s) {
    case Status::kProved:
      return "proved";
    case Status::kRefuted:
      return "refuted";
    case Status::kTimeout:
      return "timeout";
    case Status::kVacuous:
      return "vacuous";
  }
  return "?";
}

namespace {

constexpr const char* kWordNames[kMaxWords] = {"w0", "w1", "w2",
                                               "w3", "w4", "w5"};

// Named constants for every variable, and the same list as (name, term)
// pairs for reading a model.
struct Z3Vars {
  Vars<Z3Domain> vars;
  std::vector<std::pair<std::string, z3::expr>> named;
};

Vars<Z3Domain> Placeholder(z3::context& c);

Z3Vars MakeVars(z3::context& c) {
  Z3Vars v{Placeholder(c), {}};
  for (const char* name : kWordNames) {
    v.vars.w.push_back(c.bv_const(name, 32));
    v.named.emplace_back(name, v.vars.w.back());
  }
  z3::expr* u64[] = {&v.vars.site,  &v.vars.value,       &v.vars.value2,
                     &v.vars.base,  &v.vars.site_offset, &v.vars.table,
                     &v.vars.index, &v.vars.count,       &v.vars.offset};
  static_assert(std::size(kU64VarNames) == 9);
  for (int i = 0; i < 9; ++i) {
    *u64[i] = c.bv_const(kU64VarNames[i], 64);
    v.named.emplace_back(kU64VarNames[i], *u64[i]);
  }
  return v;
}

// Vars<Z3Domain> has no default constructor for z3::expr; build in place.
Vars<Z3Domain> Placeholder(z3::context& c) {
  const z3::expr zero = c.bv_val(0, 64);
  return {{}, zero, zero, zero, zero, zero, zero, zero, zero, zero};
}

uint64_t ModelValue(const z3::model& m, const z3::expr& e) {
  const z3::expr v = m.eval(e, /*model_completion=*/true);
  uint64_t out = 0;
  Z3_get_numeral_uint64(v.ctx(), v, &out);
  return out;
}

// Names of the variables an expression mentions.
void CollectNames(const z3::expr& e, std::set<std::string>& names,
                  std::set<unsigned>& seen) {
  if (!seen.insert(e.id()).second) return;
  if (e.is_const() && !e.is_numeral() && e.is_app() &&
      e.decl().decl_kind() == Z3_OP_UNINTERPRETED) {
    names.insert(e.decl().name().str());
    return;
  }
  if (e.is_app()) {
    for (unsigned i = 0; i < e.num_args(); ++i) {
      CollectNames(e.arg(i), names, seen);
    }
  }
}

std::string Smt2Path(const ObligationSpec& s) {
  // Letters, digits, '.', '=' and '-' kept; every other run becomes '_'.
  std::string form;
  for (char ch : s.form) {
    const bool keep = std::isalnum(static_cast<unsigned char>(ch)) ||
                      ch == '.' || ch == '-' || ch == '=';
    if (keep) {
      form += ch;
    } else if (form.empty() || form.back() != '_') {
      form += '_';
    }
  }
  return absl::StrCat(s.arch, "/", form, ".", s.property, ".", s.impl,
                      ".smt2");
}

}  // namespace

std::string Counterexample::ToString() const {
  std::string out;
  for (const auto& [name, value] : values) {
    absl::StrAppendFormat(&out, "%s%s=0x%x", out.empty() ? "" : " ", name,
                          value);
  }
  return out;
}

Vars<NativeDomain> Counterexample::ToVars() const {
  Vars<NativeDomain> v{};
  v.w.assign(kMaxWords, 0);
  for (const auto& [name, value] : values) {
    for (int i = 0; i < kMaxWords; ++i) {
      if (name == kWordNames[i]) v.w[i] = static_cast<uint32_t>(value);
    }
    uint64_t* u64[] = {&v.site,  &v.value,       &v.value2,
                       &v.base,  &v.site_offset, &v.table,
                       &v.index, &v.count,       &v.offset};
    for (int i = 0; i < 9; ++i) {
      if (name == kU64VarNames[i]) *u64[i] = value;
    }
  }
  return v;
}

Result Check(const ObligationSpec& spec, const ProveOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Result r;
  r.arch = spec.arch;
  r.form = spec.form;
  r.property = spec.property;
  r.impl = spec.impl;
  r.detail = spec.note;
  z3::context c;
  std::vector<z3::expr> branches;
  Z3Vars vars = MakeVars(c);
  Obligation<Z3Domain> ob{c.bool_val(true), c.bool_val(true)};
  {
    Z3Domain::Scope scope(c, &branches);
    ob = spec.z3(vars.vars);
  }
  z3::params params(c);
  params.set("timeout", options.timeout_ms);
  z3::solver s(c, "QF_BV");
  s.set(params);
  s.add(ob.premise);

  auto finish = [&](Status status) {
    r.status = status;
    r.seconds = std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    return r;
  };

  // Export first, so even an undecided obligation can be re-checked.
  if (!options.smt2_dir.empty()) {
    r.smt2_file = Smt2Path(spec);
    const std::filesystem::path path =
        std::filesystem::path(options.smt2_dir) / r.smt2_file;
    std::filesystem::create_directories(path.parent_path());
    z3::solver e(c, "QF_BV");
    e.add(ob.premise);
    e.add(!ob.conclusion);
    // Z3 leaves the logic out; a second solver needs it.
    std::ofstream(path) << "(set-logic QF_BV)\n" << e.to_smt2("unsat");
    // The premise alone, which must be satisfiable (non-vacuity).
    z3::solver premise(c, "QF_BV");
    premise.add(ob.premise);
    std::filesystem::path premise_path = path;
    premise_path.replace_extension(".premise.smt2");
    std::ofstream(premise_path) << "(set-logic QF_BV)\n"
                                << premise.to_smt2("sat");
  }

  // The premise must be satisfiable.
  const z3::check_result pre = s.check();
  if (pre == z3::unknown) {
    r.detail = "premise undecided";
    return finish(Status::kTimeout);
  }
  if (pre == z3::unsat) {
    r.detail = "premise unsatisfiable";
    return finish(Status::kVacuous);
  }
  // Every branch the encoders built must go both ways under the premise.
  std::set<unsigned> seen_branch;
  for (size_t i = 0; i < branches.size(); ++i) {
    if (!seen_branch.insert(branches[i].id()).second) continue;
    for (bool taken : {true, false}) {
      s.push();
      s.add(taken ? branches[i] : !branches[i]);
      const z3::check_result b = s.check();
      s.pop();
      if (b == z3::unknown) {
        r.detail = absl::StrCat("branch ", i, " undecided");
        return finish(Status::kTimeout);
      }
      if (b == z3::unsat) {
        r.detail = absl::StrCat("branch ", i, " (",
                                branches[i].to_string().substr(0, 120),
                                ") is never ", taken ? "taken" : "skipped",
                                " under the premise");
        return finish(Status::kVacuous);
      }
    }
  }
  s.add(!ob.conclusion);
  const z3::check_result main = s.check();
  if (main == z3::unknown) {
    r.detail = s.reason_unknown();
    return finish(Status::kTimeout);
  }
  if (main == z3::unsat) return finish(Status::kProved);

  // Refuted: read the variables the obligation mentions.
  std::set<std::string> names;
  std::set<unsigned> seen;
  CollectNames(ob.premise, names, seen);
  CollectNames(ob.conclusion, names, seen);
  const z3::model m = s.get_model();
  for (const auto& [name, term] : vars.named) {
    if (names.count(name) == 0) continue;
    r.counterexample.values.emplace_back(name, ModelValue(m, term));
  }
  r.detail = r.counterexample.ToString();
  const Obligation<NativeDomain> replay =
      spec.native(r.counterexample.ToVars());
  r.confirmed_natively = replay.premise && !replay.conclusion;
  if (!r.confirmed_natively) {
    r.detail += " (NOT reproduced natively: the domains disagree)";
  }
  return finish(Status::kRefuted);
}

std::vector<ObligationSpec> AllObligations(const std::vector<Arch>& archs) {
  std::vector<ObligationSpec> out;
  for (Arch arch : archs) {
    const std::string name(ArchName(arch));
    const auto z3_forms =
        std::make_shared<std::vector<Form<Z3Domain>>>(FormsOf<Z3Domain>(arch));
    const auto native_forms = std::make_shared<std::vector<Form<NativeDomain>>>(
        FormsOf<NativeDomain>(arch));
    for (size_t i = 0; i < z3_forms->size(); ++i) {
      const std::string form = (*z3_forms)[i].name;
      const bool decode_only = (*z3_forms)[i].decode_only;
      for (Property p : kFormProperties) {
        if (decode_only && p != Property::kFastEqualsReference) continue;
        for (Impl impl : {Impl::kReference, Impl::kFast}) {
          if (p == Property::kFastEqualsReference && impl == Impl::kFast) {
            continue;
          }
          const std::string note =
              p == Property::kExactRange && (*z3_forms)[i].value_domain
                  ? "value domain: " + (*z3_forms)[i].domain_note
                  : "";
          out.push_back(
              {name, form, PropertyName(p),
               p == Property::kFastEqualsReference ? "both" : ImplName(impl),
               note,
               [z3_forms, i, p, impl](const Vars<Z3Domain>& x) {
                 return FormObligation((*z3_forms)[i], p, impl, x);
               },
               [native_forms, i, p, impl](const Vars<NativeDomain>& x) {
                 return FormObligation((*native_forms)[i], p, impl, x);
               }});
        }
      }
    }
    const ArchProofSpec spec = ProofSpecOf(arch);
    const ArchTraits& t = TraitsOf(arch);
    for (const ReachSpec& reach : spec.reach) {
      const Form<Z3Domain>* zf = FindForm(*z3_forms, reach.form);
      const Form<NativeDomain>* nf = FindForm(*native_forms, reach.form);
      if (zf == nullptr || nf == nullptr) std::abort();  // a binding error
      for (Impl impl : {Impl::kReference, Impl::kFast}) {
        out.push_back({name, reach.name, PropertyName(Property::kJumpTableReach),
                       ImplName(impl), "",
                       [z3_forms, zf, spec, reach, &t,
                        impl](const Vars<Z3Domain>& x) {
                         return ReachObligation(t, spec, reach, *zf, impl, x);
                       },
                       [native_forms, nf, spec, reach, &t,
                        impl](const Vars<NativeDomain>& x) {
                         return ReachObligation(t, spec, reach, *nf, impl, x);
                       }});
      }
    }
    for (const auto& [table, g] :
         {std::pair<const char*, SlotGeometry>{"near slots", NearSlots(t)},
          std::pair<const char*, SlotGeometry>{"far slots", FarSlots(t)}}) {
      for (int direction : {0, 1}) {
        out.push_back(
            {name,
             absl::StrCat(table, direction == 0 ? ": index->offset->index"
                                                : ": offset->index->offset"),
             PropertyName(Property::kSlotMapInverse), "spec", "",
             [g = g, max = t.max_code_space_size, direction](const Vars<Z3Domain>& x) {
               return SlotMapObligation(g, max, direction, x);
             },
             [g = g, max = t.max_code_space_size, direction](const Vars<NativeDomain>& x) {
               return SlotMapObligation(g, max, direction, x);
             }});
      }
    }
  }
  return out;
}

std::vector<Result> CheckAll(const std::vector<ObligationSpec>& specs,
                             const ProveOptions& options) {
  std::vector<Result> results(specs.size());
  std::atomic<size_t> next{0};
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < specs.size(); i = next++) {
        results[i] = Check(specs[i], options);
      }
    });
  }
  for (std::thread& t : pool) t.join();
  return results;
}

std::string Z3Version() {
  unsigned major = 0, minor = 0, build = 0, revision = 0;
  Z3_get_version(&major, &minor, &build, &revision);
  return absl::StrFormat("%u.%u.%u", major, minor, build);
}

}  // namespace wasmcache::proofs
