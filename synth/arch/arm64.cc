// arm64 instructions for synthesized functions.
//
// Forms (as in corpus/v8-13.6/arm64, see reference/arch/arm64.cc):
//   WASM_CALL       bl imm26; a tail call (return_call) loads its target
//                   with ldr x3, literal (8-byte pool slot), then br x3
//   WASM_STUB_CALL  bl imm26
//   EXTERNAL_REFERENCE  ldr x16, literal (8-byte pool slot), then a call
//                   through the loaded table entry
//   WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY
//                   ldr wN, literal (4-byte pool slot)
//   CONST_POOL      each pool: `ldr xzr, #(size/4 - 1)` marker, `blr xzr`
//                   guard, 4-byte slots, padding to 8, 8-byte slots; the
//                   entry's payload is the size from the marker on
// With all_forms, also what the codec accepts and V8 13.6 does not emit in
// wasm code: non-tail calls through a pool slot (ldr x16, literal; blr x16),
// INTERNAL_REFERENCE data words, and VENEER_POOL (branch veneers).
//
// V8 ends each function with a nop, then its pool, then the safepoint
// table.

#include <memory>
#include <vector>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

constexpr uint32_t kNop = 0xd503201f;
constexpr uint32_t kBl = 0x94000000;
constexpr uint32_t kB = 0x14000000;
constexpr uint32_t kLdrXLiteral = 0x58000000;
constexpr uint32_t kLdrWLiteral = 0x18000000;
constexpr uint32_t kBlrXzr = 0xd63f03e0;
constexpr uint32_t kXzr = 31;

const uint32_t kFillers[] = {
    kNop,
    0xaa0203e1,  // mov x1, x2
    0x11000400,  // add w0, w0, #1
    0xf9400be1,  // ldr x1, [sp, #16]
    0xf90007e2,  // str x2, [sp, #8]
    0x4b020000,  // sub w0, w0, w2
    0x6b04001f,  // cmp w0, w4
    0xaa0203e0,  // mov x0, x2
    0xf840f0e1,  // ldur x1, [x7, #15]
    0x1e622820,  // fadd d0, d1, d2
};

struct PoolLoad {
  uint32_t pc;
  uint32_t size;  // 4 or 8
};

class Arm64Emitter : public TargetEmitter {
 public:
  explicit Arm64Emitter(bool all_forms) : all_forms_(all_forms) {}

  void Prologue(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    a.U32(0xd2800110);  // mov x16, #8 (frame marker)
    a.U32(0xa9be43e7);  // stp x7, x16, [sp, #-32]!
    a.U32(0xa9017bfd);  // stp x29, x30, [sp, #16]
    a.U32(0x910043fd);  // add x29, sp, #16
    a.U32(0xd10003ff | (16 * static_cast<uint32_t>(rng.Uniform(1, 4))) << 10);  // sub sp, sp, #n
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
        if (all_forms_ && rng.Chance(1, 4)) {
          Load(a, mode, kLdrXLiteral | 16, 8);  // ldr x16, literal
          a.U32(0xd63f0200);                    // blr x16
          a.MarkReturn();
          return;
        }
        if (mode == RelocMode::kWasmCall && rng.Chance(1, 6)) {
          // return_call, as in corpus/v8-13.6/arm64/calls.cache: the
          // target comes from an 8-byte pool slot.
          a.U32(0xa9407bbd);                   // ldp x29, x30, [sp]
          Load(a, mode, kLdrXLiteral | 3, 8);  // ldr x3, literal
          a.U32(0x910083ff);                   // add sp, sp, #32
          a.U32(0xd61f0060);                   // br x3
          return;
        }
        a.Record(mode, a.pc());
        a.U32(kBl);
        a.MarkReturn();
        return;
      case RelocMode::kExternalReference:
        Load(a, mode, kLdrXLiteral | 16, 8);  // ldr x16, literal
        a.U32(0x8b040e04);                    // add x4, x16, x4, lsl #3
        a.U32(0xf9400084);                    // ldr x4, [x4]
        a.U32(0xd63f0080);                    // blr x4
        a.MarkReturn();
        return;
      case RelocMode::kWasmCanonicalSigId:
        Load(a, mode, kLdrWLiteral | 5, 4);  // ldr w5, literal
        a.U32(0x6b05009f);                   // cmp w4, w5
        return;
      case RelocMode::kWasmCodePointerTableEntry:
        Load(a, mode, kLdrWLiteral | 17, 4);  // ldr w17, literal
        a.U32(0x8b110e10);                    // add x16, x16, x17, lsl #3
        a.U32(0xf9400210);                    // ldr x16, [x16]
        a.U32(0xd63f0200);                    // blr x16
        a.MarkReturn();
        return;
      case RelocMode::kInternalReference:
        internal_references_ += static_cast<uint32_t>(rng.Uniform(1, 3));
        return;
      case RelocMode::kVeneerPool: {
        // b over the veneers; each veneer is a b to a label in the body.
        const uint32_t count = static_cast<uint32_t>(rng.Uniform(1, 3));
        const uint32_t size = 4 * (count + 1);
        a.Record(mode, a.pc(), size);
        a.U32(kB | (count + 1));
        for (uint32_t i = 0; i < count; ++i) {
          a.MarkInstruction();
          a.U32(kB | (0x03ffffff & (0u - (a.pc() / 4))));  // b code start
        }
        return;
      }
      default:
        return;
    }
  }

  void Epilogue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(0x910003bf);  // mov sp, x29
    a.U32(0xa8c17bfd);  // ldp x29, x30, [sp], #16
    a.U32(0xd65f03c0);  // ret
  }

  void Trailer(Assembly& a, Rng&) override {
    a.U32(kNop);
    if (!loads_.empty()) EmitPool(a);
    if (internal_references_ > 0) {
      PadTo(a, 8);
      for (uint32_t i = 0; i < internal_references_; ++i) {
        a.Record(RelocMode::kInternalReference, a.pc());
        a.U64(0);
      }
    }
  }

  void PadTo(Assembly& a, uint32_t alignment) override {
    while (a.pc() % alignment != 0) a.U32(kNop);
  }

 private:
  // A literal load whose slot is placed when the pool is emitted.
  void Load(Assembly& a, RelocMode mode, uint32_t insn, uint32_t size) {
    a.Record(mode, a.pc());
    loads_.push_back({a.pc(), size});
    a.U32(insn);
  }

  void EmitPool(Assembly& a) {
    bool any64 = false;
    uint32_t count32 = 0;
    for (const PoolLoad& l : loads_) {
      any64 |= l.size == 8;
      count32 += l.size == 4;
    }
    // Place the marker so that 8-byte slots come out 8-aligned.
    if (any64) {
      while ((a.pc() + 8 + 4 * count32) % 8 != 0) a.U32(kNop);
    }
    const uint32_t marker = a.pc();
    uint32_t at = marker + 8;
    std::vector<uint32_t> slot(loads_.size());
    for (size_t i = 0; i < loads_.size(); ++i) {
      if (loads_[i].size == 4) {
        slot[i] = at;
        at += 4;
      }
    }
    if (any64) at = (at + 7) / 8 * 8;
    for (size_t i = 0; i < loads_.size(); ++i) {
      if (loads_[i].size == 8) {
        slot[i] = at;
        at += 8;
      }
    }
    const uint32_t size = at - marker;
    a.Record(RelocMode::kConstPool, marker, size);
    a.U32(kLdrXLiteral | ((size / 4 - 1) << 5) | kXzr);
    a.U32(kBlrXzr);
    while (a.pc() < at) a.U32(0);
    for (size_t i = 0; i < loads_.size(); ++i) {
      const uint32_t imm19 = ((slot[i] - loads_[i].pc) / 4) & 0x7ffff;
      a.Store32(loads_[i].pc, a.Load32(loads_[i].pc) | imm19 << 5);
    }
  }

  bool all_forms_;
  std::vector<PoolLoad> loads_;
  uint32_t internal_references_ = 0;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakeArm64Emitter(bool all_forms) {
  return std::make_unique<Arm64Emitter>(all_forms);
}

}  // namespace wasmcache::synth
