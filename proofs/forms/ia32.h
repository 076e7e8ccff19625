// ia32 forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_IA32_H_
#define WASMCACHE_PROOFS_FORMS_IA32_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Ia32Forms() {
  return {};
}

inline ArchProofSpec Ia32ProofSpec() { return {Arch::kIa32, 32, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_IA32_H_
