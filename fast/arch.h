// What one target contributes to the fast implementation: finding the
// relocation sites of its code, reading and writing them as tags (on disk)
// and as real addresses (in code space), and writing its jump-table slots.
//
// Each target defines one ArchOps in fast/arch/<target>.cc. Its encoders
// live in fast/encoders/<target>.h, written in the word-domain template
// style (spec/word_domain.h) so that the proofs can instantiate them with
// bit-vectors, and table-driven where the target allows: a form is
// described by data (field positions, shifts, ranges), not by a branch per
// form.
//
// The contract is the one spec/FORMAT.md states per target (spec/forms/):
// the fast implementation must accept exactly the sites the reference
// accepts and read and write exactly the same bytes. Nothing here is shared
// with reference/.
//
// Multi-byte fields are in the target's byte order (TraitsOf(arch)), on any
// host. Functions never read or write outside [code, code + code_size) for a
// site that Locate accepted.

#ifndef WASMCACHE_FAST_ARCH_H_
#define WASMCACHE_FAST_ARCH_H_

#include <array>
#include <cstdint>

#include "spec/arch.h"
#include "spec/reloc_mode.h"

namespace wasmcache::fast {

// A located relocation site. 24 bytes: the parser keeps one per patched
// entry of the whole module in one flat array.
struct Site {
  uint32_t pc = 0;            // the reloc entry's pc
  uint32_t field_offset = 0;  // first byte of the value, from code start
  uint64_t tag = 0;           // on-disk value (filled by the parser)
  uint32_t far_slot = 0;      // WASM_STUB_CALL: far-slot index of the tag
  uint8_t field_size = 0;     // bytes holding the value (whole instructions
                              // for instruction forms)
  uint8_t form = 0;           // target-local form id
  RelocMode mode = RelocMode::kNoInfo;
  // Bytes of the instruction at pc that were read to find a constant-pool
  // slot (0 if the value is not in a pool): no other site may patch them.
  uint8_t reader_size = 0;
};
static_assert(sizeof(Site) == 24);

struct ArchOps {
  Arch arch;

  // Whether V8 13.6 emits `mode` in wasm code for this target.
  bool (*mode_used)(RelocMode mode);

  // Finds and checks the site of a serializer-patched entry at `pc`. On
  // failure returns false and sets *why to a static description (the caller
  // reports kDataLoss at the pc). `constant_pool_offset` is the code
  // header's field (ppc64 needs it).
  bool (*locate)(const uint8_t* code, uint32_t code_size, uint32_t pc,
                 RelocMode mode, uint32_t constant_pool_offset, Site* site,
                 const char** why);

  // Whether the form can hold `tag` on disk.
  bool (*tag_fits)(const Site& site, uint64_t tag);
  uint64_t (*read_tag)(const uint8_t* code, const Site& site);
  // Writes a tag in canonical form (only called when tag_fits).
  void (*write_tag)(uint8_t* code, const Site& site, uint64_t tag);
  uint64_t (*read_target)(const uint8_t* code, uint64_t code_address,
                          const Site& site);
  // False, writing nothing, if the target is out of the form's reach.
  bool (*write_target)(uint8_t* code, uint64_t code_address, const Site& site,
                       uint64_t target);

  // Jump-table slots (sizes in spec/arch.h). The near slot is written with
  // one store where the target allows, so code running concurrently sees
  // the old or the new slot.
  bool (*write_near_slot)(uint8_t* slot, uint64_t slot_address,
                          uint64_t target);
  void (*write_far_slot)(uint8_t* slot, uint64_t slot_address,
                         uint64_t target);
  bool (*write_lazy_slot)(uint8_t* slot, uint64_t slot_address,
                          uint32_t function_index, uint64_t target);
  // The target a slot jumps to; false if the bytes are not such a slot.
  bool (*read_near_slot)(const uint8_t* slot, uint64_t slot_address,
                         uint64_t* target);
  bool (*read_far_slot)(const uint8_t* slot, uint64_t slot_address,
                        uint64_t* target);
};

extern const ArchOps kX64Ops;
extern const ArchOps kIa32Ops;
extern const ArchOps kArm64Ops;
extern const ArchOps kArmOps;
extern const ArchOps kRiscv64Ops;
extern const ArchOps kRiscv32Ops;
extern const ArchOps kMips64Ops;
extern const ArchOps kPpc64Ops;
extern const ArchOps kS390xOps;
extern const ArchOps kLoong64Ops;

const ArchOps& OpsOf(Arch arch);

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ARCH_H_
