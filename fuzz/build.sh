#!/bin/bash -eu
# fuzz/build.sh — builds every fuzz target the way OSS-Fuzz and
# ClusterFuzzLite expect (.clusterfuzzlite/build.sh calls this).
#
# Honours $CC, $CXX, $CFLAGS, $CXXFLAGS, $LIB_FUZZING_ENGINE and $OUT (and
# $SRC, $WORK when set). For each target fuzz/<name>_fuzzer.cc it puts in
# $OUT:
#   <name>                    the target, linked with $LIB_FUZZING_ENGINE
#   <name>_seed_corpus.zip    corpus/fuzz/<name> plus corpus/regressions/<name>
#   <name>.dict, <name>.options   when fuzz/ has them
# and libwasmcache_afl_mutator.so (deserialize_fuzzer's structure-aware
# mutator for AFL++; it is also linked into the target as
# LLVMFuzzerCustomMutator, which libFuzzer uses by itself).
#
# abseil comes from the distribution's libabsl-dev, built against
# libstdc++, so a `-stdlib=libc++` in the flags is dropped (MemorySanitizer
# builds, which need an instrumented libc++, are not supported).
#
# Local use, as OSS-Fuzz would run it:
#   CC=clang CXX=clang++ \
#   CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize=fuzzer-no-link" \
#   CXXFLAGS="$CFLAGS" LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/build.sh

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${OUT:?set OUT to the output directory}"
: "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE (e.g. -fsanitize=fuzzer)}"
CC="${CC:-clang}"
CXX="${CXX:-clang++}"
CFLAGS="${CFLAGS:-}"
CXXFLAGS="${CXXFLAGS:-}"
WORK="${WORK:-$SOURCE_DIR/build/oss-fuzz}"
BUILD_DIR="$WORK/wasmcache-build"

strip_libcxx() { sed -e 's/-stdlib=libc++//g' <<<"$1"; }
CFLAGS="$(strip_libcxx "$CFLAGS")"
CXXFLAGS="$(strip_libcxx "$CXXFLAGS")"

mkdir -p "$OUT" "$BUILD_DIR"
cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="" \
  -DWASMCACHE_FUZZ_ENGINE=external \
  -DWASMCACHE_LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE" \
  -DWASMCACHE_BUILD_TESTS=OFF -DWASMCACHE_BUILD_BENCHMARKS=OFF \
  -DWASMCACHE_BUILD_PROOFS=OFF

targets=()
for source in "$SOURCE_DIR"/fuzz/*_fuzzer.cc; do
  targets+=("$(basename "$source" .cc)")
done
cmake --build "$BUILD_DIR" --target "${targets[@]}" -j"$(nproc)"

for name in "${targets[@]}"; do
  cp "$BUILD_DIR/fuzz/$name" "$OUT/$name"
  for extra in dict options; do
    if [[ -f "$SOURCE_DIR/fuzz/$name.$extra" ]]; then
      cp "$SOURCE_DIR/fuzz/$name.$extra" "$OUT/$name.$extra"
    fi
  done
  rm -f "$OUT/${name}_seed_corpus.zip"
  seeds=()
  for dir in "$SOURCE_DIR/corpus/fuzz/$name" "$SOURCE_DIR/corpus/regressions/$name"; do
    [[ -d "$dir" ]] && seeds+=("$dir")
  done
  if (( ${#seeds[@]} > 0 )); then
    # -j: flat names, as the engines read the zip.
    find "${seeds[@]}" -type f -print0 | xargs -0 zip -q -j "$OUT/${name}_seed_corpus.zip"
  fi
done
echo "fuzz/build.sh: ${targets[*]} in $OUT"
