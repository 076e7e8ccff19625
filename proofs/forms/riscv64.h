// riscv64 forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_RISCV64_H_
#define WASMCACHE_PROOFS_FORMS_RISCV64_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Riscv64Forms() {
  return {};
}

inline ArchProofSpec Riscv64ProofSpec() { return {Arch::kRiscv64, 47, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_RISCV64_H_
