// The differential oracles behind the cache fuzz targets. Each runs the
// reference and the fast implementation and reports any disagreement with
// ReportFinding (fuzz/lib/finding.h), so it returns only if they agree.

#ifndef WASMCACHE_FUZZ_LIB_ORACLES_H_
#define WASMCACHE_FUZZ_LIB_ORACLES_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"
#include "fuzz/lib/byte_source.h"
#include "fuzz/lib/container.h"

namespace wasmcache::fuzz {

// deserialize_fuzzer: a container's cache into both implementations. Both
// must reject with the same status code, or both accept with the same
// module state and the same re-serialization. Signatures:
// `reference-fast-<field>-difference` (field from equiv::Difference); a
// status difference adds both codes and the rejecting check, numbers
// removed: `reference-fast-status-difference-data-loss-ok-code-header-
// handler-table-offset-outside-at-offset`. With the container's file bit,
// the fast implementation loads the cache from a file (an in-memory one),
// streamed with a one-page window, and its signatures begin
// `reference-fast-file-`.
// Returns whether the reference accepted.
bool CheckDeserialize(const ContainerView& input);

// The path of a file holding exactly `cache`, where CheckDeserialize's
// file loads read it: one in-memory file (memfd) per process, rewritten by
// every call, so no input touches the disk and none is left behind.
std::string InMemoryCacheFile(absl::Span<const uint8_t> cache);

// roundtrip_fuzzer: a synthesized cache for any target (options drawn from
// `input`) loaded by both implementations and serialized (identical bytes
// required); the output loaded again, while the first modules still hold
// their code space, so at other addresses, and serialized again: identical
// to the first output (un-relocation undoes relocation). Signatures:
// `roundtrip-<stage>-<field>-difference`.
void CheckRoundTrip(ByteSource& input);

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_ORACLES_H_
