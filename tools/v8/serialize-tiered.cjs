// serialize-tiered.cjs — compile a wasm module with real V8 the way it runs
// by default (Liftoff, lazily, with dynamic tiering), run it until some of
// its functions have tiered up to TurboFan, and write V8's native-module
// cache for it. The cache then holds lazy (tag 2), eager (tag 3) and
// TurboFan (tag 4) function records, tiering budgets other than the initial
// one, and whatever TurboFan emits for code compiled with Liftoff's
// feedback (speculatively inlined call_indirect targets:
// WASM_CODE_POINTER_TABLE_ENTRY relocations).
//
// Usage:
//   node FLAGS tools/v8/serialize-tiered.cjs TIERING.json in.wasm out.cache
//
// where FLAGS are exactly TIERING.json's "v8_flags" (the cache header holds a
// hash of them, so the cache loads back only under the same flags; see
// tools/v8/load.cjs --flags). arm64: prefix
// `qemu-aarch64-static -L /usr/aarch64-linux-gnu` and use .v8/arm64/bin/node.
//
// TIERING.json (corpus/wat/<name>.tiering.json):
//   {
//     "v8_flags": ["--allow-natives-syntax", ...],
//     "warm_up": [[exportName, [args...], times], ...],
//         calls made in order on one instance (imports: common.cjs
//         makeImports; arguments as in load.cjs call specs); each is
//         repeated `times` times (default 1); traps are expected and kept.
//     "tier_up": [exportName, ...],
//         optional: after the warm-up, %WasmTierUpFunction on each (a
//         synchronous TurboFan compilation with the feedback collected so
//         far, as V8's own tests force tier-up).
//     "expect_state": {exportName: "turbofan"|"liftoff"|"uncompiled", ...},
//         optional: what each export must be compiled as just before
//         serialization (checked with %IsTurboFanFunction,
//         %IsLiftoffFunction, %IsUncompiledWasmFunction); nothing is
//         serialized if one is not. V8 serializes only a module with some
//         TurboFan code: without any, %SerializeWasmModule aborts the
//         process ("Check failed: serialized_successfully"), so name here
//         the export the warm-up or "tier_up" must have made TurboFan.
//     "expect_cache": {"tags": [2, 3, 4], "relocs": ["WASM_CODE_POINTER_TABLE_ENTRY"]}
//         optional: record tags and relocation modes the cache must contain
//         (read back with tools/v8/summarize-cache.cjs).
//   }
// Use --wasm-sync-tier-up in v8_flags when the warm-up itself exhausts a
// tiering budget: the tier-up then happens synchronously at a fixed point of
// the warm-up, and the cache is the same from run to run.
//
// Prints one JSON line: {"wasm", "cache", "bytes", "header": [5 words hex],
// "v8", "flags", "states": {export: state}, "warm_up": [{call, args, times,
// result}], "tags", "budgets", "relocs"}. Exit codes: 0 written, 1 V8 refused
// to serialize or an expectation failed (nothing written), 2 misuse.
'use strict';
const fs = require('fs');
const {
  requireFlags, headerWords, makeImports, callExport,
} = require('./common.cjs');
const { summarize } = require('./summarize-cache.cjs');

const STATES = ['turbofan', 'liftoff', 'uncompiled'];

function usage(message) {
  if (message) console.error(`serialize-tiered.cjs: ${message}`);
  console.error('usage: node FLAGS serialize-tiered.cjs TIERING.json in.wasm out.cache ' +
                '(FLAGS: the "v8_flags" of TIERING.json)');
  process.exit(2);
}

function readTiering(path) {
  let t;
  try {
    t = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    usage(`${path}: ${e.message}`);
  }
  const isCall = (c) => Array.isArray(c) && (c.length === 2 || c.length === 3) &&
      typeof c[0] === 'string' && Array.isArray(c[1]) &&
      (c.length === 2 || (Number.isInteger(c[2]) && c[2] >= 1));
  const ok = t !== null && typeof t === 'object' &&
      Array.isArray(t.v8_flags) && t.v8_flags.length > 0 &&
      t.v8_flags.every((f) => typeof f === 'string' && /^--\S+$/.test(f)) &&
      t.v8_flags.includes('--allow-natives-syntax') &&
      Array.isArray(t.warm_up) && t.warm_up.every(isCall) &&
      (t.tier_up === undefined ||
       (Array.isArray(t.tier_up) && t.tier_up.every((n) => typeof n === 'string'))) &&
      (t.expect_state === undefined ||
       Object.values(t.expect_state).every((s) => STATES.includes(s))) &&
      (t.expect_cache === undefined ||
       ((t.expect_cache.tags ?? []).every((x) => [2, 3, 4].includes(x)) &&
        (t.expect_cache.relocs ?? []).every((x) => typeof x === 'string')));
  if (!ok) usage(`${path}: not a tiering spec (see the header of serialize-tiered.cjs)`);
  return t;
}

// Natives are parsed only after requireFlags checked the flags.
function natives() {
  const make = (body) => new Function('f', `return ${body};`);
  return {
    isTurboFan: make('%IsTurboFanFunction(f)'),
    isLiftoff: make('%IsLiftoffFunction(f)'),
    isUncompiled: make('%IsUncompiledWasmFunction(f)'),
    tierUp: make('%WasmTierUpFunction(f)'),
    serialize: make('%SerializeWasmModule(f)'),
  };
}

function stateOf(n, fn) {
  if (n.isTurboFan(fn)) return 'turbofan';
  if (n.isLiftoff(fn)) return 'liftoff';
  if (n.isUncompiled(fn)) return 'uncompiled';
  return 'unknown';
}

function main(argv) {
  if (argv.length !== 3) usage();
  const [tieringPath, wasmPath, cachePath] = argv;
  const tiering = readTiering(tieringPath);
  requireFlags('serialize-tiered.cjs', tiering.v8_flags);
  const n = natives();

  const wire = fs.readFileSync(wasmPath);
  const module = new WebAssembly.Module(wire);
  const instance = new WebAssembly.Instance(module, makeImports(module));
  const exportedFunction = (name) => {
    const fn = instance.exports[name];
    if (typeof fn !== 'function') usage(`${tieringPath}: no exported function ${name}`);
    return fn;
  };

  const warmUp = tiering.warm_up.map(([name, args, times = 1]) => {
    exportedFunction(name);
    let result;
    for (let i = 0; i < times; i++) result = callExport(instance, name, args);
    return { call: name, args, times, result };
  });
  for (const name of tiering.tier_up ?? []) n.tierUp(exportedFunction(name));

  const states = {};
  for (const name of Object.keys(instance.exports).sort()) {
    if (typeof instance.exports[name] === 'function') states[name] = stateOf(n, instance.exports[name]);
  }
  const failures = [];
  for (const [name, expected] of Object.entries(tiering.expect_state ?? {})) {
    exportedFunction(name);
    if (states[name] !== expected) failures.push(`${name} is ${states[name]}, expected ${expected}`);
  }
  if (failures.length > 0) {
    console.log(JSON.stringify({ wasm: wasmPath, error: failures.join('; '), states, warm_up: warmUp }));
    return 1;
  }

  const buffer = n.serialize(module);
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 20) {
    console.log(JSON.stringify({ wasm: wasmPath, error: 'SerializeWasmModule failed', states, warm_up: warmUp }));
    return 1;
  }
  const bytes = new Uint8Array(buffer);
  const summary = summarize(wire, bytes);
  if (!summary.exact) failures.push('summarize-cache.cjs could not read the cache exactly');
  for (const tag of tiering.expect_cache?.tags ?? []) {
    if (!summary.tags.includes(tag)) failures.push(`no function record with tag ${tag}`);
  }
  for (const mode of tiering.expect_cache?.relocs ?? []) {
    if (!(mode in summary.relocs)) failures.push(`no ${mode} relocation`);
  }
  const report = {
    wasm: wasmPath,
    cache: cachePath,
    bytes: bytes.length,
    header: headerWords(bytes),
    v8: process.versions.v8,
    flags: tiering.v8_flags,
    states,
    warm_up: warmUp,
    tags: summary.tags,
    budgets: summary.budgets,
    relocs: summary.relocs,
  };
  if (failures.length > 0) {
    report.error = failures.join('; ');
    console.log(JSON.stringify(report));
    return 1;
  }
  fs.writeFileSync(cachePath, bytes);
  console.log(JSON.stringify(report));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
