// gate-load.cjs — load many caches into real V8, one after the other, in one
// process, and prove that every one of them was really deserialized.
//
// The batch loader of the V8 load-gate campaign (tools/fuzz/v8gate.py). Run
// it under the V8 flags the caches were made with (tools/v8/common.cjs):
//
//   node --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation \
//        tools/v8/gate-load.cjs [--flags FLAGS|@file] LIST.jsonl RESULTS.jsonl
//   node ... tools/v8/gate-load.cjs [--flags ...] --control LIST.jsonl RESULTS.jsonl
//
// LIST.jsonl holds one JSON object per line:
//   {"id": "...", "wasm": "M.wasm", "cache": "C.cache", "seed": "S.cache"}
// where S.cache is an unmutated cache of the same wire bytes, accepted by V8.
//
// Why the seed: V8 keeps a process-wide cache of native modules keyed by
// the wire bytes. %DeserializeWasmModule first checks the 20-byte header,
// then looks the wire bytes up there, and only when no module with those
// wire bytes is alive does it read the rest of the cache. Every mutant of a
// seed has the seed's wire bytes, so after one of them has been accepted, the
// next would silently get the old module back, its own bytes unread.
//
// The canary defeats and proves that. It is the seed cache with one byte
// appended: a fresh deserialization reads the whole seed, finds a byte left
// over and rejects it (V8 requires a cache to be consumed exactly); a reuse
// returns the live module. So "the canary was rejected" means "no module
// with these wire bytes was alive". After every input V8 accepts, the loader
// drops the module and repeats { %CollectGarbage; let the event loop run (the
// native module is freed by a second-pass weak callback, run from a task);
// load the canary } until the canary is rejected (at most --gc-rounds
// times, default 8). Only then does it go on. Inputs V8 rejects free their
// module at once; inputs of other wire bytes cannot be reused for these.
// Hence every input is loaded while no module with its wire bytes is alive:
// each verdict comes from reading that input.
//
// --control checks the premises, per distinct seed, instead of loading
// the list: the canary is rejected on a fresh process (a fresh read rejects
// it), and again right after, without a collection (a rejected input leaves
// no live module behind); the seed is accepted; the canary right after it,
// without a collection, is ACCEPTED (reuse is real, and the canary sees it);
// after collections the canary is rejected again; the seed loads a second
// time, and is collected again. Any other outcome makes the control fail.
//
// RESULTS.jsonl gets one line when an input starts and one when it is
// done, written with writeSync so that the lines survive a crash of this
// process (the caller attributes a crash to the last input started):
//   {"id": ..., "phase": "start"}
//   {"id": ..., "phase": "done", "v8": "accept"|"reject", "error"?: "...",
//    "canary_rounds": n, "ms": t}
//   (after an accepted input: "canary_rounds" collections were needed
//    before the canary was rejected)
//   {"id": ..., "phase": "reuse-not-defeated"}   then exit code 3
// Control lines: {"control": "...", "seed": "...", "expected": b, "got": b}.
// Exit codes: 0 done, 1 a control failed, 2 misuse, 3 a live module could
// not be collected. A crash of V8 is whatever the process dies of.
'use strict';
const fs = require('fs');
const { flagsOption, parseCommandLine } = require('./common.cjs');

function usage(message) {
  if (message) console.error(`gate-load.cjs: ${message}`);
  console.error('usage: node FLAGS gate-load.cjs [--flags FLAGS|@file] [--control] ' +
                '[--gc-rounds N] LIST.jsonl RESULTS.jsonl');
  process.exit(2);
}

function parseArgs(argv) {
  return parseCommandLine(argv, {
    switches: { '--control': 'control' },
    values: {
      '--flags': { key: 'flags', what: 'FLAGS or @file' },
      '--gc-rounds': {
        key: 'gcRounds', what: 'N', initial: 8,
        parse: (text) => (/^[1-9][0-9]*$/.test(text) ? Number(text) : undefined),
      },
    },
    positional: ['list', 'results'],
  }, usage);
}

function readList(path) {
  const items = [];
  for (const line of fs.readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const item = JSON.parse(line);
    if (typeof item.id !== 'string' || typeof item.wasm !== 'string' ||
        typeof item.cache !== 'string' || typeof item.seed !== 'string') {
      usage(`${path}: each line needs id, wasm, cache and seed`);
    }
    items.push(item);
  }
  return items;
}

// A fresh ArrayBuffer holding exactly `bytes`.
function arrayBufferOf(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

// Natives are parsed only here, after requireFlags checked the flags.
function natives() {
  return {
    deserialize: new Function('buffer', 'wire', 'return %DeserializeWasmModule(buffer, wire);'),
    collectGarbage: new Function('return %CollectGarbage(0);'),
  };
}

const nextTask = () => new Promise((resolve) => setImmediate(resolve));

class Loader {
  constructor(n) {
    this.n = n;
    this.wires = new Map();    // path -> Uint8Array
    this.canaries = new Map(); // seed path -> Buffer (seed + one byte)
  }

  wire(path) {
    if (!this.wires.has(path)) this.wires.set(path, new Uint8Array(fs.readFileSync(path)));
    return this.wires.get(path);
  }

  canary(seedPath) {
    if (!this.canaries.has(seedPath)) {
      this.canaries.set(seedPath, Buffer.concat([fs.readFileSync(seedPath), Buffer.from([0])]));
    }
    return this.canaries.get(seedPath);
  }

  // Deserializes; returns {accepted, error?}. The module is not kept.
  load(cacheBytes, wirePath) {
    try {
      const module = this.n.deserialize(arrayBufferOf(cacheBytes), this.wire(wirePath));
      return { accepted: module instanceof WebAssembly.Module };
    } catch (e) {
      return { accepted: false, error: `${e && e.name}: ${e && e.message}` };
    }
  }

  // Collects until the canary of `seedPath` is rejected; returns the number
  // of rounds, or 0 if the canary was still accepted after `rounds`.
  async collect(seedPath, wirePath, rounds) {
    for (let round = 1; round <= rounds; round++) {
      this.n.collectGarbage();
      await nextTask();
      if (!this.load(this.canary(seedPath), wirePath).accepted) return round;
    }
    return 0;
  }
}

function writer(path) {
  const fd = fs.openSync(path, 'a');
  return (object) => fs.writeSync(fd, JSON.stringify(object) + '\n');
}

async function runList(loader, items, write, gcRounds) {
  for (const item of items) {
    write({ id: item.id, phase: 'start' });
    const started = process.hrtime.bigint();
    const verdict = loader.load(fs.readFileSync(item.cache), item.wasm);
    const result = { id: item.id, phase: 'done', v8: verdict.accepted ? 'accept' : 'reject' };
    if (verdict.error !== undefined) result.error = verdict.error;
    if (verdict.accepted) {
      write({ id: item.id, phase: 'loaded' });
      const rounds = await loader.collect(item.seed, item.wasm, gcRounds);
      if (rounds === 0) {
        write({ id: item.id, phase: 'reuse-not-defeated' });
        return 3;
      }
      result.canary_rounds = rounds;
    }
    result.ms = Number(process.hrtime.bigint() - started) / 1e6;
    write(result);
  }
  return 0;
}

async function runControl(loader, items, write, gcRounds) {
  let failed = false;
  const check = (name, seed, expected, got, extra = {}) => {
    write({ control: name, seed, expected, got, ...extra });
    if (expected !== got) failed = true;
  };
  const seen = new Set();
  for (const item of items) {
    if (seen.has(item.seed)) continue;
    seen.add(item.seed);
    const seedBytes = fs.readFileSync(item.seed);
    const canary = loader.canary(item.seed);
    check('canary-fresh-rejected', item.seed, false, loader.load(canary, item.wasm).accepted);
    check('canary-rejected-again-without-gc', item.seed, false, loader.load(canary, item.wasm).accepted);
    const first = loader.load(seedBytes, item.wasm);
    check('seed-accepted', item.seed, true, first.accepted, first.error ? { error: first.error } : {});
    check('canary-reused-without-gc', item.seed, true, loader.load(canary, item.wasm).accepted);
    const rounds = await loader.collect(item.seed, item.wasm, gcRounds);
    check('canary-rejected-after-gc', item.seed, true, rounds > 0, { rounds });
    check('seed-accepted-again', item.seed, true, loader.load(seedBytes, item.wasm).accepted);
    check('canary-rejected-after-gc-again', item.seed, true,
          (await loader.collect(item.seed, item.wasm, gcRounds)) > 0);
  }
  return failed ? 1 : 0;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  flagsOption('gate-load.cjs', options.flags, usage);
  let items;
  try {
    items = readList(options.list);
  } catch (e) {
    usage(e.message);
  }
  const loader = new Loader(natives());
  const write = writer(options.results);
  return options.control
      ? runControl(loader, items, write, options.gcRounds)
      : runList(loader, items, write, options.gcRounds);
}

main().then((code) => { process.exitCode = code; });
