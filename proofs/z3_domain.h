// Z3Domain: the word domain (spec/word_domain.h) over Z3 bit-vectors.
//
// Instantiating an encoder template with Z3Domain instead of NativeDomain
// turns the very code the library runs into a Z3 term: a 32-bit word is a
// bit-vector of sort (_ BitVec 32), a 64-bit word one of (_ BitVec 64), a
// truth value a Boolean term. Each operation maps to one SMT-LIB operator
// with the semantics NativeDomain has on machine integers:
//
//   Add/Sub bvadd/bvsub   And/Or bvand/bvor   Shl/LShr/AShr bvshl/bvlshr/bvashr
//   MulC bvmul (by a constant)   UDiv/URem bvudiv/bvurem (by a non-zero
//   constant)   Eq =   Ult bvult
//   ZExt64/SExt64 zero_extend/sign_extend 32   Trunc32 extract 31..0
//   Select ite   BoolAnd/BoolOr/Not and/or/not
//
// tests/proofs_test.cc checks this correspondence by evaluating every form
// in both domains on random inputs.
//
// Terms are built in the context of the innermost Z3Domain::Scope on the
// current thread. While a scope records branches, every Select's condition
// is kept so the prover can show that both outcomes are reachable.

#ifndef WASMCACHE_PROOFS_Z3_DOMAIN_H_
#define WASMCACHE_PROOFS_Z3_DOMAIN_H_

#include <cstdint>
#include <vector>

#include <z3++.h>

namespace wasmcache::proofs {

struct Z3Domain {
  using U32 = z3::expr;
  using U64 = z3::expr;
  using Bool = z3::expr;

  // Makes `context` the one new terms are built in, on this thread, for the
  // scope's lifetime; `branches`, if given, collects Select conditions.
  class Scope {
   public:
    explicit Scope(z3::context& context,
                   std::vector<z3::expr>* branches = nullptr);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    z3::context* saved_context_;
    std::vector<z3::expr>* saved_branches_;
  };

  static z3::context& Context();

  static U32 C32(uint32_t v) { return Context().bv_val(v, 32); }
  static U64 C64(uint64_t v) { return Context().bv_val(v, 64); }
  static Bool True() { return Context().bool_val(true); }

  static U64 ZExt64(const U32& v) { return z3::zext(v, 32); }
  static U64 SExt64(const U32& v) { return z3::sext(v, 32); }
  static U32 Trunc32(const U64& v) { return v.extract(31, 0); }

  static z3::expr Add(const z3::expr& a, const z3::expr& b) { return a + b; }
  static z3::expr Sub(const z3::expr& a, const z3::expr& b) { return a - b; }
  static z3::expr And(const z3::expr& a, const z3::expr& b) { return a & b; }
  static z3::expr Or(const z3::expr& a, const z3::expr& b) { return a | b; }
  static z3::expr Shl(const z3::expr& a, int n) { return z3::shl(a, n); }
  static z3::expr LShr(const z3::expr& a, int n) { return z3::lshr(a, n); }
  static z3::expr AShr(const z3::expr& a, int n) { return z3::ashr(a, n); }
  static z3::expr MulC(const z3::expr& a, uint64_t c) {
    return a * Context().bv_val(c, a.get_sort().bv_size());
  }
  static z3::expr UDiv(const z3::expr& a, uint64_t c) {
    return z3::udiv(a, Context().bv_val(c, a.get_sort().bv_size()));
  }
  static z3::expr URem(const z3::expr& a, uint64_t c) {
    return z3::urem(a, Context().bv_val(c, a.get_sort().bv_size()));
  }

  static Bool Eq(const z3::expr& a, const z3::expr& b) { return a == b; }
  static Bool Ult(const z3::expr& a, const z3::expr& b) {
    return z3::ult(a, b);
  }
  static Bool BoolAnd(const Bool& a, const Bool& b) { return a && b; }
  static Bool BoolOr(const Bool& a, const Bool& b) { return a || b; }
  static Bool Not(const Bool& a) { return !a; }
  static z3::expr Select(const Bool& c, const z3::expr& a,
                         const z3::expr& b);
};

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_Z3_DOMAIN_H_
