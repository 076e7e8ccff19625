#include "tests/x64_codegen.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wasmcache::testing::x64 {
namespace {

// Dummy host addresses: canonical, unmapped in practice, distinct.
constexpr uint64_t kDummyExternalReferenceBase = 0x00000ee000000000;
constexpr uint64_t kDummyBuiltinEntryBase = 0x00000ef000000000;

uint8_t Code(Reg reg) { return static_cast<uint8_t>(reg); }

[[noreturn]] void Misuse(const char* what) {
  std::fprintf(stderr, "x64 assembler misuse: %s\n", what);
  std::abort();
}

}  // namespace

// --- GeneratedCode ---------------------------------------------------------

std::array<absl::Span<const uint8_t>, kNumCodeParts> GeneratedCode::parts()
    const {
  std::array<absl::Span<const uint8_t>, kNumCodeParts> out{};
  out[static_cast<int>(CodePart::kInstructions)] = instructions;
  out[static_cast<int>(CodePart::kRelocInfo)] = reloc_info;
  return out;
}

absl::StatusOr<reference::CompiledCode> GeneratedCode::Prepare(
    const ModuleInfo& module, const Environment& env,
    reference::ForDebugging for_debugging) const {
  return reference::PrepareCompiledCode(module, env, index, header, parts(),
                                        for_debugging);
}

// --- Assembler: encoding helpers -------------------------------------------

void Assembler::Emit32(uint32_t value) {
  for (int i = 0; i < 4; ++i) Emit8(static_cast<uint8_t>(value >> (8 * i)));
}

void Assembler::Emit64(uint64_t value) {
  for (int i = 0; i < 8; ++i) Emit8(static_cast<uint8_t>(value >> (8 * i)));
}

void Assembler::Rex(bool wide, uint8_t reg, uint8_t rm, uint8_t index,
                    bool force) {
  const uint8_t rex =
      static_cast<uint8_t>(0x40 | (wide ? 8 : 0) | ((reg >> 3) << 2) |
                           ((index >> 3) << 1) | (rm >> 3));
  if (rex != 0x40 || force) Emit8(rex);
}

void Assembler::RegReg(uint8_t opcode, Reg reg, Reg rm) {
  Rex(true, Code(reg), Code(rm));
  Emit8(opcode);
  Emit8(static_cast<uint8_t>(0xc0 | ((Code(reg) & 7) << 3) | (Code(rm) & 7)));
}

// 81 /ext id: add (0), sub (5), cmp (7) with an imm32.
void Assembler::Group1Imm(uint8_t extension, Reg dst, int32_t imm, bool wide) {
  Rex(wide, 0, Code(dst));
  Emit8(0x81);
  Emit8(static_cast<uint8_t>(0xc0 | (extension << 3) | (Code(dst) & 7)));
  Emit32(static_cast<uint32_t>(imm));
}

void Assembler::Record(RelocMode mode, uint32_t pc) {
  relocs_.push_back({mode, pc, 0});
}

void Assembler::RecordSafepoint() {
  if (!first_safepoint_.has_value()) first_safepoint_ = pc_offset();
}

// The table V8 13.6 writes for a TurboFan function without tagged slots
// (reference/safepoint_table.h): header words, then one entry for the
// first call (V8 merges the entries of later calls into it, as they differ
// only in their pc), then 0xCC up to 4-byte alignment.
void Assembler::EmitSafepointTable() {
  const uint32_t entries = first_safepoint_.has_value() ? 1 : 0;
  const uint32_t pc = first_safepoint_.value_or(0);
  const uint32_t pc_width = entries == 0       ? 0
                            : pc + 1 <= 0xff   ? 1
                            : pc + 1 <= 0xffff ? 2
                                               : 3;
  const uint32_t bitmap_bytes = (kStackSlots + 7) / 8;
  Emit32(kStackSlots);
  Emit32(entries);
  Emit32((bitmap_bytes << 10) | (pc_width << 4));
  if (entries != 0) {
    for (uint32_t b = 0; b < pc_width; ++b)
      Emit8(static_cast<uint8_t>(pc >> (8 * b)));
    for (uint32_t b = 0; b < bitmap_bytes; ++b) Emit8(0);
  }
  while (pc_offset() % 4 != 0) Emit8(0xcc);
}

void Assembler::UseLabel(Label* label, bool absolute) {
  label_uses_.push_back({label, pc_offset(), absolute});
  if (absolute) {
    Emit64(0);
  } else {
    Emit32(0);
  }
}

// --- Assembler: instructions -----------------------------------------------

void Assembler::Push(Reg reg) {
  Rex(false, 0, Code(reg));
  Emit8(static_cast<uint8_t>(0x50 | (Code(reg) & 7)));
}

void Assembler::Pop(Reg reg) {
  Rex(false, 0, Code(reg));
  Emit8(static_cast<uint8_t>(0x58 | (Code(reg) & 7)));
}

void Assembler::Ret() { Emit8(0xc3); }
void Assembler::Int3() { Emit8(0xcc); }

void Assembler::Mov(Reg dst, Reg src) { RegReg(0x89, src, dst); }

void Assembler::MovImm(Reg dst, int32_t imm) {
  // REX.W C7 /0 id.
  Rex(true, 0, Code(dst));
  Emit8(0xc7);
  Emit8(static_cast<uint8_t>(0xc0 | (Code(dst) & 7)));
  Emit32(static_cast<uint32_t>(imm));
}

void Assembler::Movabs(Reg dst, uint64_t imm) {
  // REX.W B8+r io.
  Rex(true, 0, Code(dst));
  Emit8(static_cast<uint8_t>(0xb8 | (Code(dst) & 7)));
  Emit64(imm);
}

void Assembler::Add(Reg dst, Reg src) { RegReg(0x01, src, dst); }
void Assembler::AddImm(Reg dst, int32_t imm) { Group1Imm(0, dst, imm, true); }
void Assembler::Sub(Reg dst, Reg src) { RegReg(0x29, src, dst); }
void Assembler::SubImm(Reg dst, int32_t imm) { Group1Imm(5, dst, imm, true); }
void Assembler::Cmp(Reg left, Reg right) { RegReg(0x39, right, left); }
void Assembler::CmpImm(Reg left, int32_t imm) { Group1Imm(7, left, imm, true); }

void Assembler::Imul(Reg dst, Reg src) {
  // REX.W 0F AF /r: dst = dst * src.
  Rex(true, Code(dst), Code(src));
  Emit8(0x0f);
  Emit8(0xaf);
  Emit8(static_cast<uint8_t>(0xc0 | ((Code(dst) & 7) << 3) | (Code(src) & 7)));
}

void Assembler::SetCondition(Condition condition, Reg dst) {
  // setcc dst8 (REX so that rsp..rdi name spl..dil), then movzx dst32, dst8.
  Rex(false, 0, Code(dst), 0, Code(dst) >= 4);
  Emit8(0x0f);
  Emit8(static_cast<uint8_t>(0x90 | static_cast<uint8_t>(condition)));
  Emit8(static_cast<uint8_t>(0xc0 | (Code(dst) & 7)));
  Rex(false, Code(dst), Code(dst), 0, Code(dst) >= 4);
  Emit8(0x0f);
  Emit8(0xb6);
  Emit8(static_cast<uint8_t>(0xc0 | ((Code(dst) & 7) << 3) | (Code(dst) & 7)));
}

void Assembler::Bind(Label* label) {
  if (label->is_bound()) Misuse("label bound twice");
  label->position_ = pc_offset();
}

void Assembler::Jump(Label* label) {
  Emit8(0xe9);
  UseLabel(label, false);
}

void Assembler::JumpIf(Condition condition, Label* label) {
  Emit8(0x0f);
  Emit8(static_cast<uint8_t>(0x80 | static_cast<uint8_t>(condition)));
  UseLabel(label, false);
}

void Assembler::CallRegister(Reg target) {
  // FF /2.
  Rex(false, 0, Code(target));
  Emit8(0xff);
  Emit8(static_cast<uint8_t>(0xd0 | (Code(target) & 7)));
  RecordSafepoint();
}

void Assembler::LeaLabel(Reg dst, Label* label) {
  // REX.W 8D /r, mod 00 rm 101: [rip + disp32].
  Rex(true, Code(dst), 0);
  Emit8(0x8d);
  Emit8(static_cast<uint8_t>(0x05 | ((Code(dst) & 7) << 3)));
  UseLabel(label, false);
}

void Assembler::JumpThroughTable(Reg base, Reg index) {
  if ((Code(base) & 7) == 5) Misuse("table base rbp/r13 needs a disp8");
  if (index == Reg::kRsp) Misuse("rsp cannot be an index");
  // FF /4, mod 00 rm 100 (SIB), SIB scale 8.
  Rex(false, 0, Code(base), Code(index));
  Emit8(0xff);
  Emit8(0x24);
  Emit8(
      static_cast<uint8_t>(0xc0 | ((Code(index) & 7) << 3) | (Code(base) & 7)));
}

void Assembler::Align(uint32_t alignment) {
  while (pc_offset() % alignment != 0) Int3();
}

void Assembler::CallFunction(uint32_t function_index) {
  Emit8(0xe8);
  Record(RelocMode::kWasmCall, pc_offset());
  Emit32(function_index);
  RecordSafepoint();
}

void Assembler::JumpToFunction(uint32_t function_index) {
  Emit8(0xe9);
  Record(RelocMode::kWasmCall, pc_offset());
  Emit32(function_index);
}

void Assembler::CallBuiltin(uint32_t builtin_id) {
  Emit8(0xe8);
  Record(RelocMode::kWasmStubCall, pc_offset());
  Emit32(builtin_id);
  RecordSafepoint();
}

void Assembler::MovExternalReference(Reg dst, uint32_t index) {
  Rex(true, 0, Code(dst));
  Emit8(static_cast<uint8_t>(0xb8 | (Code(dst) & 7)));
  Record(RelocMode::kExternalReference, pc_offset());
  Emit64(index);
}

void Assembler::EmitLabelAddress(Label* label) {
  Record(RelocMode::kInternalReference, pc_offset());
  UseLabel(label, true);
}

void Assembler::CmpSignatureId32(Reg left, uint32_t type_index) {
  // 81 /7 id with a 32-bit operand: canonical ids are uint32.
  Rex(false, 0, Code(left));
  Emit8(0x81);
  Emit8(static_cast<uint8_t>(0xf8 | (Code(left) & 7)));
  Record(RelocMode::kWasmCanonicalSigId, pc_offset());
  Emit32(type_index);
}

GeneratedCode Assembler::Finish(uint32_t function_index, uint8_t tier) {
  for (const LabelUse& use : label_uses_) {
    if (!use.label->is_bound()) Misuse("unbound label");
    const uint32_t target = use.label->position();
    if (use.absolute) {
      for (int i = 0; i < 8; ++i) {
        code_[use.field + i] =
            static_cast<uint8_t>(uint64_t{target} >> (8 * i));
      }
    } else {
      const auto disp = static_cast<uint32_t>(
          static_cast<int64_t>(target) - static_cast<int64_t>(use.field + 4));
      for (int i = 0; i < 4; ++i) {
        code_[use.field + i] = static_cast<uint8_t>(disp >> (8 * i));
      }
    }
  }
  Align(4);
  const auto safepoint_table_offset = static_cast<int32_t>(pc_offset());
  EmitSafepointTable();
  GeneratedCode out;
  out.index = function_index;
  out.instructions = code_;
  out.relocs = relocs_;
  std::sort(out.relocs.begin(), out.relocs.end(),
            [](const reference::RelocEntry& a, const reference::RelocEntry& b) {
              return a.pc < b.pc;
            });
  out.reloc_info = reference::EncodeRelocStream(out.relocs);
  const auto size = static_cast<int32_t>(out.instructions.size());
  CodeHeader& h = out.header;
  h.constant_pool_offset = size;
  h.safepoint_table_offset = safepoint_table_offset;
  h.handler_table_offset = size;
  h.code_comments_offset = size;
  h.unpadded_binary_size = size;
  h.stack_slots = kStackSlots;
  h.instructions_size = size;
  h.reloc_info_size = static_cast<int32_t>(out.reloc_info.size());
  h.kind = kWasmFunctionKind;
  h.tier = tier;
  return out;
}

// --- Environment -------------------------------------------------------------

Environment HostEnvironment(const ModuleInfo& module) {
  Environment env =
      DefaultEnvironment(Arch::kX64, module);
  env.external_reference_addresses.resize(env.num_external_references);
  for (uint32_t i = 0; i < env.num_external_references; ++i) {
    env.external_reference_addresses[i] =
        kDummyExternalReferenceBase + uint64_t{i} * 16;
  }
  env.builtin_entries.resize(env.far_slot_builtins.size());
  for (uint32_t s = 0; s < env.builtin_entries.size(); ++s) {
    env.builtin_entries[s] = kDummyBuiltinEntryBase + uint64_t{s} * 64;
  }
  return env;
}

void SetExternalReference(Environment& env, uint32_t index,
                          uint64_t address) {
  if (index >= env.external_reference_addresses.size()) {
    Misuse("external reference index out of range");
  }
  for (uint32_t i = 0; i < env.external_reference_addresses.size(); ++i) {
    if (i != index && env.external_reference_addresses[i] == address) {
      Misuse("external reference addresses must stay distinct");
    }
  }
  env.external_reference_addresses[index] = address;
}

uint32_t FarSlotOfBuiltin(const Environment& env,
                          uint32_t builtin_id) {
  auto it = std::find(env.far_slot_builtins.begin(),
                      env.far_slot_builtins.end(), builtin_id);
  if (it == env.far_slot_builtins.end()) Misuse("builtin has no far slot");
  return static_cast<uint32_t>(it - env.far_slot_builtins.begin());
}

void SetBuiltinEntry(Environment& env, uint32_t builtin_id,
                     uint64_t address) {
  env.builtin_entries.at(FarSlotOfBuiltin(env, builtin_id)) = address;
}

GlobalHeader GlobalHeaderFor(const Environment& env) {
  std::array<uint32_t, kNumHeaderWords> words{};
  for (int i = 0; i < kNumHeaderWords; ++i) {
    words[i] = env.expected_header[i].value_or(0);
  }
  return {words[0], words[1], words[2], words[3], words[4]};
}

// --- Executable memory and calls ---------------------------------------------

ExecutableBuffer::ExecutableBuffer(absl::Span<const uint8_t> code) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_ = (std::max<size_t>(code.size(), 1) + page - 1) / page * page;
  memory_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory_ == MAP_FAILED) Misuse("cannot map an executable buffer");
  if (!code.empty()) std::memcpy(memory_, code.data(), code.size());
  if (mprotect(memory_, size_, PROT_READ | PROT_EXEC) != 0) {
    Misuse("cannot make the buffer executable");
  }
}

ExecutableBuffer::~ExecutableBuffer() { munmap(memory_, size_); }

std::vector<uint8_t> LazyCompileStubCode() {
  Assembler masm;
  masm.Pop(Reg::kRax);
  masm.Ret();
  return masm.Finish(0).instructions;
}

// UBSan's -fsanitize=function inspects the callee's prologue, which
// generated code does not have.
#if defined(__clang__)
__attribute__((no_sanitize("function")))
#endif
int64_t
CallGenerated(uint64_t target, int64_t a, int64_t b) {
  if (!kCanExecute) Misuse("generated x64 code cannot run on this host");
  using Function = int64_t (*)(int64_t, int64_t);
  return reinterpret_cast<Function>(static_cast<uintptr_t>(target))(a, b);
}

}  // namespace wasmcache::testing::x64
