// How a fuzz target reports what it found: one stable signature line that
// campaign tooling de-duplicates on (tools/wasmcache-fuzz), the details,
// then abort(), which every engine records as a crash.
//
//   wasmcache-finding: reference-fast-code-header-difference
//   <details: arch, field, offset, ...>
//
// Signatures name what disagreed, never an input-specific value, so two
// inputs that trip the same check give the same signature.

#ifndef WASMCACHE_FUZZ_LIB_FINDING_H_
#define WASMCACHE_FUZZ_LIB_FINDING_H_

#include <string>
#include <string_view>

namespace wasmcache::fuzz {

inline constexpr std::string_view kFindingPrefix = "wasmcache-finding: ";

[[noreturn]] void ReportFinding(std::string_view signature,
                                std::string_view details);

// A signature fragment from free text: lower case, runs of anything but
// letters and digits become one '-' ("code header" -> "code-header").
std::string Slug(std::string_view text);

}  // namespace wasmcache::fuzz

#endif  // WASMCACHE_FUZZ_LIB_FINDING_H_
