#!/usr/bin/env bash
# v8_accepts_test.sh — real V8 13.6 (Node 24.20) accepts what wasmcache writes.
#
# Usage: tests/v8_accepts_test.sh ARCH CLI WORKDIR
#   ARCH     x64 | arm64 (arm64 runs .v8/arm64/bin/node under qemu-aarch64-static)
#   CLI      the wasmcache executable
#   WORKDIR  scratch directory; everything goes to WORKDIR/ARCH/
#
# For every module in corpus/wat (wire bytes: corpus/v8-13.6/ARCH/NAME.wasm):
#   1. serialize a fresh cache with ARCH's node, so the header's CPU-feature
#      word is this machine's (V8 rejects a cache whose word differs); a
#      tiered module (corpus/wat/NAME.tiering.json) is made the way
#      tools/build-fixtures.sh makes it: tools/v8/serialize-tiered.cjs under
#      the file's own "v8_flags", and is loaded and compiled under those;
#   2. `CLI relocate` it; relocating the output again must give the same
#      bytes (cmp);
#   3. load the relocated cache in a fresh node: "deserialized": true;
#   4. run corpus/wat/NAME.calls.json on the deserialized module and on a
#      module compiled from the wire bytes (--compile-instead): the results
#      must be identical.
# The committed fixture corpus/v8-13.6/ARCH/NAME.cache is relocated too
# (idempotence checked the same way) and loaded, under the flags of its
# NAME.flags sidecar if it has one, when its CPU-feature word equals the
# fresh cache's; when it does not, a line says so (the fresh caches already
# cover loading).
# The large modules (build/fixtures-large/ARCH, made by
# tools/build-fixtures.sh --large-only if absent) go through steps 1-3
# (no call specs).
# A control copy of one relocated cache with a corrupted flag-hash word must
# be rejected, so "deserialized": true is known to be a real verdict.
#
# Exit 0 only if every check passes; missing prerequisites fail the test.
set -euo pipefail

die() { echo "v8_accepts: FAIL: $*" >&2; exit 1; }
log() { echo "v8_accepts: $*"; }

(( $# == 3 )) || { echo "usage: $0 x64|arm64 path/to/wasmcache WORKDIR" >&2; exit 2; }
ARCH="$1"
CLI="$2"
WORKDIR="$3"
[[ "$ARCH" == x64 || "$ARCH" == arm64 ]] || { echo "v8_accepts: ARCH must be x64 or arm64, not '$ARCH'" >&2; exit 2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

V8_FLAGS=(--allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation)
ARM64_SYSROOT=/usr/aarch64-linux-gnu
X64_SYSROOT=/usr/x86_64-linux-gnu
TIMEOUT_NATIVE=600
TIMEOUT_EMULATED=300
SMALL_DIR=corpus/v8-13.6
LARGE_DIR=build/fixtures-large

# --- prerequisites ----------------------------------------------------------
for tool in timeout od cmp flock; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x "$CLI" ]] || die "wasmcache CLI '$CLI' is not an executable file (build the wasmcache target)"

case "$(uname -m)" in
  x86_64) HOST_ARCH=x64 ;;
  aarch64) HOST_ARCH=arm64 ;;
  *) die "unsupported host $(uname -m)" ;;
esac
NODE=".v8/$ARCH/bin/node"
HOST_NODE=".v8/$HOST_ARCH/bin/node"
[[ -x "$NODE" ]] || die "$NODE missing: run tools/fetch-v8.sh (Node 24.20 for $ARCH)"
[[ -x "$HOST_NODE" ]] || die "$HOST_NODE missing: run tools/fetch-v8.sh"
if [[ "$ARCH" != "$HOST_ARCH" ]]; then
  if [[ "$ARCH" == arm64 ]]; then
    command -v qemu-aarch64-static >/dev/null \
      || die "qemu-aarch64-static not found: needed to run the arm64 node (tools/setup.sh)"
    [[ -e "$ARM64_SYSROOT/lib/ld-linux-aarch64.so.1" ]] \
      || die "$ARM64_SYSROOT/lib/ld-linux-aarch64.so.1 missing: arm64 cross libraries needed by qemu (tools/setup.sh)"
  else
    command -v qemu-x86_64-static >/dev/null \
      || die "qemu-x86_64-static not found: needed to run the x64 node"
  fi
fi

# run_node NODE_ARGS...: ARCH's node, natively or under qemu.
run_node() {
  if [[ "$ARCH" == "$HOST_ARCH" ]]; then
    timeout "$TIMEOUT_NATIVE" "$NODE" "$@"
  elif [[ "$ARCH" == arm64 ]]; then
    run_emulated qemu-aarch64-static -L "$ARM64_SYSROOT" -E LD_LIBRARY_PATH="$ARM64_SYSROOT/lib" "$NODE" "$@"
  else
    run_emulated qemu-x86_64-static -L "$X64_SYSROOT" "$NODE" "$@"
  fi
}

# run_emulated COMMAND...: node under qemu-user now and then hangs (seen:
# a serialization that takes seconds spinning for half an hour). A run that
# hits the timeout is tried again, up to three times; any other failure is
# returned as it is.
run_emulated() {
  local attempt status
  for attempt in 1 2 3; do
    status=0
    timeout "$TIMEOUT_EMULATED" "$@" || status=$?
    [[ $status -eq 124 ]] || return "$status"
    echo "v8_accepts: emulated node timed out (attempt $attempt of 3)" >&2
  done
  return 124
}

# run_load FLAGFILE ARGS...: tools/v8/load.cjs ARGS under the V8 flags of
# FLAGFILE (a .flags sidecar: one line, space-separated), or under V8_FLAGS
# when FLAGFILE is empty.
run_load() {
  local flagfile="$1"; shift
  if [[ -n "$flagfile" ]]; then
    local flags=()
    read -r -a flags <"$flagfile"
    (( ${#flags[@]} > 0 )) || die "$flagfile lists no flags"
    run_node "${flags[@]}" tools/v8/load.cjs --flags "@$flagfile" "$@"
  else
    run_node "${V8_FLAGS[@]}" tools/v8/load.cjs "$@"
  fi
}

# json_field FILE EXPR: evaluates EXPR (JavaScript, `j` is the parsed file).
json_field() {
  "$HOST_NODE" -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = eval(process.argv[2]);
    console.log(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

# header_word FILE I: header word I (0..4) as 8 hex digits.
header_word() {
  od -A n -t x4 -j $((4 * $2)) -N 4 --endian=little "$1" | tr -d ' \n'
}
HEADER_WORD_NAMES=(magic version-hash cpu-features flag-hash wasm-features)

# relocate IN OUT WASM: relocate IN to OUT, then OUT again; both outputs equal.
relocate() {
  local in="$1" out="$2" wasm="$3"
  "$CLI" relocate --arch "$ARCH" --wasm "$wasm" "$in" -o "$out" >"$out.log" 2>&1 \
    || die "wasmcache relocate $in failed: $(cat "$out.log")"
  [[ -s "$out" ]] || die "wasmcache relocate wrote no $out"
  "$CLI" relocate --arch "$ARCH" --wasm "$wasm" "$out" -o "$out.again" >"$out.again.log" 2>&1 \
    || die "wasmcache relocate of its own output $out failed: $(cat "$out.again.log")"
  cmp "$out" "$out.again" >/dev/null \
    || die "relocating $out again changed it: $(cmp "$out" "$out.again" 2>&1 | head -n 1)"
}

# load_deserialized FLAGFILE WASM CACHE OUT.json [SPEC]: V8 must deserialize
# CACHE (under FLAGFILE's flags, see run_load); with SPEC, the calls must
# have run.
load_deserialized() {
  local flagfile="$1" wasm="$2" cache="$3" out="$4" spec="${5:-}"
  local call_args=()
  [[ -n "$spec" ]] && call_args=(--call "@$spec")
  run_load "$flagfile" "$wasm" "$cache" "${call_args[@]}" >"$out" \
    || die "load.cjs $cache exited with $?"
  [[ "$(json_field "$out" 'j.deserialized === true')" == true ]] \
    || die "V8 did not deserialize $cache: $(cat "$out")"
  [[ "$(json_field "$out" 'j.error === undefined')" == true ]] \
    || die "load.cjs reported an error for $cache: $(cat "$out")"
}

# calls_match DESERIALIZED.json COMPILED.json SPEC: same call results, one per
# spec entry; prints the number of calls.
calls_match() {
  "$HOST_NODE" -e '
    const fs = require("fs");
    const [a, b, s] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
    const fail = (m) => { console.error(m); process.exit(1); };
    if (!Array.isArray(a.calls) || !Array.isArray(b.calls)) fail("a run has no calls");
    if (a.calls.length !== s.length || b.calls.length !== s.length) {
      fail(`expected ${s.length} calls, got ${a.calls.length} deserialized, ${b.calls.length} compiled`);
    }
    for (let i = 0; i < s.length; i++) {
      if (JSON.stringify(a.calls[i]) !== JSON.stringify(b.calls[i])) {
        fail(`call ${i} differs: deserialized ${JSON.stringify(a.calls[i])}, compiled ${JSON.stringify(b.calls[i])}`);
      }
    }
    console.log(s.length);
  ' "$1" "$2" "$3"
}

# serialize_fresh WASM CACHE [TIERING.json FLAGFILE]: a cache made now, by
# ARCH's node on this machine; with TIERING.json by serialize-tiered.cjs
# under its "v8_flags", which are also written to FLAGFILE.
serialize_fresh() {
  local wasm="$1" cache="$2" tiering="${3:-}" flagfile="${4:-}"
  if [[ -n "$tiering" ]]; then
    "$HOST_NODE" -e '
      const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const ok = Array.isArray(t.v8_flags) && t.v8_flags.length > 0 &&
                 t.v8_flags.every((f) => typeof f === "string" && /^--\S+$/.test(f));
      if (!ok) { console.error(`${process.argv[1]}: "v8_flags" must list flags`); process.exit(1); }
      console.log(t.v8_flags.join(" "));
    ' "$tiering" >"$flagfile" || die "$tiering: no usable v8_flags"
    local flags=()
    read -r -a flags <"$flagfile"
    run_node "${flags[@]}" tools/v8/serialize-tiered.cjs "$tiering" "$wasm" "$cache" >"$cache.json" \
      || die "serializing $wasm (tiered, $tiering) with $ARCH node failed: $(cat "$cache.json")"
  else
    run_node "${V8_FLAGS[@]}" tools/v8/serialize.cjs "$wasm" "$cache" >"$cache.json" \
      || die "serializing $wasm with $ARCH node failed: $(cat "$cache.json")"
  fi
  [[ -s "$cache" ]] || die "serialize.cjs wrote no $cache"
  local v8
  v8="$(json_field "$cache.json" 'j.v8')"
  [[ "$v8" == 13.6.* ]] || die "$NODE runs V8 $v8, not 13.6 (run tools/fetch-v8.sh)"
}

# --- run --------------------------------------------------------------------
OUT="$WORKDIR/$ARCH"
rm -rf "$OUT"
mkdir -p "$OUT/small" "$OUT/committed" "$OUT/large"
start=$SECONDS
log "$ARCH: node $NODE, wasmcache $CLI, output in $OUT"

modules=0
calls_matched=0
calls_fresh=0
committed_loaded=0
committed_skipped=0
fresh_cpu_word=""

names=()
for wat in corpus/wat/*.wat; do
  [[ -e "$wat" ]] || die "no corpus/wat/*.wat modules"
  names+=("$(basename "$wat" .wat)")
done
(( ${#names[@]} > 0 )) || die "no corpus/wat/*.wat modules"

for name in "${names[@]}"; do
  wire="$SMALL_DIR/$ARCH/$name.wasm"
  [[ -s "$wire" ]] || die "$wire missing: corpus/wat/$name.wat has no wire bytes (run tools/build-fixtures.sh)"
  spec="corpus/wat/$name.calls.json"
  [[ -f "$spec" ]] || die "$spec missing: every corpus/wat module needs a call spec"
  d="$OUT/small"
  cp "$wire" "$d/$name.wasm"
  tiering="corpus/wat/$name.tiering.json"
  flagfile=""
  if [[ -f "$tiering" ]]; then
    flagfile="$d/$name.flags"
    serialize_fresh "$d/$name.wasm" "$d/$name.fresh.cache" "$tiering" "$flagfile"
  else
    serialize_fresh "$d/$name.wasm" "$d/$name.fresh.cache"
  fi
  cpu="$(header_word "$d/$name.fresh.cache" 2)"
  if [[ -z "$fresh_cpu_word" ]]; then
    fresh_cpu_word="$cpu"
  elif [[ "$cpu" != "$fresh_cpu_word" ]]; then
    die "fresh caches disagree on the CPU-feature word: 0x$fresh_cpu_word and 0x$cpu ($name)"
  fi

  relocate "$d/$name.fresh.cache" "$d/$name.relocated.cache" "$d/$name.wasm"
  load_deserialized "$flagfile" "$d/$name.wasm" "$d/$name.relocated.cache" "$d/$name.loaded.json" "$spec"
  run_load "$flagfile" "$d/$name.wasm" - --compile-instead --call "@$spec" >"$d/$name.compiled.json" \
    || die "load.cjs --compile-instead $name exited with $?"
  [[ "$(json_field "$d/$name.compiled.json" 'j.error === undefined')" == true ]] \
    || die "compiling $name failed: $(cat "$d/$name.compiled.json")"
  n="$(calls_match "$d/$name.loaded.json" "$d/$name.compiled.json" "$spec")" \
    || die "$name: deserialized (relocated) and compiled modules give different results"
  calls_matched=$((calls_matched + n))
  calls_fresh=$((calls_fresh + n))
  modules=$((modules + 1))
  log "$ARCH: $name: fresh cache${flagfile:+ (tiered, own flags)} relocated (idempotent), deserialized, $n calls match compiled"

  # The committed fixture: relocate always; load when V8 here would accept its
  # header (the CPU-feature word is the machine-dependent one).
  committed="$SMALL_DIR/$ARCH/$name.cache"
  [[ -s "$committed" ]] || die "$committed missing"
  c="$OUT/committed"
  cp "$wire" "$c/$name.wasm"
  relocate "$committed" "$c/$name.relocated.cache" "$c/$name.wasm"
  committed_flagfile=""
  if [[ -f "$SMALL_DIR/$ARCH/$name.flags" ]]; then
    committed_flagfile="$SMALL_DIR/$ARCH/$name.flags"
  fi
  if [[ -n "$flagfile" && -z "$committed_flagfile" ]] || [[ -z "$flagfile" && -n "$committed_flagfile" ]]; then
    die "$name: corpus/wat/$name.tiering.json and $SMALL_DIR/$ARCH/$name.flags must come together (rerun tools/build-fixtures.sh)"
  fi
  committed_cpu="$(header_word "$committed" 2)"
  if [[ "$committed_cpu" == "$cpu" ]]; then
    load_deserialized "$committed_flagfile" "$c/$name.wasm" "$c/$name.relocated.cache" "$c/$name.loaded.json" "$spec"
    n="$(calls_match "$c/$name.loaded.json" "$d/$name.compiled.json" "$spec")" \
      || die "$name: committed fixture, relocated: results differ from the compiled module"
    calls_matched=$((calls_matched + n))
    committed_loaded=$((committed_loaded + 1))
    log "$ARCH: $name: committed fixture relocated (idempotent), deserialized, $n calls match compiled"
  else
    committed_skipped=$((committed_skipped + 1))
    log "$ARCH: $name: committed fixture relocated (idempotent); not loaded: header word 2" \
        "(${HEADER_WORD_NAMES[2]}) is 0x$committed_cpu, this machine's $ARCH node writes 0x$cpu"
  fi
done

# Control: V8 must reject a relocated cache whose flag-hash word is corrupted,
# so the "deserialized" verdicts above come from a check that can fail.
control="$OUT/small/control.cache"
cp "$OUT/small/${names[0]}.relocated.cache" "$control"
flag_word="$(header_word "$control" 3)"
printf '\x5a' | dd of="$control" bs=1 seek=12 conv=notrunc status=none
[[ "$(header_word "$control" 3)" != "$flag_word" ]] || printf '\xa5' | dd of="$control" bs=1 seek=12 conv=notrunc status=none
[[ "$(header_word "$control" 3)" != "$flag_word" ]] || die "could not corrupt the control cache"
control_flagfile=""
[[ -f "$OUT/small/${names[0]}.flags" ]] && control_flagfile="$OUT/small/${names[0]}.flags"
run_load "$control_flagfile" "$OUT/small/${names[0]}.wasm" "$control" >"$OUT/small/control.json" \
  || die "load.cjs on the control cache exited with $?"
[[ "$(json_field "$OUT/small/control.json" 'j.deserialized === false')" == true ]] \
  || die "V8 deserialized a cache with a corrupted flag-hash word: the harness cannot see rejection ($(cat "$OUT/small/control.json"))"
log "$ARCH: control: a cache with a corrupted flag-hash word is rejected"

# --- large modules ----------------------------------------------------------
mapfile -t large_names < <(sed -n '/^LARGE_MODULES=(/,/^)/s/^  "\([^|"]*\)|.*/\1/p' tools/build-fixtures.sh)
(( ${#large_names[@]} > 0 )) || die "no LARGE_MODULES found in tools/build-fixtures.sh"
large_missing=0
for name in "${large_names[@]}"; do
  [[ -s "$LARGE_DIR/$ARCH/$name.wasm" && -s "$LARGE_DIR/$ARCH/$name.cache" ]] || large_missing=1
done
if (( large_missing )); then
  log "$ARCH: building large fixtures: tools/build-fixtures.sh --large-only --arch $ARCH"
  mkdir -p build
  # One builder at a time: the script shares build/fixtures-wasm and build/npm.
  flock build/.fixtures-large.lock tools/build-fixtures.sh --large-only --arch "$ARCH" \
    >"$OUT/large/build-fixtures.log" 2>&1 \
    || die "tools/build-fixtures.sh --large-only --arch $ARCH failed: $(tail -n 20 "$OUT/large/build-fixtures.log")"
fi
large_loaded=0
for name in "${large_names[@]}"; do
  wire="$LARGE_DIR/$ARCH/$name.wasm"
  [[ -s "$wire" ]] || die "$wire missing after tools/build-fixtures.sh"
  d="$OUT/large"
  cp "$wire" "$d/$name.wasm"
  serialize_fresh "$d/$name.wasm" "$d/$name.fresh.cache"
  relocate "$d/$name.fresh.cache" "$d/$name.relocated.cache" "$d/$name.wasm"
  load_deserialized "" "$d/$name.wasm" "$d/$name.relocated.cache" "$d/$name.loaded.json"
  modules=$((modules + 1))
  msg="$ARCH: $name (large): fresh cache relocated (idempotent), deserialized"
  fixture="$LARGE_DIR/$ARCH/$name.cache"
  relocate "$fixture" "$d/$name.fixture.relocated.cache" "$d/$name.wasm"
  fixture_cpu="$(header_word "$fixture" 2)"
  if [[ "$fixture_cpu" == "$fresh_cpu_word" ]]; then
    load_deserialized "" "$d/$name.wasm" "$d/$name.fixture.relocated.cache" "$d/$name.fixture.loaded.json"
    large_loaded=$((large_loaded + 1))
    msg+="; $fixture relocated, deserialized"
  else
    msg+="; $fixture relocated, not loaded: header word 2 (${HEADER_WORD_NAMES[2]}) is 0x$fixture_cpu, this machine's is 0x$fresh_cpu_word"
  fi
  log "$msg"
done

log "$ARCH: calls matched: $calls_fresh on fresh caches, $((calls_matched - calls_fresh)) on committed fixtures;" \
    "committed fixtures loaded: $committed_loaded, not loaded (other CPU features): $committed_skipped;" \
    "large fixtures loaded: $large_loaded of ${#large_names[@]}; $((SECONDS - start)) s"
echo "v8_accepts $ARCH: $modules modules, all deserialized, $calls_matched calls matched"
