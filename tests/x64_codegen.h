// A small x64 code generator for tests that run code through the code
// manager: an assembler for the few instructions such code needs, which
// records relocation entries the way V8 13.6's wasm compiler does, and the
// pieces around it (an environment with real host addresses, a buffer of
// executable memory, a call into generated code).
//
// What. Assembler emits bytes and, for every site the serializer patches,
// a RelocEntry whose pc is the first byte of the patched field, holding
// the on-disk (tag) value, exactly as a cache stores it
// (reference/encoders/x64.h):
//
//   CallFunction(index)          call rel32      WASM_CALL, disp32 = function
//                                                index (counting imports)
//   CallBuiltin(builtin)         call rel32      WASM_STUB_CALL, disp32 =
//                                                builtin id (one with a far
//                                                jump-table slot)
//   MovExternalReference(r, i)   movabs r, imm64 EXTERNAL_REFERENCE, imm64 = i
//   EmitLabelAddress(label)      .quad           INTERNAL_REFERENCE, 8 bytes =
//                                                offset of label from the
//                                                code start
//   CmpSignatureId32(r, type)    cmp r32, imm32  WASM_CANONICAL_SIG_ID, imm32 =
//                                                module type index
//
// Finish() turns the bytes into a GeneratedCode: the instructions followed
// by a safepoint table as V8 writes it for a frame of kStackSlots slots
// with nothing tagged (one entry at the first call's return address, or
// none), the RelocInfo stream (EncodeRelocStream) and a CodeHeader the
// parser accepts (handler table, constant pool and code comments empty,
// at the end of the instructions; x64 has no constant pool).
// GeneratedCode::Prepare() checks it with PrepareCompiledCode and gives the
// CompiledCode that NativeModule::AddCompiledCode takes.
//
// Running. Generated functions follow the SysV ABI: arguments in rdi, rsi,
// result in rax, rbx/rbp/r12-r15 preserved, the stack 16-byte aligned at
// every call (a function that calls must push an odd number of words,
// e.g. rbp, before it does). HostEnvironment() is V8 13.6's default x64
// environment with distinct dummy addresses for every external reference
// and builtin entry; SetExternalReference and SetBuiltinEntry put real
// host functions at the indices a test calls.
//
// Trust. The assembler is for tests: a misuse (an unbound label, a
// register the encoding cannot take) aborts. Emitting is pure and compiles
// on every host; only executing the result needs an x64 host.

#ifndef WASMCACHE_TESTS_X64_CODEGEN_H_
#define WASMCACHE_TESTS_X64_CODEGEN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spec/environment.h"
#include "spec/module_info.h"
#include "reference/native_module.h"
#include "reference/reloc_stream.h"
#include "spec/layout.h"

namespace wasmcache::testing::x64 {

enum class Reg : uint8_t {
  kRax,
  kRcx,
  kRdx,
  kRbx,
  kRsp,
  kRbp,
  kRsi,
  kRdi,
  kR8,
  kR9,
  kR10,
  kR11,
  kR12,
  kR13,
  kR14,
  kR15,
};

// Condition codes (the low nibble of jcc/setcc).
enum class Condition : uint8_t {
  kBelow = 0x2,       // unsigned <
  kAboveEqual = 0x3,  // unsigned >=
  kEqual = 0x4,
  kNotEqual = 0x5,
  kLess = 0xc,          // signed <
  kGreaterEqual = 0xd,  // signed >=
  kLessEqual = 0xe,
  kGreater = 0xf,
};

// A position in the code; jumps and label addresses may name it before it
// is bound.
class Label {
 public:
  bool is_bound() const { return position_ >= 0; }
  uint32_t position() const { return static_cast<uint32_t>(position_); }

 private:
  friend class Assembler;
  int64_t position_ = -1;
};

// One function's code in tag form, ready to prepare and add.
struct GeneratedCode {
  uint32_t index = 0;  // function index, counting imports
  CodeHeader header;
  std::vector<uint8_t> instructions;
  std::vector<uint8_t> reloc_info;
  std::vector<reference::RelocEntry> relocs;  // sorted by pc

  // The variable parts in file order; spans into this object.
  std::array<absl::Span<const uint8_t>, kNumCodeParts> parts() const;
  // PrepareCompiledCode on this code. The result points into this object,
  // which must outlive its use (AddCompiledCode).
  absl::StatusOr<reference::CompiledCode> Prepare(
      const ModuleInfo& module, const Environment& env,
      reference::ForDebugging for_debugging =
          reference::ForDebugging::kNotForDebugging) const;
};

class Assembler {
 public:
  // Frame slots every generated function declares (the fixed slots of a
  // wasm frame, no spill slots).
  static constexpr uint32_t kStackSlots = 4;

  uint32_t pc_offset() const { return static_cast<uint32_t>(code_.size()); }

  // Frame and stack.
  void Push(Reg reg);
  void Pop(Reg reg);
  void Ret();
  void Int3();

  // Integer arithmetic on 64-bit registers.
  void Mov(Reg dst, Reg src);
  void MovImm(Reg dst, int32_t imm);  // sign-extended to 64 bits
  void Movabs(Reg dst, uint64_t imm);
  void Add(Reg dst, Reg src);
  void AddImm(Reg dst, int32_t imm);
  void Sub(Reg dst, Reg src);
  void SubImm(Reg dst, int32_t imm);
  void Imul(Reg dst, Reg src);
  void Cmp(Reg left, Reg right);
  void CmpImm(Reg left, int32_t imm);
  // dst = condition ? 1 : 0 (setcc, then movzx to 64 bits).
  void SetCondition(Condition condition, Reg dst);

  // Control flow, rel32 forms only.
  void Bind(Label* label);
  void Jump(Label* label);
  void JumpIf(Condition condition, Label* label);
  void CallRegister(Reg target);
  // lea dst, [rip + label].
  void LeaLabel(Reg dst, Label* label);
  // jmp [base + index * 8]; base may not be rbp or r13, index not rsp.
  void JumpThroughTable(Reg base, Reg index);
  // Pads with int3 up to a multiple of `alignment`.
  void Align(uint32_t alignment);

  // Relocated forms (see the file comment).
  void CallFunction(uint32_t function_index);
  void JumpToFunction(uint32_t function_index);  // tail call, jmp rel32
  void CallBuiltin(uint32_t builtin_id);
  void MovExternalReference(Reg dst, uint32_t index);
  void EmitLabelAddress(Label* label);
  void CmpSignatureId32(Reg left, uint32_t type_index);

  // Resolves labels and packages the code. `tier` is kTierTurboFan or
  // kTierLiftoff.
  GeneratedCode Finish(uint32_t function_index, uint8_t tier = kTierTurboFan);

 private:
  struct LabelUse {
    Label* label;
    uint32_t field;  // offset of the field to fill
    bool absolute;   // 8-byte offset from the code start, else rel32
  };

  void Emit8(uint8_t byte) { code_.push_back(byte); }
  void Emit32(uint32_t value);
  void Emit64(uint64_t value);
  // REX prefix for an instruction with `reg` in ModRM.reg and `rm` in
  // ModRM.rm; emitted when `wide` or an extended register needs it.
  void Rex(bool wide, uint8_t reg, uint8_t rm, uint8_t index = 0,
           bool force = false);
  void RegReg(uint8_t opcode, Reg reg, Reg rm);  // REX.W op /r, mod 11
  void Group1Imm(uint8_t extension, Reg dst, int32_t imm, bool wide);
  void Record(RelocMode mode, uint32_t pc);
  // After a call: its return address is a safepoint.
  void RecordSafepoint();
  void EmitSafepointTable();
  void UseLabel(Label* label, bool absolute);

  std::vector<uint8_t> code_;
  std::vector<reference::RelocEntry> relocs_;
  std::vector<LabelUse> label_uses_;
  std::optional<uint32_t> first_safepoint_;
};

// --- Running generated code on this host ---------------------------------

// Whether generated code can run here.
constexpr bool kCanExecute =
#if defined(__x86_64__)
    true;
#else
    false;
#endif

// V8 13.6's x64 environment for `module` with dummy host addresses: every
// external reference and builtin entry distinct and unmapped (calling an
// entry the test did not set faults).
Environment HostEnvironment(const ModuleInfo& module);
// External reference `index` is `address` (must stay distinct).
void SetExternalReference(Environment& env, uint32_t index,
                          uint64_t address);
// Far slot index of `builtin_id` (which must have one).
uint32_t FarSlotOfBuiltin(const Environment& env,
                          uint32_t builtin_id);
// The far slot of `builtin_id` jumps to `address`.
void SetBuiltinEntry(Environment& env, uint32_t builtin_id,
                     uint64_t address);
// A global header whose words match what `env` expects (zero where it
// only records), for modules built without a cache.
GlobalHeader GlobalHeaderFor(const Environment& env);

template <class F>
uint64_t AddressOf(F* function) {
  return reinterpret_cast<uint64_t>(reinterpret_cast<void*>(function));
}

// Read+execute memory outside any code space holding a copy of `code`:
// stand-ins for builtins. Unmapped on destruction.
class ExecutableBuffer {
 public:
  explicit ExecutableBuffer(absl::Span<const uint8_t> code);
  ~ExecutableBuffer();
  ExecutableBuffer(const ExecutableBuffer&) = delete;
  ExecutableBuffer& operator=(const ExecutableBuffer&) = delete;

  uint64_t address() const { return reinterpret_cast<uintptr_t>(memory_); }

 private:
  void* memory_;
  size_t size_;
};

// The WasmCompileLazy stand-in: a lazy-compile slot pushes the function
// index and jumps to it, so `pop rax; ret` returns that index to whoever
// called the function's jump-table slot.
std::vector<uint8_t> LazyCompileStubCode();

// Calls the code at `target` as int64_t(int64_t, int64_t). Only on x64.
int64_t CallGenerated(uint64_t target, int64_t a, int64_t b);

}  // namespace wasmcache::testing::x64

#endif  // WASMCACHE_TESTS_X64_CODEGEN_H_
