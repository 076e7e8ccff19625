#include "reference/wasm_code.h"

#include <cassert>

#include "reference/native_module.h"

namespace wasmcache::reference {
namespace {

thread_local WasmCodeRefScope* current_scope = nullptr;

}  // namespace

void WasmCode::DecRef() {
  int count = ref_count_.load(std::memory_order_acquire);
  while (count > 1) {
    if (ref_count_.compare_exchange_weak(count, count - 1,
                                         std::memory_order_acq_rel)) {
      return;
    }
  }
  assert(count == 1);
  // Possibly the last reference: it is dropped under the code manager's
  // lock, which a lookup holds while it references code found by pc.
  native_module_->OnCodeDead(this);
}

WasmCodeRefScope::WasmCodeRefScope() : previous_(current_scope) {
  current_scope = this;
}

WasmCodeRefScope::~WasmCodeRefScope() {
  assert(current_scope == this);
  current_scope = previous_;
  for (WasmCode* code : code_) code->DecRef();
}

bool WasmCodeRefScope::AddRef(WasmCode* code) {
  if (current_scope == nullptr) return false;
  code->IncRef();
  current_scope->code_.push_back(code);
  return true;
}

bool WasmCodeRefScope::IsOpen() { return current_scope != nullptr; }

}  // namespace wasmcache::reference
