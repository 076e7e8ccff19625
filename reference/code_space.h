// A code space: one contiguous reservation of virtual memory that holds a
// module's machine code and its jump tables.
//
// The space is reserved inaccessible (PROT_NONE) and pages are committed
// (made read-write) as allocations reach them. Allocation is first fit from
// a set of disjoint free regions, every block aligned to the target's
// kCodeAlignment; freeing merges a block with its free neighbours and
// decommits every page that becomes wholly free.
//
// Committed pages are never writable and executable at once: they are
// committed read+execute (or with a protection key, see
// reference/code_protection.h) and written only inside a CodeWriteScope.
// Every commit and decommit is reported to an accounting hook, which may
// refuse a commit (the code manager's committed-space limit).
//
// Addresses are host addresses: relocation writes them into target code,
// so a 32-bit target needs a space below 4 GiB (a later issue).

#ifndef WASMCACHE_REFERENCE_CODE_SPACE_H_
#define WASMCACHE_REFERENCE_CODE_SPACE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "absl/status/statusor.h"
#include "reference/code_protection.h"

namespace wasmcache::reference {

class CodeSpace {
 public:
  // Called with +bytes before committing and -bytes after decommitting;
  // returning false refuses the commit.
  using AccountingHook = std::function<bool(int64_t delta)>;

  // Reserves `size` bytes (rounded up to pages), wholly below
  // `address_limit` if it is not zero (32-bit targets hold addresses in 4
  // bytes). kResourceExhausted if the system refuses.
  static absl::StatusOr<std::unique_ptr<CodeSpace>> Reserve(
      uint64_t size, uint32_t alignment,
      const CodeProtection* protection = nullptr,
      AccountingHook accounting = nullptr, uint64_t address_limit = 0);
  ~CodeSpace();

  CodeSpace(const CodeSpace&) = delete;
  CodeSpace& operator=(const CodeSpace&) = delete;

  // Allocates `size` bytes (rounded up to the alignment) and commits the
  // pages they touch. kResourceExhausted when no free region is large
  // enough or the accounting hook refuses the commit.
  absl::StatusOr<uint8_t*> Allocate(uint64_t size);
  // Whether a free region could hold `size` bytes (without committing).
  bool HasRoomFor(uint64_t size) const;
  // Returns a block obtained from Allocate, or an aligned piece of one
  // (size rounded up as in Allocate), to the free set.
  void Free(uint8_t* start, uint64_t size);

  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }
  uint64_t start_address() const { return reinterpret_cast<uintptr_t>(base_); }
  uint64_t end_address() const { return start_address() + size_; }
  bool Contains(uint64_t address) const {
    return address >= start_address() && address < end_address();
  }
  uint64_t committed_bytes() const { return committed_pages_ * page_size_; }
  uint64_t free_bytes() const;
  const CodeProtection& protection() const { return *protection_; }

 private:
  CodeSpace(uint8_t* base, uint64_t size, uint32_t alignment,
            uint64_t page_size, const CodeProtection* protection,
            AccountingHook accounting);
  bool CommitPages(uint64_t offset, uint64_t size);
  void DecommitFreePages(uint64_t offset, uint64_t size);

  uint8_t* base_;
  uint64_t size_;
  std::unique_ptr<CodeProtection> own_protection_;  // when none was given
  const CodeProtection* protection_;
  AccountingHook accounting_;
  uint32_t alignment_;
  uint64_t page_size_;
  std::map<uint64_t, uint64_t> free_;  // offset -> size, disjoint, merged
  std::map<uint64_t, uint64_t> page_use_;  // page index -> allocated bytes
  uint64_t committed_pages_ = 0;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_CODE_SPACE_H_
