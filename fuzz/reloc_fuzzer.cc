// reloc_fuzzer: random words, sites and values through every relocation
// form of every target, and random targets through the jump-table slots,
// in the reference and fast implementations; they must agree, and round
// trip. The input layout and the properties are in fuzz/lib/reloc_oracle.h.

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "fuzz/lib/reloc_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wasmcache::fuzz::RunRelocInput(absl::MakeConstSpan(data, size));
  return 0;
}
