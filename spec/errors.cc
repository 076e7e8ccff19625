#include "spec/errors.h"

#include <string>

#include "absl/strings/str_format.h"

namespace wasmcache {

std::string FormatError(std::string_view section, std::string_view what,
                        uint64_t offset) {
  return absl::StrFormat("%s: %s at offset 0x%x", section, what, offset);
}

absl::Status TruncatedError(std::string_view section, std::string_view what,
                            uint64_t offset) {
  return absl::OutOfRangeError(FormatError(section, what, offset));
}

absl::Status MalformedError(std::string_view section, std::string_view what,
                            uint64_t offset) {
  return absl::DataLossError(FormatError(section, what, offset));
}

absl::Status MismatchError(std::string_view section, std::string_view what,
                           uint64_t offset) {
  return absl::FailedPreconditionError(FormatError(section, what, offset));
}

absl::Status LimitError(std::string_view section, std::string_view what,
                        uint64_t offset) {
  return absl::ResourceExhaustedError(FormatError(section, what, offset));
}

absl::Status InternalError(std::string_view section, std::string_view what,
                           uint64_t offset) {
  return absl::InternalError(FormatError(section, what, offset));
}

}  // namespace wasmcache
