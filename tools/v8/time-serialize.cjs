// time-serialize.cjs — time real V8's own serialization of a native module:
// compile the wire bytes with `new WebAssembly.Module` (TurboFan, eagerly,
// under the standard flags), then time exactly one
// %SerializeWasmModule(module) call. Run it in a fresh process per
// measurement:
//
//   node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation \
//        tools/v8/time-serialize.cjs module.wasm [module.cache]
//
// The three flags are required (with --no-liftoff and
// --no-wasm-lazy-compilation the module is complete TurboFan code when
// `new WebAssembly.Module` returns; V8 aborts the process when asked to
// serialize a module without TurboFan code). --flags FLAGS|@file names
// another set node runs with exactly; it must contain those three too. By
// default, as for time-deserialize.cjs, a sidecar module.flags next to the
// given module.cache is that set.
//
// module.cache is optional: when given, the report says whether V8 wrote
// the same bytes ("same_as_cache"; x64 caches differ between processes in
// the upper halves of external-reference addresses unless both ran
// without ASLR, see tools/build-fixtures.sh).
//
// Prints one JSON line:
//   {"serialize_ms": number, "bytes": n, "compile_ms": number,
//    "compile_cpu_ms": number, "same_as_cache"?: bool, "wasm", "flags": [...], "v8"}
// ("compile_ms": the `new WebAssembly.Module` call, wall time, for
// information; "compile_cpu_ms": the CPU time of all the process's threads
// meanwhile, which depends less on what else the machine runs.)
// Exit codes: 0 serialized, 1 V8 returned no buffer, 2 misuse.
'use strict';
const fs = require('fs');
const { REQUIRED_FLAGS, parseFlagSet, requireFlags } = require('./common.cjs');

function usage(message) {
  if (message) console.error(`time-serialize.cjs: ${message}`);
  console.error('usage: node FLAGS time-serialize.cjs [--flags FLAGS|@file] module.wasm [module.cache]\n' +
                `       (FLAGS: ${REQUIRED_FLAGS.join(' ')}, or the cache's .flags sidecar)`);
  process.exit(2);
}

function expectedFlags(explicit, cachePath) {
  if (explicit !== null) return parseFlagSet(explicit);
  if (cachePath !== null) {
    const sidecar = cachePath.replace(/\.cache$/, '') + '.flags';
    if (sidecar !== cachePath && fs.existsSync(sidecar)) return parseFlagSet('@' + sidecar);
  }
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
  if (positional.length < 1 || positional.length > 2) usage('need module.wasm [module.cache]');
  const [wasmPath, cachePath = null] = positional;
  let flags;
  try {
    flags = expectedFlags(explicit, cachePath);
  } catch (e) {
    usage(`flags: ${e.message}`);
  }
  const missing = REQUIRED_FLAGS.filter((f) => !flags.includes(f));
  if (missing.length > 0) {
    usage(`serializing needs eager TurboFan code; the flag set lacks ${missing.join(' ')}`);
  }
  requireFlags('time-serialize.cjs', flags);

  let wire, cache = null;
  try {
    wire = fs.readFileSync(wasmPath);
    if (cachePath !== null) cache = fs.readFileSync(cachePath);
  } catch (e) {
    usage(e.message);
  }
  const now = process.hrtime.bigint;
  const cpuStart = process.cpuUsage();
  const compileStart = now();
  const module = new WebAssembly.Module(wire);
  const compileEnd = now();
  const cpu = process.cpuUsage(cpuStart);
  // Natives are parsed only here, after requireFlags checked the flags; the
  // clock is read inside the function so that compiling it is not timed.
  const timed = new Function('now', 'module', `
    const start = now();
    const buffer = %SerializeWasmModule(module);
    const end = now();
    return [buffer, end - start];`);
  const [buffer, elapsed] = timed(now, module);
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 20) {
    console.log(JSON.stringify({ wasm: wasmPath, error: 'SerializeWasmModule failed' }));
    return 1;
  }
  const report = {
    serialize_ms: Number(elapsed) / 1e6,
    bytes: buffer.byteLength,
    compile_ms: Number(compileEnd - compileStart) / 1e6,
    compile_cpu_ms: (cpu.user + cpu.system) / 1e3,
  };
  if (cache !== null) report.same_as_cache = Buffer.from(buffer).equals(cache);
  Object.assign(report, { wasm: wasmPath, flags, v8: process.versions.v8 });
  console.log(JSON.stringify(report));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
