#include "reference/module_info.h"

#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

constexpr uint8_t kTypeSection = 1;
constexpr uint8_t kImportSection = 2;
constexpr uint8_t kFunctionSection = 3;

constexpr uint8_t kFuncForm = 0x60;
constexpr uint8_t kStructForm = 0x5f;
constexpr uint8_t kArrayForm = 0x5e;
constexpr uint8_t kRecGroup = 0x4e;
constexpr uint8_t kSubType = 0x50;
constexpr uint8_t kSubFinalType = 0x4f;
constexpr uint8_t kRefNull = 0x63;
constexpr uint8_t kRef = 0x64;

class WireReader {
 public:
  explicit WireReader(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t offset() const { return offset_; }
  bool done() const { return offset_ == end_limit(); }
  void set_limit(size_t limit) { limit_ = limit; }
  size_t end_limit() const { return limit_ == 0 ? bytes_.size() : limit_; }

  absl::StatusOr<uint8_t> U8(std::string_view what) {
    if (offset_ >= end_limit()) return Truncated(what);
    return bytes_[offset_++];
  }

  absl::StatusOr<uint64_t> Leb(std::string_view what, int bits,
                               bool is_signed) {
    const size_t start = offset_;
    uint64_t value = 0;
    int shift = 0;
    const int max_bytes = (bits + 6) / 7;
    for (int i = 0; i < max_bytes; ++i) {
      WASMCACHE_ASSIGN_OR_RETURN(const uint8_t byte, U8(what));
      value |= uint64_t{byte & 0x7fu} << shift;
      shift += 7;
      if (!(byte & 0x80)) {
        // The unused bits of the last byte must be a sign or zero extension.
        const int used = bits - (shift - 7);
        if (used < 7) {
          const uint8_t extra = static_cast<uint8_t>(byte & 0x7f) >> used;
          const uint8_t allowed_ones =
              static_cast<uint8_t>((0x7f >> used));
          const bool sign = is_signed && ((byte >> (used - 1)) & 1);
          if (extra != (sign ? allowed_ones : 0)) {
            return Malformed(absl::StrFormat("%s: LEB128 out of range", what),
                             start);
          }
        }
        if (is_signed && shift < 64 && (byte & 0x40)) {
          value |= ~uint64_t{0} << shift;
        }
        return value;
      }
    }
    return Malformed(absl::StrFormat("%s: LEB128 too long", what), start);
  }

  absl::StatusOr<uint32_t> U32Leb(std::string_view what) {
    WASMCACHE_ASSIGN_OR_RETURN(const uint64_t v, Leb(what, 32, false));
    return static_cast<uint32_t>(v);
  }

  absl::Status Skip(uint64_t count, std::string_view what) {
    if (count > end_limit() - offset_) return Truncated(what);
    offset_ += count;
    return absl::OkStatus();
  }

  absl::Status Truncated(std::string_view what) const {
    return TruncatedError(section::kWasm,
                          absl::StrFormat("%s truncated", what), offset_);
  }
  absl::Status Malformed(std::string_view what, size_t at) const {
    return MalformedError(section::kWasm, what, at);
  }
  absl::Status Malformed(std::string_view what) const {
    return Malformed(what, offset_);
  }

 private:
  absl::Span<const uint8_t> bytes_;
  size_t offset_ = 0;
  size_t limit_ = 0;
};

// Abstract heap types as one-byte shorthands (funcref .. nullexnref, and the
// shared-everything/stack-switching ones V8 13.6 knows).
bool IsAbstractHeapTypeByte(uint8_t byte) {
  return byte >= 0x65 && byte <= 0x74;
}

// Reads a heap type; records whether it names a concrete type index.
absl::Status ReadHeapType(WireReader& r, uint32_t num_types_limit,
                          bool& references_index) {
  const size_t at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint64_t raw, r.Leb("heap type", 33, true));
  const auto value = static_cast<int64_t>(raw);
  if (value >= 0) {
    if (static_cast<uint64_t>(value) >= num_types_limit) {
      return r.Malformed(absl::StrFormat("type index %d out of range", value),
                         at);
    }
    references_index = true;
    return absl::OkStatus();
  }
  const auto shorthand = static_cast<uint8_t>(value & 0x7f);
  if (!IsAbstractHeapTypeByte(shorthand)) {
    return r.Malformed(absl::StrFormat("unknown heap type 0x%x", shorthand),
                       at);
  }
  return absl::OkStatus();
}

absl::Status ReadValueType(WireReader& r, uint32_t num_types_limit,
                           bool allow_packed, bool& references_index) {
  const size_t at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint8_t code, r.U8("value type"));
  switch (code) {
    case 0x7f:  // i32
    case 0x7e:  // i64
    case 0x7d:  // f32
    case 0x7c:  // f64
    case 0x7b:  // v128
      return absl::OkStatus();
    case 0x78:  // i8
    case 0x77:  // i16
      if (allow_packed) return absl::OkStatus();
      break;
    case kRef:
    case kRefNull:
      return ReadHeapType(r, num_types_limit, references_index);
    default:
      if (IsAbstractHeapTypeByte(code)) return absl::OkStatus();
      break;
  }
  return r.Malformed(absl::StrFormat("unknown value type 0x%x", code), at);
}

struct TypeDefinition {
  bool is_signature = false;
  bool mergeable = true;  // no type-index references, plain final type
  std::string key;        // bytes of the definition, for merging
};

// Reads the body of a composite type whose form byte, at `form_at`, was
// already consumed.
absl::Status ReadCompositeBody(WireReader& r, uint8_t form, size_t form_at,
                               uint32_t num_types_limit,
                               absl::Span<const uint8_t> wire,
                               TypeDefinition& def) {
  bool refs = false;
  if (form == kFuncForm) {
    def.is_signature = true;
    for (const char* list : {"parameter count", "result count"}) {
      WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count, r.U32Leb(list));
      for (uint32_t i = 0; i < count; ++i) {
        WASMCACHE_RETURN_IF_ERROR(
            ReadValueType(r, num_types_limit, false, refs));
      }
    }
  } else if (form == kStructForm || form == kArrayForm) {
    uint32_t count = 1;
    if (form == kStructForm) {
      WASMCACHE_ASSIGN_OR_RETURN(count, r.U32Leb("field count"));
    }
    for (uint32_t i = 0; i < count; ++i) {
      WASMCACHE_RETURN_IF_ERROR(ReadValueType(r, num_types_limit, true, refs));
      WASMCACHE_ASSIGN_OR_RETURN(const uint8_t mut, r.U8("mutability"));
      if (mut > 1) return r.Malformed("mutability not 0 or 1");
    }
  } else {
    return r.Malformed(absl::StrFormat("unknown type form 0x%x", form),
                       form_at);
  }
  if (refs) def.mergeable = false;
  def.key.assign(wire.begin() + form_at, wire.begin() + r.offset());
  return absl::OkStatus();
}

absl::Status DecodeTypeSection(WireReader& r, absl::Span<const uint8_t> wire,
                               ModuleInfo& info) {
  const size_t count_at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t groups, r.U32Leb("type count"));
  if (groups > kMaxTypes) {
    return LimitError(section::kWasm, "more types than V8 allows", count_at);
  }
  std::map<std::string, uint32_t> classes;
  std::vector<TypeDefinition> defs;
  for (uint32_t g = 0; g < groups; ++g) {
    // Peek the lead byte to see if this is an explicit rec group.
    const size_t group_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t lead, r.U8("type"));
    uint32_t members = 1;
    bool explicit_group = false;
    if (lead == kRecGroup) {
      WASMCACHE_ASSIGN_OR_RETURN(members, r.U32Leb("rec group size"));
      explicit_group = true;
    }
    if (defs.size() + members > kMaxTypes) {
      return LimitError(section::kWasm, "more types than V8 allows", group_at);
    }
    // Types of a group may refer to any type of the group.
    const uint32_t limit = static_cast<uint32_t>(defs.size()) + members;
    for (uint32_t m = 0; m < members; ++m) {
      TypeDefinition def;
      size_t def_at = r.offset();
      uint8_t first;
      if (!explicit_group && m == 0) {
        first = lead;
        def_at = group_at;
      } else {
        WASMCACHE_ASSIGN_OR_RETURN(first, r.U8("type"));
      }
      if (first == kSubType || first == kSubFinalType) {
        WASMCACHE_ASSIGN_OR_RETURN(const uint32_t supers,
                                   r.U32Leb("supertype count"));
        if (supers > 1) return r.Malformed("more than one supertype", def_at);
        for (uint32_t i = 0; i < supers; ++i) {
          const size_t super_at = r.offset();
          WASMCACHE_ASSIGN_OR_RETURN(const uint32_t super,
                                     r.U32Leb("supertype"));
          if (super >= limit) {
            return r.Malformed("supertype out of range", super_at);
          }
        }
        // (sub final () t) is plain t; open types and subtypes never merge.
        def.mergeable = first == kSubFinalType && supers == 0;
        const size_t form_at = r.offset();
        WASMCACHE_ASSIGN_OR_RETURN(const uint8_t form, r.U8("type form"));
        WASMCACHE_RETURN_IF_ERROR(
            ReadCompositeBody(r, form, form_at, limit, wire, def));
      } else {
        WASMCACHE_RETURN_IF_ERROR(
            ReadCompositeBody(r, first, def_at, limit, wire, def));
      }
      // Only singleton groups are merged: a member of a larger group is
      // equal only to the same member of an equal group.
      if (explicit_group && members != 1) def.mergeable = false;
      defs.push_back(std::move(def));
    }
  }
  for (uint32_t t = 0; t < defs.size(); ++t) {
    info.is_signature.push_back(defs[t].is_signature);
    uint32_t cls = t;
    if (defs[t].mergeable) {
      cls = classes.emplace(defs[t].key, t).first->second;
    }
    info.structural_class.push_back(cls);
  }
  return absl::OkStatus();
}

absl::Status ReadLimits(WireReader& r) {
  const size_t at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint8_t flags, r.U8("limits flags"));
  if (flags & ~0x0fu) {
    return r.Malformed(absl::StrFormat("unknown limits flags 0x%x", flags), at);
  }
  const int bits = (flags & 0x04) ? 64 : 32;
  WASMCACHE_RETURN_IF_ERROR(r.Leb("minimum", bits, false).status());
  if (flags & 0x01) {
    WASMCACHE_RETURN_IF_ERROR(r.Leb("maximum", bits, false).status());
  }
  if (flags & 0x08) {
    WASMCACHE_RETURN_IF_ERROR(r.U32Leb("page size").status());
  }
  return absl::OkStatus();
}

absl::Status SkipName(WireReader& r, std::string_view what) {
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t length, r.U32Leb(what));
  return r.Skip(length, what);
}

absl::Status DecodeImportSection(WireReader& r, ModuleInfo& info) {
  const size_t count_at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count, r.U32Leb("import count"));
  if (count > kMaxImports) {
    return LimitError(section::kWasm, "more imports than V8 allows", count_at);
  }
  const uint32_t num_types = info.num_types();
  for (uint32_t i = 0; i < count; ++i) {
    WASMCACHE_RETURN_IF_ERROR(SkipName(r, "import module name"));
    WASMCACHE_RETURN_IF_ERROR(SkipName(r, "import field name"));
    const size_t kind_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t kind, r.U8("import kind"));
    bool refs = false;
    switch (kind) {
      case 0: {  // function
        const size_t at = r.offset();
        WASMCACHE_ASSIGN_OR_RETURN(const uint32_t type,
                                   r.U32Leb("import type index"));
        if (type >= num_types || !info.is_signature[type]) {
          return r.Malformed(
              absl::StrFormat("import type %d is not a signature", type), at);
        }
        ++info.num_imported_functions;
        break;
      }
      case 1:  // table
        WASMCACHE_RETURN_IF_ERROR(ReadValueType(r, num_types, false, refs));
        WASMCACHE_RETURN_IF_ERROR(ReadLimits(r));
        break;
      case 2:  // memory
        WASMCACHE_RETURN_IF_ERROR(ReadLimits(r));
        break;
      case 3: {  // global
        WASMCACHE_RETURN_IF_ERROR(ReadValueType(r, num_types, false, refs));
        WASMCACHE_ASSIGN_OR_RETURN(const uint8_t mut, r.U8("mutability"));
        if (mut > 1) return r.Malformed("global mutability not 0 or 1");
        break;
      }
      case 4: {  // tag
        WASMCACHE_ASSIGN_OR_RETURN(const uint8_t attribute,
                                   r.U8("tag attribute"));
        if (attribute != 0) return r.Malformed("tag attribute not 0");
        const size_t at = r.offset();
        WASMCACHE_ASSIGN_OR_RETURN(const uint32_t type,
                                   r.U32Leb("tag type index"));
        if (type >= num_types || !info.is_signature[type]) {
          return r.Malformed("tag type is not a signature", at);
        }
        break;
      }
      default:
        return r.Malformed(absl::StrFormat("unknown import kind %d", kind),
                           kind_at);
    }
  }
  if (info.num_imported_functions > kMaxFunctions) {
    return LimitError(section::kWasm, "more functions than V8 allows",
                      count_at);
  }
  return absl::OkStatus();
}

absl::Status DecodeFunctionSection(WireReader& r, ModuleInfo& info) {
  const size_t count_at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count,
                             r.U32Leb("function count"));
  if (count > kMaxFunctions ||
      uint64_t{count} + info.num_imported_functions > kMaxFunctions) {
    return LimitError(section::kWasm, "more functions than V8 allows",
                      count_at);
  }
  info.num_declared_functions = count;
  info.declared_function_types.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t type,
                               r.U32Leb("function type index"));
    if (type >= info.num_types() || !info.is_signature[type]) {
      return r.Malformed(
          absl::StrFormat("function type %d is not a signature", type), at);
    }
    info.declared_function_types.push_back(type);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModuleInfo> DecodeModuleInfo(absl::Span<const uint8_t> wire) {
  WireReader r(wire);
  static constexpr uint8_t kMagic[8] = {0x00, 0x61, 0x73, 0x6d,
                                        0x01, 0x00, 0x00, 0x00};
  for (size_t i = 0; i < 8; ++i) {
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t byte, r.U8("module preamble"));
    if (byte != kMagic[i]) {
      return r.Malformed("not a wasm module (bad magic or version)", i);
    }
  }
  ModuleInfo info;
  uint8_t last_known = 0;
  while (!r.done()) {
    const size_t section_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t id, r.U8("section id"));
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t length,
                               r.U32Leb("section length"));
    const size_t body = r.offset();
    if (length > wire.size() - body) {
      return TruncatedError(section::kWasm,
                            absl::StrFormat("section %d truncated", id),
                            section_at);
    }
    const size_t end = body + length;
    if (id >= kTypeSection && id <= kFunctionSection) {
      if (id <= last_known) {
        return r.Malformed(
            absl::StrFormat("section %d out of order or repeated", id),
            section_at);
      }
      last_known = id;
      WireReader section_reader = r;
      section_reader.set_limit(end);
      absl::Status status;
      if (id == kTypeSection) {
        status = DecodeTypeSection(section_reader, wire, info);
      } else if (id == kImportSection) {
        status = DecodeImportSection(section_reader, info);
      } else {
        status = DecodeFunctionSection(section_reader, info);
      }
      WASMCACHE_RETURN_IF_ERROR(status);
      if (section_reader.offset() != end) {
        return r.Malformed(
            absl::StrFormat("section %d has %d bytes left over", id,
                            end - section_reader.offset()),
            section_reader.offset());
      }
    }
    WASMCACHE_RETURN_IF_ERROR(r.Skip(length, "section"));
  }
  return info;
}

}  // namespace wasmcache::reference
