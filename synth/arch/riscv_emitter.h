// riscv64 and riscv32 instructions for synthesized functions, one template
// (reference/arch/riscv64.cc, riscv32.cc; spec/forms/riscv64.md, riscv32.md).
//
//   WASM_CALL, WASM_STUB_CALL  auipc t6; jalr ra, 0(t6) (near_call); a tail
//                   call is li_ptr t6 (rv64: lui/addi/slli 11/ori/slli 6/ori;
//                   rv32: lui/addi), then jr t6
//   EXTERNAL_REFERENCE  li_ptr t6, then jalr ra, 0(t6)
//   WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY  lui t0; addi t0
//   INTERNAL_REFERENCE  entries (8 bytes rv64, 4 bytes rv32) of a switch
//                   table after the body, after Align(8)
//   CONST_POOL      an inline pool of 64-bit (rv32: 32-bit) constants loaded
//                   with auipc + ld: `j over`, padding, the slots; the
//                   entry's payload is the pool size from the jump on
// Only 4-byte instructions (V8's --riscv-c-extension is off by default).

#ifndef WASMCACHE_SYNTH_ARCH_RISCV_EMITTER_H_
#define WASMCACHE_SYNTH_ARCH_RISCV_EMITTER_H_

#include <memory>

#include "synth/assembly.h"

namespace wasmcache::synth {

template <bool kIs64>
class RiscvEmitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(0xfe010113);                            // addi sp, sp, -32
    a.U32(kIs64 ? 0x00113c23 : 0x00112e23);       // sd ra, 24(sp) / sw ra, 28(sp)
    a.U32(kIs64 ? 0x00813823 : 0x00812c23);       // sd s0, 16(sp) / sw s0, 24(sp)
    a.U32(0x02010413);                            // addi s0, sp, 32
  }
  void Filler(Assembly& a, Rng& rng) override {
    static const uint32_t kFillers[] = {
        kNop,
        0x00058513,  // mv a0, a1
        0x00b50533,  // add a0, a0, a1
        0x00812583,  // lw a1, 8(sp)
        0x00a12623,  // sw a0, 12(sp)
        0x00b52533,  // slt a0, a0, a1
    };
    a.MarkInstruction();
    a.U32(rng.Pick(kFillers));
  }
  void Site(Assembly& a, Rng& rng, RelocMode mode) override {
    a.MarkInstruction();
    switch (mode) {
      case RelocMode::kWasmCall:
        if (rng.Chance(1, 6)) {
          LiPtr(a, mode, kT6);
          a.U32(0x000f8067);  // jr t6
          return;
        }
        [[fallthrough]];
      case RelocMode::kWasmStubCall:
        a.Record(mode, a.pc());
        a.U32(0x00000f97);  // auipc t6, 0
        a.U32(0x000f80e7);  // jalr ra, 0(t6)
        a.MarkReturn();
        return;
      case RelocMode::kExternalReference:
        LiPtr(a, mode, kT6);
        a.U32(0x000f80e7);  // jalr ra, 0(t6)
        a.MarkReturn();
        return;
      case RelocMode::kWasmCanonicalSigId:
      case RelocMode::kWasmCodePointerTableEntry:
        a.Record(mode, a.pc());
        a.U32(Lui(kT0));
        a.U32(Addi(kT0));
        a.U32(0x00554533);  // xor a0, a0, t0
        return;
      case RelocMode::kInternalReference:
        table_entries_ += static_cast<uint32_t>(rng.Uniform(1, 4));
        return;
      case RelocMode::kConstPool:
        InlinePool(a, rng);
        return;
      default:
        return;
    }
  }
  void Epilogue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(kIs64 ? 0x01813083 : 0x01c12083);  // ld ra, 24(sp) / lw ra, 28(sp)
    a.U32(kIs64 ? 0x01013403 : 0x01812403);  // ld s0, 16(sp) / lw s0, 24(sp)
    a.U32(0x02010113);                       // addi sp, sp, 32
    a.U32(0x00008067);                       // ret
  }
  void Trailer(Assembly& a, Rng&) override {
    if (table_entries_ == 0) return;
    PadTo(a, 8);
    for (uint32_t i = 0; i < table_entries_; ++i) {
      a.Record(RelocMode::kInternalReference, a.pc());
      if (kIs64) {
        a.U64(0);
      } else {
        a.U32(0);
      }
    }
  }
  void PadTo(Assembly& a, uint32_t alignment) override {
    while (a.pc() % alignment != 0) a.U32(kNop);
  }

 private:
  static constexpr uint32_t kNop = 0x00000013;  // addi zero, zero, 0
  static constexpr uint32_t kT0 = 5, kT5 = 30, kT6 = 31;

  static uint32_t Lui(uint32_t rd) { return 0x37 | rd << 7; }
  static uint32_t Addi(uint32_t rd) { return 0x13 | rd << 7 | rd << 15; }
  static uint32_t Slli(uint32_t rd, uint32_t shift) {
    return 0x13 | 1u << 12 | rd << 7 | rd << 15 | shift << 20;
  }
  static uint32_t Ori(uint32_t rd) { return 0x13 | 6u << 12 | rd << 7 | rd << 15; }

  static void LiPtr(Assembly& a, RelocMode mode, uint32_t rd) {
    a.Record(mode, a.pc());
    a.U32(Lui(rd));
    a.U32(Addi(rd));
    if (kIs64) {
      a.U32(Slli(rd, 11));
      a.U32(Ori(rd));
      a.U32(Slli(rd, 6));
      a.U32(Ori(rd));
    }
  }

  // auipc t5, 0; ld/lw t5, off(t5) for each constant; j over; slots.
  void InlinePool(Assembly& a, Rng& rng) {
    const uint32_t count = static_cast<uint32_t>(rng.Uniform(1, 3));
    const uint32_t slot_size = kIs64 ? 8 : 4;
    std::vector<uint32_t> loads;
    for (uint32_t i = 0; i < count; ++i) {
      loads.push_back(a.pc());
      a.U32(0x00000f17);                                // auipc t5, 0
      a.U32(kIs64 ? 0x000f3f03 : 0x000f2f03);           // ld/lw t5, 0(t5)
    }
    const uint32_t jump = a.pc();
    a.U32(0);  // j over, patched below
    while (a.pc() % slot_size != 0) a.U32(kNop);
    const uint32_t first_slot = a.pc();
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t offset = first_slot + slot_size * i - loads[i];
      a.Store32(loads[i] + 4, a.Load32(loads[i] + 4) | offset << 20);
      if (kIs64) {
        a.U64(rng.Next());
      } else {
        a.U32(rng.Next32());
      }
    }
    const uint32_t size = a.pc() - jump;
    // jal zero, size (J-type, size < 2 KiB).
    a.Store32(jump, 0x6f | ((size >> 1) & 0x3ff) << 21 | ((size >> 11) & 1) << 20);
    a.Record(RelocMode::kConstPool, jump, size);
  }

  uint32_t table_entries_ = 0;
};

}  // namespace wasmcache::synth

#endif  // WASMCACHE_SYNTH_ARCH_RISCV_EMITTER_H_
