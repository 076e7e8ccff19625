// Function and module names of a wasm module, decoded on first use.
//
// What: the name a debugger would show for function i. V8 keeps these in its
// NamesProvider (GetNamesProvider() of a NativeModule) and prints them for
// DevTools; wasmcache uses them to label functions in reports. A name comes
// from, in order of precedence:
//
//   1. the "name" custom section, subsection 1 (function names), printed
//      with a "$" in front:                          "$fib"
//   2. the function's import, "$<module>.<field>":    "$env.add"
//   3. the function's first export with a non-empty name: "$add3"
//
// This is V8's order: its NamesProvider::PrintFunctionName looks up the name
// section first, and only for functions without an entry there computes
// import names and then export names, an export never replacing an import
// name or an earlier export. Import and export names are sanitized the way
// V8 does it: each character that may not appear in a text-format identifier
// (space, quotes, parentheses, comma, semicolon, brackets, braces, control
// characters, and every non-ASCII character: one per UTF-16 code unit)
// becomes '_'. Names from the name section are printed as they are. V8
// prints "$func<N>" for a function with no name at all; here that is nullopt
// and the caller decides.
//
// Name section rules (V8 13.6, module-decoder.cc and names-provider.cc):
//   - only the first custom section called "name" counts;
//   - of the function-names subsections only the first counts; of
//     module-name subsections (id 0) the last one whose name is valid UTF-8
//     counts, as in V8;
//   - within the function names, the first entry for an index wins (V8's
//     NameMap keeps the first insertion); an entry for an index outside the
//     module's functions is ignored (V8 stores entries up to 10,000,000 but
//     never looks one up outside the functions);
//   - an entry whose name is not valid UTF-8 is skipped, as in V8; an empty
//     name is a name ("$");
//   - other subsections (locals, labels, types, ...) are skipped by length.
//
// Where wasmcache is stricter than V8: V8 decodes what it can and keeps the
// names read before the first error (its function-name decoder reads the
// entries without holding them to the subsection's declared size). Here the
// name section is all or nothing: any malformation (a LEB128 too long or out
// of range, a field or name running past its subsection, a subsection running
// past the section, a subsection whose size does not match its contents, a
// subsection id with the top bit set) discards every name-section name, and
// name_section_status() says why and where. Import and export names do not
// depend on the name section and stay available.
//
// Laziness and threads: the constructor only stores the span. The first call
// of any accessor walks the module's sections once (under std::call_once),
// reads the import, function and export sections and the name section, and
// builds every name; later calls are lookups. Any number of threads may call
// the accessors concurrently, including the first time.
//
// Errors: "wasm: <what> at offset 0x<hex>", offsets in the wire bytes.
//   - module_status(): the module's sections could not be walked (bad
//     preamble; a section, or a field of the import, function or export
//     section, running past its end: kOutOfRange; a malformed field:
//     kDataLoss; more imports, functions or exports than V8 allows:
//     kResourceExhausted). Then no name is available at all.
//   - name_section_status(): why the name section was ignored. Every error
//     inside a name section whose declared size fits the module is kDataLoss
//     (the section is present but unusable, as V8 would ignore it), even a
//     field that runs past the end of its subsection; a module that ends
//     inside the name section is a module error, kOutOfRange. When the module
//     itself could not be walked this returns module_status().
//
// Trust: the wire bytes are untrusted; nothing here reads outside them, and
// no allocation is sized by a count read from them.

#ifndef WASMCACHE_REFERENCE_NAMES_PROVIDER_H_
#define WASMCACHE_REFERENCE_NAMES_PROVIDER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"

namespace wasmcache::reference {

// V8's limits (wasm-limits.h, module-decoder.cc) beyond those of
// module_info.h.
inline constexpr uint32_t kMaxExports = 100'000;
// NameMap::kMaxKey: name-section entries with a larger index are dropped.
inline constexpr uint32_t kMaxNameMapKey = 10'000'000;

class NamesProvider {
 public:
  // Borrows `wire_bytes`: they must stay alive and unchanged for the life
  // of the provider. Cost: none; nothing is read until the first lookup.
  explicit NamesProvider(absl::Span<const uint8_t> wire_bytes);

  NamesProvider(const NamesProvider&) = delete;
  NamesProvider& operator=(const NamesProvider&) = delete;

  // Name of function `function_index` (counting imported functions), as
  // V8 prints it for DevTools ("$fib", "$env.add"), or nullopt if it has
  // none or the index is not a function of the module. The view stays valid
  // for the life of the provider. Cost: the first call of any accessor
  // decodes (linear in the module size); then a hash lookup.
  std::optional<std::string_view> FunctionName(uint32_t function_index) const;

  // The module name (name subsection 0) as stored, without a "$", or
  // nullopt. Empty if the module's name is the empty string.
  std::optional<std::string_view> ModuleName() const;

  // OK if there is no name section or it was read; else why it was ignored.
  absl::Status name_section_status() const;

  // OK if the module's sections were walked; else why no names exist.
  absl::Status module_status() const;

  // How many times the module was decoded: 0 before the first lookup, 1
  // after. For tests of the laziness.
  int decode_count_for_testing() const {
    return decode_count_.load(std::memory_order_acquire);
  }

 private:
  void EnsureDecoded() const;
  void Decode() const;

  absl::Span<const uint8_t> wire_bytes_;

  // Written once, inside the call_once; read-only afterwards.
  mutable std::once_flag decode_once_;
  mutable std::atomic<int> decode_count_{0};
  mutable absl::Status module_status_;
  mutable absl::Status name_section_status_;
  mutable absl::flat_hash_map<uint32_t, std::string> function_names_;
  mutable std::optional<std::string> module_name_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_NAMES_PROVIDER_H_
