// riscv64 forms (proofs/forms/riscv.h, shared with riscv32) and jump-table
// reach.

#ifndef WASMCACHE_PROOFS_FORMS_RISCV64_H_
#define WASMCACHE_PROOFS_FORMS_RISCV64_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/forms/riscv.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Riscv64Forms() {
  return RiscvForms<D>(/*rv64=*/true);
}

inline ArchProofSpec Riscv64ProofSpec() {
  // Calls (auipc + jalr) and tail calls (li_ptr) reach near slots; stub
  // calls, either way, reach far slots; a near slot's auipc + jalr reaches
  // any code or far slot of its space.
  return {Arch::kRiscv64,
          47,
          {{"WASM_CALL -> near slots", "auipc-jalr", ReachTarget::kNearSlots,
            2},
           {"WASM_CALL tail call -> near slots", "li-ptr",
            ReachTarget::kNearSlots, 2},
           {"WASM_STUB_CALL -> far slots", "auipc-jalr", ReachTarget::kFarSlots,
            2},
           {"WASM_STUB_CALL tail call -> far slots", "li-ptr",
            ReachTarget::kFarSlots, 2},
           {"near slot auipc + jalr -> code", "near-slot", ReachTarget::kSpace,
            0}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_RISCV64_H_
