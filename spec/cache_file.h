// Reading a cache from a file, for every implementation.
//
// A cache file is opened by path and read with pread: errors name the
// section "file" and the offset where reading failed, with the code of the
// system's error (kNotFound, kPermissionDenied, ...); a path that is not a
// regular file (a directory, say) is kFailedPrecondition. Reading never
// maps the file, so a file truncated or rewritten while it is read gives
// short or different bytes, never a fault.

#ifndef WASMCACHE_SPEC_CACHE_FILE_H_
#define WASMCACHE_SPEC_CACHE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wasmcache {

namespace section {
inline constexpr std::string_view kFile = "file";
}  // namespace section

// An open cache file (closed by the destructor).
class CacheFile {
 public:
  static absl::StatusOr<CacheFile> Open(const std::string& path);
  ~CacheFile();
  CacheFile(CacheFile&& other) noexcept;
  CacheFile& operator=(CacheFile&& other) noexcept;
  CacheFile(const CacheFile&) = delete;
  CacheFile& operator=(const CacheFile&) = delete;

  const std::string& path() const { return path_; }
  // The size when the file was opened; the file may change afterwards.
  uint64_t size() const { return size_; }
  // Reads [offset, offset + size) into `to`; kUnavailable (section "file")
  // if the system refuses or the file now ends before (the bytes at `to`
  // are then unspecified).
  absl::Status ReadAt(uint64_t offset, uint64_t size, uint8_t* to) const;
  // Every byte up to the end as it is now (the file may have grown or
  // shrunk since it was opened).
  absl::StatusOr<std::vector<uint8_t>> ReadAll() const;

 private:
  CacheFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  // One pread at `offset` (retried when interrupted): the bytes read, 0 at
  // the end of the file.
  absl::StatusOr<uint64_t> ReadSome(uint64_t offset, uint64_t size,
                                    uint8_t* to) const;

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Opens `path` and reads it whole.
absl::StatusOr<std::vector<uint8_t>> ReadCacheFile(const std::string& path);

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_CACHE_FILE_H_
