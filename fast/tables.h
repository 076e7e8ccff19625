// Writing a code space's jump tables (spec/FORMAT.md, "Jump tables"): the
// deserializer writes them once with their final targets, a module made
// empty or grown writes them pointing at the lazy stubs and the code it
// has, and publishing patches one function's slots.

#ifndef WASMCACHE_FAST_TABLES_H_
#define WASMCACHE_FAST_TABLES_H_

#include <algorithm>
#include <cstdint>

#include "fast/arch.h"
#include "fast/module.h"

namespace wasmcache::fast {

// Where the tables go in a code space.
struct TableLayout {
  uint64_t near_offset, far_offset, lazy_offset, end;
};

inline TableLayout TablesOf(const ArchTraits& t, uint32_t num_declared,
                            uint64_t num_builtins, bool with_lazy) {
  auto align = [&](uint64_t v) {
    return (v + t.code_alignment - 1) / t.code_alignment * t.code_alignment;
  };
  const uint64_t far_slots =
      num_builtins + (t.far_jumps_between_code_spaces ? num_declared : 0);
  TableLayout l;
  l.near_offset = 0;
  l.far_offset = align(JumpTableSize(t, num_declared));
  l.lazy_offset = align(l.far_offset + far_slots * t.far_jump_table_slot_size);
  l.end = align(l.lazy_offset +
                (with_lazy ? uint64_t{num_declared} * t.lazy_compile_slot_size
                           : 0));
  return l;
}

inline void PlaceTables(CodeSpaceInfo& space, const TableLayout& l,
                        bool with_lazy) {
  space.near_offset = l.near_offset;
  space.far_offset = l.far_offset;
  space.lazy_offset = l.lazy_offset;
  space.tables_end = l.end;
  space.has_lazy_table = with_lazy;
}

// Points declared function `i`'s near slot, at `at` in `space`, at
// `target`, through the space's far slot of the function when the near slot
// cannot reach.
inline void WriteFunctionSlotAt(const NativeModule& m, const ArchOps& ops,
                                const CodeSpaceInfo& space, uint32_t i,
                                uint64_t at, uint64_t target) {
  const uint64_t base = space.start();
  if (ops.write_near_slot(space.base + (at - base), at, target)) return;
  const uint64_t far = m.far_slot(
      space, static_cast<uint32_t>(m.env().far_slot_builtins.size()) + i);
  ops.write_far_slot(space.base + (far - base), far, target);
  ops.write_near_slot(space.base + (at - base), at, far);
}

inline void WriteFunctionSlot(const NativeModule& m, const ArchOps& ops,
                              const CodeSpaceInfo& space, uint32_t i,
                              uint64_t target) {
  WriteFunctionSlotAt(m, ops, space, i, m.near_slot(space, i), target);
}

// Writes every table of `space` (writable); function i's slots lead to
// target_of(i).
template <class TargetOf>
void WriteTables(const NativeModule& m, const ArchOps& ops,
                 const CodeSpaceInfo& space, TargetOf target_of) {
  const ArchTraits& t = m.traits();
  const Environment& env = m.env();
  const uint32_t n = m.module().num_declared_functions;
  const auto builtins = static_cast<uint32_t>(env.far_slot_builtins.size());
  const uint64_t base = space.start();
  for (uint32_t s = 0; s < builtins; ++s) {
    const uint64_t at = m.far_slot(space, s);
    ops.write_far_slot(space.base + (at - base), at, env.BuiltinEntry(s));
  }
  // A function's far slot jumps to itself until a near slot needs it.
  const uint32_t function_far_slots = t.far_jumps_between_code_spaces ? n : 0;
  for (uint32_t i = 0; i < function_far_slots; ++i) {
    const uint64_t at = m.far_slot(space, builtins + i);
    ops.write_far_slot(space.base + (at - base), at, at);
  }
  if (space.has_lazy_table) {
    const auto lazy_builtin = static_cast<uint32_t>(
        std::find(env.far_slot_builtins.begin(), env.far_slot_builtins.end(),
                  env.lazy_compile_builtin) -
        env.far_slot_builtins.begin());
    const uint64_t lazy_target = m.far_slot(space, lazy_builtin);
    for (uint32_t i = 0; i < n; ++i) {
      const uint64_t at =
          base + space.lazy_offset + uint64_t{i} * t.lazy_compile_slot_size;
      ops.write_lazy_slot(space.base + (at - base), at,
                          m.module().num_imported_functions + i, lazy_target);
    }
  }
  // Within a line, slots follow one another; each line starts where the
  // slot map puts it (one division per line, not per slot).
  const uint32_t per_line = SlotsPerLine(t);
  for (uint32_t first = 0; first < n; first += per_line) {
    uint64_t at = m.near_slot(space, first);
    const uint32_t end = std::min(n, first + per_line);
    for (uint32_t i = first; i < end; ++i, at += t.jump_table_slot_size) {
      WriteFunctionSlotAt(m, ops, space, i, at, target_of(i));
    }
  }
}

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_TABLES_H_
