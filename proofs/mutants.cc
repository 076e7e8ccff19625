#include "proofs/mutants.h"

#include <cstdlib>
#include <memory>

#include "proofs/forms.h"

namespace wasmcache::proofs {
namespace {

// A form property checked on a form changed by M::Apply<D>.
template <class M>
std::pair<ObligationSpec, ObligationSpec> FormMutant(Arch arch,
                                                     const char* form,
                                                     Property p, Impl impl) {
  auto make = [&](bool mutate) {
    auto z3_form = std::make_shared<Form<Z3Domain>>();
    auto native_form = std::make_shared<Form<NativeDomain>>();
    const auto z3_forms = FormsOf<Z3Domain>(arch);
    const auto native_forms = FormsOf<NativeDomain>(arch);
    const Form<Z3Domain>* zf = FindForm(z3_forms, form);
    const Form<NativeDomain>* nf = FindForm(native_forms, form);
    if (zf == nullptr || nf == nullptr) std::abort();  // a registry error
    *z3_form = *zf;
    *native_form = *nf;
    if (mutate) {
      M::Apply(*z3_form);
      M::Apply(*native_form);
    }
    return ObligationSpec{
        std::string(ArchName(arch)), form, PropertyName(p), ImplName(impl), "",
        [z3_form, p, impl](const Vars<Z3Domain>& x) {
          return FormObligation(*z3_form, p, impl, x);
        },
        [native_form, p, impl](const Vars<NativeDomain>& x) {
          return FormObligation(*native_form, p, impl, x);
        }};
  };
  return {make(true), make(false)};
}

// x64 rel32 decoded with a zero- instead of a sign-extended displacement.
struct X64Rel32NoSignExtension {
  template <class D>
  static void Apply(Form<D>& f) {
    f.reference.decode = [](const Words<D>& w, const typename D::U64& site) {
      return D::Add(D::Add(site, D::C64(4)), D::ZExt64(w[0]));
    };
  }
};

// x64 fast rel32 range check that also admits a displacement of +2^31.
struct X64FastRel32AdmitsPlus2G {
  template <class D>
  static void Apply(Form<D>& f) {
    auto real = f.fast.accept;
    f.fast.accept = [real](const typename D::U64& site,
                           const typename D::U64& target) {
      const typename D::U64 delta = D::Sub(target, D::Add(site, D::C64(4)));
      return D::BoolOr(real(site, target),
                       D::Eq(delta, D::C64(uint64_t{1} << 31)));
    };
  }
};

// x64 imm32 range check one bit too wide: 33-bit ids collide with 32-bit
// ones.
struct X64Imm32CheckOneBitTooWide {
  template <class D>
  static void Apply(Form<D>& f) {
    f.reference.accept = [](const typename D::U64&,
                            const typename D::U64& v) {
      return FitsUnsigned<D>(v, 33);
    };
  }
};

// arm64 b/bl range check that admits +128 MiB (imm26 cannot hold it: it
// reads back as -128 MiB).
struct Arm64BranchAdmitsPlus128MiB {
  template <class D>
  static void Apply(Form<D>& f) {
    auto real = f.reference.accept;
    f.reference.accept = [real](const typename D::U64& site,
                                const typename D::U64& target) {
      const typename D::U64 delta = D::Sub(target, site);
      return D::BoolOr(real(site, target),
                       D::Eq(delta, D::C64(uint64_t{128} << 20)));
    };
  }
};

// arm64 b/bl encoder that scales the offset by 2 instead of 4.
struct Arm64BranchOffByOneShift {
  template <class D>
  static void Apply(Form<D>& f) {
    f.reference.encode = [](const Words<D>& w, const typename D::U64& site,
                            const typename D::U64& target) {
      const typename D::U64 delta = D::Sub(target, site);
      return Words<D>{
          InsertField<D>(w[0], 0x03ffffff, D::Trunc32(D::AShr(delta, 1)))};
    };
  }
};

// arm64 b/bl encoder whose field mask is one bit too wide (bit 26 belongs
// to the opcode).
struct Arm64BranchMaskTooWide {
  template <class D>
  static void Apply(Form<D>& f) {
    f.reference.encode = [](const Words<D>& w, const typename D::U64& site,
                            const typename D::U64& target) {
      const typename D::U64 delta = D::Sub(target, site);
      return Words<D>{
          InsertField<D>(w[0], 0x07ffffff, D::Trunc32(D::AShr(delta, 2)))};
    };
  }
};

// riscv auipc/jalr split that takes hi20 without the +0x800 rounding: a
// lo12 with bit 11 set then subtracts instead of adding.
struct RiscvSplitWithoutRounding {
  template <class D>
  static void Apply(Form<D>& f) {
    auto real = f.reference.encode;
    f.reference.encode = [real](const Words<D>& w, const typename D::U64& site,
                                const typename D::U64& target) {
      Words<D> out = real(w, site, target);
      const typename D::U32 off = D::Trunc32(D::Sub(target, site));
      out[0] = InsertField<D>(w[0], 0xfffff000, off);
      return out;
    };
  }
};

// riscv auipc/jalr range check without the +0x800: offsets in
// [2^31 - 0x800, 2^31) pass but hi20 wraps to a negative value.
struct RiscvRangeWithoutRounding {
  template <class D>
  static void Apply(Form<D>& f) {
    f.reference.accept = [](const typename D::U64& site,
                            const typename D::U64& target) {
      return FitsSigned<D>(D::Sub(target, site), 32);
    };
  }
};

// The near-slot map of a lined table that forgets the line padding: an
// offset in the padding reads as the first slot of the next line.
template <class D>
Obligation<D> PaddingBlindSlotMap(SlotGeometry g, uint64_t max_space,
                                  const Vars<D>& x) {
  using M = SlotMap<D>;
  const typename D::U64 in_line = D::URem(x.offset, g.line);
  const typename D::Bool is_slot =
      D::BoolAnd(D::Eq(D::URem(in_line, g.slot), D::C64(0)),
                 D::Ult(M::Index(g, x.offset), x.count));
  const typename D::U64 i = M::Index(g, x.offset);
  const typename D::Bool bounds =
      D::BoolAnd(D::Ult(x.count, D::C64(max_space / g.slot + 1)),
                 D::Ult(x.offset, D::C64(max_space)));
  return {D::BoolAnd(bounds, is_slot),
          D::BoolAnd(D::Eq(M::Offset(g, i), x.offset), D::Ult(i, x.count))};
}

Mutant Make(const char* name, const char* description,
            std::pair<ObligationSpec, ObligationSpec> specs) {
  return {name, description, std::move(specs.first), std::move(specs.second)};
}

}  // namespace

std::vector<Mutant> AllMutants() {
  std::vector<Mutant> out;
  out.push_back(Make(
      "x64-rel32-no-sign-extension",
      "x64 call disp32 decoded zero-extended: backward calls land 4 GiB "
      "ahead",
      FormMutant<X64Rel32NoSignExtension>(Arch::kX64, "rel32",
                                          Property::kRoundTrip,
                                          Impl::kReference)));
  out.push_back(Make(
      "x64-fast-rel32-admits-plus-2gib",
      "fast x64 rel32 range check admitting a +2 GiB displacement the "
      "reference rejects",
      FormMutant<X64FastRel32AdmitsPlus2G>(Arch::kX64, "rel32",
                                           Property::kFastEqualsReference,
                                           Impl::kReference)));
  out.push_back(Make(
      "x64-imm32-check-one-bit-too-wide",
      "x64 imm32 range check admitting 33-bit ids, which the 4-byte field "
      "truncates onto 32-bit ones",
      FormMutant<X64Imm32CheckOneBitTooWide>(Arch::kX64, "imm32",
                                             Property::kInjective,
                                             Impl::kReference)));
  out.push_back(Make(
      "arm64-branch-admits-plus-128mib",
      "arm64 b/bl range check admitting +128 MiB, which imm26 reads back as "
      "-128 MiB",
      FormMutant<Arm64BranchAdmitsPlus128MiB>(Arch::kArm64, "branch26",
                                              Property::kRoundTrip,
                                              Impl::kReference)));
  out.push_back(Make(
      "arm64-branch-off-by-one-shift",
      "arm64 b/bl offset shifted right by 1 instead of 2",
      FormMutant<Arm64BranchOffByOneShift>(Arch::kArm64, "branch26",
                                           Property::kRoundTrip,
                                           Impl::kReference)));
  out.push_back(Make(
      "arm64-branch-mask-one-bit-too-wide",
      "arm64 b/bl field mask 0x07ffffff: a backward branch overwrites "
      "opcode bit 26",
      FormMutant<Arm64BranchMaskTooWide>(Arch::kArm64, "branch26",
                                         Property::kFrame,
                                         Impl::kReference)));
  out.push_back(Make(
      "riscv64-auipc-jalr-split-without-rounding",
      "riscv auipc/jalr hi20 taken without +0x800: offsets whose bit 11 is "
      "set land 4 KiB early",
      FormMutant<RiscvSplitWithoutRounding>(Arch::kRiscv64, "auipc-jalr",
                                            Property::kRoundTrip,
                                            Impl::kReference)));
  out.push_back(Make(
      "riscv64-auipc-jalr-range-without-rounding",
      "riscv auipc/jalr range check is_int32(offset) without +0x800: "
      "offsets near +2^31 wrap",
      FormMutant<RiscvRangeWithoutRounding>(Arch::kRiscv64, "auipc-jalr",
                                            Property::kRoundTrip,
                                            Impl::kReference)));
  {
    const SlotGeometry g = NearSlots(TraitsOf(Arch::kIa32));
    const uint64_t max = TraitsOf(Arch::kIa32).max_code_space_size;
    ObligationSpec mutant{
        "ia32", "near slots: offset->index->offset",
        PropertyName(Property::kSlotMapInverse), "spec", "",
        [g](const Vars<Z3Domain>& x) {
          return PaddingBlindSlotMap(g, max, x);
        },
        [g](const Vars<NativeDomain>& x) {
          return PaddingBlindSlotMap(g, max, x);
        }};
    ObligationSpec real{
        "ia32", "near slots: offset->index->offset",
        PropertyName(Property::kSlotMapInverse), "spec", "",
        [g](const Vars<Z3Domain>& x) { return SlotMapObligation(g, max, 1, x); },
        [g](const Vars<NativeDomain>& x) {
          return SlotMapObligation(g, max, 1, x);
        }};
    out.push_back({"ia32-near-slot-map-ignores-padding",
                   "ia32 near-slot address -> index that does not reject "
                   "the 4 padding bytes of a 64-byte line",
                   std::move(mutant), std::move(real)});
  }
  return out;
}

bool HoldsNatively(const ObligationSpec& spec, const Counterexample& values) {
  const Obligation<NativeDomain> ob = spec.native(values.ToVars());
  return !ob.premise || ob.conclusion;
}

std::vector<MutantResult> CheckMutants(const std::vector<Mutant>& mutants,
                                       const ProveOptions& options) {
  std::vector<ObligationSpec> specs;
  for (const Mutant& m : mutants) specs.push_back(m.mutant);
  ProveOptions no_export = options;
  no_export.smt2_dir.clear();
  const std::vector<Result> results = CheckAll(specs, no_export);
  std::vector<MutantResult> out;
  for (size_t i = 0; i < mutants.size(); ++i) {
    MutantResult r{mutants[i].name, mutants[i].description, results[i]};
    r.real_holds = results[i].status == Status::kRefuted &&
                   HoldsNatively(mutants[i].real, results[i].counterexample);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace wasmcache::proofs
