// s390x (big-endian) instructions for synthesized functions
// (reference/arch/s390x.cc, spec/forms/s390x.md).
//
//   WASM_CALL, WASM_STUB_CALL, EXTERNAL_REFERENCE, WASM_CANONICAL_SIG_ID,
//   WASM_CODE_POINTER_TABLE_ENTRY
//                   iihf rN, imm32; iilf rN, imm32 (12 bytes), then
//                   basr r14, r1 for calls (br r1 for a tail call)
//   INTERNAL_REFERENCE  8-byte entries of a switch table after the body
// Instructions are 2, 4 or 6 bytes, halfword-aligned.

#include <memory>
#include <vector>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

const std::vector<std::vector<uint8_t>> kFillers = {
    {0x07, 0x00},                          // nopr
    {0x18, 0x12},                          // lr r1, r2
    {0xb9, 0x04, 0x00, 0x23},              // lgr r2, r3
    {0x1a, 0x23},                          // ar r2, r3
    {0x19, 0x23},                          // cr r2, r3
    {0xa7, 0x18, 0x00, 0x08},              // lhi r1, 8
    {0xe3, 0x20, 0xf0, 0x08, 0x00, 0x04},  // lg r2, 8(r15)
};

class S390xEmitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.Bytes({0xa7, 0xfb, 0xff, 0xf0});              // aghi r15, -16
    a.Bytes({0xe3, 0xe0, 0xf0, 0x08, 0x00, 0x24});  // stg r14, 8(r15)
    a.Bytes({0xa7, 0x18, 0x00, 0x08});              // lhi r1, 8
  }
  void Filler(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    for (uint8_t b : rng.Pick(kFillers)) a.Byte(b);
  }
  void Site(Assembly& a, Rng& rng, RelocMode mode) override {
    a.MarkInstruction();
    switch (mode) {
      case RelocMode::kWasmCall:
      case RelocMode::kWasmStubCall:
      case RelocMode::kExternalReference: {
        Pair(a, mode, 1);
        const bool tail = mode == RelocMode::kWasmCall && rng.Chance(1, 6);
        if (tail) {
          a.Bytes({0x07, 0xf1});  // br r1
        } else {
          a.Bytes({0x0d, 0xe1});  // basr r14, r1
          a.MarkReturn();
        }
        return;
      }
      case RelocMode::kWasmCanonicalSigId:
      case RelocMode::kWasmCodePointerTableEntry:
        Pair(a, mode, 3);
        a.Bytes({0x19, 0x23});  // cr r2, r3
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
    a.Bytes({0xe3, 0xe0, 0xf0, 0x08, 0x00, 0x04});  // lg r14, 8(r15)
    a.Bytes({0xa7, 0xfb, 0x00, 0x10});              // aghi r15, 16
    a.Bytes({0x07, 0xfe});                          // br r14
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
    while (a.pc() % alignment != 0) a.Bytes({0x07, 0x00});  // nopr
  }

 private:
  // iihf rN, 0; iilf rN, 0.
  static void Pair(Assembly& a, RelocMode mode, uint8_t reg) {
    a.Record(mode, a.pc());
    a.Bytes({0xc0, static_cast<uint8_t>(reg << 4 | 0x8), 0, 0, 0, 0});
    a.Bytes({0xc0, static_cast<uint8_t>(reg << 4 | 0x9), 0, 0, 0, 0});
  }
  uint32_t table_entries_ = 0;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakeS390xEmitter(bool) {
  return std::make_unique<S390xEmitter>();
}

}  // namespace wasmcache::synth
