// Relocation modes of V8 13.6 (`RelocInfo::Mode`) and the RelocInfo stream
// encoding constants.
//
// The numbers are V8 13.6's: 13.6 inserted JS_DISPATCH_HANDLE at 12, so every
// mode from OFF_HEAP_TARGET on is one more than in 13.3, and PC_JUMP is 22.
// The stream stores the mode in 6 bits, so a mode byte can name 64 values of
// which only the 23 below exist.

#ifndef WASMCACHE_SPEC_RELOC_MODE_H_
#define WASMCACHE_SPEC_RELOC_MODE_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace wasmcache {

enum class RelocMode : uint8_t {
  kNoInfo = 0,
  kCodeTarget = 1,
  kRelativeCodeTarget = 2,
  kCompressedEmbeddedObject = 3,
  kFullEmbeddedObject = 4,
  kWasmCall = 5,
  kWasmStubCall = 6,
  kWasmCodePointerTableEntry = 7,
  kWasmCanonicalSigId = 8,
  kExternalReference = 9,
  kInternalReference = 10,
  kInternalReferenceEncoded = 11,
  kJsDispatchHandle = 12,
  kOffHeapTarget = 13,
  kNearBuiltinEntry = 14,
  kConstPool = 15,
  kVeneerPool = 16,
  kDeoptScriptOffset = 17,
  kDeoptInliningId = 18,
  kDeoptReason = 19,
  kDeoptId = 20,
  kDeoptNodeId = 21,
  kPcJump = 22,
};

inline constexpr int kNumberOfRelocModes = 23;

// Stream encoding (reloc-info.h): the low two bits of a record's first byte.
inline constexpr int kRelocTagBits = 2;
inline constexpr uint8_t kRelocTagMask = 3;
inline constexpr uint8_t kEmbeddedObjectTag = 0;  // FULL_EMBEDDED_OBJECT
inline constexpr uint8_t kCodeTargetTag = 1;      // CODE_TARGET
inline constexpr uint8_t kWasmStubCallTag = 2;    // WASM_STUB_CALL
inline constexpr uint8_t kDefaultTag = 3;         // mode in the upper 6 bits
inline constexpr int kSmallPcDeltaBits = 6;
inline constexpr uint32_t kSmallPcDeltaMask = (1u << kSmallPcDeltaBits) - 1;
inline constexpr int kVlqDataBits = 7;
inline constexpr uint8_t kVlqContinueBit = 0x80;

// V8's name for a mode ("WASM_CALL", ...); "UNKNOWN" outside the enum.
std::string_view RelocModeName(RelocMode mode);
std::optional<RelocMode> ParseRelocModeName(std::string_view name);

// Bytes of payload that follow a long record of this mode in the stream.
constexpr int RelocPayloadSize(RelocMode mode) {
  switch (mode) {
    case RelocMode::kDeoptReason:
      return 1;
    case RelocMode::kConstPool:
    case RelocMode::kVeneerPool:
    case RelocMode::kDeoptId:
    case RelocMode::kDeoptScriptOffset:
    case RelocMode::kDeoptInliningId:
    case RelocMode::kDeoptNodeId:
      return 4;
    default:
      return 0;
  }
}

// The single-byte short tag used for a mode, if it has one.
constexpr std::optional<uint8_t> RelocShortTag(RelocMode mode) {
  switch (mode) {
    case RelocMode::kFullEmbeddedObject:
      return kEmbeddedObjectTag;
    case RelocMode::kCodeTarget:
      return kCodeTargetTag;
    case RelocMode::kWasmStubCall:
      return kWasmStubCallTag;
    default:
      return std::nullopt;
  }
}

// Modes that may appear in wasm code (V8's WasmCode::Validate list).
constexpr bool IsAllowedInWasmCode(RelocMode mode) {
  switch (mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
    case RelocMode::kExternalReference:
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
    case RelocMode::kConstPool:
    case RelocMode::kVeneerPool:
      return true;
    default:
      return false;
  }
}

// Modes whose site the serializer rewrites to a tag (the serializer's mask).
constexpr bool IsSerializerPatched(RelocMode mode) {
  switch (mode) {
    case RelocMode::kWasmCall:
    case RelocMode::kWasmStubCall:
    case RelocMode::kWasmCanonicalSigId:
    case RelocMode::kWasmCodePointerTableEntry:
    case RelocMode::kExternalReference:
    case RelocMode::kInternalReference:
    case RelocMode::kInternalReferenceEncoded:
      return true;
    default:
      return false;
  }
}

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_RELOC_MODE_H_
