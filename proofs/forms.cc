#include "proofs/forms.h"

namespace wasmcache::proofs {

ArchProofSpec ProofSpecOf(Arch arch) {
  switch (arch) {
    case Arch::kX64:
      return X64ProofSpec();
    case Arch::kIa32:
      return Ia32ProofSpec();
    case Arch::kArm:
      return ArmProofSpec();
    case Arch::kArm64:
      return Arm64ProofSpec();
    case Arch::kRiscv64:
      return Riscv64ProofSpec();
    case Arch::kRiscv32:
      return Riscv32ProofSpec();
    case Arch::kMips64:
      return Mips64ProofSpec();
    case Arch::kPpc64:
      return Ppc64ProofSpec();
    case Arch::kS390x:
      return S390xProofSpec();
    case Arch::kLoong64:
      return Loong64ProofSpec();
  }
  std::abort();
}

}  // namespace wasmcache::proofs
