// WasmCode: one function's machine code in code space, reference counted,
// and WasmCodeRefScope, which keeps code alive while a thread works with it.
//
// Lifetime. A code object starts with one reference, held by whoever added
// it (the unpublished handle); publishing moves that reference to the
// module's code table. Removing code from the table (RemoveCompiledCode, or
// publishing a replacement) drops the table's reference. Code found by pc
// (CodeManager::LookupCode) or fetched while a WasmCodeRefScope is open on
// the thread gets a reference from that scope, dropped when the scope
// closes. When the count reaches zero the code is dead: its module frees it
// exactly once (returns its region to the allocator, flushes the pc lookup
// cache). The last reference is dropped under the code manager's lock, the
// lock under which a lookup references code it found by pc: so a lookup
// either references the code before the count can reach zero, or finds it
// gone.
//
// A module must outlive every scope holding its code: destroying a
// NativeModule while a scope still references its code aborts with a
// message (the scope would otherwise drop references on freed code).

#ifndef WASMCACHE_REFERENCE_WASM_CODE_H_
#define WASMCACHE_REFERENCE_WASM_CODE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "spec/layout.h"

namespace wasmcache::reference {

class NativeModule;

enum class ForDebugging : uint8_t { kNotForDebugging, kForDebugging };

class WasmCode {
 public:
  WasmCode(NativeModule* native_module, uint32_t index,
           const CodeHeader& header, uint8_t* instructions,
           std::array<std::vector<uint8_t>, kNumCodeParts> parts,
           ForDebugging for_debugging = ForDebugging::kNotForDebugging)
      : native_module_(native_module),
        index_(index),
        header_(header),
        instructions_(instructions),
        parts_(std::move(parts)),
        for_debugging_(for_debugging) {}

  NativeModule* native_module() const { return native_module_; }
  // Function index, counting imports.
  uint32_t index() const { return index_; }
  const CodeHeader& header() const { return header_; }
  uint8_t tier() const { return header_.tier; }
  bool is_liftoff() const { return header_.tier == kTierLiftoff; }
  bool is_turbofan() const { return header_.tier == kTierTurboFan; }
  bool for_debugging() const {
    return for_debugging_ == ForDebugging::kForDebugging;
  }
  uint64_t instruction_start() const {
    return reinterpret_cast<uintptr_t>(instructions_);
  }
  uint32_t instructions_size() const {
    return static_cast<uint32_t>(header_.instructions_size);
  }
  absl::Span<const uint8_t> instructions() const {
    return {instructions_, instructions_size()};
  }
  uint8_t* mutable_instructions() const { return instructions_; }
  bool contains(uint64_t pc) const {
    return pc >= instruction_start() &&
           pc < instruction_start() + instructions_size();
  }
  // A variable part other than the instructions (those live in code space).
  const std::vector<uint8_t>& part(CodePart part) const {
    return parts_[static_cast<int>(part)];
  }

  // Reference counting (see the file comment).
  void IncRef() { ref_count_.fetch_add(1, std::memory_order_relaxed); }
  // Drops a reference. The last one is dropped under the code manager's
  // lock (NativeModule::OnCodeDead), and the code is then freed.
  void DecRef();
  // With the code manager's lock held: drops a reference; true if it was
  // the last.
  bool DecRefLocked() {
    return ref_count_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
  int ref_count() const { return ref_count_.load(std::memory_order_acquire); }

 private:
  NativeModule* native_module_;
  uint32_t index_;
  CodeHeader header_;
  uint8_t* instructions_;
  std::array<std::vector<uint8_t>, kNumCodeParts> parts_;
  ForDebugging for_debugging_;
  std::atomic<int> ref_count_{1};
};

// Keeps every code object added to it alive until the scope closes. Scopes
// nest per thread; CodeManager::LookupCode and NativeModule::GetCode add
// their result to the innermost open scope of the calling thread.
class WasmCodeRefScope {
 public:
  WasmCodeRefScope();
  ~WasmCodeRefScope();
  WasmCodeRefScope(const WasmCodeRefScope&) = delete;
  WasmCodeRefScope& operator=(const WasmCodeRefScope&) = delete;

  // Adds a reference to `code` in the innermost scope of this thread.
  // Returns false (adding nothing) if the thread has no open scope.
  static bool AddRef(WasmCode* code);
  static bool IsOpen();

 private:
  WasmCodeRefScope* previous_;
  std::vector<WasmCode*> code_;
};

}  // namespace wasmcache::reference

#endif  // WASMCACHE_REFERENCE_WASM_CODE_H_
