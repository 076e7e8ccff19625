// loong64 forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_LOONG64_H_
#define WASMCACHE_PROOFS_FORMS_LOONG64_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Loong64Forms() {
  return {};
}

inline ArchProofSpec Loong64ProofSpec() { return {Arch::kLoong64, 47, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_LOONG64_H_
