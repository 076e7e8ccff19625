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
// Each target's forms are implemented by its codec (reference/arch_codec.h);
// a target without one returns kUnimplemented.

#ifndef WASMCACHE_REFERENCE_RELOCATION_H_
#define WASMCACHE_REFERENCE_RELOCATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "reference/reloc_stream.h"
#include "spec/arch.h"

namespace wasmcache::reference {

// How a site holds its value. Data forms hold it as bytes; instruction
// forms spread it over immediate fields of one or more instructions (the
// site's field then covers those instructions). Each target's codec says
// which forms it uses (reference/arch/).
enum class SiteForm : uint8_t {
  // Data and simple immediates.
  kX64Rel32,        // pc-relative 32-bit displacement (x64, ia32 call/jmp)
  kX64Imm64Tag32,   // 8-byte absolute; tag is the low 32 bits (x64)
  kImm32,           // 4-byte value: imm32, 32-bit absolute, 4-byte slot
  kAbsolute64,      // 8-byte absolute: internal references, 8-byte slots
  // arm64.
  kArm64Branch,     // b/bl imm26
  // riscv.
  kRiscvAuipcJalr,  // auipc + jalr, pc-relative, tag = byte offset
  kRiscvLiPtr,      // li_ptr absolute sequence (rv64)
  kRiscvLuiAddi,    // lui + addi 32-bit constant
  // mips64.
  kMips64LiAddress,  // lui/ori/dsll/ori 48-bit absolute
  kMipsLuiOri,       // lui + ori 32-bit constant
  kMipsJump26,       // j/jal imm26 inside a 256 MB segment
  // ppc64.
  kPpc64Mov,        // lis/ori/sldi/oris/ori 64-bit absolute
  kPpc64LisOri,     // lis + ori 32-bit constant
  // s390x.
  kS390xIihfIilf,   // iihf + iilf 64-bit absolute
  kS390xIilf,       // iilf 32-bit constant
  kS390xRelative32,  // brasl/brcl, halfword-scaled imm32
  // loong64.
  kLoong64Li,       // lu12i.w/ori/lu32i.d absolute
  kLoong64Lu12iOri,  // lu12i.w + ori 32-bit constant
  kLoong64Branch26,  // b/bl offs26
};

struct Site {
  SiteForm form = SiteForm::kImm32;
  uint32_t field_offset = 0;  // first byte of the value, from code start
  uint32_t field_size = 0;    // bytes holding the value (whole instruction
                              // words for instruction forms)
  uint32_t pc = 0;            // the reloc entry's pc
  // A constant-pool slot, found through the instruction at pc: two entries
  // may name the same slot. The instruction read to find it lies at
  // [pc, pc + instruction_size) and must not be patched by another site.
  bool pool_slot = false;
  uint32_t instruction_size = 0;
  uint8_t variant = 0;        // target-specific detail of the form
};

// Finds the site of `entry` (a serializer-patched mode) in `code`.
// `code_file_offset` is the file offset of code[0], for errors (kDataLoss).
// `constant_pool_offset` is the code header's field (targets whose code
// loads constants from an embedded pool need it); kNoConstantPool where
// unknown.
inline constexpr uint32_t kNoConstantPool = 0xffffffff;
absl::StatusOr<Site> LocateSite(Arch arch, absl::Span<const uint8_t> code,
                                const RelocEntry& entry,
                                uint64_t code_file_offset,
                                uint32_t constant_pool_offset = kNoConstantPool);

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
