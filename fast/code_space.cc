#include "fast/code_space.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>

#include "absl/strings/str_format.h"
#include "fast/pages.h"
#include "spec/errors.h"

namespace wasmcache::fast {
namespace {

// A failed mprotect on memory we own would leave code writable or dead:
// never continue past one.
void MustSucceed(int result) {
  if (result != 0) std::abort();
}

// The process's key for code, write-disabled for every thread: allocated
// during static initialization, before any thread but main exists (PKRU
// is copied to new threads).
int CodeKey() {
  static const int key = pkey_alloc(0, PKEY_DISABLE_WRITE);
  return key;
}
[[maybe_unused]] const int code_key_at_startup = CodeKey();

// This thread's open windows: per key mode (one register per thread) and
// per protection (for MemoryProtectionKeyWritable in mprotect mode).
thread_local uint32_t key_windows = 0;
thread_local absl::flat_hash_map<const CodeProtection*, uint32_t>
    thread_windows;

struct PageRange {
  uint8_t* first;
  uint64_t pages;
};
PageRange PagesOf(uint8_t* start, uint64_t size) {
  const uint64_t page = PageSize();
  const uintptr_t begin = reinterpret_cast<uintptr_t>(start) & ~(page - 1);
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(start) + size + page - 1) & ~(page - 1);
  return {reinterpret_cast<uint8_t*>(begin), (end - begin) / page};
}

}  // namespace

// --- CodeProtection ----------------------------------------------------------

bool CodeProtection::HasMemoryProtectionKeySupport() { return CodeKey() >= 0; }

CodeProtection::CodeProtection(bool use_memory_protection_keys)
    : key_(use_memory_protection_keys ? CodeKey() : -1) {}

bool CodeProtection::MemoryProtectionKeyWritable() const {
  if (key_ >= 0) return (pkey_get(key_) & PKEY_DISABLE_WRITE) == 0;
  const auto it = thread_windows.find(this);
  return it != thread_windows.end() && it->second != 0;
}

void CodeProtection::CommitPages(uint8_t* start, uint64_t size) const {
  const PageRange r = PagesOf(start, size);
  const uint64_t bytes = r.pages * PageSize();
  MustSucceed(key_ >= 0 ? pkey_mprotect(r.first, bytes,
                                        PROT_READ | PROT_WRITE | PROT_EXEC,
                                        key_)
                        : mprotect(r.first, bytes, PROT_READ | PROT_EXEC));
}

// Without a key: counts one window more (`opening`) or less on each page
// of [start, start + size) and gives the pages whose count left or reached
// zero their new permissions, one mprotect per run of such pages.
void CodeProtection::CountWindows(uint8_t* start, uint64_t size,
                                  bool opening) const {
  const PageRange r = PagesOf(start, size);
  const uint64_t page = PageSize();
  const int prot = opening ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC;
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t run = 0;
  for (uint64_t p = 0; p <= r.pages; ++p) {
    bool flips = false;
    if (p < r.pages) {
      const auto at = reinterpret_cast<uintptr_t>(r.first + p * page);
      if (opening) {
        flips = windows_[at]++ == 0;
      } else {
        auto it = windows_.find(at);
        if (it == windows_.end()) std::abort();  // unbalanced scopes
        flips = --it->second == 0;
        if (flips) windows_.erase(it);
      }
    }
    if (flips) {
      ++run;
    } else if (run != 0) {
      MustSucceed(mprotect(r.first + (p - run) * page, run * page, prot));
      run = 0;
    }
  }
}

void CodeProtection::BeginWrite(uint8_t* start, uint64_t size) const {
  ++thread_windows[this];
  if (key_ < 0) {
    CountWindows(start, size, /*opening=*/true);
  } else if (key_windows++ == 0) {
    MustSucceed(pkey_set(key_, 0));
  }
}

void CodeProtection::EndWrite(uint8_t* start, uint64_t size) const {
  --thread_windows[this];
  if (key_ < 0) {
    CountWindows(start, size, /*opening=*/false);
  } else if (--key_windows == 0) {
    MustSucceed(pkey_set(key_, PKEY_DISABLE_WRITE));
  }
}

CodeWriteScope::~CodeWriteScope() {
  __builtin___clear_cache(reinterpret_cast<char*>(start_),
                          reinterpret_cast<char*>(start_ + size_));
  protection_.EndWrite(start_, size_);
}

// --- CodeSpace -----------------------------------------------------------------

void* MapCodeSpace(uint64_t size, int prot, uint64_t address_limit) {
  const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (address_limit == 0) return MapLarge(size, prot);
  // Below the limit: try hints from 256 MiB up, 64 MiB apart (aligned to
  // any huge-page size).
  for (uint64_t hint = uint64_t{256} << 20; hint + size <= address_limit;
       hint += uint64_t{64} << 20) {
    void* at = mmap(reinterpret_cast<void*>(hint), size, prot,
                    flags | MAP_FIXED_NOREPLACE, -1, 0);
    if (at == MAP_FAILED) continue;
    if (reinterpret_cast<uintptr_t>(at) + size <= address_limit) {
      AdviseHugePages(at, size);
      return at;
    }
    munmap(at, size);
  }
  return MAP_FAILED;
}

CodeSpace::CodeSpace(uint8_t* base, uint64_t size, uint32_t alignment,
                     const CodeProtection* protection,
                     AccountingHook accounting)
    : base_(base),
      size_(size),
      alignment_(alignment),
      page_size_(PageSize()),
      own_protection_(protection == nullptr
                          ? std::make_unique<CodeProtection>(false)
                          : nullptr),
      protection_(protection == nullptr ? own_protection_.get() : protection),
      accounting_(std::move(accounting)),
      page_bytes_(size / page_size_, 0) {}

absl::StatusOr<std::unique_ptr<CodeSpace>> CodeSpace::Reserve(
    uint64_t size, uint32_t alignment, const CodeProtection* protection,
    AccountingHook accounting, uint64_t address_limit) {
  const uint64_t page = PageSize();
  size = (size + page - 1) / page * page;
  void* base = size == 0 ? MAP_FAILED
                         : MapCodeSpace(size, PROT_NONE, address_limit);
  if (base == MAP_FAILED) {
    return LimitError(
        section::kCodeSpace,
        absl::StrFormat("cannot reserve %d bytes of code space", size), 0);
  }
  std::unique_ptr<CodeSpace> space(new CodeSpace(static_cast<uint8_t*>(base),
                                                 size, alignment, protection,
                                                 std::move(accounting)));
  space->free_[0] = size;  // all of it free
  return space;
}

std::unique_ptr<CodeSpace> CodeSpace::Adopt(uint8_t* base, uint64_t size,
                                            uint64_t used, uint32_t alignment,
                                            const CodeProtection* protection,
                                            AccountingHook accounting) {
  std::unique_ptr<CodeSpace> space(new CodeSpace(
      base, size, alignment, protection, std::move(accounting)));
  for (uint64_t at = 0; at < used; at += space->page_size_) {
    space->page_bytes_[at / space->page_size_] =
        static_cast<uint32_t>(std::min(space->page_size_, used - at));
    ++space->committed_pages_;
  }
  const uint64_t first_free = space->Round(used);
  if (first_free < size) space->free_[first_free] = size;
  return space;
}

CodeSpace::~CodeSpace() {
  munmap(base_, size_);
  if (accounting_ && committed_pages_ != 0) {
    accounting_(-static_cast<int64_t>(committed_bytes()));
  }
}

// The pages of a range whose count is or becomes zero are contiguous: every
// page strictly inside the range is wholly in it, so only the first and the
// last can hold other allocations. Each change of permissions is therefore
// one call for the whole run.

bool CodeSpace::Use(uint64_t offset, uint64_t size) {
  const uint64_t first = offset / page_size_;
  const uint64_t end = (offset + size + page_size_ - 1) / page_size_;
  uint64_t run_start = end, run_end = first;  // the pages with nothing yet
  for (uint64_t p = first; p < end; ++p) {
    if (page_bytes_[p] != 0) continue;
    run_start = std::min(run_start, p);
    run_end = p + 1;
  }
  const uint64_t fresh = run_end > run_start ? run_end - run_start : 0;
  if (fresh != 0 && accounting_ &&
      !accounting_(static_cast<int64_t>(fresh * page_size_))) {
    return false;
  }
  // Fresh pages come back zeroed from the kernel.
  if (fresh != 0) {
    protection_->CommitPages(base_ + run_start * page_size_,
                             fresh * page_size_);
  }
  committed_pages_ += fresh;
  for (uint64_t p = first; p < end; ++p) {
    const uint64_t lo = std::max(offset, p * page_size_);
    const uint64_t hi = std::min(offset + size, (p + 1) * page_size_);
    page_bytes_[p] += static_cast<uint32_t>(hi - lo);
  }
  return true;
}

void CodeSpace::Unuse(uint64_t offset, uint64_t size) {
  const uint64_t first = offset / page_size_;
  const uint64_t end = (offset + size + page_size_ - 1) / page_size_;
  uint64_t run_start = end, run_end = first;  // the pages left empty
  for (uint64_t p = first; p < end; ++p) {
    const uint64_t lo = std::max(offset, p * page_size_);
    const uint64_t hi = std::min(offset + size, (p + 1) * page_size_);
    page_bytes_[p] -= static_cast<uint32_t>(hi - lo);
    if (page_bytes_[p] != 0) continue;
    run_start = std::min(run_start, p);
    run_end = p + 1;
  }
  if (run_end <= run_start) return;
  const uint64_t released = run_end - run_start;
  uint8_t* at = base_ + run_start * page_size_;
  MustSucceed(mprotect(at, released * page_size_, PROT_NONE));
  madvise(at, released * page_size_, MADV_DONTNEED);
  committed_pages_ -= released;
  if (accounting_) accounting_(-static_cast<int64_t>(released * page_size_));
}

bool CodeSpace::HasRoomFor(uint64_t size) const {
  const uint64_t need = Round(size);
  for (const auto& [start, end] : free_) {
    if (end - start >= need) return true;
  }
  return false;
}

absl::StatusOr<uint8_t*> CodeSpace::Allocate(uint64_t size) {
  const uint64_t need = Round(size);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const auto [start, end] = *it;
    if (end - start < need) continue;
    if (!Use(start, need)) {
      return LimitError(section::kCodeSpace,
                        absl::StrFormat("committing %d bytes of code is over "
                                        "the committed code-space limit",
                                        need),
                        0);
    }
    free_.erase(it);
    if (start + need < end) free_[start + need] = end;
    return base_ + start;
  }
  return LimitError(
      section::kCodeSpace,
      absl::StrFormat("no free range of %d bytes in the code space", need), 0);
}

void CodeSpace::Free(uint8_t* start, uint64_t size) {
  uint64_t lo = static_cast<uint64_t>(start - base_);
  uint64_t hi = lo + Round(size);
  Unuse(lo, hi - lo);
  // Merge with the free neighbours on both sides.
  auto next = free_.lower_bound(lo);
  if (next != free_.end() && next->first == hi) {
    hi = next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto previous = std::prev(next);
    if (previous->second == lo) {
      previous->second = hi;
      return;
    }
  }
  free_[lo] = hi;
}

uint64_t CodeSpace::free_bytes() const {
  uint64_t total = 0;
  for (const auto& [start, end] : free_) total += end - start;
  return total;
}

}  // namespace wasmcache::fast
