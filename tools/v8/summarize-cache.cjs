// summarize-cache.cjs — an independent, minimal reading of a V8 13.6
// native-module cache, used by tools/build-fixtures.sh to record in
// PROVENANCE which relocation modes each fixture exercises. It is a
// cross-check for fixtures, not a validator: it trusts its input and knows
// only 64-bit little-endian targets (x64, arm64).
//
// Usage: node tools/v8/summarize-cache.cjs module.wasm module.cache
// Prints one JSON line: {"functions", "imports", "records": {tag: count},
//   "code_bytes", "header_code_bytes", "exact": bool, "relocs": {mode: count},
//   "tags": [tag per declared function], "budgets": [tiering budget per
//   declared function], "exports": {name: function index}}
// ("exact": the per-function tiering-budget trailer ends the buffer; tags
// are 2 lazy, 3 eager (Liftoff code that has run), 4 TurboFan).
// Also a module: require('./summarize-cache.cjs').summarize(wire, cache).
'use strict';
const fs = require('fs');

// RelocInfo::Mode names in V8 13.6 (src/codegen/reloc-info.h).
const MODE_NAMES = [
  'NO_INFO', 'CODE_TARGET', 'RELATIVE_CODE_TARGET', 'COMPRESSED_EMBEDDED_OBJECT',
  'FULL_EMBEDDED_OBJECT', 'WASM_CALL', 'WASM_STUB_CALL', 'WASM_CODE_POINTER_TABLE_ENTRY',
  'WASM_CANONICAL_SIG_ID', 'EXTERNAL_REFERENCE', 'INTERNAL_REFERENCE',
  'INTERNAL_REFERENCE_ENCODED', 'JS_DISPATCH_HANDLE', 'OFF_HEAP_TARGET',
  'NEAR_BUILTIN_ENTRY', 'CONST_POOL', 'VENEER_POOL', 'DEOPT_SCRIPT_OFFSET',
  'DEOPT_INLINING_ID', 'DEOPT_REASON', 'DEOPT_ID', 'DEOPT_NODE_ID', 'PC_JUMP',
];
const PC_JUMP = 22;
const DEOPT_REASON = 19;
const MODES_WITH_INT_PAYLOAD = new Set([15, 16, 17, 18, 20, 21]);

function readLeb(bytes, cursor) {
  let result = 0, shift = 0, byte;
  do {
    byte = bytes[cursor.at++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return result;
}

// Counts imported and declared functions from the wire bytes, and maps
// exported function names to function indices.
function countFunctions(wire) {
  const cursor = { at: 8 };
  let imported = 0, declared = 0;
  const exports = {};
  while (cursor.at < wire.length) {
    const id = wire[cursor.at++];
    const size = readLeb(wire, cursor);
    const end = cursor.at + size;
    if (id === 2) {
      const count = readLeb(wire, cursor);
      for (let i = 0; i < count; i++) {
        for (let name = 0; name < 2; name++) {
          const length = readLeb(wire, cursor);
          cursor.at += length;
        }
        const kind = wire[cursor.at++];
        if (kind === 0) { readLeb(wire, cursor); imported++; }
        else if (kind === 1) { cursor.at++; const f = readLeb(wire, cursor); readLeb(wire, cursor); if (f & 1) readLeb(wire, cursor); }
        else if (kind === 2) { const f = readLeb(wire, cursor); readLeb(wire, cursor); if (f & 1) readLeb(wire, cursor); }
        else if (kind === 3) { cursor.at += 2; }
        else if (kind === 4) { cursor.at++; readLeb(wire, cursor); }
        else throw new Error(`unknown import kind ${kind}`);
      }
    } else if (id === 3) {
      declared = readLeb(wire, cursor);
    } else if (id === 7) {
      const count = readLeb(wire, cursor);
      for (let i = 0; i < count; i++) {
        const length = readLeb(wire, cursor);
        const name = Buffer.from(wire.subarray(cursor.at, cursor.at + length)).toString('utf8');
        cursor.at += length;
        const kind = wire[cursor.at++];
        const index = readLeb(wire, cursor);
        if (kind === 0) exports[name] = index;
      }
    }
    cursor.at = end;
  }
  return { imported, declared, exports };
}

// Walks a RelocInfo stream backwards (V8 writes it from the end).
function countRelocs(reloc, counts) {
  let at = reloc.length - 1;
  while (at >= 0) {
    const first = reloc[at--];
    let mode;
    switch (first & 3) {
      case 0: mode = 4; break;
      case 1: mode = 1; break;
      case 2: mode = 6; break;
      default:
        mode = first >> 2;
        if (mode === PC_JUMP) {
          while (reloc[at--] & 0x80) {}
        } else {
          at--;                                   // pc delta byte
          if (mode === DEOPT_REASON) at -= 1;
          if (MODES_WITH_INT_PAYLOAD.has(mode)) at -= 4;
        }
    }
    const name = MODE_NAMES[mode] || `MODE_${mode}`;
    counts[name] = (counts[name] || 0) + 1;
  }
}

function summarize(wire, cache) {
  const { imported, declared, exports } = countFunctions(wire);
  const view = new DataView(cache.buffer, cache.byteOffset, cache.byteLength);
  let at = 20 + 4;                                // header, detected features
  const headerCodeBytes = Number(view.getBigUint64(at, true)); at += 8;
  at += 1 + 4;                                    // validated flag, compile-time imports
  at += 4 + view.getUint32(at, true);             // constants module
  at += imported;                                 // well-known import statuses
  const records = {};
  const relocs = {};
  const tags = [];
  let codeBytes = 0;
  for (let f = 0; f < declared; f++) {
    const tag = cache[at++];
    tags.push(tag);
    records[tag] = (records[tag] || 0) + 1;
    if (tag !== 4) continue;
    const sizes = [];
    for (let k = 8; k < 14; k++) sizes.push(view.getInt32(at + 4 * k, true));
    at += 14 * 4 + 4 + 1;
    const [instructions, relocInfo] = sizes;
    codeBytes += instructions;
    countRelocs(cache.subarray(at + instructions, at + instructions + relocInfo), relocs);
    at += sizes.reduce((a, b) => a + b, 0);
  }
  const exact = cache.length - at === 4 * declared;
  const budgets = [];
  for (let f = 0; exact && f < declared; f++) budgets.push(view.getUint32(at + 4 * f, true));
  return {
    functions: declared, imports: imported, records, code_bytes: codeBytes,
    header_code_bytes: headerCodeBytes, exact, relocs, tags, budgets, exports,
  };
}

module.exports = { summarize };

if (require.main === module) {
  if (process.argv.length !== 4) {
    console.error('usage: node summarize-cache.cjs module.wasm module.cache');
    process.exit(2);
  }
  console.log(JSON.stringify(summarize(fs.readFileSync(process.argv[2]), fs.readFileSync(process.argv[3]))));
}
