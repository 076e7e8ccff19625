// The AFL++ engine: persistent mode (many inputs per fork) with test cases
// delivered in shared memory, compiled with afl-clang-fast++ or
// afl-clang-lto++ (which define the __AFL_* macros). Each input is copied
// to an exact-size heap buffer so that sanitizers see reads past its end.
//
// With file arguments it runs them once each and exits, like the replay
// engine: reproducing a crash, and afl-cmin / afl-showmap / afl-tmin with
// @@ (the fork server starts first, so those tools can drive it).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include <unistd.h>  // read(), used by __AFL_FUZZ_TESTCASE_LEN outside afl-fuzz

// __AFL_LOOP and friends are GNU statement expressions.
#pragma clang diagnostic ignored "-Wgnu-statement-expression"

#ifndef __AFL_FUZZ_TESTCASE_LEN
#error "afl_driver.cc must be compiled with afl-clang-fast++ or afl-clang-lto++"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

__AFL_FUZZ_INIT();

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  __AFL_INIT();
  if (argc > 1) {
    for (int i = 1; i < argc; ++i) {
      std::ifstream in(argv[i], std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "afl driver: cannot read %s\n", argv[i]);
        return 2;
      }
      std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                 std::istreambuf_iterator<char>()};
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    return 0;
  }
  const unsigned char* buffer = __AFL_FUZZ_TESTCASE_BUF;
  while (__AFL_LOOP(100000)) {
    const size_t size = __AFL_FUZZ_TESTCASE_LEN;
    const std::vector<uint8_t> input(buffer, buffer + size);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  return 0;
}
