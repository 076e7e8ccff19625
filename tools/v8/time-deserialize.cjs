// time-deserialize.cjs — time real V8's own deserialization of a
// native-module cache: exactly one %DeserializeWasmModule(cache, wire) call,
// the first load of the module in this process. Run it in a FRESH process
// for every measurement (V8 keeps deserialized modules in a per-process
// cache keyed by the wire bytes, so a second load in the same process
// would not deserialize again), with the flags the cache was made with:
//
//   node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation \
//        tools/v8/time-deserialize.cjs module.wasm module.cache
//
// A cache with a sidecar next to it (module.flags beside module.cache: one
// line of space-separated V8 flags, see corpus/v8-13.6/PROVENANCE) must be
// timed under exactly those flags: node $(cat module.flags) ... The script
// finds the sidecar itself; --flags FLAGS|@file names the set explicitly.
//
// The files are read and the cache copied into a fresh ArrayBuffer before
// the clock starts; the clock (process.hrtime.bigint) brackets only the
// native call. Prints one JSON line:
//   {"deserialize_ms": number, "deserialized": true, "exports": n,
//    "wasm", "cache", "cache_bytes", "flags": [...], "v8"}
// ("exports": how many exports the module that came back has.)
// Exit codes: 0 deserialized, 1 V8 returned no module (the JSON has
// "deserialized": false and "error"), 2 misuse (bad arguments, wrong flags,
// unreadable files).
'use strict';
const fs = require('fs');
const { REQUIRED_FLAGS, parseFlagSet, requireFlags } = require('./common.cjs');

function usage(message) {
  if (message) console.error(`time-deserialize.cjs: ${message}`);
  console.error('usage: node FLAGS time-deserialize.cjs [--flags FLAGS|@file] module.wasm module.cache\n' +
                '       (FLAGS: the cache\'s .flags sidecar if it has one, else ' +
                `${REQUIRED_FLAGS.join(' ')})`);
  process.exit(2);
}

// The flag set a cache was made with: --flags if given, else its sidecar
// (X.flags for X.cache) if present, else the standard set.
function expectedFlags(explicit, cachePath) {
  if (explicit !== null) return parseFlagSet(explicit);
  const sidecar = cachePath.replace(/\.cache$/, '') + '.flags';
  if (sidecar !== cachePath && fs.existsSync(sidecar)) return parseFlagSet('@' + sidecar);
  return REQUIRED_FLAGS;
}

function main(argv) {
  let explicit = null;
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--flags') {
      if (i + 1 >= argv.length) usage('--flags needs FLAGS or @file');
      explicit = argv[++i];
    } else if (argv[i].startsWith('--')) {
      usage(`unknown option ${argv[i]}`);
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 2) usage('need module.wasm and module.cache');
  const [wasmPath, cachePath] = positional;
  let flags;
  try {
    flags = expectedFlags(explicit, cachePath);
  } catch (e) {
    usage(`flags: ${e.message}`);
  }
  if (!flags.includes('--allow-natives-syntax')) usage('the flag set must include --allow-natives-syntax');
  requireFlags('time-deserialize.cjs', flags);

  let wire, cache;
  try {
    wire = new Uint8Array(fs.readFileSync(wasmPath));
    cache = fs.readFileSync(cachePath);
  } catch (e) {
    usage(e.message);
  }
  // A fresh ArrayBuffer holding exactly the cache bytes.
  const buffer = cache.buffer.slice(cache.byteOffset, cache.byteOffset + cache.byteLength);
  const now = process.hrtime.bigint;
  now();
  // Natives are parsed only here, after requireFlags checked the flags. The
  // clock is read inside the function so that compiling the wrapper is not
  // timed.
  const timed = new Function('now', 'buffer', 'wire', `
    const start = now();
    const module = %DeserializeWasmModule(buffer, wire);
    const end = now();
    return [module, end - start];`);

  const report = { deserialize_ms: null, deserialized: false };
  let module, elapsed;
  try {
    [module, elapsed] = timed(now, buffer, wire);
    report.deserialize_ms = Number(elapsed) / 1e6;
    report.deserialized = module instanceof WebAssembly.Module;
  } catch (e) {
    report.error = `${e && e.name}: ${e && e.message}`;
  }
  if (!report.deserialized && report.error === undefined) {
    report.error = 'V8 returned no module (header, flags or CPU features differ, or the cache is invalid)';
  }
  if (report.deserialized) report.exports = WebAssembly.Module.exports(module).length;
  Object.assign(report, {
    wasm: wasmPath, cache: cachePath, cache_bytes: cache.length, flags, v8: process.versions.v8,
  });
  console.log(JSON.stringify(report));
  return report.deserialized ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
