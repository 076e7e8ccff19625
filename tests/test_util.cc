#include "tests/test_util.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "gtest/gtest.h"

namespace wasmcache::testing {
namespace fs = std::filesystem;

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

namespace {

std::vector<Fixture> FixturesIn(const fs::path& root, bool large) {
  std::vector<Fixture> out;
  for (const char* arch_name : {"x64", "arm64"}) {
    const fs::path dir = root / arch_name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".cache") continue;
      fs::path wasm = entry.path();
      wasm.replace_extension(".wasm");
      out.push_back({std::string(arch_name) + "/" +
                         entry.path().stem().string(),
                     *ParseArch(arch_name), wasm.string(),
                     entry.path().string(), large});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Fixture& a, const Fixture& b) { return a.name < b.name; });
  return out;
}

}  // namespace

std::vector<Fixture> CommittedFixtures() {
  return FixturesIn(fs::path(WASMCACHE_SOURCE_DIR) / "corpus" / "v8-13.6",
                    false);
}

std::vector<Fixture> LargeFixtures() {
  return FixturesIn(fs::path(WASMCACHE_SOURCE_DIR) / "build" /
                        "fixtures-large",
                    true);
}

LoadedFixture LoadFixture(const Fixture& fixture) {
  LoadedFixture loaded;
  loaded.fixture = fixture;
  loaded.wire = ReadBytes(fixture.wasm_path);
  loaded.cache = ReadBytes(fixture.cache_path);
  auto module = reference::DecodeModuleInfo(loaded.wire);
  if (!module.ok()) {
    throw std::runtime_error("bad wasm " + fixture.wasm_path + ": " +
                             module.status().ToString());
  }
  loaded.module = *module;
  loaded.env = reference::DefaultEnvironment(fixture.arch, loaded.module);
  return loaded;
}

LoadedFixture LoadCommitted(const std::string& name) {
  for (const Fixture& f : CommittedFixtures()) {
    if (f.name == name) return LoadFixture(f);
  }
  throw std::runtime_error("no committed fixture " + name);
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    if (output != nullptr) output->append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace wasmcache::testing
