#include "reference/code_space.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cassert>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache::reference {
namespace {

uint64_t RoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CodeSpace>> CodeSpace::Reserve(
    uint64_t size, uint32_t alignment) {
  const auto page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t rounded = RoundUp(size == 0 ? 1 : size, page_size);
  void* base = mmap(nullptr, rounded, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    return LimitError(section::kCodeSpace,
                      absl::StrFormat("cannot reserve %d bytes", rounded), 0);
  }
  return std::unique_ptr<CodeSpace>(new CodeSpace(
      static_cast<uint8_t*>(base), rounded, alignment, page_size));
}

CodeSpace::CodeSpace(uint8_t* base, uint64_t size, uint32_t alignment,
                     uint64_t page_size)
    : base_(base), size_(size), alignment_(alignment), page_size_(page_size) {
  free_[0] = size;
}

CodeSpace::~CodeSpace() { munmap(base_, size_); }

uint64_t CodeSpace::free_bytes() const {
  uint64_t total = 0;
  for (const auto& [offset, size] : free_) total += size;
  return total;
}

absl::StatusOr<uint8_t*> CodeSpace::Allocate(uint64_t size) {
  const uint64_t rounded = RoundUp(size == 0 ? 1 : size, alignment_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const uint64_t start = RoundUp(it->first, alignment_);
    const uint64_t end = it->first + it->second;
    if (start > end || end - start < rounded) continue;
    // Split the free region around [start, start + rounded).
    const uint64_t region_start = it->first;
    free_.erase(it);
    if (start > region_start) free_[region_start] = start - region_start;
    if (start + rounded < end) free_[start + rounded] = end - start - rounded;
    CommitPages(start, rounded);
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

void CodeSpace::CommitPages(uint64_t offset, uint64_t size) {
  const uint64_t first = offset / page_size_;
  const uint64_t last = (offset + size - 1) / page_size_;
  for (uint64_t page = first; page <= last; ++page) {
    if (page_use_[page]++ == 0) {
      mprotect(base_ + page * page_size_, page_size_, PROT_READ | PROT_WRITE);
      ++committed_pages_;
    }
  }
}

void CodeSpace::DecommitFreePages(uint64_t offset, uint64_t size) {
  const uint64_t first = offset / page_size_;
  const uint64_t last = (offset + size - 1) / page_size_;
  for (uint64_t page = first; page <= last; ++page) {
    auto it = page_use_.find(page);
    assert(it != page_use_.end() && it->second > 0);
    if (--it->second == 0) {
      page_use_.erase(it);
      uint8_t* at = base_ + page * page_size_;
      madvise(at, page_size_, MADV_DONTNEED);
      mprotect(at, page_size_, PROT_NONE);
      --committed_pages_;
    }
  }
}

}  // namespace wasmcache::reference
