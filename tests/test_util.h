// Helpers shared by the test suites: fixture discovery, file reading,
// environments for real caches, and status matchers.

#ifndef WASMCACHE_TESTS_TEST_UTIL_H_
#define WASMCACHE_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "spec/arch.h"

namespace wasmcache::testing {

struct Fixture {
  std::string name;       // e.g. "x64/calls"
  Arch arch;
  std::string wasm_path;
  std::string cache_path;
  bool large = false;     // rebuilt by tools/build-fixtures.sh, not committed
};

std::vector<uint8_t> ReadBytes(const std::string& path);

// Committed fixtures under corpus/v8-13.6/{x64,arm64}/.
std::vector<Fixture> CommittedFixtures();
// Large fixtures under build/fixtures-large/ (present after
// tools/build-fixtures.sh --large; CI builds them).
std::vector<Fixture> LargeFixtures();

// A fixture loaded with its module info and V8 13.6 environment.
struct LoadedFixture {
  Fixture fixture;
  std::vector<uint8_t> wire;
  std::vector<uint8_t> cache;
  ModuleInfo module;
  Environment env;
};
LoadedFixture LoadFixture(const Fixture& fixture);
LoadedFixture LoadCommitted(const std::string& name);  // "x64/calls"

// Runs a shell command, returning its exit status and standard output.
int RunCommand(const std::string& command, std::string* output);

// The llvm-mc oracle shared by the per-target suites.
struct DisassembledInsn {
  std::string mnemonic;
  std::string operands;
};
std::string TrimSpace(const std::string& s);
// $LLVM_MC if set, else the first of `candidates` on PATH; "" if none.
std::string FindLlvmMc(const std::vector<std::string>& candidates);
// Disassembles `lines` (one run of bytes per line) with
// `llvm-mc --disassemble <args>`; text after `comment_marker` is dropped.
// Fails the calling test on any diagnostic (and then returns nothing).
std::vector<DisassembledInsn> DisassembleWithLlvmMc(
    const std::string& mc, const std::string& args,
    const std::vector<std::vector<uint8_t>>& lines, char comment_marker);

}  // namespace wasmcache::testing

#endif  // WASMCACHE_TESTS_TEST_UTIL_H_
