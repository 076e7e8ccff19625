// Deserialization in the fast implementation: from cache bytes to a
// published NativeModule, in parallel.
//
// 1. One sequential pass over the records reads every fixed field and
//    checks the structure (headers, tags, sizes, bounds, budgets, trailer):
//    it is all the sequential work there is, O(functions).
// 2. Code space is reserved (read-write, never executable while written)
//    and every TurboFan function gets its place: a prefix sum of aligned
//    sizes.
// 3. Batches of functions go to the thread pool. Each function's RelocInfo
//    stream is decoded once: every site is located, its tag checked, the
//    code copied to its place and the site relocated; then overlaps and the
//    safepoint table are checked.
// 4. The jump tables are written with their final targets, the code is
//    made read-execute and the module is registered: published whole.
//
// Errors are those of the reference for the same input (spec/errors.h):
// when several things are wrong, the one the reference meets first in file
// order decides the code, whatever thread found it. Nothing is published
// and nothing stays allocated on failure.

#ifndef WASMCACHE_FAST_DESERIALIZER_H_
#define WASMCACHE_FAST_DESERIALIZER_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fast/module.h"
#include "fast/thread_pool.h"
#include "spec/environment.h"
#include "spec/module_info.h"

namespace wasmcache::fast {

// What DeserializeFile did with the file.
struct FileLoadStats {
  // The file was read once, in step with the load, and dropped behind it
  // (else it was read whole and loaded from memory: a module too large for
  // the pipelined load, a file that is not a regular file, or a cache with
  // an error, whose verdict comes from a load of the whole file).
  bool streamed = false;
  uint64_t bytes_read = 0;
  // The most bytes of the file held in memory at once.
  uint64_t max_resident_bytes = 0;
};

struct LoadOptions {
  // Pool to run on (nullptr: DefaultPool()) and the most threads to use
  // from it (0: all).
  ThreadPool* pool = nullptr;
  int max_threads = 0;
  // DeserializeFile: how far reading may run ahead of the oldest batch not
  // yet loaded (0: 1 MiB). A batch whose records are longer still is read
  // whole. The file is read 256 KiB at a time, or the window (rounded up
  // to a page) at a time if that is less.
  uint64_t file_window_bytes = 0;
  // DeserializeFile: filled in if set.
  FileLoadStats* file_stats = nullptr;
};

// The pool `options` runs on, and how many of its threads.
inline ThreadPool& PoolOf(const LoadOptions& options) {
  return options.pool != nullptr ? *options.pool : DefaultPool();
}
inline int ThreadsOf(const LoadOptions& options) {
  const int size = PoolOf(options).size();
  return options.max_threads <= 0 ? size : std::min(size, options.max_threads);
}

absl::StatusOr<std::unique_ptr<NativeModule>> Deserialize(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    const ModuleInfo& module, const Environment& env,
    const LoadOptions& options = {});

// Decodes the module info from wire bytes, then deserializes.
absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeWithWireBytes(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    absl::Span<const uint8_t> wire_bytes, const Environment& env,
    const LoadOptions& options = {});

// Deserializes the cache in the file at `path` without holding the whole
// file in memory: the records are read as the walk reaches them, at most
// about LoadOptions::file_window_bytes ahead of the oldest batch still
// loading, and dropped once loaded. Every byte is read once, so the module
// is the load of one sequence of bytes even if the file changes meanwhile.
// The result (module or error) is the one Deserialize gives for the file's
// bytes; an error is found again by a load of the whole file, read anew,
// so that it is the one the reference reports. kNotFound or
// kFailedPrecondition (section "file") if the file cannot be read.
absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeFile(
    CodeManager& manager, const std::string& path, const ModuleInfo& module,
    const Environment& env, const LoadOptions& options = {});

// Every check of Deserialize, without loading: OK exactly when Deserialize
// would succeed given enough code space.
absl::Status CheckCache(absl::Span<const uint8_t> cache,
                        const ModuleInfo& module, const Environment& env,
                        const LoadOptions& options = {});

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_DESERIALIZER_H_
