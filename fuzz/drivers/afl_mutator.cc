// The structure-aware mutator as an AFL++ custom-mutator library, for
// deserialize_fuzzer's containers:
//
//   AFL_CUSTOM_MUTATOR_LIBRARY=.../libwasmcache_afl_mutator.so afl-fuzz ...
//
// AFL++ calls afl_custom_fuzz once per mutation and, as usual, also runs
// its own havoc stages (set AFL_CUSTOM_MUTATOR_ONLY=1 to use only this
// one). The byte-level fallback inside the mutator is the built-in one,
// since AFL++ offers no callable byte mutator. Built without sanitizers:
// afl-fuzz loads it into its own, uninstrumented process.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "fuzz/lib/mutator.h"

namespace {

struct State {
  uint64_t seed;
  std::vector<uint8_t> out;
  std::string description;
};

}  // namespace

extern "C" {

void* afl_custom_init(void* /*afl*/, unsigned int seed) {
  return new (std::nothrow) State{uint64_t{seed} * 0x9e3779b97f4a7c15ull, {}, {}};
}

size_t afl_custom_fuzz(void* data, uint8_t* buf, size_t buf_size,
                       uint8_t** out_buf, uint8_t* /*add_buf*/,
                       size_t /*add_buf_size*/, size_t max_size) {
  State* state = static_cast<State*>(data);
  wasmcache::fuzz::Mutation m = wasmcache::fuzz::MutateContainer(
      {buf, buf_size}, max_size, state->seed++);
  state->out = std::move(m.bytes);
  state->description = std::move(m.description);
  *out_buf = state->out.data();
  return state->out.size();
}

// Names the last mutation in the queue file names AFL++ writes.
const char* afl_custom_describe(void* data, size_t max_description_len) {
  State* state = static_cast<State*>(data);
  std::string& d = state->description;
  for (char& c : d) {
    if (c == '/' || c == ' ' || c == ',' || c == ';') c = '_';
  }
  if (d.size() > max_description_len) d.resize(max_description_len);
  return d.c_str();
}

void afl_custom_deinit(void* data) { delete static_cast<State*>(data); }

}  // extern "C"
