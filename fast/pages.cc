#include "fast/pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

namespace wasmcache::fast {
namespace {

// Reads the first line of a sysfs file ("" if it cannot).
void ReadLine(const char* path, char* line, size_t size) {
  line[0] = '\0';
  if (FILE* f = std::fopen(path, "r")) {
    if (std::fgets(line, static_cast<int>(size), f) == nullptr) line[0] = '\0';
    std::fclose(f);
  }
}

uint64_t ProbeHugePageSize() {
#ifdef MADV_HUGEPAGE
  // "always [madvise] never": the bracketed mode is in force.
  char mode[128];
  ReadLine("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof mode);
  if (std::strstr(mode, "[always]") == nullptr &&
      std::strstr(mode, "[madvise]") == nullptr) {
    return 0;
  }
  char size[64];
  ReadLine("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", size,
           sizeof size);
  const uint64_t bytes = std::strtoull(size, nullptr, 10);
  // A power of two above the base page, or none.
  if (bytes <= PageSize() || (bytes & (bytes - 1)) != 0) return 0;
  return bytes;
#else
  return 0;
#endif
}

}  // namespace

uint64_t PageSize() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

uint64_t HugePageSize() {
  static const uint64_t size = ProbeHugePageSize();
  return size;
}

bool WorthHugePages(uint64_t bytes) {
  const uint64_t huge = HugePageSize();
  return huge != 0 && bytes >= 4 * huge;
}

bool AdviseHugePages(void* base, uint64_t size) {
#ifdef MADV_HUGEPAGE
  return WorthHugePages(size) && madvise(base, size, MADV_HUGEPAGE) == 0;
#else
  (void)base, (void)size;
  return false;
#endif
}

void* MapLarge(uint64_t size, int prot) {
  const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (!WorthHugePages(size)) return mmap(nullptr, size, prot, flags, -1, 0);
  // Over-map by one huge page and trim both ends to the alignment.
  const uint64_t huge = HugePageSize();
  void* raw = mmap(nullptr, size + huge, prot, flags, -1, 0);
  if (raw == MAP_FAILED) return raw;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = AlignUp(start, huge);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t tail = aligned + size;
  if (start + size + huge > tail) {
    munmap(reinterpret_cast<void*>(tail), start + size + huge - tail);
  }
  AdviseHugePages(reinterpret_cast<void*>(aligned), size);
  return reinterpret_cast<void*>(aligned);
}

bool PopulateForWriting(uint8_t* base, uint64_t from, uint64_t to) {
#ifdef MADV_POPULATE_WRITE
  const uintptr_t start = reinterpret_cast<uintptr_t>(base);
  const uintptr_t lo = (start + from) / PageSize() * PageSize();
  const uintptr_t hi = AlignUp(start + to, PageSize());
  return to <= from || madvise(reinterpret_cast<void*>(lo), hi - lo,
                               MADV_POPULATE_WRITE) == 0;
#else
  (void)base, (void)from, (void)to;
  return false;
#endif
}

void* AllocateLarge(uint64_t size) {
  void* base = MapLarge(size, PROT_READ | PROT_WRITE);
  if (base == MAP_FAILED) throw std::bad_alloc();
  return base;
}

void FreeLarge(void* p, uint64_t size) { munmap(p, size); }

LargeBuffer::LargeBuffer(uint64_t size)
    : data_(static_cast<uint8_t*>(AllocateLarge(std::max<uint64_t>(size, 1)))),
      size_(std::max<uint64_t>(size, 1)),
      huge_(WorthHugePages(size_)) {}

LargeBuffer::~LargeBuffer() {
  if (data_ != nullptr) FreeLarge(data_, size_);
}

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      huge_(std::exchange(other.huge_, false)) {}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) FreeLarge(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    huge_ = std::exchange(other.huge_, false);
  }
  return *this;
}

void HugePopulator::Populate(uint64_t end) {
  const uint64_t huge = HugePageSize();
  const uint64_t to = std::min(size_, AlignUp(end, huge));
  PopulateForWriting(base_, populated_, to);
  populated_ = to;
}

}  // namespace wasmcache::fast
