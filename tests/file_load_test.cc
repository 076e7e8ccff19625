// Loading a cache from a file (DeserializeFile of either implementation):
// the same module, the same bytes written back and the same verdict as a
// load of the file's bytes from memory; errors of the file itself name the
// section "file". The fast load reads the file once, in step with the
// load, and holds only about its reading window of it at a time: checked
// here through what it reports (bytes read, most bytes held at once), not
// through the process's memory, which tools/bench.sh measures.
//
// Runs against the reference and, as ".fast", against the fast
// implementation (tests/impl.h).

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "spec/cache_file.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "synth/synth.h"
#include "tests/impl.h"
#include "tests/test_util.h"

namespace wasmcache::testing {
namespace {

// A file under the test's temporary directory, removed by the destructor.
class TempFile {
 public:
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    std::string name = ::testing::TempDir() + "wasmcache-file-load-XXXXXX";
    const int fd = mkstemp(name.data());
    EXPECT_GE(fd, 0) << "mkstemp " << name;
    if (fd >= 0) close(fd);
    path_ = name;
    Write(bytes);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  void Write(const std::vector<uint8_t>& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good()) << "writing " << path_;
  }

 private:
  std::string path_;
};

struct Synthesized {
  std::vector<uint8_t> cache;
  ModuleInfo module;
  Environment env;
};

Synthesized Synthesize(Arch arch, uint32_t functions, uint64_t seed) {
  synth::SynthOptions options;
  options.arch = arch;
  options.seed = seed;
  options.num_functions = functions;
  Synthesized out;
  auto result = synth::Synthesize(options);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return out;
  auto module = DecodeModuleInfo(result->wasm);
  EXPECT_TRUE(module.ok()) << module.status();
  if (!module.ok()) return out;
  out.cache = std::move(result->cache);
  out.module = *std::move(module);
  out.env = DefaultEnvironment(arch, out.module);
  return out;
}

// Loads `cache` from memory and from a file with the selected
// implementation and expects the same outcome: the same bytes written
// back, or the same error (code and message). With a fast implementation,
// `fast_file` sets the window and gets what the file load did.
void ExpectFileLoadAsMemoryLoad(const std::vector<uint8_t>& cache,
                                const ModuleInfo& module,
                                const Environment& env,
                                FastFileLoad* fast_file = nullptr) {
  const Impl impl = SelectedImpl();
  std::vector<uint8_t> from_memory, from_file;
  const absl::Status memory =
      LoadAndSerialize(impl, cache, module, env, &from_memory);
  const TempFile file(cache);
  const absl::Status loaded =
      LoadFileAndSerialize(impl, file.path(), module, env, &from_file,
                           fast_file);
  EXPECT_EQ(loaded, memory) << "from the file vs from memory";
  if (memory.ok() && loaded.ok()) {
    EXPECT_EQ(from_file, from_memory) << "bytes written back differ";
  }
}

bool IsFast(Impl impl) { return impl != Impl::kReference; }

// Every committed V8 13.6 cache loads from its file as from memory (with
// the default window, and for fast also with a one-page window, so that
// reading waits for the batches before it at every step).
TEST(FileLoadTest, EveryCommittedCacheLoadsFromItsFileAsFromMemory) {
  const std::vector<Fixture> fixtures = CommittedFixtures();
  ASSERT_FALSE(fixtures.empty());
  for (const Fixture& fixture : fixtures) {
    SCOPED_TRACE(fixture.name);
    const LoadedFixture f = LoadFixture(fixture);
    FastFileLoad defaults;
    ExpectFileLoadAsMemoryLoad(f.cache, f.module, f.env, &defaults);
    if (!IsFast(SelectedImpl())) continue;
    EXPECT_TRUE(defaults.streamed);
    EXPECT_EQ(defaults.bytes_read, f.cache.size());
    FastFileLoad one_page;
    one_page.window_bytes = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    ExpectFileLoadAsMemoryLoad(f.cache, f.module, f.env, &one_page);
    EXPECT_TRUE(one_page.streamed);
    EXPECT_EQ(one_page.bytes_read, f.cache.size());
  }
}

// Synthesized caches of every target load from a file as from memory.
TEST(FileLoadTest, SynthesizedCachesOfEveryTargetLoadFromFilesAsFromMemory) {
  for (Arch arch : {Arch::kX64, Arch::kIa32, Arch::kArm64, Arch::kArm,
                    Arch::kRiscv64, Arch::kRiscv32, Arch::kMips64,
                    Arch::kPpc64, Arch::kS390x, Arch::kLoong64}) {
    SCOPED_TRACE(ArchName(arch));
    const Synthesized s = Synthesize(arch, 300, 11);
    ASSERT_FALSE(s.cache.empty());
    FastFileLoad small_window;
    small_window.window_bytes = 16 * 1024;
    ExpectFileLoadAsMemoryLoad(s.cache, s.module, s.env, &small_window);
  }
}

// The fast load of a cache many times its window holds no more than about
// the window at once: reading waits while it is a window ahead of the
// oldest batch still loading, and what every batch before has loaded is
// dropped. The bound: the window, one read of 256 KiB beyond it, a page
// (dropping is by whole pages), and one batch's records (a batch is read
// whole; batches here hold at most 64 KiB of code and its metadata).
TEST(FileLoadTest, FastFileLoadHoldsAboutItsWindowOfTheFile) {
  const Synthesized s = Synthesize(Arch::kX64, 40000, 5);
  ASSERT_FALSE(s.cache.empty());
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (uint64_t window : {uint64_t{64} * 1024, uint64_t{512} * 1024}) {
    SCOPED_TRACE(window);
    const uint64_t bound = window + 256 * 1024 + page + 256 * 1024;
    ASSERT_GT(s.cache.size(), 4 * bound) << "the cache is too small to tell";
    FastFileLoad file;
    file.window_bytes = window;
    ExpectFileLoadAsMemoryLoad(s.cache, s.module, s.env, &file);
    if (!IsFast(SelectedImpl())) continue;
    EXPECT_TRUE(file.streamed);
    EXPECT_EQ(file.bytes_read, s.cache.size()) << "every byte read once";
    EXPECT_LE(file.max_resident_bytes, bound);
    EXPECT_GT(file.max_resident_bytes, 0u);
  }
}

// A bad cache in a file gets the verdict its bytes get from memory, wherever
// the error lies (in the headers, early, in the middle of the records
// after batches have loaded and been dropped, in the budgets, or past the
// end), and nothing stays allocated (LoadFileAndSerialize checks).
TEST(FileLoadTest, BadCachesInFilesGetTheVerdictOfTheirBytes) {
  const Synthesized s = Synthesize(Arch::kX64, 3000, 9);
  ASSERT_FALSE(s.cache.empty());
  const uint64_t n = s.cache.size();
  std::vector<std::vector<uint8_t>> bad;
  for (uint64_t at : {uint64_t{0}, uint64_t{3}, uint64_t{17}, n / 8, n / 2,
                      n - 4 * 3000 - 1, n - 5}) {
    std::vector<uint8_t> truncated(s.cache.begin(), s.cache.begin() + at);
    bad.push_back(std::move(truncated));
  }
  for (uint64_t at : {uint64_t{4}, uint64_t{40}, n / 3, n / 2 + 1,
                      (3 * n) / 4, n - 1}) {
    std::vector<uint8_t> flipped = s.cache;
    flipped[at] ^= 0xff;
    bad.push_back(std::move(flipped));
    std::vector<uint8_t> longer = s.cache;
    longer.insert(longer.begin() + static_cast<std::ptrdiff_t>(at), 0x5a);
    bad.push_back(std::move(longer));
  }
  std::vector<uint8_t> appended = s.cache;
  appended.push_back(0);
  bad.push_back(std::move(appended));
  int rejected = 0;
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(i);
    FastFileLoad small_window;
    small_window.window_bytes = 8 * 1024;
    ExpectFileLoadAsMemoryLoad(bad[i], s.module, s.env, &small_window);
    rejected += !LoadAndSerialize(SelectedImpl(), bad[i], s.module, s.env)
                     .ok();
  }
  // Flipping a byte of an instruction may leave a valid cache; most of
  // these must be errors, or the case tests little.
  EXPECT_GE(rejected, static_cast<int>(bad.size()) - 4);
}

// A path that cannot be read as a cache file is an error of the section
// "file" at offset 0 with the system's code; an empty file is an empty
// cache.
TEST(FileLoadTest, UnreadablePathsAreFileErrors) {
  const Synthesized s = Synthesize(Arch::kX64, 4, 1);
  const Impl impl = SelectedImpl();
  const std::string missing =
      ::testing::TempDir() + "wasmcache-file-load-no-such-file";
  absl::Status st = LoadFileAndSerialize(impl, missing, s.module, s.env);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound) << st;
  EXPECT_EQ(st.message().rfind("file: ", 0), 0u) << st;
  EXPECT_NE(st.message().find(" at offset 0x0"), std::string::npos) << st;

  st = LoadFileAndSerialize(impl, ::testing::TempDir(), s.module, s.env);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_EQ(st.message().rfind("file: ", 0), 0u) << st;

  const TempFile empty(std::vector<uint8_t>{});
  st = LoadFileAndSerialize(impl, empty.path(), s.module, s.env);
  EXPECT_EQ(st, LoadAndSerialize(impl, {}, s.module, s.env));
  EXPECT_EQ(st.code(), absl::StatusCode::kOutOfRange) << st;
}

// CacheFile reads what is there: a read past the end is kUnavailable; a
// file that grew after it was opened is read whole, one that shrank up to
// its new end.
TEST(FileLoadTest, CacheFileReadsTheFileAsItIsNow) {
  std::vector<uint8_t> bytes(10000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  const TempFile file(bytes);
  absl::StatusOr<CacheFile> opened = CacheFile::Open(file.path());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->size(), bytes.size());
  std::vector<uint8_t> part(100);
  ASSERT_TRUE(opened->ReadAt(9000, 100, part.data()).ok());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), bytes.begin() + 9000));
  const absl::Status past = opened->ReadAt(9950, 100, part.data());
  EXPECT_EQ(past.code(), absl::StatusCode::kUnavailable) << past;
  EXPECT_NE(past.message().find("at offset 0x2710"), std::string::npos)
      << past;  // where the file ended: 10000

  std::vector<uint8_t> grown = bytes;
  grown.resize(100000, 0x77);
  file.Write(grown);
  absl::StatusOr<std::vector<uint8_t>> all = opened->ReadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, grown);

  const std::vector<uint8_t> shrunk(bytes.begin(), bytes.begin() + 123);
  file.Write(shrunk);
  all = opened->ReadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, shrunk);
}

}  // namespace
}  // namespace wasmcache::testing
