// The implementation a parameterized suite runs against.
//
// Suites that load and re-serialize through LoadAndSerialize() are
// registered twice by tests/CMakeLists.txt: once as they are (the
// reference) and once with WASMCACHE_IMPL=fast (test names end in
// ".fast"), so every one of their cases runs against both implementations.
// WASMCACHE_IMPL=fast1 runs the fast implementation on one thread.

#ifndef WASMCACHE_TESTS_IMPL_H_
#define WASMCACHE_TESTS_IMPL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "spec/environment.h"
#include "spec/module_info.h"

namespace wasmcache::testing {

enum class Impl { kReference, kFast, kFastOneThread };

// From $WASMCACHE_IMPL: "reference" (or unset), "fast", "fast1".
Impl SelectedImpl();
std::string ImplName(Impl impl);

// Deserializes `cache` with `impl`. On failure, checks through gtest that
// nothing stayed registered or committed. On success, re-serializes
// (checking Measure()) into `*out` and checks that destroying the module
// releases everything.
absl::Status LoadAndSerialize(Impl impl, absl::Span<const uint8_t> cache,
                              const ModuleInfo& module, const Environment& env,
                              std::vector<uint8_t>* out = nullptr);

// For a fast load from a file: the reading window to use (0: the
// default), and what the load did with the file.
struct FastFileLoad {
  uint64_t window_bytes = 0;
  bool streamed = false;
  uint64_t bytes_read = 0;
  uint64_t max_resident_bytes = 0;
};

// LoadAndSerialize, loading the cache from the file at `path`
// (DeserializeFile of either implementation). `fast_file`, if set, is used
// and filled by a fast load.
absl::Status LoadFileAndSerialize(Impl impl, const std::string& path,
                                  const ModuleInfo& module,
                                  const Environment& env,
                                  std::vector<uint8_t>* out = nullptr,
                                  FastFileLoad* fast_file = nullptr);

// The reference's verdict on `cache`, to hold another implementation's
// rejection `status` against: the same section ("reloc" in "reloc: ... at
// offset 0x10") and the same offset, whatever the words in between.
void ExpectReferenceSectionAndOffset(const absl::Status& status,
                                     absl::Span<const uint8_t> cache,
                                     const ModuleInfo& module,
                                     const Environment& env);

}  // namespace wasmcache::testing

// In a suite that runs against both implementations: a case that does not
// exercise the implementation (or only the reference's own interface) runs
// once, in the reference run, and is reported as skipped in the other.
#define WASMCACHE_REFERENCE_ONLY(why)                                \
  do {                                                               \
    if (::wasmcache::testing::SelectedImpl() !=                      \
        ::wasmcache::testing::Impl::kReference) {                    \
      GTEST_SKIP() << "reference only: " << (why);                   \
    }                                                                \
  } while (false)

#endif  // WASMCACHE_TESTS_IMPL_H_
