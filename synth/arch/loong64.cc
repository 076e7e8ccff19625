// loong64 instructions for synthesized functions (reference/arch/loong64.cc,
// spec/forms/loong64.md).
//
//   WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE
//                   li t7, address: lu12i.w/ori/lu32i.d, then jirl ra, t7, 0
//                   (jirl zero for a tail call)
//   WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY
//                   lu12i.w + ori of one register
//   INTERNAL_REFERENCE  8-byte entries of a switch table after the body

#include <memory>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

constexpr uint32_t kNop = 0x03400000;  // andi zero, zero, 0
constexpr uint32_t kT7 = 19, kT0 = 12;

uint32_t Lu12i(uint32_t rd) { return 0x14000000 | rd; }
uint32_t Ori(uint32_t rd) { return 0x03800000 | rd << 5 | rd; }
uint32_t Lu32i(uint32_t rd) { return 0x16000000 | rd; }

const uint32_t kFillers[] = {
    kNop,
    0x00101484,  // add.w a0, a0, a1
    0x00150086,  // or a2, a0, zero
    0x28c02065,  // ld.d a1, sp, 8
    0x29c04064,  // st.d a0, sp, 16
    0x00109484,  // add.d a0, a0, a1
};

class Loong64Emitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(0x02ffc063);  // addi.d sp, sp, -16
    a.U32(0x29c02061);  // st.d ra, sp, 8
    a.U32(0x29c00076);  // st.d fp, sp, 0
    a.U32(0x02c00076);  // addi.d fp, sp, 0
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
        a.Record(mode, a.pc());
        a.U32(Lu12i(kT7));
        a.U32(Ori(kT7));
        a.U32(Lu32i(kT7));
        const bool tail = mode == RelocMode::kWasmCall && rng.Chance(1, 6);
        a.U32(tail ? 0x4c000260 : 0x4c000261);  // jirl zero/ra, t7, 0
        if (!tail) a.MarkReturn();
        return;
      }
      case RelocMode::kWasmCanonicalSigId:
      case RelocMode::kWasmCodePointerTableEntry:
        a.Record(mode, a.pc());
        a.U32(Lu12i(kT0));
        a.U32(Ori(kT0));
        a.U32(0x00153086);  // or a2, a0, t0
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
    a.U32(0x28c02061);  // ld.d ra, sp, 8
    a.U32(0x28c00076);  // ld.d fp, sp, 0
    a.U32(0x02c04063);  // addi.d sp, sp, 16
    a.U32(0x4c000020);  // jirl zero, ra, 0 (ret)
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
  uint32_t table_entries_ = 0;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakeLoong64Emitter(bool) {
  return std::make_unique<Loong64Emitter>();
}

}  // namespace wasmcache::synth
