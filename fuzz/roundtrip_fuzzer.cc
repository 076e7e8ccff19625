// roundtrip_fuzzer: the bytes choose a synthesized cache (any of the ten
// targets, its seed, size and forms) and how it is loaded; it must load in
// both implementations, serialize to identical bytes, and serialize to the
// same bytes again after loading at other addresses (fuzz/lib/oracles.h).

#include <cstdint>

#include "fuzz/lib/byte_source.h"
#include "fuzz/lib/oracles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wasmcache::fuzz::ByteSource input({data, size});
  wasmcache::fuzz::CheckRoundTrip(input);
  return 0;
}
