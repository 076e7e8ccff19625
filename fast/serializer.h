// Serialization in the fast implementation: from a NativeModule back to
// V8 13.6 cache bytes, in parallel, in the canonical form of spec/FORMAT.md
// (the same bytes as the reference's serializer).
//
// Every record's size is known from its header, so a prefix sum gives each
// function its offset; batches of functions are then written concurrently
// into one buffer: the header, the instructions with every relocated site
// turned back into its tag (the RelocInfo stream decoded once per
// function), and the other parts.

#ifndef WASMCACHE_FAST_SERIALIZER_H_
#define WASMCACHE_FAST_SERIALIZER_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fast/deserializer.h"
#include "fast/module.h"
#include "fast/pages.h"

namespace wasmcache::fast {

// Leaves new elements uninitialized: a serialized buffer is written whole.
// A buffer large enough gets a mapping of its own on huge pages
// (fast/pages.h), which Serialize faults in before the threads write it;
// a smaller one's pages are first touched by the threads that write them.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) {}
  T* allocate(size_t n) {
    if (!WorthHugePages(n * sizeof(T))) return std::allocator<T>::allocate(n);
    return static_cast<T*>(AllocateLarge(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (!WorthHugePages(n * sizeof(T))) {
      std::allocator<T>::deallocate(p, n);
    } else {
      FreeLarge(p, n * sizeof(T));
    }
  }
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Bytes = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

class Serializer {
 public:
  explicit Serializer(const NativeModule& module, LoadOptions options = {})
      : module_(module), options_(options) {}

  // Bytes Serialize() writes.
  size_t Measure() const;
  // kFailedPrecondition if the module has no TurboFan code.
  absl::StatusOr<Bytes> Serialize() const;
  // Writes into `out`, which must hold exactly Measure() bytes.
  absl::Status SerializeInto(absl::Span<uint8_t> out) const;

 private:
  // With the module's ReadLock held.
  size_t MeasureLocked() const;
  absl::Status SerializeLocked(absl::Span<uint8_t> out) const;

  const NativeModule& module_;
  LoadOptions options_;
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_SERIALIZER_H_
