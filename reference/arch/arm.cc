// arm: relocation sites and jump-table slots (V8 13.6).
//
// Not implemented yet: LocateSite reports kUnimplemented for patched sites
// of this target and no code manager is created for it.

#include "reference/arch_codec.h"

namespace wasmcache::reference {

const ArchCodec kArmCodec = {.arch = Arch::kArm};

}  // namespace wasmcache::reference
