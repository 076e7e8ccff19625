#!/usr/bin/env bash
# run-example.sh — the main job on a bundled example: installs what is
# missing, builds wasmcache (release), then verifies, inspects and relocates
# a real V8 13.6 cache from corpus/ and prints what it found.
#
# Usage: tools/run-example.sh [ARCH [NAME]]   (default: x64 call_indirect)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
ARCH="${1:-x64}"
NAME="${2:-call_indirect}"

tools/setup.sh
cmake --preset release >/dev/null
cmake --build build/release --target wasmcache

CLI=build/release/wasmcache
WASM="corpus/v8-13.6/$ARCH/$NAME.wasm"
CACHE="corpus/v8-13.6/$ARCH/$NAME.cache"
OUT="build/example-$ARCH-$NAME.relocated.cache"

echo
echo "== verify $CACHE"
"$CLI" verify --arch "$ARCH" --wasm "$WASM" "$CACHE"
echo
echo "== inspect $CACHE"
"$CLI" inspect --arch "$ARCH" --wasm "$WASM" "$CACHE"
echo
echo "== relocate $CACHE -> $OUT"
"$CLI" relocate --arch "$ARCH" --wasm "$WASM" "$CACHE" -o "$OUT"
if cmp -s "$CACHE" "$OUT"; then
  echo "the relocated cache is byte-identical to the input"
else
  echo "the relocated cache differs from the input in $(cmp -l "$CACHE" "$OUT" | wc -l) bytes" \
       "(canonical form: x64 external references lose the upper address halves V8 leaves in them)"
fi
"$CLI" relocate --arch "$ARCH" --wasm "$WASM" "$OUT" -o "$OUT.again" >/dev/null
cmp "$OUT" "$OUT.again" && echo "relocating the output again gives the same bytes"
