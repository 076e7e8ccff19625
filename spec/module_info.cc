#include "spec/module_info.h"

#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "spec/wire_reader.h"
#include "spec/errors.h"

namespace wasmcache {
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
      WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count, r.U32(list));
      for (uint32_t i = 0; i < count; ++i) {
        WASMCACHE_RETURN_IF_ERROR(
            ReadValueType(r, num_types_limit, false, refs));
      }
    }
  } else if (form == kStructForm || form == kArrayForm) {
    uint32_t count = 1;
    if (form == kStructForm) {
      WASMCACHE_ASSIGN_OR_RETURN(count, r.U32("field count"));
    }
    for (uint32_t i = 0; i < count; ++i) {
      WASMCACHE_RETURN_IF_ERROR(ReadValueType(r, num_types_limit, true, refs));
      WASMCACHE_ASSIGN_OR_RETURN(const uint8_t mut, r.U8("mutability"));
      if (mut > 1) return r.Malformed("mutability not 0 or 1", r.offset());
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
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t groups, r.U32("type count"));
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
      WASMCACHE_ASSIGN_OR_RETURN(members, r.U32("rec group size"));
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
                                   r.U32("supertype count"));
        if (supers > 1) return r.Malformed("more than one supertype", def_at);
        for (uint32_t i = 0; i < supers; ++i) {
          const size_t super_at = r.offset();
          WASMCACHE_ASSIGN_OR_RETURN(const uint32_t super,
                                     r.U32("supertype"));
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

absl::Status DecodeImportSection(WireReader& r, ModuleInfo& info) {
  const size_t count_at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count, r.U32("import count"));
  if (count > kMaxImports) {
    return LimitError(section::kWasm, "more imports than V8 allows", count_at);
  }
  const uint32_t num_types = info.num_types();
  for (uint32_t i = 0; i < count; ++i) {
    WASMCACHE_RETURN_IF_ERROR(r.Name("import module name").status());
    WASMCACHE_RETURN_IF_ERROR(r.Name("import field name").status());
    const size_t kind_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t kind, r.U8("import kind"));
    bool refs = false;
    switch (kind) {
      case 0: {  // function
        const size_t at = r.offset();
        WASMCACHE_ASSIGN_OR_RETURN(const uint32_t type,
                                   r.U32("import type index"));
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
        if (mut > 1) return r.Malformed("global mutability not 0 or 1", r.offset());
        break;
      }
      case 4: {  // tag
        WASMCACHE_ASSIGN_OR_RETURN(const uint8_t attribute,
                                   r.U8("tag attribute"));
        if (attribute != 0) return r.Malformed("tag attribute not 0", r.offset());
        const size_t at = r.offset();
        WASMCACHE_ASSIGN_OR_RETURN(const uint32_t type,
                                   r.U32("tag type index"));
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
                             r.U32("function count"));
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
                               r.U32("function type index"));
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
  WireReader r(wire, 0, wire.size(), absl::StatusCode::kOutOfRange);
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
                               r.U32("section length"));
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
      WireReader section_reader(wire, body, end,
                                absl::StatusCode::kOutOfRange);
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

}  // namespace wasmcache
