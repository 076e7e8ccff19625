// Machine code of one synthesized function, and what each target
// contributes to it.
//
// The generator writes a TurboFan function the way V8's code generator
// lays it out: a body of real instructions of the target (fillers such as
// moves and nops, and relocation sites in the exact instruction forms V8
// emits), out-of-line parts after it (constant pools, tables of internal
// references), then the metadata V8 appends (the safepoint table, and on
// ppc64 the embedded constant pool).
//
// An Assembly is that code while it is being written, with the reloc
// entries and the return addresses of calls (safepoint pcs) recorded on
// the way. A TargetEmitter (synth/arch/<target>.cc) knows one target's
// instructions: it writes site skeletons with placeholder immediates, and
// the generator stores each site's tag afterwards through the reference
// codec (reference::WriteTag), so the tag encodings are the audited ones.
// Pool loads are written with their final pc-relative offsets, because the
// codec locates the slot through them.
//
// Invariants an emitter keeps: every instruction it writes is a valid
// encoding of the target; every reloc entry it records is accepted by the
// target's codec (reference/arch/<target>.cc, LocateSite); sites never
// share bytes; a call's return address is recorded with MarkReturn.

#ifndef WASMCACHE_SYNTH_ASSEMBLY_H_
#define WASMCACHE_SYNTH_ASSEMBLY_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "reference/byte_io.h"
#include "reference/reloc_stream.h"
#include "spec/arch.h"
#include "spec/reloc_mode.h"
#include "synth/random.h"

namespace wasmcache::synth {

class Assembly {
 public:
  explicit Assembly(Arch arch) : arch_(arch), order_(TraitsOf(arch).byte_order) {}

  Arch arch() const { return arch_; }
  uint32_t pc() const { return static_cast<uint32_t>(bytes_.size()); }

  void Byte(uint8_t b) { bytes_.push_back(b); }
  void Bytes(std::initializer_list<uint8_t> bytes) {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  }
  // Multi-byte values in the target's byte order.
  void U16(uint16_t v) { Put(v, 2); }
  void U32(uint32_t v) { Put(v, 4); }
  void U64(uint64_t v) { Put(v, 8); }
  // Little-endian whatever the target (x86 immediates are little-endian
  // on a little-endian target anyway; used for clarity).
  void Le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }

  uint32_t Load32(uint32_t at) const {
    return static_cast<uint32_t>(
        reference::LoadUnaligned(bytes_.data() + at, 4, order_));
  }
  void Store32(uint32_t at, uint32_t v) {
    reference::StoreUnaligned(bytes_.data() + at, v, 4, order_);
  }

  // A reloc entry at `pc` (payload `data` for CONST_POOL / VENEER_POOL).
  void Record(RelocMode mode, uint32_t pc, uint32_t data = 0) {
    relocs_.push_back({mode, pc, data});
  }
  // The current pc starts an instruction: a possible internal-reference
  // target (a br_table case).
  void MarkInstruction() { instruction_starts_.push_back(pc()); }
  // The current pc is the return address of a call: a safepoint.
  void MarkReturn() { return_pcs_.push_back(pc()); }

  std::vector<uint8_t>& bytes() { return bytes_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<reference::RelocEntry>& relocs() { return relocs_; }
  const std::vector<uint32_t>& return_pcs() const { return return_pcs_; }
  const std::vector<uint32_t>& instruction_starts() const {
    return instruction_starts_;
  }

 private:
  void Put(uint64_t v, size_t n) {
    const size_t at = bytes_.size();
    bytes_.resize(at + n);
    reference::StoreUnaligned(bytes_.data() + at, v, n, order_);
  }

  Arch arch_;
  ByteOrder order_;
  std::vector<uint8_t> bytes_;
  std::vector<reference::RelocEntry> relocs_;
  std::vector<uint32_t> return_pcs_;
  std::vector<uint32_t> instruction_starts_;
};

// One target's instructions. A fresh emitter is made per function (pools
// and pending tables are per function).
class TargetEmitter {
 public:
  virtual ~TargetEmitter() = default;

  // Frame setup (push frame pointer, frame marker, stack check...).
  virtual void Prologue(Assembly& a, Rng& rng) = 0;
  // One harmless instruction (move, arithmetic, load/store, nop).
  virtual void Filler(Assembly& a, Rng& rng) = 0;
  // A relocation site of `mode` in one of the forms V8 emits for it (or,
  // with all_forms, any form the codec accepts), with the instructions
  // around it that make it realistic (the call after a target load...).
  // Modes without a site (CONST_POOL on riscv, VENEER_POOL on arm64) emit
  // their pool here.
  virtual void Site(Assembly& a, Rng& rng, RelocMode mode) = 0;
  // Frame teardown and return.
  virtual void Epilogue(Assembly& a, Rng& rng) = 0;
  // Out-of-line parts after the body: pending constant pools, tables of
  // internal references.
  virtual void Trailer(Assembly& a, Rng& rng) = 0;
  // No-op instructions (or padding V8 writes there) up to a multiple of
  // `alignment`, from a pc aligned to the target's instruction size.
  virtual void PadTo(Assembly& a, uint32_t alignment) = 0;

  // ppc64's embedded constant pool follows the safepoint table: its slot
  // alignment (0 if the function has no such pool), and its emission at
  // the current pc (the pool start, `constant_pool_offset`).
  virtual uint32_t EmbeddedPoolAlignment() const { return 0; }
  virtual void EmitEmbeddedPool(Assembly&) {}
};

// The modes a synthesized site can have on `arch`, in a fixed order: the
// serializer-patched modes V8 13.6 emits there, plus VENEER_POOL (arm64)
// and CONST_POOL (riscv) where the emitter writes them as sites; with
// `all_forms`, every mode the codec accepts.
std::vector<RelocMode> SiteModes(Arch arch, bool all_forms);

std::unique_ptr<TargetEmitter> MakeEmitter(Arch arch, bool all_forms);

// Per-target factories (synth/arch/<target>.cc).
std::unique_ptr<TargetEmitter> MakeX64Emitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeIa32Emitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeArm64Emitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeArmEmitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeRiscv64Emitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeRiscv32Emitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeMips64Emitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakePpc64Emitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeS390xEmitter(bool all_forms);
std::unique_ptr<TargetEmitter> MakeLoong64Emitter(bool all_forms);

}  // namespace wasmcache::synth

#endif  // WASMCACHE_SYNTH_ASSEMBLY_H_
