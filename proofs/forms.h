// Every architecture's forms and proof parameters.

#ifndef WASMCACHE_PROOFS_FORMS_H_
#define WASMCACHE_PROOFS_FORMS_H_

#include <string_view>
#include <vector>

#include "proofs/form.h"
#include "proofs/forms/x64.h"
#include "proofs/properties.h"
#include "spec/arch.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> FormsOf(Arch arch) {
  switch (arch) {
    case Arch::kX64:
      return X64Forms<D>();
    default:
      return {};
  }
}

// The form named `name` of `forms`, or nullptr.
template <class D>
const Form<D>* FindForm(const std::vector<Form<D>>& forms,
                        std::string_view name) {
  for (const Form<D>& f : forms) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

ArchProofSpec ProofSpecOf(Arch arch);

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_H_
