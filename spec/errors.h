// Error values shared by every implementation.
//
// Bad input is never an exception or a crash: it is an absl::Status whose
// canonical code says what kind of problem it is and whose message reads
// "<section>: <what> at offset 0x<hex>", where the offset is a byte offset in
// the input that was being read (the cache, or the wasm wire bytes).
//
//   kOutOfRange          the input ends before a field it must contain
//   kDataLoss            a field holds a value the format does not allow
//   kFailedPrecondition  the input is well formed but made for another
//                        environment (header words, compile-time imports,
//                        module shape)
//   kResourceExhausted   the input asks for more than a configured limit
//   kInternal            wasmcache broke an invariant of its own (a bug)
//
// Two codes are about the caller, not the input:
//   kInvalidArgument     the environment is inconsistent with the module
//                        ("environment: <what>", no offset)
//   kUnimplemented       the target's relocation forms or jump tables are
//                        not implemented yet
// and a cache read from a file (spec/cache_file.h) may also fail to be read:
// "file: <what> at offset 0x<hex>" with the system's error code (kNotFound,
// kPermissionDenied, ...; kUnavailable for a read that failed or came up
// short; kFailedPrecondition for a path that is not a regular file).
//
// Both implementations must return the same code for the same input; the
// message may say more in one than in the other, the code may not differ.

#ifndef WASMCACHE_SPEC_ERRORS_H_
#define WASMCACHE_SPEC_ERRORS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wasmcache {

// Section names used in messages, one per part of the format.
namespace section {
inline constexpr std::string_view kHeader = "header";
inline constexpr std::string_view kModuleHeader = "module header";
inline constexpr std::string_view kFunction = "function";
inline constexpr std::string_view kCodeHeader = "code header";
inline constexpr std::string_view kCode = "code";
inline constexpr std::string_view kReloc = "reloc";
inline constexpr std::string_view kTieringBudget = "tiering budget";
inline constexpr std::string_view kTrailer = "trailer";
inline constexpr std::string_view kWasm = "wasm";
inline constexpr std::string_view kEnvironment = "environment";
inline constexpr std::string_view kSerializer = "serializer";
inline constexpr std::string_view kCodeSpace = "code space";
}  // namespace section

std::string FormatError(std::string_view section, std::string_view what,
                        uint64_t offset);

absl::Status TruncatedError(std::string_view section, std::string_view what,
                            uint64_t offset);
absl::Status MalformedError(std::string_view section, std::string_view what,
                            uint64_t offset);
absl::Status MismatchError(std::string_view section, std::string_view what,
                           uint64_t offset);
absl::Status LimitError(std::string_view section, std::string_view what,
                        uint64_t offset);
absl::Status InternalError(std::string_view section, std::string_view what,
                           uint64_t offset);

}  // namespace wasmcache

#define WASMCACHE_CONCAT_INNER_(a, b) a##b
#define WASMCACHE_CONCAT_(a, b) WASMCACHE_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define WASMCACHE_RETURN_IF_ERROR(expr)                     \
  do {                                                      \
    if (absl::Status wasmcache_status_ = (expr);            \
        !wasmcache_status_.ok()) {                          \
      return wasmcache_status_;                             \
    }                                                       \
  } while (false)

// `lhs = *expr` if `expr` (an absl::StatusOr) holds a value, else returns
// its status from the enclosing function.
#define WASMCACHE_ASSIGN_OR_RETURN(lhs, expr) \
  WASMCACHE_ASSIGN_OR_RETURN_IMPL_(           \
      WASMCACHE_CONCAT_(wasmcache_statusor_, __LINE__), lhs, expr)
#define WASMCACHE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) return std::move(tmp).status();         \
  lhs = std::move(tmp).value()

#endif  // WASMCACHE_SPEC_ERRORS_H_
