#include "fuzz/lib/finding.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace wasmcache::fuzz {

void ReportFinding(std::string_view signature, std::string_view details) {
  std::fprintf(stderr, "%.*s%.*s\n%.*s\n",
               static_cast<int>(kFindingPrefix.size()), kFindingPrefix.data(),
               static_cast<int>(signature.size()), signature.data(),
               static_cast<int>(details.size()), details.data());
  std::fflush(stderr);
  std::abort();
}

std::string Slug(std::string_view text) {
  std::string out;
  bool dash = false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool upper = c >= 'A' && c <= 'Z';
    if (alnum || upper) {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(upper ? static_cast<char>(c - 'A' + 'a') : c);
    } else {
      dash = true;
    }
  }
  return out;
}

}  // namespace wasmcache::fuzz
