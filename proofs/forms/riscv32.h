// riscv32 forms (proofs/forms/riscv.h, shared with riscv64) and jump-table
// reach.

#ifndef WASMCACHE_PROOFS_FORMS_RISCV32_H_
#define WASMCACHE_PROOFS_FORMS_RISCV32_H_

#include <vector>

#include "proofs/form.h"
#include "proofs/forms/riscv.h"
#include "proofs/properties.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> Riscv32Forms() {
  return RiscvForms<D>(/*rv64=*/false);
}

inline ArchProofSpec Riscv32ProofSpec() {
  // Calls (auipc + jalr) and tail calls (lui + addi, riscv32's li_ptr)
  // reach near slots; stub calls reach far slots. Slots hold an absolute
  // 32-bit target (data32), so they have no reach of their own.
  return {Arch::kRiscv32,
          32,
          {{"WASM_CALL -> near slots", "auipc-jalr", ReachTarget::kNearSlots,
            2},
           {"WASM_CALL tail call -> near slots", "lui-addi",
            ReachTarget::kNearSlots, 2},
           {"WASM_STUB_CALL -> far slots", "auipc-jalr", ReachTarget::kFarSlots,
            2},
           {"WASM_STUB_CALL tail call -> far slots", "lui-addi",
            ReachTarget::kFarSlots, 2}}};
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_RISCV32_H_
