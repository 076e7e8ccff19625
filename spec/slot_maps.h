// Slot index <-> table offset maps of the jump tables, as word-domain
// templates (spec/word_domain.h).
//
// Deserialization turns a tag into an address (function index -> its near
// slot, builtin id -> its far slot); serialization turns an address back
// into a tag. Both implementations compute these with the templates below,
// instantiated with NativeDomain; the proofs (proofs/) instantiate them with
// Z3 bit-vectors and prove each pair inverse over its valid range.
//
// Near table: slots of `slot` bytes grouped in lines of `line` bytes, a
// line holding floor(line / slot) slots and ending in padding when slot
// does not divide it (ia32: 12 slots of 5 bytes, 4 bytes of padding).
//
//   offset(i) = (i / per_line) * line + (i % per_line) * slot
//   index(o)  = (o / line) * per_line + (o % line) / slot, defined when
//               (o % line) % slot == 0, (o % line) / slot < per_line
//               (not in the padding) and the index is below the count
//
// Far table: slots of `far` bytes, back to back.
//
//   offset(j) = j * far
//   index(o)  = o / far, defined when o % far == 0 and the index is below
//               the count

#ifndef WASMCACHE_SPEC_SLOT_MAPS_H_
#define WASMCACHE_SPEC_SLOT_MAPS_H_

#include <cstdint>

#include "spec/word_domain.h"

namespace wasmcache {

// The geometry of one table: slot size, and line size (the slot size for
// tables without lines).
struct SlotGeometry {
  uint64_t slot = 0;
  uint64_t line = 0;

  constexpr uint64_t per_line() const { return line / slot; }
};

template <class D>
struct SlotMap {
  using U64 = typename D::U64;
  using Bool = typename D::Bool;

  // Offset of slot `index` from the start of its table.
  static constexpr U64 Offset(SlotGeometry g, U64 index) {
    const uint64_t per_line = g.per_line();
    const U64 line = per_line == 1 ? index : D::UDiv(index, per_line);
    const U64 in_line =
        per_line == 1 ? D::C64(0) : D::URem(index, per_line);
    return D::Add(Times(line, g.line), Times(in_line, g.slot));
  }

  // The slot index at offset `offset`; meaningful when IsSlot.
  static constexpr U64 Index(SlotGeometry g, U64 offset) {
    if (g.per_line() == 1 && g.line == g.slot) return D::UDiv(offset, g.slot);
    const U64 line = D::UDiv(offset, g.line);
    const U64 in_line = D::URem(offset, g.line);
    const uint64_t per_line = g.per_line();
    const U64 lines = per_line == 1 ? line : Times(line, per_line);
    return D::Add(lines, D::UDiv(in_line, g.slot));
  }

  // `offset` is the start of one of the first `count` slots.
  static constexpr Bool IsSlot(SlotGeometry g, U64 offset, U64 count) {
    if (g.per_line() == 1 && g.line == g.slot) {
      return D::BoolAnd(D::Eq(D::URem(offset, g.slot), D::C64(0)),
                        D::Ult(Index(g, offset), count));
    }
    const U64 in_line = D::URem(offset, g.line);
    const Bool at_slot_start = D::Eq(D::URem(in_line, g.slot), D::C64(0));
    const Bool not_padding =
        D::Ult(D::UDiv(in_line, g.slot), D::C64(g.per_line()));
    return D::BoolAnd(D::BoolAnd(at_slot_start, not_padding),
                      D::Ult(Index(g, offset), count));
  }

 private:
  static constexpr U64 Times(U64 v, uint64_t c) { return D::MulC(v, c); }
};

}  // namespace wasmcache

#endif  // WASMCACHE_SPEC_SLOT_MAPS_H_
