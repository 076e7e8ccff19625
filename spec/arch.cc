#include "spec/arch.h"

namespace wasmcache {

std::optional<Arch> ParseArch(std::string_view name) {
  for (const ArchTraits& t : kArchTraits) {
    if (t.name == name) return t.arch;
  }
  if (name == "amd64" || name == "x86_64") return Arch::kX64;
  if (name == "aarch64") return Arch::kArm64;
  if (name == "x86" || name == "i686") return Arch::kIa32;
  if (name == "ppc64le") return Arch::kPpc64;
  return std::nullopt;
}

std::string_view ArchName(Arch arch) { return TraitsOf(arch).name; }

}  // namespace wasmcache
