// mips64 (little-endian) instructions for synthesized functions
// (reference/arch/mips64.cc, spec/forms/mips64.md).
//
//   WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE
//                   li t9, address: lui/ori/dsll 16/ori (48-bit), then
//                   jalr t9 (or jr t9 for a tail call) and its delay slot
//   WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY
//                   lui + ori of one register (32-bit constant)
//   INTERNAL_REFERENCE  8-byte entries of a switch table after the body

#include <memory>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

constexpr uint32_t kNop = 0x00000000;
constexpr uint32_t kT9 = 25, kT0 = 12;

uint32_t Lui(uint32_t rt) { return 0x3c000000 | rt << 16; }
uint32_t Ori(uint32_t rt) { return 0x34000000 | rt << 21 | rt << 16; }
uint32_t Dsll16(uint32_t rt) { return rt << 16 | rt << 11 | 16u << 6 | 0x38u; }

const uint32_t kFillers[] = {
    kNop,
    0x00851021,  // addu v0, a0, a1
    0x0085102d,  // daddu v0, a0, a1
    0x8fa50008,  // lw a1, 8(sp)
    0xffa40010,  // sd a0, 16(sp)
    0x0080102d,  // move v0, a0
    0x0085102a,  // slt v0, a0, a1
};

class Mips64Emitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(0x67bdfff0);  // daddiu sp, sp, -16
    a.U32(0xffbf0008);  // sd ra, 8(sp)
    a.U32(0xffbe0000);  // sd fp, 0(sp)
    a.U32(0x03a0f02d);  // move fp, sp
  }
  void Filler(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    a.U32(rng.Pick(kFillers));
  }
  void Site(Assembly& a, Rng& rng, RelocMode mode) override {
    a.MarkInstruction();
    switch (mode) {
      case RelocMode::kWasmCall:
      case RelocMode::kWasmStubCall:
      case RelocMode::kExternalReference: {
        LiAddress(a, mode, kT9);
        const bool tail = mode == RelocMode::kWasmCall && rng.Chance(1, 6);
        a.U32(tail ? 0x03200008 : 0x0320f809);  // jr t9 / jalr t9
        a.U32(kNop);                             // delay slot
        if (!tail) a.MarkReturn();
        return;
      }
      case RelocMode::kWasmCanonicalSigId:
      case RelocMode::kWasmCodePointerTableEntry:
        a.Record(mode, a.pc());
        a.U32(Lui(kT0));
        a.U32(Ori(kT0));
        a.U32(0x00ac1026);  // xor v0, a1, t0
        return;
      case RelocMode::kInternalReference:
        table_entries_ += static_cast<uint32_t>(rng.Uniform(1, 4));
        return;
      default:
        return;
    }
  }
  void Epilogue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(0x03c0e82d);  // move sp, fp
    a.U32(0xdfbf0008);  // ld ra, 8(sp)
    a.U32(0xdfbe0000);  // ld fp, 0(sp)
    a.U32(0x03e00008);  // jr ra
    a.U32(0x67bd0010);  // daddiu sp, sp, 16 (delay slot)
  }
  void Trailer(Assembly& a, Rng&) override {
    if (table_entries_ == 0) return;
    PadTo(a, 8);
    for (uint32_t i = 0; i < table_entries_; ++i) {
      a.Record(RelocMode::kInternalReference, a.pc());
      a.U64(0);
    }
  }
  void PadTo(Assembly& a, uint32_t alignment) override {
    while (a.pc() % alignment != 0) a.U32(kNop);
  }

 private:
  static void LiAddress(Assembly& a, RelocMode mode, uint32_t rt) {
    a.Record(mode, a.pc());
    a.U32(Lui(rt));
    a.U32(Ori(rt));
    a.U32(Dsll16(rt));
    a.U32(Ori(rt));
  }
  uint32_t table_entries_ = 0;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakeMips64Emitter(bool) {
  return std::make_unique<Mips64Emitter>();
}

}  // namespace wasmcache::synth
