// deserialize_fuzzer: any bytes, read as a container (fuzz/lib/container.h:
// target, wire bytes, cache), into the reference and the fast
// implementation; they must agree (fuzz/lib/oracles.h). Mutated by the
// structure-aware mutator (fuzz/lib/mutator.h), falling back to
// libFuzzer's own mutation for raw byte changes.

#include <cstdint>
#include <cstring>

#include "fuzz/lib/container.h"
#include "fuzz/lib/mutator.h"
#include "fuzz/lib/oracles.h"

extern "C" __attribute__((weak)) size_t LLVMFuzzerMutate(uint8_t* data,
                                                         size_t size,
                                                         size_t max_size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wasmcache::fuzz::CheckDeserialize(
      wasmcache::fuzz::ViewContainer({data, size}));
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  wasmcache::fuzz::MutatorOptions options;
  if (LLVMFuzzerMutate != nullptr) options.raw = LLVMFuzzerMutate;
  const wasmcache::fuzz::Mutation m = wasmcache::fuzz::MutateContainer(
      {data, size}, max_size, seed, options);
  std::memcpy(data, m.bytes.data(), m.bytes.size());
  return m.bytes.size();
}
