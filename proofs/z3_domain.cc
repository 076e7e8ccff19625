#include "proofs/z3_domain.h"

#include <cstdlib>

namespace wasmcache::proofs {
namespace {

thread_local z3::context* current_context = nullptr;
thread_local std::vector<z3::expr>* current_branches = nullptr;

}  // namespace

Z3Domain::Scope::Scope(z3::context& context, std::vector<z3::expr>* branches)
    : saved_context_(current_context), saved_branches_(current_branches) {
  current_context = &context;
  current_branches = branches;
}

Z3Domain::Scope::~Scope() {
  current_context = saved_context_;
  current_branches = saved_branches_;
}

z3::context& Z3Domain::Context() {
  // A term built outside any scope is a programming error in the prover.
  if (current_context == nullptr) std::abort();
  return *current_context;
}

z3::expr Z3Domain::Select(const Bool& c, const z3::expr& a,
                          const z3::expr& b) {
  if (current_branches != nullptr) current_branches->push_back(c);
  return z3::ite(c, a, b);
}

}  // namespace wasmcache::proofs
