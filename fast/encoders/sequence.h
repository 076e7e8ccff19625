// Instruction-sequence forms: the table-driven encoders of the fast
// implementation shared by riscv, mips64 and loong64 (word-domain
// templates).
//
// The riscv, mips64 and loong64 encoders (fast/encoders/riscv.h,
// mips64.h, loong64.h) all describe a site as a fixed sequence of 4-byte
// instruction words whose immediate fields hold slices of one value. A form
// is data:
//
//   - its shape: how many words, and per word a (mask, expected bits)
//     pattern in which a register named by word 0 may appear;
//   - its fields: per field, which word, which word bits, which value bits,
//     whether the hardware reads it signed, and a rounding addend (riscv's
//     hi20 is taken from value + 0x800 so that the signed lo12 below it
//     adds back to the value);
//   - how the summed fields become an address (pc-relative or not, and the
//     canonical width: sign- or zero-extension from some bit);
//   - its reach: an interval [lo, lo + span) of values (wrapping 64-bit
//     arithmetic, so a signed interval is one unsigned compare) and an
//     alignment.
//
// One scatter (Encode) and one gather (Decode) routine serve every form:
//
//   field_i(v)  = ((v + addend_i) >> value_lsb_i) mod 2^width_i
//   Decode(w)   = sum_i ext_i(field_i of w) << value_lsb_i     (mod 2^64)
//   target      = canon(Decode(w) + (relative ? site : 0))
//   in range    = canon(target) == target (and the site, when relative)
//                 and (relative ? target - site : target) is in reach,
//                 an offset taken modulo 2^bits of the canonical width
//                 (signed): the address arithmetic wraps there
//
// Data forms (a 4- or 8-byte datum at the site) have no words and no
// fields: the datum is the value.

#ifndef WASMCACHE_FAST_ENCODERS_SEQUENCE_H_
#define WASMCACHE_FAST_ENCODERS_SEQUENCE_H_

#include <array>
#include <cstdint>
#include <cstring>

#include "fast/arch.h"
#include "fast/memory.h"
#include "spec/arch.h"
#include "spec/reloc_mode.h"
#include "spec/word_domain.h"

namespace wasmcache::fast {

// Bits [value_lsb, value_lsb + width) of (value + addend) stored in word
// bits [insn_lsb, insn_lsb + width) of word `word` of the sequence.
struct WordField {
  uint8_t word = 0;
  uint8_t insn_lsb = 0;
  uint8_t width = 0;
  uint8_t value_lsb = 0;
  bool is_signed = false;  // the hardware sign-extends the field
  uint64_t addend = 0;     // rounding added before the bits are taken

  constexpr uint32_t Mask() const {
    return static_cast<uint32_t>(((uint64_t{1} << width) - 1) << insn_lsb);
  }
};

// Values v with (v - lo) mod 2^64 < span and the low align_bits zero;
// span 0 admits every value.
struct ValueReach {
  uint64_t lo = 0;
  uint64_t span = 0;
  uint8_t align_bits = 0;
};

// A signed interval [min, max] as a reach.
constexpr ValueReach SignedReach(int64_t min, int64_t max,
                                 uint8_t align_bits = 0) {
  return {static_cast<uint64_t>(min),
          static_cast<uint64_t>(max) - static_cast<uint64_t>(min) + 1,
          align_bits};
}

// The canonical form of a 64-bit quantity: its low `bits`, sign- or
// zero-extended (64: every value is canonical).
struct ValueWidth {
  uint8_t bits = 64;
  bool is_signed = false;
};

// Word i of a sequence matches when (word & mask) == expect | reg * spread,
// reg being the register field of word 0 (spread places it, possibly at
// several positions: (1 << 7 | 1 << 15) names rd and rs1 on riscv).
struct WordPattern {
  uint32_t mask = 0;
  uint32_t expect = 0;
  uint32_t reg_spread = 0;
};

inline constexpr int kMaxSeqWords = 6;
inline constexpr int kMaxSeqFields = 4;

struct SeqForm {
  const char* mismatch = "";  // why Locate rejects a site of this form
  // Shape.
  uint8_t words = 0;       // 4-byte instruction words; 0 for a data form
  uint8_t data_bytes = 0;  // data forms: bytes of the datum
  uint8_t pc_align = 1;    // the site's pc must be a multiple of this
  uint8_t reg_lsb = 0;     // word 0 names its register at these 5 bits
  bool reg_nonzero = false;
  std::array<WordPattern, kMaxSeqWords> pattern{};
  // Value.
  uint8_t num_fields = 0;
  std::array<WordField, kMaxSeqFields> fields{};
  bool relative = false;  // the fields hold target - site
  ValueWidth result{};    // canonical width of targets (and sites)
  ValueReach reach{};     // of the value the fields hold
  // Tags: a tag fits when it is below 2^tag_bits (and, absolute forms, is
  // in reach; a relative form's fields hold the tag as a tag_bits-bit
  // offset, whatever its reach); read_tag returns the low tag_read_bits of
  // the summed fields.
  uint8_t tag_bits = 32;
  uint8_t tag_read_bits = 32;

  constexpr uint32_t size() const {
    return words != 0 ? 4u * words : data_bytes;
  }
  constexpr bool is_data() const { return words == 0; }
};

// The encoder over a word domain D (spec/word_domain.h). Form rows are
// concrete data; only values, sites and words are domain terms.
template <class D>
struct SeqCodec {
  using U32 = typename D::U32;
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  // The contribution of one field: ext(field) << value_lsb.
  static U64 Extract(const WordField& f, U32 word) {
    const U32 top = D::Shl(word, 32 - f.insn_lsb - f.width);
    const U64 part = f.is_signed ? D::SExt64(D::AShr(top, 32 - f.width))
                                 : D::ZExt64(D::LShr(top, 32 - f.width));
    return D::Shl(part, f.value_lsb);
  }
  static U32 Insert(const WordField& f, U32 word, U64 value) {
    const U64 shifted = D::LShr(D::Add(value, D::C64(f.addend)), f.value_lsb);
    return InsertField<D>(word, f.Mask(),
                          D::Shl(D::Trunc32(shifted), f.insn_lsb));
  }

  // Gather: the sum of every field's contribution (mod 2^64).
  static U64 Gather(const SeqForm& form, const U32* words) {
    U64 sum = D::C64(0);
    for (int i = 0; i < form.num_fields; ++i) {
      const WordField& f = form.fields[i];
      sum = D::Add(sum, Extract(f, words[f.word]));
    }
    return sum;
  }
  // Scatter: every field of `value` into its word; other bits are kept.
  static void Scatter(const SeqForm& form, U32* words, U64 value) {
    for (int i = 0; i < form.num_fields; ++i) {
      const WordField& f = form.fields[i];
      words[f.word] = Insert(f, words[f.word], value);
    }
  }

  static U64 Canonical(ValueWidth w, U64 v) {
    if (w.bits >= 64) return v;
    if (w.is_signed) return SignExtendLow<D>(v, w.bits);
    return D::And(v, D::C64((uint64_t{1} << w.bits) - 1));
  }
  static Bool IsCanonical(ValueWidth w, U64 v) {
    return w.bits >= 64 ? D::True() : D::Eq(Canonical(w, v), v);
  }
  static Bool InReach(const ValueReach& r, U64 v) {
    Bool ok = r.span == 0 ? D::True()
                          : D::Ult(D::Sub(v, D::C64(r.lo)), D::C64(r.span));
    if (r.align_bits != 0) ok = D::BoolAnd(ok, LowBitsZero<D>(v, r.align_bits));
    return ok;
  }

  // The value the fields hold for `target` at `site`: a relative form's
  // offset modulo 2^bits of its canonical width, read signed.
  static U64 ValueOf(const SeqForm& form, U64 site, U64 target) {
    if (!form.relative) return target;
    return Canonical({form.result.bits, true}, D::Sub(target, site));
  }
  static Bool InRange(const SeqForm& form, U64 site, U64 target) {
    Bool ok = D::BoolAnd(IsCanonical(form.result, target),
                         InReach(form.reach, ValueOf(form, site, target)));
    if (form.relative) ok = D::BoolAnd(ok, IsCanonical(form.result, site));
    return ok;
  }
  // The target held, from the summed fields (or the datum) `raw`.
  static U64 Decode(const SeqForm& form, U64 site, U64 raw) {
    return Canonical(form.result, form.relative ? D::Add(site, raw) : raw);
  }

  static Bool TagFits(const SeqForm& form, U64 tag) {
    const Bool fits = IsCanonical({form.tag_bits, false}, tag);
    return form.relative ? fits : D::BoolAnd(fits, InReach(form.reach, tag));
  }
  static U64 TagOf(const SeqForm& form, U64 raw) {
    return Canonical({form.tag_read_bits, false}, raw);
  }
};

using NativeSeq = SeqCodec<NativeDomain>;

// --- Concrete helpers over code bytes ---------------------------------------

inline void LoadWords(const uint8_t* at, int n, ByteOrder order,
                      uint32_t* words) {
  for (int i = 0; i < n; ++i) words[i] = Load32(at + 4 * i, order);
}
inline void StoreWords(uint8_t* at, int n, ByteOrder order,
                       const uint32_t* words) {
  for (int i = 0; i < n; ++i) Store32(at + 4 * i, words[i], order);
}

// Whether `words` (form.words of them) have the form's shape.
inline bool MatchesShape(const SeqForm& form, const uint32_t* words) {
  const uint32_t reg = (words[0] >> form.reg_lsb) & 31;
  if (form.reg_nonzero && reg == 0) return false;
  for (int i = 0; i < form.words; ++i) {
    const WordPattern& p = form.pattern[i];
    if ((words[i] & p.mask) != (p.expect | reg * p.reg_spread)) return false;
  }
  return true;
}

// Encodes `target` into `words` for an instruction at `site`; false, with
// the words unchanged, when out of the form's reach.
inline bool EncodeInto(const SeqForm& form, uint32_t* words, uint64_t site,
                       uint64_t target) {
  if (!NativeSeq::InRange(form, site, target)) return false;
  NativeSeq::Scatter(form, words, NativeSeq::ValueOf(form, site, target));
  return true;
}

// A slot made of fixed instruction words followed by an absolute target of
// 4 or 8 bytes. The words are rewritten only if they differ (a live slot's
// code stays as it is), then the target with one store.
inline void WriteStubSlot(uint8_t* slot, const uint32_t* prefix, int n,
                          int target_bytes, ByteOrder order, uint64_t target) {
  uint8_t code[4 * kMaxSeqWords];
  StoreWords(code, n, order, prefix);
  if (std::memcmp(slot, code, 4 * n) != 0) std::memcpy(slot, code, 4 * n);
  uint8_t bytes[8];
  if (target_bytes == 8) {
    Store64(bytes, target, order);
  } else {
    Store32(bytes, static_cast<uint32_t>(target), order);
  }
  StoreSlot(slot + 4 * n, bytes, target_bytes);
}
inline bool ReadStubSlot(const uint8_t* slot, const uint32_t* prefix, int n,
                         int target_bytes, ByteOrder order, uint64_t* target) {
  for (int i = 0; i < n; ++i) {
    if (Load32(slot + 4 * i, order) != prefix[i]) return false;
  }
  *target = target_bytes == 8 ? Load64(slot + 4 * n, order)
                              : Load32(slot + 4 * n, order);
  return true;
}

// --- A target's sites ----------------------------------------------------

// Form ids of every target described here. The modes map to them alike:
// calls (WASM_CALL, WASM_STUB_CALL) are a pc-relative call where the target
// has one, else an address load; EXTERNAL_REFERENCE is an address load;
// WASM_CANONICAL_SIG_ID and WASM_CODE_POINTER_TABLE_ENTRY load a u32;
// INTERNAL_REFERENCE is data.
enum SeqFormId : uint8_t { kAddressForm, kU32Form, kDataForm, kCallForm };
inline constexpr uint8_t kNoForm = 0xff;
inline constexpr int kMaxSeqForms = 4;
inline constexpr int kMaxFormsPerMode = 2;

using FormsOfMode =
    std::array<std::array<uint8_t, kMaxFormsPerMode>, kNumberOfRelocModes>;

struct SeqTarget {
  ByteOrder order = ByteOrder::kLittle;
  const char* mode_not_used = "";
  uint32_t unused_modes = 0;  // bit per RelocMode: not emitted by V8 here
  std::array<SeqForm, kMaxSeqForms> forms{};
  // The forms a mode's site may have, tried in order (their word-0
  // patterns are disjoint, so the order decides no verdict).
  FormsOfMode forms_of_mode{};
};

constexpr uint32_t ModeBit(RelocMode mode) {
  return uint32_t{1} << static_cast<int>(mode);
}

// A target whose sites are described by its forms (call: null where calls
// are address loads too). VENEER_POOL and INTERNAL_REFERENCE_ENCODED never
// occur; CONST_POOL only where the target has a constant pool.
constexpr SeqTarget MakeSeqTarget(ByteOrder order, const char* mode_not_used,
                                  bool const_pool, const SeqForm& address,
                                  const SeqForm& u32, const SeqForm& data,
                                  const SeqForm* call) {
  SeqTarget t;
  t.order = order;
  t.mode_not_used = mode_not_used;
  t.unused_modes = ModeBit(RelocMode::kVeneerPool) |
                   ModeBit(RelocMode::kInternalReferenceEncoded) |
                   (const_pool ? 0 : ModeBit(RelocMode::kConstPool));
  t.forms[kAddressForm] = address;
  t.forms[kU32Form] = u32;
  t.forms[kDataForm] = data;
  if (call != nullptr) t.forms[kCallForm] = *call;
  for (auto& row : t.forms_of_mode) row = {kNoForm, kNoForm};
  auto of = [&t](RelocMode m) -> auto& {
    return t.forms_of_mode[static_cast<int>(m)];
  };
  const std::array<uint8_t, kMaxFormsPerMode> calls =
      call != nullptr
          ? std::array<uint8_t, kMaxFormsPerMode>{kCallForm, kAddressForm}
          : std::array<uint8_t, kMaxFormsPerMode>{kAddressForm, kNoForm};
  of(RelocMode::kWasmCall) = calls;
  of(RelocMode::kWasmStubCall) = calls;
  of(RelocMode::kExternalReference) = {kAddressForm, kNoForm};
  of(RelocMode::kWasmCanonicalSigId) = {kU32Form, kNoForm};
  of(RelocMode::kWasmCodePointerTableEntry) = {kU32Form, kNoForm};
  of(RelocMode::kInternalReference) = {kDataForm, kNoForm};
  return t;
}

// The jump-table slot functions of an ArchOps.
struct SlotFunctions {
  bool (*write_near)(uint8_t*, uint64_t, uint64_t);
  void (*write_far)(uint8_t*, uint64_t, uint64_t);
  bool (*write_lazy)(uint8_t*, uint64_t, uint32_t, uint64_t);
  bool (*read_near)(const uint8_t*, uint64_t, uint64_t*);
  bool (*read_far)(const uint8_t*, uint64_t, uint64_t*);
};

// The ArchOps site functions of a target described by T.
template <const SeqTarget& T>
struct SeqSites {
  static const SeqForm& FormOf(const Site& site) { return T.forms[site.form]; }

  static bool ModeUsed(RelocMode mode) {
    return (T.unused_modes & ModeBit(mode)) == 0;
  }

  static bool Locate(const uint8_t* code, uint32_t code_size, uint32_t pc,
                     RelocMode mode, uint32_t, Site* site, const char** why) {
    const auto& candidates = T.forms_of_mode[static_cast<int>(mode)];
    *why = T.mode_not_used;
    for (const uint8_t id : candidates) {
      if (id == kNoForm) break;
      const SeqForm& form = T.forms[id];
      if (pc % form.pc_align != 0) {
        *why = "pc not aligned to an instruction";
        continue;
      }
      const uint32_t size = form.size();
      if (pc > code_size || code_size - pc < size) {
        *why = "site runs past the instructions";
        continue;
      }
      if (!form.is_data()) {
        uint32_t words[kMaxSeqWords];
        LoadWords(code + pc, form.words, T.order, words);
        if (!MatchesShape(form, words)) {
          *why = form.mismatch;
          continue;
        }
      }
      *site = Site{};
      site->pc = pc;
      site->field_offset = pc;
      site->field_size = static_cast<uint8_t>(size);
      site->form = id;
      site->mode = mode;
      site->reader_size = 0;
      return true;
    }
    return false;
  }

  // The summed fields, or the datum.
  static uint64_t Raw(const uint8_t* code, const Site& site) {
    const SeqForm& form = FormOf(site);
    const uint8_t* at = code + site.field_offset;
    if (form.is_data()) {
      return form.data_bytes == 8 ? Load64(at, T.order) : Load32(at, T.order);
    }
    uint32_t words[kMaxSeqWords];
    LoadWords(at, form.words, T.order, words);
    return NativeSeq::Gather(form, words);
  }
  static void Put(uint8_t* code, const Site& site, uint64_t value) {
    const SeqForm& form = FormOf(site);
    uint8_t* at = code + site.field_offset;
    if (form.is_data()) {
      if (form.data_bytes == 8) {
        Store64(at, value, T.order);
      } else {
        Store32(at, static_cast<uint32_t>(value), T.order);
      }
      return;
    }
    uint32_t words[kMaxSeqWords];
    LoadWords(at, form.words, T.order, words);
    NativeSeq::Scatter(form, words, value);
    StoreWords(at, form.words, T.order, words);
  }

  static bool TagFits(const Site& site, uint64_t tag) {
    return NativeSeq::TagFits(FormOf(site), tag);
  }
  static uint64_t ReadTag(const uint8_t* code, const Site& site) {
    return NativeSeq::TagOf(FormOf(site), Raw(code, site));
  }
  static void WriteTag(uint8_t* code, const Site& site, uint64_t tag) {
    Put(code, site, tag);
  }
  static uint64_t ReadTarget(const uint8_t* code, uint64_t code_address,
                             const Site& site) {
    return NativeSeq::Decode(FormOf(site), code_address + site.field_offset,
                             Raw(code, site));
  }
  static bool WriteTarget(uint8_t* code, uint64_t code_address,
                          const Site& site, uint64_t target) {
    const SeqForm& form = FormOf(site);
    const uint64_t at = code_address + site.field_offset;
    if (!NativeSeq::InRange(form, at, target)) return false;
    Put(code, site, NativeSeq::ValueOf(form, at, target));
    return true;
  }

  static constexpr ArchOps Ops(Arch arch, const SlotFunctions& slots) {
    return {.arch = arch,
            .mode_used = ModeUsed,
            .locate = Locate,
            .tag_fits = TagFits,
            .read_tag = ReadTag,
            .write_tag = WriteTag,
            .read_target = ReadTarget,
            .write_target = WriteTarget,
            .write_near_slot = slots.write_near,
            .write_far_slot = slots.write_far,
            .write_lazy_slot = slots.write_lazy,
            .read_near_slot = slots.read_near,
            .read_far_slot = slots.read_far};
  }
};

// A data form of `bytes` bytes: any value of that width.
constexpr SeqForm DataForm(uint8_t bytes, uint8_t pc_align) {
  return {.mismatch = "",
          .data_bytes = bytes,
          .pc_align = pc_align,
          .result = {static_cast<uint8_t>(8 * bytes), false},
          .tag_bits = static_cast<uint8_t>(8 * bytes),
          .tag_read_bits = static_cast<uint8_t>(8 * bytes)};
}

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_ENCODERS_SEQUENCE_H_
