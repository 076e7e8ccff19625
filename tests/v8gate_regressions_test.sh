#!/usr/bin/env bash
# v8gate_regressions_test.sh — every cache in corpus/regressions/v8gate
# (inputs the V8 load-gate campaign found V8 13.6 crashing or misbehaving
# on while `wasmcache verify` accepted them) is now rejected by both
# implementations, and its unmutated seed is still accepted (so the
# rejection is about the edit, not the header or the module).
#
# Usage: tests/v8gate_regressions_test.sh CLI
#   CLI  the wasmcache executable (in cross builds: "EMULATOR... wasmcache",
#        one argument, split on spaces)
# The header words are recorded, not checked (--record-header): the seeds
# carry the CPU-feature word of the machine that made them.
# (`tools/wasmcache-fuzz v8gate --replay` also loads each into V8.)
set -euo pipefail
(( $# == 1 )) || { echo "usage: $0 path/to/wasmcache" >&2; exit 2; }
read -ra CLI <<<"$1"
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/corpus/regressions/v8gate"
checked=0
for case in "$DIR"/*/; do
  [[ -f "$case/finding.json" ]] || continue
  arch="$(sed -n 's/^ *"arch": "\([a-z0-9]*\)".*/\1/p' "$case/finding.json" | head -1)"
  cache="$case/minimized.cache"
  [[ -f "$cache" ]] || cache="$case/input.cache"
  for impl in reference fast; do
    if "${CLI[@]}" verify --arch "$arch" --record-header --impl "$impl" \
         --wasm "$case/module.wasm" "$case/seed.cache" >/dev/null; then :; else
      echo "FAIL: $(basename "$case"): the seed is rejected by $impl" >&2; exit 1
    fi
    set +e
    out="$("${CLI[@]}" verify --arch "$arch" --record-header --impl "$impl" \
             --wasm "$case/module.wasm" "$cache" 2>&1)"
    status=$?
    set -e
    if (( status != 1 )); then
      echo "FAIL: $(basename "$case"): $impl exit status $status (want 1: rejected): $out" >&2
      exit 1
    fi
    echo "$(basename "$case") ($arch, $impl): $out"
  done
  checked=$((checked + 1))
done
(( checked > 0 )) || { echo "FAIL: no cases in $DIR" >&2; exit 1; }
echo "v8gate regressions: $checked cases rejected by both implementations"
