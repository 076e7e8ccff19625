// ppc64 (little-endian) instructions for synthesized functions
// (reference/arch/ppc64.cc, spec/forms/ppc64.md).
//
//   WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE, WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY
//                   TurboFan code with a frame loads them from the embedded
//                   constant pool: `ld rT, d(r28)` naming an 8-byte slot at
//                   constant_pool_offset + d; otherwise the FIXED_SEQUENCE
//                   lis/ori/sldi 32/oris/ori. Calls then `mtctr; bctrl`.
//   INTERNAL_REFERENCE  8-byte entries of a switch table after the body
//   INTERNAL_REFERENCE_ENCODED  mov_label_addr: the 5-word sequence
// The embedded pool comes after the safepoint table (V8's GetCode order:
// safepoints, handler table = constant_pool_offset, pool, comments).

#include <memory>
#include <vector>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

constexpr uint32_t kNop = 0x60000000;
constexpr uint32_t kR11 = 11, kR12 = 12, kPoolRegister = 28;

const uint32_t kFillers[] = {
    kNop,
    0x7c832378,  // mr r3, r4
    0x7c632214,  // add r3, r3, r4
    0x80a10008,  // lwz r5, 8(r1)
    0x90a1000c,  // stw r5, 12(r1)
    0x7c032000,  // cmpw r3, r4
};

class Ppc64Emitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(0x7c0802a6);  // mflr r0
    a.U32(0xf8010010);  // std r0, 16(r1)
    a.U32(0xf821ffc1);  // stdu r1, -64(r1)
    a.U32(0x7c3f0b78);  // mr r31, r1
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
        Value(a, rng, mode, kR12);
        const bool tail = mode == RelocMode::kWasmCall && rng.Chance(1, 6);
        a.U32(0x7d8903a6);                       // mtctr r12
        a.U32(tail ? 0x4e800420 : 0x4e800421);  // bctr / bctrl
        if (!tail) a.MarkReturn();
        return;
      }
      case RelocMode::kWasmCanonicalSigId:
      case RelocMode::kWasmCodePointerTableEntry:
        Value(a, rng, mode, kR11);
        a.U32(0x7c0b2000);  // cmpw r11, r4
        return;
      case RelocMode::kInternalReferenceEncoded:
        Mov(a, mode, kR11);
        a.U32(0x7d6903a6);  // mtctr r11
        a.U32(0x4e800420);  // bctr
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
    a.U32(0x38210040);  // addi r1, r1, 64
    a.U32(0xe8010010);  // ld r0, 16(r1)
    a.U32(0x7c0803a6);  // mtlr r0
    a.U32(0x4e800020);  // blr
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
  uint32_t EmbeddedPoolAlignment() const override {
    return pool_loads_.empty() ? 0 : 8;
  }
  void EmitEmbeddedPool(Assembly& a) override {
    for (size_t i = 0; i < pool_loads_.size(); ++i) {
      const uint32_t displacement = static_cast<uint32_t>(8 * i);
      a.Store32(pool_loads_[i], a.Load32(pool_loads_[i]) | displacement);
      a.U64(0);
    }
  }

 private:
  // A relocatable value: a pool load (2 in 3) or the 5-word sequence.
  void Value(Assembly& a, Rng& rng, RelocMode mode, uint32_t rt) {
    if (rng.Chance(1, 3)) {
      Mov(a, mode, rt);
      return;
    }
    a.Record(mode, a.pc());
    pool_loads_.push_back(a.pc());
    a.U32(0xe8000000 | rt << 21 | kPoolRegister << 16);  // ld rT, d(r28)
  }
  static void Mov(Assembly& a, RelocMode mode, uint32_t rd) {
    const uint32_t rs_ra = rd << 21 | rd << 16;
    a.Record(mode, a.pc());
    a.U32(0x3c000000 | rd << 21);  // lis rD, 0
    a.U32(0x60000000 | rs_ra);     // ori rD, rD, 0
    a.U32(0x780007c6 | rs_ra);     // sldi rD, rD, 32
    a.U32(0x64000000 | rs_ra);     // oris rD, rD, 0
    a.U32(0x60000000 | rs_ra);     // ori rD, rD, 0
  }

  std::vector<uint32_t> pool_loads_;
  uint32_t table_entries_ = 0;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakePpc64Emitter(bool) {
  return std::make_unique<Ppc64Emitter>();
}

}  // namespace wasmcache::synth
