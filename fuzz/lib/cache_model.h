// A cache as editable structure, for the mutator: the header words, the
// module header, each function record (tag, code header, parts) and the
// tiering budgets, read leniently and written back.
//
// Reading stops at the first record the layout cannot hold (a negative
// part size, a part running past the end, an unknown tag); that record and
// everything after it are kept as raw `trailing` bytes. Writing a model
// read from bytes gives those bytes back exactly (fuzz tests check it), so
// a mutation changes only what it means to change.

#ifndef WASMCACHE_FUZZ_LIB_CACHE_MODEL_H_
#define WASMCACHE_FUZZ_LIB_CACHE_MODEL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "spec/arch.h"
#include "spec/layout.h"

namespace wasmcache::fuzz {

struct RecordModel {
  uint8_t tag = static_cast<uint8_t>(FunctionTag::kLazy);
  // TurboFan records only.
  CodeHeader header;
  std::array<std::vector<uint8_t>, kNumCodeParts> parts;

  bool turbofan() const {
    return tag == static_cast<uint8_t>(FunctionTag::kTurboFan);
  }
  std::vector<uint8_t>& part(CodePart p) { return parts[static_cast<int>(p)]; }
};

struct CacheModel {
  Arch arch = Arch::kX64;
  uint32_t num_imported_functions = 0;
  GlobalHeader header;
  ModuleHeader module_header;
  std::vector<RecordModel> records;
  // Whole u32 tiering budgets after the records (none if the records did
  // not all parse), then whatever follows them.
  std::vector<uint32_t> tiering_budgets;
  std::vector<uint8_t> trailing;
};

// nullopt if the global and module headers do not fit in `cache`.
// `num_declared` bounds how many records are read.
std::optional<CacheModel> ReadCacheModel(absl::Span<const uint8_t> cache,
                                         Arch arch,
                                         uint32_t num_imported_functions,
                                         uint32_t num_declared_functions);

std::vector<uint8_t> WriteCacheModel(const CacheModel& model);

// Sets every TurboFan record's part sizes from its parts, and the module
// header's total code size to the sum of the instruction sizes: the
// lengths a serializer would write.
void FixLengths(CacheModel& model);

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_CACHE_MODEL_H_
