// Tables of V8 13.6.233 (the V8 of Node.js 24.20.0) that a cache refers to
// by index but does not contain.
//
// Every number here was read off the shipped Node 24.20.0 binaries for
// linux-x64 and linux-arm64 (they carry symbols) and cross-checked against
// V8 13.6's sources and against real caches; spec/FORMAT.md ("Environment")
// says how. The x64 and arm64 builds agree on all of them.

#ifndef WASMCACHE_SPEC_V8_TABLES_H_
#define WASMCACHE_SPEC_V8_TABLES_H_

#include <cstdint>
#include <string_view>

namespace wasmcache::v8_13_6 {

// Global header word 0: 0xC0DE0000 ^ ExternalReferenceTable::kSize, with
// kSize = 1673 in 13.6.233.17 (1672 in 13.6.233.10 / Node 24.9).
inline constexpr uint32_t kMagicNumber = 0xC0DE0689;

// Global header word 1: Version::Hash() of 13.6.233.17, read from caches.
inline constexpr uint32_t kVersionHash = 0xDC338CFA;

// Global header words 3 and 4 of caches made with the fixture flags
// (--no-liftoff --no-wasm-lazy-compilation) on x64 and arm64 alike.
inline constexpr uint32_t kFixtureFlagHash = 0x66723F41;
inline constexpr uint32_t kEnabledFeatures = 0x0003C000;

// Entries of the wasm serializer's ExternalReferenceList: 295 entries of
// EXTERNAL_REFERENCE_LIST followed by 656 runtime functions. An
// EXTERNAL_REFERENCE tag must be below this.
inline constexpr uint32_t kNumExternalReferenceListEntries = 295;
inline constexpr uint32_t kNumRuntimeFunctions = 656;
inline constexpr uint32_t kNumExternalReferences =
    kNumExternalReferenceListEntries + kNumRuntimeFunctions;
static_assert(kNumExternalReferences == 951);

// Builtins::kBuiltinCount; every builtin id is below it.
inline constexpr uint32_t kBuiltinCount = 2384;

// Highest WellKnownImport value (kFastAPICall); one status byte per import.
inline constexpr uint8_t kMaxWellKnownImport = 60;
// CompileTimeImportFlags: five flags (js-string, string constants, text
// encoder, text decoder, disable denormal floats).
inline constexpr uint32_t kCompileTimeImportMask = 0x1f;

struct FarSlotBuiltin {
  uint32_t builtin_id;  // global Builtin enum value, the WASM_STUB_CALL tag
  std::string_view name;
};

// BuiltinLookup's far jump-table order: far slot i serves kFarSlotBuiltins[i].
inline constexpr FarSlotBuiltin kFarSlotBuiltins[] = {
    {1623, "ThrowWasmTrapUnreachable"},  // far slot 0
    {1626, "ThrowWasmTrapMemOutOfBounds"},  // far slot 1
    {1627, "ThrowWasmTrapUnalignedAccess"},  // far slot 2
    {1628, "ThrowWasmTrapDivByZero"},  // far slot 3
    {1629, "ThrowWasmTrapDivUnrepresentable"},  // far slot 4
    {1630, "ThrowWasmTrapRemByZero"},  // far slot 5
    {1631, "ThrowWasmTrapFloatUnrepresentable"},  // far slot 6
    {1632, "ThrowWasmTrapFuncSigMismatch"},  // far slot 7
    {1633, "ThrowWasmTrapDataSegmentOutOfBounds"},  // far slot 8
    {1634, "ThrowWasmTrapElementSegmentOutOfBounds"},  // far slot 9
    {1635, "ThrowWasmTrapTableOutOfBounds"},  // far slot 10
    {1636, "ThrowWasmTrapRethrowNull"},  // far slot 11
    {1637, "ThrowWasmTrapNullDereference"},  // far slot 12
    {1638, "ThrowWasmTrapIllegalCast"},  // far slot 13
    {1639, "ThrowWasmTrapArrayOutOfBounds"},  // far slot 14
    {1640, "ThrowWasmTrapArrayTooLarge"},  // far slot 15
    {1641, "ThrowWasmTrapStringOffsetOutOfBounds"},  // far slot 16
    { 688, "WasmCompileLazy"},  // far slot 17
    {1601, "WasmTriggerTierUp"},  // far slot 18
    { 689, "WasmLiftoffFrameSetup"},  // far slot 19
    { 690, "WasmDebugBreak"},  // far slot 20
    {1577, "WasmInt32ToHeapNumber"},  // far slot 21
    { 695, "WasmFloat64ToString"},  // far slot 22
    {1678, "WasmStringToDouble"},  // far slot 23
    {1677, "WasmIntToString"},  // far slot 24
    {1579, "WasmTaggedNonSmiToInt32"},  // far slot 25
    { 693, "WasmFloat32ToNumber"},  // far slot 26
    { 694, "WasmFloat64ToNumber"},  // far slot 27
    {1580, "WasmTaggedToFloat64"},  // far slot 28
    {1608, "WasmAllocateJSArray"},  // far slot 29
    {1617, "WasmI32AtomicWait"},  // far slot 30
    {1618, "WasmI64AtomicWait"},  // far slot 31
    {1621, "WasmGetOwnProperty"},  // far slot 32
    {1592, "WasmRefFunc"},  // far slot 33
    {1593, "WasmInternalFunctionCreateExternal"},  // far slot 34
    {1582, "WasmMemoryGrow"},  // far slot 35
    {1583, "WasmTableInit"},  // far slot 36
    {1584, "WasmTableCopy"},  // far slot 37
    {1585, "WasmTableFill"},  // far slot 38
    {1586, "WasmTableGrow"},  // far slot 39
    {1587, "WasmTableGet"},  // far slot 40
    {1588, "WasmTableSet"},  // far slot 41
    {1589, "WasmTableGetFuncRef"},  // far slot 42
    {1591, "WasmTableSetFuncRef"},  // far slot 43
    {1590, "WasmFunctionTableGet"},  // far slot 44
    {1603, "WasmStackGuard"},  // far slot 45
    {1602, "WasmGrowableStackGuard"},  // far slot 46
    {1604, "WasmStackOverflow"},  // far slot 47
    {1595, "WasmAllocateFixedArray"},  // far slot 48
    {1597, "WasmThrow"},  // far slot 49
    {1598, "WasmRethrow"},  // far slot 50
    {1599, "WasmThrowRef"},  // far slot 51
    {1600, "WasmRethrowExplicitContext"},  // far slot 52
    { 692, "WasmHandleStackOverflow"},  // far slot 53
    {1606, "WasmTraceEnter"},  // far slot 54
    {1607, "WasmTraceExit"},  // far slot 55
    {1605, "WasmTraceMemory"},  // far slot 56
    { 144, "BigIntToI32Pair"},  // far slot 57
    { 143, "BigIntToI64"},  // far slot 58
    {1619, "CallRefIC"},  // far slot 59
    {1620, "CallIndirectIC"},  // far slot 60
    { 760, "DoubleToI"},  // far slot 61
    { 146, "I32PairToBigInt"},  // far slot 62
    { 145, "I64ToBigInt"},  // far slot 63
    {   2, "RecordWriteSaveFP"},  // far slot 64
    {   3, "RecordWriteIgnoreFP"},  // far slot 65
    {1658, "ThrowDataViewTypeError"},  // far slot 66
    {1659, "ThrowDataViewDetachedError"},  // far slot 67
    {1660, "ThrowDataViewOutOfBounds"},  // far slot 68
    {1657, "ThrowIndexOfCalledOnNull"},  // far slot 69
    {1656, "ThrowToLowerCaseCalledOnNull"},  // far slot 70
    {1849, "StringToLowerCaseIntl"},  // far slot 71
    {1611, "WasmAllocateArray_Uninitialized"},  // far slot 72
    {1614, "WasmArrayCopy"},  // far slot 73
    {1612, "WasmArrayNewSegment"},  // far slot 74
    {1613, "WasmArrayInitSegment"},  // far slot 75
    {1609, "WasmAllocateStructWithRtt"},  // far slot 76
    { 691, "WasmOnStackReplace"},  // far slot 77
    { 686, "WasmReject"},  // far slot 78
    {1642, "WasmStringNewWtf8"},  // far slot 79
    {1644, "WasmStringNewWtf16"},  // far slot 80
    {1648, "WasmStringConst"},  // far slot 81
    {1649, "WasmStringMeasureUtf8"},  // far slot 82
    {1650, "WasmStringMeasureWtf8"},  // far slot 83
    {1651, "WasmStringEncodeWtf8"},  // far slot 84
    {1654, "WasmStringEncodeWtf16"},  // far slot 85
    {1661, "WasmStringConcat"},  // far slot 86
    {1662, "WasmStringEqual"},  // far slot 87
    {1663, "WasmStringIsUSVSequence"},  // far slot 88
    {1647, "WasmStringAsWtf16"},  // far slot 89
    {1668, "WasmStringViewWtf16GetCodeUnit"},  // far slot 90
    {1672, "WasmStringCodePointAt"},  // far slot 91
    {1669, "WasmStringViewWtf16Encode"},  // far slot 92
    {1670, "WasmStringViewWtf16Slice"},  // far slot 93
    {1643, "WasmStringNewWtf8Array"},  // far slot 94
    {1645, "WasmStringNewWtf16Array"},  // far slot 95
    {1652, "WasmStringEncodeWtf8Array"},  // far slot 96
    {1653, "WasmStringToUtf8Array"},  // far slot 97
    {1655, "WasmStringEncodeWtf16Array"},  // far slot 98
    {1664, "WasmStringAsWtf8"},  // far slot 99
    {1665, "WasmStringViewWtf8Advance"},  // far slot 100
    {1666, "WasmStringViewWtf8Encode"},  // far slot 101
    {1667, "WasmStringViewWtf8Slice"},  // far slot 102
    {1671, "WasmStringAsIter"},  // far slot 103
    {1673, "WasmStringViewIterNext"},  // far slot 104
    {1674, "WasmStringViewIterAdvance"},  // far slot 105
    {1675, "WasmStringViewIterRewind"},  // far slot 106
    {1676, "WasmStringViewIterSlice"},  // far slot 107
    {  78, "StringCompare"},  // far slot 108
    {1535, "StringIndexOf"},  // far slot 109
    {1679, "WasmStringFromCodePoint"},  // far slot 110
    {1680, "WasmStringHash"},  // far slot 111
    {1681, "WasmAnyConvertExtern"},  // far slot 112
    {1646, "WasmStringFromDataSegment"},  // far slot 113
    { 758, "StringAdd_CheckNone"},  // far slot 114
    {1543, "DebugPrintFloat64"},  // far slot 115
    {1542, "DebugPrintWordPtr"},  // far slot 116
    {1682, "WasmFastApiCallTypeCheckAndUpdateIC"},  // far slot 117
    {   0, "DeoptimizationEntry_Eager"},  // far slot 118
    {1596, "WasmLiftoffDeoptFinish"},  // far slot 119
    {1625, "WasmPropagateException"},  // far slot 120
};
inline constexpr uint32_t kNumFarSlotBuiltins =
    sizeof(kFarSlotBuiltins) / sizeof(kFarSlotBuiltins[0]);
static_assert(kNumFarSlotBuiltins == 121);

// The builtin lazy-compile slots jump to.
inline constexpr uint32_t kWasmCompileLazy = 688;

constexpr bool FarSlotBuiltinsAreDistinctAndValid() {
  for (uint32_t i = 0; i < kNumFarSlotBuiltins; ++i) {
    if (kFarSlotBuiltins[i].builtin_id >= kBuiltinCount) return false;
    for (uint32_t j = 0; j < i; ++j) {
      if (kFarSlotBuiltins[i].builtin_id == kFarSlotBuiltins[j].builtin_id) {
        return false;
      }
    }
  }
  return true;
}
static_assert(FarSlotBuiltinsAreDistinctAndValid());
static_assert(kFarSlotBuiltins[17].builtin_id == kWasmCompileLazy);

}  // namespace wasmcache::v8_13_6

#endif  // WASMCACHE_SPEC_V8_TABLES_H_
