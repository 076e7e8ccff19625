#!/usr/bin/env bash
# bench.sh — wasmcache's fast implementation against V8 13.6 itself (issue
# 5): deserialization and serialization times of real V8 (Node 24.20, a
# fresh process per measurement) and of `wasmcache bench`, side by side,
# with the ratios the targets are stated in.
#
# Usage:
#   tools/bench.sh --arch x64 [--runs N] [--json-out FILE] [--v8-only] [M.wasm C.cache]...
#
#   M.wasm C.cache  an input: wire bytes and the V8 cache made from them
#                   (pairs; repeatable). Without inputs: the two default
#                   inputs, build/bench/large.{wasm,x64.cache} (100,000
#                   generated functions, about 26 MB of code) and
#                   build/bench/sql-wasm.{wasm,x64.cache} (sql.js), made
#                   first by tools/build-bench-fixtures.sh.
#   --arch x64      the only architecture (V8's side runs natively).
#   --runs N        V8 measurements per input and operation (default 7),
#                   each in a fresh node process; the median is reported.
#                   wasmcache bench gets the same --runs N.
#   --json-out FILE also write every number, run and verdict as JSON.
#   --v8-only       only V8's side (no wasmcache binary needed).
#
# Per input:
#   V8 deserialize  tools/v8/time-deserialize.cjs: one %DeserializeWasmModule
#                   call, the first load of the module in its process.
#   V8 serialize    tools/v8/time-serialize.cjs: compile the wire bytes
#                   (TurboFan, eager), then one %SerializeWasmModule call.
#   wasmcache       `$WASMCACHE_BIN bench --arch x64 --wasm M.wasm C.cache --runs N --json`
#                   (default build/release/wasmcache), run once; it prints
#                   one JSON object of medians with fast_deserialize_ms,
#                   reference_deserialize_ms, fast_serialize_ms,
#                   reference_serialize_ms, copy_fresh_mapping_ms, threads,
#                   peak_rss_bytes and optionally fast_deserialize_1thread_ms,
#                   fast_serialize_1thread_ms, baseline_rss_bytes, functions,
#                   cache_bytes, code_bytes (else: the cache file's size and
#                   its header's total_code_size, u64 at offset 24),
#                   fast_deserialize_file_ms, fast_read_then_deserialize_ms,
#                   peak_rss_from_memory_bytes, inputs_rss_bytes.
# node runs under `setarch -R` when permitted (as the caches were made), with
# the cache's flags: its sidecar (C.flags for C.cache) if present, else
# --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation. A cache
# whose flags do not compile eagerly with TurboFan gets no V8 serialize time.
#
# Targets (PASS/MISS per input; "the large input" is the one with the
# largest cache):
#   fast deserialize >= 2x faster than V8's            (every input)
#   fast deserialize within 1.5x of copying the cache
#     into a fresh mapping                             (the large input)
#   fast deserialize 1 thread -> all threads >= 1.7x   (the large input)
#   fast serialize >= 2x faster than V8's              (every input)
#   fast serialize >= 3x faster than the reference's   (every input)
#   peak memory of a load <= (cache bytes + code bytes) x 1.1   (every input)
#     peak memory of a load: the peak RSS of a fresh process that decodes
#     the module and loads the cache from its file (peak_rss_bytes), less
#     the same process's RSS before it read anything (baseline_rss_bytes:
#     the program and its libraries, 5.9 MB here, which alone exceed the
#     budget of a small input); without a baseline, the whole peak.
# Printed without a target: fast versus reference deserialize, the copy's
# own ratio from one thread to all (copy_fresh_mapping_all_threads_ms: how
# far the machine lets page-fault-bound work scale) and the same copy's
# into memory already faulted in (copy_resident_all_threads_ms: how far it
# lets memory-bandwidth-bound work scale), the whole peak RSS
# against the same budget, the load from the file against reading the file
# whole and then loading, and the load from memory with both files held
# (peak_rss_from_memory_bytes): its peak against the budget and what the
# load adds to the RSS with both files read (inputs_rss_bytes) against the
# code bytes.
#
# It is a report: the exit code is 0 whatever the verdicts, 1 when a
# command fails (a V8 run, wasmcache bench, bad JSON), 2 on misuse. The
# machine's load average is printed with the results: on a shared machine,
# read the ratios, not the times.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  echo "usage: tools/bench.sh --arch x64 [--runs N] [--json-out FILE] [--v8-only] [M.wasm C.cache]..." >&2
  exit 2
}
log() { echo "bench: $*" >&2; }
die() { log "error: $*"; exit 1; }
absolute() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

arch=""
runs=7
json_out=""
v8_only=0
inputs=()
while (( $# > 0 )); do
  case "$1" in
    --arch) [[ $# -ge 2 ]] || usage; arch="$2"; shift ;;
    --runs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || usage; runs="$2"; shift ;;
    --json-out) [[ $# -ge 2 ]] || usage; json_out="$(absolute "$2")"; shift ;;
    --v8-only) v8_only=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "bench: unknown option $1" >&2; usage ;;
    *) inputs+=("$(absolute "$1")") ;;
  esac
  shift
done
[[ "$arch" == x64 ]] || { echo "bench: --arch x64 is required (the only architecture V8 runs on natively here)" >&2; usage; }
(( ${#inputs[@]} % 2 == 0 )) || { echo "bench: inputs come in pairs: M.wasm C.cache" >&2; usage; }
[[ "$(uname -m)" == x86_64 ]] || die "needs an x86-64 host"
command -v python3 >/dev/null || die "python3 not found"

bin="${WASMCACHE_BIN:-build/release/wasmcache}"
[[ "$bin" == */* ]] && bin="$(absolute "$bin")"

cd "$REPO_ROOT"
if (( ${#inputs[@]} == 0 )); then
  tools/build-bench-fixtures.sh
  inputs=("$REPO_ROOT/build/bench/large.wasm" "$REPO_ROOT/build/bench/large.x64.cache"
          "$REPO_ROOT/build/bench/sql-wasm.wasm" "$REPO_ROOT/build/bench/sql-wasm.x64.cache")
fi
for file in "${inputs[@]}"; do [[ -f "$file" ]] || die "$file: no such file"; done
if (( ! v8_only )); then
  [[ -x "$bin" ]] || die "$bin is not an executable (build it: cmake --preset release &&" \
                         "cmake --build build/release; or set WASMCACHE_BIN; or --v8-only)"
fi

NODE=.v8/x64/bin/node
STANDARD_FLAGS=(--allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation)
if [[ ! -x "$NODE" ]]; then tools/fetch-v8.sh >&2; fi
if setarch x86_64 -R true 2>/dev/null; then NODE_RUN=(setarch x86_64 -R "$NODE"); else NODE_RUN=("$NODE"); fi

work="$(mktemp -d "${TMPDIR:-/tmp}/wasmcache-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cut -d' ' -f1-3 /proc/loadavg >"$work/loadavg-start"

# run_v8 OUT.jsonl FLAGS... -- SCRIPT ARGS...: one fresh node process whose
# JSON line is appended to OUT.jsonl.
run_v8() {
  local out="$1"; shift
  local line
  line="$(timeout 900 "${NODE_RUN[@]}" "$@")" || die "V8 run failed: node $*${line:+: $line}"
  echo "$line" >>"$out"
}

count=$(( ${#inputs[@]} / 2 ))
for (( i = 0; i < count; i++ )); do
  wasm="${inputs[2 * i]}"
  cache="${inputs[2 * i + 1]}"
  flags=("${STANDARD_FLAGS[@]}")
  sidecar="${cache%.cache}.flags"
  if [[ "$sidecar" != "$cache" && -f "$sidecar" ]]; then read -r -a flags <"$sidecar"; fi
  log "$(basename "$wasm" .wasm): V8 deserialize x $runs (${flags[*]})"
  : >"$work/$i.v8-deserialize.jsonl"
  for (( r = 0; r < runs; r++ )); do
    run_v8 "$work/$i.v8-deserialize.jsonl" "${flags[@]}" tools/v8/time-deserialize.cjs "$wasm" "$cache"
  done
  : >"$work/$i.v8-serialize.jsonl"
  eager=1
  for flag in "${STANDARD_FLAGS[@]}"; do [[ " ${flags[*]} " == *" $flag "* ]] || eager=0; done
  if (( eager )); then
    log "$(basename "$wasm" .wasm): V8 compile + serialize x $runs"
    for (( r = 0; r < runs; r++ )); do
      run_v8 "$work/$i.v8-serialize.jsonl" "${flags[@]}" tools/v8/time-serialize.cjs "$wasm" "$cache"
    done
  else
    log "$(basename "$wasm" .wasm): no V8 serialize time (the cache's flags do not compile eagerly with TurboFan)"
  fi
  if (( ! v8_only )); then
    log "$(basename "$wasm" .wasm): $bin bench"
    "$bin" bench --arch x64 --wasm "$wasm" "$cache" --runs "$runs" --json >"$work/$i.wasmcache.json" \
      || die "$bin bench --arch x64 --wasm $wasm $cache --runs $runs --json failed"
  fi
done
cut -d' ' -f1-3 /proc/loadavg >"$work/loadavg-end"

python3 - "$work" "$runs" "$v8_only" "$json_out" "$(nproc)" "${inputs[@]}" <<'PY'
import json, os, statistics, struct, sys

work, runs, v8_only, json_out, cores = sys.argv[1:6]
runs, v8_only, cores = int(runs), v8_only == "1", int(cores)
paths = sys.argv[6:]
inputs = [(paths[k], paths[k + 1]) for k in range(0, len(paths), 2)]
REQUIRED = ["fast_deserialize_ms", "reference_deserialize_ms", "fast_serialize_ms",
            "reference_serialize_ms", "copy_fresh_mapping_ms", "threads", "peak_rss_bytes"]
failed = []

def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

def median_of(records, key):
    values = [r[key] for r in records if isinstance(r.get(key), (int, float))]
    if not values:
        return None, values
    return statistics.median(values), values

def number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)

def ratio(a, b):
    return a / b if number(a) and number(b) and b > 0 else None

def header_code_bytes(cache):
    with open(cache, "rb") as f:
        head = f.read(32)
    return struct.unpack_from("<Q", head, 24)[0] if len(head) >= 32 else None

def read_text(path):
    with open(path) as f:
        return f.read().strip()

results = []
largest = max(range(len(inputs)), key=lambda k: os.path.getsize(inputs[k][1]))
for k, (wasm, cache) in enumerate(inputs):
    name = os.path.basename(wasm)[:-5] if wasm.endswith(".wasm") else os.path.basename(wasm)
    deser = read_lines(f"{work}/{k}.v8-deserialize.jsonl")
    ser = read_lines(f"{work}/{k}.v8-serialize.jsonl")
    if not all(r.get("deserialized") for r in deser):
        failed.append(f"{name}: V8 did not deserialize the cache")
    v8_deser, v8_deser_runs = median_of(deser, "deserialize_ms")
    v8_ser, v8_ser_runs = median_of(ser, "serialize_ms")
    v8_compile, _ = median_of(ser, "compile_ms")
    tool = {}
    if not v8_only:
        try:
            with open(f"{work}/{k}.wasmcache.json") as f:
                tool = json.load(f)
            if not isinstance(tool, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            failed.append(f"{name}: wasmcache bench printed no JSON object ({e})")
            tool = {}
        missing = [key for key in REQUIRED if not number(tool.get(key))]
        if missing and tool:
            failed.append(f"{name}: wasmcache bench JSON lacks {', '.join(missing)}")
    cache_bytes = tool.get("cache_bytes") if number(tool.get("cache_bytes")) else os.path.getsize(cache)
    code_bytes = tool.get("code_bytes") if number(tool.get("code_bytes")) else header_code_bytes(cache)
    g = lambda key: tool.get(key) if number(tool.get(key)) else None
    fast_d, ref_d, fast_s, ref_s = g("fast_deserialize_ms"), g("reference_deserialize_ms"), \
                                   g("fast_serialize_ms"), g("reference_serialize_ms")
    copy, threads, rss, fast_d1 = g("copy_fresh_mapping_ms"), g("threads"), g("peak_rss_bytes"), \
                                  g("fast_deserialize_1thread_ms")
    baseline, memory_rss = g("baseline_rss_bytes"), g("peak_rss_from_memory_bytes")
    load_peak = rss - baseline if number(rss) and number(baseline) else rss
    budget = (cache_bytes + code_bytes) * 1.1 if number(cache_bytes) and number(code_bytes) else None
    is_large = k == largest
    thread_label = f"1 -> {threads} threads" if number(threads) else "1 -> all threads"
    # (label, value, shown as, target text, predicate, applies)
    checks = [
        ("deserialize: reference / fast", ratio(ref_d, fast_d), "x", "", None, True),
        ("deserialize: V8 / fast", ratio(v8_deser, fast_d), "x", ">= 2x", lambda v: v >= 2.0, True),
        ("deserialize: fast / fresh-mapping copy", ratio(fast_d, copy), "x", "<= 1.5x",
         lambda v: v <= 1.5, is_large),
        (f"deserialize: fast, {thread_label}", ratio(fast_d1, fast_d) if number(threads) and threads >= 2 else None,
         "x", ">= 1.7x", lambda v: v >= 1.7, is_large),
        (f"copy into a fresh mapping, {thread_label}",
         ratio(g("copy_fresh_mapping_between_loads_ms"), g("copy_fresh_mapping_all_threads_ms")),
         "x", "", None, True),
        (f"copy into resident memory, {thread_label}",
         ratio(g("copy_resident_ms"), g("copy_resident_all_threads_ms")),
         "x", "", None, True),
        ("serialize: V8 / fast", ratio(v8_ser, fast_s), "x", ">= 2x", lambda v: v >= 2.0, True),
        ("serialize: reference / fast", ratio(ref_s, fast_s), "x", ">= 3x", lambda v: v >= 3.0, True),
        ("from the file: (peak - baseline) / ((cache + code) x 1.1)" if number(baseline)
         else "from the file: peak RSS / ((cache + code) x 1.1)",
         ratio(load_peak, budget), "", "<= 1.00", lambda v: v <= 1.0, True),
        ("from the file: peak RSS / ((cache + code) x 1.1)" if number(baseline) else None,
         ratio(rss, budget), "", "", None, number(baseline)),
        ("from the file / reading it whole, then loading",
         ratio(g("fast_deserialize_file_ms"), g("fast_read_then_deserialize_ms")), "x", "", None, True),
        ("from memory: peak RSS / ((cache + code) x 1.1)", ratio(memory_rss, budget), "", "", None, True),
        ("from memory: (peak - RSS with inputs read) / code",
         ratio(memory_rss - g("inputs_rss_bytes"), code_bytes)
         if number(memory_rss) and number(g("inputs_rss_bytes")) else None,
         "", "", None, True),
    ]
    verdicts = []
    for label, value, unit, target, ok, applies in checks:
        if label is None:
            continue
        if ok is None:
            result = "info"
        elif not applies:
            result = "-"
        elif value is None:
            result = "n/a"
        else:
            result = "PASS" if ok(value) else "MISS"
        verdicts.append({"check": label, "ratio": value, "target": target or None, "result": result,
                         "unit": unit})
    results.append({
        "name": name, "wasm": wasm, "cache": cache, "large": is_large,
        "cache_bytes": cache_bytes, "code_bytes": code_bytes,
        "v8": {
            "deserialize_ms": {"median": v8_deser, "runs": v8_deser_runs},
            "serialize_ms": {"median": v8_ser, "runs": v8_ser_runs},
            "compile_ms": {"median": v8_compile},
            "flags": deser[0].get("flags") if deser else None,
            "version": deser[0].get("v8") if deser else None,
        },
        "wasmcache": tool if not v8_only else None,
        "checks": verdicts,
    })

def ms(value):
    return f"{value:10.3f} ms" if number(value) else "       n/a    "

def mb(value):
    return f"{value / 1e6:.2f} MB" if number(value) else "n/a"

load_start = read_text(f"{work}/loadavg-start")
load_end = read_text(f"{work}/loadavg-end")
print(f"tools/bench.sh --arch x64: V8 {results[0]['v8']['version'] if results else '?'}, "
      f"{cores} cores, load average {load_start} at start, {load_end} at end")
for r in results:
    tool = r["wasmcache"] or {}
    g = lambda key: tool.get(key) if number(tool.get(key)) else None
    print()
    print(f"== {r['name']}{' (the large input)' if r['large'] and len(results) > 1 else ''}: "
          f"{os.path.relpath(r['wasm'])} + {os.path.relpath(r['cache'])}")
    functions = f"{tool['functions']} functions, " if number(tool.get("functions")) else ""
    print(f"   {functions}cache {mb(r['cache_bytes'])}, code {mb(r['code_bytes'])}; V8: median of {runs} fresh processes"
          + (f"; wasmcache bench: {tool['threads']} threads" if number(tool.get("threads")) else ""))
    def spread(values):
        return f"   (min {min(values):.2f}, max {max(values):.2f})" if len(values) > 1 else ""
    rows = [
        ("V8 %DeserializeWasmModule", r["v8"]["deserialize_ms"]["median"], spread(r["v8"]["deserialize_ms"]["runs"])),
        ("V8 %SerializeWasmModule", r["v8"]["serialize_ms"]["median"], spread(r["v8"]["serialize_ms"]["runs"])),
    ]
    if not v8_only:
        rows += [
            ("fast deserialize", g("fast_deserialize_ms"), ""),
            ("fast deserialize, 1 thread", g("fast_deserialize_1thread_ms"), ""),
            ("reference deserialize", g("reference_deserialize_ms"), ""),
            ("fast serialize", g("fast_serialize_ms"), ""),
            ("fast serialize, 1 thread", g("fast_serialize_1thread_ms"), ""),
            ("reference serialize", g("reference_serialize_ms"), ""),
            ("copy into a fresh mapping", g("copy_fresh_mapping_ms"), ""),
            ("fast deserialize from the file", g("fast_deserialize_file_ms"), ""),
            ("read the file whole, then fast", g("fast_read_then_deserialize_ms"), ""),
        ]
    print()
    print(f"   {'time':36} {'median':>13}")
    for label, value, extra in rows:
        print(f"   {label:36} {ms(value)}{extra}")
    if not v8_only:
        baseline = f", baseline {mb(g('baseline_rss_bytes'))}" if number(g("baseline_rss_bytes")) else ""
        print(f"   {'peak RSS, loading the file':36} {mb(g('peak_rss_bytes')):>13}   (budget (cache + code) x 1.1 = "
              f"{mb((r['cache_bytes'] + r['code_bytes']) * 1.1) if number(r['code_bytes']) else 'n/a'}{baseline})")
        if number(g("peak_rss_from_memory_bytes")):
            print(f"   {'peak RSS, loading from memory':36} {mb(g('peak_rss_from_memory_bytes')):>13}   "
                  f"(with both files read {mb(g('inputs_rss_bytes'))})")
    if v8_only:
        continue
    print()
    print(f"   {'comparison':58} {'ratio':>8} {'target':>9}  result")
    for c in r["checks"]:
        value = "n/a" if c["ratio"] is None else (f"{c['ratio']:.2f}{c['unit']}")
        print(f"   {c['check']:58} {value:>8} {c['target'] or '':>9}  {c['result']}")

verdicts = [(r["name"], c) for r in results for c in r["checks"] if c["result"] in ("PASS", "MISS", "n/a")]
tally = {key: sum(1 for _, c in verdicts if c["result"] == key) for key in ("PASS", "MISS", "n/a")}
print()
if v8_only:
    print("targets: not judged (--v8-only: no wasmcache numbers)")
else:
    print(f"targets: {tally['PASS']} PASS, {tally['MISS']} MISS, {tally['n/a']} n/a")
for name, c in verdicts:
    if c["result"] == "MISS":
        print(f"  MISS {name}: {c['check']} = {c['ratio']:.2f}{c['unit']} (target {c['target']})")
for message in failed:
    print(f"bench: error: {message}", file=sys.stderr)

if json_out:
    with open(json_out, "w") as f:
        json.dump({"arch": "x64", "runs": runs, "cores": cores, "v8_only": v8_only,
                   "load_average": {"start": load_start, "end": load_end},
                   "inputs": results, "targets": tally, "errors": failed}, f, indent=2)
        f.write("\n")
    print(f"bench: wrote {json_out}", file=sys.stderr)
sys.exit(1 if failed else 0)
PY
