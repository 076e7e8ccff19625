// serialize.cjs — compile a wasm module with real V8 (TurboFan only, eager)
// and write V8's native-module cache for it.
//
// Usage:
//   node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation \
//        tools/v8/serialize.cjs in.wasm out.cache
//
// arm64 (Node's arm64 build under user-mode qemu):
//   qemu-aarch64-static -L /usr/aarch64-linux-gnu .v8/arm64/bin/node \
//        --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation \
//        tools/v8/serialize.cjs in.wasm out.cache
//
// The three V8 flags are required, and exactly these: the cache header holds
// a hash of all V8 flags, and tools/v8/load.cjs (and every consumer of the
// corpus) runs with the same set. (Fixtures made under other flags, by
// tools/v8/serialize-tiered.cjs, carry them in a <name>.flags sidecar.) With --no-liftoff and
// --no-wasm-lazy-compilation, `new WebAssembly.Module` compiles every
// function with TurboFan before it returns, so the cache is complete without
// instantiating the module.
//
// Prints one JSON line: {"wasm", "cache", "bytes", "header": [5 words hex],
// "v8"}. Exit codes: 0 written, 1 V8 refused to serialize, 2 misuse.
'use strict';
const fs = require('fs');
const { requireFlags, headerWords } = require('./common.cjs');

function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: node --allow-natives-syntax --no-liftoff ' +
                  '--no-wasm-lazy-compilation serialize.cjs in.wasm out.cache');
    return 2;
  }
  requireFlags('serialize.cjs');
  const [wasmPath, cachePath] = argv;
  const wire = fs.readFileSync(wasmPath);
  const module = new WebAssembly.Module(wire);
  // Natives are parsed only here, after requireFlags checked the flags.
  const serialize = new Function('module', 'return %SerializeWasmModule(module);');
  const buffer = serialize(module);
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 20) {
    console.log(JSON.stringify({ wasm: wasmPath, error: 'SerializeWasmModule failed' }));
    return 1;
  }
  const bytes = new Uint8Array(buffer);
  fs.writeFileSync(cachePath, bytes);
  console.log(JSON.stringify({
    wasm: wasmPath,
    cache: cachePath,
    bytes: bytes.length,
    header: headerWords(bytes),
    v8: process.versions.v8,
  }));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
