// Unaligned loads and stores of target words, inlined: the fast
// implementation's only way to touch multi-byte fields.

#ifndef WASMCACHE_FAST_MEMORY_H_
#define WASMCACHE_FAST_MEMORY_H_

#include <cstdint>
#include <cstring>

#include "spec/arch.h"

namespace wasmcache::fast {

template <class T>
inline T LoadRaw(const uint8_t* at) {
  T v;
  std::memcpy(&v, at, sizeof(T));
  return v;
}
template <class T>
inline void StoreRaw(uint8_t* at, T v) {
  std::memcpy(at, &v, sizeof(T));
}

inline constexpr bool kHostLittle =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

template <class T>
inline T ToOrder(T v, ByteOrder order) {
  const bool swap = (order == ByteOrder::kLittle) != kHostLittle;
  if (!swap) return v;
  if constexpr (sizeof(T) == 2) return __builtin_bswap16(v);
  if constexpr (sizeof(T) == 4) return __builtin_bswap32(v);
  if constexpr (sizeof(T) == 8) return __builtin_bswap64(v);
  return v;
}

inline uint32_t Load32(const uint8_t* at, ByteOrder order) {
  return ToOrder(LoadRaw<uint32_t>(at), order);
}
inline uint64_t Load64(const uint8_t* at, ByteOrder order) {
  return ToOrder(LoadRaw<uint64_t>(at), order);
}
inline uint16_t Load16(const uint8_t* at, ByteOrder order) {
  return ToOrder(LoadRaw<uint16_t>(at), order);
}
inline void Store32(uint8_t* at, uint32_t v, ByteOrder order) {
  StoreRaw(at, ToOrder(v, order));
}
inline void Store64(uint8_t* at, uint64_t v, ByteOrder order) {
  StoreRaw(at, ToOrder(v, order));
}
inline void Store16(uint8_t* at, uint16_t v, ByteOrder order) {
  StoreRaw(at, ToOrder(v, order));
}

// Stores a slot of 4 or 8 bytes with one store when `at` is aligned to its
// size, so code running concurrently sees the old or the new slot.
inline void StoreSlot(uint8_t* at, const uint8_t* bytes, size_t size) {
  if (size == 8 && reinterpret_cast<uintptr_t>(at) % 8 == 0) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(at), LoadRaw<uint64_t>(bytes),
                     __ATOMIC_RELAXED);
  } else if (size == 4 && reinterpret_cast<uintptr_t>(at) % 4 == 0) {
    __atomic_store_n(reinterpret_cast<uint32_t*>(at), LoadRaw<uint32_t>(bytes),
                     __ATOMIC_RELAXED);
  } else {
    std::memcpy(at, bytes, size);
  }
}

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_MEMORY_H_
