// Deserialization: from cache bytes to a NativeModule at real addresses.
//
// Deserialize() first parses and validates the whole cache
// (reference/cache_parser.h) without allocating any code space. Only a
// cache that passed every check is loaded: the module gets its code space
// and jump tables, each TurboFan function is copied in and every relocation
// site is rewritten from its tag to the real address, and the code is
// published. If loading fails (code space exhausted), the module is
// destroyed before returning: nothing stays published or allocated.

#ifndef WASMCACHE_REFERENCE_DESERIALIZER_H_
#define WASMCACHE_REFERENCE_DESERIALIZER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "reference/code_manager.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/native_module.h"

namespace wasmcache::reference {

absl::StatusOr<std::unique_ptr<NativeModule>> Deserialize(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    const ModuleInfo& module, const Environment& env);

// Decodes the module info from wire bytes, then deserializes.
absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeWithWireBytes(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    absl::Span<const uint8_t> wire_bytes, const Environment& env);

// Reads the file at `path` whole (spec/cache_file.h: its errors name the
// section "file"), then deserializes.
absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeFile(
    CodeManager& manager, const std::string& path, const ModuleInfo& module,
    const Environment& env);

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_DESERIALIZER_H_
