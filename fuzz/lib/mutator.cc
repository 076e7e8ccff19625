#include "fuzz/lib/mutator.h"

#include <algorithm>
#include <cstring>
#include <array>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "fuzz/lib/cache_model.h"
#include "fuzz/lib/container.h"
#include "reference/arch_codec.h"
#include "reference/reloc_stream.h"
#include "spec/environment.h"
#include "spec/reloc_mode.h"

namespace wasmcache::fuzz {
namespace {

// splitmix64: small, fast, the same on every host.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); 0 for n == 0.
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  template <class T>
  const T& Pick(absl::Span<const T> items) {
    return items[Below(items.size())];
  }

 private:
  uint64_t state_;
};

// A 32-bit value near `current` or at a boundary.
uint32_t Interesting32(Rng& rng, uint32_t current,
                       absl::Span<const uint32_t> context) {
  switch (rng.Below(8)) {
    case 0: {
      static constexpr uint32_t kValues[] = {
          0,          1,          2,          3,          4,
          7,          8,          16,         31,         32,
          63,         64,         127,        128,        255,
          256,        0x7fff,     0x8000,     0xffff,     0x10000,
          0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00100000};
      return rng.Pick(absl::MakeConstSpan(kValues));
    }
    case 1:
      return current + 1;
    case 2:
      return current - 1;
    case 3:
      return current + static_cast<uint32_t>(rng.Below(16)) - 8;
    case 4:
      return current ^ (1u << rng.Below(32));
    case 5:
      return context.empty() ? current * 2 : rng.Pick(context);
    case 6:
      return context.empty() ? ~current : rng.Pick(context) + 1;
    default:
      return static_cast<uint32_t>(rng.Next());
  }
}

uint64_t InterestingWord(Rng& rng, uint64_t current, uint32_t word_size) {
  uint64_t v;
  switch (rng.Below(4)) {
    case 0:
      v = current + rng.Below(3) - 1;
      break;
    case 1:
      v = current ^ (uint64_t{1} << rng.Below(word_size * 8));
      break;
    case 2:
      v = (uint64_t{1} << rng.Below(word_size * 8)) - rng.Below(2);
      break;
    default:
      v = rng.Next();
  }
  return word_size == 4 ? v & 0xffffffffu : v;
}

std::array<int32_t*, 16> CodeHeaderInts(CodeHeader& h) {
  return {&h.constant_pool_offset,
          &h.safepoint_table_offset,
          &h.handler_table_offset,
          &h.code_comments_offset,
          &h.unpadded_binary_size,
          &h.stack_slots,
          &h.ool_spills,
          reinterpret_cast<int32_t*>(&h.tagged_parameter_slots),
          &h.instructions_size,
          &h.reloc_info_size,
          &h.source_positions_size,
          &h.inlining_positions_size,
          &h.deopt_data_size,
          &h.protected_instructions_size,
          reinterpret_cast<int32_t*>(&h.kind),
          nullptr};  // tier, a byte
}

constexpr std::array<const char*, 16> kCodeHeaderNames = {
    "constant_pool_offset",    "safepoint_table_offset",
    "handler_table_offset",    "code_comments_offset",
    "unpadded_binary_size",    "stack_slots",
    "ool_spills",              "tagged_parameter_slots",
    "instructions_size",       "reloc_info_size",
    "source_positions_size",   "inlining_positions_size",
    "deopt_data_size",         "protected_instructions_size",
    "kind",                    "tier"};

class CacheMutator {
 public:
  CacheMutator(CacheModel& model, const ModuleInfo& module, Rng& rng)
      : m_(model), module_(module), rng_(rng) {}

  // One mutation; returns its description. Sets *keep_lengths when the
  // mutation aimed at a length that FixLengths would undo.
  std::string MutateOnce(bool* keep_lengths) {
    const uint64_t roll = rng_.Below(100);
    if (roll < 4) return HeaderWord();
    if (roll < 11) return ModuleHeaderField(keep_lengths);
    if (roll < 16) return RecordTag();
    if (roll < 30) return CodeHeaderField(keep_lengths);
    if (roll < 48) return RelocEntry();
    if (roll < 60) return SiteTag();
    if (roll < 76) return CodeBytes();
    if (roll < 84) return Metadata();
    if (roll < 88) return TieringBudgets();
    return Structure();
  }

 private:
  // Indices of TurboFan records.
  std::vector<size_t> TurboFanRecords() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < m_.records.size(); ++i) {
      if (m_.records[i].turbofan()) out.push_back(i);
    }
    return out;
  }
  RecordModel* PickTurboFan(size_t* index) {
    const std::vector<size_t> tf = TurboFanRecords();
    if (tf.empty()) return nullptr;
    *index = rng_.Pick(absl::MakeConstSpan(tf));
    return &m_.records[*index];
  }
  std::vector<uint32_t> Context() const {
    std::vector<uint32_t> c = {module_.num_imported_functions,
                               module_.num_declared_functions,
                               module_.num_functions(), module_.num_types()};
    return c;
  }

  std::string HeaderWord() {
    std::array<uint32_t*, kNumHeaderWords> words = {
        &m_.header.magic, &m_.header.version_hash, &m_.header.cpu_features,
        &m_.header.flag_hash, &m_.header.enabled_features};
    const size_t w = rng_.Below(kNumHeaderWords);
    *words[w] = Interesting32(rng_, *words[w], {});
    return absl::StrFormat("header-word %s=0x%08x", kHeaderWordNames[w],
                           *words[w]);
  }

  std::string ModuleHeaderField(bool* keep_lengths) {
    ModuleHeader& h = m_.module_header;
    const uint32_t word_size = TraitsOf(m_.arch).word_size;
    switch (rng_.Below(6)) {
      case 0:
        h.detected_features = Interesting32(rng_, h.detected_features, {});
        return "module-header detected_features";
      case 1:
        h.total_code_size = InterestingWord(rng_, h.total_code_size, word_size);
        *keep_lengths = true;
        return "module-header total_code_size";
      case 2:
        h.all_functions_validated =
            static_cast<uint8_t>(rng_.OneIn(2) ? rng_.Next() : 1 - (h.all_functions_validated & 1));
        return "module-header all_functions_validated";
      case 3:
        h.compile_time_imports = Interesting32(rng_, h.compile_time_imports, {});
        return "module-header compile_time_imports";
      case 4:
        if (rng_.OneIn(2)) {
          h.constants_module.push_back(static_cast<char>(rng_.Next()));
        } else if (!h.constants_module.empty()) {
          h.constants_module[rng_.Below(h.constants_module.size())] ^=
              static_cast<char>(1 + rng_.Below(255));
        } else {
          h.constants_module = "'";
        }
        return "module-header constants_module";
      default:
        if (h.well_known_imports.empty()) return "module-header (no imports)";
        h.well_known_imports[rng_.Below(h.well_known_imports.size())] =
            static_cast<uint8_t>(rng_.OneIn(2) ? rng_.Below(64) : rng_.Next());
        return "module-header well_known_imports";
    }
  }

  std::string RecordTag() {
    if (m_.records.empty()) return "record-tag (no records)";
    const size_t i = rng_.Below(m_.records.size());
    RecordModel& r = m_.records[i];
    const std::vector<size_t> tf = TurboFanRecords();
    uint8_t tag;
    switch (rng_.Below(4)) {
      case 0: tag = 2; break;
      case 1: tag = 3; break;
      case 2: tag = 4; break;
      default: tag = static_cast<uint8_t>(rng_.Next());
    }
    if (tag == 4 && !r.turbofan() && !tf.empty()) {
      r = m_.records[rng_.Pick(absl::MakeConstSpan(tf))];
    } else {
      if (tag != 4) r.parts = {};
      r.tag = tag;
    }
    return absl::StrFormat("record-tag %d (function %d)", tag, i);
  }

  std::string CodeHeaderField(bool* keep_lengths) {
    size_t i;
    RecordModel* r = PickTurboFan(&i);
    if (r == nullptr) return "code-header (no TurboFan records)";
    const size_t f = rng_.Below(16);
    const uint32_t size = static_cast<uint32_t>(r->parts[0].size());
    const std::vector<uint32_t> context = {
        size,
        static_cast<uint32_t>(r->header.safepoint_table_offset),
        static_cast<uint32_t>(r->header.handler_table_offset),
        static_cast<uint32_t>(r->header.constant_pool_offset),
        static_cast<uint32_t>(r->header.code_comments_offset),
        static_cast<uint32_t>(r->header.unpadded_binary_size)};
    if (f == 15) {
      r->header.tier = static_cast<uint8_t>(rng_.OneIn(2) ? rng_.Below(4) : rng_.Next());
      return absl::StrFormat("code-header tier=%d (function %d)", r->header.tier, i);
    }
    int32_t* field = CodeHeaderInts(r->header)[f];
    *field = static_cast<int32_t>(
        Interesting32(rng_, static_cast<uint32_t>(*field), context));
    if (f >= 8 && f <= 13) *keep_lengths = true;
    return absl::StrFormat("code-header %s=%d (function %d)",
                           kCodeHeaderNames[f], *field, i);
  }

  std::optional<std::vector<reference::RelocEntry>> Relocs(const RecordModel& r) {
    auto entries = reference::DecodeRelocStream(
        r.parts[1], static_cast<uint32_t>(r.parts[0].size()), 0);
    if (!entries.ok()) return std::nullopt;
    return std::move(*entries);
  }

  std::string RelocEntry() {
    size_t i;
    RecordModel* r = PickTurboFan(&i);
    if (r == nullptr) return "reloc-entry (no TurboFan records)";
    auto entries = Relocs(*r);
    std::vector<uint8_t>& stream = r->part(CodePart::kRelocInfo);
    if (!entries.has_value()) {
      if (!stream.empty()) stream[rng_.Below(stream.size())] ^= 1 << rng_.Below(8);
      return absl::StrFormat("reloc-entry stream byte (function %d)", i);
    }
    const uint32_t size = static_cast<uint32_t>(r->parts[0].size());
    std::string what;
    if (entries->empty() || rng_.OneIn(8)) {
      reference::RelocEntry e;
      e.mode = static_cast<RelocMode>(rng_.Below(kNumberOfRelocModes));
      e.pc = static_cast<uint32_t>(rng_.Below(size + 1));
      e.data = static_cast<uint32_t>(rng_.Below(3) == 0 ? rng_.Next() : rng_.Below(64));
      entries->push_back(e);
      what = absl::StrFormat("added %s at pc 0x%x", RelocModeName(e.mode), e.pc);
    } else {
      const size_t k = rng_.Below(entries->size());
      reference::RelocEntry& e = (*entries)[k];
      switch (rng_.Below(6)) {
        case 0:
          e.mode = static_cast<RelocMode>(rng_.Below(kNumberOfRelocModes));
          what = absl::StrFormat("entry %d mode %s", k, RelocModeName(e.mode));
          break;
        case 1:
          e.pc = static_cast<uint32_t>(e.pc + rng_.Below(17) - 8);
          what = absl::StrFormat("entry %d pc 0x%x", k, e.pc);
          break;
        case 2:
          e.pc = rng_.OneIn(2) ? (*entries)[rng_.Below(entries->size())].pc
                               : static_cast<uint32_t>(rng_.Below(size + 4));
          what = absl::StrFormat("entry %d pc 0x%x", k, e.pc);
          break;
        case 3:
          e.data = Interesting32(rng_, e.data, {});
          what = absl::StrFormat("entry %d data 0x%x", k, e.data);
          break;
        case 4:
          entries->erase(entries->begin() + static_cast<ptrdiff_t>(k));
          what = absl::StrFormat("entry %d removed", k);
          break;
        default: {
          reference::RelocEntry copy = e;
          copy.pc += static_cast<uint32_t>(rng_.Below(3) * 4);
          entries->push_back(copy);
          what = absl::StrFormat("entry %d duplicated", k);
        }
      }
    }
    std::stable_sort(entries->begin(), entries->end(),
                     [](const auto& a, const auto& b) { return a.pc < b.pc; });
    stream = reference::EncodeRelocStream(*entries);
    return absl::StrFormat("reloc-entry %s (function %d)", what, i);
  }

  std::string SiteTag() {
    size_t i;
    RecordModel* r = PickTurboFan(&i);
    if (r == nullptr) return "site-tag (no TurboFan records)";
    auto entries = Relocs(*r);
    const reference::ArchCodec& codec = reference::CodecOf(m_.arch);
    std::vector<reference::RelocEntry> patched;
    if (entries.has_value()) {
      for (const auto& e : *entries) {
        if (IsSerializerPatched(e.mode)) patched.push_back(e);
      }
    }
    if (patched.empty() || !codec.sites_implemented()) return CodeBytes();
    const reference::RelocEntry& e = rng_.Pick(absl::MakeConstSpan(patched));
    std::vector<uint8_t>& code = r->part(CodePart::kInstructions);
    absl::StatusOr<reference::Site> site =
        codec.locate_site_with_pool != nullptr
            ? codec.locate_site_with_pool(
                  code, e, 0,
                  static_cast<uint32_t>(r->header.constant_pool_offset))
            : codec.locate_site(code, e, 0);
    if (!site.ok()) return CodeBytes();
    const uint64_t tag = codec.read_tag(code.data(), *site);
    const Environment env = DefaultEnvironment(m_.arch, module_);
    const std::vector<uint32_t> context = {
        module_.num_functions(),
        module_.num_imported_functions,
        module_.num_types(),
        static_cast<uint32_t>(env.far_slot_builtins.size()),
        env.num_external_references};
    uint64_t next = rng_.OneIn(4) ? InterestingWord(rng_, tag, 8)
                                  : Interesting32(rng_, static_cast<uint32_t>(tag), context);
    if (!codec.tag_fits(*site, next)) {
      next = static_cast<uint32_t>(tag) + 1;
      if (!codec.tag_fits(*site, next)) return CodeBytes();
    }
    codec.write_tag(code.data(), *site, next);
    return absl::StrFormat("site-tag %s 0x%x -> 0x%x (function %d pc 0x%x)",
                           RelocModeName(e.mode), tag, next, i, e.pc);
  }

  std::string CodeBytes() {
    size_t i;
    RecordModel* r = PickTurboFan(&i);
    if (r == nullptr || r->parts[0].empty()) return "code-bytes (no code)";
    std::vector<uint8_t>& code = r->part(CodePart::kInstructions);
    size_t at;
    const char* where;
    auto entries = Relocs(*r);
    const uint64_t roll = rng_.Below(4);
    if (roll < 2 && entries.has_value() && !entries->empty()) {
      const auto& e = (*entries)[rng_.Below(entries->size())];
      at = e.pc + rng_.Below(8);
      where = "site";
    } else if (roll == 2 && r->header.safepoint_table_offset > 0) {
      at = static_cast<size_t>(r->header.safepoint_table_offset) + rng_.Below(24);
      where = "safepoint table";
    } else {
      at = rng_.Below(code.size());
      where = "anywhere";
    }
    if (at >= code.size()) at = rng_.Below(code.size());
    if (rng_.OneIn(3)) {
      code[at] = static_cast<uint8_t>(rng_.Next());
    } else {
      code[at] ^= static_cast<uint8_t>(1u << rng_.Below(8));
    }
    return absl::StrFormat("code-bytes %s +0x%x (function %d)", where, at, i);
  }

  std::string Metadata() {
    size_t i;
    RecordModel* r = PickTurboFan(&i);
    if (r == nullptr) return "metadata (no TurboFan records)";
    const int p = 2 + static_cast<int>(rng_.Below(kNumCodeParts - 2));
    std::vector<uint8_t>& part = r->parts[p];
    const char* what;
    if (part.empty() || rng_.OneIn(4)) {
      const size_t n = 1 + rng_.Below(8);
      for (size_t k = 0; k < n; ++k) part.push_back(static_cast<uint8_t>(rng_.Next()));
      what = "grown";
    } else if (rng_.OneIn(4)) {
      part.resize(rng_.Below(part.size()));
      what = "cut";
    } else {
      part[rng_.Below(part.size())] ^= static_cast<uint8_t>(1 + rng_.Below(255));
      what = "byte";
    }
    return absl::StrFormat("metadata %s %s (function %d)",
                           kCodePartNames[p], what, i);
  }

  std::string TieringBudgets() {
    auto& b = m_.tiering_budgets;
    if (!b.empty() && rng_.OneIn(2)) {
      const size_t k = rng_.Below(b.size());
      b[k] = Interesting32(rng_, b[k], {});
      return absl::StrFormat("tiering-budgets budget %d", k);
    }
    if (!b.empty() && rng_.OneIn(2)) {
      b.pop_back();
      return "tiering-budgets one fewer";
    }
    b.push_back(static_cast<uint32_t>(rng_.Next()));
    return "tiering-budgets one more";
  }

  std::string Structure() {
    auto& recs = m_.records;
    if (recs.empty()) return TieringBudgets();
    const size_t i = rng_.Below(recs.size());
    switch (rng_.Below(4)) {
      case 0:
        recs.erase(recs.begin() + static_cast<ptrdiff_t>(i));
        return absl::StrFormat("structure record %d removed", i);
      case 1:
        recs.insert(recs.begin() + static_cast<ptrdiff_t>(i), recs[i]);
        return absl::StrFormat("structure record %d duplicated", i);
      case 2: {
        const size_t j = rng_.Below(recs.size());
        std::swap(recs[i], recs[j]);
        return absl::StrFormat("structure records %d and %d swapped", i, j);
      }
      default:
        recs.resize(i);
        m_.tiering_budgets.clear();
        m_.trailing.clear();
        return absl::StrFormat("structure cut before record %d", i);
    }
  }

  CacheModel& m_;
  const ModuleInfo& module_;
  Rng& rng_;
};

std::vector<uint8_t> Raw(absl::Span<const uint8_t> bytes, size_t max_size,
                         Rng& rng, const MutatorOptions& options) {
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  const size_t room = std::max(max_size, out.size());
  out.resize(room);
  const size_t size =
      options.raw ? options.raw(out.data(), bytes.size(), room)
                  : BuiltinRawMutate(out.data(), bytes.size(), room, rng.Next());
  out.resize(std::min(size, room));
  return out;
}

}  // namespace

Mutation MutateCache(absl::Span<const uint8_t> cache, Arch arch,
                     const ModuleInfo& module, uint64_t seed,
                     const MutatorOptions& options) {
  Rng rng(seed);
  std::optional<CacheModel> model =
      rng.OneIn(12) ? std::nullopt
                    : ReadCacheModel(cache, arch, module.num_imported_functions,
                                     module.num_declared_functions);
  if (!model.has_value()) {
    return {Raw(cache, cache.size() + 64, rng, options), "raw"};
  }
  CacheMutator mutator(*model, module, rng);
  const int count = 1 + static_cast<int>(rng.Below(3) == 0 ? rng.Below(3) : 0);
  bool keep_lengths = false;
  std::string description;
  for (int k = 0; k < count; ++k) {
    if (!description.empty()) description += "; ";
    description += mutator.MutateOnce(&keep_lengths);
  }
  if (!keep_lengths) FixLengths(*model);
  return {WriteCacheModel(*model), std::move(description)};
}

Mutation MutateContainer(absl::Span<const uint8_t> bytes, size_t max_size,
                         uint64_t seed, const MutatorOptions& options) {
  Rng rng(seed);
  Container c = ParseContainer(bytes);
  Mutation out;
  const uint64_t roll = rng.Below(100);
  if (!options.cache_only && roll < 3) {
    // The wire bytes, the target, the thread bit or the file bit.
    switch (rng.Below(4)) {
      case 0:
        c.wasm = Raw(c.wasm, c.wasm.size() + 8, rng, options);
        out.description = "wasm bytes";
        break;
      case 1:
        c.arch = static_cast<Arch>(rng.Below(kNumArchs));
        out.description = absl::StrFormat("wasm target %s", ArchName(c.arch));
        break;
      case 2:
        c.flags ^= kOneThreadBit;
        out.description = "wasm thread bit";
        break;
      default:
        c.flags ^= kFromFileBit;
        out.description = "wasm file bit";
    }
  } else if (roll < 13) {
    const size_t room =
        max_size > kContainerHeaderSize + c.wasm.size()
            ? max_size - kContainerHeaderSize - c.wasm.size()
            : c.cache.size();
    c.cache = Raw(c.cache, room, rng, options);
    out.description = "raw";
  } else {
    absl::StatusOr<ModuleInfo> module = DecodeModuleInfo(c.wasm);
    if (!module.ok()) {
      c.cache = Raw(c.cache, c.cache.size() + 64, rng, options);
      out.description = "raw (no module)";
    } else {
      Mutation m = MutateCache(c.cache, c.arch, *module, rng.Next(), options);
      c.cache = std::move(m.bytes);
      out.description = std::move(m.description);
    }
  }
  out.bytes = WriteContainer(c);
  if (out.bytes.size() > max_size) {
    // Too big for the engine: a plain mutation of the original instead.
    std::vector<uint8_t> raw(bytes.begin(), bytes.end());
    raw.resize(std::min(raw.size(), max_size));
    out.bytes = Raw(raw, max_size, rng, options);
    out.description = "raw (size limit)";
  }
  return out;
}

size_t BuiltinRawMutate(uint8_t* data, size_t size, size_t max_size,
                        uint64_t seed) {
  Rng rng(seed);
  if (size == 0) {
    if (max_size == 0) return 0;
    data[0] = static_cast<uint8_t>(rng.Next());
    return 1;
  }
  const int rounds = 1 + static_cast<int>(rng.Below(4));
  for (int k = 0; k < rounds && size > 0; ++k) {
    const size_t at = rng.Below(size);
    switch (rng.Below(7)) {
      case 0:
        data[at] ^= static_cast<uint8_t>(1u << rng.Below(8));
        break;
      case 1: {
        static constexpr uint8_t kBytes[] = {0, 1, 0x7f, 0x80, 0xff, 0x10, 0x40};
        data[at] = rng.Pick(absl::MakeConstSpan(kBytes));
        break;
      }
      case 2: {
        const size_t width = size_t{1} << rng.Below(4);
        if (at + width > size) break;
        uint64_t v = 0;
        for (size_t b = 0; b < width; ++b) v |= uint64_t{data[at + b]} << (8 * b);
        v += rng.Below(33) - 16;
        for (size_t b = 0; b < width; ++b) data[at + b] = static_cast<uint8_t>(v >> (8 * b));
        break;
      }
      case 3: {  // remove a block
        const size_t n = 1 + rng.Below(std::min<size_t>(size - at, 64));
        std::memmove(data + at, data + at + n, size - at - n);
        size -= n;
        break;
      }
      case 4: {  // insert random bytes
        const size_t n = std::min<size_t>(1 + rng.Below(16), max_size - size);
        std::memmove(data + at + n, data + at, size - at);
        for (size_t b = 0; b < n; ++b) data[at + b] = static_cast<uint8_t>(rng.Next());
        size += n;
        break;
      }
      case 5: {  // duplicate a block
        const size_t from = rng.Below(size);
        const size_t n = std::min<size_t>({1 + rng.Below(32), size - from, max_size - size});
        std::vector<uint8_t> block(data + from, data + from + n);
        std::memmove(data + at + n, data + at, size - at);
        std::copy(block.begin(), block.end(), data + at);
        size += n;
        break;
      }
      default:
        data[at] = static_cast<uint8_t>(rng.Next());
    }
  }
  return size;
}

}  // namespace wasmcache::fuzz
