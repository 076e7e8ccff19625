// The byte layout of a V8 13.6 wasm native-module cache, described once.
//
// Each fixed part of the format is a plain struct plus one VisitFields()
// function that names its fields in file order with their wire type. The
// same description drives measuring (SizeVisitor here), writing and reading
// (the visitors of each implementation), so the three cannot drift apart.
// A visitor provides:
//
//   U8(name, field)      1 byte
//   U32(name, field)     4 bytes, target byte order
//   I32(name, field)     4 bytes, target byte order, two's complement
//   Word(name, field)    sizeof(size_t) of the target (4 or 8 bytes)
//   Blob(name, bytes)    u32 length, then that many bytes
//   Bytes(name, bytes, count)  `count` bytes, count known from context
//
// File layout (offsets for a 64-bit target):
//
//   0   GlobalHeader            20 bytes
//   20  ModuleHeader            4 + word + 1 + 4 + (4 + n) + imports
//       then per declared function, in index order:
//         u8 tag                 2 lazy, 3 eager (Liftoff, has run),
//                                4 TurboFan
//         CodeHeader             61 bytes after the tag (tag 4 only)
//         variable parts         instructions, reloc info, source positions,
//                                inlining positions, deopt data, protected
//                                instructions, in that order (tag 4 only)
//       then TieringBudgets      u32 per declared function
//
// Nothing is LEB-encoded, nothing is aligned, and there is no checksum.

#ifndef WASMCACHE_SPEC_LAYOUT_H_
#define WASMCACHE_SPEC_LAYOUT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace wasmcache {

// Function record tags (the anonymous-namespace constants of V8's
// wasm-serialization.cc).
enum class FunctionTag : uint8_t {
  kLazy = 2,
  kEager = 3,
  kTurboFan = 4,
};

// `WasmCode::Kind` value of compiled wasm functions, the only kind a
// serialized TurboFan record holds.
inline constexpr uint32_t kWasmFunctionKind = 0;
// `ExecutionTier` (int8): 0 none, 1 Liftoff, 2 TurboFan.
inline constexpr uint8_t kTierLiftoff = 1;
inline constexpr uint8_t kTierTurboFan = 2;

struct GlobalHeader {
  uint32_t magic = 0;             // 0xC0DE0000 ^ ExternalReferenceTable::kSize
  uint32_t version_hash = 0;      // Version::Hash()
  uint32_t cpu_features = 0;      // CpuFeatures::SupportedFeatures()
  uint32_t flag_hash = 0;         // FlagList::Hash()
  uint32_t enabled_features = 0;  // WasmEnabledFeatures::ToIntegral()

  bool operator==(const GlobalHeader&) const = default;
};

inline constexpr int kNumHeaderWords = 5;
inline constexpr std::array<std::string_view, kNumHeaderWords>
    kHeaderWordNames = {"magic", "version_hash", "cpu_features", "flag_hash",
                        "enabled_features"};

template <class V, class H>
  requires std::is_same_v<std::remove_const_t<H>, GlobalHeader>
constexpr void VisitFields(V& v, H& h) {
  v.U32("magic", h.magic);
  v.U32("version_hash", h.version_hash);
  v.U32("cpu_features", h.cpu_features);
  v.U32("flag_hash", h.flag_hash);
  v.U32("enabled_features", h.enabled_features);
}

// The header words as an array, in file order.
constexpr std::array<uint32_t, kNumHeaderWords> HeaderWords(
    const GlobalHeader& h) {
  return {h.magic, h.version_hash, h.cpu_features, h.flag_hash,
          h.enabled_features};
}

struct ModuleHeader {
  uint32_t detected_features = 0;      // WasmDetectedFeatures (EnumSet<int>)
  uint64_t total_code_size = 0;        // size_t: sum of TurboFan code sizes
  uint8_t all_functions_validated = 0; // bool
  uint32_t compile_time_imports = 0;   // CompileTimeImportFlags (EnumSet<int>)
  std::string constants_module;        // u32 length + bytes
  // One WellKnownImport status byte per imported function.
  std::vector<uint8_t> well_known_imports;

  bool operator==(const ModuleHeader&) const = default;
};

template <class V, class H>
  requires std::is_same_v<std::remove_const_t<H>, ModuleHeader>
constexpr void VisitFields(V& v, H& h, size_t num_imported_functions) {
  v.U32("detected_features", h.detected_features);
  v.Word("total_code_size", h.total_code_size);
  v.U8("all_functions_validated", h.all_functions_validated);
  v.U32("compile_time_imports", h.compile_time_imports);
  v.Blob("constants_module", h.constants_module);
  v.Bytes("well_known_imports", h.well_known_imports, num_imported_functions);
}

// The 61 bytes that follow tag 4.
struct CodeHeader {
  int32_t constant_pool_offset = 0;
  int32_t safepoint_table_offset = 0;
  int32_t handler_table_offset = 0;
  int32_t code_comments_offset = 0;
  int32_t unpadded_binary_size = 0;
  int32_t stack_slots = 0;
  int32_t ool_spills = 0;
  uint32_t tagged_parameter_slots = 0;
  int32_t instructions_size = 0;
  int32_t reloc_info_size = 0;
  int32_t source_positions_size = 0;
  int32_t inlining_positions_size = 0;
  int32_t deopt_data_size = 0;
  int32_t protected_instructions_size = 0;
  uint32_t kind = 0;  // WasmCode::Kind, an unscoped enum: 4 bytes
  uint8_t tier = 0;   // ExecutionTier

  bool operator==(const CodeHeader&) const = default;
};

template <class V, class H>
  requires std::is_same_v<std::remove_const_t<H>, CodeHeader>
constexpr void VisitFields(V& v, H& h) {
  v.I32("constant_pool_offset", h.constant_pool_offset);
  v.I32("safepoint_table_offset", h.safepoint_table_offset);
  v.I32("handler_table_offset", h.handler_table_offset);
  v.I32("code_comments_offset", h.code_comments_offset);
  v.I32("unpadded_binary_size", h.unpadded_binary_size);
  v.I32("stack_slots", h.stack_slots);
  v.I32("ool_spills", h.ool_spills);
  v.U32("tagged_parameter_slots", h.tagged_parameter_slots);
  v.I32("instructions_size", h.instructions_size);
  v.I32("reloc_info_size", h.reloc_info_size);
  v.I32("source_positions_size", h.source_positions_size);
  v.I32("inlining_positions_size", h.inlining_positions_size);
  v.I32("deopt_data_size", h.deopt_data_size);
  v.I32("protected_instructions_size", h.protected_instructions_size);
  v.U32("kind", h.kind);
  v.U8("tier", h.tier);
}

// The variable parts of a TurboFan record, in file order, each with the
// header field that holds its length.
enum class CodePart : uint8_t {
  kInstructions,
  kRelocInfo,
  kSourcePositions,
  kInliningPositions,
  kDeoptData,
  kProtectedInstructions,
};
inline constexpr int kNumCodeParts = 6;
inline constexpr std::array<std::string_view, kNumCodeParts> kCodePartNames = {
    "instructions",       "reloc_info", "source_positions",
    "inlining_positions", "deopt_data", "protected_instructions"};
inline constexpr std::array<int32_t CodeHeader::*, kNumCodeParts>
    kCodePartSizes = {&CodeHeader::instructions_size,
                      &CodeHeader::reloc_info_size,
                      &CodeHeader::source_positions_size,
                      &CodeHeader::inlining_positions_size,
                      &CodeHeader::deopt_data_size,
                      &CodeHeader::protected_instructions_size};

// Measures a layout: the byte count a writer produces and a reader consumes.
class SizeVisitor {
 public:
  constexpr explicit SizeVisitor(uint32_t word_size) : word_size_(word_size) {}
  constexpr void U8(std::string_view, const uint8_t&) { size_ += 1; }
  constexpr void U32(std::string_view, const uint32_t&) { size_ += 4; }
  constexpr void I32(std::string_view, const int32_t&) { size_ += 4; }
  constexpr void Word(std::string_view, const uint64_t&) { size_ += word_size_; }
  constexpr void Blob(std::string_view, const std::string& s) {
    size_ += 4 + s.size();
  }
  constexpr void Bytes(std::string_view, const std::vector<uint8_t>&,
                       size_t count) {
    size_ += count;
  }
  constexpr size_t size() const { return size_; }

 private:
  uint32_t word_size_;
  size_t size_ = 0;
};

template <class H, class... Context>
constexpr size_t MeasureLayout(const H& h, uint32_t word_size,
                               Context... context) {
  SizeVisitor v(word_size);
  VisitFields(v, h, context...);
  return v.size();
}

inline constexpr size_t kGlobalHeaderSize = 20;
inline constexpr size_t kCodeHeaderSize = 62;  // tag + 61 bytes
inline constexpr size_t kTieringBudgetSize = 4;

// Tripwires: the field tables must produce V8 13.6's sizes.
static_assert(MeasureLayout(GlobalHeader{}, 8) == kGlobalHeaderSize);
static_assert(1 + MeasureLayout(CodeHeader{}, 8) == kCodeHeaderSize);
static_assert(1 + MeasureLayout(CodeHeader{}, 4) == kCodeHeaderSize);

// Size of the fixed part of the module header on a target, without the
// constants-module bytes and the import statuses.
constexpr size_t ModuleHeaderFixedSize(uint32_t word_size) {
  return 4 + word_size + 1 + 4 + 4;
}
static_assert(ModuleHeaderFixedSize(8) == 21);

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_LAYOUT_H_
