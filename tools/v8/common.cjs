// common.cjs — helpers shared by serialize.cjs and load.cjs.
'use strict';

// The V8 flags every fixture is made and loaded with. V8 stores a hash of
// the flag values in the cache header and rejects a cache made under
// different flags, so makers and loaders must agree on exactly this set.
const REQUIRED_FLAGS = [
  '--allow-natives-syntax',
  '--no-liftoff',
  '--no-wasm-lazy-compilation',
];

// Exits with code 2 if node was started without the required flags.
function requireFlags(script) {
  const missing = REQUIRED_FLAGS.filter((f) => !process.execArgv.includes(f));
  if (missing.length > 0) {
    console.error(`${script}: node must run with ${REQUIRED_FLAGS.join(' ')} ` +
                  `(missing: ${missing.join(' ')})`);
    process.exit(2);
  }
}

// The five 32-bit words of the cache header (magic, version hash, CPU
// features, flag hash, enabled wasm features), read little-endian, as hex.
// All targets Node ships for (x64, arm64) are little-endian.
function headerWords(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = [];
  for (let i = 0; i < 5 && 4 * i + 4 <= bytes.length; i++) {
    words.push('0x' + view.getUint32(4 * i, true).toString(16).toUpperCase().padStart(8, '0'));
  }
  return words;
}

module.exports = { REQUIRED_FLAGS, requireFlags, headerWords };
