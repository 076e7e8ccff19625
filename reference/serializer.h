// Serialization: from a NativeModule back to V8 13.6 cache bytes.
//
// Every relocated site is turned back into its tag (function index,
// builtin id, external-reference index, module-local type index, internal
// offset), and the output is written in canonical form:
//   - the total code size is recomputed from the code;
//   - x64 external references carry their tag in the low 32 bits and zero
//     in the upper 32 (V8 leaves process-address bits there);
//   - a canonical signature id maps to the smallest module type index with
//     that id (as V8's serializer does).
// Measure() walks the same field tables as Serialize() and equals the
// number of bytes it writes.

#ifndef WASMCACHE_REFERENCE_SERIALIZER_H_
#define WASMCACHE_REFERENCE_SERIALIZER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "reference/native_module.h"

namespace wasmcache::reference {

class Serializer {
 public:
  explicit Serializer(const NativeModule& native_module)
      : native_module_(native_module) {}

  // Bytes Serialize() writes.
  size_t Measure() const;
  // kFailedPrecondition if the module has no TurboFan code (V8 refuses to
  // serialize such a module too).
  absl::StatusOr<std::vector<uint8_t>> Serialize() const;

 private:
  const NativeModule& native_module_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_SERIALIZER_H_
