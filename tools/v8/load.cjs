// load.cjs — load a V8 native-module cache back into real V8, and optionally
// call the module's exports. Run it in a FRESH process (V8 will not
// deserialize a module whose wire bytes are already alive in the process),
// with the same flags the cache was made with:
//
//   node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation \
//        tools/v8/load.cjs module.wasm cache [--call SPEC] [--compile-instead]
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
// per instance; tick's counter starts at 0):
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
const { requireFlags } = require('./common.cjs');

function usage(message) {
  if (message) console.error(`load.cjs: ${message}`);
  console.error('usage: node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation ' +
                'load.cjs module.wasm cache [--call SPEC|@file] [--compile-instead]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { wasm: null, cache: null, spec: null, compileInstead: false };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--compile-instead') {
      options.compileInstead = true;
    } else if (argv[i] === '--call') {
      if (i + 1 >= argv.length) usage('--call needs a SPEC');
      options.spec = argv[++i];
    } else if (argv[i].startsWith('--')) {
      usage(`unknown option ${argv[i]}`);
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 2) usage('need module.wasm and cache');
  [options.wasm, options.cache] = positional;
  return options;
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

function toArgument(value) {
  if (typeof value !== 'string') return value;
  if (/^-?[0-9]+n$/.test(value)) return BigInt(value.slice(0, -1));
  const special = { 'NaN': NaN, 'Infinity': Infinity, '-Infinity': -Infinity, '-0': -0 };
  if (value in special) return special[value];
  return value;
}

function formatValue(value) {
  if (Array.isArray(value)) return value.map(formatValue);
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

function makeImports(module) {
  let counter = 0;
  const stubs = {
    add: (a, b) => (a + b) | 0,
    mul: (a, b) => a * b,
    tick: () => ++counter,
    big: (x) => BigInt.asIntN(64, 3n * x + 1n),
  };
  const imports = {};
  for (const { module: name, name: field, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') continue;
    imports[name] ??= {};
    imports[name][field] = name === 'env' && field in stubs ? stubs[field] : () => 0;
  }
  return imports;
}

function runCalls(module, spec) {
  const instance = new WebAssembly.Instance(module, makeImports(module));
  return spec.map(([name, rawArgs]) => {
    let result;
    try {
      const fn = instance.exports[name];
      if (typeof fn !== 'function') throw new TypeError(`no exported function ${name}`);
      result = formatValue(fn(...rawArgs.map(toArgument)));
    } catch (e) {
      result = e instanceof WebAssembly.RuntimeError
          ? `trap: ${e.message}`
          : `throw: ${e && e.name}: ${e && e.message}`;
    }
    return { call: name, args: rawArgs, result };
  });
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  requireFlags('load.cjs');
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
