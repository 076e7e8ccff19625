#include "reference/code_protection.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cassert>
#include <cstdlib>

namespace wasmcache::reference {
namespace {

uint64_t PageSize() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

// Page-aligned cover of [start, start + size).
void PageCover(uint8_t* start, uint64_t size, uint8_t** first,
               uint64_t* length) {
  const uint64_t page = PageSize();
  const auto begin = reinterpret_cast<uintptr_t>(start) / page * page;
  const auto end =
      (reinterpret_cast<uintptr_t>(start) + size + page - 1) / page * page;
  *first = reinterpret_cast<uint8_t*>(begin);
  *length = end - begin;
}

// Open write scopes of this thread, per protection (pkey mode: PKRU is
// per thread).
thread_local std::map<const CodeProtection*, int> write_depth;

// The process's one protection key, allocated once, never freed.
// pkey_alloc's initial rights reach only the calling thread's PKRU; every
// other thread keeps the bits it copied from its creator (or the kernel's
// default, access disabled), and they outlive pkey_free. Allocated with
// writes disabled during static initialization, on the main thread before
// any other thread exists, so that every thread inherits read+execute, no
// write, for it.
int ProcessKey() {
  static const int key = pkey_alloc(0, PKEY_DISABLE_WRITE);
  return key;
}
[[maybe_unused]] const int early_process_key = ProcessKey();

// Open write windows of this thread on the process key (shared by every
// CodeProtection in key mode).
thread_local int key_write_depth = 0;

void Check(int result) {
  // A failing mprotect/pkey call on memory we own is a broken invariant;
  // continuing would leave code writable or unexecutable.
  if (result != 0) std::abort();
}

}  // namespace

bool CodeProtection::HasMemoryProtectionKeySupport() {
  return ProcessKey() >= 0;
}

CodeProtection::CodeProtection(bool use_memory_protection_keys) {
  // Writes are denied by default; a write scope lifts that per thread.
  if (use_memory_protection_keys) pkey_ = ProcessKey();
}

CodeProtection::~CodeProtection() = default;  // the key is the process's

bool CodeProtection::MemoryProtectionKeyWritable() const {
  if (pkey_ >= 0) return (pkey_get(pkey_) & PKEY_DISABLE_WRITE) == 0;
  auto it = write_depth.find(this);
  return it != write_depth.end() && it->second > 0;
}

void CodeProtection::CommitPages(uint8_t* start, uint64_t size) const {
  uint8_t* first;
  uint64_t length;
  PageCover(start, size, &first, &length);
  if (pkey_ >= 0) {
    Check(pkey_mprotect(first, length, PROT_READ | PROT_WRITE | PROT_EXEC,
                        pkey_));
  } else {
    Check(mprotect(first, length, PROT_READ | PROT_EXEC));
  }
}

void CodeProtection::BeginWrite(uint8_t* start, uint64_t size) const {
  ++write_depth[this];
  if (pkey_ >= 0) {
    if (key_write_depth++ == 0) Check(pkey_set(pkey_, 0));
    return;
  }
  uint8_t* first;
  uint64_t length;
  PageCover(start, size, &first, &length);
  const uint64_t page = PageSize();
  std::lock_guard<std::mutex> lock(pages_mutex_);
  for (uint64_t at = 0; at < length; at += page) {
    if (open_pages_[reinterpret_cast<uintptr_t>(first + at)]++ == 0) {
      Check(mprotect(first + at, page, PROT_READ | PROT_WRITE));
    }
  }
}

void CodeProtection::EndWrite(uint8_t* start, uint64_t size) const {
  const int depth = --write_depth[this];
  assert(depth >= 0);
  (void)depth;
  if (pkey_ >= 0) {
    if (--key_write_depth == 0) Check(pkey_set(pkey_, PKEY_DISABLE_WRITE));
    return;
  }
  uint8_t* first;
  uint64_t length;
  PageCover(start, size, &first, &length);
  const uint64_t page = PageSize();
  std::lock_guard<std::mutex> lock(pages_mutex_);
  for (uint64_t at = 0; at < length; at += page) {
    auto it = open_pages_.find(reinterpret_cast<uintptr_t>(first + at));
    assert(it != open_pages_.end());
    if (--it->second == 0) {
      open_pages_.erase(it);
      Check(mprotect(first + at, page, PROT_READ | PROT_EXEC));
    }
  }
}

CodeWriteScope::CodeWriteScope(const CodeProtection& protection,
                               uint8_t* start, uint64_t size)
    : protection_(protection), start_(start), size_(size) {
  protection_.BeginWrite(start_, size_);
}

CodeWriteScope::~CodeWriteScope() {
  // What was written is about to run: make the instruction cache see it
  // (a no-op on x86; needed on arm64, riscv64, s390x hosts).
  __builtin___clear_cache(reinterpret_cast<char*>(start_),
                          reinterpret_cast<char*>(start_ + size_));
  protection_.EndWrite(start_, size_);
}

}  // namespace wasmcache::reference
