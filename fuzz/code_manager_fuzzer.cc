// code_manager_fuzzer: random programs of add / publish / remove / free /
// lookup / ref-scope operations on the code managers, checked against a
// model (fuzz/lib/code_manager_model.h has the input format and the
// invariants).

#include <cstddef>
#include <cstdint>

#include "fuzz/lib/code_manager_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wasmcache::fuzz::RunCodeManagerProgram({data, size});
  return 0;
}
