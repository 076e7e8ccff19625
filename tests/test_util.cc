#include "tests/test_util.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "absl/strings/str_format.h"

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
  auto module = DecodeModuleInfo(loaded.wire);
  if (!module.ok()) {
    throw std::runtime_error("bad wasm " + fixture.wasm_path + ": " +
                             module.status().ToString());
  }
  loaded.module = *module;
  loaded.env = DefaultEnvironment(fixture.arch, loaded.module);
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

std::string TrimSpace(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string FindLlvmMc(const std::vector<std::string>& candidates) {
  if (const char* env = std::getenv("LLVM_MC"); env != nullptr && *env) {
    return env;
  }
  for (const std::string& name : candidates) {
    std::string out;
    if (RunCommand("command -v '" + name + "' 2>/dev/null", &out) == 0 &&
        !out.empty()) {
      return TrimSpace(out.substr(0, out.find('\n')));
    }
  }
  return "";
}

std::vector<DisassembledInsn> DisassembleWithLlvmMc(
    const std::string& mc, const std::string& args,
    const std::vector<std::vector<uint8_t>>& lines, char comment_marker) {
  std::string path = ::testing::TempDir();
  if (path.empty() || path.back() != '/') path += '/';
  path += "llvm_mc_input_XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) {
    ADD_FAILURE() << "mkstemp " << path;
    return {};
  }
  close(fd);
  const std::string file(name.data());
  {
    std::ofstream out(file);
    for (const auto& line : lines) {
      for (size_t i = 0; i < line.size(); ++i) {
        out << (i ? " " : "") << absl::StrFormat("0x%02x", line[i]);
      }
      out << "\n";
    }
  }
  std::string output;
  const int status = RunCommand(
      "'" + mc + "' --disassemble " + args + " < '" + file + "' 2>&1", &output);
  std::remove(file.c_str());
  EXPECT_EQ(status, 0) << "llvm-mc failed:\n" << output;
  std::vector<DisassembledInsn> insns;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("warning:") != std::string::npos ||
        line.find("error:") != std::string::npos) {
      ADD_FAILURE() << "llvm-mc: " << line << "\n" << output;
      return {};
    }
    const std::string t = TrimSpace(line.substr(0, line.find(comment_marker)));
    if (t.empty() || t == ".text") continue;
    const size_t sep = t.find_first_of(" \t");
    insns.push_back({t.substr(0, sep),
                     sep == std::string::npos ? "" : TrimSpace(t.substr(sep))});
  }
  return insns;
}

}  // namespace wasmcache::testing
