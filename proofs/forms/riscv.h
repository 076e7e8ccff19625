// riscv64 and riscv32 forms: reference/encoders/riscv.h against the
// SeqForm rows of fast/encoders/riscv.h, shared by both targets (they
// differ in the width of addresses, in which form tail calls and external
// references use, and in the width of internal references).
//
// Words are the instruction words in site order. Shapes are the patterns
// reference/arch/riscv{64,32}.cc's Locate checks (rd != x0 and the same rd
// through the sequence); jump-table forms take the exact words the slot
// writers start from. Sites are 4-aligned (no C extension), and below 2^32
// on riscv32.

#ifndef WASMCACHE_PROOFS_FORMS_RISCV_H_
#define WASMCACHE_PROOFS_FORMS_RISCV_H_

#include <vector>

#include "fast/encoders/riscv.h"
#include "proofs/form.h"
#include "proofs/forms/sequence.h"
#include "reference/encoders/riscv.h"

namespace wasmcache::proofs {

template <class D>
std::vector<Form<D>> RiscvForms(bool rv64) {
  using U64 = typename D::U64;
  using W = Words<D>;
  using Bits = reference::RiscvBits;
  using AuipcJalr = reference::RiscvAuipcJalr<D>;
  using LuiAddi = reference::RiscvLuiAddi<D>;
  using LiPtr = reference::RiscvLiPtr48<D>;
  using Jal = reference::RiscvJal<D>;
  using Datum64 = reference::RiscvDatum<D, 8>;
  using Datum32 = reference::RiscvDatum<D, 4>;
  const fast::SeqTarget target = fast::riscv::Target(rv64);
  const fast::SeqForm& call = target.forms[fast::kCallForm];
  const fast::SeqForm& u32 = target.forms[fast::kU32Form];
  const fast::SeqForm& data = target.forms[fast::kDataForm];

  constexpr uint32_t kNotI = ~Bits::kIImmMask;
  const std::vector<int> same_reg = {7, 15};  // `op rd, rd, imm`
  auto auipc_jalr_shape = RegShape<D>(
      7, true,
      {{Bits::kOpcodeMask, Bits::kAuipc, {}},
       {kNotI, Bits::kJalr | Bits::RdField(1), {15}}});  // jalr ra, lo12(rX)
  auto lui_addi_shape =
      RegShape<D>(7, true,
                  {{Bits::kOpcodeMask, Bits::kLui, {}},
                   {kNotI, Bits::kAddi, same_reg}});

  std::vector<Form<D>> forms;
  auto add = [&](const char* name, const char* where,
                 std::vector<uint32_t> masks) {
    return AddForm<D>(forms, rv64 ? "riscv64" : "riscv32", name, where,
                      std::move(masks), SiteIn<D>(rv64 ? 64 : 32, 2));
  };
  const std::vector<uint32_t> pair_masks = {Bits::kUpperImmMask,
                                            Bits::kIImmMask};

  // auipc rX; jalr ra, lo12(rX).
  Form<D>* f = add("auipc-jalr",
                   "WASM_CALL, WASM_STUB_CALL (calls): auipc + jalr ra",
                   pair_masks);
  f->shape = auipc_jalr_shape;
  f->reference = {
      [rv64](const U64& site, const U64& v) {
        return rv64 ? AuipcJalr::InRange(site, v)
                    : AuipcJalr::InRange32(site, v);
      },
      [](const W& w, const U64& site, const U64& v) {
        return W{AuipcJalr::EncodeAuipc(w[0], site, v),
                 AuipcJalr::EncodeJalr(w[1], site, v)};
      },
      [rv64](const W& w, const U64& site) {
        return rv64 ? AuipcJalr::Decode(w[0], w[1], site)
                    : AuipcJalr::Decode32(w[0], w[1], site);
      }};
  f->fast = SeqTargetImpl<D>(call);

  f = add("auipc-jalr.tag",
          "WASM_CALL, WASM_STUB_CALL (calls) on disk: the byte offset = tag",
          pair_masks);
  f->shape = auipc_jalr_shape;
  f->reference = {
      [](const U64&, const U64& tag) { return AuipcJalr::TagInRange(tag); },
      [](const W& w, const U64&, const U64& tag) {
        return W{AuipcJalr::EncodeTagAuipc(w[0], D::Trunc32(tag)),
                 AuipcJalr::EncodeTagJalr(w[1], D::Trunc32(tag))};
      },
      [](const W& w, const U64&) {
        return D::ZExt64(AuipcJalr::DecodeTag(w[0], w[1]));
      }};
  f->fast = SeqTagImpl<D>(call);

  if (rv64) {
    // li_ptr, Sv48: lui; addi; slli 11; ori (11 bits); slli 6; ori (6 bits).
    auto li_ptr_shape = RegShape<D>(
        7, true,
        {{Bits::kOpcodeMask, Bits::kLui, {}},
         {kNotI, Bits::kAddi, same_reg},
         {0xffffffff, Bits::kSlli | LiPtr::kFirstShift << 20, same_reg},
         {kNotI | 0x80000000, Bits::kOri, same_reg},
         {0xffffffff, Bits::kSlli | LiPtr::kSecondShift << 20, same_reg},
         {kNotI | 0xfc000000, Bits::kOri, same_reg}});
    const std::vector<uint32_t> li_ptr_masks = {
        Bits::kUpperImmMask, Bits::kIImmMask, 0, Bits::kIImmMask, 0,
        Bits::kIImmMask};
    auto li_ptr_encode = [](const W& w, const U64&, const U64& v) {
      return W{LiPtr::EncodeLui(w[0], v),      LiPtr::EncodeAddi(w[1], v),
               w[2],                           LiPtr::EncodeOriHigh(w[3], v),
               w[4],                           LiPtr::EncodeOriLow(w[5], v)};
    };
    auto li_ptr_decode = [](const W& w, const U64&) {
      return LiPtr::Decode(w[0], w[1], w[3], w[5]);
    };
    const fast::SeqForm& address = target.forms[fast::kAddressForm];

    f = add("li-ptr",
            "EXTERNAL_REFERENCE; WASM_CALL, WASM_STUB_CALL (tail calls): "
            "6-word li_ptr",
            li_ptr_masks);
    f->shape = li_ptr_shape;
    f->reference = {
        [](const U64&, const U64& v) { return LiPtr::InRange(v); },
        li_ptr_encode, li_ptr_decode};
    f->fast = SeqTargetImpl<D>(address);
    // The sign-extending addi also builds some values with bits 63:48 set;
    // no address of the Sv48 user space is one, and V8's li_ptr takes only
    // 48-bit values.
    f->value_domain = [](const U64&, const U64& v) {
      return FitsUnsigned<D>(v, 48);
    };
    f->domain_note = "Sv48 addresses: values below 2^48";

    f = add("li-ptr.tag",
            "EXTERNAL_REFERENCE; WASM_CALL, WASM_STUB_CALL (tail calls) on "
            "disk: the li_ptr loads the tag",
            li_ptr_masks);
    f->shape = li_ptr_shape;
    f->reference = {
        [](const U64&, const U64& tag) { return LiPtr::TagInRange(tag); },
        li_ptr_encode, li_ptr_decode};
    f->fast = SeqTagImpl<D>(address);
    // Tags are u32; the sequence reads 48 bits back so that stray high bits
    // on disk are caught, which lets larger values round-trip too.
    f->value_domain = [](const U64&, const U64& tag) {
      return FitsUnsigned<D>(tag, 32);
    };
    f->domain_note = "tags are u32";
  }

  // lui rd; addi rd, rd: u32 values and tags alike, with the same
  // reference code; the fast implementation has a value and a tag path.
  // On riscv32 it is li_ptr too (the fast address row is the same row).
  auto lui_addi_encode = [](const W& w, const U64&, const U64& v) {
    return W{LuiAddi::EncodeLui(w[0], D::Trunc32(v)),
             LuiAddi::EncodeAddi(w[1], D::Trunc32(v))};
  };
  auto lui_addi_decode = [](const W& w, const U64&) {
    return D::ZExt64(LuiAddi::Decode(w[0], w[1]));
  };
  const char* lui_addi_where =
      rv64 ? "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY: lui + "
             "addi"
           : "WASM_CANONICAL_SIG_ID, WASM_CODE_POINTER_TABLE_ENTRY, "
             "EXTERNAL_REFERENCE, WASM_CALL and WASM_STUB_CALL (tail "
             "calls): lui + addi";
  f = add("lui-addi", lui_addi_where, pair_masks);
  f->shape = lui_addi_shape;
  f->reference = {[](const U64&, const U64& v) { return LuiAddi::InRange(v); },
                  lui_addi_encode, lui_addi_decode};
  f->fast = SeqTargetImpl<D>(u32);

  f = add("lui-addi.tag", "the same sites on disk: lui + addi load the tag",
          pair_masks);
  f->shape = lui_addi_shape;
  f->reference = {
      [](const U64&, const U64& tag) { return LuiAddi::InRange(tag); },
      lui_addi_encode, lui_addi_decode};
  f->fast = SeqTagImpl<D>(u32);

  // INTERNAL_REFERENCE: a datum of the address width.
  if (rv64) {
    auto encode = [](const W&, const U64&, const U64& v) {
      return SplitU64<D>(Datum64::Encode(v));
    };
    auto decode = [](const W& w, const U64&) {
      return Datum64::Decode(JoinU64<D>(w));
    };
    f = add("data64", "INTERNAL_REFERENCE: 8-byte absolute",
            {0xffffffff, 0xffffffff});
    f->reference = {
        [](const U64&, const U64& v) { return Datum64::InRange(v); }, encode,
        decode};
    f->fast = SeqTargetImpl<D>(data);
    f = add("data64.tag", "INTERNAL_REFERENCE on disk: 8-byte offset",
            {0xffffffff, 0xffffffff});
    f->reference = {
        [](const U64&, const U64& tag) { return Datum64::InRange(tag); },
        encode, decode};
    f->fast = SeqTagImpl<D>(data);
  } else {
    auto encode = [](const W&, const U64&, const U64& v) {
      return W{D::Trunc32(Datum32::Encode(v))};
    };
    auto decode = [](const W& w, const U64&) {
      return Datum32::Decode(D::ZExt64(w[0]));
    };
    f = add("data32",
            "INTERNAL_REFERENCE, and the target word of near slots: 4-byte "
            "absolute",
            {0xffffffff});
    f->reference = {
        [](const U64&, const U64& v) { return Datum32::InRange(v); }, encode,
        decode};
    f->fast = SeqTargetImpl<D>(data);
    f = add("data32.tag", "INTERNAL_REFERENCE on disk: 4-byte offset",
            {0xffffffff});
    f->reference = {
        [](const U64&, const U64& tag) { return Datum32::InRange(tag); },
        encode, decode};
    f->fast = SeqTagImpl<D>(data);
  }

  // jal zero, target: the lazy slot's jump (site = slot + 8).
  f = add("jal", "lazy-compile slots: jal zero (imm21)", {Bits::kJImmMask});
  f->shape = WordsMatch<D>({{~Bits::kJImmMask, Bits::kJal}});
  f->reference = {
      [rv64](const U64& site, const U64& v) {
        return rv64 ? Jal::InRange(site, v) : Jal::InRange32(site, v);
      },
      [](const W& w, const U64& site, const U64& v) {
        return W{Jal::Encode(w[0], site, v)};
      },
      [rv64](const W& w, const U64& site) {
        return rv64 ? Jal::Decode(w[0], site) : Jal::Decode32(w[0], site);
      }};
  f->fast = SeqTargetImpl<D>(rv64 ? fast::riscv::kJal21
                                  : fast::riscv::kJal21Rv32);

  if (rv64) {
    // auipc t6; jalr zero, lo12(t6): the near slot.
    constexpr uint32_t kT6 = 31;
    f = add("near-slot", "near jump-table slots: auipc t6 + jalr zero",
            pair_masks);
    f->shape = WordsMatch<D>(
        {{~Bits::kUpperImmMask, Bits::kAuipc | Bits::RdField(kT6)},
         {kNotI, Bits::kJalr | Bits::Rs1Field(kT6)}});
    f->reference = {
        [](const U64& slot, const U64& v) {
          return AuipcJalr::NearSlotInRange(slot, v);
        },
        [](const W& w, const U64& slot, const U64& v) {
          return W{AuipcJalr::EncodeAuipc(w[0], slot, v),
                   AuipcJalr::EncodeJalr(w[1], slot, v)};
        },
        [](const W& w, const U64& slot) {
          return AuipcJalr::Decode(w[0], w[1], slot);
        }};
    f->fast = SeqTargetImpl<D>(fast::riscv::kNearSlot64);
    // V8 writes a near slot only for targets with is_int32(target - slot)
    // and sends the others to the far slot, byte for byte as wasmcache
    // must; offsets in [-2^31 - 0x800, -2^31) would round-trip but are not
    // the near slot's to hold.
    f->value_domain = [](const U64& slot, const U64& v) {
      return FitsSigned<D>(D::Sub(v, slot), 32);
    };
    f->domain_note = "V8's near-slot choice: is_int32(target - slot)";
  }
  return forms;
}

}  // namespace wasmcache::proofs

#endif  // WASMCACHE_PROOFS_FORMS_RISCV_H_
