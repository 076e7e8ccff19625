// Relocation sites: where a reloc entry's value lives in the code of a
// target, and how to read and write it as a tag (on disk) or as a real
// address (in code space).
//
// LocateSite() is the only place that decides which instruction form a
// mode uses on a target; it checks the form is one V8 13.6 emits there and
// that every byte the value occupies lies inside the instructions. After
// that, reading and writing cannot go out of bounds.
//
// Forms by target (see reference/encoders/ for the fixup expressions):
//
//   x64    WASM_CALL, WASM_STUB_CALL        rel32 at pc
//          EXTERNAL_REFERENCE               imm64 at pc (tag in low 32 bits)
//          INTERNAL_REFERENCE               8-byte absolute at pc
//          WASM_CANONICAL_SIG_ID,
//          WASM_CODE_POINTER_TABLE_ENTRY    imm32 at pc
//   arm64  WASM_CALL, WASM_STUB_CALL        b/bl imm26 at pc, or ldr x
//                                           literal (8-byte pool slot)
//          EXTERNAL_REFERENCE               ldr x literal, 8-byte slot
//          WASM_CANONICAL_SIG_ID,
//          WASM_CODE_POINTER_TABLE_ENTRY    ldr w literal, 4-byte slot
//          INTERNAL_REFERENCE               8-byte absolute at pc
//
// Other targets are not supported yet: LocateSite returns kUnimplemented.

#ifndef WASMCACHE_REFERENCE_RELOCATION_H_
#define WASMCACHE_REFERENCE_RELOCATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "reference/reloc_stream.h"
#include "spec/arch.h"

namespace wasmcache::reference {

enum class SiteForm : uint8_t {
  kX64Rel32,        // pc-relative 32-bit displacement
  kX64Imm64Tag32,   // 8-byte absolute; tag is the low 32 bits
  kImm32,           // 4-byte value (x64 imm32, arm64 ldr w slot)
  kAbsolute64,      // 8-byte absolute (internal references, ldr x slots)
  kArm64Branch,     // b/bl imm26
};

struct Site {
  SiteForm form = SiteForm::kImm32;
  uint32_t field_offset = 0;  // first byte of the value, from code start
  uint32_t field_size = 0;    // bytes of the value (the whole instruction
                              // word for kArm64Branch)
  uint32_t pc = 0;            // the reloc entry's pc
};

// Finds the site of `entry` (a serializer-patched mode) in `code`.
// `code_file_offset` is the file offset of code[0], for errors (kDataLoss).
absl::StatusOr<Site> LocateSite(Arch arch, absl::Span<const uint8_t> code,
                                const RelocEntry& entry,
                                uint64_t code_file_offset);

// The value stored at a site in the on-disk (tag) form.
uint64_t ReadTag(Arch arch, const uint8_t* code, const Site& site);
// Writes a tag in canonical form. False if the form cannot hold it.
bool WriteTag(Arch arch, uint8_t* code, const Site& site, uint64_t tag);

// The absolute address or value a relocated site holds, with the code
// running at `code_address`.
uint64_t ReadTarget(Arch arch, const uint8_t* code, uint64_t code_address,
                    const Site& site);
// Writes an absolute address or value. False if out of the form's reach.
bool WriteTarget(Arch arch, uint8_t* code, uint64_t code_address,
                 const Site& site, uint64_t target);

// Whether V8 13.6 emits `mode` in wasm code for `arch` (for example
// CONST_POOL and VENEER_POOL only where the target has constant pools).
// Targets whose forms are not implemented yet accept every wasm mode.
bool ModeUsedOnTarget(Arch arch, RelocMode mode);

// The range of tag values a site form can hold on disk, before any check
// against the module (e.g. arm64 branches hold int26).
bool TagFitsForm(Arch arch, const Site& site, uint64_t tag);

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_RELOCATION_H_
