#include "spec/cache_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "spec/errors.h"

namespace wasmcache {
namespace {

absl::Status SystemError(int error, const std::string& path,
                         std::string_view doing, uint64_t offset) {
  return absl::Status(
      absl::ErrnoToStatusCode(error),
      FormatError(section::kFile,
                  absl::StrFormat("cannot %s %s: %s", doing, path,
                                  std::strerror(error)),
                  offset));
}

}  // namespace

absl::StatusOr<CacheFile> CacheFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SystemError(errno, path, "open", 0);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return SystemError(error, path, "stat", 0);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(FormatError(
        section::kFile, absl::StrFormat("%s is not a regular file", path),
        0));
  }
  return CacheFile(path, fd, static_cast<uint64_t>(st.st_size));
}

CacheFile::~CacheFile() {
  if (fd_ >= 0) ::close(fd_);
}

CacheFile::CacheFile(CacheFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_) {}

CacheFile& CacheFile::operator=(CacheFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

absl::StatusOr<uint64_t> CacheFile::ReadSome(uint64_t offset, uint64_t size,
                                             uint8_t* to) const {
  for (;;) {
    const ssize_t n = ::pread(fd_, to, size, static_cast<off_t>(offset));
    if (n >= 0) return static_cast<uint64_t>(n);
    if (errno != EINTR) {
      return absl::UnavailableError(
          SystemError(errno, path_, "read", offset).message());
    }
  }
}

absl::Status CacheFile::ReadAt(uint64_t offset, uint64_t size,
                               uint8_t* to) const {
  while (size > 0) {
    absl::StatusOr<uint64_t> n = ReadSome(offset, size, to);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::UnavailableError(FormatError(
          section::kFile,
          absl::StrFormat("%s ends before its size when opened (%d bytes)",
                          path_, size_),
          offset));
    }
    offset += *n;
    size -= *n;
    to += *n;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> CacheFile::ReadAll() const {
  // The size when opened, then whatever the file has grown by since.
  std::vector<uint8_t> bytes(size_);
  uint64_t at = 0;
  while (at < bytes.size()) {
    absl::StatusOr<uint64_t> n =
        ReadSome(at, bytes.size() - at, bytes.data() + at);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      bytes.resize(at);  // the file has shrunk
      return bytes;
    }
    at += *n;
  }
  uint8_t more[16 * 1024];
  for (;;) {
    absl::StatusOr<uint64_t> n = ReadSome(at, sizeof(more), more);
    if (!n.ok()) return n.status();
    if (*n == 0) return bytes;
    bytes.insert(bytes.end(), more, more + *n);
    at += *n;
  }
}

absl::StatusOr<std::vector<uint8_t>> ReadCacheFile(const std::string& path) {
  absl::StatusOr<CacheFile> file = CacheFile::Open(path);
  if (!file.ok()) return file.status();
  return file->ReadAll();
}

}  // namespace wasmcache
