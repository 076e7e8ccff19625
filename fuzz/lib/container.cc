#include "fuzz/lib/container.h"

namespace wasmcache::fuzz {

ContainerView ViewContainer(absl::Span<const uint8_t> bytes) {
  ContainerView v;
  if (bytes.empty()) return v;
  v.arch = static_cast<Arch>((bytes[0] & 0x0f) % kNumArchs);
  v.one_thread = (bytes[0] & kOneThreadBit) != 0;
  v.from_file = (bytes[0] & kFromFileBit) != 0;
  auto rest = bytes.subspan(1);
  uint64_t length = 0;
  for (int i = 0; i < 4 && i < static_cast<int>(rest.size()); ++i) {
    length |= uint64_t{rest[i]} << (8 * i);
  }
  rest = rest.subspan(rest.size() < 4 ? rest.size() : 4);
  if (length > rest.size()) length = rest.size();
  v.wasm = rest.subspan(0, length);
  v.cache = rest.subspan(length);
  return v;
}

Container ParseContainer(absl::Span<const uint8_t> bytes) {
  const ContainerView v = ViewContainer(bytes);
  Container c;
  c.arch = v.arch;
  c.flags = bytes.empty() ? 0 : static_cast<uint8_t>(bytes[0] & 0xf0);
  c.wasm.assign(v.wasm.begin(), v.wasm.end());
  c.cache.assign(v.cache.begin(), v.cache.end());
  return c;
}

std::vector<uint8_t> WriteContainer(const Container& c) {
  std::vector<uint8_t> out;
  out.reserve(kContainerHeaderSize + c.wasm.size() + c.cache.size());
  out.push_back(static_cast<uint8_t>((c.flags & 0xf0) |
                                     static_cast<uint8_t>(c.arch)));
  const uint32_t length = static_cast<uint32_t>(c.wasm.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(length >> (8 * i)));
  out.insert(out.end(), c.wasm.begin(), c.wasm.end());
  out.insert(out.end(), c.cache.begin(), c.cache.end());
  return out;
}

}  // namespace wasmcache::fuzz
