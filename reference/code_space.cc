#include "reference/code_space.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <limits>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CodeSpace>> CodeSpace::Reserve(
    uint64_t size, uint32_t alignment, const CodeProtection* protection,
    AccountingHook accounting, uint64_t address_limit) {
  const auto page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  // mmap takes a size_t: on a 32-bit host a larger size would be truncated
  // to a smaller mapping than the space then hands out (and near 2^64 the
  // rounding wraps).
  if (size > std::numeric_limits<size_t>::max() - page_size) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("cannot reserve %d bytes on this host", size), 0);
  }
  const uint64_t rounded = RoundUp(size == 0 ? 1 : size, page_size);
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  void* base = MAP_FAILED;
  if (address_limit == 0) {
    base = mmap(nullptr, rounded, PROT_NONE, kFlags, -1, 0);
  } else {
    // Probe fixed addresses from 256 MB upwards, never replacing a mapping.
    constexpr uint64_t kStep = uint64_t{1} << 28;
    for (uint64_t hint = kStep; hint < address_limit &&
                                rounded <= address_limit - hint;
         hint += std::max(kStep, RoundUp(rounded, kStep))) {
      void* at = mmap(reinterpret_cast<void*>(hint), rounded, PROT_NONE,
                      kFlags | MAP_FIXED_NOREPLACE, -1, 0);
      if (at == reinterpret_cast<void*>(hint)) {
        base = at;
        break;
      }
      if (at != MAP_FAILED) munmap(at, rounded);  // kernels ignoring the flag
    }
  }
  if (base == MAP_FAILED) {
    return LimitError(section::kCodeSpace,
                      absl::StrFormat("cannot reserve %d bytes", rounded), 0);
  }
  return std::unique_ptr<CodeSpace>(
      new CodeSpace(static_cast<uint8_t*>(base), rounded, alignment,
                    page_size, protection, std::move(accounting)));
}

CodeSpace::CodeSpace(uint8_t* base, uint64_t size, uint32_t alignment,
                     uint64_t page_size, const CodeProtection* protection,
                     AccountingHook accounting)
    : base_(base),
      size_(size),
      protection_(protection),
      accounting_(std::move(accounting)),
      alignment_(alignment),
      page_size_(page_size) {
  if (protection_ == nullptr) {
    own_protection_ = std::make_unique<CodeProtection>(false);
    protection_ = own_protection_.get();
  }
  free_[0] = size;
}

CodeSpace::~CodeSpace() {
  munmap(base_, size_);
  if (accounting_ && committed_pages_ != 0) {
    accounting_(-static_cast<int64_t>(committed_pages_ * page_size_));
  }
}

uint64_t CodeSpace::free_bytes() const {
  uint64_t total = 0;
  for (const auto& [offset, size] : free_) total += size;
  return total;
}

bool CodeSpace::HasRoomFor(uint64_t size) const {
  const uint64_t rounded = RoundUp(size == 0 ? 1 : size, alignment_);
  for (const auto& [offset, length] : free_) {
    const uint64_t start = RoundUp(offset, alignment_);
    const uint64_t end = offset + length;
    if (start <= end && end - start >= rounded) return true;
  }
  return false;
}

absl::StatusOr<uint8_t*> CodeSpace::Allocate(uint64_t size) {
  const uint64_t rounded = RoundUp(size == 0 ? 1 : size, alignment_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const uint64_t start = RoundUp(it->first, alignment_);
    const uint64_t end = it->first + it->second;
    if (start > end || end - start < rounded) continue;
    // Split the free region around [start, start + rounded).
    if (!CommitPages(start, rounded)) {
      return LimitError(
          section::kCodeSpace,
          absl::StrFormat("committing %d more bytes exceeds the limit",
                          rounded),
          0);
    }
    const uint64_t region_start = it->first;
    free_.erase(it);
    if (start > region_start) free_[region_start] = start - region_start;
    if (start + rounded < end) free_[start + rounded] = end - start - rounded;
    return base_ + start;
  }
  return LimitError(
      section::kCodeSpace,
      absl::StrFormat("no room for %d bytes in a space of %d", rounded, size_),
      0);
}

void CodeSpace::Free(uint8_t* start, uint64_t size) {
  const uint64_t rounded = RoundUp(size == 0 ? 1 : size, alignment_);
  uint64_t offset = static_cast<uint64_t>(start - base_);
  uint64_t length = rounded;
  assert(offset + length <= size_);
  // Merge with the free neighbours above and below.
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && next->first == offset + length) {
    length += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      length += prev->second;
      free_.erase(prev);
    }
  }
  free_[offset] = length;
  DecommitFreePages(static_cast<uint64_t>(start - base_), rounded);
}

// page_use_ counts the allocated bytes on each page, so a block may be
// freed in pieces (NativeModule allocates a batch as one block and frees
// each code object of it on its own).
bool CodeSpace::CommitPages(uint64_t offset, uint64_t size) {
  const uint64_t first = offset / page_size_;
  const uint64_t last = (offset + size - 1) / page_size_;
  uint64_t fresh = 0;
  for (uint64_t page = first; page <= last; ++page) {
    fresh += page_use_.count(page) == 0;
  }
  if (fresh != 0 && accounting_ &&
      !accounting_(static_cast<int64_t>(fresh * page_size_))) {
    return false;
  }
  for (uint64_t page = first; page <= last; ++page) {
    const uint64_t begin = std::max(offset, page * page_size_);
    const uint64_t end = std::min(offset + size, (page + 1) * page_size_);
    uint64_t& used = page_use_[page];
    if (used == 0) {
      protection_->CommitPages(base_ + page * page_size_, page_size_);
      ++committed_pages_;
    }
    used += end - begin;
  }
  return true;
}

void CodeSpace::DecommitFreePages(uint64_t offset, uint64_t size) {
  const uint64_t first = offset / page_size_;
  const uint64_t last = (offset + size - 1) / page_size_;
  for (uint64_t page = first; page <= last; ++page) {
    const uint64_t begin = std::max(offset, page * page_size_);
    const uint64_t end = std::min(offset + size, (page + 1) * page_size_);
    auto it = page_use_.find(page);
    assert(it != page_use_.end() && it->second >= end - begin);
    it->second -= end - begin;
    if (it->second == 0) {
      page_use_.erase(it);
      uint8_t* at = base_ + page * page_size_;
      madvise(at, page_size_, MADV_DONTNEED);
      mprotect(at, page_size_, PROT_NONE);
      --committed_pages_;
      if (accounting_) accounting_(-static_cast<int64_t>(page_size_));
    }
  }
}

}  // namespace wasmcache::reference
