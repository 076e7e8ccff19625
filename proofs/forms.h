// Every architecture's forms and proof parameters. Each architecture's
// bindings live in proofs/forms/<arch>.h: its forms (FooForms<D>) and its
// jump-table reach obligations (FooProofSpec).

#ifndef WASMCACHE_PROOFS_FORMS_H_
#define WASMCACHE_PROOFS_FORMS_H_

#include <cstdlib>
#include <string_view>
#include <vector>

#include "proofs/form.h"
#include "proofs/forms/arm.h"
#include "proofs/forms/arm64.h"
#include "proofs/forms/ia32.h"
#include "proofs/forms/loong64.h"
#include "proofs/forms/mips64.h"
#include "proofs/forms/ppc64.h"
#include "proofs/forms/riscv32.h"
#include "proofs/forms/riscv64.h"
#include "proofs/forms/s390x.h"
#include "proofs/forms/x64.h"
#include "proofs/properties.h"
#include "spec/arch.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> FormsOf(Arch arch) {
  switch (arch) {
    case Arch::kX64:
      return X64Forms<D>();
    case Arch::kIa32:
      return Ia32Forms<D>();
    case Arch::kArm:
      return ArmForms<D>();
    case Arch::kArm64:
      return Arm64Forms<D>();
    case Arch::kRiscv64:
      return Riscv64Forms<D>();
    case Arch::kRiscv32:
      return Riscv32Forms<D>();
    case Arch::kMips64:
      return Mips64Forms<D>();
    case Arch::kPpc64:
      return Ppc64Forms<D>();
    case Arch::kS390x:
      return S390xForms<D>();
    case Arch::kLoong64:
      return Loong64Forms<D>();
  }
  std::abort();
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
