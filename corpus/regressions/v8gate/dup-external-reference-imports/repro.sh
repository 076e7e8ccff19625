#!/usr/bin/env bash
# A v8gate hole: `wasmcache verify` accepts the cache, V8's loader crashes
# on it. Usage: repro.sh [DIR] (default: this script's directory), run
# anywhere inside the wasmcache repository (or set WASMCACHE_REPO).
set -u
d="$(cd "${1:-$(dirname "$0")}" && pwd)"
cd "${WASMCACHE_REPO:-$(cd "$d" && git rev-parse --show-toplevel)}" || exit 2
words() { od -A n -t x4 -N 20 --endian=little "$1" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//; s/ /,/g'; }
cache="$d/minimized.cache"; [[ -e "$cache" ]] || cache="$d/input.cache"
seed="$d/seed.cache"
build/release/wasmcache verify --arch x64 --expect-header "$(words "$seed")" --wasm "$d/module.wasm" "$cache"
echo "wasmcache verify: exit $? (0: accepted)"
.v8/x64/bin/node $(cat "$d/v8.flags") tools/v8/load.cjs --flags "@$d/v8.flags" "$d/module.wasm" "$cache"
echo "node: exit $? (above 128: killed by a signal, V8 crashed)"
