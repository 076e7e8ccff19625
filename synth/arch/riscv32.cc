// riscv32: see synth/arch/riscv_emitter.h.

#include "synth/arch/riscv_emitter.h"

namespace wasmcache::synth {

std::unique_ptr<TargetEmitter> MakeRiscv32Emitter(bool) {
  return std::make_unique<RiscvEmitter<false>>();
}

}  // namespace wasmcache::synth
