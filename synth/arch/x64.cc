// x64 instructions for synthesized functions.
//
// Forms (as in corpus/v8-13.6/x64, see reference/arch/x64.cc):
//   WASM_CALL       call rel32 (E8), or a tail call: leave; jmp rel32 (E9)
//   WASM_STUB_CALL  call rel32 (E8)
//   EXTERNAL_REFERENCE  movabs r10/rax, imm64 (49 BA / 48 B8), then a call
//                   through the register or a load from it
//   WASM_CANONICAL_SIG_ID  mov r32, imm32 (B8+r, 41 B8+r), then cmp
//   WASM_CODE_POINTER_TABLE_ENTRY  mov r11d, imm32 (41 BB), then a call
//   INTERNAL_REFERENCE  an 8-aligned br_table of 8-byte code offsets after
//                   the body, reached by lea r, [rip + table]; jmp [r + i*8]

#include <memory>
#include <vector>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

// Instructions V8's x64 code generator emits in wasm functions.
const std::vector<std::vector<uint8_t>> kFillers = {
    {0x90},                    // nop
    {0x66, 0x90},              // xchg ax, ax (2-byte nop)
    {0x0f, 0x1f, 0x00},        // nop dword [rax]
    {0x48, 0x8b, 0xc1},        // mov rax, rcx
    {0x8b, 0xd0},              // mov edx, eax
    {0x89, 0x45, 0xe8},        // mov [rbp-0x18], eax
    {0x8b, 0x55, 0xe8},        // mov edx, [rbp-0x18]
    {0x48, 0x8b, 0x75, 0xf0},  // mov rsi, [rbp-0x10]
    {0x03, 0xc2},              // add eax, edx
    {0x3b, 0xc1},              // cmp eax, ecx
    {0x48, 0x83, 0xec, 0x10},  // sub rsp, 0x10
    {0x8d, 0x42, 0x01},        // lea eax, [rdx+1]
    {0xc5, 0xfb, 0x58, 0xc1},  // vaddsd xmm0, xmm0, xmm1
    {0x49, 0x8b, 0x4e, 0x17},  // mov rcx, [r14+0x17]
};

class X64Emitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    a.Bytes({0x55});              // push rbp
    a.Bytes({0x48, 0x89, 0xe5});  // mov rbp, rsp
    a.Bytes({0x6a, 0x08});        // push 8 (frame marker)
    a.Bytes({0x56});              // push rsi (instance data)
    a.Bytes({0x48, 0x83, 0xec, static_cast<uint8_t>(8 * rng.Uniform(1, 6))});
  }

  void Filler(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    for (uint8_t b : rng.Pick(kFillers)) a.Byte(b);
  }

  void Site(Assembly& a, Rng& rng, RelocMode mode) override {
    a.MarkInstruction();
    switch (mode) {
      case RelocMode::kWasmCall:
        if (rng.Chance(1, 6)) {
          a.Bytes({0x48, 0x8b, 0xe5, 0x5d});  // mov rsp, rbp; pop rbp
          a.Byte(0xe9);                       // jmp rel32 (tail call)
          Rel32(a, mode);
          return;
        }
        a.Byte(0xe8);
        Rel32(a, mode);
        a.MarkReturn();
        return;
      case RelocMode::kWasmStubCall:
        a.Byte(0xe8);
        Rel32(a, mode);
        a.MarkReturn();
        return;
      case RelocMode::kExternalReference:
        if (rng.Chance(1, 2)) {
          a.Bytes({0x49, 0xba});  // movabs r10, imm64
          Imm64(a, mode);
          a.Bytes({0x41, 0xff, 0xd2});  // call r10
          a.MarkReturn();
        } else {
          a.Bytes({0x48, 0xb8});  // movabs rax, imm64
          Imm64(a, mode);
          a.Bytes({0x48, 0x8b, 0x00});  // mov rax, [rax]
        }
        return;
      case RelocMode::kWasmCanonicalSigId: {
        static const std::vector<std::vector<uint8_t>> kMovs = {
            {0xbf}, {0xbb}, {0xb9}, {0x41, 0xb8}, {0x41, 0xb9}};
        for (uint8_t b : rng.Pick(kMovs)) a.Byte(b);  // mov r32, imm32
        Imm32(a, mode);
        a.Bytes({0x39, 0x7c, 0x19, 0x37});  // cmp [rcx+rbx+0x37], edi
        return;
      }
      case RelocMode::kWasmCodePointerTableEntry:
        a.Bytes({0x41, 0xbb});  // mov r11d, imm32
        Imm32(a, mode);
        a.Bytes({0x41, 0xff, 0xd7});  // call r15
        a.MarkReturn();
        return;
      case RelocMode::kInternalReference: {
        // lea r10, [rip + table]; movsxd r11, ecx; jmp [r10 + r11*8]
        a.Bytes({0x4c, 0x8d, 0x15});
        lea_fixups_.push_back(a.pc());
        a.Le32(0);
        a.Bytes({0x4c, 0x63, 0xd9});
        a.Bytes({0x43, 0xff, 0x24, 0xda});
        table_entries_ += static_cast<uint32_t>(rng.Uniform(1, 4));
        return;
      }
      default:
        return;
    }
  }

  void Epilogue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.Bytes({0x48, 0x8b, 0xe5, 0x5d, 0xc3});  // mov rsp, rbp; pop rbp; ret
  }

  void Trailer(Assembly& a, Rng&) override {
    if (table_entries_ == 0) return;
    PadTo(a, 8);
    const uint32_t table = a.pc();
    for (uint32_t at : lea_fixups_) a.Store32(at, table - (at + 4));
    for (uint32_t i = 0; i < table_entries_; ++i) {
      a.Record(RelocMode::kInternalReference, a.pc());
      a.U64(0);
    }
  }

  void PadTo(Assembly& a, uint32_t alignment) override {
    while (a.pc() % alignment != 0) a.Byte(0x90);
  }

 private:
  static void Rel32(Assembly& a, RelocMode mode) {
    a.Record(mode, a.pc());
    a.Le32(0);
  }
  static void Imm32(Assembly& a, RelocMode mode) {
    a.Record(mode, a.pc());
    a.Le32(0);
  }
  static void Imm64(Assembly& a, RelocMode mode) {
    a.Record(mode, a.pc());
    a.U64(0);
  }

  std::vector<uint32_t> lea_fixups_;
  uint32_t table_entries_ = 0;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakeX64Emitter(bool) {
  return std::make_unique<X64Emitter>();
}

}  // namespace wasmcache::synth
