// wasmcache prove [--arch A] [--smt2-dir D] [--recheck cvc5] [--json]
//                 [--timeout S] [--threads N] [--write-regressions F]
//
// Proves every property of every relocation form (proofs/prover.h), refutes
// every mutant, and prints the matrix: architecture x form x property ->
// proved / refuted / timeout / vacuous, with times and totals. With
// --smt2-dir each obligation (and its premise, which must be satisfiable) is
// written as SMT-LIB2; --recheck names a second solver's command line
// (cvc5) that re-checks every exported file and must agree with Z3. Exits 0
// only if everything is proved, every mutant refuted and every re-check
// agrees.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proofs/mutants.h"
#include "proofs/prover.h"
#include "tools/wasmcache/commands.h"

namespace wasmcache {
namespace {

using proofs::MutantResult;
using proofs::Result;
using proofs::Status;

int Usage() {
  std::fprintf(stderr,
               "usage: wasmcache prove [--arch A] [--smt2-dir D] "
               "[--recheck cvc5] [--json] [--timeout SECONDS] [--threads N] "
               "[--write-regressions FILE]\n");
  return 2;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out;
}

// Runs `command` and returns its standard output.
std::string RunCapture(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    out.append(buffer.data(), n);
  }
  pclose(pipe);
  return out;
}

std::string FirstLine(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

// One re-check: a file and the answer Z3 gave for it.
struct Recheck {
  std::string file;
  std::string expected;  // "sat" or "unsat"
  std::string answer;    // the second solver's
  double seconds = 0;
};

void RunRechecks(const std::string& solver, const std::string& dir,
                 std::vector<Recheck>& checks, int threads,
                 unsigned timeout_ms) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < checks.size(); i = next++) {
        const auto start = std::chrono::steady_clock::now();
        const std::string path = (std::filesystem::path(dir) / checks[i].file);
        checks[i].answer = FirstLine(RunCapture(absl::StrCat(
            solver, " --lang=smt2 --tlimit=", timeout_ms, " '", path,
            "' 2>&1")));
        checks[i].seconds = std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start)
                                .count();
      }
    });
  }
  for (std::thread& t : pool) t.join();
}

// Writes each refuted mutant's counterexample, one per line:
// mutant <TAB> arch <TAB> form <TAB> property <TAB> impl <TAB> name=0x...
bool WriteRegressions(const std::string& path,
                      const std::vector<MutantResult>& mutants) {
  std::ofstream out(path);
  out << "# Counterexamples that refute the mutants of proofs/mutants.cc,\n"
         "# written by `wasmcache prove --write-regressions`. "
         "tests/proofs_test.cc\n"
         "# replays each against the shipped encoder (which must hold) and "
         "the mutant\n# (which must fail).\n";
  for (const MutantResult& m : mutants) {
    if (!m.refuted()) continue;
    out << m.name << '\t' << m.result.arch << '\t' << m.result.form << '\t'
        << m.result.property << '\t' << m.result.impl << '\t'
        << m.result.counterexample.ToString() << '\n';
  }
  return static_cast<bool>(out);
}

}  // namespace

int ProveMain(int argc, char** argv) {
  proofs::ProveOptions options;
  bool json = false;
  std::string recheck_solver;
  std::string regressions_path;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    if (a == "--json") {
      json = true;
    } else if (a == "--arch") {
      const char* v = value();
      const auto arch = v ? ParseArch(v) : std::nullopt;
      if (!arch) return Usage();
      options.archs.push_back(*arch);
    } else if (a == "--smt2-dir") {
      const char* v = value();
      if (!v) return Usage();
      options.smt2_dir = v;
    } else if (a == "--recheck") {
      const char* v = value();
      if (!v) return Usage();
      recheck_solver = v;
    } else if (a == "--timeout") {
      const char* v = value();
      if (!v) return Usage();
      options.timeout_ms = static_cast<unsigned>(std::atof(v) * 1000);
    } else if (a == "--threads") {
      const char* v = value();
      if (!v) return Usage();
      options.threads = std::atoi(v);
    } else if (a == "--write-regressions") {
      const char* v = value();
      if (!v) return Usage();
      regressions_path = v;
    } else {
      return Usage();
    }
  }
  if (!recheck_solver.empty() && options.smt2_dir.empty()) {
    std::fprintf(stderr, "--recheck needs --smt2-dir\n");
    return 2;
  }
  if (options.archs.empty()) {
    for (const ArchTraits& t : kArchTraits) options.archs.push_back(t.arch);
  }
  if (!options.smt2_dir.empty()) {
    std::filesystem::remove_all(options.smt2_dir);
    std::filesystem::create_directories(options.smt2_dir);
  }

  const auto start = std::chrono::steady_clock::now();
  const std::vector<proofs::ObligationSpec> specs =
      proofs::AllObligations(options.archs);
  const std::vector<Result> results = proofs::CheckAll(specs, options);
  std::vector<proofs::Mutant> mutants;
  for (proofs::Mutant& m : proofs::AllMutants()) {
    for (Arch arch : options.archs) {
      if (m.mutant.arch == ArchName(arch)) mutants.push_back(std::move(m));
    }
  }
  const std::vector<MutantResult> mutant_results =
      proofs::CheckMutants(mutants, options);
  const double z3_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  // Re-check every exported obligation and premise with the second solver.
  std::vector<Recheck> rechecks;
  std::string recheck_version;
  if (!recheck_solver.empty()) {
    recheck_version =
        FirstLine(RunCapture(absl::StrCat(recheck_solver, " --version 2>&1")));
    // cvc5 says "This is cvc5 version 1.0.3".
    const std::string prefix = "This is ";
    if (recheck_version.rfind(prefix, 0) == 0) {
      recheck_version = recheck_version.substr(prefix.size());
    }
    for (const Result& r : results) {
      if (r.smt2_file.empty()) continue;
      if (r.status == Status::kProved) {
        rechecks.push_back({r.smt2_file, "unsat", {}});
      } else if (r.status == Status::kRefuted) {
        rechecks.push_back({r.smt2_file, "sat", {}});
      }
      if (r.status == Status::kProved || r.status == Status::kRefuted) {
        rechecks.push_back({r.smt2_file.substr(0, r.smt2_file.size() - 5) +
                                ".premise.smt2",
                            "sat", {}});
      }
    }
    // The second solver gets five times Z3's limit: it bit-blasts the
    // 64-bit divisions of the slot maps more slowly.
    RunRechecks(recheck_solver, options.smt2_dir, rechecks,
                std::max(1u, std::thread::hardware_concurrency()),
                5 * options.timeout_ms);
  }
  const double total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  std::map<Status, int> counts;
  for (const Result& r : results) ++counts[r.status];
  int mutants_refuted = 0;
  for (const MutantResult& m : mutant_results) mutants_refuted += m.refuted();
  int recheck_agree = 0;
  for (const Recheck& c : rechecks) recheck_agree += c.answer == c.expected;
  const bool ok = counts[Status::kProved] == static_cast<int>(results.size()) &&
                  mutants_refuted == static_cast<int>(mutant_results.size()) &&
                  recheck_agree == static_cast<int>(rechecks.size());

  if (!regressions_path.empty() &&
      !WriteRegressions(regressions_path, mutant_results)) {
    std::fprintf(stderr, "cannot write %s\n", regressions_path.c_str());
    return 1;
  }

  const std::string solver = absl::StrCat("z3 ", proofs::Z3Version());
  if (json) {
    std::printf("{\"solver\": \"%s\", \"recheck_solver\": \"%s\",\n",
                JsonEscape(solver).c_str(),
                JsonEscape(recheck_version).c_str());
    std::printf(" \"results\": [\n");
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      std::printf(
          "  {\"arch\": \"%s\", \"form\": \"%s\", \"property\": \"%s\", "
          "\"impl\": \"%s\", \"status\": \"%s\", \"seconds\": %.4f, "
          "\"detail\": \"%s\"}%s\n",
          r.arch.c_str(), JsonEscape(r.form).c_str(), r.property.c_str(),
          r.impl.c_str(), proofs::StatusName(r.status), r.seconds,
          JsonEscape(r.detail).c_str(), i + 1 < results.size() ? "," : "");
    }
    std::printf(" ],\n \"mutants\": [\n");
    for (size_t i = 0; i < mutant_results.size(); ++i) {
      const MutantResult& m = mutant_results[i];
      std::printf(
          "  {\"name\": \"%s\", \"status\": \"%s\", \"property\": \"%s\", "
          "\"counterexample\": \"%s\", \"shipped_encoder_holds\": %s, "
          "\"seconds\": %.4f}%s\n",
          m.name.c_str(),
          m.refuted() ? "refuted" : proofs::StatusName(m.result.status),
          m.result.property.c_str(),
          JsonEscape(m.result.counterexample.ToString()).c_str(),
          m.real_holds ? "true" : "false", m.result.seconds,
          i + 1 < mutant_results.size() ? "," : "");
    }
    std::printf(" ],\n \"rechecks\": %zu, \"recheck_agreements\": %d,\n",
                rechecks.size(), recheck_agree);
    std::printf(
        " \"totals\": {\"obligations\": %zu, \"proved\": %d, \"refuted\": %d, "
        "\"timeout\": %d, \"vacuous\": %d, \"mutants\": %zu, "
        "\"mutants_refuted\": %d, \"z3_seconds\": %.2f, \"seconds\": %.2f, "
        "\"ok\": %s}}\n",
        results.size(), counts[Status::kProved], counts[Status::kRefuted],
        counts[Status::kTimeout], counts[Status::kVacuous],
        mutant_results.size(), mutants_refuted, z3_seconds, total_seconds,
        ok ? "true" : "false");
    return ok ? 0 : 1;
  }

  // The matrix: per architecture, one line per (form, impl) with a cell per
  // property, then the jump-table and slot-map obligations.
  std::printf("solver: %s%s%s\n", solver.c_str(),
              recheck_version.empty() ? "" : "; re-checked with ",
              recheck_version.c_str());
  const std::vector<std::string> columns = {"round-trip", "exact-range",
                                            "frame", "injective",
                                            "fast=reference"};
  std::string current_arch;
  for (size_t i = 0; i < results.size();) {
    const Result& r = results[i];
    if (r.arch != current_arch) {
      current_arch = r.arch;
      std::printf("\n== %s\n  %-44s %-10s", r.arch.c_str(), "form / obligation",
                  "impl");
      for (const std::string& c : columns) std::printf(" %-14s", c.c_str());
      std::printf("\n");
    }
    if (r.property == "jump-table-reach" || r.property == "slot-map-inverse") {
      std::printf("  %-44s %-10s %s: %s (%.2fs)%s%s\n", r.form.c_str(),
                  r.impl.c_str(), r.property.c_str(),
                  proofs::StatusName(r.status), r.seconds,
                  r.detail.empty() ? "" : "  ", r.detail.c_str());
      ++i;
      continue;
    }
    // A form: its rows are consecutive (reference props, fast props, both).
    std::map<std::pair<std::string, std::string>, const Result*> cells;
    size_t j = i;
    for (; j < results.size() && results[j].arch == r.arch &&
           results[j].form == r.form &&
           results[j].property != "jump-table-reach" &&
           results[j].property != "slot-map-inverse";
         ++j) {
      cells[{results[j].impl, results[j].property}] = &results[j];
    }
    for (const char* impl : {"reference", "fast"}) {
      std::printf("  %-44s %-10s", impl[0] == 'r' ? r.form.c_str() : "", impl);
      for (const std::string& c : columns) {
        const Result* cell =
            cells.count({impl, c})   ? cells[{impl, c}]
            : cells.count({"both", c}) ? cells[{"both", c}]
                                       : nullptr;
        if (cell == nullptr || (impl[0] == 'f' && cell->impl == "both")) {
          std::printf(" %-14s", cell == nullptr ? "" : "  \"");
          continue;
        }
        std::printf(" %-14s",
                    absl::StrFormat("%s %.2fs", proofs::StatusName(cell->status),
                                    cell->seconds)
                        .c_str());
      }
      std::printf("\n");
    }
    i = j;
  }

  std::printf("\n== mutants (each must be refuted by a counterexample)\n");
  for (const MutantResult& m : mutant_results) {
    std::printf("  %-40s %-8s %s %s: %s\n      %s\n", m.name.c_str(),
                m.refuted() ? "refuted" : "NOT-REFUTED", m.result.arch.c_str(),
                m.result.property.c_str(), m.description.c_str(),
                m.result.detail.c_str());
  }

  bool any_note = false;
  for (const Result& r : results) {
    if (r.status != Status::kProved || r.detail.empty()) continue;
    if (!any_note) std::printf("\n== assumptions narrower than the defaults\n");
    any_note = true;
    std::printf("  %s %s %s (%s): %s\n", r.arch.c_str(), r.form.c_str(),
                r.property.c_str(), r.impl.c_str(), r.detail.c_str());
  }

  bool any_problem = false;
  for (const Result& r : results) {
    if (r.status == Status::kProved) continue;
    if (!any_problem) std::printf("\n== not proved\n");
    any_problem = true;
    std::printf("  %s %s %s (%s): %s: %s\n", r.arch.c_str(), r.form.c_str(),
                r.property.c_str(), r.impl.c_str(),
                proofs::StatusName(r.status), r.detail.c_str());
  }
  if (!rechecks.empty()) {
    double slowest = 0;
    for (const Recheck& c : rechecks) slowest = std::max(slowest, c.seconds);
    std::printf("\n== re-check with %s: %d of %zu files agree with z3 "
                "(slowest %.2fs)\n",
                recheck_version.c_str(), recheck_agree, rechecks.size(),
                slowest);
    for (const Recheck& c : rechecks) {
      if (c.answer != c.expected) {
        std::printf("  %s: expected %s, got \"%s\"\n", c.file.c_str(),
                    c.expected.c_str(), c.answer.c_str());
      }
    }
  }
  std::printf(
      "\ntotals: %zu obligations: %d proved, %d refuted, %d timeout, %d "
      "vacuous; mutants %d of %zu refuted; z3 %.1fs, total %.1fs: %s\n",
      results.size(), counts[Status::kProved], counts[Status::kRefuted],
      counts[Status::kTimeout], counts[Status::kVacuous], mutants_refuted,
      mutant_results.size(), z3_seconds, total_seconds, ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace wasmcache
