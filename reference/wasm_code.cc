#include "reference/wasm_code.h"

#include <cassert>

#include "reference/native_module.h"

namespace wasmcache::reference {
namespace {

thread_local WasmCodeRefScope* current_scope = nullptr;

}  // namespace

void WasmCode::DecRef() {
  const int previous = ref_count_.fetch_sub(1, std::memory_order_acq_rel);
  assert(previous > 0);
  if (previous == 1) native_module_->OnCodeDead(this);
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
