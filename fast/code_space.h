// Code memory of the fast implementation: write protection and the
// allocator of one code space.
//
// CodeProtection keeps code memory W^X. With a memory protection key (when
// the system has one and the manager asks for it) code pages are mapped
// read+write+execute under the key, and each thread's PKRU register denies
// writes through it except inside that thread's write scopes: other threads
// keep executing while one writes. Without a key, a write scope turns the
// pages it covers read+write and back to read+execute when the last scope
// covering a page closes (so code must not run on those pages meanwhile:
// NativeModule::ExecutionScope). The key is allocated once per process,
// write-disabled, before main() runs, so every thread inherits "no write".
//
// CodeSpace owns one reservation. Pages are committed (given their code
// permissions) when an allocation first reaches them and decommitted when
// the last allocated byte on them is freed; the count of allocated bytes
// per page is a flat array, so both are O(pages touched). Free ranges are
// kept merged, by offset, and allocation is first fit. Every commit and
// decommit goes through an accounting hook that may refuse a commit.
//
// A space the deserializer filled (Adopt) starts with its prefix [0, used)
// allocated and committed: the tables and the code, placed back to back.

#ifndef WASMCACHE_FAST_CODE_SPACE_H_
#define WASMCACHE_FAST_CODE_SPACE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace wasmcache::fast {

class CodeProtection {
 public:
  // Whether this process has a protection key for code (probed once).
  static bool HasMemoryProtectionKeySupport();

  explicit CodeProtection(bool use_memory_protection_keys);
  CodeProtection(const CodeProtection&) = delete;
  CodeProtection& operator=(const CodeProtection&) = delete;

  bool MemoryProtectionKeysEnabled() const { return key_ >= 0; }
  // Whether the calling thread may write code now.
  bool MemoryProtectionKeyWritable() const;

  // Gives committed pages their resting permissions.
  void CommitPages(uint8_t* start, uint64_t size) const;
  // Opens and closes a write window of the calling thread.
  void BeginWrite(uint8_t* start, uint64_t size) const;
  void EndWrite(uint8_t* start, uint64_t size) const;

 private:
  void CountWindows(uint8_t* start, uint64_t size, bool opening) const;

  int key_ = -1;
  // Without a key: how many open windows cover each page.
  mutable std::mutex mutex_;
  mutable absl::flat_hash_map<uintptr_t, uint32_t> windows_;
};

// A write window on [start, start + size) for the calling thread, for the
// scope's lifetime; scopes nest. Closing flushes the instruction cache.
class CodeWriteScope {
 public:
  CodeWriteScope(const CodeProtection& protection, uint8_t* start,
                 uint64_t size)
      : protection_(protection), start_(start), size_(size) {
    protection_.BeginWrite(start_, size_);
  }
  ~CodeWriteScope();
  CodeWriteScope(const CodeWriteScope&) = delete;
  CodeWriteScope& operator=(const CodeWriteScope&) = delete;

 private:
  const CodeProtection& protection_;
  uint8_t* start_;
  uint64_t size_;
};

// Maps `size` bytes (anonymous, not reserved in swap) with `prot`, wholly
// below `address_limit` unless it is 0; MAP_FAILED if refused. A space
// large enough is aligned to and advised for huge pages (fast/pages.h).
void* MapCodeSpace(uint64_t size, int prot, uint64_t address_limit);

class CodeSpace {
 public:
  // +bytes before a commit (false refuses it), -bytes after a decommit.
  using AccountingHook = std::function<bool(int64_t delta)>;

  // Reserves `size` bytes (page-rounded), inaccessible, wholly below
  // `address_limit` unless it is 0. kResourceExhausted if refused.
  static absl::StatusOr<std::unique_ptr<CodeSpace>> Reserve(
      uint64_t size, uint32_t alignment,
      const CodeProtection* protection = nullptr,
      AccountingHook accounting = nullptr, uint64_t address_limit = 0);
  // Takes over a reservation [base, base + size) whose first `used` bytes
  // were written and already accounted as committed (page-rounded); the
  // protection is applied by the caller.
  static std::unique_ptr<CodeSpace> Adopt(uint8_t* base, uint64_t size,
                                          uint64_t used, uint32_t alignment,
                                          const CodeProtection* protection,
                                          AccountingHook accounting);
  ~CodeSpace();
  CodeSpace(const CodeSpace&) = delete;
  CodeSpace& operator=(const CodeSpace&) = delete;

  // `size` bytes rounded up to the alignment, first fit, committing the
  // pages they reach; kResourceExhausted without room or when the hook
  // refuses.
  absl::StatusOr<uint8_t*> Allocate(uint64_t size);
  bool HasRoomFor(uint64_t size) const;
  // Frees an allocated range (rounded as in Allocate).
  void Free(uint8_t* start, uint64_t size);

  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }
  uint64_t start_address() const { return reinterpret_cast<uintptr_t>(base_); }
  uint64_t end_address() const { return start_address() + size_; }
  bool Contains(uint64_t address) const {
    return address - start_address() < size_;
  }
  uint64_t committed_bytes() const { return committed_pages_ * page_size_; }
  uint64_t free_bytes() const;
  const CodeProtection& protection() const { return *protection_; }

 private:
  CodeSpace(uint8_t* base, uint64_t size, uint32_t alignment,
            const CodeProtection* protection, AccountingHook accounting);
  uint64_t Round(uint64_t size) const {
    return (size + alignment_ - 1) / alignment_ * alignment_;
  }
  // Counts [offset, offset + size) as allocated on its pages, committing
  // the pages that had nothing allocated; false (nothing changed) if the
  // hook refuses.
  bool Use(uint64_t offset, uint64_t size);
  // The reverse: pages left with nothing allocated are decommitted.
  void Unuse(uint64_t offset, uint64_t size);

  uint8_t* base_;
  uint64_t size_;
  uint32_t alignment_;
  uint64_t page_size_;
  std::unique_ptr<CodeProtection> own_protection_;
  const CodeProtection* protection_;
  AccountingHook accounting_;
  absl::btree_map<uint64_t, uint64_t> free_;  // start offset -> end offset
  std::vector<uint32_t> page_bytes_;          // allocated bytes per page
  uint64_t committed_pages_ = 0;
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_CODE_SPACE_H_
