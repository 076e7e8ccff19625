// ia32 instructions for synthesized functions (reference/arch/ia32.cc).
//
//   WASM_CALL       call rel32 (E8), or leave-style teardown + jmp rel32 (E9)
//   WASM_STUB_CALL  call rel32 (E8)
//   EXTERNAL_REFERENCE  mov r32, imm32 (B8+r), then call/load through it
//   WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY  mov r32, imm32
//   INTERNAL_REFERENCE  jmp [reg*4 + table] (the disp32 is one) and the
//                   4-byte entries of the table after the body

#include <memory>
#include <vector>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

const std::vector<std::vector<uint8_t>> kFillers = {
    {0x90},       {0x66, 0x90},       {0x8b, 0xc1},       {0x89, 0x45, 0xe8},
    {0x8b, 0x55, 0xe8}, {0x03, 0xc2}, {0x3b, 0xc1},       {0x8d, 0x42, 0x01},
    {0x83, 0xec, 0x10},
};

class Ia32Emitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    a.Bytes({0x55, 0x89, 0xe5, 0x6a, 0x08, 0x56});  // push ebp; mov ebp, esp; push 8; push esi
    a.Bytes({0x83, 0xec, static_cast<uint8_t>(4 * rng.Uniform(1, 8))});
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
          a.Bytes({0x8b, 0xe5, 0x5d, 0xe9});  // mov esp, ebp; pop ebp; jmp
          Field(a, mode);
          return;
        }
        a.Byte(0xe8);
        Field(a, mode);
        a.MarkReturn();
        return;
      case RelocMode::kWasmStubCall:
        a.Byte(0xe8);
        Field(a, mode);
        a.MarkReturn();
        return;
      case RelocMode::kExternalReference:
        a.Byte(0xb8);  // mov eax, imm32
        Field(a, mode);
        if (rng.Chance(1, 2)) {
          a.Bytes({0xff, 0xd0});  // call eax
          a.MarkReturn();
        } else {
          a.Bytes({0x8b, 0x00});  // mov eax, [eax]
        }
        return;
      case RelocMode::kWasmCanonicalSigId:
        a.Byte(rng.Chance(1, 2) ? 0xbf : 0xb9);  // mov edi/ecx, imm32
        Field(a, mode);
        a.Bytes({0x39, 0x7c, 0x19, 0x37});  // cmp [ecx+ebx+0x37], edi
        return;
      case RelocMode::kWasmCodePointerTableEntry:
        a.Byte(0xb9);  // mov ecx, imm32
        Field(a, mode);
        a.Bytes({0xff, 0x14, 0x8e});  // call [esi+ecx*4]
        a.MarkReturn();
        return;
      case RelocMode::kInternalReference:
        a.Bytes({0xff, 0x24, 0x8d});  // jmp [ecx*4 + table]
        Field(a, mode);
        table_entries_ += static_cast<uint32_t>(rng.Uniform(1, 4));
        return;
      default:
        return;
    }
  }
  void Epilogue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.Bytes({0x8b, 0xe5, 0x5d, 0xc3});
  }
  void Trailer(Assembly& a, Rng&) override {
    if (table_entries_ == 0) return;
    PadTo(a, 4);
    for (uint32_t i = 0; i < table_entries_; ++i) Field(a, RelocMode::kInternalReference);
  }
  void PadTo(Assembly& a, uint32_t alignment) override {
    while (a.pc() % alignment != 0) a.Byte(0x90);
  }

 private:
  static void Field(Assembly& a, RelocMode mode) {
    a.Record(mode, a.pc());
    a.Le32(0);
  }
  uint32_t table_entries_ = 0;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakeIa32Emitter(bool) {
  return std::make_unique<Ia32Emitter>();
}

}  // namespace wasmcache::synth
