// W^X for code memory: no page is writable and executable at once.
//
// Two ways to get there, chosen once per CodeManager:
//
//   memory protection keys  Where the CPU and kernel offer them
//                           (pkey_alloc succeeds), code pages are mapped
//                           read+write+execute and tagged with one key. Every
//                           thread's PKRU register denies writes through the
//                           key, except inside a write scope on that thread,
//                           so only the writing thread can write code, and
//                           other threads keep executing it meanwhile. This
//                           is what V8 does.
//   mprotect (fallback)     Pages are read+write while code is written and
//                           read+execute afterwards; a write scope flips the
//                           pages it touches to read+write and back. The
//                           switch is process-wide: a thread that executes a
//                           page while another writes it would fault, so
//                           threads that run code while it may be patched
//                           hold an ExecutionScope of the module, which the
//                           write scope excludes (spec/FORMAT.md does not
//                           depend on this; it is a property of loading).
//
// The key is the process's: allocated once, with writes disabled, before
// main() runs, so every thread inherits "no write" for it; a thread started
// inside a write window inherits that window's rights (the kernel copies
// the register), so start threads outside write windows.
//
// The seed's queries: HasMemoryProtectionKeySupport() (the system offers a
// key), MemoryProtectionKeysEnabled() (this manager uses one) and
// MemoryProtectionKeyWritable() (the calling thread may write now).

#ifndef WASMCACHE_REFERENCE_CODE_PROTECTION_H_
#define WASMCACHE_REFERENCE_CODE_PROTECTION_H_

#include <cstdint>
#include <map>
#include <mutex>

namespace wasmcache::reference {

class CodeProtection {
 public:
  // Whether pkey_alloc works on this machine (probed once per process).
  static bool HasMemoryProtectionKeySupport();

  // Uses a protection key if `use_memory_protection_keys` and the system
  // supports it; else mprotect.
  explicit CodeProtection(bool use_memory_protection_keys);
  ~CodeProtection();
  CodeProtection(const CodeProtection&) = delete;
  CodeProtection& operator=(const CodeProtection&) = delete;

  bool MemoryProtectionKeysEnabled() const { return pkey_ >= 0; }
  // True if the calling thread may write code now (always false outside a
  // write scope).
  bool MemoryProtectionKeyWritable() const;

  // Permissions of freshly committed pages and of pages at rest.
  void CommitPages(uint8_t* start, uint64_t size) const;
  // Enter/leave a write window on [start, start + size) for this thread.
  void BeginWrite(uint8_t* start, uint64_t size) const;
  void EndWrite(uint8_t* start, uint64_t size) const;

 private:
  int pkey_ = -1;
  // mprotect mode: open write windows per page; a page turns back to
  // read+execute only when its last window closes.
  mutable std::mutex pages_mutex_;
  mutable std::map<uintptr_t, int> open_pages_;
};

// Opens a write window for the calling thread for its lifetime; nests.
class CodeWriteScope {
 public:
  CodeWriteScope(const CodeProtection& protection, uint8_t* start,
                 uint64_t size);
  ~CodeWriteScope();
  CodeWriteScope(const CodeWriteScope&) = delete;
  CodeWriteScope& operator=(const CodeWriteScope&) = delete;

 private:
  const CodeProtection& protection_;
  uint8_t* start_;
  uint64_t size_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_CODE_PROTECTION_H_
