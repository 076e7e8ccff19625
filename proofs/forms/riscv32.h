// riscv32 forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_RISCV32_H_
#define WASMCACHE_PROOFS_FORMS_RISCV32_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Riscv32Forms() {
  return {};
}

inline ArchProofSpec Riscv32ProofSpec() { return {Arch::kRiscv32, 32, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_RISCV32_H_
