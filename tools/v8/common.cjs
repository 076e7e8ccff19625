// common.cjs — helpers shared by the scripts in tools/v8.
'use strict';
const fs = require('fs');

// The V8 flags every fixture is made and loaded with, unless it has a
// <name>.flags sidecar next to its cache (one line, the V8 flags separated by
// spaces; see corpus/v8-13.6/PROVENANCE). V8 stores a hash of the flag values
// in the cache header and rejects a cache made under different flags, so
// makers and loaders must agree on exactly this set.
const REQUIRED_FLAGS = [
  '--allow-natives-syntax',
  '--no-liftoff',
  '--no-wasm-lazy-compilation',
];

// Reads a flag set: "@path" names a file (such as a fixture's .flags
// sidecar), anything else is the flags themselves; either way the flags are
// separated by white space.
function parseFlagSet(text) {
  const body = text.startsWith('@') ? fs.readFileSync(text.slice(1), 'utf8') : text;
  return body.split(/\s+/).filter((f) => f.length > 0);
}

// Exits with code 2 if node was started without the required flags. With
// the default set, other flags are tolerated (as before); with any other
// set (a fixture made with its own flags), node must run with exactly those
// flags, because any extra V8 flag changes the flag hash too.
function requireFlags(script, expected = REQUIRED_FLAGS) {
  const missing = expected.filter((f) => !process.execArgv.includes(f));
  const strict = expected !== REQUIRED_FLAGS;
  const extra = strict ? process.execArgv.filter((f) => !expected.includes(f)) : [];
  if (missing.length > 0 || extra.length > 0) {
    console.error(`${script}: node must run with ${expected.join(' ')}` +
                  (missing.length > 0 ? ` (missing: ${missing.join(' ')})` : '') +
                  (extra.length > 0 ? ` (unexpected: ${extra.join(' ')})` : ''));
    if (!strict) {
      console.error(`${script}: a fixture with a <name>.flags sidecar needs node run ` +
                    'with those flags and --flags @<name>.flags');
    }
    process.exit(2);
  }
}

// The flag set named by a --flags option (null: the default set), which
// must hold --allow-natives-syntax, checked against node's own flags
// (requireFlags). Misuse goes to usage(message).
function flagsOption(script, text, usage) {
  let flags = REQUIRED_FLAGS;
  if (text !== null) {
    try {
      flags = parseFlagSet(text);
    } catch (e) {
      usage(`bad --flags: ${e.message}`);
    }
    if (!flags.includes('--allow-natives-syntax')) {
      usage('--flags: the set must include --allow-natives-syntax');
    }
  }
  requireFlags(script, flags);
  return flags;
}

// Parses a command line: `switches` maps an option to the key set true by
// it; `values` maps an option taking one argument to { key, what, parse? }
// (parse may reject by returning undefined); the other arguments are
// positional and must be exactly as many as the `positional` keys. Options
// start false or null (or a value's `initial`). Misuse goes to
// usage(message).
function parseCommandLine(argv, { switches = {}, values = {}, positional }, usage) {
  const options = {};
  for (const key of Object.values(switches)) options[key] = false;
  for (const v of Object.values(values)) options[v.key] = v.initial ?? null;
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (Object.hasOwn(switches, arg)) {
      options[switches[arg]] = true;
    } else if (Object.hasOwn(values, arg)) {
      const v = values[arg];
      if (i + 1 >= argv.length) usage(`${arg} needs ${v.what}`);
      const value = v.parse ? v.parse(argv[++i]) : argv[++i];
      if (value === undefined) usage(`bad ${arg}`);
      options[v.key] = value;
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      rest.push(arg);
    }
  }
  if (rest.length !== positional.length) {
    usage(`expected ${positional.length} arguments, got ${rest.length}`);
  }
  positional.forEach((key, i) => { options[key] = rest[i]; });
  return options;
}

// Call arguments in call specs: JSON numbers pass as Numbers; strings
// "<int>n" pass as BigInt; "NaN", "Infinity", "-Infinity", "-0" pass as
// those Numbers.
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

// The deterministic "env" imports every module gets (a fresh object, with a
// fresh tick counter, per call); other function imports return 0.
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

// Calls export `name` of `instance` with call-spec arguments; returns the
// formatted result, "trap: <message>" or "throw: <Name>: <message>".
function callExport(instance, name, rawArgs) {
  try {
    const fn = instance.exports[name];
    if (typeof fn !== 'function') throw new TypeError(`no exported function ${name}`);
    return formatValue(fn(...rawArgs.map(toArgument)));
  } catch (e) {
    return e instanceof WebAssembly.RuntimeError
        ? `trap: ${e.message}`
        : `throw: ${e && e.name}: ${e && e.message}`;
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

module.exports = {
  REQUIRED_FLAGS, parseFlagSet, requireFlags, flagsOption, parseCommandLine, headerWords,
  toArgument, formatValue, makeImports, callExport,
};
