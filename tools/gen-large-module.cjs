#!/usr/bin/env node
// gen-large-module.cjs — writes a large, deterministic wasm module for the
// benchmarks (tools/bench.sh): by default 100,000 functions whose TurboFan
// code (node --no-liftoff --no-wasm-lazy-compilation) comes to about 26 MB
// of x64 machine code, the size the deserializer's targets are stated for.
//
// Usage: node tools/gen-large-module.cjs out.wasm [FUNCTION_COUNT]
//
// With 100,000 functions (Node 24.20, V8 13.6.233.17, x64): 12.95 MB of
// wire bytes, 25.88 MB of TurboFan code, a 36.06 MB cache; about 1 s to
// generate, about 6 s to compile on 2 idle cores (build/bench/PROVENANCE).
//
// Deterministic: a fixed-seed PRNG, no dates; the bytes depend only on this
// file and FUNCTION_COUNT. The binary encoding is written directly (no wabt).
//
// The module:
//   types     0: (i32, i32) -> i32   ("A", about 60% of the functions)
//             1: (i64, i32) -> i64   ("B")
//             2: (f64, i32) -> f64   ("C")
//   table     funcref, TABLE_SIZE entries: the first TABLE_SIZE A functions
//   memory    1 page (min 1, max 1), a small data segment
//   global    one mutable i32
//   exports   "memory", "table", "f0", a few functions spread over the
//             index space, and "last"
// Each body initializes its locals from the parameters, then runs a
// sequence of statements: i32/i64/f64 arithmetic on small expression trees
// (including constant divisions and saturating conversions), memory loads
// and stores at masked in-bounds addresses, direct calls of earlier
// functions, call_indirect through the table (only from functions above
// every table entry), br_table over 4-8 dense cases (x64: jump tables with
// INTERNAL_REFERENCE), if/else, short counted loops and global accesses.
// Calls only go to lower function indices and loops are counted, so every
// export returns; loads and stores never leave the page, divisions are by
// constants > 1 and float-to-int conversions saturate, so nothing traps
// except a call_indirect whose table slot holds another type (none does:
// the table holds A functions and call_indirect uses type A).
'use strict';
const fs = require('fs');

const DEFAULT_COUNT = 100000;
const TABLE_SIZE = 1024;            // power of two: indices are masked
// Statements per body: MIN_STATEMENTS + a random number below
// EXTRA_STATEMENTS + one more with probability ONE_MORE (3.78 on average).
// These set the code size: each statement is about 73 bytes of x64
// TurboFan code on average, 100,000 functions about 7.3 MB per statement.
const MIN_STATEMENTS = 2;
const EXTRA_STATEMENTS = 4;
const ONE_MORE = 0.28;
const SEED = 0x5eed1e55;

// ---------------------------------------------------------------------------
// Bytes

class Writer {
  constructor(capacity = 1 << 16) {
    this.bytes = new Uint8Array(capacity);
    this.length = 0;
  }
  reserve(n) {
    if (this.length + n <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.length + n) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  byte(b) {
    this.reserve(1);
    this.bytes[this.length++] = b;
  }
  raw(array) {
    this.reserve(array.length);
    this.bytes.set(array, this.length);
    this.length += array.length;
  }
  u32(value) {              // unsigned LEB128
    do {
      let b = value & 0x7f;
      value = Math.floor(value / 128);
      if (value !== 0) b |= 0x80;
      this.byte(b);
    } while (value !== 0);
  }
  s32(value) {              // signed LEB128 of a 32-bit integer
    value |= 0;
    for (;;) {
      const b = value & 0x7f;
      value >>= 7;
      if ((value === 0 && (b & 0x40) === 0) || (value === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }
  s64(value) {              // signed LEB128 of a BigInt
    value = BigInt.asIntN(64, value);
    for (;;) {
      const b = Number(value & 0x7fn);
      value >>= 7n;
      if ((value === 0n && (b & 0x40) === 0) || (value === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }
  f64(value) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    this.raw(new Uint8Array(view.buffer));
  }
  name(text) {
    const utf8 = Buffer.from(text, 'utf8');
    this.u32(utf8.length);
    this.raw(utf8);
  }
  view() { return this.bytes.subarray(0, this.length); }
}

function section(out, id, body) {
  out.byte(id);
  out.u32(body.length);
  out.raw(body.view());
}

// ---------------------------------------------------------------------------
// Opcodes and types

const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c, FUNCREF = 0x70, VOID = 0x40;
const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br_if: 0x0d, br_table: 0x0e, call: 0x10, call_indirect: 0x11, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22, global_get: 0x23, global_set: 0x24,
  i32_load: 0x28, i64_load: 0x29, f64_load: 0x2b, i32_load8_u: 0x2d, i32_load16_s: 0x2e,
  i64_load32_u: 0x35, i32_store: 0x36, i64_store: 0x37, f64_store: 0x39, i32_store8: 0x3a,
  i32_store16: 0x3b,
  i32_const: 0x41, i64_const: 0x42, f64_const: 0x44,
  i32_eqz: 0x45, i64_eqz: 0x50, i64_lt_s: 0x53, f64_lt: 0x63, f64_gt: 0x64,
  i32_and: 0x71, i32_add: 0x6a, i32_lt_u: 0x49,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
  f64_convert_i32_s: 0xb7, f64_convert_i64_s: 0xb9,
  i64_reinterpret_f64: 0xbd, f64_reinterpret_i64: 0xbf,
  prefix_fc: 0xfc,
};
// Binary operators that cannot trap, per type.
const I32_BINARY = [0x6a, 0x6b, 0x6c, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
                    0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4f];
const I32_UNARY = [0x67, 0x68, 0x69, 0x45];
const I32_DIVISION = [0x6d, 0x6e, 0x6f, 0x70];           // by a constant > 1
const I64_BINARY = [0x7c, 0x7d, 0x7e, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a];
const I64_UNARY = [0x79, 0x7a, 0x7b];
const I64_DIVISION = [0x7f, 0x80, 0x81, 0x82];
const F64_BINARY = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6];
const F64_UNARY = [0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f];

// Function kinds: the type index, the first parameter's type, the result type.
const KINDS = [
  { type: 0, param: I32 },
  { type: 1, param: I64 },
  { type: 2, param: F64 },
];
// Locals: 0 p0 (kind's type), 1 p1 i32, 2 a i32, 3 b i32, 4 l i64, 5 d f64,
// 6 k i32 (loop counter, used by loops only).
const L_P0 = 0, L_P1 = 1, L_A = 2, L_B = 3, L_L = 4, L_D = 5, L_K = 6;
const I32_LOCALS = [L_P1, L_A, L_B];
const ASSIGNABLE_I32 = [L_A, L_B];

// ---------------------------------------------------------------------------
// Deterministic randomness (mulberry32)

let state = SEED >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const below = (n) => Math.floor(random() * n);
const pick = (array) => array[below(array.length)];
const chance = (p) => random() < p;

// ---------------------------------------------------------------------------
// Function bodies

class BodyWriter {
  constructor(out, index, kind, calls) {
    this.out = out;
    this.index = index;
    this.kind = kind;
    this.calls = calls;      // { byKind: [[indices], ...], tableTop }
  }

  i32Const(value) { this.out.byte(OP.i32_const); this.out.s32(value); }
  i64Const(value) { this.out.byte(OP.i64_const); this.out.s64(value); }
  get(local) { this.out.byte(OP.local_get); this.out.u32(local); }
  set(local) { this.out.byte(OP.local_set); this.out.u32(local); }

  // An i32 address inside the page, plus a static offset that keeps
  // address + offset + 8 within 64 KiB; returns the offset.
  address() {
    this.i32Expr(1);
    this.i32Const(0x7ff8);
    this.out.byte(OP.i32_and);
    return below(0x700) * 8;
  }
  memarg(align, offset) { this.out.u32(align); this.out.u32(offset); }

  i32Expr(depth) {
    const r = depth <= 0 ? below(3) : below(12);
    switch (r) {
      case 0: case 1: this.get(pick(I32_LOCALS)); return;
      case 2: this.i32Const((random() * 4294967296) | 0); return;
      case 3: case 4: case 5:
        this.i32Expr(depth - 1); this.i32Expr(depth - 1); this.out.byte(pick(I32_BINARY)); return;
      case 6: this.i32Expr(depth - 1); this.out.byte(pick(I32_UNARY)); return;
      case 7: this.i32Expr(depth - 1); this.i32Const(3 + below(1000)); this.out.byte(pick(I32_DIVISION)); return;
      case 8: {
        const offset = this.address();
        const [op, align] = pick([[OP.i32_load, 2], [OP.i32_load8_u, 0], [OP.i32_load16_s, 1]]);
        this.out.byte(op); this.memarg(align, offset); return;
      }
      case 9: this.i64Expr(depth - 1); this.out.byte(OP.i32_wrap_i64); return;
      case 10:
        this.f64Expr(depth - 1);
        if (chance(0.5)) { this.out.byte(OP.prefix_fc); this.out.u32(2); }   // i32.trunc_sat_f64_s
        else { this.f64Expr(0); this.out.byte(pick([OP.f64_lt, OP.f64_gt])); }
        return;
      default:
        this.i32Expr(depth - 1); this.i32Expr(depth - 1); this.i32Expr(depth - 1);
        this.out.byte(OP.select); return;
    }
  }

  i64Expr(depth) {
    const r = depth <= 0 ? below(3) : below(9);
    switch (r) {
      case 0: this.get(L_L); return;
      case 1: this.get(pick(I32_LOCALS)); this.out.byte(pick([OP.i64_extend_i32_s, OP.i64_extend_i32_u])); return;
      case 2: this.i64Const(BigInt.asIntN(64, BigInt(Math.floor(random() * 2 ** 53)) * 2654435761n)); return;
      case 3: case 4:
        this.i64Expr(depth - 1); this.i64Expr(depth - 1); this.out.byte(pick(I64_BINARY)); return;
      case 5: this.i64Expr(depth - 1); this.out.byte(pick(I64_UNARY)); return;
      case 6: this.i64Expr(depth - 1); this.i64Const(BigInt(3 + below(100000))); this.out.byte(pick(I64_DIVISION)); return;
      case 7: {
        const offset = this.address();
        const [op, align] = pick([[OP.i64_load, 3], [OP.i64_load32_u, 2]]);
        this.out.byte(op); this.memarg(align, offset); return;
      }
      default:
        this.f64Expr(depth - 1);
        if (chance(0.5)) { this.out.byte(OP.prefix_fc); this.out.u32(6); }   // i64.trunc_sat_f64_s
        else this.out.byte(OP.i64_reinterpret_f64);
        return;
    }
  }

  f64Expr(depth) {
    const r = depth <= 0 ? below(3) : below(8);
    switch (r) {
      case 0: this.get(L_D); return;
      case 1: this.get(pick(I32_LOCALS)); this.out.byte(OP.f64_convert_i32_s); return;
      case 2: this.out.byte(OP.f64_const); this.out.f64((below(2000000) - 1000000) / 64); return;
      case 3: case 4:
        this.f64Expr(depth - 1); this.f64Expr(depth - 1); this.out.byte(pick(F64_BINARY)); return;
      case 5: this.f64Expr(depth - 1); this.out.byte(pick(F64_UNARY)); return;
      case 6: {
        const offset = this.address();
        this.out.byte(OP.f64_load); this.memarg(3, offset); return;
      }
      default: this.i64Expr(depth - 1); this.out.byte(OP.f64_convert_i64_s); return;
    }
  }

  // Pushes the arguments for a function of kind k, calls it, stores the
  // result in the local of its type.
  callArguments(k) {
    if (k === 0) this.i32Expr(1);
    else if (k === 1) this.i64Expr(1);
    else this.f64Expr(1);
    this.i32Expr(1);
  }
  storeResult(k) { this.set(k === 0 ? pick(ASSIGNABLE_I32) : k === 1 ? L_L : L_D); }

  directCall() {
    let k = below(10) < 6 ? 0 : 1 + below(2);
    let candidates = this.calls.byKind[k];
    if (candidates.length === 0) { k = 0; candidates = this.calls.byKind[0]; }
    if (candidates.length === 0) return false;
    // Mostly recent functions, sometimes any earlier one.
    const callee = chance(0.7)
      ? candidates[Math.max(0, candidates.length - 1 - below(256))]
      : candidates[below(candidates.length)];
    this.callArguments(k);
    this.out.byte(OP.call); this.out.u32(callee);
    this.storeResult(k);
    return true;
  }

  indirectCall() {
    if (this.index <= this.calls.tableTop) return false;
    this.callArguments(0);
    this.i32Expr(1);
    this.i32Const(TABLE_SIZE - 1);
    this.out.byte(OP.i32_and);
    this.out.byte(OP.call_indirect); this.out.u32(0); this.out.byte(0);
    this.storeResult(0);
    return true;
  }

  // A statement without calls, branches or loops.
  simple() {
    switch (below(7)) {
      case 0: case 1: this.i32Expr(2); this.set(pick(ASSIGNABLE_I32)); return;
      case 2: this.i64Expr(2); this.set(L_L); return;
      case 3: this.f64Expr(2); this.set(L_D); return;
      case 4: {
        const offset = this.address();
        const kind = below(5);
        if (kind === 0) { this.i64Expr(1); this.out.byte(OP.i64_store); this.memarg(3, offset); }
        else if (kind === 1) { this.f64Expr(1); this.out.byte(OP.f64_store); this.memarg(3, offset); }
        else {
          const [op, align] = pick([[OP.i32_store, 2], [OP.i32_store8, 0], [OP.i32_store16, 1]]);
          this.i32Expr(1); this.out.byte(op); this.memarg(align, offset);
        }
        return;
      }
      case 5:
        this.out.byte(OP.global_get); this.out.u32(0);
        this.i32Expr(1); this.out.byte(OP.i32_add);
        this.out.byte(OP.global_set); this.out.u32(0);
        return;
      default:
        this.i32Expr(1); this.out.byte(OP.local_tee); this.out.u32(pick(ASSIGNABLE_I32));
        this.i32Expr(1); this.out.byte(pick(I32_BINARY)); this.set(pick(ASSIGNABLE_I32));
    }
  }

  brTable() {
    const cases = 4 + below(5);
    for (let i = 0; i <= cases; i++) { this.out.byte(OP.block); this.out.byte(VOID); }
    this.i32Expr(1);
    this.out.byte(OP.br_table);
    this.out.u32(cases);
    for (let i = 0; i < cases; i++) this.out.u32(i);
    this.out.u32(cases);                      // default: out of every block
    this.out.byte(OP.end);
    for (let i = 0; i < cases; i++) {
      this.simple();
      this.out.byte(OP.end);
    }
  }

  ifElse() {
    this.i32Expr(2);
    this.out.byte(OP.if); this.out.byte(VOID);
    this.simple();
    if (chance(0.7)) { this.out.byte(OP.else); this.simple(); }
    this.out.byte(OP.end);
  }

  countedLoop() {
    this.i32Const(0); this.set(L_K);
    this.out.byte(OP.loop); this.out.byte(VOID);
    this.simple();
    this.get(L_K); this.i32Const(1); this.out.byte(OP.i32_add);
    this.out.byte(OP.local_tee); this.out.u32(L_K);
    this.i32Const(2 + below(6)); this.out.byte(OP.i32_lt_u);
    this.out.byte(OP.br_if); this.out.u32(0);
    this.out.byte(OP.end);
  }

  statement() {
    const r = below(100);
    if (r < 14 && this.directCall()) return;
    if (r >= 14 && r < 18 && this.indirectCall()) return;
    if (r >= 18 && r < 24) { this.brTable(); return; }
    if (r >= 24 && r < 32) { this.ifElse(); return; }
    if (r >= 32 && r < 35) { this.countedLoop(); return; }
    this.simple();
  }

  write() {
    const { param } = KINDS[this.kind];
    // Locals after the two parameters: a, b: i32; l: i64; d: f64; k: i32.
    const locals = new Writer(16);
    locals.u32(4);
    locals.u32(2); locals.byte(I32);
    locals.u32(1); locals.byte(I64);
    locals.u32(1); locals.byte(F64);
    locals.u32(1); locals.byte(I32);
    this.out.raw(locals.view());
    // Initialize a, l, d from the parameters.
    this.get(param === I32 ? L_P0 : L_P1); this.set(L_A);
    if (param === I64) this.get(L_P0); else { this.get(L_P1); this.out.byte(OP.i64_extend_i32_s); }
    this.set(L_L);
    if (param === F64) this.get(L_P0); else { this.get(L_P1); this.out.byte(OP.f64_convert_i32_s); }
    this.set(L_D);
    const count = MIN_STATEMENTS + below(EXTRA_STATEMENTS) + (chance(ONE_MORE) ? 1 : 0);
    for (let s = 0; s < count; s++) this.statement();
    // The result, of the kind's type.
    if (param === I32) { this.get(L_A); this.get(L_B); this.out.byte(OP.i32_add); }
    else if (param === I64) { this.get(L_L); this.get(L_A); this.out.byte(OP.i64_extend_i32_s); this.out.byte(0x7c); }
    else { this.get(L_D); this.get(L_B); this.out.byte(OP.f64_convert_i32_s); this.out.byte(0xa0); }
    this.out.byte(OP.end);
  }
}

// ---------------------------------------------------------------------------
// The module

function generate(count) {
  // Kinds first: 60% A, 20% B, 20% C; function 0 and the last are A.
  const kinds = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const r = below(10);
    kinds[i] = i === 0 || i === count - 1 ? 0 : r < 6 ? 0 : r < 8 ? 1 : 2;
  }
  const tableEntries = [];
  for (let i = 0; i < count && tableEntries.length < TABLE_SIZE; i++) {
    if (kinds[i] === 0) tableEntries.push(i);
  }
  while (tableEntries.length < TABLE_SIZE) tableEntries.push(0);
  const tableTop = Math.max(...tableEntries);

  const out = new Writer(1 << 24);
  out.raw([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  // 1 types
  const types = new Writer();
  types.u32(KINDS.length);
  for (const { param } of KINDS) {
    types.byte(0x60);
    types.u32(2); types.byte(param); types.byte(I32);
    types.u32(1); types.byte(param);
  }
  section(out, 1, types);

  // 3 functions
  const functions = new Writer(count * 2 + 16);
  functions.u32(count);
  for (let i = 0; i < count; i++) functions.u32(KINDS[kinds[i]].type);
  section(out, 3, functions);

  // 4 table: funcref, exactly TABLE_SIZE
  const table = new Writer();
  table.u32(1); table.byte(FUNCREF); table.byte(0x01); table.u32(TABLE_SIZE); table.u32(TABLE_SIZE);
  section(out, 4, table);

  // 5 memory: one page
  const memory = new Writer();
  memory.u32(1); memory.byte(0x01); memory.u32(1); memory.u32(1);
  section(out, 5, memory);

  // 6 global: mutable i32 = 0
  const globals = new Writer();
  globals.u32(1); globals.byte(I32); globals.byte(0x01);
  globals.byte(OP.i32_const); globals.s32(0); globals.byte(OP.end);
  section(out, 6, globals);

  // 7 exports
  const exportList = [['memory', 2, 0], ['table', 1, 0], ['f0', 0, 0]];
  for (const f of [1000, 10000, 50000]) {
    if (f < count - 1) exportList.push([`f${f}`, 0, f]);
  }
  if (count > 1) exportList.push(['last', 0, count - 1]);
  const exports = new Writer();
  exports.u32(exportList.length);
  for (const [name, kind, index] of exportList) { exports.name(name); exports.byte(kind); exports.u32(index); }
  section(out, 7, exports);

  // 9 elements: active, table 0, offset 0
  const elements = new Writer();
  elements.u32(1); elements.u32(0);
  elements.byte(OP.i32_const); elements.s32(0); elements.byte(OP.end);
  elements.u32(tableEntries.length);
  for (const f of tableEntries) elements.u32(f);
  section(out, 9, elements);

  // 10 code
  const code = new Writer(count * 160 + 16);
  code.u32(count);
  const calls = { byKind: [[], [], []], tableTop };
  const body = new Writer(4096);
  for (let i = 0; i < count; i++) {
    body.length = 0;
    new BodyWriter(body, i, kinds[i], calls).write();
    code.u32(body.length);
    code.raw(body.view());
    calls.byKind[kinds[i]].push(i);
  }
  section(out, 10, code);

  // 11 data: 64 bytes at 0
  const data = new Writer();
  data.u32(1); data.u32(0);
  data.byte(OP.i32_const); data.s32(0); data.byte(OP.end);
  data.u32(64);
  for (let i = 0; i < 64; i++) data.byte((i * 37 + 11) & 0xff);
  section(out, 11, data);

  return out.view();
}

function main(argv) {
  if (argv.length < 1 || argv.length > 2 || !/^[0-9]*$/.test(argv[1] ?? '')) {
    console.error('usage: node tools/gen-large-module.cjs out.wasm [FUNCTION_COUNT]');
    return 2;
  }
  const count = argv[1] === undefined ? DEFAULT_COUNT : Number(argv[1]);
  if (count < 1 || count > 1000000) {
    console.error('gen-large-module.cjs: FUNCTION_COUNT must be in [1, 1000000] (V8\'s limit)');
    return 2;
  }
  const bytes = generate(count);
  fs.writeFileSync(argv[0], bytes);
  console.error(`gen-large-module.cjs: ${argv[0]}: ${count} functions, ${bytes.length} bytes`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
