#include "fast/deserializer.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "absl/strings/str_format.h"
#include "fast/analyze.h"
#include "fast/memory.h"
#include "fast/pages.h"
#include "fast/tables.h"
#include "spec/cache_file.h"
#include "spec/errors.h"
#include "spec/v8_tables.h"

namespace wasmcache::fast {
namespace {

// --- Pass 1: the structure ---------------------------------------------------

// Sequential reads with bounds checks; a read past the end is kOutOfRange.
class Cursor {
 public:
  Cursor(absl::Span<const uint8_t> bytes, ByteOrder order, uint32_t word)
      : data_(bytes.data()), size_(bytes.size()), order_(order), word_(word) {}

  uint64_t offset() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }

  absl::Status Need(uint64_t n, std::string_view section,
                    std::string_view what) const {
    if (n <= size_ - pos_) return absl::OkStatus();
    return TruncatedError(section,
                          absl::StrFormat("input ends inside %s (%d bytes "
                                          "needed, %d left)",
                                          what, n, size_ - pos_),
                          pos_);
  }
  // Fields of the given sizes, read in order: the first that does not fit
  // is reported.
  absl::Status NeedFields(std::initializer_list<uint32_t> sizes,
                          std::string_view section,
                          std::string_view what) const {
    uint64_t at = pos_;
    for (uint32_t size : sizes) {
      if (size > size_ - at) {
        return TruncatedError(
            section, absl::StrFormat("input ends inside %s", what), at);
      }
      at += size;
    }
    return absl::OkStatus();
  }
  // `count` fields of `size` bytes each.
  absl::Status NeedRepeated(uint64_t count, uint32_t size,
                            std::string_view section,
                            std::string_view what) const {
    if (count * size <= size_ - pos_) return absl::OkStatus();
    return TruncatedError(section,
                          absl::StrFormat("input ends inside %s", what),
                          pos_ + (size_ - pos_) / size * size);
  }
  uint8_t U8() { return data_[pos_++]; }
  uint32_t U32() {
    const uint32_t v = Load32(data_ + pos_, order_);
    pos_ += 4;
    return v;
  }
  uint64_t Word() {
    const uint64_t v = word_ == 8 ? Load64(data_ + pos_, order_)
                                  : Load32(data_ + pos_, order_);
    pos_ += word_;
    return v;
  }
  void Skip(uint64_t n) { pos_ += n; }
  void Seek(uint64_t offset) { pos_ = offset; }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  ByteOrder order_;
  uint32_t word_;
};

// A TurboFan record as the walk leaves it: where its parts are and where
// its code goes. The header stays in the cache (CodeHeaderAt), so the walk
// writes 40 bytes per function, not a copy of every header.
struct CodeRecord {
  uint64_t instructions_offset = 0;  // file offset; the header precedes it
  uint64_t arena_offset = 0;         // in the module's metadata arena
  uint64_t space_offset = 0;         // placement
  uint32_t instructions_size = 0;
  uint32_t metadata_size = 0;  // reloc info, parts 1..5 follow the code
  uint32_t declared = 0;
  uint32_t space = 0;

  uint64_t metadata_offset() const {
    return instructions_offset + instructions_size;
  }
};

struct Structure {
  GlobalHeader header;
  ModuleHeader module_header;
  // Per declared function, in the form the module keeps (moved into it).
  std::vector<FunctionState> states;
  std::vector<int32_t> code_of_declared;  // index in codes, or -1
  std::vector<CodeRecord> codes;
  uint64_t code_total = 0;  // instruction bytes of the records read
  std::vector<uint32_t> budgets;
  uint64_t metadata_bytes = 0;
  // The first structural error and the number of TurboFan records before
  // it (the functions whose code must still be checked, since their errors
  // come first in file order).
  absl::Status error;
  size_t codes_before_error = 0;
  bool stopped = false;  // the walk was stopped by its caller
};

absl::Status ReadModuleHeader(Cursor& c, const AnalysisContext& ctx,
                              ModuleHeader& h, uint64_t* total_at) {
  const uint32_t word = ctx.traits.word_size;
  const auto section = section::kModuleHeader;
  WASMCACHE_RETURN_IF_ERROR(
      c.NeedFields({4, word, 1, 4, 4}, section, "the module header"));
  h.detected_features = c.U32();
  *total_at = c.offset();
  h.total_code_size = c.Word();
  const uint64_t validated_at = c.offset();
  h.all_functions_validated = c.U8();
  const uint64_t imports_at = c.offset();
  h.compile_time_imports = c.U32();
  const uint64_t constants_at = c.offset();
  const uint32_t length = c.U32();
  WASMCACHE_RETURN_IF_ERROR(c.Need(length, section, "constants_module"));
  h.constants_module.assign(reinterpret_cast<const char*>(c.here()), length);
  c.Skip(length);
  const uint32_t imported = ctx.module.num_imported_functions;
  const uint64_t statuses_at = c.offset();
  WASMCACHE_RETURN_IF_ERROR(c.Need(imported, section, "well_known_imports"));
  h.well_known_imports.assign(c.here(), c.here() + imported);
  c.Skip(imported);

  if (h.total_code_size > ctx.env.max_module_code_size) {
    return LimitError(
        section,
        absl::StrFormat("total code size %d over the limit", h.total_code_size),
        *total_at);
  }
  if (h.all_functions_validated > 1) {
    return MalformedError(section, "all_functions_validated is not a bool",
                          validated_at);
  }
  if (h.compile_time_imports & ~v8_13_6::kCompileTimeImportMask) {
    return MalformedError(section, "unknown compile-time import flags",
                          imports_at);
  }
  if (h.compile_time_imports != ctx.env.compile_time_imports) {
    return MismatchError(section,
                         "compile-time imports differ from the environment's",
                         imports_at);
  }
  if (h.constants_module != ctx.env.constants_module) {
    return MismatchError(section,
                         "constants module differs from the environment's",
                         constants_at);
  }
  for (uint32_t i = 0; i < imported; ++i) {
    if (h.well_known_imports[i] > v8_13_6::kMaxWellKnownImport) {
      return MalformedError(section,
                            absl::StrFormat("import %d has unknown well-known "
                                            "status %d",
                                            i, h.well_known_imports[i]),
                            statuses_at + i);
    }
  }
  return absl::OkStatus();
}

// Reads the headers (the part before the function records); their errors
// are returned, as nothing before them needs checking.
absl::Status ReadHeaders(absl::Span<const uint8_t> cache,
                         const AnalysisContext& ctx, Structure& s, Cursor& c,
                         uint64_t* total_at) {
  if (cache.empty()) return TruncatedError(section::kHeader, "empty input", 0);
  WASMCACHE_RETURN_IF_ERROR(
      c.NeedRepeated(kNumHeaderWords, 4, section::kHeader, "the header"));
  s.header = {c.U32(), c.U32(), c.U32(), c.U32(), c.U32()};
  const auto words = HeaderWords(s.header);
  for (int i = 0; i < kNumHeaderWords; ++i) {
    const auto& expected = ctx.env.expected_header[i];
    if (expected.has_value() && *expected != words[i]) {
      return MismatchError(
          section::kHeader,
          absl::StrFormat("%s is 0x%08x, expected 0x%08x", kHeaderWordNames[i],
                          words[i], *expected),
          uint64_t{4} * i);
    }
  }
  return ReadModuleHeader(c, ctx, s.module_header, total_at);
}

// The code header whose first field is at `at` (its bounds checked).
CodeHeader ParseCodeHeader(const uint8_t* at, ByteOrder order) {
  CodeHeader h;
  auto i32 = [&](int field) {
    return static_cast<int32_t>(Load32(at + 4 * field, order));
  };
  h.constant_pool_offset = i32(0);
  h.safepoint_table_offset = i32(1);
  h.handler_table_offset = i32(2);
  h.code_comments_offset = i32(3);
  h.unpadded_binary_size = i32(4);
  h.stack_slots = i32(5);
  h.ool_spills = i32(6);
  h.tagged_parameter_slots = static_cast<uint32_t>(i32(7));
  for (int p = 0; p < kNumCodeParts; ++p) h.*kCodePartSizes[p] = i32(8 + p);
  h.kind = static_cast<uint32_t>(i32(14));
  h.tier = at[60];
  return h;
}

// The header of a record the walk accepted.
CodeHeader CodeHeaderAt(absl::Span<const uint8_t> cache, const CodeRecord& r,
                        ByteOrder order) {
  return ParseCodeHeader(
      cache.data() + r.instructions_offset - (kCodeHeaderSize - 1), order);
}

// Reads one function record at `c` when nothing in it is wrong: the tag,
// and for TurboFan code the header (CheckCodeHeader) and the parts' bounds.
// Fills `tag` and, for TurboFan code, `h` and the offsets and sizes of `r`,
// and advances `c` past the record; false (with `c` anywhere) otherwise.
// The walk accepts records only through this.
bool TryParseRecord(const ArchTraits& t, Cursor& c, uint8_t* tag,
                    CodeRecord* r, CodeHeader* header) {
  if (c.remaining() == 0) return false;
  *tag = c.U8();
  if (*tag < static_cast<uint8_t>(FunctionTag::kLazy) ||
      *tag > static_cast<uint8_t>(FunctionTag::kTurboFan)) {
    return false;
  }
  if (*tag != static_cast<uint8_t>(FunctionTag::kTurboFan)) return true;
  if (c.remaining() < kCodeHeaderSize - 1) return false;
  CodeHeader& h = *header;
  h = ParseCodeHeader(c.here(), t.byte_order);
  c.Skip(kCodeHeaderSize - 1);
  if (!CheckCodeHeader(h, 0, t).ok()) return false;
  uint64_t parts = 0;
  for (int p = 0; p < kNumCodeParts; ++p) {
    parts += static_cast<uint32_t>(h.*kCodePartSizes[p]);
  }
  if (parts > c.remaining()) return false;
  r->instructions_offset = c.offset();
  r->instructions_size = static_cast<uint32_t>(h.instructions_size);
  r->metadata_size =
      static_cast<uint32_t>(parts - static_cast<uint32_t>(h.instructions_size));
  c.Skip(parts);
  return true;
}

// The error in the record of declared function `i` at `c`, which
// TryParseRecord refused.
absl::Status RecordError(const AnalysisContext& ctx, Cursor& c, uint32_t i) {
  const ArchTraits& t = ctx.traits;
  const uint64_t record_at = c.offset();
  if (c.remaining() == 0) {
    return TruncatedError(section::kFunction, "input ends before tag",
                          record_at);
  }
  const uint8_t tag = c.U8();
  if (tag < static_cast<uint8_t>(FunctionTag::kLazy) ||
      tag > static_cast<uint8_t>(FunctionTag::kTurboFan)) {
    return MalformedError(
        section::kFunction,
        absl::StrFormat("unknown tag %d for function %d", tag,
                        ctx.module.num_imported_functions + i),
        record_at);
  }
  const uint64_t header_at = c.offset();
  // Fifteen 4-byte fields, then the tier byte: name the field where the
  // input ends.
  if (c.remaining() < kCodeHeaderSize - 1) {
    absl::Status st =
        c.NeedRepeated(15, 4, section::kCodeHeader, "the code header");
    if (st.ok()) {
      st = c.NeedFields({60, 1}, section::kCodeHeader, "the code header");
    }
    return st;
  }
  CodeRecord r;
  CodeHeader header;
  c.Seek(record_at);
  uint8_t ignored;
  if (!TryParseRecord(t, c, &ignored, &r, &header)) {
    WASMCACHE_RETURN_IF_ERROR(CheckCodeHeader(header, header_at, t));
  }
  // Name the part the input ends in.
  c.Seek(header_at + kCodeHeaderSize - 1);
  for (int p = 0; p < kNumCodeParts; ++p) {
    const uint64_t size = static_cast<uint32_t>(header.*kCodePartSizes[p]);
    WASMCACHE_RETURN_IF_ERROR(c.Need(size, section::kCode, kCodePartNames[p]));
    c.Skip(size);
  }
  return InternalError(section::kFunction, "record error not found", record_at);
}

// Reads the function records, the budgets and the trailer after the
// headers; errors go to s.error. `on_code` sees each TurboFan record as
// soon as it is read (in s.codes, reserved for every function, so it never
// moves); returning false stops the walk (s.stopped). `ensure(end)` is
// called before the walk reads bytes up to file offset `end` (a record's
// tag and code header, the tiering budgets and trailer); returning false
// stops the walk too.
template <class Ensure, class OnCode>
void ReadRecords(const AnalysisContext& ctx, Structure& s, Cursor& c,
                 uint64_t total_at, Ensure&& ensure, OnCode&& on_code) {
  const ArchTraits& t = ctx.traits;
  const uint32_t n = ctx.module.num_declared_functions;
  s.states.reserve(n);
  s.code_of_declared.reserve(n);
  s.codes.reserve(n);
  uint64_t& code_total = s.code_total;
  auto fail = [&](absl::Status status) {
    s.error = std::move(status);
    s.codes_before_error = s.codes.size();
  };
  const uint64_t first_record_at = c.offset();
  // Each record's place depends on the header before it, so the walk would
  // wait for memory at every record. The records lie one after another: the
  // bytes ahead of the walk are fetched while it reads the current ones
  // (measured: 25% less time for the whole load of the 100,000-function
  // cache on one thread).
  const uint8_t* const base = c.here() - c.offset();
  const uint64_t end = c.offset() + c.remaining();
  uint64_t fetched = c.offset();
  constexpr uint64_t kAhead = 16 * 1024;
  for (uint32_t i = 0; i < n; ++i) {
    for (const uint64_t until = std::min(end, c.offset() + kAhead);
         fetched < until; fetched += 64) {
      __builtin_prefetch(base + fetched);
    }
    const uint64_t record_at = c.offset();
    if (!ensure(record_at + kCodeHeaderSize)) {
      s.stopped = true;
      return;
    }
    uint8_t tag = 0;
    CodeRecord parsed;
    CodeHeader header;
    if (!TryParseRecord(t, c, &tag, &parsed, &header)) {
      c.Seek(record_at);
      fail(RecordError(ctx, c, i));
      return;
    }
    switch (static_cast<FunctionTag>(tag)) {
      case FunctionTag::kLazy:
        s.states.push_back(FunctionState::kLazy);
        s.code_of_declared.push_back(-1);
        continue;
      case FunctionTag::kEager:
        s.states.push_back(FunctionState::kEager);
        s.code_of_declared.push_back(-1);
        continue;
      case FunctionTag::kTurboFan:
        s.states.push_back(FunctionState::kTurboFan);
        s.code_of_declared.push_back(static_cast<int32_t>(s.codes.size()));
        break;
    }
    CodeRecord& r = s.codes.emplace_back(parsed);
    r.declared = i;
    r.arena_offset = s.metadata_bytes;
    s.metadata_bytes += r.metadata_size;
    code_total += r.instructions_size;
    if (!on_code(r)) {
      s.stopped = true;
      return;
    }
  }
  const uint64_t budgets_at = c.offset();
  if (!ensure(end)) {
    s.stopped = true;
    return;
  }
  if (absl::Status st =
          c.NeedRepeated(n, kTieringBudgetSize, section::kTieringBudget,
                         "the tiering budgets");
      !st.ok()) {
    fail(std::move(st));
    return;
  }
  s.budgets.resize(n);
  for (uint32_t i = 0; i < n; ++i) s.budgets[i] = c.U32();
  (void)budgets_at;
  if (c.remaining() != 0) {
    fail(MalformedError(section::kTrailer,
                        absl::StrFormat("%d bytes after the tiering "
                                        "budgets",
                                        c.remaining()),
                        c.offset()));
    return;
  }
  if (code_total != s.module_header.total_code_size) {
    fail(MalformedError(
        section::kModuleHeader,
        absl::StrFormat("total code size %d but the "
                        "functions hold %d",
                        s.module_header.total_code_size, code_total),
        total_at));
    return;
  }
  if (s.codes.empty()) {
    fail(MalformedError(section::kFunction,
                        "no TurboFan function (V8 never writes such a "
                        "cache)",
                        n == 0 ? c.offset() : first_record_at));
    return;
  }
}

// Reads everything but the code. An error before the first function record
// is returned; later ones are kept in Structure::error.
absl::StatusOr<Structure> ReadStructure(absl::Span<const uint8_t> cache,
                                        const AnalysisContext& ctx) {
  Structure s;
  Cursor c(cache, ctx.traits.byte_order, ctx.traits.word_size);
  uint64_t total_at = 0;
  WASMCACHE_RETURN_IF_ERROR(ReadHeaders(cache, ctx, s, c, &total_at));
  ReadRecords(
      ctx, s, c, total_at, [](uint64_t) { return true; },
      [](const CodeRecord&) { return true; });
  return s;
}

// --- Batches -----------------------------------------------------------------

struct Batch {
  size_t first = 0;  // TurboFan record indices [first, end)
  size_t end = 0;
};

std::vector<Batch> MakeBatches(const Structure& s, size_t count, int threads) {
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    total += s.codes[i].instructions_size;
  }
  // Enough batches to balance the threads, each with enough code to make
  // a task worth its scheduling.
  const uint64_t target =
      std::max<uint64_t>(64 * 1024, total / (uint64_t{16} * threads));
  std::vector<Batch> batches;
  Batch b;
  uint64_t bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    bytes += s.codes[i].instructions_size;
    if (bytes >= target) {
      b.end = i + 1;
      batches.push_back(b);
      b.first = i + 1;
      bytes = 0;
    }
  }
  if (b.first < count) {
    b.end = count;
    batches.push_back(b);
  }
  return batches;
}

// The first error of each batch; the earliest batch's wins.
class FirstError {
 public:
  explicit FirstError(size_t batches) : errors_(batches) {}
  void Set(size_t batch, absl::Status status) {
    errors_[batch] = std::move(status);
    size_t current = first_.load(std::memory_order_relaxed);
    while (batch < current && !first_.compare_exchange_weak(
                                  current, batch, std::memory_order_relaxed)) {
    }
  }
  // Batches after a failed one need not run.
  bool Skip(size_t batch) const {
    return batch > first_.load(std::memory_order_relaxed);
  }
  absl::Status Get() const {
    const size_t first = first_.load();
    return first < errors_.size() ? errors_[first] : absl::OkStatus();
  }

 private:
  std::vector<absl::Status> errors_;
  std::atomic<size_t> first_{SIZE_MAX};
};

// The parts of record `r`, whose header the caller holds in `header`.
FunctionCode CodeOf(absl::Span<const uint8_t> cache, const CodeRecord& r,
                    const CodeHeader& header) {
  return {&header, cache.data() + r.instructions_offset,
          cache.data() + r.metadata_offset(), r.instructions_offset,
          r.metadata_offset()};
}

// The cache of DeserializeFile as the pipelined load reads it: an
// anonymous mapping of the file's size, filled from the file in chunks as
// the walk reaches them. The load drops the pages below the oldest batch
// still loading (they read as zeros after that), so only about the reading
// window is resident at a time. Every byte is read from the file once.
class StreamedCache {
 public:
  // The file is read in whole chunks (fewer system calls; the walk runs
  // ahead of the batches by about a chunk at least): 256 KiB, or the
  // window rounded up to a page if that is less, so that a read never
  // runs further ahead than the window allows.
  static constexpr uint64_t kMaxChunk = 256 * 1024;

  StreamedCache(const CacheFile& file, uint64_t window)
      : file_(file), chunk_(std::min(kMaxChunk, AlignUp(window, PageSize()))) {
    size_ = file.size();
    if (size_ == 0) return;
    void* base = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base != MAP_FAILED) base_ = static_cast<uint8_t*>(base);
  }
  ~StreamedCache() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  StreamedCache(const StreamedCache&) = delete;
  StreamedCache& operator=(const StreamedCache&) = delete;

  bool ok() const { return base_ != nullptr; }
  absl::Span<const uint8_t> bytes() const { return {base_, size_}; }
  uint64_t filled() const { return filled_; }
  uint64_t max_resident() const { return max_resident_; }
  uint64_t chunk() const { return chunk_; }

  // Reads the file through offset `through` (in whole chunks, up to the
  // end); false if the file refused or has become shorter.
  bool Fill(uint64_t through) {
    through = std::min(through, size_);
    if (through <= filled_) return true;
    const uint64_t to = std::min(size_, AlignUp(through, chunk_));
    PopulateForWriting(base_, filled_, to);
    if (!file_.ReadAt(filled_, to - filled_, base_ + filled_).ok()) {
      return false;
    }
    filled_ = to;
    max_resident_ = std::max(max_resident_, filled_ - released_);
    return true;
  }
  // Drops the pages wholly below file offset `offset`.
  void Release(uint64_t offset) {
    const uint64_t to = std::min(offset, filled_) / PageSize() * PageSize();
    if (to <= released_) return;
    madvise(base_ + released_, to - released_, MADV_DONTNEED);
    released_ = to;
  }

 private:
  const CacheFile& file_;
  const uint64_t chunk_;
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint64_t filled_ = 0;
  uint64_t released_ = 0;  // page-aligned
  uint64_t max_resident_ = 0;
};

// Checks the code of the first `count` TurboFan records in parallel.
absl::Status AnalyzeOnly(absl::Span<const uint8_t> cache,
                         const AnalysisContext& ctx, const Structure& s,
                         size_t count, const LoadOptions& options) {
  const int threads = ThreadsOf(options);
  const std::vector<Batch> batches = MakeBatches(s, count, threads);
  FirstError error(batches.size());
  PoolOf(options).Run(
      batches.size(),
      [&](size_t b, int) {
        if (error.Skip(b)) return;
        std::vector<Site> sites;
        for (size_t i = batches[b].first; i < batches[b].end; ++i) {
          const CodeHeader header =
              CodeHeaderAt(cache, s.codes[i], ctx.traits.byte_order);
          absl::Status st =
              AnalyzeFunction(ctx, CodeOf(cache, s.codes[i], header), sites);
          if (!st.ok()) {
            error.Set(b, std::move(st));
            return;
          }
        }
      },
      threads);
  return error.Get();
}

}  // namespace

// --- Loading -----------------------------------------------------------------

// Builds a NativeModule (a friend of it and of the code manager).
class Loader {
 public:
  Loader(CodeManager& manager, absl::Span<const uint8_t> cache,
         const AnalysisContext& ctx, Structure& s, const LoadOptions& options)
      : manager_(manager),
        cache_(cache),
        ctx_(ctx),
        s_(s),
        options_(options),
        t_(ctx.traits) {}

  // Reads the cache from `stream` as the pipelined load goes, at most about
  // `window` bytes ahead of the oldest batch still loading.
  void StreamFrom(StreamedCache* stream, uint64_t window) {
    stream_ = stream;
    window_ = window;
  }
  // Reserves and places; kResourceExhausted when space cannot be had.
  absl::Status Plan();
  // Copies, relocates and checks all code; writes the tables.
  absl::Status Load();
  std::unique_ptr<NativeModule> Publish();

  // The pipelined load: while one thread walks the records (after the
  // headers, at `c`), the others check, copy and relocate the batches it
  // has placed. Only for a module whose code fits one code space even in
  // the worst case; returns nullopt (with nothing kept) when that turns
  // out not to hold, for the caller to load the plain way. Otherwise
  // returns the outcome the plain load would have had. Streaming, a load
  // that fails returns some error, not necessarily the plain load's (the
  // bytes it would check again are gone), or nullopt.
  std::optional<absl::Status> LoadPipelined(Cursor& c, uint64_t total_at);

 private:
  TableLayout Tables(bool with_lazy) const;
  absl::Status Reserve(uint64_t size, CodeSpaceInfo& space);
  // Copies, checks and relocates TurboFan record `index` and makes its
  // WasmCode (codes_[index]).
  absl::Status LoadFunction(size_t index, std::vector<Site>& sites);
  // The module's WasmCode array, for `count` codes (storage only: the
  // loading threads construct the entries).
  void AllocateCodes(size_t count);
  void WriteTables(CodeSpaceInfo& space);
  uint64_t FunctionTarget(uint32_t declared) const;

  CodeManager& manager_;
  absl::Span<const uint8_t> cache_;
  const AnalysisContext& ctx_;
  Structure& s_;
  const LoadOptions& options_;
  const ArchTraits& t_;
  std::unique_ptr<NativeModule> module_;
  StreamedCache* stream_ = nullptr;
  uint64_t window_ = 0;
  // s_.codes.data(), taken before the loading threads start. In the
  // pipelined load the walk appends to s_.codes while the batches read the
  // records it has closed: the batches must not read the vector itself,
  // whose size the walk writes at every record (a cache line bouncing
  // between the cores for every function loaded).
  const CodeRecord* records_ = nullptr;
};

TableLayout Loader::Tables(bool with_lazy) const {
  return TablesOf(t_, ctx_.module.num_declared_functions,
                  ctx_.env.far_slot_builtins.size(), with_lazy);
}

absl::Status Loader::Reserve(uint64_t size, CodeSpaceInfo& space) {
  // 32-bit targets hold addresses in 4 bytes: the space must lie below
  // 4 GiB.
  void* base = MapCodeSpace(size, PROT_READ | PROT_WRITE,
                            t_.word_size == 8 ? 0 : uint64_t{1} << 32);
  if (base == MAP_FAILED) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("cannot reserve %d bytes of code space", size), 0);
  }
  space.base = static_cast<uint8_t*>(base);
  space.size = size;
  manager_.reserved_.fetch_add(size);
  return absl::OkStatus();
}

absl::Status Loader::Plan() {
  const uint32_t n = ctx_.module.num_declared_functions;
  const uint32_t builtins =
      static_cast<uint32_t>(ctx_.env.far_slot_builtins.size());
  // As every module made: above the critical committed size, the
  // embedder hears of it and Liftoff code may be flushed first.
  manager_.HandleMemoryPressure();
  module_.reset(new NativeModule(&manager_, ctx_.module, ctx_.env));
  NativeModule& m = *module_;

  uint64_t estimate = 0;
  for (const CodeRecord& r : s_.codes) {
    const uint64_t size = AlignUp(r.instructions_size, t_.code_alignment);
    if (size > t_.max_code_space_size / 2) {
      return LimitError(
          section::kCodeSpace,
          absl::StrFormat("function %d's code is over half a "
                          "code space",
                          ctx_.module.num_imported_functions + r.declared),
          r.instructions_offset);
    }
    estimate += size;
  }
  const TableLayout first_tables = Tables(true);
  const uint64_t lazy_bytes = uint64_t{n} * t_.lazy_compile_slot_size;
  WASMCACHE_ASSIGN_OR_RETURN(
      uint64_t size, CodeManager::ReservationSize(
                         ctx_.env.arch, estimate + lazy_bytes, n, builtins, 0));
  if (size < first_tables.end) {
    return LimitError(section::kCodeSpace,
                      "jump tables do not fit the code space", 0);
  }
  uint64_t reserved = 0;
  auto open_space = [&](uint64_t bytes, bool first) -> absl::Status {
    CodeSpaceInfo space;
    WASMCACHE_RETURN_IF_ERROR(Reserve(bytes, space));
    // Owned from here on (unmapped by the module's destructor).
    m.spaces_.push_back(std::move(space));
    const TableLayout l = Tables(first);
    CodeSpaceInfo& added = m.spaces_.back();
    PlaceTables(added, l, first);
    added.used = l.end;
    reserved += bytes;
    return absl::OkStatus();
  };
  WASMCACHE_RETURN_IF_ERROR(open_space(size, true));
  uint64_t remaining = estimate;
  for (CodeRecord& r : s_.codes) {
    const uint64_t bytes = AlignUp(r.instructions_size, t_.code_alignment);
    if (m.spaces_.back().used + bytes > m.spaces_.back().size) {
      WASMCACHE_ASSIGN_OR_RETURN(
          uint64_t next, CodeManager::ReservationSize(ctx_.env.arch, remaining,
                                                      n, builtins, reserved));
      if (next < Tables(false).end + bytes) {
        return LimitError(section::kCodeSpace,
                          "a function does not fit a fresh code space",
                          r.instructions_offset);
      }
      WASMCACHE_RETURN_IF_ERROR(open_space(next, false));
    }
    CodeSpaceInfo& space = m.spaces_.back();
    r.space = static_cast<uint32_t>(m.spaces_.size() - 1);
    r.space_offset = space.used;
    space.used += bytes;
    remaining -= bytes;
  }
  uint64_t committed = 0;
  for (const CodeSpaceInfo& space : m.spaces_) {
    committed += AlignUp(space.used, PageSize());
  }
  if (!manager_.Commit(committed)) {
    // Nothing committed: the destructor must not release it.
    for (CodeSpaceInfo& space : m.spaces_) space.used = 0;
    return LimitError(section::kCodeSpace,
                      "over the committed code-space limit", 0);
  }
  return absl::OkStatus();
}

uint64_t Loader::FunctionTarget(uint32_t declared) const {
  const NativeModule& m = *module_;
  const int32_t code = s_.code_of_declared[declared];
  if (code < 0) return m.lazy_slot(declared);
  const CodeRecord& r = s_.codes[code];
  return m.spaces_[r.space].start() + r.space_offset;
}

void Loader::WriteTables(CodeSpaceInfo& space) {
  // Slot writers may read a slot before writing it. A read of a fresh page
  // maps the shared zero page, and the write that follows then replaces
  // it, flushing the TLB of every thread of the process: fault the tables'
  // pages in writable first (or write their zeros, if that is refused).
  if (!PopulateForWriting(space.base, 0, space.tables_end)) {
    std::memset(space.base, 0, space.tables_end);
  }
  fast::WriteTables(*module_, ctx_.ops, space,
                    [this](uint32_t i) { return FunctionTarget(i); });
}

absl::Status Loader::LoadFunction(size_t index, std::vector<Site>& sites) {
  const CodeRecord& r = records_[index];
  NativeModule& m = *module_;
  WasmCode& published = *new (&m.codes_[index]) WasmCode;
  published.header_ = CodeHeaderAt(cache_, r, t_.byte_order);
  const FunctionCode fn = CodeOf(cache_, r, published.header_);
  const CodeSpaceInfo& space = m.spaces_[r.space];
  uint8_t* const code = space.base + r.space_offset;
  const uint64_t address = space.start() + r.space_offset;
  const uint32_t size = r.instructions_size;
  uint8_t* const metadata = m.metadata_.data() + r.arena_offset;
  published.module_ = &m;
  published.index_ = ctx_.module.num_imported_functions + r.declared;
  published.instructions_ = code;
  published.metadata_ = metadata;
  m.table_[r.declared] = &published;
  // Copy first: the checks then read bytes the copy brought into the cache
  // (a failed check discards the whole module).
  std::memcpy(code, fn.instructions, size);
  std::memcpy(metadata, fn.reloc_info, r.metadata_size);
  WASMCACHE_RETURN_IF_ERROR(AnalyzeFunction(ctx_, fn, sites));
  return RelocateSites(ctx_, code, address, sites,
                       space.start() + space.near_offset,
                       space.start() + space.far_offset, r.instructions_offset);
}

void Loader::AllocateCodes(size_t count) {
  NativeModule& m = *module_;
  m.codes_memory_ = LargeBuffer(count * sizeof(WasmCode));
  m.codes_ = reinterpret_cast<WasmCode*>(m.codes_memory_.data());
}

absl::Status Loader::Load() {
  NativeModule& m = *module_;
  m.metadata_ = LargeBuffer(s_.metadata_bytes);
  AllocateCodes(s_.codes.size());
  records_ = s_.codes.data();
  const int threads = ThreadsOf(options_);
  const std::vector<Batch> batches = MakeBatches(s_, s_.codes.size(), threads);
  FirstError error(batches.size());
  // Task 0 writes the jump tables; tasks 1.. are the batches.
  PoolOf(options_).Run(
      batches.size() + 1,
      [&](size_t task, int) {
        if (task == 0) {
          for (CodeSpaceInfo& space : m.spaces_) WriteTables(space);
          return;
        }
        const size_t b = task - 1;
        if (error.Skip(b)) return;
        std::vector<Site> sites;
        for (size_t i = batches[b].first; i < batches[b].end; ++i) {
          absl::Status st = LoadFunction(i, sites);
          if (!st.ok()) {
            error.Set(b, std::move(st));
            return;
          }
        }
      },
      threads);
  return error.Get();
}

std::unique_ptr<NativeModule> Loader::Publish() {
  NativeModule& m = *module_;
  m.global_header_ = s_.header;
  m.module_header_ = std::move(s_.module_header);
  m.tiering_budgets_ = std::move(s_.budgets);
  m.function_states_ = std::move(s_.states);
  m.num_codes_ = s_.codes.size();
  m.metadata_size_ = s_.metadata_bytes;
  m.generated_code_size_ = s_.code_total;
  // Code is placed in file order, space after space: codes_ is in address
  // order unless a later space lies below an earlier one.
  bool ordered = true;
  for (size_t i = 1; i < m.spaces_.size(); ++i) {
    ordered = ordered && m.spaces_[i - 1].start() < m.spaces_[i].start();
  }
  if (!ordered) {
    m.by_address_.reserve(m.num_codes_);
    for (uint32_t c = 0; c < m.num_codes_; ++c) {
      m.by_address_.emplace_back(m.codes_[c].instruction_start(), c);
    }
    std::sort(m.by_address_.begin(), m.by_address_.end());
  }
  // Write access ends here: the code gets its resting permissions
  // (read-execute, or under the manager's protection key), the rest of each
  // reservation becomes inaccessible, and each space becomes the allocator
  // of code added later.
  for (CodeSpaceInfo& space : m.spaces_) {
    const uint64_t committed = AlignUp(space.used, PageSize());
    __builtin___clear_cache(reinterpret_cast<char*>(space.base),
                            reinterpret_cast<char*>(space.base + space.used));
    manager_.protection_.CommitPages(space.base, committed);
    if (committed < space.size) {
      mprotect(space.base + committed, space.size - committed, PROT_NONE);
      madvise(space.base + committed, space.size - committed, MADV_DONTNEED);
    }
    space.memory = CodeSpace::Adopt(
        space.base, space.size, space.used, t_.code_alignment,
        &manager_.protection_,
        [manager = &manager_](int64_t delta) { return manager->Account(delta); });
  }
  manager_.Register(&m);
  return std::move(module_);
}

std::optional<absl::Status> Loader::LoadPipelined(Cursor& c,
                                                  uint64_t total_at) {
  const uint32_t n = ctx_.module.num_declared_functions;
  const uint32_t builtins =
      static_cast<uint32_t>(ctx_.env.far_slot_builtins.size());
  const uint64_t declared_total = s_.module_header.total_code_size;
  // Worst case: every function padded to the alignment.
  const uint64_t worst = declared_total + uint64_t{n} * (t_.code_alignment - 1);
  const TableLayout tables = Tables(true);
  if (tables.end + worst > t_.max_code_space_size / 2) return std::nullopt;
  auto size = CodeManager::ReservationSize(
      ctx_.env.arch, worst + uint64_t{n} * t_.lazy_compile_slot_size, n,
      builtins, 0);
  if (!size.ok() || *size < tables.end + worst) return std::nullopt;

  // As every module made: above the critical committed size, the
  // embedder hears of it and Liftoff code may be flushed first.
  manager_.HandleMemoryPressure();
  module_.reset(new NativeModule(&manager_, ctx_.module, ctx_.env));
  NativeModule& m = *module_;
  CodeSpaceInfo space;
  if (!Reserve(*size, space).ok()) {
    module_.reset();
    return std::nullopt;
  }
  PlaceTables(space, tables, true);
  space.used = tables.end;
  m.spaces_.push_back(std::move(space));
  // The parts other than the instructions are a subset of the cache (only
  // the pages written are ever resident).
  m.metadata_ = LargeBuffer(cache_.size());
  // At most one code per function (pages past the last are never touched).
  AllocateCodes(n);
  s_.codes.reserve(n);  // never to move (ReadRecords reserves as much)
  records_ = s_.codes.data();

  const int threads = ThreadsOf(options_);
  // About 64 batches per thread: the threads finish within a small batch
  // of each other (with 16, the last batch of the 100,000-function load
  // left one thread idle for about half a millisecond).
  const uint64_t target =
      std::max<uint64_t>(64 * 1024, declared_total / (uint64_t{64} * threads));
  // Batches as the walk closes them: [batch_end[k-1], batch_end[k]).
  const size_t max_batches = declared_total / target + 2;
  std::vector<size_t> batch_end(max_batches);
  std::atomic<size_t> batches_ready{0};
  std::atomic<size_t> next_batch{0};
  std::atomic<bool> walk_done{false};
  // Set by whoever loads a batch, when it is done (or skipped).
  std::unique_ptr<std::atomic<uint8_t>[]> done(
      new std::atomic<uint8_t>[max_batches]());
  bool overflow = false;
  bool read_failed = false;  // streaming: the file refused a read
  FirstError error(max_batches);
  CodeSpaceInfo& placed = m.spaces_.front();
  size_t closed = 0;
  // Buffers on huge pages are faulted in by the walk, a huge page at a
  // time, as it places records in them: the batches then take no faults
  // there, and no two threads wait on the same huge page being cleared.
  // On base pages each batch faults in its own ranges instead (measured on
  // the 100,000-function load, one thread: 25.7 ms on base pages, 17.1 ms
  // with the code space on huge pages).
  HugePopulator code_pages(placed.base, placed.size,
                           WorthHugePages(placed.size));
  HugePopulator code_objects(
      reinterpret_cast<uint8_t*>(m.codes_), m.codes_memory_.size(),
      m.codes_memory_.huge());
  HugePopulator metadata_pages(m.metadata_.data(), m.metadata_.size(),
                               m.metadata_.huge());

  auto close_batch = [&](size_t end) {
    if (closed == max_batches) return false;
    batch_end[closed] = end;
    batches_ready.store(++closed, std::memory_order_release);
    return true;
  };
  // Loads batch b (the walk has closed it).
  auto run_batch = [&](size_t b, std::vector<Site>& sites) {
    const size_t first = b == 0 ? 0 : batch_end[b - 1];
    // The pages the batch's code and metadata go to, at once (measured
    // on the 100,000-function load, runs alternating with and without:
    // 3-8% less time for the code's, 3-4% more for the metadata's, on
    // one thread and on two). A batch is empty when the walk failed
    // before any code.
    if (!error.Skip(b) && batch_end[b] > first) {
      const CodeRecord& from = records_[first];
      const CodeRecord& last = records_[batch_end[b] - 1];
      if (!code_pages.on()) {
        PopulateForWriting(placed.base, from.space_offset,
                           last.space_offset + last.instructions_size);
      }
      if (!metadata_pages.on()) {
        PopulateForWriting(m.metadata_.data(), from.arena_offset,
                           last.arena_offset + last.metadata_size);
      }
      for (size_t i = first; i < batch_end[b]; ++i) {
        absl::Status st = LoadFunction(i, sites);
        if (!st.ok()) {
          error.Set(b, std::move(st));
          break;
        }
      }
    }
    done[b].store(1, std::memory_order_release);
  };

  // Streaming only (the walk thread's): batches [0, finished) are done,
  // and the file is read no further than window_ past the first record
  // not yet loaded while a closed batch is still loading; the walk thread
  // loads batches itself meanwhile.
  size_t finished = 0;
  std::vector<Site> walk_sites;
  const Structure* walked = &s_;  // the walk's copy, while it runs
  auto first_unloaded_at = [&]() -> uint64_t {
    while (finished < closed && done[finished].load(std::memory_order_acquire)) {
      ++finished;
    }
    const size_t first = finished == 0 ? 0 : batch_end[finished - 1];
    if (first < walked->codes.size()) {
      return records_[first].instructions_offset - kCodeHeaderSize;
    }
    if (walked->codes.empty()) return 0;
    const CodeRecord& last = walked->codes.back();
    return last.metadata_offset() + last.metadata_size;
  };
  auto claim_ready_batch = [&](size_t* b) {
    *b = next_batch.load(std::memory_order_relaxed);
    while (*b < closed) {
      if (next_batch.compare_exchange_weak(*b, *b + 1,
                                           std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  };
  auto read_through = [&](uint64_t end) {
    if (stream_ == nullptr || end <= stream_->filled()) return true;
    for (;;) {
      const uint64_t low = first_unloaded_at();
      stream_->Release(low);
      if (finished == closed || stream_->filled() <= low + window_) break;
      size_t b;
      if (claim_ready_batch(&b)) {
        run_batch(b, walk_sites);
      } else {
        std::this_thread::yield();
      }
    }
    if (stream_->Fill(end)) return true;
    read_failed = true;
    return false;
  };

  auto walk = [&] {
    // What the walk writes at every record stays on its own stack until it
    // ends: the cursor, the structure's sizes and totals, the space's
    // `used`. They lie next to what the batches read for every function
    // (the loader, the analysis context, the space's layout), and each
    // write would take the line away from the core loading (measured on
    // the 100,000-function load, two threads, 14 processes of each
    // alternating: medians of 8.7-10.8 ms against 9.8-11.8 ms).
    Cursor cursor = c;
    Structure s = std::move(s_);
    walked = &s;
    uint64_t used = placed.used;
    uint64_t batch_bytes = 0;
    ReadRecords(ctx_, s, cursor, total_at, read_through, [&](CodeRecord& r) {
      // The whole record before its batch can close.
      if (!read_through(r.metadata_offset() + r.metadata_size)) return false;
      const uint64_t bytes = AlignUp(r.instructions_size, t_.code_alignment);
      if (used + bytes > tables.end + worst) {
        overflow = true;  // the header's total was wrong: walk no further
        return false;
      }
      r.space = 0;
      r.space_offset = used;
      used += bytes;
      code_pages.Reach(used);
      code_objects.Reach(s.codes.size() * sizeof(WasmCode));
      metadata_pages.Reach(r.arena_offset + r.metadata_size);
      batch_bytes += bytes;
      if (batch_bytes >= target) {
        batch_bytes = 0;
        if (!close_batch(s.codes.size())) {
          overflow = true;
          return false;
        }
      }
      return true;
    });
    placed.used = used;
    c = cursor;
    s_ = std::move(s);
    walked = &s_;
    const size_t count =
        s_.error.ok() ? s_.codes.size() : s_.codes_before_error;
    if (!overflow && (closed == 0 || batch_end[closed - 1] < count) &&
        !close_batch(count)) {
      overflow = true;
    }
    walk_done.store(true, std::memory_order_release);
    // Every function's place is known: the tables, while the batches run.
    if (!overflow && s_.error.ok()) WriteTables(placed);
  };
  auto work = [&] {
    std::vector<Site> sites;
    for (;;) {
      const size_t b = next_batch.fetch_add(1, std::memory_order_relaxed);
      // Wait for the walk to close batch b, or to end without it.
      while (batches_ready.load(std::memory_order_acquire) <= b) {
        if (walk_done.load(std::memory_order_acquire) &&
            batches_ready.load(std::memory_order_acquire) <= b) {
          return;
        }
        std::this_thread::yield();
      }
      run_batch(b, sites);
    }
  };
  PoolOf(options_).Run(
      threads,
      [&](size_t task, int) {
        if (task == 0) walk();
        work();
      },
      threads);
  // Nothing is committed until the end: the module must not release it.
  auto uncommitted = [&](absl::Status status) {
    placed.used = 0;
    return status;
  };
  if (overflow || read_failed) {
    placed.used = 0;
    module_.reset();
    return std::nullopt;
  }
  if (stream_ != nullptr && (!error.Get().ok() || !s_.error.ok())) {
    // The verdict needs the bytes again: the caller loads the whole file.
    return uncommitted(absl::AbortedError("the streamed load failed"));
  }
  // The input decides first: the earliest error in the code, then the
  // structure's; a site out of reach (kInternal) only if the whole code is
  // otherwise valid (as in the plain load).
  absl::Status code_error = error.Get();
  if (!code_error.ok() && code_error.code() != absl::StatusCode::kDataLoss) {
    const size_t count =
        s_.error.ok() ? s_.codes.size() : s_.codes_before_error;
    if (absl::Status st = AnalyzeOnly(cache_, ctx_, s_, count, options_);
        !st.ok()) {
      code_error = std::move(st);
    }
  }
  if (!code_error.ok() && code_error.code() == absl::StatusCode::kDataLoss) {
    return uncommitted(code_error);
  }
  if (!s_.error.ok()) return uncommitted(s_.error);
  if (!code_error.ok()) return uncommitted(code_error);
  for (const CodeRecord& r : s_.codes) {
    if (AlignUp(r.instructions_size, t_.code_alignment) >
        t_.max_code_space_size / 2) {
      return uncommitted(LimitError(section::kCodeSpace,
                                    "a function's code is over half a code "
                                    "space",
                                    r.instructions_offset));
    }
  }
  if (!manager_.Commit(AlignUp(placed.used, PageSize()))) {
    return uncommitted(LimitError(section::kCodeSpace,
                                  "over the committed code-space limit", 0));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<NativeModule>> Deserialize(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    const ModuleInfo& module, const Environment& env,
    const LoadOptions& options) {
  WASMCACHE_RETURN_IF_ERROR(ValidateEnvironment(env, module));
  const AnalysisContext ctx(module, env);
  {
    Structure s;
    Cursor c(cache, ctx.traits.byte_order, ctx.traits.word_size);
    uint64_t total_at = 0;
    WASMCACHE_RETURN_IF_ERROR(ReadHeaders(cache, ctx, s, c, &total_at));
    Loader loader(manager, cache, ctx, s, options);
    if (std::optional<absl::Status> outcome =
            loader.LoadPipelined(c, total_at)) {
      WASMCACHE_RETURN_IF_ERROR(*outcome);
      return loader.Publish();
    }
  }
  WASMCACHE_ASSIGN_OR_RETURN(Structure s, ReadStructure(cache, ctx));
  Loader loader(manager, cache, ctx, s, options);
  absl::Status resources = s.error.ok() ? loader.Plan() : absl::OkStatus();
  if (!s.error.ok() || !resources.ok()) {
    // The input decides first: errors in the code before the structural
    // error, then the structural error, then the lack of resources.
    const size_t count = s.error.ok() ? s.codes.size() : s.codes_before_error;
    WASMCACHE_RETURN_IF_ERROR(AnalyzeOnly(cache, ctx, s, count, options));
    WASMCACHE_RETURN_IF_ERROR(s.error);
    return resources;
  }
  if (absl::Status loaded = loader.Load(); !loaded.ok()) {
    // A site out of reach (kInternal) is found while loading, but an input
    // error anywhere in the code comes first, as in the reference.
    if (loaded.code() != absl::StatusCode::kDataLoss) {
      WASMCACHE_RETURN_IF_ERROR(
          AnalyzeOnly(cache, ctx, s, s.codes.size(), options));
    }
    return loaded;
  }
  return loader.Publish();
}

absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeWithWireBytes(
    CodeManager& manager, absl::Span<const uint8_t> cache,
    absl::Span<const uint8_t> wire_bytes, const Environment& env,
    const LoadOptions& options) {
  WASMCACHE_ASSIGN_OR_RETURN(ModuleInfo module, DecodeModuleInfo(wire_bytes));
  return Deserialize(manager, cache, module, env, options);
}

absl::StatusOr<std::unique_ptr<NativeModule>> DeserializeFile(
    CodeManager& manager, const std::string& path, const ModuleInfo& module,
    const Environment& env, const LoadOptions& options) {
  WASMCACHE_RETURN_IF_ERROR(ValidateEnvironment(env, module));
  WASMCACHE_ASSIGN_OR_RETURN(CacheFile file, CacheFile::Open(path));
  constexpr uint64_t kDefaultWindow = 1024 * 1024;
  const uint64_t window = options.file_window_bytes != 0
                              ? options.file_window_bytes
                              : kDefaultWindow;
  FileLoadStats stats;
  {
    StreamedCache stream(file, window);
    const AnalysisContext ctx(module, env);
    Structure s;
    Cursor c(stream.bytes(), ctx.traits.byte_order, ctx.traits.word_size);
    uint64_t total_at = 0;
    // The headers, as far as they reach (their lengths are inside them).
    bool headers = false;
    for (uint64_t need = stream.chunk(); stream.ok() && stream.Fill(need);) {
      s = Structure();
      c = Cursor(stream.bytes(), ctx.traits.byte_order, ctx.traits.word_size);
      if (!ReadHeaders(stream.bytes(), ctx, s, c, &total_at).ok()) break;
      if (c.offset() <= stream.filled()) {
        headers = true;
        break;
      }
      need = c.offset();
    }
    if (headers) {
      Loader loader(manager, stream.bytes(), ctx, s, options);
      loader.StreamFrom(&stream, window);
      std::optional<absl::Status> outcome = loader.LoadPipelined(c, total_at);
      if (outcome.has_value() && outcome->ok()) {
        if (options.file_stats != nullptr) {
          *options.file_stats = {true, stream.filled(), stream.max_resident()};
        }
        return loader.Publish();
      }
    }
    stats.bytes_read = stream.filled();
    stats.max_resident_bytes = stream.max_resident();
  }
  // The plain load, or the verdict on a cache with an error: from the
  // whole file, read anew.
  WASMCACHE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, file.ReadAll());
  stats.bytes_read += bytes.size();
  stats.max_resident_bytes =
      std::max<uint64_t>(stats.max_resident_bytes, bytes.size());
  if (options.file_stats != nullptr) *options.file_stats = stats;
  return Deserialize(manager, bytes, module, env, options);
}

absl::Status CheckCache(absl::Span<const uint8_t> cache,
                        const ModuleInfo& module, const Environment& env,
                        const LoadOptions& options) {
  WASMCACHE_RETURN_IF_ERROR(ValidateEnvironment(env, module));
  const AnalysisContext ctx(module, env);
  WASMCACHE_ASSIGN_OR_RETURN(Structure s, ReadStructure(cache, ctx));
  const size_t count = s.error.ok() ? s.codes.size() : s.codes_before_error;
  WASMCACHE_RETURN_IF_ERROR(AnalyzeOnly(cache, ctx, s, count, options));
  return s.error;
}

}  // namespace wasmcache::fast
