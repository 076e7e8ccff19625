// riscv64: see synth/arch/riscv_emitter.h.

#include "synth/arch/riscv_emitter.h"

namespace wasmcache::synth {

std::unique_ptr<TargetEmitter> MakeRiscv64Emitter(bool) {
  return std::make_unique<RiscvEmitter<true>>();
}

}  // namespace wasmcache::synth
