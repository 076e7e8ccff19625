#include "fuzz/lib/cache_model.h"

#include "reference/byte_io.h"

namespace wasmcache::fuzz {
namespace {

using reference::ByteReader;
using reference::ByteWriter;

// The header field holding each part's length, in CodePart order.
int32_t* PartSizeField(CodeHeader& h, int part) {
  int32_t* const fields[kNumCodeParts] = {
      &h.instructions_size,       &h.reloc_info_size,
      &h.source_positions_size,   &h.inlining_positions_size,
      &h.deopt_data_size,         &h.protected_instructions_size};
  return fields[part];
}

// One record at the reader's position, or nullopt (the reader may have
// moved; the caller rewinds).
std::optional<RecordModel> ReadRecord(ByteReader& reader) {
  auto tag = reader.U8("tag");
  if (!tag.ok()) return std::nullopt;
  RecordModel r;
  r.tag = *tag;
  if (r.tag == static_cast<uint8_t>(FunctionTag::kLazy) ||
      r.tag == static_cast<uint8_t>(FunctionTag::kEager)) {
    return r;
  }
  if (!r.turbofan()) return std::nullopt;
  if (!reference::ReadLayout(reader, r.header).ok()) return std::nullopt;
  for (int p = 0; p < kNumCodeParts; ++p) {
    const int32_t size = *PartSizeField(r.header, p);
    if (size < 0) return std::nullopt;
    auto bytes = reader.Bytes(static_cast<size_t>(size), "part");
    if (!bytes.ok()) return std::nullopt;
    r.parts[p].assign(bytes->begin(), bytes->end());
  }
  return r;
}

}  // namespace

std::optional<CacheModel> ReadCacheModel(absl::Span<const uint8_t> cache,
                                         Arch arch,
                                         uint32_t num_imported_functions,
                                         uint32_t num_declared_functions) {
  const ArchTraits& t = TraitsOf(arch);
  ByteReader reader(cache, t.byte_order, t.word_size);
  CacheModel m;
  m.arch = arch;
  m.num_imported_functions = num_imported_functions;
  if (!reference::ReadLayout(reader, m.header).ok()) return std::nullopt;
  if (!reference::ReadLayout(reader, m.module_header,
                             size_t{num_imported_functions})
           .ok()) {
    return std::nullopt;
  }
  bool all_records = true;
  for (uint32_t i = 0; i < num_declared_functions; ++i) {
    const size_t at = reader.offset();
    std::optional<RecordModel> r = ReadRecord(reader);
    if (!r.has_value()) {
      reader = ByteReader(cache, t.byte_order, t.word_size);
      (void)reader.Bytes(at, "rewind");
      all_records = false;
      break;
    }
    m.records.push_back(std::move(*r));
  }
  if (all_records) {
    while (reader.remaining() >= 4) {
      m.tiering_budgets.push_back(*reader.U32("budget"));
    }
  }
  auto rest = reader.Bytes(reader.remaining(), "trailing");
  m.trailing.assign(rest->begin(), rest->end());
  return m;
}

std::vector<uint8_t> WriteCacheModel(const CacheModel& m) {
  const ArchTraits& t = TraitsOf(m.arch);
  ByteWriter writer(t.byte_order, t.word_size);
  reference::WriteLayout(writer, m.header);
  reference::WriteLayout(writer, m.module_header,
                         size_t{m.num_imported_functions});
  for (const RecordModel& r : m.records) {
    writer.U8(r.tag);
    if (!r.turbofan()) continue;
    reference::WriteLayout(writer, r.header);
    for (const auto& part : r.parts) writer.Bytes(part);
  }
  for (uint32_t budget : m.tiering_budgets) writer.U32(budget);
  writer.Bytes(m.trailing);
  return writer.Release();
}

void FixLengths(CacheModel& m) {
  uint64_t total = 0;
  for (RecordModel& r : m.records) {
    if (!r.turbofan()) continue;
    for (int p = 0; p < kNumCodeParts; ++p) {
      *PartSizeField(r.header, p) = static_cast<int32_t>(r.parts[p].size());
    }
    total += r.parts[0].size();
  }
  m.module_header.total_code_size = total;
}

}  // namespace wasmcache::fuzz
