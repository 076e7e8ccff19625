// Pages of the fast implementation: the system's page sizes, faulting
// pages in ahead of their writes, and the large per-load buffers.
//
// A load writes tens of megabytes into fresh anonymous memory (the code,
// the WasmCode array, the metadata arena). Faulting that in 4 KiB at a time
// costs the kernel more than the copying itself (measured on the
// 100,000-function cache: 26 MB of code copied into fresh 4 KiB pages took
// about 14 ms, into transparent huge pages about 2.4 ms). Buffers large
// enough to fill several huge pages are therefore aligned to the huge-page
// size and advised for transparent huge pages, where the system offers
// them on request (transparent_hugepage/enabled "always" or "madvise").

#ifndef WASMCACHE_FAST_PAGES_H_
#define WASMCACHE_FAST_PAGES_H_

#include <cstddef>
#include <cstdint>

namespace wasmcache::fast {

// `v` rounded up to a multiple of `a` (> 0).
inline uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

uint64_t PageSize();

// The size of a transparent huge page when a mapping can ask for them
// (MADV_HUGEPAGE); 0 when the system has none or never gives them.
uint64_t HugePageSize();

// Whether a buffer of `bytes` is worth huge pages: it fills at least four,
// so the last one, which may be only partly used, wastes under a quarter.
bool WorthHugePages(uint64_t bytes);

// Maps `size` bytes of anonymous private memory (MAP_NORESERVE), aligned to
// the huge-page size when WorthHugePages(size), and advises huge pages for
// it then. MAP_FAILED if the system refuses.
void* MapLarge(uint64_t size, int prot);

// Read+write memory from MapLarge, freed with FreeLarge(p, size). Throws
// std::bad_alloc when the system refuses, as operator new does.
void* AllocateLarge(uint64_t size);
void FreeLarge(void* p, uint64_t size);

// Asks for huge pages on [base, base + size) when worth it (an address
// chosen elsewhere); true if the advice was taken.
bool AdviseHugePages(void* base, uint64_t size);

// Faults in the pages holding bytes [from, to) after `base` for writing,
// in one call: the kernel then takes no trap per page. Only a hint (false
// if refused: a kernel before 5.14 or an emulator); the first write faults
// a page in anyway. The contents of the pages do not change.
bool PopulateForWriting(uint8_t* base, uint64_t from, uint64_t to);

// An owned AllocateLarge buffer (at least one byte).
class LargeBuffer {
 public:
  LargeBuffer() = default;
  explicit LargeBuffer(uint64_t size);
  ~LargeBuffer();
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  // Advised for huge pages (and aligned to them).
  bool huge() const { return huge_; }

 private:
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool huge_ = false;
};

// Faults in a buffer's pages for writing ahead of its writers, one huge
// page at a time: Reach(end) populates every huge page up to the one
// holding byte end - 1. Only for buffers advised for huge pages (a
// populate of 4 KiB pages costs as much as the faults it saves); does
// nothing otherwise. Single-threaded.
class HugePopulator {
 public:
  HugePopulator(uint8_t* base, uint64_t size, bool huge)
      : base_(base), size_(size), on_(huge) {}
  bool on() const { return on_; }
  void Reach(uint64_t end) {
    if (on_ && end > populated_) Populate(end);
  }

 private:
  void Populate(uint64_t end);
  uint8_t* base_;
  uint64_t size_;
  bool on_;
  uint64_t populated_ = 0;
};

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_PAGES_H_
