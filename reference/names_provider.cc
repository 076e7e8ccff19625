#include "reference/names_provider.h"

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "spec/module_info.h"
#include "spec/wire_reader.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

constexpr uint8_t kCustomSection = 0;
constexpr uint8_t kImportSection = 2;
constexpr uint8_t kFunctionSection = 3;
constexpr uint8_t kExportSection = 7;

constexpr uint8_t kModuleNameSubsection = 0;
constexpr uint8_t kFunctionNamesSubsection = 1;

constexpr uint8_t kExternalFunction = 0;
constexpr uint8_t kExternalTag = 4;


constexpr std::string_view kNameSectionName = "name";

// Where a section's payload lies in the wire bytes: [begin, end).
struct SectionRange {
  size_t begin = 0;
  size_t end = 0;
  bool present = false;
};

struct ModuleLayout {
  SectionRange imports;
  SectionRange functions;
  SectionRange exports;
  SectionRange names;  // payload of the first "name" custom section
};

// Walks the section headers; reads nothing inside a section but the name of
// a custom section.
absl::StatusOr<ModuleLayout> FindSections(absl::Span<const uint8_t> wire) {
  WireReader r(wire, 0, wire.size(), absl::StatusCode::kOutOfRange);
  static constexpr uint8_t kPreamble[8] = {0x00, 0x61, 0x73, 0x6d,
                                           0x01, 0x00, 0x00, 0x00};
  for (size_t i = 0; i < 8; ++i) {
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t byte, r.U8("module preamble"));
    if (byte != kPreamble[i]) {
      return r.Malformed("not a wasm module (bad magic or version)", i);
    }
  }
  ModuleLayout layout;
  uint8_t last_read_id = 0;
  while (!r.done()) {
    const size_t section_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t id, r.U8("section id"));
    const size_t length_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t length, r.U32("section length"));
    WASMCACHE_ASSIGN_OR_RETURN(
        WireReader body, r.Sub(length, absl::StatusCode::kOutOfRange,
                           absl::StrFormat("section %d", id), length_at));
    SectionRange* range = nullptr;
    if (id == kImportSection) range = &layout.imports;
    if (id == kFunctionSection) range = &layout.functions;
    if (id == kExportSection) range = &layout.exports;
    if (range != nullptr) {
      if (id <= last_read_id) {
        return r.Malformed(
            absl::StrFormat("section %d out of order or repeated", id),
            section_at);
      }
      last_read_id = id;
      *range = {body.offset(), body.end(), true};
    } else if (id == kCustomSection) {
      WASMCACHE_ASSIGN_OR_RETURN(const std::string_view name,
                                 body.Name("custom section name"));
      if (name == kNameSectionName && !layout.names.present) {
        layout.names = {body.offset(), body.end(), true};
      }
    }
    WASMCACHE_RETURN_IF_ERROR(r.Skip(length, "section"));
  }
  return layout;
}

// Well-formed UTF-8: no overlong forms, surrogates or code points past
// U+10FFFF (V8's Utf8::ValidateEncoding).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    int extra;
    uint32_t min;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80, code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800, code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000, code = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i - 1 < static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<uint8_t>(s[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff) return false;
    if (code >= 0xd800 && code <= 0xdfff) return false;
    i += 1 + extra;
  }
  return true;
}

// May `c` appear in a text-format identifier ($id)?
bool IsIdentifierChar(uint8_t c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '"':
    case '(':
    case ')':
    case ',':
    case ';':
    case '[':
    case ']':
    case '{':
    case '}':
      return false;
    default:
      return true;
  }
}

// Appends valid UTF-8 `s` with every character that is not an identifier
// character replaced by '_', one per UTF-16 code unit (V8's
// SanitizeUnicodeName).
void AppendSanitized(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      out += IsIdentifierChar(c) ? static_cast<char>(c) : '_';
      ++i;
    } else if (c < 0xe0) {
      out += '_';
      i += 2;
    } else if (c < 0xf0) {
      out += '_';
      i += 3;
    } else {
      out += "__";  // a surrogate pair in UTF-16
      i += 4;
    }
  }
}

absl::StatusOr<std::string_view> Utf8Name(WireReader& r, std::string_view what) {
  const size_t at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const std::string_view name, r.Name(what));
  if (!IsValidUtf8(name)) {
    return r.Malformed(absl::StrFormat("%s is not valid UTF-8", what), at);
  }
  return name;
}

absl::Status CheckConsumed(const WireReader& r, std::string_view what) {
  if (r.done()) return absl::OkStatus();
  return r.Malformed(
      absl::StrFormat("%s has %d bytes left over", what, r.remaining()),
      r.offset());
}

struct ImportedFunction {
  std::string_view module;
  std::string_view field;
};

struct ExportedFunction {
  std::string_view name;
  uint32_t function_index;
};

// What the import, function and export sections say about function names.
struct FunctionSources {
  std::vector<ImportedFunction> imports;  // index = function index
  uint32_t num_functions = 0;
  std::vector<ExportedFunction> exports;  // in section order
};

absl::Status ReadImports(WireReader r, FunctionSources& out) {
  const size_t count_at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count, r.U32("import count"));
  if (count > kMaxImports) {
    return LimitError(section::kWasm, "more imports than V8 allows", count_at);
  }
  for (uint32_t i = 0; i < count; ++i) {
    WASMCACHE_ASSIGN_OR_RETURN(const std::string_view module,
                               Utf8Name(r, "import module name"));
    WASMCACHE_ASSIGN_OR_RETURN(const std::string_view field,
                               Utf8Name(r, "import field name"));
    const size_t kind_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t kind, r.U8("import kind"));
    switch (kind) {
      case 0:  // function
        WASMCACHE_RETURN_IF_ERROR(r.U32("import type index").status());
        out.imports.push_back({module, field});
        break;
      case 1:  // table
        WASMCACHE_RETURN_IF_ERROR(SkipValueType(r));
        WASMCACHE_RETURN_IF_ERROR(ReadLimits(r));
        break;
      case 2:  // memory
        WASMCACHE_RETURN_IF_ERROR(ReadLimits(r));
        break;
      case 3: {  // global
        WASMCACHE_RETURN_IF_ERROR(SkipValueType(r));
        const size_t at = r.offset();
        WASMCACHE_ASSIGN_OR_RETURN(const uint8_t mut, r.U8("mutability"));
        if (mut > 1) return r.Malformed("global mutability not 0 or 1", at);
        break;
      }
      case 4: {  // tag
        const size_t at = r.offset();
        WASMCACHE_ASSIGN_OR_RETURN(const uint8_t attribute,
                                   r.U8("tag attribute"));
        if (attribute != 0) return r.Malformed("tag attribute not 0", at);
        WASMCACHE_RETURN_IF_ERROR(r.U32("tag type index").status());
        break;
      }
      default:
        return r.Malformed(absl::StrFormat("unknown import kind %d", kind),
                           kind_at);
    }
  }
  if (out.imports.size() > kMaxFunctions) {
    return LimitError(section::kWasm, "more functions than V8 allows",
                      count_at);
  }
  return CheckConsumed(r, "import section");
}

// Only the count: the type indices do not name anything.
absl::Status ReadFunctionCount(WireReader r, FunctionSources& out) {
  const size_t count_at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count, r.U32("function count"));
  if (count > kMaxFunctions || count + out.imports.size() > kMaxFunctions) {
    return LimitError(section::kWasm, "more functions than V8 allows",
                      count_at);
  }
  out.num_functions = static_cast<uint32_t>(out.imports.size()) + count;
  return absl::OkStatus();
}

absl::Status ReadExports(WireReader r, FunctionSources& out) {
  const size_t count_at = r.offset();
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count, r.U32("export count"));
  if (count > kMaxExports) {
    return LimitError(section::kWasm, "more exports than V8 allows", count_at);
  }
  for (uint32_t i = 0; i < count; ++i) {
    WASMCACHE_ASSIGN_OR_RETURN(const std::string_view name,
                               Utf8Name(r, "export name"));
    const size_t kind_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t kind, r.U8("export kind"));
    if (kind > kExternalTag) {
      return r.Malformed(absl::StrFormat("unknown export kind %d", kind),
                         kind_at);
    }
    const size_t index_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t index, r.U32("export index"));
    if (kind != kExternalFunction) continue;
    if (index >= out.num_functions) {
      return r.Malformed(
          absl::StrFormat("export of function %d outside the functions "
                          "[0, %d)",
                          index, out.num_functions),
          index_at);
    }
    out.exports.push_back({name, index});
  }
  return CheckConsumed(r, "export section");
}

absl::StatusOr<FunctionSources> ReadFunctionSources(
    absl::Span<const uint8_t> wire, const ModuleLayout& layout) {
  FunctionSources sources;
  auto section = [&](const SectionRange& range) {
    return WireReader(wire, range.begin, range.end, absl::StatusCode::kOutOfRange);
  };
  if (layout.imports.present) {
    WASMCACHE_RETURN_IF_ERROR(ReadImports(section(layout.imports), sources));
  }
  sources.num_functions = static_cast<uint32_t>(sources.imports.size());
  if (layout.functions.present) {
    WASMCACHE_RETURN_IF_ERROR(
        ReadFunctionCount(section(layout.functions), sources));
  }
  if (layout.exports.present) {
    WASMCACHE_RETURN_IF_ERROR(ReadExports(section(layout.exports), sources));
  }
  return sources;
}

struct NameSectionNames {
  std::optional<std::string_view> module_name;
  // In section order, first entry per index; indices are functions.
  std::vector<std::pair<uint32_t, std::string_view>> function_names;
};

absl::Status ReadFunctionNames(WireReader r, uint32_t num_functions,
                               NameSectionNames& out) {
  WASMCACHE_ASSIGN_OR_RETURN(const uint32_t count,
                             r.U32("name section: function name count"));
  // Each entry takes at least two bytes, so the loop ends within the
  // subsection whatever `count` says.
  for (uint32_t i = 0; i < count; ++i) {
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t index,
                               r.U32("name section: function index"));
    WASMCACHE_ASSIGN_OR_RETURN(const std::string_view name,
                               r.Name("name section: function name"));
    if (index > kMaxNameMapKey || index >= num_functions) continue;
    if (!IsValidUtf8(name)) continue;
    out.function_names.emplace_back(index, name);
  }
  return CheckConsumed(r, "name section: function names subsection");
}

absl::StatusOr<NameSectionNames> ReadNameSection(WireReader r,
                                                 uint32_t num_functions) {
  NameSectionNames names;
  bool seen_function_names = false;
  while (!r.done()) {
    const size_t id_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint8_t id,
                               r.U8("name section: subsection id"));
    if (id & 0x80) {
      return r.Malformed(
          absl::StrFormat("name section: subsection id 0x%x is not a "
                          "varuint7",
                          id),
          id_at);
    }
    const size_t size_at = r.offset();
    WASMCACHE_ASSIGN_OR_RETURN(const uint32_t size,
                               r.U32("name section: subsection size"));
    WASMCACHE_ASSIGN_OR_RETURN(
        WireReader sub,
        r.Sub(size, absl::StatusCode::kDataLoss,
              absl::StrFormat("name section: subsection %d", id), size_at));
    if (id == kModuleNameSubsection) {
      WASMCACHE_ASSIGN_OR_RETURN(const std::string_view name,
                                 sub.Name("name section: module name"));
      WASMCACHE_RETURN_IF_ERROR(
          CheckConsumed(sub, "name section: module name subsection"));
      if (IsValidUtf8(name)) names.module_name = name;
    } else if (id == kFunctionNamesSubsection && !seen_function_names) {
      seen_function_names = true;
      WASMCACHE_RETURN_IF_ERROR(ReadFunctionNames(sub, num_functions, names));
    }
    WASMCACHE_RETURN_IF_ERROR(r.Skip(size, "name section: subsection"));
  }
  return names;
}

}  // namespace

NamesProvider::NamesProvider(absl::Span<const uint8_t> wire_bytes)
    : wire_bytes_(wire_bytes) {}

void NamesProvider::EnsureDecoded() const {
  std::call_once(decode_once_, [this] { Decode(); });
}

void NamesProvider::Decode() const {
  decode_count_.fetch_add(1, std::memory_order_acq_rel);
  absl::StatusOr<ModuleLayout> layout = FindSections(wire_bytes_);
  absl::StatusOr<FunctionSources> sources =
      layout.ok() ? ReadFunctionSources(wire_bytes_, *layout)
                  : absl::StatusOr<FunctionSources>(layout.status());
  if (!sources.ok()) {
    module_status_ = sources.status();
    name_section_status_ = sources.status();
    return;
  }
  // 1. The name section, all or nothing.
  if (layout->names.present) {
    absl::StatusOr<NameSectionNames> names =
        ReadNameSection(WireReader(wire_bytes_, layout->names.begin,
                               layout->names.end, absl::StatusCode::kDataLoss),
                        sources->num_functions);
    if (names.ok()) {
      if (names->module_name) module_name_ = std::string(*names->module_name);
      for (const auto& [index, name] : names->function_names) {
        function_names_.try_emplace(index, absl::StrFormat("$%s", name));
      }
    } else {
      name_section_status_ = names.status();
    }
  }
  // 2. Imported functions without a name: "$module.field".
  for (uint32_t index = 0; index < sources->imports.size(); ++index) {
    if (function_names_.contains(index)) continue;
    std::string name = "$";
    AppendSanitized(name, sources->imports[index].module);
    name += '.';
    AppendSanitized(name, sources->imports[index].field);
    function_names_.emplace(index, std::move(name));
  }
  // 3. Still unnamed functions: the first non-empty export name.
  for (const ExportedFunction& e : sources->exports) {
    if (e.name.empty() || function_names_.contains(e.function_index)) {
      continue;
    }
    std::string name = "$";
    AppendSanitized(name, e.name);
    function_names_.emplace(e.function_index, std::move(name));
  }
}

std::optional<std::string_view> NamesProvider::FunctionName(
    uint32_t function_index) const {
  EnsureDecoded();
  auto it = function_names_.find(function_index);
  if (it == function_names_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> NamesProvider::ModuleName() const {
  EnsureDecoded();
  if (!module_name_) return std::nullopt;
  return std::string_view(*module_name_);
}

absl::Status NamesProvider::name_section_status() const {
  EnsureDecoded();
  return name_section_status_;
}

absl::Status NamesProvider::module_status() const {
  EnsureDecoded();
  return module_status_;
}

}  // namespace wasmcache::reference
