// ppc64 forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_PPC64_H_
#define WASMCACHE_PROOFS_FORMS_PPC64_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Ppc64Forms() {
  return {};
}

inline ArchProofSpec Ppc64ProofSpec() { return {Arch::kPpc64, 47, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_PPC64_H_
