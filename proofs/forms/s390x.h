// s390x forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_S390X_H_
#define WASMCACHE_PROOFS_FORMS_S390X_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> S390xForms() {
  return {};
}

inline ArchProofSpec S390xProofSpec() { return {Arch::kS390x, 47, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_S390X_H_
