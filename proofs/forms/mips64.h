// mips64 forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_MIPS64_H_
#define WASMCACHE_PROOFS_FORMS_MIPS64_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Mips64Forms() {
  return {};
}

inline ArchProofSpec Mips64ProofSpec() { return {Arch::kMips64, 47, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_MIPS64_H_
