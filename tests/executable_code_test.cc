// Generated x64 code that runs through the code manager: calls between
// functions through the near jump table (with recursion), builtin calls
// through the far jump table, external references, br_table-style
// dispatch through internal references, canonical signature ids, and the
// lazy-compile path of functions without code. Each behaviour is checked
// after publishing, after a serialize/deserialize round trip into a fresh
// CodeManager (the code at other addresses), and after cycles of removing
// and re-adding code, across tiers. First, the assembler that emits the
// code (tests/x64_codegen.h) is checked against llvm-mc.
//
// Running the code needs an x64 host; elsewhere those tests report
// themselves skipped (the assembler check runs everywhere).
//
// Implementations (tests/impl.h): every case that runs code runs against
// both, one body over the implementation's Api (tests/code_api.h): plain,
// the reference's CodeManager, NativeModule, WasmCode, scopes, Serializer
// and Deserialize; with WASMCACHE_IMPL=fast (names ending in ".fast") the
// fast ones. ReferenceCacheLoadsIntoCodeThatRuns loads a cache the
// reference wrote (the reference only makes the input there). The
// assembler check tests the suite's own assembler, no implementation: it
// runs in the reference run only.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reference/jump_table.h"
#include "reference/reloc_stream.h"
#include "spec/v8_tables.h"
#include "tests/code_api.h"
#include "tests/impl.h"
#include "tests/test_util.h"
#include "tests/x64_codegen.h"

namespace wasmcache {
namespace {

// --- The assembler, checked against an independent disassembler
// ---------------

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

// The llvm-mc executable ($LLVM_MC, llvm-mc or llvm-mc-14), or "".
std::string LlvmMc() {
  if (const char* env = std::getenv("LLVM_MC"); env != nullptr && *env) {
    return env;
  }
  std::string out;
  if (testing::RunCommand("command -v llvm-mc 2>/dev/null || "
                          "command -v llvm-mc-14 2>/dev/null",
                          &out) != 0) {
    return "";
  }
  return Trim(out.substr(0, out.find('\n')));
}

// Intel-syntax text of `bytes`, one "mnemonic operands" per instruction.
std::vector<std::string> Disassemble(const std::string& mc,
                                     const std::vector<uint8_t>& bytes) {
  std::string path = ::testing::TempDir();
  if (path.empty() || path.back() != '/') path += '/';
  path += "x64_codegen_XXXXXX";
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
    for (uint8_t byte : bytes) out << absl::StrFormat("0x%02x ", byte);
    out << "\n";
  }
  std::string output;
  const int status = testing::RunCommand(
      "'" + mc + "' --disassemble -triple=x86_64 -output-asm-variant=1 < '" +
          file + "' 2>&1",
      &output);
  std::remove(file.c_str());
  EXPECT_EQ(status, 0) << output;
  std::vector<std::string> out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("warning") != std::string::npos ||
        line.find("error") != std::string::npos) {
      ADD_FAILURE() << "llvm-mc: " << output;
      return {};
    }
    std::string text = Trim(line.substr(0, line.find('#')));
    if (text.empty() || text == ".text") continue;
    std::replace(text.begin(), text.end(), '\t', ' ');
    out.push_back(text);
  }
  return out;
}

TEST(X64Assembler, EncodingsMatchLlvmMc) {
  WASMCACHE_REFERENCE_ONLY(
      "checks the suite's own x64 assembler against llvm-mc, no "
      "implementation");
  using testing::x64::Assembler;
  using testing::x64::Condition;
  using testing::x64::Label;
  using testing::x64::Reg;
  const std::string mc = LlvmMc();
  ASSERT_FALSE(mc.empty())
      << "llvm-mc not found (install LLVM, e.g. apt-get install llvm-14, or "
         "set LLVM_MC): the assembler cannot be checked against an "
         "independent disassembler";
  Assembler masm;
  std::vector<std::string> expected;
  auto expect = [&](std::initializer_list<const char*> text) {
    for (const char* t : text) expected.push_back(t);
  };
  masm.Push(Reg::kRbp), expect({"push rbp"});
  masm.Push(Reg::kR12), expect({"push r12"});
  masm.Pop(Reg::kRbx), expect({"pop rbx"});
  masm.Pop(Reg::kR15), expect({"pop r15"});
  masm.Mov(Reg::kRax, Reg::kRdi), expect({"mov rax, rdi"});
  masm.Mov(Reg::kR12, Reg::kRsi), expect({"mov r12, rsi"});
  masm.Mov(Reg::kRdi, Reg::kR12), expect({"mov rdi, r12"});
  masm.MovImm(Reg::kRax, 99), expect({"mov rax, 99"});
  masm.MovImm(Reg::kR9, -1), expect({"mov r9, -1"});
  masm.Movabs(Reg::kR10, 0x123456789abcdef0),
      expect({"movabs r10, 1311768467463790320"});
  masm.Add(Reg::kRax, Reg::kR12), expect({"add rax, r12"});
  masm.AddImm(Reg::kRax, 1000), expect({"add rax, 1000"});
  masm.Sub(Reg::kRcx, Reg::kRdx), expect({"sub rcx, rdx"});
  masm.SubImm(Reg::kR13, 2), expect({"sub r13, 2"});
  masm.Imul(Reg::kR12, Reg::kRax), expect({"imul r12, rax"});
  masm.Imul(Reg::kRax, Reg::kR13), expect({"imul rax, r13"});
  masm.Cmp(Reg::kRdi, Reg::kRsi), expect({"cmp rdi, rsi"});
  masm.CmpImm(Reg::kR8, 3), expect({"cmp r8, 3"});
  masm.SetCondition(Condition::kEqual, Reg::kRax),
      expect({"sete al", "movzx eax, al"});
  masm.SetCondition(Condition::kLess, Reg::kRdi),
      expect({"setl dil", "movzx edi, dil"});
  masm.SetCondition(Condition::kNotEqual, Reg::kR9),
      expect({"setne r9b", "movzx r9d, r9b"});
  masm.CallRegister(Reg::kRax), expect({"call rax"});
  masm.CallRegister(Reg::kR11), expect({"call r11"});
  masm.JumpThroughTable(Reg::kRcx, Reg::kRdi),
      expect({"jmp qword ptr [rcx + 8*rdi]"});
  masm.JumpThroughTable(Reg::kR8, Reg::kR9),
      expect({"jmp qword ptr [r8 + 8*r9]"});
  // Relocated forms hold their tags.
  masm.CallFunction(7), expect({"call 7"});
  masm.JumpToFunction(7), expect({"jmp 7"});
  masm.CallBuiltin(1601), expect({"call 1601"});
  masm.MovExternalReference(Reg::kRax, 950), expect({"movabs rax, 950"});
  masm.CmpSignatureId32(Reg::kRdi, 2), expect({"cmp edi, 2"});
  masm.CmpSignatureId32(Reg::kR10, 3), expect({"cmp r10d, 3"});
  // Labels: displacements from the end of the instruction.
  Label back, forward, data;
  masm.Bind(&back);
  masm.JumpIf(Condition::kLess, &back), expect({"jl -6"});
  masm.Jump(&forward), expect({"jmp 1"});
  masm.Ret(), expect({"ret"});
  masm.Bind(&forward);
  masm.LeaLabel(Reg::kRcx, &data), expect({"lea rcx, [rip + 1]"});
  masm.Int3(), expect({"int3"});
  masm.Bind(&data);
  const uint32_t size = masm.pc_offset();
  const testing::x64::GeneratedCode code = masm.Finish(0);
  const std::vector<uint8_t> bytes(code.instructions.begin(),
                                   code.instructions.begin() + size);
  EXPECT_EQ(Disassemble(mc, bytes), expected);
  // One safepoint entry, at the first call's return address.
  EXPECT_EQ(code.header.safepoint_table_offset % 4, 0);
  EXPECT_EQ(code.header.handler_table_offset, code.header.instructions_size);
  EXPECT_EQ(code.header.unpadded_binary_size, code.header.instructions_size);
  // The relocation entries point at the fields, in pc order.
  ASSERT_EQ(code.relocs.size(), 6u);
  const RelocMode modes[] = {
      RelocMode::kWasmCall,           RelocMode::kWasmCall,
      RelocMode::kWasmStubCall,       RelocMode::kExternalReference,
      RelocMode::kWasmCanonicalSigId, RelocMode::kWasmCanonicalSigId};
  const uint64_t tags[] = {7, 7, 1601, 950, 2, 3};
  for (size_t i = 0; i < code.relocs.size(); ++i) {
    EXPECT_EQ(code.relocs[i].mode, modes[i]);
    const int width = modes[i] == RelocMode::kExternalReference ? 8 : 4;
    uint64_t tag = 0;
    for (int b = 0; b < width; ++b) {
      tag |= uint64_t{code.instructions[code.relocs[i].pc + b]} << (8 * b);
    }
    EXPECT_EQ(tag, tags[i]) << "entry " << i;
  }
  EXPECT_EQ(reference::DecodeRelocStream(code.reloc_info, size, 0).value(),
            code.relocs);
}

#if defined(__x86_64__)

using testing::ApiFor;
using testing::ReferenceApi;
using testing::WithSelectedApi;
using testing::x64::Assembler;
using testing::x64::CallGenerated;
using testing::x64::Condition;
using testing::x64::ExecutableBuffer;
using testing::x64::GeneratedCode;
using testing::x64::Label;
using testing::x64::Reg;
using wasmcache::Environment;
using wasmcache::ModuleInfo;
using Bytes = std::vector<uint8_t>;

// --- The module --------------------------------------------------------------

constexpr uint32_t kImported = 2;

// Declared functions, all int64_t(int64_t a, int64_t b).
enum Declared : uint32_t {
  kAdd,                 // a + b
  kFib,                 // fib(a), recursive through its own jump-table slot
  kCombine,             // add(a, b) * 2 + fib(b)
  kStubCall,            // WasmTriggerTierUp(a, b) + 1, through the far table
  kExternalCall,        // external reference kExternalIndex, called: 7a - b
  kBrTable,             // a in {0, 1, 2}: b + 10, 2b, b - 5; else 99
  kSigCheck,            // a == canonical id of type 2
  kSigCheckMerged,      // a == canonical id of type 3 (merged with type 0)
  kNeverCompiled,       // no code: the lazy-compile slot answers
  kCallsNeverCompiled,  // never_compiled(a, b) + 1000
  kNumDeclared,
};

constexpr uint32_t FunctionIndex(uint32_t declared) {
  return kImported + declared;
}

// Types: 0 and 3 are the same signature; 1 is a struct; 2 a signature
// whose canonical id has the top bit set (the compare is 32-bit).
constexpr uint32_t kCanonicalIds[] = {0x00c0ffee, 0x0000beef, 0x9abc0123,
                                      0x00c0ffee};
constexpr uint32_t kExternalIndex = 950;  // the last external reference
constexpr uint32_t kStubBuiltin = 1601;   // WasmTriggerTierUp, far slot 18

std::atomic<int> builtin_calls{0};
std::atomic<int> external_calls{0};

int64_t TierUpBuiltin(int64_t a, int64_t b) {
  builtin_calls.fetch_add(1);
  return a * 1000 + b;
}

int64_t ExternalFunction(int64_t a, int64_t b) {
  external_calls.fetch_add(1);
  return 7 * a - b;
}

int64_t Fib(int64_t n) { return n < 2 ? n : Fib(n - 1) + Fib(n - 2); }

// The value a function returns when it has code.
int64_t Expected(uint32_t declared, int64_t a, int64_t b) {
  switch (declared) {
    case kAdd:
      return a + b;
    case kFib:
      return Fib(a);
    case kCombine:
      return (a + b) * 2 + Fib(b);
    case kStubCall:
      return a * 1000 + b + 1;
    case kExternalCall:
      return 7 * a - b;
    case kBrTable:
      switch (a) {
        case 0:
          return b + 10;
        case 1:
          return 2 * b;
        case 2:
          return b - 5;
        default:
          return 99;
      }
    case kSigCheck:
      return static_cast<uint32_t>(a) == kCanonicalIds[2];
    case kSigCheckMerged:
      return static_cast<uint32_t>(a) == kCanonicalIds[3];
    case kNeverCompiled:
      return FunctionIndex(kNeverCompiled);
    case kCallsNeverCompiled:
      return FunctionIndex(kNeverCompiled) + 1000;
  }
  return 0;
}

// Argument pairs every function is called with.
std::vector<std::pair<int64_t, int64_t>> Arguments(uint32_t declared) {
  switch (declared) {
    case kFib:
      return {{0, 0}, {1, 0}, {2, 0}, {10, 0}, {20, 0}};
    case kCombine:
      return {{1, 2}, {-5, 12}, {100, 15}};
    case kBrTable:
      return {{0, 7}, {1, 7}, {2, 7}, {3, 7}, {-1, 7}, {1000, 7}};
    case kSigCheck:
    case kSigCheckMerged:
      return {{kCanonicalIds[0], 0},
              {kCanonicalIds[2], 0},
              {kCanonicalIds[1], 0},
              {0, 0}};
    default:
      return {{0, 0}, {3, 4}, {-7, 2}, {1 << 20, -(1 << 21)}};
  }
}

ModuleInfo TestModule() {
  ModuleInfo module;
  module.num_imported_functions = kImported;
  module.num_declared_functions = kNumDeclared;
  module.is_signature = {true, false, true, true};
  module.structural_class = {0, 1, 2, 0};
  module.declared_function_types.assign(kNumDeclared, 0);
  return module;
}

// --- The code ----------------------------------------------------------------

GeneratedCode GenerateAdd(uint8_t tier) {
  Assembler masm;
  if (tier == kTierLiftoff) {
    // A different body, as another compiler would emit it.
    masm.Push(Reg::kRbp);
    masm.Mov(Reg::kRbp, Reg::kRsp);
    masm.Mov(Reg::kRax, Reg::kRsi);
    masm.Add(Reg::kRax, Reg::kRdi);
    masm.Pop(Reg::kRbp);
  } else {
    masm.Mov(Reg::kRax, Reg::kRdi);
    masm.Add(Reg::kRax, Reg::kRsi);
  }
  masm.Ret();
  return masm.Finish(FunctionIndex(kAdd), tier);
}

GeneratedCode GenerateFib(uint8_t tier) {
  Assembler masm;
  Label base_case, done;
  // Three pushes keep the stack 16-byte aligned at the calls.
  masm.Push(Reg::kRbp);
  masm.Mov(Reg::kRbp, Reg::kRsp);
  masm.Push(Reg::kRbx);
  masm.Push(Reg::kR12);
  masm.CmpImm(Reg::kRdi, 2);
  masm.JumpIf(Condition::kLess, &base_case);
  masm.Mov(Reg::kRbx, Reg::kRdi);
  masm.SubImm(Reg::kRdi, 1);
  masm.CallFunction(FunctionIndex(kFib));
  masm.Mov(Reg::kR12, Reg::kRax);
  masm.Mov(Reg::kRdi, Reg::kRbx);
  masm.SubImm(Reg::kRdi, 2);
  masm.CallFunction(FunctionIndex(kFib));
  masm.Add(Reg::kRax, Reg::kR12);
  masm.Jump(&done);
  masm.Bind(&base_case);
  masm.Mov(Reg::kRax, Reg::kRdi);
  masm.Bind(&done);
  masm.Pop(Reg::kR12);
  masm.Pop(Reg::kRbx);
  masm.Pop(Reg::kRbp);
  masm.Ret();
  return masm.Finish(FunctionIndex(kFib), tier);
}

GeneratedCode GenerateCombine() {
  Assembler masm;
  masm.Push(Reg::kRbp);
  masm.Mov(Reg::kRbp, Reg::kRsp);
  masm.Push(Reg::kRbx);
  masm.Push(Reg::kR12);
  masm.Mov(Reg::kR12, Reg::kRsi);
  masm.CallFunction(FunctionIndex(kAdd));  // a, b still in rdi, rsi
  masm.Add(Reg::kRax, Reg::kRax);
  masm.Mov(Reg::kRbx, Reg::kRax);
  masm.Mov(Reg::kRdi, Reg::kR12);
  masm.CallFunction(FunctionIndex(kFib));
  masm.Add(Reg::kRax, Reg::kRbx);
  masm.Pop(Reg::kR12);
  masm.Pop(Reg::kRbx);
  masm.Pop(Reg::kRbp);
  masm.Ret();
  return masm.Finish(FunctionIndex(kCombine));
}

GeneratedCode GenerateStubCall() {
  Assembler masm;
  masm.Push(Reg::kRbp);
  masm.Mov(Reg::kRbp, Reg::kRsp);
  masm.CallBuiltin(kStubBuiltin);
  masm.AddImm(Reg::kRax, 1);
  masm.Pop(Reg::kRbp);
  masm.Ret();
  return masm.Finish(FunctionIndex(kStubCall));
}

GeneratedCode GenerateExternalCall() {
  Assembler masm;
  masm.Push(Reg::kRbp);
  masm.Mov(Reg::kRbp, Reg::kRsp);
  masm.MovExternalReference(Reg::kRax, kExternalIndex);
  masm.CallRegister(Reg::kRax);
  masm.Pop(Reg::kRbp);
  masm.Ret();
  return masm.Finish(FunctionIndex(kExternalCall));
}

GeneratedCode GenerateBrTable() {
  Assembler masm;
  Label cases[3], fallback, table;
  masm.CmpImm(Reg::kRdi, 3);
  masm.JumpIf(Condition::kAboveEqual, &fallback);  // unsigned: also a < 0
  masm.LeaLabel(Reg::kRcx, &table);
  masm.JumpThroughTable(Reg::kRcx, Reg::kRdi);
  masm.Bind(&cases[0]);
  masm.Mov(Reg::kRax, Reg::kRsi);
  masm.AddImm(Reg::kRax, 10);
  masm.Ret();
  masm.Bind(&cases[1]);
  masm.Mov(Reg::kRax, Reg::kRsi);
  masm.Add(Reg::kRax, Reg::kRsi);
  masm.Ret();
  masm.Bind(&cases[2]);
  masm.Mov(Reg::kRax, Reg::kRsi);
  masm.SubImm(Reg::kRax, 5);
  masm.Ret();
  masm.Bind(&fallback);
  masm.MovImm(Reg::kRax, 99);
  masm.Ret();
  masm.Align(8);
  masm.Bind(&table);
  for (Label& target : cases) masm.EmitLabelAddress(&target);
  return masm.Finish(FunctionIndex(kBrTable));
}

GeneratedCode GenerateSigCheck(uint32_t declared, uint32_t type_index) {
  Assembler masm;
  masm.CmpSignatureId32(Reg::kRdi, type_index);
  masm.SetCondition(Condition::kEqual, Reg::kRax);
  masm.Ret();
  return masm.Finish(FunctionIndex(declared));
}

GeneratedCode GenerateCallsNeverCompiled() {
  Assembler masm;
  masm.Push(Reg::kRbp);
  masm.Mov(Reg::kRbp, Reg::kRsp);
  masm.CallFunction(FunctionIndex(kNeverCompiled));
  masm.AddImm(Reg::kRax, 1000);
  masm.Pop(Reg::kRbp);
  masm.Ret();
  return masm.Finish(FunctionIndex(kCallsNeverCompiled));
}

// --- Fixture -----------------------------------------------------------------

// Helpers take a module or manager of either implementation (ApiFor).
class ExecutableCodeTest : public ::testing::Test {
 protected:
  ExecutableCodeTest()
      : module_(TestModule()),
        env_(testing::x64::HostEnvironment(module_)),
        lazy_stub_(testing::x64::LazyCompileStubCode()) {
    env_.canonical_sig_ids.assign(std::begin(kCanonicalIds),
                                  std::end(kCanonicalIds));
    testing::x64::SetExternalReference(
        env_, kExternalIndex, testing::x64::AddressOf(&ExternalFunction));
    testing::x64::SetBuiltinEntry(env_, kStubBuiltin,
                                  testing::x64::AddressOf(&TierUpBuiltin));
    testing::x64::SetBuiltinEntry(env_, v8_13_6::kWasmCompileLazy,
                                  lazy_stub_.address());
    turbofan_.resize(kNumDeclared);
    turbofan_[kAdd] = GenerateAdd(kTierTurboFan);
    turbofan_[kFib] = GenerateFib(kTierTurboFan);
    turbofan_[kCombine] = GenerateCombine();
    turbofan_[kStubCall] = GenerateStubCall();
    turbofan_[kExternalCall] = GenerateExternalCall();
    turbofan_[kBrTable] = GenerateBrTable();
    turbofan_[kSigCheck] = GenerateSigCheck(kSigCheck, 2);
    turbofan_[kSigCheckMerged] = GenerateSigCheck(kSigCheckMerged, 3);
    turbofan_[kCallsNeverCompiled] = GenerateCallsNeverCompiled();
    liftoff_add_ = GenerateAdd(kTierLiftoff);
    liftoff_fib_ = GenerateFib(kTierLiftoff);
  }

  // Every declared function that has TurboFan code.
  std::vector<uint32_t> Compiled() const {
    std::vector<uint32_t> out;
    for (uint32_t d = 0; d < kNumDeclared; ++d) {
      if (d != kNeverCompiled) out.push_back(d);
    }
    return out;
  }

  template <class Manager>
  std::unique_ptr<typename ApiFor<Manager>::NativeModule> NewModule(
      Manager& manager) {
    auto native = manager.NewNativeModule(module_, env_, 4096);
    EXPECT_TRUE(native.ok()) << native.status();
    if (!native.ok()) return nullptr;
    ApiFor<Manager>::SetHeaders(**native, testing::x64::GlobalHeaderFor(env_));
    return *std::move(native);
  }

  // Adds `codes` as one batch and publishes them; returns what was
  // installed (nullptr for code dropped as lower tier).
  template <class Module>
  std::vector<typename ApiFor<Module>::WasmCode*> AddAndPublish(
      Module& native, const std::vector<const GeneratedCode*>& codes) {
    using Api = ApiFor<Module>;
    std::vector<typename Api::CompiledCode> batch;
    for (const GeneratedCode* code : codes) {
      auto prepared = Api::PrepareCompiledCode(module_, env_, code->index,
                                               code->header, code->parts());
      EXPECT_TRUE(prepared.ok()) << prepared.status();
      if (!prepared.ok()) return {};
      batch.push_back(*std::move(prepared));
    }
    auto added = native.AddCompiledCode(batch);
    EXPECT_TRUE(added.ok()) << added.status();
    if (!added.ok()) return {};
    return native.PublishCode(*std::move(added));
  }

  // The TurboFan code of `declared`.
  template <class Module>
  std::vector<typename ApiFor<Module>::WasmCode*> AddAndPublishTurbofan(
      Module& native, const std::vector<uint32_t>& declared) {
    std::vector<const GeneratedCode*> codes;
    for (uint32_t d : declared) codes.push_back(&turbofan_[d]);
    return AddAndPublish(native, codes);
  }

  template <class Module>
  static int64_t Call(const Module& native, uint32_t declared, int64_t a,
                      int64_t b) {
    typename Module::ExecutionScope scope(native);
    return CallGenerated(ApiFor<Module>::CallTarget(native, declared), a, b);
  }

  // Every function gives its value, or its function index if `lazy` says
  // it has no code (a function that calls a lazy one still calls it).
  template <class Module>
  static void ExpectResults(const Module& native,
                            const std::vector<bool>& lazy) {
    for (uint32_t d = 0; d < kNumDeclared; ++d) {
      for (const auto& [a, b] : Arguments(d)) {
        const int64_t expected = lazy[d] ? FunctionIndex(d) : Expected(d, a, b);
        EXPECT_EQ(Call(native, d, a, b), expected)
            << "function " << d << " (" << a << ", " << b << ")";
      }
    }
  }

  static std::vector<bool> OnlyNeverCompiledIsLazy() {
    std::vector<bool> lazy(kNumDeclared, false);
    lazy[kNeverCompiled] = true;
    return lazy;
  }

  template <class Api>
  static Bytes Serialize(const Api& api,
                         const typename Api::NativeModule& native) {
    auto bytes = api.Serialize(native);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *std::move(bytes) : Bytes{};
  }

  template <class Api>
  std::unique_ptr<typename Api::NativeModule> Deserialize(
      const Api& api, typename Api::CodeManager& manager, const Bytes& cache) {
    auto native = api.Deserialize(manager, cache, module_, env_);
    EXPECT_TRUE(native.ok()) << native.status();
    return native.ok() ? *std::move(native) : nullptr;
  }

  uint64_t CodeSize(uint32_t declared) const {
    return turbofan_[declared].instructions.size();
  }

  ModuleInfo module_;
  Environment env_;
  ExecutableBuffer lazy_stub_;
  std::vector<GeneratedCode> turbofan_;
  GeneratedCode liftoff_add_;
  GeneratedCode liftoff_fib_;
};

// --- Tests -------------------------------------------------------------------

TEST_F(ExecutableCodeTest, PublishedCodeRuns) {
  WithSelectedApi([&]<class Api>(const Api&) {
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    // Before anything is published every slot leads to the lazy stub.
    for (uint32_t d = 0; d < kNumDeclared; ++d) {
      EXPECT_EQ(Call(*native, d, 1, 2), FunctionIndex(d));
    }
    const auto published = AddAndPublishTurbofan(*native, Compiled());
    ASSERT_EQ(published.size(), Compiled().size());
    for (const auto* code : published) ASSERT_NE(code, nullptr);

    const int builtins_before = builtin_calls.load();
    const int externals_before = external_calls.load();
    ExpectResults(*native, OnlyNeverCompiledIsLazy());
    EXPECT_EQ(builtin_calls.load() - builtins_before,
              static_cast<int>(Arguments(kStubCall).size()));
    EXPECT_EQ(external_calls.load() - externals_before,
              static_cast<int>(Arguments(kExternalCall).size()));
  });
}

// The relocated sites hold what the environment and the tables say.
TEST_F(ExecutableCodeTest, SitesHoldRealAddresses) {
  WithSelectedApi([&]<class Api>(const Api&) {
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    AddAndPublishTurbofan(*native, Compiled());
    typename Api::WasmCodeRefScope scope;
    // Little-endian field of `size` bytes at `pc`.
    auto field = [](absl::Span<const uint8_t> code, uint32_t pc, int size) {
      uint64_t value = 0;
      for (int i = 0; i < size; ++i) {
        value |= uint64_t{code[pc + i]} << (8 * i);
      }
      return value;
    };
    for (uint32_t d : Compiled()) {
      const auto* code = native->GetCode(d);
      ASSERT_NE(code, nullptr);
      EXPECT_EQ(code->index(), FunctionIndex(d));
      const absl::Span<const uint8_t> live = code->instructions();
      const absl::Span<const uint8_t> tagged = turbofan_[d].instructions;
      const uint64_t start = code->instruction_start();
      const auto tables =
          native->FindJumpTablesForRegion(start, code->instructions_size());
      ASSERT_TRUE(Api::IsValid(tables));
      for (const reference::RelocEntry& entry : turbofan_[d].relocs) {
        SCOPED_TRACE(::testing::Message()
                     << "function " << d << " pc " << entry.pc);
        const uint64_t rel32_target = start + entry.pc + 4 +
                                      static_cast<int64_t>(static_cast<int32_t>(
                                          field(live, entry.pc, 4)));
        switch (entry.mode) {
          case RelocMode::kWasmCall:
            EXPECT_EQ(rel32_target, Api::NearSlot(*native, tables,
                                                  static_cast<uint32_t>(field(
                                                      tagged, entry.pc, 4)) -
                                                      kImported));
            break;
          case RelocMode::kWasmStubCall:
            EXPECT_EQ(rel32_target, Api::FarSlot(*native, tables,
                                                 testing::x64::FarSlotOfBuiltin(
                                                     env_, kStubBuiltin)));
            break;
          case RelocMode::kExternalReference:
            EXPECT_EQ(field(live, entry.pc, 8),
                      testing::x64::AddressOf(&ExternalFunction));
            break;
          case RelocMode::kInternalReference:
            EXPECT_EQ(field(live, entry.pc, 8),
                      start + field(tagged, entry.pc, 8));
            break;
          case RelocMode::kWasmCanonicalSigId:
            EXPECT_EQ(field(live, entry.pc, 4),
                      kCanonicalIds[field(tagged, entry.pc, 4)]);
            break;
          default:
            ADD_FAILURE() << "unexpected mode";
        }
      }
    }
    // The far slots of the called builtin and of WasmCompileLazy jump to
    // the host functions (the slots decoded with the reference's reader).
    const auto first = Api::FirstSpaceTables(*native);
    const auto far_target = [&](uint32_t builtin) {
      const uint64_t slot = Api::FarSlot(
          *native, first, testing::x64::FarSlotOfBuiltin(env_, builtin));
      return reference::ReadFarJumpSlotTarget(
          Arch::kX64, reinterpret_cast<const uint8_t*>(slot));
    };
    EXPECT_EQ(*far_target(kStubBuiltin),
              testing::x64::AddressOf(&TierUpBuiltin));
    EXPECT_EQ(testing::x64::FarSlotOfBuiltin(env_, v8_13_6::kWasmCompileLazy),
              17u);
    EXPECT_EQ(*far_target(v8_13_6::kWasmCompileLazy), lazy_stub_.address());
  });
}

TEST_F(ExecutableCodeTest, DeserializedCodeRunsAtOtherAddresses) {
  WithSelectedApi([&]<class Api>(const Api& api) {
    Bytes cache;
    typename Api::CodeManager manager_a;
    auto a = NewModule(manager_a);
    ASSERT_NE(a, nullptr);
    AddAndPublishTurbofan(*a, Compiled());
    ExpectResults(*a, OnlyNeverCompiledIsLazy());
    cache = Serialize(api, *a);
    ASSERT_FALSE(cache.empty());

    typename Api::CodeManager manager_b;
    auto b = Deserialize(api, manager_b, cache);
    ASSERT_NE(b, nullptr);
    {
      typename Api::WasmCodeRefScope scope;
      for (uint32_t d : Compiled()) {
        const auto* code_a = a->GetCode(d);
        const auto* code_b = b->GetCode(d);
        ASSERT_NE(code_a, nullptr);
        ASSERT_NE(code_b, nullptr);
        EXPECT_NE(code_a->instruction_start(), code_b->instruction_start());
        EXPECT_EQ(manager_b.LookupCode(code_b->instruction_start()), code_b);
        EXPECT_EQ(manager_a.LookupCode(code_b->instruction_start()), nullptr);
      }
      EXPECT_FALSE(b->HasCode(kNeverCompiled));
      // Internal references are absolute: they differ between the copies.
      const auto* table_a = a->GetCode(kBrTable);
      const auto* table_b = b->GetCode(kBrTable);
      EXPECT_NE(
          Bytes(table_a->instructions().begin(), table_a->instructions().end()),
          Bytes(table_b->instructions().begin(),
                table_b->instructions().end()));
    }
    ExpectResults(*b, OnlyNeverCompiledIsLazy());
    // The copy does not depend on the original.
    a.reset();
    ExpectResults(*b, OnlyNeverCompiledIsLazy());
    // Serializing the copy gives the same bytes (already canonical: the
    // merged signature's site names type 0).
    EXPECT_EQ(Serialize(api, *b), cache);
  });
}

// A cache the reference wrote loads, in every way the implementation loads
// (the fast one: on one thread and on all), into code that runs at its own
// addresses, and serializes back to the same bytes.
TEST_F(ExecutableCodeTest, ReferenceCacheLoadsIntoCodeThatRuns) {
  Bytes cache;
  {
    ReferenceApi::CodeManager manager;
    auto a = NewModule(manager);
    ASSERT_NE(a, nullptr);
    AddAndPublishTurbofan(*a, Compiled());
    cache = Serialize(ReferenceApi{}, *a);
  }
  ASSERT_FALSE(cache.empty());
  WithSelectedApi([&]<class Api>(const Api& api) {
    for (const Api& load : api.LoadVariants()) {
      typename Api::CodeManager manager;
      auto b = load.Deserialize(manager, cache, module_, env_);
      ASSERT_TRUE(b.ok()) << b.status();
      const auto& native = **b;
      const int builtins_before = builtin_calls.load();
      ExpectResults(native, OnlyNeverCompiledIsLazy());
      for (uint32_t d = 0; d < kNumDeclared; ++d) {
        if (const auto* code = native.GetCode(d)) {
          EXPECT_EQ(manager.LookupCode(code->instruction_start()), code);
        }
      }
      EXPECT_GT(builtin_calls.load(), builtins_before);
      auto again = load.Serialize(native);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_EQ(*again, cache);
    }
  });
}

TEST_F(ExecutableCodeTest, RemovedFunctionsReachTheLazyStub) {
  WithSelectedApi([&]<class Api>(const Api& api) {
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    AddAndPublishTurbofan(*native, Compiled());
    const auto before = manager.Metrics();
    EXPECT_EQ(
        native->RemoveCompiledCode(Api::RemoveFilter::kRemoveTurbofanCode),
        Compiled().size());
    uint64_t removed_size = 0;
    for (uint32_t d : Compiled()) removed_size += CodeSize(d);
    const auto after = manager.Metrics();
    EXPECT_EQ(after.freed_code_size - before.freed_code_size, removed_size);
    EXPECT_EQ(after.generated_code_size, 0u);
    EXPECT_EQ(native->num_owned_code(), 0u);
    for (uint32_t d = 0; d < kNumDeclared; ++d) {
      EXPECT_FALSE(native->HasCode(d));
      EXPECT_EQ(Call(*native, d, 5, 6), FunctionIndex(d));
    }
    // Nothing left to serialize.
    EXPECT_EQ(api.Serialize(*native).status().code(),
              absl::StatusCode::kFailedPrecondition);
    // The caller of a lazy function reaches the stub through its own call.
    AddAndPublishTurbofan(*native, {kCallsNeverCompiled, kAdd});
    EXPECT_EQ(Call(*native, kCallsNeverCompiled, 0, 0),
              FunctionIndex(kNeverCompiled) + 1000);
    EXPECT_EQ(Call(*native, kAdd, 40, 2), 42);
    EXPECT_EQ(Call(*native, kFib, 10, 0), FunctionIndex(kFib));
  });
}

TEST_F(ExecutableCodeTest, RemoveAndReAddCyclesAcrossTiers) {
  WithSelectedApi([&]<class Api>(const Api& api) {
    constexpr auto kTurbofan = Api::RemoveFilter::kRemoveTurbofanCode;
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    for (int cycle = 0; cycle < 4; ++cycle) {
      SCOPED_TRACE(::testing::Message() << "cycle " << cycle);
      // A first batch: the callees only; their callers stay lazy.
      AddAndPublishTurbofan(*native, {kAdd, kFib});
      std::vector<bool> lazy(kNumDeclared, true);
      lazy[kAdd] = lazy[kFib] = false;
      ExpectResults(*native, lazy);
      // Then the rest.
      AddAndPublishTurbofan(
          *native, {kCombine, kStubCall, kExternalCall, kBrTable, kSigCheck,
                    kSigCheckMerged, kCallsNeverCompiled});
      ExpectResults(*native, OnlyNeverCompiledIsLazy());
      EXPECT_EQ(native->RemoveCompiledCode(kTurbofan), Compiled().size());
      ExpectResults(*native, std::vector<bool>(kNumDeclared, true));
    }

    // Liftoff first, TurboFan replaces it, a later Liftoff is dropped.
    const uint64_t freed_before = manager.Metrics().freed_code_size;
    auto installed = AddAndPublish(*native, {&liftoff_add_, &liftoff_fib_});
    ASSERT_EQ(installed.size(), 2u);
    ASSERT_NE(installed[0], nullptr);
    EXPECT_TRUE(installed[0]->is_liftoff());
    EXPECT_EQ(Call(*native, kAdd, 20, 22), 42);
    EXPECT_EQ(Call(*native, kFib, 12, 0), Fib(12));
    installed = AddAndPublish(*native, {&turbofan_[kAdd]});
    ASSERT_EQ(installed.size(), 1u);
    ASSERT_NE(installed[0], nullptr);
    EXPECT_TRUE(installed[0]->is_turbofan());
    EXPECT_EQ(manager.Metrics().freed_code_size - freed_before,
              liftoff_add_.instructions.size())
        << "replaced Liftoff code is freed";
    installed = AddAndPublish(*native, {&liftoff_add_});
    ASSERT_EQ(installed.size(), 1u);
    EXPECT_EQ(installed[0], nullptr) << "lower tier is not installed";
    EXPECT_EQ(manager.Metrics().freed_code_size - freed_before,
              2 * liftoff_add_.instructions.size())
        << "dropped code is freed";
    {
      typename Api::WasmCodeRefScope scope;
      ASSERT_NE(native->GetCode(kAdd), nullptr);
      EXPECT_TRUE(native->GetCode(kAdd)->is_turbofan());
      ASSERT_NE(native->GetCode(kFib), nullptr);
      EXPECT_TRUE(native->GetCode(kFib)->is_liftoff());
    }
    EXPECT_EQ(Call(*native, kAdd, 20, 22), 42);
    // Removing Liftoff code leaves the TurboFan code.
    EXPECT_EQ(native->RemoveCompiledCode(Api::RemoveFilter::kRemoveLiftoffCode),
              1u);
    EXPECT_FALSE(native->HasCode(kFib));
    EXPECT_TRUE(native->HasCode(kAdd));
    EXPECT_EQ(Call(*native, kFib, 12, 0), FunctionIndex(kFib));

    // All TurboFan again: the round trip into a fresh manager still runs.
    AddAndPublishTurbofan(
        *native, {kFib, kCombine, kStubCall, kExternalCall, kBrTable, kSigCheck,
                  kSigCheckMerged, kCallsNeverCompiled});
    ExpectResults(*native, OnlyNeverCompiledIsLazy());
    const Bytes cache = Serialize(api, *native);
    ASSERT_FALSE(cache.empty());
    native.reset();
    typename Api::CodeManager fresh;
    auto copy = Deserialize(api, fresh, cache);
    ASSERT_NE(copy, nullptr);
    ExpectResults(*copy, OnlyNeverCompiledIsLazy());
    // And the copy goes through the same cycles.
    EXPECT_EQ(copy->RemoveCompiledCode(kTurbofan), Compiled().size());
    ExpectResults(*copy, std::vector<bool>(kNumDeclared, true));
    AddAndPublishTurbofan(*copy, Compiled());
    ExpectResults(*copy, OnlyNeverCompiledIsLazy());
  });
}

// A module that holds Liftoff code serializes it the way V8 does: as a
// lazy (never run) or eager (run) function, not as a TurboFan record.
TEST_F(ExecutableCodeTest, LiftoffCodeIsNotSerializedAsTurbofan) {
  WithSelectedApi([&]<class Api>(const Api& api) {
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    std::vector<uint32_t> turbofan = Compiled();
    std::erase(turbofan, kFib);
    AddAndPublishTurbofan(*native, turbofan);
    AddAndPublish(*native, {&liftoff_fib_});
    ExpectResults(*native, OnlyNeverCompiledIsLazy());
    const Bytes cache = Serialize(api, *native);
    ASSERT_FALSE(cache.empty());
    typename Api::CodeManager fresh;
    auto copy = Deserialize(api, fresh, cache);
    ASSERT_NE(copy, nullptr);
    EXPECT_FALSE(copy->HasCode(kFib));
    // fib is lazy in the copy; combine, which calls it, gets its index.
    for (uint32_t d = 0; d < kNumDeclared; ++d) {
      for (const auto& [a, b] : Arguments(d)) {
        int64_t expected = Expected(d, a, b);
        if (d == kFib) expected = FunctionIndex(kFib);
        if (d == kCombine) expected = (a + b) * 2 + FunctionIndex(kFib);
        EXPECT_EQ(Call(*copy, d, a, b), expected) << "function " << d;
      }
    }
  });
}

// Code removed while a WasmCodeRefScope holds it stays in place and runs
// until the scope closes; then it is freed, once. Here another thread,
// with no scope of its own, removes the code.
TEST_F(ExecutableCodeTest, RefScopeKeepsRemovedCodeRunnable) {
  WithSelectedApi([&]<class Api>(const Api&) {
    using ExecutionScope = typename Api::NativeModule::ExecutionScope;
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    AddAndPublishTurbofan(*native, Compiled());
    const uint64_t freed_before = manager.Metrics().freed_code_size;
    uint64_t others = 0;
    for (uint32_t d : Compiled()) others += d == kBrTable ? 0 : CodeSize(d);
    uint64_t start = 0;
    {
      typename Api::WasmCodeRefScope scope;
      const auto* held = native->GetCode(kBrTable);
      ASSERT_NE(held, nullptr);
      start = held->instruction_start();
      const Bytes bytes(held->instructions().begin(),
                        held->instructions().end());
      size_t removed = 0;
      std::thread([&] {
        removed =
            native->RemoveCompiledCode(Api::RemoveFilter::kRemoveTurbofanCode);
      }).join();
      EXPECT_EQ(removed, Compiled().size());
      EXPECT_EQ(manager.Metrics().freed_code_size - freed_before, others)
          << "code nobody holds is freed at once";
      // The slot leads to the lazy stub; the held code is intact and runs.
      EXPECT_EQ(Call(*native, kBrTable, 1, 7), FunctionIndex(kBrTable));
      EXPECT_EQ(Bytes(held->instructions().begin(), held->instructions().end()),
                bytes);
      EXPECT_EQ(manager.LookupCode(start + 3), held);
      EXPECT_EQ(native->Lookup(start), held);
      for (const auto& [a, b] : Arguments(kBrTable)) {
        ExecutionScope execution(*native);
        EXPECT_EQ(CallGenerated(start, a, b), Expected(kBrTable, a, b));
      }
      // New code does not take the held code's place.
      AddAndPublishTurbofan(*native, {kAdd, kFib, kCombine});
      {
        typename Api::WasmCodeRefScope inner;
        for (uint32_t d : {kAdd, kFib, kCombine}) {
          const auto* code = native->GetCode(d);
          EXPECT_FALSE(held->contains(code->instruction_start()));
          EXPECT_FALSE(code->contains(start));
        }
      }
      for (const auto& [a, b] : Arguments(kBrTable)) {
        ExecutionScope execution(*native);
        EXPECT_EQ(CallGenerated(start, a, b), Expected(kBrTable, a, b));
      }
      EXPECT_EQ(manager.Metrics().freed_code_size - freed_before, others);
    }
    EXPECT_EQ(manager.Metrics().freed_code_size - freed_before,
              others + CodeSize(kBrTable));
    EXPECT_EQ(native->Lookup(start), nullptr);
    EXPECT_EQ(manager.LookupCode(start + 3), nullptr);
    ExpectResults(*native, [] {
      std::vector<bool> lazy(kNumDeclared, true);
      lazy[kAdd] = lazy[kFib] = lazy[kCombine] = false;
      return lazy;
    }());
  });
}

// The thread that removes code keeps all of it while its own scope is
// open (the table's references move into the scope), as V8 does.
TEST_F(ExecutableCodeTest, RemoverScopeKeepsEveryRemovedCode) {
  WithSelectedApi([&]<class Api>(const Api&) {
    uint64_t all = 0;
    std::vector<uint64_t> starts(kNumDeclared, 0);
    typename Api::CodeManager manager;
    auto native = NewModule(manager);
    ASSERT_NE(native, nullptr);
    AddAndPublishTurbofan(*native, Compiled());
    const uint64_t freed_before = manager.Metrics().freed_code_size;
    {
      typename Api::WasmCodeRefScope scope;
      for (uint32_t d : Compiled()) {
        all += CodeSize(d);
        starts[d] = native->GetCode(d)->instruction_start();
      }
    }
    {
      typename Api::WasmCodeRefScope scope;
      EXPECT_EQ(
          native->RemoveCompiledCode(Api::RemoveFilter::kRemoveTurbofanCode),
          Compiled().size());
      EXPECT_EQ(manager.Metrics().freed_code_size, freed_before);
      // Leaf functions run at their old addresses; slots lead to the stub.
      typename Api::NativeModule::ExecutionScope execution(*native);
      EXPECT_EQ(CallGenerated(starts[kAdd], 40, 2), 42);
      EXPECT_EQ(CallGenerated(starts[kBrTable], 2, 7), 2);
      EXPECT_EQ(CallGenerated(starts[kSigCheck], kCanonicalIds[2], 0), 1);
      EXPECT_EQ(CallGenerated(starts[kCombine], 1, 2),
                FunctionIndex(kAdd) * 2 + FunctionIndex(kFib));
    }
    EXPECT_EQ(manager.Metrics().freed_code_size - freed_before, all);
    for (uint32_t d : Compiled()) {
      EXPECT_EQ(manager.LookupCode(starts[d]), nullptr);
    }
  });
}

#else  // !defined(__x86_64__)

TEST(ExecutableCodeTest, NeedsAnX64Host) {
  GTEST_SKIP() << "the generated code is x64 and this host cannot run it";
}

#endif  // defined(__x86_64__)

}  // namespace
}  // namespace wasmcache
