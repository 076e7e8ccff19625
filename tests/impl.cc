#include "tests/impl.h"

#include <cstdlib>

#include "fast/deserializer.h"
#include "fast/serializer.h"
#include "gtest/gtest.h"
#include "reference/code_manager.h"
#include "reference/deserializer.h"
#include "reference/serializer.h"

namespace wasmcache::testing {
namespace {

// The one flow, over either implementation's types.
template <class Manager, class Load, class MakeSerializer>
absl::Status Check(Manager& manager, Load load, MakeSerializer serializer_of,
                   std::vector<uint8_t>* out) {
  {
    auto native = load();
    if (!native.ok()) {
      EXPECT_EQ(manager.num_code_spaces(), 0u)
          << "a rejected cache left code spaces: " << native.status();
      EXPECT_EQ(manager.committed_bytes(), 0u)
          << "a rejected cache left committed code: " << native.status();
      return native.status();
    }
    EXPECT_GE(manager.num_code_spaces(), 1u);
    auto serializer = serializer_of(**native);
    auto bytes = serializer.Serialize();
    if (!bytes.ok()) {
      ADD_FAILURE() << "an accepted cache does not serialize: "
                    << bytes.status();
      return absl::InternalError("serialization failed");
    }
    EXPECT_EQ(serializer.Measure(), bytes->size());
    if (out != nullptr) out->assign(bytes->begin(), bytes->end());
  }
  EXPECT_EQ(manager.num_code_spaces(), 0u);
  EXPECT_EQ(manager.committed_bytes(), 0u);
  return absl::OkStatus();
}

}  // namespace

Impl SelectedImpl() {
  const char* value = std::getenv("WASMCACHE_IMPL");
  const std::string name = value == nullptr ? "" : value;
  if (name == "fast") return Impl::kFast;
  if (name == "fast1") return Impl::kFastOneThread;
  if (!name.empty() && name != "reference") {
    ADD_FAILURE() << "unknown WASMCACHE_IMPL " << name;
  }
  return Impl::kReference;
}

std::string ImplName(Impl impl) {
  switch (impl) {
    case Impl::kReference:
      return "reference";
    case Impl::kFast:
      return "fast";
    case Impl::kFastOneThread:
      return "fast1";
  }
  return "?";
}

namespace {

// Check() over the implementation `impl` selects: `load_reference(manager)`
// or `load_fast(manager, options)` loads the module.
template <class LoadReference, class LoadFast>
absl::Status CheckImpl(Impl impl, LoadReference load_reference,
                       LoadFast load_fast, fast::LoadOptions options,
                       std::vector<uint8_t>* out) {
  if (impl == Impl::kReference) {
    reference::CodeManager manager;
    return Check(
        manager, [&] { return load_reference(manager); },
        [](const reference::NativeModule& m) {
          return reference::Serializer(m);
        },
        out);
  }
  options.max_threads = impl == Impl::kFastOneThread ? 1 : 0;
  fast::CodeManager manager;
  return Check(
      manager, [&] { return load_fast(manager, options); },
      [&](const fast::NativeModule& m) { return fast::Serializer(m, options); },
      out);
}

}  // namespace

absl::Status LoadAndSerialize(Impl impl, absl::Span<const uint8_t> cache,
                              const ModuleInfo& module, const Environment& env,
                              std::vector<uint8_t>* out) {
  return CheckImpl(
      impl,
      [&](reference::CodeManager& manager) {
        return reference::Deserialize(manager, cache, module, env);
      },
      [&](fast::CodeManager& manager, const fast::LoadOptions& options) {
        return fast::Deserialize(manager, cache, module, env, options);
      },
      {}, out);
}

absl::Status LoadFileAndSerialize(Impl impl, const std::string& path,
                                  const ModuleInfo& module,
                                  const Environment& env,
                                  std::vector<uint8_t>* out,
                                  FastFileLoad* fast_file) {
  fast::FileLoadStats stats;
  fast::LoadOptions options;
  options.file_window_bytes =
      fast_file == nullptr ? 0 : fast_file->window_bytes;
  options.file_stats = &stats;
  const absl::Status status = CheckImpl(
      impl,
      [&](reference::CodeManager& manager) {
        return reference::DeserializeFile(manager, path, module, env);
      },
      [&](fast::CodeManager& manager, const fast::LoadOptions& options) {
        return fast::DeserializeFile(manager, path, module, env, options);
      },
      options, out);
  if (fast_file != nullptr) {
    fast_file->streamed = stats.streamed;
    fast_file->bytes_read = stats.bytes_read;
    fast_file->max_resident_bytes = stats.max_resident_bytes;
  }
  return status;
}

void ExpectReferenceSectionAndOffset(const absl::Status& status,
                                     absl::Span<const uint8_t> cache,
                                     const ModuleInfo& module,
                                     const Environment& env) {
  auto section_and_offset = [](const absl::Status& st) {
    const std::string m(st.message());
    const size_t colon = m.find(": ");
    const size_t at = m.rfind(" at offset 0x");
    return std::make_pair(m.substr(0, colon == m.npos ? 0 : colon),
                          at == m.npos ? "" : m.substr(at));
  };
  const absl::Status reference =
      LoadAndSerialize(Impl::kReference, cache, module, env);
  EXPECT_EQ(section_and_offset(status), section_and_offset(reference))
      << status << "\nreference: " << reference;
}

}  // namespace wasmcache::testing
