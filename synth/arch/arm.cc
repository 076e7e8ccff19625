// arm (32-bit) instructions for synthesized functions (reference/arch/arm.cc,
// spec/forms/arm.md).
//
// Every serializer-patched site is `ldr rd, [pc, #+imm12]` loading a 4-byte
// constant-pool word: calls (`ldr ip, [pc, #x]; blx ip`), tail calls (`ldr
// pc, [pc, #x]`), external references, signature ids, code-pointer entries.
// Each pool is a CONST_POOL-marked block: V8's marker word
// `0xe7f000f0 | length`, then the words (a branch over it when emitted in
// the middle of code).

#include <memory>
#include <vector>

#include "synth/assembly.h"

namespace wasmcache::synth {
namespace {

constexpr uint32_t kNop = 0xe320f000;
constexpr uint32_t kLdrPcRelative = 0xe59f0000;  // ldr rd, [pc, #+imm12]
constexpr uint32_t kConstantPoolMarker = 0xe7f000f0;
constexpr uint32_t kIp = 12, kPc = 15;
constexpr uint32_t kMaxPoolDistance = 3000;  // imm12 reach is 4095 + 8

const uint32_t kFillers[] = {
    kNop,
    0xe1a00001,  // mov r0, r1
    0xe2800001,  // add r0, r0, #1
    0xe59d1004,  // ldr r1, [sp, #4]
    0xe58d2008,  // str r2, [sp, #8]
    0xe1500001,  // cmp r0, r1
    0xe0400002,  // sub r0, r0, r2
    0xee310b02,  // vadd.f64 d0, d1, d2
};

uint32_t EncodeLength(uint32_t length) {
  return ((length & 0xfff0) << 4) | (length & 0xf);
}

class ArmEmitter : public TargetEmitter {
 public:
  void Prologue(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    a.U32(0xe92d4800);  // push {fp, lr}
    a.U32(0xe1a0b00d);  // mov fp, sp
    a.U32(0xe3a0c008);  // mov ip, #8 (frame marker)
    a.U32(0xe52dc004);  // push {ip}
    a.U32(0xe24dd000 | 4 * static_cast<uint32_t>(rng.Uniform(1, 8)));  // sub sp, sp, #n
  }
  void Filler(Assembly& a, Rng& rng) override {
    a.MarkInstruction();
    a.U32(rng.Pick(kFillers));
  }
  void Site(Assembly& a, Rng& rng, RelocMode mode) override {
    if (!loads_.empty() && a.pc() - loads_.front() > kMaxPoolDistance) {
      EmitPool(a, /*jump_over=*/true);
    }
    a.MarkInstruction();
    switch (mode) {
      case RelocMode::kWasmCall:
        if (rng.Chance(1, 6)) {
          a.U32(0xe1a0d00b);  // mov sp, fp
          a.U32(0xe8bd4800);  // pop {fp, lr}
          Load(a, mode, kPc);  // tail call: ldr pc, [pc, #x]
          return;
        }
        [[fallthrough]];
      case RelocMode::kWasmStubCall:
        Load(a, mode, kIp);
        a.U32(0xe12fff3c);  // blx ip
        a.MarkReturn();
        return;
      case RelocMode::kExternalReference:
        Load(a, mode, kIp);
        if (rng.Chance(1, 2)) {
          a.U32(0xe12fff3c);  // blx ip
          a.MarkReturn();
        } else {
          a.U32(0xe59cc000);  // ldr ip, [ip]
        }
        return;
      case RelocMode::kWasmCanonicalSigId:
        Load(a, mode, 5);
        a.U32(0xe1540005);  // cmp r4, r5
        return;
      case RelocMode::kWasmCodePointerTableEntry:
        Load(a, mode, 4);
        a.U32(0xe796c104);  // ldr ip, [r6, r4, lsl #2]
        a.U32(0xe12fff3c);  // blx ip
        a.MarkReturn();
        return;
      default:
        return;
    }
  }
  void Epilogue(Assembly& a, Rng&) override {
    a.MarkInstruction();
    a.U32(0xe1a0d00b);  // mov sp, fp
    a.U32(0xe8bd4800);  // pop {fp, lr}
    a.U32(0xe12fff1e);  // bx lr
  }
  void Trailer(Assembly& a, Rng&) override {
    if (!loads_.empty()) EmitPool(a, /*jump_over=*/false);
  }
  void PadTo(Assembly& a, uint32_t alignment) override {
    while (a.pc() % alignment != 0) a.U32(kNop);
  }

 private:
  void Load(Assembly& a, RelocMode mode, uint32_t rd) {
    a.Record(mode, a.pc());
    loads_.push_back(a.pc());
    a.U32(kLdrPcRelative | rd << 12);
  }

  void EmitPool(Assembly& a, bool jump_over) {
    const uint32_t words = static_cast<uint32_t>(loads_.size());
    const uint32_t size = 4 * (words + 1) + (jump_over ? 4 : 0);
    a.Record(RelocMode::kConstPool, a.pc(), size);
    if (jump_over) {
      // b after the pool: offset = (pool end - (pc + 8)) / 4.
      a.U32(0xea000000 | (words & 0xffffff));
    }
    a.U32(kConstantPoolMarker | EncodeLength(words));
    for (uint32_t load : loads_) {
      a.Store32(load, a.Load32(load) | (a.pc() - (load + 8)));
      a.U32(0);
    }
    loads_.clear();
  }

  std::vector<uint32_t> loads_;
};

}  // namespace

std::unique_ptr<TargetEmitter> MakeArmEmitter(bool) {
  return std::make_unique<ArmEmitter>();
}

}  // namespace wasmcache::synth
