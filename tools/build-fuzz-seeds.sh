#!/usr/bin/env bash
# build-fuzz-seeds.sh — (re)writes the seed corpora of the cache fuzz
# targets from the committed real V8 caches and from synthesized caches of
# every target, before minimization (tools/wasmcache-fuzz minimizes them
# with libFuzzer -merge=1; corpus/fuzz/README.md).
#
# Usage: tools/build-fuzz-seeds.sh BUILD_DIR OUT_DIR
#   BUILD_DIR  a build with the wasmcache CLI and fuzz/wasmcache-mutate
#   OUT_DIR    receives deserialize_fuzzer/ and roundtrip_fuzzer/
set -euo pipefail

(( $# == 2 )) || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
BUILD="$1"
OUT="$2"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLI="$BUILD/wasmcache"
MUTATE="$BUILD/fuzz/wasmcache-mutate"
[[ -x "$CLI" && -x "$MUTATE" ]] || { echo "build-fuzz-seeds: build wasmcache and wasmcache-mutate in $BUILD first" >&2; exit 1; }

mkdir -p "$OUT/deserialize_fuzzer" "$OUT/roundtrip_fuzzer"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Real V8 13.6 caches (Node 24.20 on x64 and arm64), except `many`
# (over 100 KB: beyond the targets' max_len, and slow; the large-module
# paths are the equivalence tests' and the V8 load gate's).
for arch in x64 arm64; do
  for cache in "$REPO_ROOT"/corpus/v8-13.6/$arch/*.cache; do
    name="$(basename "$cache" .cache)"
    [[ "$name" == many ]] && continue
    "$MUTATE" --pack --arch "$arch" --wasm "${cache%.cache}.wasm" \
      -o "$OUT/deserialize_fuzzer/v8-$arch-$name" "$cache"
  done
done

# Synthesized caches of every target: small and medium, canonical or not,
# with every form the codec accepts in some of them.
for arch in x64 ia32 arm64 arm riscv64 riscv32 mips64 ppc64 s390x loong64; do
  for spec in "1 3" "2 8" "3 24"; do
    read -r seed functions <<<"$spec"
    extra=()
    (( seed == 2 )) && extra+=(--canonical)
    (( seed == 3 )) && extra+=(--all-forms)
    "$CLI" synth --arch "$arch" --seed "$seed" --functions "$functions" "${extra[@]}" \
      -o "$scratch/c.cache" --wasm-out "$scratch/c.wasm" >/dev/null
    "$MUTATE" --pack --arch "$arch" --wasm "$scratch/c.wasm" \
      -o "$OUT/deserialize_fuzzer/synth-$arch-$seed" "$scratch/c.cache"
  done
done

# The same containers with the file bit (fuzz/lib/container.h): the fast
# implementation loads them from a file, streamed a page at a time. The
# real V8 caches of x64 and the synthesized ones with every form.
python3 - "$OUT/deserialize_fuzzer" <<'PY'
import os, sys
out = sys.argv[1]
for name in sorted(os.listdir(out)):
    if not (name.startswith('v8-x64-') or
            (name.startswith('synth-') and name.endswith('-3'))):
        continue
    data = bytearray(open(os.path.join(out, name), 'rb').read())
    data[0] |= 0x20
    with open(os.path.join(out, name + '-file'), 'wb') as f:
        f.write(data)
PY
# roundtrip_fuzzer inputs (fuzz/lib/oracles.h CheckRoundTrip): target byte,
# u64 seed, function count, flags (canonical, all forms, struct type, one
# thread), sites per function, address shift.
python3 - "$OUT/roundtrip_fuzzer" <<'PY'
import struct, sys, os
out = sys.argv[1]
for arch in range(10):
    for k, flags in enumerate((0, 1 | 8, 2 | 4)):
        data = bytes([arch]) + struct.pack('<Q', 1000 * arch + k) + \
               bytes([4 + 10 * k, flags, 6 + 6 * k, 1 + 40 * k])
        with open(os.path.join(out, f'synth-{arch}-{k}'), 'wb') as f:
            f.write(data)
PY
echo "build-fuzz-seeds: $(ls "$OUT/deserialize_fuzzer" | wc -l) deserialize_fuzzer seeds, $(ls "$OUT/roundtrip_fuzzer" | wc -l) roundtrip_fuzzer seeds in $OUT"
