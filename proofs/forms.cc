#include "proofs/forms.h"

namespace wasmcache::proofs {

ArchProofSpec ProofSpecOf(Arch arch) {
  switch (arch) {
    case Arch::kX64:
      // Calls and tail calls (rel32) reach near slots; stub calls reach far
      // slots; a near slot's jmp rel32 (its disp32 at slot + 1) reaches any
      // code or far slot of its space.
      return {arch,
              47,
              {{"WASM_CALL -> near slots", "rel32", ReachTarget::kNearSlots},
               {"WASM_STUB_CALL -> far slots", "rel32",
                ReachTarget::kFarSlots},
               {"near slot jmp -> code", "rel32", ReachTarget::kSpace}}};
    default:
      return {arch, TraitsOf(arch).word_size == 4 ? 32 : 47, {}};
  }
}

}  // namespace wasmcache::proofs
