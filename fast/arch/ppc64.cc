// ppc64 (ppc64le) sites and jump-table slots for the fast implementation.
//
// Sites: WASM_CALL, WASM_STUB_CALL and EXTERNAL_REFERENCE are the 5-word
// mov sequence at pc holding an address (tag: low 32 bits);
// WASM_CANONICAL_SIG_ID and WASM_CODE_POINTER_TABLE_ENTRY the same sequence
// holding a 32-bit constant; INTERNAL_REFERENCE_ENCODED the sequence holding
// a whole 64-bit offset; INTERNAL_REFERENCE 8 bytes at pc. Where the
// sequence is not at pc, every mode but INTERNAL_REFERENCE_ENCODED may be a
// constant-pool load (ld, or addis + ld, from r28) whose 8-byte slot lies at
// the code's constant_pool_offset plus the load's displacement.
// Slots: near `b`, far mflr/bl/mflr/mtlr/ld/mtctr/bctr/nop with the target at
// slot+32 and two nops after it, lazy the same trampoline loading the
// function index (slot+32) into r15 and the target from slot+40.

#include <algorithm>

#include "fast/arch.h"
#include "fast/encoders/ppc64.h"
#include "fast/memory.h"

namespace wasmcache::fast {
namespace {

using Words = Ppc64Words<NativeDomain>;
constexpr ByteOrder kOrder = TraitsOf(Arch::kPpc64).byte_order;

// The code header's constant_pool_offset when the code has none known.
constexpr uint32_t kNoPool = 0xffffffff;

// How the site of each serializer-patched mode is found.
enum class Find : uint8_t {
  kNotUsed,   // not a ppc64 wasm site
  kAtPc,      // a data64 field at pc
  kSequence,  // the mov sequence at pc (or, if `pool`, a pool load)
};
struct ModeRule {
  Find find = Find::kNotUsed;
  uint8_t form = 0;
  bool pool = false;
};
constexpr auto kRules = [] {
  std::array<ModeRule, kNumberOfRelocModes> t{};
  auto set = [&t](RelocMode mode, ModeRule rule) {
    t[static_cast<int>(mode)] = rule;
  };
  set(RelocMode::kWasmCall, {Find::kSequence, kPpc64MovAddress, true});
  set(RelocMode::kWasmStubCall, {Find::kSequence, kPpc64MovAddress, true});
  set(RelocMode::kExternalReference,
      {Find::kSequence, kPpc64MovAddress, true});
  set(RelocMode::kWasmCanonicalSigId,
      {Find::kSequence, kPpc64MovValue32, true});
  set(RelocMode::kWasmCodePointerTableEntry,
      {Find::kSequence, kPpc64MovValue32, true});
  set(RelocMode::kInternalReferenceEncoded,
      {Find::kSequence, kPpc64MovInternal, false});
  set(RelocMode::kInternalReference, {Find::kAtPc, kPpc64Data64, false});
  return t;
}();

// The two ways TurboFan code loads a pool constant.
struct PoolLoad {
  const Ppc64Pattern* pattern;
  const Ppc64Layout* displacement;
};
constexpr PoolLoad kPoolLoads[] = {
    {&kPpc64LdPattern, &kPpc64LdDisplacement},
    {&kPpc64AddisLdPattern, &kPpc64AddisLdDisplacement},
};

constexpr int kMaxWords = 5;

// [at, at + size) lies inside a code of `code_size` bytes.
bool Inside(uint32_t code_size, uint64_t at, uint64_t size) {
  return at <= code_size && size <= code_size - at;
}

void LoadWords(const uint8_t* at, int n, uint32_t* words) {
  for (int i = 0; i < n; ++i) words[i] = Load32(at + 4 * i, kOrder);
}
void StoreWords(uint8_t* at, int n, const uint32_t* words) {
  for (int i = 0; i < n; ++i) Store32(at + 4 * i, words[i], kOrder);
}

bool Reject(const char** why, const char* what) {
  *why = what;
  return false;
}

bool Accept(Site* site, uint32_t pc, RelocMode mode, uint8_t form,
            uint64_t field_offset, uint8_t reader_size) {
  Site s;
  s.pc = pc;
  s.field_offset = static_cast<uint32_t>(field_offset);
  s.field_size = kPpc64Forms[form].layout->words * 4;
  s.form = form;
  s.mode = mode;
  s.reader_size = reader_size;
  *site = s;
  return true;
}

bool ModeUsed(RelocMode mode) {
  return mode != RelocMode::kConstPool && mode != RelocMode::kVeneerPool;
}

bool Locate(const uint8_t* code, uint32_t code_size, uint32_t pc,
            RelocMode mode, uint32_t constant_pool_offset, Site* site,
            const char** why) {
  const ModeRule rule = kRules[static_cast<int>(mode)];
  if (rule.find == Find::kNotUsed) return Reject(why, "mode not used on ppc64");
  if (rule.find == Find::kAtPc) {
    if (!Inside(code_size, pc, 8)) {
      return Reject(why, "8-byte field outside the instructions");
    }
    return Accept(site, pc, mode, rule.form, pc, 0);
  }
  if (pc % 4 != 0) return Reject(why, "instruction not 4-aligned");
  if (!Inside(code_size, pc, 4)) {
    return Reject(why, "instruction outside the code");
  }
  const int n = static_cast<int>(
      std::min<uint32_t>(kMaxWords, (code_size - pc) / 4));
  uint32_t words[kMaxWords];
  LoadWords(code + pc, n, words);

  if (n >= kPpc64MovPattern.words &&
      Words::Matches(kPpc64MovPattern, words)) {
    return Accept(site, pc, mode, rule.form, pc, 0);
  }
  if (rule.pool) {
    for (const PoolLoad& load : kPoolLoads) {
      if (n < load.pattern->words || !Words::Matches(*load.pattern, words)) {
        continue;
      }
      if (constant_pool_offset == kNoPool) {
        return Reject(why, "constant-pool load without the code's "
                           "constant_pool_offset");
      }
      const uint64_t slot = uint64_t{constant_pool_offset} +
                            Words::Gather(*load.displacement, words);
      if (slot % 8 != 0 || slot < constant_pool_offset ||
          !Inside(code_size, slot, 8)) {
        return Reject(why, "constant-pool slot not an aligned 8-byte slot "
                           "of the pool inside the instructions");
      }
      return Accept(site, pc, mode, kPpc64Data64, slot,
                    static_cast<uint8_t>(load.pattern->words * 4));
    }
  }
  return Reject(why, n < kPpc64MovPattern.words
                         ? "20-byte mov sequence outside the instructions"
                         : "not a lis/ori/sldi/oris/ori sequence of one "
                           "register");
}

// The site's address (site 0 for a tag) or tag of `reach`, from and to
// the words of the site's layout.
uint64_t Read(const uint8_t* code, const Site& site, const Ppc64Reach& reach,
              uint64_t site_address) {
  const Ppc64Layout& layout = *kPpc64Forms[site.form].layout;
  uint32_t words[kMaxWords];
  LoadWords(code + site.field_offset, layout.words, words);
  return Words::Read(layout, reach, words, site_address);
}

void Write(uint8_t* code, const Site& site, const Ppc64Reach& reach,
           uint64_t site_address, uint64_t target) {
  const Ppc64Layout& layout = *kPpc64Forms[site.form].layout;
  uint32_t words[kMaxWords];
  LoadWords(code + site.field_offset, layout.words, words);
  Words::Write(layout, reach, words, site_address, target);
  StoreWords(code + site.field_offset, layout.words, words);
}

bool TagFits(const Site& site, uint64_t tag) {
  return Words::Fits(kPpc64Forms[site.form].tag, 0, tag);
}

uint64_t ReadTag(const uint8_t* code, const Site& site) {
  return Read(code, site, kPpc64Forms[site.form].tag, 0);
}

void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
  Write(code, site, kPpc64Forms[site.form].tag, 0, tag);
}

uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                    const Site& site) {
  return Read(code, site, kPpc64Forms[site.form].target,
              code_address + site.field_offset);
}

bool WriteTarget(uint8_t* code, uint64_t code_address, const Site& site,
                 uint64_t target) {
  const Ppc64Reach& reach = kPpc64Forms[site.form].target;
  const uint64_t site_address = code_address + site.field_offset;
  if (!Words::Fits(reach, site_address, target)) return false;
  Write(code, site, reach, site_address, target);
  return true;
}

// --- Jump-table slots --------------------------------------------------------

constexpr uint32_t kNop = 0x60000000;  // ori r0, r0, 0

// Far slot: 8 code words, the target (2 words) at slot+32, 2 nops. `bl .+4`
// leaves slot+8 in LR, so `ld r12, 24(r12)` reads slot+32.
constexpr int kFarTargetWord = 8;
constexpr uint32_t kFarSlot[12] = {
    0x7c0802a6,  // mflr r0
    0x48000005,  // bl .+4
    0x7d8802a6,  // mflr r12
    0x7c0803a6,  // mtlr r0
    0xe98c0018,  // ld r12, 24(r12)
    0x7d8903a6,  // mtctr r12
    0x4e800420,  // bctr
    kNop,        //
    0,           // target, low word
    0,           // target, high word
    kNop,        //
    kNop,        //
};
static_assert(sizeof(kFarSlot) ==
              TraitsOf(Arch::kPpc64).far_jump_table_slot_size);

// Lazy slot: the same trampoline head, then lwz r15 (the function index at
// slot+32) and ld r0 (the target at slot+40).
constexpr int kLazyIndexWord = 8;
constexpr int kLazyTargetWord = 10;
constexpr uint32_t kLazySlot[12] = {
    0x7c0802a6,  // mflr r0
    0x48000005,  // bl .+4
    0x7d8802a6,  // mflr r12
    0x7c0803a6,  // mtlr r0
    0x81ec0018,  // lwz r15, 24(r12)
    0xe80c0020,  // ld r0, 32(r12)
    0x7c0903a6,  // mtctr r0
    0x4e800420,  // bctr
    0,           // function index
    kNop,        //
    0,           // target, low word
    0,           // target, high word
};
static_assert(sizeof(kLazySlot) ==
              TraitsOf(Arch::kPpc64).lazy_compile_slot_size);

// The far slot's words other than the target hold their image.
bool FarSlotCodeIs(const uint8_t* slot) {
  for (int i = 0; i < 12; ++i) {
    if (i == kFarTargetWord || i == kFarTargetWord + 1) continue;
    if (Load32(slot + 4 * i, kOrder) != kFarSlot[i]) return false;
  }
  return true;
}

bool WriteNearSlot(uint8_t* slot, uint64_t slot_address, uint64_t target) {
  if (!Words::Fits(kPpc64BranchReach, slot_address, target)) return false;
  uint32_t insn = kPpc64B;
  Words::Write(kPpc64BranchLayout, kPpc64BranchReach, &insn, slot_address,
               target);
  uint8_t bytes[4];
  Store32(bytes, insn, kOrder);
  StoreSlot(slot, bytes, 4);
  return true;
}

// Rewrites the code words only where they differ, then the target with one
// 8-byte store where the slot's `ld` reads it.
void WriteFarSlot(uint8_t* slot, uint64_t, uint64_t target) {
  if (!FarSlotCodeIs(slot)) {
    StoreWords(slot, kFarTargetWord, kFarSlot);
    StoreWords(slot + 4 * (kFarTargetWord + 2), 2,
               kFarSlot + kFarTargetWord + 2);
  }
  uint8_t bytes[8];
  Store64(bytes, target, kOrder);
  StoreSlot(slot + 4 * kFarTargetWord, bytes, 8);
}

bool WriteLazySlot(uint8_t* slot, uint64_t, uint32_t function_index,
                   uint64_t target) {
  StoreWords(slot, 12, kLazySlot);
  Store32(slot + 4 * kLazyIndexWord, function_index, kOrder);
  Store64(slot + 4 * kLazyTargetWord, target, kOrder);
  return true;
}

bool ReadNearSlot(const uint8_t* slot, uint64_t slot_address,
                  uint64_t* target) {
  const uint32_t insn = Load32(slot, kOrder);
  if (!Words::Matches(kPpc64BPattern, &insn)) return false;
  *target = Words::Read(kPpc64BranchLayout, kPpc64BranchReach, &insn,
                        slot_address);
  return true;
}

bool ReadFarSlot(const uint8_t* slot, uint64_t, uint64_t* target) {
  if (!FarSlotCodeIs(slot)) return false;
  *target = Load64(slot + 4 * kFarTargetWord, kOrder);
  return true;
}

}  // namespace

const ArchOps kPpc64Ops = {
    .arch = Arch::kPpc64,
    .mode_used = ModeUsed,
    .locate = Locate,
    .tag_fits = TagFits,
    .read_tag = ReadTag,
    .write_tag = WriteTag,
    .read_target = ReadTarget,
    .write_target = WriteTarget,
    .write_near_slot = WriteNearSlot,
    .write_far_slot = WriteFarSlot,
    .write_lazy_slot = WriteLazySlot,
    .read_near_slot = ReadNearSlot,
    .read_far_slot = ReadFarSlot,
};

}  // namespace wasmcache::fast
