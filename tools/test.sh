#!/usr/bin/env bash
# test.sh — installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (preset debug-asan-ubsan, warnings as errors),
# builds the large real-world fixtures, runs the whole test suite and the
# proofs of the relocation encoders (re-checked with cvc5), runs every fuzz
# target for a minute under each engine, then runs
# the concurrent suites and every suite's run against fast/ again under
# ThreadSanitizer (preset tsan), and the
# W^X suites with memory protection keys in a QEMU guest, and the suites on
# big-endian and 32-bit hosts under qemu-user.
#
# Usage: tools/test.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

tools/setup.sh
# The large fixtures (sql.js, zstd, tree-sitter) are rebuilt, not committed.
if [[ ! -f build/fixtures-large/x64/sql-wasm.cache || ! -f build/fixtures-large/arm64/sql-wasm.cache ]]; then
  tools/build-fixtures.sh --large-only
fi
cmake --preset debug-asan-ubsan
cmake --build build/debug-asan-ubsan -j"$(nproc)"
export WASMCACHE_REQUIRE_LARGE=1
ctest --preset debug-asan-ubsan -j"$(nproc)"

# The reference and the fast implementation agree on the large real caches
# and mutants of them (ctest already ran `wasmcache equiv` on the committed
# corpus and synthesized caches of every target).
build/debug-asan-ubsan/wasmcache equiv --seeds 0 --mutants 8 build/fixtures-large

# The Z3 proofs of every relocation encoder on every target, the mutants
# refuted, and every obligation re-checked with cvc5 (proofs/README.md).
build/debug-asan-ubsan/wasmcache prove --smt2-dir build/smt2 --recheck cvc5

# Fuzzing: every target of fuzz/ for 60 seconds under libFuzzer and under
# AFL++ (their builds: presets libfuzzer, afl, afl-cmplog, fuzz-tools),
# failing on any crash or difference. (ctest above already replayed every
# seed and corpus/regressions through each target under ASan and UBSan.)
tools/wasmcache-fuzz smoke --build --time 60

# V8 as a peer: a short load-gate campaign (every input `wasmcache verify`
# accepts is loaded by Node 24.20's V8, which must not crash on it), and
# the saved reproducers of past holes, all gated now.
tools/wasmcache-fuzz v8gate --smoke --wasmcache build/debug-asan-ubsan/wasmcache
tools/wasmcache-fuzz v8gate --replay --wasmcache build/debug-asan-ubsan/wasmcache
# The concurrent code (code manager, ref counting, patching while code
# runs, and every suite run against the parallel fast/ implementation)
# under ThreadSanitizer too.
cmake --preset tsan
cmake --build build/tsan -j"$(nproc)"
ctest --preset tsan -j"$(nproc)" -R 'Concurrency|CodeManager|RefScope|Executable|\.fast'

# The protection-key path of W^X, on an emulated CPU that has keys (QEMU
# system emulation boots Debian's kernel; this machine's CPU has none).
tools/run-pkey-vm.sh

# Big-endian (s390x) and 32-bit (i686) hosts: the library and every suite
# cross-built with Debian's compilers and run under qemu-user.
tools/cross-test.sh s390x i686
