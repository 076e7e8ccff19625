// Differential checks of one target's fast operations (fast/arch.h) against
// the reference codec, shared by the tests/fast_arch_<target>_test.cc
// suites.
//
// Inputs: every relocation site of synthesized caches of the target (all
// forms, many seeds) and of the real fixtures of the target. For each site:
//   - locate agrees (field offset and size, pool-reader bytes) and the tag
//     read back is the reference's;
//   - after random bit flips in the bytes around the site, both accept or
//     both reject, and agree on what they accept;
//   - writing random targets (near the code, at the edges of every reach,
//     anywhere) gives the same verdict and the same bytes, and reading back
//     gives the same address;
//   - writing tags gives the same verdict (tag_fits) and the same bytes.
// Jump-table slots: writing near, far and lazy slots at random addresses
// gives the same verdict and bytes; reading them back the same target.

#ifndef WASMCACHE_TESTS_FAST_ARCH_HARNESS_H_
#define WASMCACHE_TESTS_FAST_ARCH_HARNESS_H_

#include "fast/arch.h"

namespace wasmcache::testing {

// Runs every check above for `ops`, reporting failures through gtest.
// Returns the number of sites compared (the caller asserts it is large).
size_t CheckFastArchAgainstReference(const fast::ArchOps& ops);

}  // namespace wasmcache::testing

#endif  // WASMCACHE_TESTS_FAST_ARCH_HARNESS_H_
