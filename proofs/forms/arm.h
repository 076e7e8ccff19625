// arm forms: not bound yet.

#ifndef WASMCACHE_PROOFS_FORMS_ARM_H_
#define WASMCACHE_PROOFS_FORMS_ARM_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> ArmForms() {
  return {};
}

inline ArchProofSpec ArmProofSpec() { return {Arch::kArm, 32, {}}; }

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_ARM_H_
