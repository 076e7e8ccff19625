#include "fast/arch.h"

namespace wasmcache::fast {

const ArchOps& OpsOf(Arch arch) {
  static const ArchOps* const kOps[kNumArchs] = {
      &kX64Ops,     &kIa32Ops,  &kArm64Ops, &kArmOps,   &kRiscv64Ops,
      &kRiscv32Ops, &kMips64Ops, &kPpc64Ops, &kS390xOps, &kLoong64Ops};
  return *kOps[static_cast<int>(arch)];
}

}  // namespace wasmcache::fast
