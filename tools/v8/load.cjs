// load.cjs — load a V8 native-module cache back into real V8, and optionally
// call the module's exports. Run it in a FRESH process (V8 will not
// deserialize a module whose wire bytes are already alive in the process),
// with the same flags the cache was made with:
//
//   node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation \
//        tools/v8/load.cjs module.wasm cache [--call SPEC] [--compile-instead]
//
// A fixture made with its own flags has a sidecar DIR/NAME.flags next to
// its cache (one line of space-separated V8 flags); run node with those
// flags instead and tell load.cjs to expect them:
//
//   node $(cat DIR/NAME.flags) tools/v8/load.cjs --flags @DIR/NAME.flags \
//        DIR/NAME.wasm DIR/NAME.cache [--call SPEC] [--compile-instead]
//
// (arm64: prefix `qemu-aarch64-static -L /usr/aarch64-linux-gnu` and use
// .v8/arm64/bin/node.)
//
//   module.wasm        the wire bytes the cache was made from
//   cache              the cache file; ignored (may be "-") with --compile-instead
//   --call SPEC        SPEC is JSON, or @file holding JSON: a list of
//                      [exportName, [arg, ...]] pairs, called in order on one
//                      instance. Arguments: JSON numbers pass as Numbers;
//                      strings "<int>n" (e.g. "-5n") pass as BigInt (for i64
//                      parameters); "NaN", "Infinity", "-Infinity", "-0"
//                      pass as those Numbers.
//   --compile-instead  do not deserialize: compile the wire bytes with
//                      `new WebAssembly.Module` and run the same calls, so a
//                      test can compare both runs.
//   --flags FLAGS      FLAGS is the V8 flag set node runs with, or @file
//                      holding it (white-space separated); node must then run
//                      with exactly these flags. Default: the fixed set of
//                      tools/v8/common.cjs (REQUIRED_FLAGS).
//
// Prints one JSON line:
//   {"mode": "deserialize"|"compile", "deserialized": bool,
//    "error"?: string, "calls"?: [{"call": name, "args": [...], "result": r}]}
// where r is String(value) ("-0" for negative zero, BigInts without "n",
// "undefined" for no result, a list of strings for multi-value results),
// "trap: <message>" for a WebAssembly.RuntimeError, or
// "throw: <Name>: <message>" for any other exception (e.g. stack overflow,
// or a missing export).
//
// Imports: every module gets this deterministic "env" object (a fresh one
// per instance; tick's counter starts at 0; tools/v8/common.cjs makeImports):
//   env.add(a, b)  = (a + b) | 0                      i32 x i32 -> i32
//   env.mul(a, b)  = a * b                            f64 x f64 -> f64
//   env.tick()     = ++counter                        -> i32
//   env.big(x)     = BigInt.asIntN(64, 3n * x + 1n)   i64 -> i64
// Imports the module asks for under other names get a function that
// returns 0.
//
// Exit code: 0 whatever happened to the module (the JSON says it); 2 on
// misuse (bad arguments, missing flags, unreadable files).
'use strict';
const fs = require('fs');
const {
  flagsOption, parseCommandLine, makeImports, callExport,
} = require('./common.cjs');

function usage(message) {
  if (message) console.error(`load.cjs: ${message}`);
  console.error('usage: node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation ' +
                'load.cjs module.wasm cache [--call SPEC|@file] [--compile-instead]\n' +
                '       [--flags FLAGS|@file]   (node runs with FLAGS instead)');
  process.exit(2);
}

function parseArgs(argv) {
  return parseCommandLine(argv, {
    switches: { '--compile-instead': 'compileInstead' },
    values: {
      '--call': { key: 'spec', what: 'a SPEC' },
      '--flags': { key: 'flags', what: 'FLAGS or @file' },
    },
    positional: ['wasm', 'cache'],
  }, usage);
}

function parseSpec(text) {
  let spec;
  try {
    spec = JSON.parse(text.startsWith('@') ? fs.readFileSync(text.slice(1), 'utf8') : text);
  } catch (e) {
    usage(`bad --call SPEC: ${e.message}`);
  }
  const ok = Array.isArray(spec) && spec.every((c) =>
      Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && Array.isArray(c[1]));
  if (!ok) usage('--call SPEC must be a JSON list of [exportName, [args...]]');
  return spec;
}

function runCalls(module, spec) {
  const instance = new WebAssembly.Instance(module, makeImports(module));
  return spec.map(([name, rawArgs]) => ({
    call: name, args: rawArgs, result: callExport(instance, name, rawArgs),
  }));
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  flagsOption('load.cjs', options.flags, usage);
  const spec = options.spec === null ? null : parseSpec(options.spec);
  let wire;
  let cache = null;
  try {
    wire = new Uint8Array(fs.readFileSync(options.wasm));
    if (!options.compileInstead) cache = fs.readFileSync(options.cache);
  } catch (e) {
    usage(e.message);
  }

  const report = { mode: options.compileInstead ? 'compile' : 'deserialize', deserialized: false };
  let module;
  try {
    if (options.compileInstead) {
      module = new WebAssembly.Module(wire);
    } else {
      // A fresh ArrayBuffer holding exactly the cache bytes.
      const buffer = cache.buffer.slice(cache.byteOffset, cache.byteOffset + cache.byteLength);
      // Natives are parsed only here, after requireFlags checked the flags.
      const deserialize = new Function('buffer', 'wire',
                                       'return %DeserializeWasmModule(buffer, wire);');
      module = deserialize(buffer, wire);
      report.deserialized = module instanceof WebAssembly.Module;
      if (!report.deserialized) module = undefined;
    }
  } catch (e) {
    report.error = `${e && e.name}: ${e && e.message}`;
    module = undefined;
  }
  if (module !== undefined && spec !== null) {
    try {
      report.calls = runCalls(module, spec);
    } catch (e) {
      report.error = `instantiate: ${e && e.name}: ${e && e.message}`;
    }
  }
  console.log(JSON.stringify(report));
  return 0;
}

process.exitCode = main();
