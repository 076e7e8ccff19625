// arm64 forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_ARM64_H_
#define WASMCACHE_PROOFS_FORMS_ARM64_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Arm64Forms() {
  return {};
}

inline ArchProofSpec Arm64ProofSpec() { return {Arch::kArm64, 47, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_ARM64_H_
