#include "fuzz/lib/reloc_oracle.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fast/arch.h"
#include "fuzz/lib/finding.h"
#include "proofs/forms.h"
#include "reference/jump_table.h"
#include "spec/word_domain.h"

namespace wasmcache::fuzz {
namespace {

using D = NativeDomain;
using Form = proofs::Form<D>;
using FormImpl = proofs::FormImpl<D>;
using Words = proofs::Words<D>;

// Known instances of the forms whose shape constrains the words, found in
// synthesized caches (synth::Synthesize with all_forms) and in the words
// the reference's jump-table slot writers emit; ppc64's addis + ld was
// assembled by hand (addis r12, r28, 1; ld r12, 8(r12)). A row serves
// every form of its target whose name, up to the first '.', is the row's
// family ("branch26" serves branch26 and branch26.tag). A form without a
// row must accept all-zero words (the data forms): the registry checks
// both when it is built, so a form added to proofs/forms/ without an
// instance stops the fuzzer at once.
struct InstanceRow {
  Arch arch;
  std::string_view family;
  std::array<uint32_t, proofs::kMaxWords> words;
};

constexpr InstanceRow kFormInstances[] = {
    {Arch::kArm64, "branch26", {0x94000005}},  // bl
    {Arch::kArm64, "branch26", {0x14000003}},  // b
    {Arch::kArm64, "ldr-x", {0x580010d0}},
    {Arch::kArm64, "ldr-x", {0x58000ff0}},
    {Arch::kArm64, "ldr-w", {0x18000ce5}},
    {Arch::kArm64, "ldr-w", {0x18000c65}},
    {Arch::kArm, "ldr", {0xe59f41ac}},  // ldr r4, [pc, #0x1ac]
    {Arch::kArm, "ldr", {0xe59ff158}},  // ldr pc, [pc, #0x158]
    {Arch::kArm, "ldr", {0x059fc19c}},  // ldreq ip, [pc, #0x19c]
    {Arch::kRiscv64, "auipc-jalr", {0x00000f97, 0x004f80e7}},
    {Arch::kRiscv64,
     "li-ptr",
     {0x00000fb7, 0x000f8f93, 0x00bf9f93, 0x008fef93, 0x006f9f93, 0x03afef93}},
    {Arch::kRiscv64, "lui-addi", {0x00000fb7, 0x000f8f93}},
    {Arch::kRiscv64, "lui-addi", {0x000002b7, 0x00528293}},
    {Arch::kRiscv64, "jal", {0x0080006f}},
    {Arch::kRiscv64, "near-slot", {0x00004f97, 0x000f8067}},
    {Arch::kRiscv32, "auipc-jalr", {0x00000f97, 0x004f80e7}},
    {Arch::kRiscv32, "lui-addi", {0x00000fb7, 0x23af8f93}},
    {Arch::kRiscv32, "lui-addi", {0x000002b7, 0x00528293}},
    {Arch::kRiscv32, "jal", {0x0080006f}},
    {Arch::kMips64,
     "li-address",
     {0x3c190000, 0x37390000, 0x0019cc38, 0x37390092}},
    {Arch::kMips64, "lui-ori", {0x3c190000, 0x37390000}},
    {Arch::kMips64, "lui-ori", {0x3c0c0000, 0x358c0002}},
    {Arch::kMips64, "j-jal", {0x08a00000}},  // j
    {Arch::kMips64, "j-jal", {0x0c000000}},  // jal
    {Arch::kPpc64,
     "mov",
     {0x3d600000, 0x616b0000, 0x796b07c6, 0x656b0000, 0x616b0180}},
    {Arch::kPpc64,
     "mov",
     {0x3d800000, 0x618c0000, 0x798c07c6, 0x658c0000, 0x618c0006}},
    {Arch::kPpc64, "b26", {0x487c0b20}},
    {Arch::kPpc64, "pool-ld", {0xe99c0010}},
    {Arch::kPpc64, "pool-addis-ld", {0x3d9c0001, 0xe98c0008}},
    {Arch::kS390x, "pair", {0xc0180000, 0x0000c019, 0x00000092}},  // r1
    {Arch::kS390x, "pair", {0xc0380000, 0x0000c039, 0x00000002}},  // r3
    {Arch::kS390x, "brcl", {0xc0f40000, 0x20001800}},
    {Arch::kLoong64, "li", {0x14000013, 0x03824a73, 0x16000013}},
    {Arch::kLoong64, "lu12i-ori", {0x14000013, 0x03824a73}},
    {Arch::kLoong64, "lu12i-ori", {0x1400000c, 0x0380098c}},
    {Arch::kLoong64, "b26", {0x527a821f}},
};

std::string_view FamilyOf(std::string_view form_name) {
  return form_name.substr(0, form_name.find('.'));
}

// A form with its instances and the "<arch>-<form>" part of its
// signatures.
struct FormEntry {
  Form form;
  std::string slug;
  std::vector<Words> instances;
};

struct Registry {
  std::array<std::vector<FormEntry>, kNumArchs> forms;
};

[[noreturn]] void RegistryBroken(const std::string& why) {
  std::fprintf(stderr, "reloc_oracle: %s\n", why.c_str());
  std::abort();
}

const Registry* BuildRegistry() {
  auto* registry = new Registry;
  std::vector<bool> row_used(std::size(kFormInstances), false);
  for (int a = 0; a < kNumArchs; ++a) {
    const Arch arch = static_cast<Arch>(a);
    for (Form& form : proofs::FormsOf<D>(arch)) {
      FormEntry entry;
      entry.slug = Slug(std::string(ArchName(arch)) + "-" + form.name);
      for (size_t r = 0; r < std::size(kFormInstances); ++r) {
        const InstanceRow& row = kFormInstances[r];
        if (row.arch != arch || row.family != FamilyOf(form.name)) continue;
        entry.instances.emplace_back(row.words.begin(),
                                     row.words.begin() + form.num_words);
        row_used[r] = true;
      }
      if (entry.instances.empty()) {
        entry.instances.emplace_back(form.num_words, 0);
      }
      for (const Words& words : entry.instances) {
        if (!form.shape(words)) {
          RegistryBroken(absl::StrFormat(
              "%s %s: {%s} is not an instance; add or fix its row in "
              "kFormInstances",
              ArchName(arch), form.name,
              absl::StrJoin(words, ", ", [](std::string* out, uint32_t w) {
                absl::StrAppendFormat(out, "0x%08x", w);
              })));
        }
      }
      if (static_cast<int>(form.field_masks.size()) != form.num_words ||
          form.num_words > proofs::kMaxWords) {
        RegistryBroken(absl::StrFormat("%s %s: bad word count", ArchName(arch),
                                       form.name));
      }
      entry.form = std::move(form);
      registry->forms[a].push_back(std::move(entry));
    }
  }
  for (size_t r = 0; r < std::size(kFormInstances); ++r) {
    if (!row_used[r]) {
      RegistryBroken(absl::StrFormat("kFormInstances: %s %s names no form",
                                     ArchName(kFormInstances[r].arch),
                                     kFormInstances[r].family));
    }
  }
  return registry;
}

const Registry& GetRegistry() {
  static const Registry* const registry = BuildRegistry();
  return *registry;
}

// Code spaces lie below 2^AddressBits (as in proofs/properties.h).
int AddressBits(Arch arch) { return TraitsOf(arch).word_size == 4 ? 32 : 47; }

int64_t Int8(uint64_t raw) { return static_cast<int8_t>(raw); }
int64_t Int16(uint64_t raw) { return static_cast<int16_t>(raw); }
int64_t Int32(uint64_t raw) { return static_cast<int32_t>(raw); }

// The carry points of split immediates: a low part read signed carries
// into the high part at 0x800 (riscv's lo12), 0x8000 (16-bit lows) and
// 2^31 (32-bit lows).
constexpr uint64_t kCarryPoints[] = {0, 0x800, 0x8000, uint64_t{1} << 31};

// +/-2^k +/- a carry point + int8, from the bits of `raw`: bits 0-5 k,
// bit 6 the sign of 2^k, bits 8-15 the int8, bits 16-17 the carry point,
// bit 18 its sign.
uint64_t Edge(uint64_t raw) {
  const uint64_t power = uint64_t{1} << (raw & 63);
  const uint64_t carry = kCarryPoints[(raw >> 16) & 3];
  return ((raw >> 6) & 1 ? 0 - power : power) +
         ((raw >> 18) & 1 ? 0 - carry : carry) +
         static_cast<uint64_t>(Int8(raw >> 8));
}

uint64_t SiteOf(int kind, uint64_t raw, int bits) {
  const uint64_t below = (uint64_t{1} << bits) - 1;
  switch (kind) {
    case 0:
      return raw;
    case 1:
      return raw & below;
    case 2:
      return raw & 0xffff;
    default:
      return below - (raw & 0xffff);
  }
}

// The site itself if the form can hold it, else the first of it aligned
// down to 2, 4 or 8 bytes, then truncated to 32 bits, that it can.
uint64_t FitSite(const Form& form, uint64_t site) {
  for (const uint64_t width_mask : {~uint64_t{0}, uint64_t{0xffffffff}}) {
    for (const uint64_t align : {1, 2, 4, 8}) {
      const uint64_t candidate = site & width_mask & ~(align - 1);
      if (form.site_ok(candidate)) return candidate;
    }
  }
  return site;
}

// `held` is a value the case already holds: the words' value, or for
// slots the far slot's address.
uint64_t ValueOf(int kind, uint64_t raw, uint64_t site, uint64_t held) {
  switch (kind) {
    case 0:
      return raw;
    case 1:
      return site + static_cast<uint64_t>(Int32(raw));
    case 2:
      return site + Edge(raw);
    case 3:
      return Edge(raw);
    case 4:
      return raw & 0xffffffff;
    case 5:
      return held + static_cast<uint64_t>(Int8(raw));
    case 6:
      return site + static_cast<uint64_t>(Int16(raw));
    default:
      return raw & ((uint64_t{1} << 48) - 1);
  }
}

uint64_t SecondValueOf(int kind, uint64_t raw, uint64_t value, uint64_t site) {
  switch (kind) {
    case 0:
      return value + static_cast<uint64_t>(Int8(raw));
    case 1:
      return value ^ (uint64_t{1} << (raw & 63));
    case 2:
      return raw;
    default:
      return site + static_cast<uint64_t>(Int32(raw));
  }
}

// Moves the pair (value, value2) onto a range boundary: if `accepts`
// judges them differently, bisects the values value + t * step between
// them (upwards, modulo 2^64, or 2^32 with a 32-bit `width`) to two
// neighbours it judges differently, and makes one of them the value and
// the other the second value. Range checks are intervals on the lattice of
// aligned values, so with the form's alignment as the step this lands on
// the last value in range and the first out of it, where off-by-one errors
// live; with a smaller step, on an alignment boundary. 65 calls at most.
template <class Accepts>
void MoveToBoundary(const Accepts& accepts, uint64_t width, int step_log2,
                    bool value_inside, uint64_t& value, uint64_t& value2) {
  const bool inside = accepts(value);
  if (inside == accepts(value2)) return;
  const uint64_t step = uint64_t{1} << step_log2;
  // `accepts` judges value + t * step as it judges the value at t = lo, not
  // at t = hi.
  uint64_t lo = 0, hi = ((value2 - value) & width) >> step_log2;
  if (hi == 0) return;
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (accepts((value + mid * step) & width) == inside) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const uint64_t same = (value + lo * step) & width;
  const uint64_t other = (value + hi * step) & width;
  const uint64_t accepted = inside ? same : other;
  const uint64_t rejected = inside ? other : same;
  value = value_inside ? accepted : rejected;
  value2 = value_inside ? rejected : accepted;
}

// The fixed-layout part of an input (see the header).
struct Header {
  int site_kind = 0, value_kind = 0, value2_kind = 0;
  bool raw_words = false;
  uint64_t site_raw = 0, value_raw = 0, value2_raw = 0;
  uint8_t choice = 0;  // instance or filler, and the boundary bits
  int flip_count = 0;
  uint8_t positions[3] = {0, 0, 0};

  bool boundary() const { return (choice & 0x80) != 0; }
  int step_log2() const { return (choice >> 4) & 3; }
  bool value_inside() const { return (choice & 0x40) != 0; }
};

Header ReadHeader(ByteSource& source) {
  Header h;
  const uint8_t kinds = source.U8();
  h.site_kind = kinds & 3;
  h.value_kind = (kinds >> 2) & 7;
  h.value2_kind = (kinds >> 5) & 3;
  h.raw_words = (kinds & 0x80) != 0;
  h.site_raw = source.U64();
  h.value_raw = source.U64();
  h.value2_raw = source.U64();
  h.choice = source.U8();
  h.flip_count = source.U8() % 4;
  for (uint8_t& p : h.positions) p = source.U8();
  return h;
}

void DrawForm(RelocCase& c, const FormEntry& e, const Header& h,
              ByteSource& source) {
  const Form& f = e.form;
  c.site = FitSite(f, SiteOf(h.site_kind, h.site_raw, AddressBits(c.arch)));
  Words words;
  if (h.raw_words) {
    for (int i = 0; i < f.num_words; ++i) words.push_back(source.U32());
  } else {
    words = e.instances[(h.choice & 15) % e.instances.size()];
  }
  c.value = ValueOf(h.value_kind, h.value_raw, c.site,
                    f.reference.decode(words, c.site));
  c.value2 = SecondValueOf(h.value2_kind, h.value2_raw, c.value, c.site);
  if (h.boundary() && !f.decode_only) {
    MoveToBoundary([&](uint64_t v) { return f.reference.accept(c.site, v); },
                   ~uint64_t{0}, h.step_log2(), h.value_inside(), c.value,
                   c.value2);
  }
  // An instance holds the second value before the case runs.
  if (!h.raw_words && !f.decode_only) {
    words = f.reference.encode(words, c.site, c.value2);
  }
  for (int i = 0; i < h.flip_count; ++i) {
    const uint32_t bit = h.positions[i] % (32u * f.num_words);
    words[bit / 32] ^= uint32_t{1} << (bit % 32);
  }
  c.words = std::move(words);
}

// Slot buffers: room for the largest slot (48 bytes) and the bytes after
// it, which no writer may touch.
constexpr size_t kSlotBuffer = 64;
using SlotBytes = std::array<uint8_t, kSlotBuffer>;

void DrawSlots(RelocCase& c, const Header& h, ByteSource& source) {
  const ArchTraits& t = TraitsOf(c.arch);
  const int bits = AddressBits(c.arch);
  const uint64_t width = bits == 32 ? 0xffffffff : ~uint64_t{0};
  const uint64_t max = t.max_code_space_size;
  // A 4 KiB-aligned code space below 2^bits, and slots inside it.
  const uint64_t base =
      (h.site_raw % ((uint64_t{1} << bits) - max)) & ~uint64_t{0xfff};
  const uint64_t lines = max / t.jump_table_line_size;
  const uint32_t near_index =
      static_cast<uint32_t>(source.U32() % (lines * SlotsPerLine(t)));
  const uint32_t far_index =
      static_cast<uint32_t>(source.U32() % (max / t.far_jump_table_slot_size));
  c.function_index = source.U32();
  c.site = base + JumpTableSlotOffset(t, near_index);
  c.far_slot = base + FarJumpTableSlotOffset(t, far_index);
  c.lazy_slot = base + uint64_t{near_index % (max / t.lazy_compile_slot_size)} *
                           t.lazy_compile_slot_size;
  c.value = ValueOf(h.value_kind, h.value_raw, c.site, c.far_slot) & width;
  c.value2 =
      SecondValueOf(h.value2_kind, h.value2_raw, c.value, c.site) & width;
  if (h.boundary()) {
    // The near slot's reach: where V8 switches to the far slot.
    MoveToBoundary(
        [&](uint64_t target) {
          SlotBytes scratch{};
          return reference::WriteNearJumpSlot(c.arch, scratch.data(), c.site,
                                              target);
        },
        width, h.step_log2(), h.value_inside(), c.value, c.value2);
  }
  c.filler = static_cast<uint8_t>((h.choice & 15) * 0x11);
  for (int i = 0; i < h.flip_count; ++i) c.flips.push_back(h.positions[i]);
}

// ---------------------------------------------------------------------------
// The oracle.

std::string Hex(uint64_t v) { return absl::StrFormat("0x%x", v); }

std::string WordsText(const Words& words) {
  return absl::StrCat("{",
                      absl::StrJoin(words, ", ",
                                    [](std::string* out, uint32_t w) {
                                      absl::StrAppendFormat(out, "0x%08x", w);
                                    }),
                      "}");
}

std::string Describe(const RelocCase& c, const FormEntry& e) {
  return absl::StrFormat(
      "target %s, form %s (%s)\nwords %s\nsite 0x%x, value 0x%x, second "
      "value 0x%x",
      ArchName(c.arch), e.form.name, e.form.where, WordsText(c.words), c.site,
      c.value, c.value2);
}

[[noreturn]] void FormFinding(const RelocCase& c, const FormEntry& e,
                              std::string_view what, std::string_view detail) {
  ReportFinding("reloc-" + e.slug + "-" + std::string(what),
                Describe(c, e) + "\n" + std::string(detail));
}

const char* Verdict(bool accepted) { return accepted ? "accepts" : "rejects"; }

// Round-trip, exact-range, frame and injectivity of one implementation.
void CheckImpl(const RelocCase& c, const FormEntry& e, const FormImpl& impl,
               const char* impl_name) {
  const Form& f = e.form;
  const Words& w = c.words;
  const bool accepted = impl.accept(c.site, c.value);
  const Words encoded = impl.encode(w, c.site, c.value);
  const uint64_t decoded = impl.decode(encoded, c.site);
  const std::string prefix = absl::StrCat(impl_name, "-");

  // Frame: only field bits change, and the words stay an instance.
  for (int i = 0; i < f.num_words; ++i) {
    const uint32_t keep = ~f.field_masks[i];
    if ((encoded[i] & keep) != (w[i] & keep)) {
      FormFinding(
          c, e, prefix + "frame",
          absl::StrFormat("%s encodes %s: word %d changes bits 0x%08x "
                          "outside the field mask 0x%08x",
                          impl_name, WordsText(encoded), i,
                          (encoded[i] ^ w[i]) & keep, f.field_masks[i]));
    }
  }
  if (!f.shape(encoded)) {
    FormFinding(c, e, prefix + "frame",
                absl::StrFormat("%s encodes %s, which is not an instance",
                                impl_name, WordsText(encoded)));
  }

  if (accepted && decoded != c.value) {
    FormFinding(c, e, prefix + "roundtrip",
                absl::StrFormat("%s accepts the value, encodes %s and decodes "
                                "0x%x",
                                impl_name, WordsText(encoded), decoded));
  }
  const bool in_domain = !f.value_domain || f.value_domain(c.site, c.value);
  if (in_domain && !accepted && decoded == c.value) {
    FormFinding(c, e, prefix + "exact-range",
                absl::StrFormat("%s rejects the value, yet encodes %s, which "
                                "decodes back to it",
                                impl_name, WordsText(encoded)));
  }

  // Injectivity, against the second value.
  if (accepted && c.value2 != c.value && impl.accept(c.site, c.value2)) {
    const Words encoded2 = impl.encode(w, c.site, c.value2);
    if (encoded2 == encoded) {
      FormFinding(c, e, prefix + "injective",
                  absl::StrFormat("%s accepts both values and encodes both "
                                  "as %s",
                                  impl_name, WordsText(encoded)));
    }
  }
}

void CheckForm(const RelocCase& c, const FormEntry& e) {
  const Form& f = e.form;
  const Words& w = c.words;
  const bool shape = f.shape(w);
  if (f.fast_shape && f.fast_shape(w) != shape) {
    FormFinding(c, e, "reference-fast-shape-difference",
                absl::StrFormat("the reference's shape %s the words, fast's %s "
                                "them",
                                Verdict(shape), Verdict(!shape)));
  }
  if (!shape || !f.site_ok(c.site)) return;

  const uint64_t decoded_r = f.reference.decode(w, c.site);
  const uint64_t decoded_f = f.fast.decode(w, c.site);
  if (decoded_r != decoded_f) {
    FormFinding(c, e, "reference-fast-decode-difference",
                absl::StrFormat("reference decodes 0x%x, fast 0x%x", decoded_r,
                                decoded_f));
  }
  if (f.decode_only) return;

  const bool accepted_r = f.reference.accept(c.site, c.value);
  const bool accepted_f = f.fast.accept(c.site, c.value);
  if (accepted_r != accepted_f) {
    FormFinding(c, e, "reference-fast-accept-difference",
                absl::StrFormat("reference %s the value, fast %s it",
                                Verdict(accepted_r), Verdict(accepted_f)));
  }
  const Words encoded_r = f.reference.encode(w, c.site, c.value);
  const Words encoded_f = f.fast.encode(w, c.site, c.value);
  if (encoded_r != encoded_f) {
    FormFinding(c, e, "reference-fast-encode-difference",
                absl::StrFormat("reference encodes %s, fast %s (value %s)",
                                WordsText(encoded_r), WordsText(encoded_f),
                                Verdict(accepted_r)));
  }
  CheckImpl(c, e, f.reference, "reference");
  CheckImpl(c, e, f.fast, "fast");
}

std::string BytesText(const SlotBytes& bytes, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) absl::StrAppendFormat(&out, "%02x", bytes[i]);
  return out;
}

[[noreturn]] void SlotFinding(const RelocCase& c, std::string_view slot,
                              std::string_view what, std::string_view detail) {
  ReportFinding(
      "reloc-" + Slug(ArchName(c.arch)) + "-" + std::string(slot) + "-slot-" +
          std::string(what),
      absl::StrFormat("target %s, %s slot, near slot at 0x%x, far slot at "
                      "0x%x, lazy slot at 0x%x (function %u), jump target "
                      "0x%x, filler 0x%02x\n%s",
                      ArchName(c.arch), slot, c.site, c.far_slot, c.lazy_slot,
                      c.function_index, c.value, c.filler, detail));
}

// Bytes [from, kSlotBuffer) of a written slot still hold the filler.
void CheckUntouchedAfter(const RelocCase& c, std::string_view slot,
                         const SlotBytes& bytes, size_t from,
                         std::string_view why) {
  for (size_t i = from; i < kSlotBuffer; ++i) {
    if (bytes[i] != c.filler) {
      SlotFinding(c, slot, why,
                  absl::StrFormat("byte %d changed: %s", i,
                                  BytesText(bytes, kSlotBuffer)));
    }
  }
}

// A near or far slot read by both implementations.
struct SlotRead {
  bool ok_r = false, ok_f = false;
  uint64_t target_r = 0, target_f = 0;
};

SlotRead ReadSlot(const RelocCase& c, bool near, const uint8_t* bytes,
                  uint64_t at) {
  const fast::ArchOps& ops = fast::OpsOf(c.arch);
  SlotRead r;
  const absl::StatusOr<uint64_t> read_r =
      near ? reference::ReadNearJumpSlotTarget(c.arch, bytes, at)
           : reference::ReadFarJumpSlotTarget(c.arch, bytes, at);
  r.ok_r = read_r.ok();
  if (r.ok_r) r.target_r = *read_r;
  r.ok_f = near ? ops.read_near_slot(bytes, at, &r.target_f)
                : ops.read_far_slot(bytes, at, &r.target_f);
  if (!r.ok_f) r.target_f = 0;
  return r;
}

std::string ReadText(const SlotRead& r) {
  return absl::StrFormat("reference %s, fast %s",
                         r.ok_r ? Hex(r.target_r) : "refuses",
                         r.ok_f ? Hex(r.target_f) : "refuses");
}

// Reads a written slot (it must give the target in both implementations),
// then the slot with the case's bits flipped (both must agree).
void CheckSlotReads(const RelocCase& c, bool near, const SlotBytes& written,
                    size_t slot_size) {
  const char* slot = near ? "near" : "far";
  const uint64_t at = near ? c.site : c.far_slot;
  const SlotRead r = ReadSlot(c, near, written.data(), at);
  const std::string bytes_text = BytesText(written, slot_size);
  if (r.ok_r != r.ok_f || r.target_r != r.target_f) {
    SlotFinding(c, slot, "reference-fast-read-difference",
                absl::StrCat("slot ", bytes_text, ": ", ReadText(r)));
  }
  if (!r.ok_r || r.target_r != c.value) {
    SlotFinding(c, slot, "roundtrip",
                absl::StrCat("slot ", bytes_text, ": ", ReadText(r)));
  }
  if (c.flips.empty()) return;
  SlotBytes mutated = written;
  for (const uint32_t bit : c.flips) {
    mutated[(bit / 8) % kSlotBuffer] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
  const SlotRead m = ReadSlot(c, near, mutated.data(), at);
  if (m.ok_r != m.ok_f || m.target_r != m.target_f) {
    SlotFinding(c, slot, "reference-fast-mutated-read-difference",
                absl::StrCat("slot ", BytesText(mutated, slot_size),
                             " (bit-flipped): ", ReadText(m)));
  }
}

// The two implementations' writes of one slot: the same verdict (far
// writes always succeed) and the same bytes; nothing written past the slot,
// and nothing at all when the write is refused.
void CheckSameWrite(const RelocCase& c, std::string_view slot, bool ok_r,
                    bool ok_f, const SlotBytes& bytes_r,
                    const SlotBytes& bytes_f, size_t slot_size) {
  if (ok_r != ok_f) {
    SlotFinding(c, slot, "reference-fast-write-difference",
                absl::StrFormat("reference %s the target, fast %s it",
                                ok_r ? "writes" : "refuses",
                                ok_f ? "writes" : "refuses"));
  }
  if (bytes_r != bytes_f) {
    SlotFinding(c, slot, "reference-fast-bytes-difference",
                absl::StrFormat("reference %s, fast %s",
                                BytesText(bytes_r, kSlotBuffer),
                                BytesText(bytes_f, kSlotBuffer)));
  }
  CheckUntouchedAfter(c, slot, bytes_r, ok_r ? slot_size : 0,
                      ok_r ? "outside-slot" : "refused-write");
}

void CheckSlots(const RelocCase& c) {
  if (!reference::JumpTablesSupported(c.arch)) return;
  const ArchTraits& t = TraitsOf(c.arch);
  const fast::ArchOps& ops = fast::OpsOf(c.arch);
  SlotBytes filled;
  filled.fill(c.filler);

  // Near slots: written alike, and read back as the target.
  SlotBytes near_r = filled, near_f = filled;
  const bool ok_r =
      reference::WriteNearJumpSlot(c.arch, near_r.data(), c.site, c.value);
  const bool ok_f = ops.write_near_slot(near_f.data(), c.site, c.value);
  CheckSameWrite(c, "near", ok_r, ok_f, near_r, near_f, t.jump_table_slot_size);
  if (ok_r) CheckSlotReads(c, /*near=*/true, near_r, t.jump_table_slot_size);

  // Far slots: any target, written alike, read back.
  SlotBytes far_r = filled, far_f = filled;
  reference::WriteFarJumpSlot(c.arch, far_r.data(), c.far_slot, c.value);
  ops.write_far_slot(far_f.data(), c.far_slot, c.value);
  CheckSameWrite(c, "far", true, true, far_r, far_f,
                 t.far_jump_table_slot_size);
  CheckSlotReads(c, /*near=*/false, far_r, t.far_jump_table_slot_size);

  // Lazy-compile slots (no reader): written alike.
  SlotBytes lazy_r = filled, lazy_f = filled;
  const bool lazy_ok_r = reference::WriteLazyCompileSlot(
      c.arch, lazy_r.data(), c.lazy_slot, c.function_index, c.value);
  const bool lazy_ok_f = ops.write_lazy_slot(lazy_f.data(), c.lazy_slot,
                                             c.function_index, c.value);
  CheckSameWrite(c, "lazy", lazy_ok_r, lazy_ok_f, lazy_r, lazy_f,
                 t.lazy_compile_slot_size);
}

}  // namespace

RelocCase DrawRelocCase(ByteSource& source) {
  RelocCase c;
  c.arch = static_cast<Arch>(source.U8() % kNumArchs);
  const std::vector<FormEntry>& forms =
      GetRegistry().forms[static_cast<int>(c.arch)];
  c.form = source.U8() % (forms.size() + 1);
  c.slots = c.form == forms.size();
  const Header h = ReadHeader(source);
  if (c.slots) {
    DrawSlots(c, h, source);
  } else {
    DrawForm(c, forms[c.form], h, source);
  }
  return c;
}

void CheckRelocCase(const RelocCase& c) {
  if (c.slots) {
    CheckSlots(c);
    return;
  }
  CheckForm(c, GetRegistry().forms[static_cast<int>(c.arch)][c.form]);
}

void RunRelocInput(absl::Span<const uint8_t> input) {
  ByteSource source(input);
  CheckRelocCase(DrawRelocCase(source));
}

}  // namespace wasmcache::fuzz
