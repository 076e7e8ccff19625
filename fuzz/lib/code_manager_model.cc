#include "fuzz/lib/code_manager_model.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fast/deserializer.h"
#include "fast/module.h"
#include "fast/thread_pool.h"
#include "fuzz/lib/byte_source.h"
#include "fuzz/lib/finding.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "reference/jump_table.h"
#include "reference/native_module.h"
#include "reference/wasm_code.h"
#include "spec/arch.h"
#include "spec/environment.h"
#include "spec/layout.h"
#include "spec/module_info.h"
#include "synth/synth.h"

// The model's own bookkeeping and checks are not coverage feedback: their
// loops would give the engine thousands of features that only count code
// objects and slots. The library they call stays instrumented.
#if defined(__clang__)
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

namespace wasmcache::fuzz {
namespace {

using RemoveFilter = reference::NativeModule::RemoveFilter;

constexpr size_t kMaxModules = 4;
constexpr size_t kMaxCodes = 160;
constexpr size_t kMaxScopeDepth = 4;
constexpr uint32_t kMaxBatch = 8;
constexpr uint32_t kMaxDeclared = 300;
constexpr uint32_t kSmallModule = 24;
constexpr uint32_t kMaxCacheFunctions = 16;
constexpr int kFullCheckEvery = 16;
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kCommittedLimits[4] = {uint64_t{4095} << 20, 128 * kKiB,
                                          512 * kKiB, 2048 * kKiB};

// Hand-made code: an empty safepoint table (12 zero bytes: no stack slots,
// no entries, configuration 0) at the last 4-aligned offset that fits, an
// empty handler table after it, no relocation entries. The parser's rules
// accept it for every target.
constexpr uint32_t kEmptySafepointTableSize = 12;
constexpr uint32_t kSmallSizeClasses = 224;

constexpr const char* kOpNames[kNumCodeManagerOps] = {
    "new-module",  "add-code",    "publish",   "drop-unpublished",
    "remove-code", "free-module", "lookup",    "get-code",
    "open-scope",  "close-scope", "load-cache"};

constexpr const char* kFilterNames[4] = {"debug", "non-debug", "liftoff",
                                         "turbofan"};

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

uint64_t PageSize() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

uint32_t SafepointTableOffset(uint32_t size) {
  return (size - kEmptySafepointTableSize) / 4 * 4;
}

// Instruction bytes of hand-made code: 8-byte words holding the code's
// seed and the word's offset (so a misplaced, shifted or overlapping copy
// shows), with the empty safepoint table.
NO_COVERAGE std::vector<uint8_t> HandCodeBytes(uint32_t size, uint64_t seed) {
  std::vector<uint8_t> bytes(RoundUp(size, 8));
  for (uint64_t i = 0; i < bytes.size(); i += 8) {
    const uint64_t word = (seed << 32) ^ (i * 0x9E3779B97F4A7C15ull);
    std::memcpy(bytes.data() + i, &word, 8);
  }
  bytes.resize(size);
  std::fill_n(bytes.begin() + SafepointTableOffset(size),
              kEmptySafepointTableSize, 0);
  return bytes;
}

CodeHeader HandCodeHeader(uint32_t size, uint8_t tier) {
  CodeHeader header;
  const auto s = static_cast<int32_t>(size);
  header.instructions_size = s;
  header.unpadded_binary_size = s;
  header.constant_pool_offset = s;
  header.safepoint_table_offset =
      static_cast<int32_t>(SafepointTableOffset(size));
  header.handler_table_offset = header.safepoint_table_offset +
                                static_cast<int32_t>(kEmptySafepointTableSize);
  header.code_comments_offset = s;
  header.kind = kWasmFunctionKind;
  header.tier = tier;
  return header;
}

ModuleInfo HandModule(uint32_t num_declared) {
  ModuleInfo module;
  module.num_declared_functions = num_declared;
  module.is_signature = {true};
  module.structural_class = {0};
  module.declared_function_types.assign(num_declared, 0);
  return module;
}

// Whether the parser's rules accept hand-made code of this target and
// size. Each (target, size class) is checked once per process (the check
// validates the whole environment); the memo is static storage, so the
// heap does not grow from one input to the next.
NO_COVERAGE absl::Status CheckHandCodeShape(Arch arch, uint8_t size_class,
                                            uint32_t size) {
  enum : uint8_t { kUnknown, kAccepted, kRejected };
  static std::array<std::array<uint8_t, 256>, kNumArchs> memo{};
  uint8_t& known = memo[static_cast<int>(arch)][size_class];
  if (known == kAccepted) return absl::OkStatus();
  const ModuleInfo module = HandModule(1);
  const Environment env = DefaultEnvironment(arch, module);
  const std::vector<uint8_t> bytes = HandCodeBytes(size, 0);
  std::array<absl::Span<const uint8_t>, kNumCodeParts> parts{};
  parts[static_cast<int>(CodePart::kInstructions)] = bytes;
  const auto code = reference::PrepareCompiledCode(
      module, env, 0, HandCodeHeader(size, kTierTurboFan), parts);
  known = code.ok() ? kAccepted : kRejected;
  return code.status();
}

std::string Hex(uint64_t value) { return absl::StrFormat("0x%x", value); }

// --- The model's records ----------------------------------------------------

enum class CodeState : uint8_t {
  kUnpublished,  // added; the program holds its handle (one reference)
  kInstalled,    // in its module's code table (one reference)
  kDropped,      // out of the table, still owned: alive by scope references
  kOrphaned,     // handle dropped unpublished: region held, never owned
  kFreed,        // freed when its count reached zero
  kGone,         // its module was freed
  kFast,         // code of a fast module (alive with the module)
};

constexpr const char* kStateNames[] = {
    "unpublished", "installed", "dropped", "orphaned", "freed", "gone", "fast"};

struct ModuleRecord;

struct CodeRecord {
  int id = 0;
  ModuleRecord* module = nullptr;
  uint32_t declared = 0;
  uint64_t start = 0;
  uint64_t size = 0;
  uint64_t region = 0;  // size rounded to the code alignment
  uint8_t tier = kTierTurboFan;
  bool debug = false;
  bool loaded = false;  // from a cache (not hand-made)
  CodeState state = CodeState::kUnpublished;
  int scope_refs = 0;          // references held by open scopes
  std::vector<uint8_t> bytes;  // the instructions as they must stay
  std::unique_ptr<reference::WasmCode> handle;  // while unpublished
  reference::WasmCode* code = nullptr;          // while the reference owns it
  const fast::WasmCode* fast_code = nullptr;    // while kFast

  uint64_t end() const { return start + size; }
  bool owned() const {
    return state == CodeState::kInstalled || state == CodeState::kDropped;
  }
  // Alive in the reference: the object may be read.
  bool alive() const { return owned() || state == CodeState::kUnpublished; }
  int model_count() const {
    return (state == CodeState::kUnpublished || state == CodeState::kInstalled
                ? 1
                : 0) +
           scope_refs;
  }
};

struct SpaceRecord {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t tables = 0;  // the jump-table block
  uint64_t tables_end = 0;
};

struct ModuleRecord {
  int id = 0;
  bool fast = false;
  bool alive = true;
  Arch arch = Arch::kX64;
  uint32_t num_imported = 0;
  uint32_t num_declared = 0;
  std::unique_ptr<reference::NativeModule> ref;
  std::unique_ptr<fast::NativeModule> fast_module;
  std::vector<SpaceRecord> spaces;
  std::vector<CodeRecord*> table;  // installed code per declared function
  std::vector<reference::FunctionState> states;  // reference modules
  std::vector<CodeRecord*> pending;  // unpublished, in order of adding
  ModuleRecord* twin = nullptr;      // the other manager's copy of a cache
  bool all_slots_touched = false;
  std::set<uint32_t> touched_slots;

  const ArchTraits& traits() const { return TraitsOf(arch); }
};

// One run of a program.
class Program {
 public:
  explicit Program(absl::Span<const uint8_t> input)
      : in_(input),
        config_(in_.U8()),
        limit_(kCommittedLimits[(config_ >> 2) & 3]),
        ref_manager_(RefOptions(config_, limit_)),
        fast_manager_(fast::CodeManagerOptions{limit_}) {
    ref_manager_.SetMemoryPressureCallback([this] { ++callbacks_; });
  }

  CodeManagerRunStats Run() {
    CheckEverything();
    for (op_ = 0; op_ < kMaxCodeManagerOps && !in_.empty(); ++op_) {
      opcode_ = in_.U8() % kNumCodeManagerOps;
      const bool ran = Step(static_cast<CodeManagerOp>(opcode_));
      (ran ? stats_.ran : stats_.skipped)[opcode_]++;
      if ((op_ + 1) % kFullCheckEvery == 0) {
        CheckEverything();
      } else {
        CheckTouched();
      }
    }
    Teardown();
    stats_.pressure_notifications = static_cast<uint32_t>(notifications_);
    return stats_;
  }

 private:
  static reference::CodeManagerOptions RefOptions(uint8_t config,
                                                  uint64_t limit) {
    reference::CodeManagerOptions options;
    options.use_memory_protection_keys = (config & 1) != 0;
    options.flush_liftoff_code = (config & 2) != 0;
    options.max_committed_code_space = limit;
    return options;
  }

  [[noreturn]] void Fail(std::string_view what, const std::string& details) {
    const std::string where =
        teardown_ ? std::string("teardown")
        : opcode_ < 0
            ? std::string("setup")
            : absl::StrFormat("operation %d (%s)", op_, kOpNames[opcode_]);
    ReportFinding(absl::StrCat("code-manager-", std::string(what)),
                  absl::StrFormat("%s; config 0x%02x, committed limit %d\n%s",
                                  where, config_, limit_, details));
  }

  std::string Describe(const CodeRecord& r) const {
    return absl::StrFormat(
        "code #%d (%s, module #%d %s%s, function %d, [%s, %s), tier %d%s, "
        "scope refs %d)",
        r.id, kStateNames[static_cast<int>(r.state)], r.module->id,
        r.module->fast ? "fast " : "", ArchName(r.module->arch), r.declared,
        Hex(r.start), Hex(r.end()), r.tier, r.debug ? ", debug" : "",
        r.scope_refs);
  }
  std::string DescribeOr(const CodeRecord* r) const {
    return r == nullptr ? std::string("nothing") : Describe(*r);
  }

  // --- Operations -----------------------------------------------------------

  bool Step(CodeManagerOp op) {
    switch (op) {
      case CodeManagerOp::kNewModule:
        return NewModule();
      case CodeManagerOp::kAddCode:
        return AddCode();
      case CodeManagerOp::kPublish:
        return Publish();
      case CodeManagerOp::kDropUnpublished:
        return DropUnpublished();
      case CodeManagerOp::kRemoveCode:
        return RemoveCode();
      case CodeManagerOp::kFreeModule:
        return FreeModule();
      case CodeManagerOp::kLookup:
        return Lookup();
      case CodeManagerOp::kGetCode:
        return GetCode();
      case CodeManagerOp::kOpenScope:
        return OpenScope();
      case CodeManagerOp::kCloseScope:
        return CloseScope();
      case CodeManagerOp::kLoadCache:
        return LoadCache();
    }
    return false;
  }

  std::vector<ModuleRecord*> LiveModules(bool include_fast) const {
    std::vector<ModuleRecord*> out;
    for (const auto& m : modules_) {
      if (m->alive && (include_fast || !m->fast)) out.push_back(m.get());
    }
    return out;
  }

  ModuleRecord* PickModule(bool include_fast) {
    const uint8_t pick = in_.U8();
    std::vector<ModuleRecord*> live = LiveModules(include_fast);
    if (live.empty()) return nullptr;
    return live[pick % live.size()];
  }

  bool NewModule() {
    const Arch arch = static_cast<Arch>(in_.U8() % kNumArchs);
    // Mostly small modules (each function costs jump-table slots to
    // write and check), sometimes up to kMaxDeclared.
    const uint16_t shape = in_.U16();
    const uint32_t num_declared =
        1 + (shape & 0x8000 ? (shape & 0x7fff) % kMaxDeclared
                            : shape % kSmallModule);
    const uint64_t estimate = uint64_t{in_.U8()} * 256;
    if (LiveModules(true).size() >= kMaxModules) return false;
    ModuleInfo info = HandModule(num_declared);
    Environment env = DefaultEnvironment(arch, info);
    const PressureBefore pressure = BeforeNewModule();
    auto made =
        ref_manager_.NewNativeModule(std::move(info), std::move(env), estimate);
    AfterNewModule(pressure);
    if (!made.ok()) {
      ExpectExhausted(made.status(), "new-module-failed");
      ++stats_.add_failures;
      return true;
    }
    ModuleRecord& m = NewRecord(false, arch, 0, num_declared);
    m.ref = *std::move(made);
    m.states = m.ref->function_states;
    for (reference::FunctionState s : m.states) {
      if (s != reference::FunctionState::kLazy) {
        Fail("function-state", "a new module has a function not lazy");
      }
    }
    RefreshSpaces(m);
    return true;
  }

  bool AddCode() {
    ModuleRecord* m = PickModule(false);
    const uint32_t count = 1 + in_.U8() % kMaxBatch;
    struct Spec {
      uint32_t declared;
      uint8_t size_class;
      uint32_t size;
      uint8_t flags;
    };
    std::vector<Spec> specs;
    for (uint32_t i = 0; i < count; ++i) {
      Spec s;
      s.declared = in_.U16();
      s.size_class = in_.U8();
      s.size = s.size_class < kSmallSizeClasses
                   ? 12 + 4 * uint32_t{s.size_class}
                   : (s.size_class - kSmallSizeClasses + 1) * 1024;
      s.flags = in_.U8();
      specs.push_back(s);
    }
    if (m == nullptr || codes_.size() + count > kMaxCodes) return false;
    // Code without relocation sites needs nothing located or validated:
    // it is built here as PrepareCompiledCode would return it (that call
    // validates the environment each time, most of an input's cost).
    std::vector<std::vector<uint8_t>> bytes;
    std::vector<reference::CompiledCode> batch;
    for (Spec& s : specs) {
      s.declared %= m->num_declared;
      if (absl::Status shape =
              CheckHandCodeShape(m->arch, s.size_class, s.size);
          !shape.ok()) {
        Fail("hand-code-rejected",
             absl::StrFormat("%s, %d bytes: %s", ArchName(m->arch), s.size,
                             shape.ToString()));
      }
      bytes.push_back(HandCodeBytes(s.size, next_code_seed_++));
      reference::CompiledCode code;
      code.index = m->num_imported + s.declared;
      code.header =
          HandCodeHeader(s.size, (s.flags & 1) ? kTierLiftoff : kTierTurboFan);
      code.parts[static_cast<int>(CodePart::kInstructions)] = bytes.back();
      code.for_debugging = (s.flags & 2)
                               ? reference::ForDebugging::kForDebugging
                               : reference::ForDebugging::kNotForDebugging;
      batch.push_back(std::move(code));
    }
    auto added = m->ref->AddCompiledCode(batch);
    RefreshSpaces(*m);
    if (!added.ok()) {
      ExpectExhausted(added.status(), "add-code-failed");
      ++stats_.add_failures;
      return true;
    }
    if (added->size() != batch.size()) {
      Fail("add-code-count",
           absl::StrFormat("%d code objects for a batch of %d", added->size(),
                           batch.size()));
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      std::unique_ptr<reference::WasmCode>& code = (*added)[i];
      CodeRecord& r = NewCode(m);
      r.declared = specs[i].declared;
      r.start = code->instruction_start();
      r.size = specs[i].size;
      r.region = RoundUp(r.size, m->traits().code_alignment);
      r.tier = (specs[i].flags & 1) ? kTierLiftoff : kTierTurboFan;
      r.debug = (specs[i].flags & 2) != 0;
      r.bytes = std::move(bytes[i]);
      r.code = code.get();
      CheckNewCode(r, *code);
      r.handle = std::move(code);
      r.state = CodeState::kUnpublished;
      allocated_[r.start] = &r;
      m->pending.push_back(&r);
    }
    return true;
  }

  bool Publish() {
    ModuleRecord* m = PickModule(false);
    const uint8_t count_byte = in_.U8();
    const uint8_t rotation = in_.U8();
    const bool singly = (in_.U8() & 1) != 0;
    if (m == nullptr || m->pending.empty()) return false;
    const size_t n = m->pending.size();
    const size_t count = 1 + count_byte % n;
    std::vector<CodeRecord*> chosen;
    for (size_t i = 0; i < count; ++i) {
      chosen.push_back(m->pending[(rotation + i) % n]);
    }
    std::erase_if(m->pending, [&](CodeRecord* r) {
      return std::find(chosen.begin(), chosen.end(), r) != chosen.end();
    });
    if (singly) {
      for (CodeRecord* r : chosen) {
        std::vector<CodeRecord*> dropped;
        const bool installs = ModelPublish(*m, *r, dropped);
        reference::WasmCode* result = m->ref->PublishCode(std::move(r->handle));
        CheckPublished(*r, installs, result);
        ModelDropAll(dropped);
      }
      return true;
    }
    std::vector<std::unique_ptr<reference::WasmCode>> handles;
    std::vector<bool> installs;
    std::vector<CodeRecord*> dropped;
    for (CodeRecord* r : chosen) {
      installs.push_back(ModelPublish(*m, *r, dropped));
      handles.push_back(std::move(r->handle));
    }
    std::vector<reference::WasmCode*> results =
        m->ref->PublishCode(std::move(handles));
    if (results.size() != chosen.size()) {
      Fail("publish-count", absl::StrFormat("%d results for %d code objects",
                                            results.size(), chosen.size()));
    }
    for (size_t i = 0; i < chosen.size(); ++i) {
      CheckPublished(*chosen[i], installs[i], results[i]);
    }
    ModelDropAll(dropped);
    return true;
  }

  bool DropUnpublished() {
    ModuleRecord* m = PickModule(false);
    const uint8_t which = in_.U8();
    if (m == nullptr || m->pending.empty()) return false;
    CodeRecord* r = m->pending[which % m->pending.size()];
    std::erase(m->pending, r);
    r->handle.reset();
    r->code = nullptr;
    r->state = CodeState::kOrphaned;
    Touch(*r);
    return true;
  }

  bool RemoveCode() {
    ModuleRecord* m = PickModule(false);
    const auto filter = static_cast<RemoveFilter>(in_.U8() % 4);
    if (m == nullptr) return false;
    const size_t expected = ModelRemove(*m, filter);
    const size_t removed = m->ref->RemoveCompiledCode(filter);
    if (removed != expected) {
      Fail("remove-count",
           absl::StrFormat("module #%d, filter %s: removed %d, model %d", m->id,
                           kFilterNames[static_cast<int>(filter)], removed,
                           expected));
    }
    return true;
  }

  bool FreeModule() {
    ModuleRecord* m = PickModule(true);
    if (m == nullptr || HeldByScope(*m)) return false;
    FreeModuleRecord(*m);
    return true;
  }

  // A pc chosen from what the model knows (see the header's table).
  uint64_t LookupTarget(uint8_t target, uint16_t which, uint8_t edge) const {
    switch (target) {
      case 0: {
        if (codes_.empty()) return which;
        const CodeRecord& r = *codes_[which % codes_.size()];
        switch ((edge & 7) % 5) {
          case 0:
            return r.start;
          case 1:
            return r.end() - 1;
          case 2:
            return r.end();
          case 3:
            return r.start - 1;
          default:
            return r.start + r.size * (edge >> 3) / 32;
        }
      }
      case 1: {
        if (spaces_seen_.empty()) return which;
        const SpaceRecord& s = spaces_seen_[which % spaces_seen_.size()];
        return s.tables + (uint64_t{edge} * 8) % (s.tables_end - s.tables);
      }
      case 2: {
        if (spaces_seen_.empty()) return which;
        const SpaceRecord& s = spaces_seen_[which % spaces_seen_.size()];
        switch (edge % 4) {
          case 0:
            return s.start - 1;
          case 1:
            return s.start;
          case 2:
            return s.end - 1;
          default:
            return s.end;
        }
      }
      default: {
        if (spaces_seen_.empty()) return which;
        const SpaceRecord& s = spaces_seen_[edge % spaces_seen_.size()];
        return s.start + (uint64_t{which} * 16) % (s.end - s.start);
      }
    }
  }

  bool Lookup() {
    const uint8_t kind = in_.U8();
    const uint16_t which = in_.U16();
    const uint8_t edge = in_.U8();
    const uint64_t pc = LookupTarget((kind >> 2) & 3, which, edge);
    const int call = kind & 3;
    // Effectful lookups: found code joins the innermost open scope.
    if (call == 0 || call == 3) {
      CodeRecord* expected = RefCodeAt(pc);
      reference::WasmCode* found = ref_manager_.LookupCode(pc);
      ExpectRefLookup(pc, expected, found, "LookupCode");
      if (expected != nullptr) AddScopeRef(*expected);
    }
    if (call == 1 || call == 3) {
      CodeRecord* expected = RefCodeAt(pc);
      auto [found, safepoint] = ref_manager_.LookupCodeAndSafepoint(pc);
      ExpectRefLookup(pc, expected, found, "LookupCodeAndSafepoint");
      if (expected != nullptr) {
        AddScopeRef(*expected);
        CheckSafepoint(*expected, pc, safepoint);
      }
    }
    if (call == 2 || call == 3) {
      const ModuleRecord* expected = ModuleAt(pc, false);
      const reference::NativeModule* found =
          ref_manager_.LookupNativeModule(pc);
      if (found != (expected ? expected->ref.get() : nullptr)) {
        Fail("lookup-native-module",
             absl::StrFormat("reference LookupNativeModule(%s): module %s, "
                             "model module #%d",
                             Hex(pc), found ? "found" : "none",
                             expected ? expected->id : -1));
      }
    }
    // The fast manager at the same pc, by the same call.
    ProbeFast(pc, call);
    return true;
  }

  bool GetCode() {
    ModuleRecord* m = PickModule(true);
    const uint16_t which = in_.U16();
    if (m == nullptr) return false;
    const uint32_t declared = which % m->num_declared;
    CodeRecord* expected = m->table[declared];
    if (m->fast) {
      const fast::WasmCode* found = m->fast_module->GetCode(declared);
      if (found != (expected ? expected->fast_code : nullptr) ||
          m->fast_module->HasCode(declared) != (expected != nullptr)) {
        Fail("code-table",
             absl::StrFormat("fast module #%d GetCode(%d): %s, model %s", m->id,
                             declared,
                             found ? Hex(found->instruction_start()) : "none",
                             DescribeOr(expected)));
      }
      return true;
    }
    reference::WasmCode* found = m->ref->GetCode(declared);
    if (found != (expected ? expected->code : nullptr)) {
      Fail("code-table",
           absl::StrFormat("module #%d GetCode(%d): %s, model %s", m->id,
                           declared,
                           found ? Hex(found->instruction_start()) : "none",
                           DescribeOr(expected)));
    }
    if (expected != nullptr) AddScopeRef(*expected);
    return true;
  }

  bool OpenScope() {
    if (scopes_.size() >= kMaxScopeDepth) return false;
    scopes_.push_back(std::make_unique<reference::WasmCodeRefScope>());
    scope_codes_.emplace_back();
    return true;
  }

  bool CloseScope() {
    if (scopes_.empty()) return false;
    CloseInnermostScope();
    return true;
  }

  bool LoadCache() {
    const Arch arch = static_cast<Arch>(in_.U8() % kNumArchs);
    const uint16_t seed = in_.U16();
    const uint32_t num_functions = 1 + in_.U8() % kMaxCacheFunctions;
    if (LiveModules(true).size() + 2 > kMaxModules ||
        codes_.size() + 2 * num_functions > kMaxCodes) {
      return false;
    }
    synth::SynthOptions options;
    options.arch = arch;
    options.seed = seed;
    options.num_functions = num_functions;
    options.max_sites_per_function = 4;
    auto synthesized = synth::Synthesize(options);
    if (!synthesized.ok()) {
      Fail("synthesis-failed", synthesized.status().ToString());
    }
    auto info = DecodeModuleInfo(synthesized->wasm);
    if (!info.ok())
      Fail("synthesized-module-rejected", info.status().ToString());
    const Environment env = DefaultEnvironment(arch, *info);
    const PressureBefore pressure = BeforeNewModule();
    auto ref =
        reference::Deserialize(ref_manager_, synthesized->cache, *info, env);
    AfterNewModule(pressure);
    static fast::ThreadPool* const pool = new fast::ThreadPool(1);
    fast::LoadOptions load;
    load.pool = pool;
    load.max_threads = 1;
    auto fast_loaded =
        fast::Deserialize(fast_manager_, synthesized->cache, *info, env, load);
    if (!ref.ok()) ExpectExhausted(ref.status(), "cache-rejected");
    if (!fast_loaded.ok()) {
      ExpectExhausted(fast_loaded.status(), "fast-cache-rejected");
    }
    ModuleRecord* ref_record = nullptr;
    ModuleRecord* fast_record = nullptr;
    if (ref.ok()) {
      ModuleRecord& m = NewRecord(false, arch, info->num_imported_functions,
                                  info->num_declared_functions);
      m.ref = *std::move(ref);
      m.states = m.ref->function_states;
      RefreshSpaces(m);
      AdoptLoadedCode(m);
      ref_record = &m;
    } else {
      ++stats_.add_failures;
    }
    if (fast_loaded.ok()) {
      ModuleRecord& m = NewRecord(true, arch, info->num_imported_functions,
                                  info->num_declared_functions);
      m.fast_module = *std::move(fast_loaded);
      RefreshSpaces(m);
      AdoptLoadedCode(m);
      fast_record = &m;
    } else {
      ++stats_.add_failures;
    }
    if (ref_record != nullptr && fast_record != nullptr) {
      ref_record->twin = fast_record;
      fast_record->twin = ref_record;
      CompareTwins(*ref_record, *fast_record);
    }
    return true;
  }

  // --- The model's transitions ----------------------------------------------

  NO_COVERAGE ModuleRecord& NewRecord(bool fast, Arch arch,
                                      uint32_t num_imported,
                                      uint32_t num_declared) {
    auto m = std::make_unique<ModuleRecord>();
    m->id = next_module_id_++;
    m->fast = fast;
    m->arch = arch;
    m->num_imported = num_imported;
    m->num_declared = num_declared;
    m->table.assign(num_declared, nullptr);
    m->all_slots_touched = true;
    modules_.push_back(std::move(m));
    touched_modules_.insert(modules_.back().get());
    return *modules_.back();
  }

  NO_COVERAGE CodeRecord& NewCode(ModuleRecord* m) {
    auto r = std::make_unique<CodeRecord>();
    r->id = static_cast<int>(codes_.size());
    r->module = m;
    codes_.push_back(std::move(r));
    Touch(*codes_.back());
    return *codes_.back();
  }

  NO_COVERAGE void Touch(CodeRecord& r) {
    touched_codes_.insert(&r);
    touched_modules_.insert(r.module);
  }

  NO_COVERAGE void TouchSlot(ModuleRecord& m, uint32_t declared) {
    m.touched_slots.insert(declared);
    touched_modules_.insert(&m);
  }

  // Installs `r` in the model's table unless higher-tier code is there
  // (debugging code aside); what leaves the table goes to `dropped`.
  // Returns whether `r` is installed.
  NO_COVERAGE bool ModelPublish(ModuleRecord& m, CodeRecord& r,
                                std::vector<CodeRecord*>& dropped) {
    r.state = CodeState::kInstalled;  // owned from here on
    owned_[r.start] = &r;
    Touch(r);
    CodeRecord* prior = m.table[r.declared];
    if (prior != nullptr && !prior->debug && !r.debug && prior->tier > r.tier) {
      dropped.push_back(&r);
      return false;
    }
    m.table[r.declared] = &r;
    m.states[r.declared] = r.tier == kTierTurboFan
                               ? reference::FunctionState::kTurboFan
                               : reference::FunctionState::kEager;
    TouchSlot(m, r.declared);
    if (prior != nullptr) dropped.push_back(prior);
    return true;
  }

  // Code leaving the table: the innermost open scope (if any) takes a
  // reference, then the table's (or the handle's) reference is dropped.
  NO_COVERAGE void ModelDropAll(const std::vector<CodeRecord*>& dropped) {
    for (CodeRecord* r : dropped) {
      AddScopeRef(*r);
      r->state = CodeState::kDropped;
      Touch(*r);
      if (r->model_count() == 0) ModelFree(*r, false);
    }
  }

  NO_COVERAGE size_t ModelRemove(ModuleRecord& m, RemoveFilter filter) {
    std::vector<CodeRecord*> removed;
    for (uint32_t i = 0; i < m.num_declared; ++i) {
      CodeRecord* r = m.table[i];
      if (r == nullptr) continue;
      bool matches = false;
      switch (filter) {
        case RemoveFilter::kRemoveDebugCode:
          matches = r->debug;
          break;
        case RemoveFilter::kRemoveNonDebugCode:
          matches = !r->debug;
          break;
        case RemoveFilter::kRemoveLiftoffCode:
          matches = r->tier == kTierLiftoff;
          break;
        case RemoveFilter::kRemoveTurbofanCode:
          matches = r->tier == kTierTurboFan;
          break;
      }
      if (!matches) continue;
      m.table[i] = nullptr;
      m.states[i] = reference::FunctionState::kLazy;
      TouchSlot(m, i);
      removed.push_back(r);
    }
    ModelDropAll(removed);
    return removed.size();
  }

  NO_COVERAGE void ModelFree(CodeRecord& r, bool at_scope_close) {
    owned_.erase(r.start);
    allocated_.erase(r.start);
    r.state = CodeState::kFreed;
    r.code = nullptr;
    freed_bytes_ += r.size;
    ++stats_.codes_freed;
    if (at_scope_close) ++stats_.freed_while_scoped;
    Touch(r);
  }

  NO_COVERAGE void AddScopeRef(CodeRecord& r) {
    if (scope_codes_.empty()) return;
    scope_codes_.back().push_back(&r);
    ++r.scope_refs;
  }

  NO_COVERAGE void CloseInnermostScope() {
    std::vector<CodeRecord*> held = std::move(scope_codes_.back());
    scope_codes_.pop_back();
    // Held code is still owned: its bytes must be intact now.
    for (CodeRecord* r : held) CheckBytes(*r);
    scopes_.pop_back();
    for (CodeRecord* r : held) {
      --r->scope_refs;
      Touch(*r);
      if (r->state == CodeState::kDropped && r->model_count() == 0) {
        ModelFree(*r, true);
      }
    }
  }

  NO_COVERAGE bool HeldByScope(const ModuleRecord& m) const {
    for (const auto& scope : scope_codes_) {
      for (const CodeRecord* r : scope) {
        if (r->module == &m) return true;
      }
    }
    return false;
  }

  NO_COVERAGE void FreeModuleRecord(ModuleRecord& m) {
    // Unpublished handles go first; their regions go with the module.
    for (CodeRecord* r : m.pending) {
      r->handle.reset();
      r->code = nullptr;
      r->state = CodeState::kOrphaned;
    }
    m.pending.clear();
    if (m.fast) {
      m.fast_module.reset();
    } else {
      m.ref.reset();
    }
    m.alive = false;
    if (m.twin != nullptr) m.twin->twin = nullptr;
    m.twin = nullptr;
    for (const auto& r : codes_) {
      if (r->module != &m) continue;
      if (r->state == CodeState::kFast) fast_codes_.erase(r->start);
      owned_.erase(r->start);
      allocated_.erase(r->start);
      r->state = CodeState::kGone;
      r->code = nullptr;
      r->fast_code = nullptr;
      Touch(*r);
    }
    std::fill(m.table.begin(), m.table.end(), nullptr);
    // Its spaces must be gone from the manager's map.
    for (const SpaceRecord& s : m.spaces) {
      ProbeModules(s.start);
      ProbeModules(s.end - 1);
    }
  }

  // --- Memory pressure ------------------------------------------------------

  struct PressureBefore {
    reference::CodeManagerMetrics metrics;
    bool predicted = false;
    uint64_t callbacks = 0;
  };

  // A new module first compares committed space with the critical
  // threshold; above it, Liftoff code of every module may be flushed.
  NO_COVERAGE PressureBefore BeforeNewModule() {
    PressureBefore before;
    before.metrics = ref_manager_.Metrics();
    before.callbacks = callbacks_;
    before.predicted = before.metrics.committed_code_space >
                       before.metrics.critical_committed_code_space;
    if (before.predicted && (config_ & 2) != 0) {
      for (ModuleRecord* m : LiveModules(false)) {
        ModelRemove(*m, RemoveFilter::kRemoveLiftoffCode);
      }
    }
    return before;
  }

  NO_COVERAGE void AfterNewModule(const PressureBefore& before) {
    const reference::CodeManagerMetrics after = ref_manager_.Metrics();
    const uint64_t notified = after.memory_pressure_notifications -
                              before.metrics.memory_pressure_notifications;
    const uint64_t failed =
        after.failed_reservations - before.metrics.failed_reservations;
    // Each failed reservation but the last of a new module notifies too.
    const uint64_t low = before.predicted ? 1 : 0;
    const uint64_t high = low + std::min<uint64_t>(failed, 2);
    if (notified < low || notified > high ||
        callbacks_ - before.callbacks != notified) {
      Fail("memory-pressure",
           absl::StrFormat("committed %d, critical %d: %d notifications, %d "
                           "callbacks, %d failed reservations (expected %d "
                           "to %d notifications)",
                           before.metrics.committed_code_space,
                           before.metrics.critical_committed_code_space,
                           notified, callbacks_ - before.callbacks, failed, low,
                           high));
    }
    if (before.predicted) {
      const uint64_t committed = before.metrics.committed_code_space;
      const uint64_t critical = committed + (limit_ - committed) / 2;
      if (after.critical_committed_code_space != critical) {
        Fail("memory-pressure-threshold",
             absl::StrFormat("committed %d: critical threshold %d, expected %d",
                             committed, after.critical_committed_code_space,
                             critical));
      }
    }
    notifications_ += notified;
  }

  NO_COVERAGE void ExpectExhausted(const absl::Status& status,
                                   std::string_view what) {
    if (status.code() != absl::StatusCode::kResourceExhausted) {
      Fail(what, status.ToString());
    }
  }

  // --- Adopting what a manager made -----------------------------------------

  // Reads the module's code spaces; new ones must not overlap any live
  // space, and known ones must stay.
  NO_COVERAGE void RefreshSpaces(ModuleRecord& m) {
    std::vector<SpaceRecord> now;
    if (m.fast) {
      for (const fast::CodeSpaceInfo& s : m.fast_module->code_spaces()) {
        SpaceRecord r;
        r.start = s.start();
        r.end = s.start() + s.size;
        // Near table, far table (builtins, then functions where the
        // target needs far jumps between spaces), lazy table in the first.
        const ArchTraits& t = m.traits();
        const uint64_t far_slots =
            m.fast_module->env().far_slot_builtins.size() +
            (t.far_jumps_between_code_spaces ? m.num_declared : 0);
        r.tables = s.start() + s.near_offset;
        r.tables_end =
            s.start() +
            (s.has_lazy_table
                 ? s.lazy_offset +
                       uint64_t{m.num_declared} * t.lazy_compile_slot_size
                 : s.far_offset + far_slots * t.far_jump_table_slot_size);
        now.push_back(r);
      }
    } else {
      for (const reference::CodeSpaceEntry* e : m.ref->code_spaces()) {
        SpaceRecord r;
        r.start = e->space->start_address();
        r.end = e->space->end_address();
        r.tables = e->tables_address();
        r.tables_end =
            r.tables + RoundUp(e->layout.total_size, m.traits().code_alignment);
        now.push_back(r);
      }
    }
    if (now.size() < m.spaces.size()) {
      Fail("code-space-vanished",
           absl::StrFormat("module #%d had %d code spaces, now %d", m.id,
                           m.spaces.size(), now.size()));
    }
    for (size_t i = 0; i < m.spaces.size(); ++i) {
      if (now[i].start != m.spaces[i].start || now[i].end != m.spaces[i].end) {
        Fail("code-space-moved",
             absl::StrFormat("module #%d space %d: [%s, %s), was [%s, %s)",
                             m.id, i, Hex(now[i].start), Hex(now[i].end),
                             Hex(m.spaces[i].start), Hex(m.spaces[i].end)));
      }
    }
    for (size_t i = m.spaces.size(); i < now.size(); ++i) {
      const SpaceRecord& s = now[i];
      if (s.tables < s.start || s.tables_end > s.end) {
        Fail("jump-tables-outside-space",
             absl::StrFormat("module #%d: tables [%s, %s) in space [%s, %s)",
                             m.id, Hex(s.tables), Hex(s.tables_end),
                             Hex(s.start), Hex(s.end)));
      }
      for (const ModuleRecord* other : LiveModules(true)) {
        for (const SpaceRecord& o : other->spaces) {
          if (s.start < o.end && o.start < s.end) {
            Fail("code-space-overlap",
                 absl::StrFormat("module #%d space [%s, %s) overlaps module "
                                 "#%d space [%s, %s)",
                                 m.id, Hex(s.start), Hex(s.end), other->id,
                                 Hex(o.start), Hex(o.end)));
          }
        }
      }
      m.spaces.push_back(s);
      spaces_seen_.push_back(s);
      m.all_slots_touched = true;
      touched_modules_.insert(&m);
      // Allocations made before must not lie in the new space.
      auto it = allocated_.lower_bound(s.start);
      if (it != allocated_.end() && it->first < s.end) {
        Fail("code-space-overlap",
             absl::StrFormat("new space [%s, %s) of module #%d holds %s",
                             Hex(s.start), Hex(s.end), m.id,
                             Describe(*it->second)));
      }
    }
  }

  // Placement of a new code region: aligned, in a space of its module
  // after that space's tables, overlapping nothing allocated.
  NO_COVERAGE void CheckPlacement(const CodeRecord& r) {
    const ModuleRecord& m = *r.module;
    if (r.start % m.traits().code_alignment != 0) {
      Fail("code-misaligned", Describe(r));
    }
    const SpaceRecord* space = nullptr;
    for (const SpaceRecord& s : m.spaces) {
      if (r.start >= s.start && r.start < s.end) space = &s;
    }
    if (space == nullptr || r.start + r.region > space->end) {
      Fail("code-outside-space", Describe(r));
    }
    for (const ModuleRecord* other : LiveModules(true)) {
      for (const SpaceRecord& s : other->spaces) {
        if (r.start < s.tables_end && s.tables < r.start + r.region) {
          Fail("code-overlaps-jump-table",
               absl::StrFormat("%s overlaps the tables [%s, %s) of module #%d",
                               Describe(r), Hex(s.tables), Hex(s.tables_end),
                               other->id));
        }
      }
    }
    const std::map<uint64_t, CodeRecord*>& regions =
        m.fast ? fast_codes_ : allocated_;
    auto next = regions.lower_bound(r.start);
    if (next != regions.end() && next->first < r.start + r.region) {
      Fail("code-overlap", absl::StrFormat("%s overlaps %s", Describe(r),
                                           Describe(*next->second)));
    }
    if (next != regions.begin()) {
      const CodeRecord& prev = *std::prev(next)->second;
      if (prev.start + prev.region > r.start) {
        Fail("code-overlap",
             absl::StrFormat("%s overlaps %s", Describe(r), Describe(prev)));
      }
    }
  }

  NO_COVERAGE void CheckNewCode(const CodeRecord& r,
                                const reference::WasmCode& code) {
    const ModuleRecord& m = *r.module;
    if (code.native_module() != m.ref.get() ||
        code.index() != m.num_imported + r.declared ||
        code.instructions_size() != r.size || code.tier() != r.tier ||
        code.for_debugging() != r.debug || code.ref_count() != 1) {
      Fail(
          "new-code-fields",
          absl::StrFormat("%s: index %d, size %d, tier %d, debug %d, count %d",
                          Describe(r), code.index(), code.instructions_size(),
                          code.tier(), code.for_debugging(), code.ref_count()));
    }
    CheckPlacement(r);
    CheckBytes(r);
  }

  NO_COVERAGE void CheckPublished(const CodeRecord& r, bool installs,
                                  const reference::WasmCode* result) {
    const reference::WasmCode* expected = installs ? r.code : nullptr;
    if (result != expected) {
      Fail("publish-result",
           absl::StrFormat("%s: PublishCode gave %s, model %s", Describe(r),
                           result ? "the code" : "nothing",
                           installs ? "installs it" : "keeps the prior code"));
    }
  }

  // Code a deserializer published: recorded as installed (reference) or
  // fast, with its bytes as loaded.
  NO_COVERAGE void AdoptLoadedCode(ModuleRecord& m) {
    reference::WasmCodeRefScope probe_scope;
    for (uint32_t i = 0; i < m.num_declared; ++i) {
      CodeRecord* r = nullptr;
      if (m.fast) {
        const fast::WasmCode* code = m.fast_module->GetCode(i);
        if (code == nullptr) continue;
        r = &NewCode(&m);
        r->fast_code = code;
        r->start = code->instruction_start();
        r->size = code->instructions_size();
        r->tier = code->tier();
        r->state = CodeState::kFast;
        r->bytes.assign(code->instructions().begin(),
                        code->instructions().end());
      } else {
        reference::WasmCode* code = m.ref->GetCode(i);
        if (code == nullptr) continue;
        r = &NewCode(&m);
        r->code = code;
        r->start = code->instruction_start();
        r->size = code->instructions_size();
        r->tier = code->tier();
        r->debug = code->for_debugging();
        r->state = CodeState::kInstalled;
        r->bytes.assign(code->instructions().begin(),
                        code->instructions().end());
        if (code->index() != m.num_imported + i) {
          Fail("loaded-code-index", Describe(*r));
        }
      }
      r->declared = i;
      r->loaded = true;
      r->region = RoundUp(r->size, m.traits().code_alignment);
      CheckPlacement(*r);
      if (m.fast) {
        fast_codes_[r->start] = r;
      } else {
        allocated_[r->start] = r;
        owned_[r->start] = r;
      }
      m.table[i] = r;
    }
  }

  // Two loads of one cache: the same functions have code, with equal
  // headers, and equal safepoints at equal offsets.
  NO_COVERAGE void CompareTwins(const ModuleRecord& ref,
                                const ModuleRecord& fast) {
    reference::WasmCodeRefScope probe_scope;
    for (uint32_t i = 0; i < ref.num_declared; ++i) {
      const CodeRecord* a = ref.table[i];
      const CodeRecord* b = fast.table[i];
      if ((a == nullptr) != (b == nullptr)) {
        Fail("reference-fast-code-table-difference",
             absl::StrFormat("function %d: reference %s, fast %s", i,
                             DescribeOr(a), DescribeOr(b)));
      }
      if (a == nullptr) continue;
      if (!(a->code->header() == b->fast_code->header())) {
        Fail("reference-fast-code-header-difference",
             absl::StrFormat("function %d of %s", i, ArchName(ref.arch)));
      }
      if (ref.states[i] != static_cast<reference::FunctionState>(
                               fast.fast_module->function_state(i))) {
        Fail("reference-fast-function-state-difference",
             absl::StrFormat("function %d of %s", i, ArchName(ref.arch)));
      }
      for (uint64_t offset : {uint64_t{0}, a->size / 2, a->size - 1}) {
        CompareTwinSafepoints(*a, *b, offset);
      }
    }
  }

  NO_COVERAGE void CompareTwinSafepoints(const CodeRecord& a,
                                         const CodeRecord& b, uint64_t offset) {
    auto [ref_code, ref_entry] =
        ref_manager_.LookupCodeAndSafepoint(a.start + offset);
    auto [fast_code, fast_hit] =
        fast_manager_.LookupCodeAndSafepoint(b.start + offset);
    if (ref_code != a.code || fast_code != b.fast_code) {
      Fail(ref_code != a.code ? "lookup-code" : "fast-lookup-code",
           absl::StrFormat("LookupCodeAndSafepoint at offset %d of %s / %s",
                           offset, Describe(a), Describe(b)));
    }
    bool same = ref_entry.has_value() == fast_hit.found;
    if (same && ref_entry.has_value()) {
      same = ref_entry->pc == fast_hit.pc &&
             ref_entry->deopt_index == fast_hit.deopt_index &&
             ref_entry->trampoline_pc == fast_hit.trampoline_pc &&
             ref_entry->tagged_registers == fast_hit.tagged_registers;
      const uint32_t bits =
          8 * static_cast<uint32_t>(std::max<size_t>(
                  ref_entry->tagged_slots.size(), fast_hit.bitmap_bytes));
      for (uint32_t bit = 0; same && bit < bits; ++bit) {
        same = ref_entry->IsTaggedSlotBit(bit) == fast_hit.IsTaggedSlotBit(bit);
      }
    }
    if (!same) {
      Fail(
          "reference-fast-safepoint-difference",
          absl::StrFormat(
              "offset %d of function %d (%s): reference %s, "
              "fast %s",
              offset, a.declared, ArchName(a.module->arch),
              ref_entry ? absl::StrFormat("pc %d", ref_entry->pc) : "none",
              fast_hit.found ? absl::StrFormat("pc %d", fast_hit.pc) : "none"));
    }
  }

  // --- Checks ---------------------------------------------------------------

  NO_COVERAGE CodeRecord* RefCodeAt(uint64_t pc) const {
    return At(owned_, pc);
  }
  NO_COVERAGE CodeRecord* FastCodeAt(uint64_t pc) const {
    return At(fast_codes_, pc);
  }

  static NO_COVERAGE CodeRecord* At(const std::map<uint64_t, CodeRecord*>& map,
                                    uint64_t pc) {
    auto it = map.upper_bound(pc);
    if (it == map.begin()) return nullptr;
    --it;
    return pc - it->second->start < it->second->size ? it->second : nullptr;
  }

  NO_COVERAGE const ModuleRecord* ModuleAt(uint64_t pc, bool fast) const {
    for (const auto& m : modules_) {
      if (!m->alive || m->fast != fast) continue;
      for (const SpaceRecord& s : m->spaces) {
        if (pc >= s.start && pc < s.end) return m.get();
      }
    }
    return nullptr;
  }

  NO_COVERAGE void ExpectRefLookup(uint64_t pc, const CodeRecord* expected,
                                   const reference::WasmCode* found,
                                   const char* call) {
    if (found == (expected ? expected->code : nullptr)) return;
    const CodeRecord* actual = nullptr;
    for (const auto& r : codes_) {
      if (r->code == found && found != nullptr) actual = r.get();
    }
    std::string what = "lookup-code";
    if (actual == nullptr && found != nullptr) what = "lookup-unknown-code";
    Fail(what, absl::StrFormat(
                   "%s(%s) gave %s; model: %s", call, Hex(pc),
                   found ? (actual ? Describe(*actual)
                                   : Hex(reinterpret_cast<uintptr_t>(found)))
                         : std::string("nothing"),
                   DescribeOr(expected)));
  }

  NO_COVERAGE void CheckSafepoint(
      const CodeRecord& r, uint64_t pc,
      const std::optional<reference::SafepointEntry>& entry) {
    if (!r.loaded && entry.has_value()) {
      Fail("safepoint-in-empty-table",
           absl::StrFormat("%s at %s: entry at pc %d", Describe(r), Hex(pc),
                           entry->pc));
    }
    if (r.loaded && r.module->twin != nullptr) {
      const CodeRecord* twin = r.module->twin->table[r.declared];
      reference::WasmCodeRefScope probe_scope;
      if (twin != nullptr) CompareTwinSafepoints(r, *twin, pc - r.start);
    }
  }

  // Lookups at `pc` in both managers, by `call` (as in Lookup), without
  // effect on references (the caller holds a scope of its own).
  NO_COVERAGE void ProbeFast(uint64_t pc, int call) {
    const CodeRecord* expected = FastCodeAt(pc);
    const fast::WasmCode* want = expected ? expected->fast_code : nullptr;
    if (call == 0 || call == 3) {
      const fast::WasmCode* found = fast_manager_.LookupCode(pc);
      if (found != want) {
        Fail(
            "fast-lookup-code",
            absl::StrFormat("fast LookupCode(%s): %s; model %s", Hex(pc),
                            found ? Hex(found->instruction_start()) : "nothing",
                            DescribeOr(expected)));
      }
    }
    if (call == 1 || call == 3) {
      auto [found, hit] = fast_manager_.LookupCodeAndSafepoint(pc);
      if (found != want) {
        Fail("fast-lookup-code",
             absl::StrFormat(
                 "fast LookupCodeAndSafepoint(%s): %s; model %s", Hex(pc),
                 found ? Hex(found->instruction_start()) : "nothing",
                 DescribeOr(expected)));
      }
    }
    if (call == 2 || call == 3) {
      const ModuleRecord* module = ModuleAt(pc, true);
      if (fast_manager_.LookupNativeModule(pc) !=
          (module ? module->fast_module.get() : nullptr)) {
        Fail("fast-lookup-native-module",
             absl::StrFormat("fast LookupNativeModule(%s); model module #%d",
                             Hex(pc), module ? module->id : -1));
      }
    }
  }

  NO_COVERAGE void ProbeModules(uint64_t pc) {
    const ModuleRecord* expected = ModuleAt(pc, false);
    if (ref_manager_.LookupNativeModule(pc) !=
        (expected ? expected->ref.get() : nullptr)) {
      Fail("lookup-native-module",
           absl::StrFormat("LookupNativeModule(%s); model module #%d", Hex(pc),
                           expected ? expected->id : -1));
    }
    ProbeFast(pc, 2);
  }

  // Lookups at a code object's edges and just outside, in both managers.
  // Runs inside the caller's probe scope.
  NO_COVERAGE void ProbeEdges(const CodeRecord& r, bool with_safepoint) {
    for (uint64_t pc : {r.start, r.end() - 1, r.end(), r.start - 1}) {
      const CodeRecord* expected = RefCodeAt(pc);
      ExpectRefLookup(pc, expected, ref_manager_.LookupCode(pc), "LookupCode");
      if (with_safepoint) {
        ExpectRefLookup(pc, expected,
                        ref_manager_.LookupCodeAndSafepoint(pc).first,
                        "LookupCodeAndSafepoint");
      }
      ProbeFast(pc, 0);
    }
    ProbeModules(r.start);
  }

  NO_COVERAGE void CheckBytes(const CodeRecord& r) {
    absl::Span<const uint8_t> now;
    if (r.state == CodeState::kFast) {
      now = r.fast_code->instructions();
    } else if (r.alive()) {
      if (r.code->instruction_start() != r.start ||
          r.code->instructions_size() != r.size) {
        Fail("code-moved", Describe(r));
      }
      now = r.code->instructions();
    } else {
      return;
    }
    if (now.size() != r.bytes.size() ||
        std::memcmp(now.data(), r.bytes.data(), now.size()) != 0) {
      size_t at = 0;
      while (at < now.size() && at < r.bytes.size() && now[at] == r.bytes[at]) {
        ++at;
      }
      Fail("code-bytes-changed",
           absl::StrFormat("%s: first difference at offset %d", Describe(r),
                           at));
    }
  }

  // Code the model holds owned is still owned: nothing was freed while
  // referenced. Asks each module's own map (no references, no cache), so
  // freed code is never touched.
  NO_COVERAGE void CheckOwned() {
    for (const auto& [start, r] : owned_) {
      if (r->module->ref->Lookup(r->start) != r->code) {
        Fail("live-code-freed",
             absl::StrFormat("%s is no longer owned by its module",
                             Describe(*r)));
      }
    }
  }

  // Reference counts of every live code object are the model's.
  NO_COVERAGE void CheckRefCounts() {
    for (const auto& r : codes_) {
      if (!r->alive()) continue;
      if (r->code->ref_count() != r->model_count()) {
        Fail("ref-count",
             absl::StrFormat("%s: count %d, model %d", Describe(*r),
                             r->code->ref_count(), r->model_count()));
      }
    }
  }

  // Where the near slot of `declared` in each space leads.
  NO_COVERAGE void CheckSlot(
      const ModuleRecord& m,
      const std::vector<const reference::CodeSpaceEntry*>& spaces,
      uint32_t declared) {
    const CodeRecord* code = m.table[declared];
    const uint64_t target =
        code ? code->start : m.ref->lazy_slot_address(declared);
    const ArchTraits& t = m.traits();
    for (const reference::CodeSpaceEntry* e : spaces) {
      const uint64_t near =
          e->tables_address() + e->layout.NearSlotOffset(t, declared);
      auto resolved = reference::ReadNearJumpSlotTarget(
          m.arch, reinterpret_cast<const uint8_t*>(near), near);
      if (resolved.ok() && e->layout.num_far_function_slots != 0) {
        const uint64_t far = e->tables_address() +
                             e->layout.FarSlotOffset(
                                 t, e->layout.num_far_builtin_slots + declared);
        if (*resolved == far) {
          resolved = reference::ReadFarJumpSlotTarget(
              m.arch, reinterpret_cast<const uint8_t*>(far));
        }
      }
      if (!resolved.ok() || *resolved != target) {
        Fail("jump-slot-target",
             absl::StrFormat(
                 "module #%d (%s) function %d, space at %s: slot "
                 "leads to %s, model %s (%s)",
                 m.id, ArchName(m.arch), declared,
                 Hex(e->space->start_address()),
                 resolved.ok() ? Hex(*resolved) : resolved.status().ToString(),
                 Hex(target), DescribeOr(code)));
      }
    }
  }

  // The module's table, function states and slots for `declared` (every
  // function if empty).
  NO_COVERAGE void CheckTables(const ModuleRecord& m, bool all,
                               const std::set<uint32_t>& declared) {
    std::vector<uint32_t> indices(declared.begin(), declared.end());
    if (all) {
      indices.resize(m.num_declared);
      for (uint32_t i = 0; i < m.num_declared; ++i) indices[i] = i;
    }
    if (m.fast) {
      for (uint32_t i : indices) {
        const CodeRecord* expected = m.table[i];
        if (m.fast_module->GetCode(i) !=
            (expected ? expected->fast_code : nullptr)) {
          Fail("code-table",
               absl::StrFormat("fast module #%d function %d", m.id, i));
        }
      }
      return;
    }
    const std::vector<const reference::CodeSpaceEntry*> spaces =
        m.ref->code_spaces();
    for (uint32_t i : indices) {
      const CodeRecord* expected = m.table[i];
      if (m.ref->GetCode(i) != (expected ? expected->code : nullptr) ||
          (!all && m.ref->HasCode(i) != (expected != nullptr))) {
        Fail("code-table", absl::StrFormat("module #%d function %d: model %s",
                                           m.id, i, DescribeOr(expected)));
      }
      if (m.ref->function_states[i] != m.states[i]) {
        Fail("function-state",
             absl::StrFormat("module #%d function %d: state %d, model %d", m.id,
                             i, static_cast<int>(m.ref->function_states[i]),
                             static_cast<int>(m.states[i])));
      }
      CheckSlot(m, spaces, i);
    }
  }

  // Pages a module must have committed: those its jump tables and live
  // (or orphaned) code regions touch.
  NO_COVERAGE uint64_t ModelCommitted(const ModuleRecord& m) const {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const SpaceRecord& s : m.spaces)
      ranges.push_back({s.tables, s.tables_end});
    for (const auto& [start, r] : allocated_) {
      if (r->module == &m) ranges.push_back({r->start, r->start + r->region});
    }
    std::set<uint64_t> pages;
    const uint64_t page = PageSize();
    for (const auto& [start, end] : ranges) {
      for (uint64_t p = start / page; p <= (end - 1) / page; ++p)
        pages.insert(p);
    }
    return pages.size() * page;
  }

  NO_COVERAGE void CheckAccounting() {
    const reference::CodeManagerMetrics metrics = ref_manager_.Metrics();
    uint64_t committed = 0, reserved = 0, generated = 0, spaces = 0,
             modules = 0;
    for (const ModuleRecord* m : LiveModules(false)) {
      ++modules;
      spaces += m->spaces.size();
      const uint64_t module_committed = m->ref->committed_code_space();
      committed += module_committed;
      reserved += m->ref->reserved_code_space();
      uint64_t module_generated = 0;
      size_t module_owned = 0;
      for (const auto& [start, r] : owned_) {
        if (r->module != m) continue;
        module_generated += r->size;
        ++module_owned;
      }
      generated += module_generated;
      if (m->ref->generated_code_size() != module_generated ||
          m->ref->num_owned_code() != module_owned) {
        Fail("module-code-size",
             absl::StrFormat("module #%d: %d bytes in %d objects, model %d "
                             "bytes in %d",
                             m->id, m->ref->generated_code_size(),
                             m->ref->num_owned_code(), module_generated,
                             module_owned));
      }
      const uint64_t pages = ModelCommitted(*m);
      if (module_committed != pages) {
        Fail(
            "committed-pages",
            absl::StrFormat("module #%d (%s): %d bytes committed, model %d",
                            m->id, ArchName(m->arch), module_committed, pages));
      }
    }
    if (metrics.committed_code_space != ref_manager_.committed_bytes() ||
        metrics.committed_code_space != committed ||
        metrics.committed_code_space > limit_) {
      Fail("committed-bytes",
           absl::StrFormat("manager %d, metrics %d, modules %d, limit %d",
                           ref_manager_.committed_bytes(),
                           metrics.committed_code_space, committed, limit_));
    }
    if (metrics.reserved_code_space != reserved ||
        metrics.num_code_spaces != spaces ||
        ref_manager_.num_code_spaces() != spaces ||
        metrics.num_native_modules != modules) {
      Fail("reservations",
           absl::StrFormat("reserved %d in %d spaces of %d modules; model %d "
                           "in %d spaces of %d modules",
                           metrics.reserved_code_space, metrics.num_code_spaces,
                           metrics.num_native_modules, reserved, spaces,
                           modules));
    }
    if (metrics.generated_code_size != generated ||
        metrics.freed_code_size != freed_bytes_) {
      Fail("code-size-metrics",
           absl::StrFormat("generated %d, freed %d; model %d, %d",
                           metrics.generated_code_size, metrics.freed_code_size,
                           generated, freed_bytes_));
    }
    if (metrics.memory_pressure_notifications != notifications_) {
      Fail("memory-pressure",
           absl::StrFormat("%d notifications, model %d",
                           metrics.memory_pressure_notifications,
                           notifications_));
    }
    // The fast manager.
    uint64_t fast_committed = 0, fast_reserved = 0, fast_spaces = 0,
             fast_modules = 0;
    for (const auto& m : modules_) {
      if (!m->alive || !m->fast) continue;
      ++fast_modules;
      fast_committed += m->fast_module->committed_code_space();
      fast_reserved += m->fast_module->reserved_code_space();
      fast_spaces += m->spaces.size();
    }
    if (fast_manager_.committed_bytes() != fast_committed ||
        fast_manager_.committed_bytes() > limit_ ||
        fast_manager_.reserved_bytes() != fast_reserved ||
        fast_manager_.num_code_spaces() != fast_spaces ||
        fast_manager_.num_native_modules() != fast_modules) {
      Fail("fast-accounting",
           absl::StrFormat("committed %d, reserved %d, %d spaces, %d modules; "
                           "model %d, %d, %d, %d",
                           fast_manager_.committed_bytes(),
                           fast_manager_.reserved_bytes(),
                           fast_manager_.num_code_spaces(),
                           fast_manager_.num_native_modules(), fast_committed,
                           fast_reserved, fast_spaces, fast_modules));
    }
  }

  // What the last operation touched: its code objects (edges, bytes), the
  // slots and table entries it changed; plus every reference count, code
  // kept alive by a scope, and the accounting.
  NO_COVERAGE void CheckTouched() {
    CheckOwned();
    CheckRefCounts();
    CheckAccounting();
    {
      // References the probes take go to a scope of their own, closed
      // below; without an open scope they take none.
      std::optional<reference::WasmCodeRefScope> probe_scope;
      if (!scopes_.empty()) probe_scope.emplace();
      for (CodeRecord* r : touched_codes_) {
        ProbeEdges(*r, (r->id & 1) != 0);
        CheckBytes(*r);
      }
      // Code kept alive by scopes only: still found, still intact.
      for (const auto& r : codes_) {
        if (r->state != CodeState::kDropped) continue;
        ExpectRefLookup(r->start, r.get(), ref_manager_.LookupCode(r->start),
                        "LookupCode");
        CheckBytes(*r);
      }
      for (ModuleRecord* m : touched_modules_) {
        if (m->alive) CheckTables(*m, m->all_slots_touched, m->touched_slots);
      }
    }
    ClearTouched();
    // Closing the probe scope freed nothing.
    CheckRefCounts();
  }

  NO_COVERAGE void CheckEverything() {
    for (const auto& r : codes_) Touch(*r);
    for (const auto& m : modules_) m->all_slots_touched = true;
    CheckTouched();
    std::optional<reference::WasmCodeRefScope> probe_scope;
    if (!scopes_.empty()) probe_scope.emplace();
    for (const SpaceRecord& s : spaces_seen_) {
      for (uint64_t pc :
           {s.start - 1, s.start, s.tables_end - 1, s.end - 1, s.end}) {
        ExpectRefLookup(pc, RefCodeAt(pc), ref_manager_.LookupCode(pc),
                        "LookupCode");
        ProbeFast(pc, 3);
        ProbeModules(pc);
      }
    }
  }

  NO_COVERAGE void ClearTouched() {
    touched_codes_.clear();
    for (ModuleRecord* m : touched_modules_) {
      m->all_slots_touched = false;
      m->touched_slots.clear();
    }
    touched_modules_.clear();
  }

  // Closes every scope, then frees every module, checking after each step;
  // at the end both managers are back where they started.
  NO_COVERAGE void Teardown() {
    teardown_ = true;
    CheckEverything();
    while (!scopes_.empty()) {
      CloseInnermostScope();
      CheckTouched();
    }
    for (ModuleRecord* m : LiveModules(true)) {
      FreeModuleRecord(*m);
      CheckTouched();
    }
    CheckEverything();
    const reference::CodeManagerMetrics metrics = ref_manager_.Metrics();
    if (ref_manager_.committed_bytes() != 0 ||
        metrics.reserved_code_space != 0 || metrics.num_code_spaces != 0 ||
        metrics.num_native_modules != 0 || metrics.generated_code_size != 0) {
      Fail("not-back-to-baseline",
           absl::StrFormat("after freeing everything: committed %d, reserved "
                           "%d, %d spaces, %d modules, %d bytes of code",
                           ref_manager_.committed_bytes(),
                           metrics.reserved_code_space, metrics.num_code_spaces,
                           metrics.num_native_modules,
                           metrics.generated_code_size));
    }
    if (fast_manager_.committed_bytes() != 0 ||
        fast_manager_.reserved_bytes() != 0 ||
        fast_manager_.num_code_spaces() != 0 ||
        fast_manager_.num_native_modules() != 0) {
      Fail("fast-not-back-to-baseline",
           absl::StrFormat("after freeing everything: committed %d, reserved "
                           "%d, %d spaces, %d modules",
                           fast_manager_.committed_bytes(),
                           fast_manager_.reserved_bytes(),
                           fast_manager_.num_code_spaces(),
                           fast_manager_.num_native_modules()));
    }
  }

  ByteSource in_;
  const uint8_t config_;
  const uint64_t limit_;
  int op_ = 0;
  int opcode_ = -1;
  bool teardown_ = false;
  CodeManagerRunStats stats_;

  // Managers outlive every module (declared first, destroyed last).
  reference::CodeManager ref_manager_;
  fast::CodeManager fast_manager_;
  uint64_t callbacks_ = 0;
  uint64_t notifications_ = 0;

  std::vector<std::unique_ptr<ModuleRecord>> modules_;
  std::vector<std::unique_ptr<CodeRecord>> codes_;
  std::vector<SpaceRecord> spaces_seen_;
  // By start: owned reference code (lookup-able), every reference region
  // still allocated, fast code.
  std::map<uint64_t, CodeRecord*> owned_;
  std::map<uint64_t, CodeRecord*> allocated_;
  std::map<uint64_t, CodeRecord*> fast_codes_;
  // Open scopes, innermost last, and the code each holds.
  std::vector<std::unique_ptr<reference::WasmCodeRefScope>> scopes_;
  std::vector<std::vector<CodeRecord*>> scope_codes_;
  uint64_t freed_bytes_ = 0;
  uint64_t next_code_seed_ = 1;
  int next_module_id_ = 0;

  std::set<CodeRecord*> touched_codes_;
  std::set<ModuleRecord*> touched_modules_;
};

}  // namespace

CodeManagerRunStats RunCodeManagerProgram(absl::Span<const uint8_t> input) {
  Program program(input);
  return program.Run();
}

}  // namespace wasmcache::fuzz
