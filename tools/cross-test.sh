#!/usr/bin/env bash
# cross-test.sh — builds the library and its unit tests with Debian's cross
# compilers and runs them under qemu-user: aarch64, riscv64, s390x (big
# endian) and i686 (32-bit). Each target builds into build/cross-<arch> with
# the toolchain file tools/cross/<arch>.cmake (Release, no sanitizers, no
# benchmarks); ctest runs every test binary through qemu-<arch>-static.
#
# Usage: tools/cross-test.sh [ARCH...]     (default: aarch64 riscv64 s390x i686)
#
# Environment:
#   CROSS_JOBS=2           build and ctest parallelism
#   CROSS_BUILD_TYPE=Release
#   CROSS_TARGETS="..."    build only these targets (default: all); the
#                          placeholders ctest has for suites not built
#                          (<suite>_NOT_BUILT) are left out of the run
#   CROSS_BUILD_ROOT=build where build/cross-<arch> goes
#   CROSS_TESTS=REGEX      ctest -R (default: every test)
#   CROSS_EXCLUDE=REGEX    ctest -E (default: ^v8_accepts_, which needs node
#                          and the V8 binaries of the host)
#   CROSS_NO_INSTALL=1     never run apt-get (fail if something is missing)
#
# Packages (Debian 12, installed when missing; needs root):
#   g++-<triplet> for each target, qemu-user-static, and through multiarch
#   (dpkg --add-architecture arm64|s390x|i386) libabsl-dev:<arch> and
#   libgtest-dev:<arch>.
#   riscv64 is no release architecture of Debian 12 (bookworm's Release lists
#   all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x), so there
#   is no libabsl-dev:riscv64: abseil is built from bookworm's source package
#   (apt-get source abseil, from a deb-src entry this script adds) and
#   GoogleTest from /usr/src/googletest (the sources libgtest-dev ships), both
#   with g++-riscv64-linux-gnu, into build/cross-deps/riscv64 (kept between
#   runs).
#
# Tests that cannot run on a foreign host report SKIPPED (the executable and
# concurrency suites run generated x64 code: they skip unless the host is
# x86-64). llvm-mc, wat2wasm and the like are host binaries: a test binary
# under qemu-user starts them through popen, and the host kernel runs them
# natively. The wasmcache CLI the tests start is a target binary: its path
# is prefixed with the emulator (tests/CMakeLists.txt).
#
# Left out under emulation: the v8_accepts_* tests (node and V8's binaries
# of the host), and the "threadsafe" death tests (CodeManagerLimitDeathTest
# and CodeManagerRefCountDeathTest re-execute the test binary, which the
# host kernel runs only when qemu is registered in binfmt_misc; they run
# when it is).
#
# The loader and libc of a run come from one glibc build: qemu runs with
# -L / where multiarch has the target's libc6 (tools/cross/common.cmake).
#
# Prints a summary per target (passed, failed, skipped, minutes) and exits
# non-zero if any target failed to build or any test failed.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

JOBS="${CROSS_JOBS:-2}"
BUILD_TYPE="${CROSS_BUILD_TYPE:-Release}"
TARGETS="${CROSS_TARGETS:-}"
TESTS="${CROSS_TESTS:-}"
EXCLUDE="${CROSS_EXCLUDE:-^v8_accepts_}"

ALL_ARCHES=(aarch64 riscv64 s390x i686)
if (( $# > 0 )); then ARCHES=("$@"); else ARCHES=("${ALL_ARCHES[@]}"); fi

triplet_of() {
  case "$1" in
    aarch64) echo aarch64-linux-gnu ;;
    riscv64) echo riscv64-linux-gnu ;;
    s390x) echo s390x-linux-gnu ;;
    i686) echo i686-linux-gnu ;;
    *) return 1 ;;
  esac
}
# Debian's architecture name (dpkg --add-architecture, pkg:<arch>).
dpkg_arch_of() {
  case "$1" in
    aarch64) echo arm64 ;;
    riscv64) echo riscv64 ;;
    s390x) echo s390x ;;
    i686) echo i386 ;;
  esac
}
qemu_of() {
  case "$1" in
    i686) echo qemu-i386-static ;;
    *) echo "qemu-$1-static" ;;
  esac
}

for arch in "${ARCHES[@]}"; do
  if ! triplet_of "$arch" >/dev/null; then
    echo "cross-test: unknown target '$arch' (known: ${ALL_ARCHES[*]})" >&2
    exit 2
  fi
done

log() { echo "cross-test: $*"; }

# ---- packages -------------------------------------------------------------

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt-get update, tolerating an index that fails to download (a mirror in
# sync): what matters is whether the packages then install.
apt_update() {
  apt-get update || { sleep 5; apt-get update; } || \
    log "apt-get update reported errors; trying to install anyway"
}

install_packages() {
  local -a missing=() new_arches=()
  local arch triplet darch
  for package in qemu-user-static cmake ninja-build python3 \
      "libgtest-dev:$(dpkg --print-architecture)"; do
    installed "$package" || missing+=("$package")
  done
  for arch in "${ARCHES[@]}"; do
    triplet="$(triplet_of "$arch")"
    darch="$(dpkg_arch_of "$arch")"
    installed "g++-$triplet" || missing+=("g++-$triplet")
    if [[ "$arch" == riscv64 ]]; then
      # Sources are unpacked with dpkg-source (dpkg-dev).
      installed dpkg-dev || missing+=(dpkg-dev)
      continue
    fi
    if ! dpkg --print-foreign-architectures | grep -qx "$darch"; then
      new_arches+=("$darch")
    fi
    installed "libabsl-dev:$darch" || missing+=("libabsl-dev:$darch")
    installed "libgtest-dev:$darch" || missing+=("libgtest-dev:$darch")
  done
  (( ${#missing[@]} == 0 )) && return 0
  if [[ -n "${CROSS_NO_INSTALL:-}" ]]; then
    log "missing packages: ${missing[*]} (CROSS_NO_INSTALL is set)" >&2
    exit 1
  fi
  if [[ "$(id -u)" != 0 ]]; then
    log "missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  for darch in "${new_arches[@]}"; do
    log "dpkg --add-architecture $darch"
    dpkg --add-architecture "$darch"
  done
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  apt-get install -y --no-install-recommends "${missing[@]}"
}

# ---- riscv64: abseil and GoogleTest from Debian's sources -----------------

DEB_SRC_LIST=/etc/apt/sources.list.d/wasmcache-deb-src.sources

riscv64_deps() {
  local deps="$REPO_ROOT/build/cross-deps/riscv64"
  local stamp="$deps/.built"
  local host absl_version gtest_version
  host="$(dpkg --print-architecture)"
  absl_version="$(dpkg-query -W -f='${Version}' "libabsl-dev:$host" 2>/dev/null || true)"
  gtest_version="$(dpkg-query -W -f='${Version}' "libgtest-dev:$host" 2>/dev/null || true)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "abseil $absl_version gtest $gtest_version" ]]; then
    return 0
  fi
  log "riscv64: building abseil and GoogleTest from Debian's sources into $deps"
  local work="$REPO_ROOT/build/cross-deps/riscv64-src"
  rm -rf "$work" "$deps"
  mkdir -p "$work" "$deps"

  # abseil: bookworm's source package (the version libabsl-dev has on the
  # host, patches applied), through a deb-src entry.
  if ! (cd "$work" && apt-get source --only-source "abseil${absl_version:+=$absl_version}") \
      >"$work/apt-source.log" 2>&1; then
    if [[ "$(id -u)" != 0 ]]; then
      log "riscv64: apt-get source abseil failed and adding deb-src needs root" >&2
      cat "$work/apt-source.log" >&2
      return 1
    fi
    if [[ ! -f "$DEB_SRC_LIST" ]]; then
      log "riscv64: adding deb-src entries ($DEB_SRC_LIST)"
      cat >"$DEB_SRC_LIST" <<'EOF'
# Added by wasmcache tools/cross-test.sh: riscv64 is no release architecture
# of Debian 12, so abseil is built from its source package.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    apt_update
    (cd "$work" && apt-get source --only-source "abseil${absl_version:+=$absl_version}")
  fi
  local absl_src
  absl_src="$(find "$work" -maxdepth 1 -type d -name 'abseil-*' | head -n1)"
  [[ -n "$absl_src" ]] || { log "riscv64: no abseil source tree" >&2; return 1; }

  local toolchain="$REPO_ROOT/tools/cross/riscv64.cmake"
  cmake -S "$absl_src" -B "$work/absl-build" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$deps" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON -DBUILD_TESTING=OFF
  cmake --build "$work/absl-build" -j"$JOBS"
  cmake --install "$work/absl-build" >/dev/null

  # GoogleTest: the sources libgtest-dev ships (same version as its headers).
  cmake -S /usr/src/googletest -B "$work/gtest-build" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$deps" -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_GMOCK=OFF
  cmake --build "$work/gtest-build" -j"$JOBS"
  cmake --install "$work/gtest-build" >/dev/null

  rm -rf "$work"
  echo "abseil $absl_version gtest $gtest_version" >"$stamp"
}

# ---- build and test one target --------------------------------------------

declare -A RESULT EXCLUDED

# Counts from ctest's JUnit report: "total failed skipped".
junit_counts() {
  local file="$1"
  python3 - "$file" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
total = failed = skipped = 0
for case in suite.iter("testcase"):
    total += 1
    status = case.get("status", "")
    if status in ("fail", "failed") or case.find("failure") is not None:
        failed += 1
    elif status in ("skipped", "disabled", "notrun") or case.find("skipped") is not None:
        skipped += 1
print(total, failed, skipped)
EOF
}

run_arch() {
  local arch="$1"
  local build="${CROSS_BUILD_ROOT:-$REPO_ROOT/build}/cross-$arch"
  local start=$SECONDS
  local -a cmake_args=(
    -G Ninja
    -DCMAKE_TOOLCHAIN_FILE="$REPO_ROOT/tools/cross/$arch.cmake"
    -DCMAKE_BUILD_TYPE="$BUILD_TYPE"
    -DWASMCACHE_BUILD_BENCHMARKS=OFF
    -DWASMCACHE_BUILD_TESTS=ON
  )
  if [[ "$arch" == riscv64 ]]; then
    if ! riscv64_deps; then
      RESULT[$arch]="DEPS-FAILED"
      return 1
    fi
    cmake_args+=(-DWASMCACHE_CROSS_DEPS="$REPO_ROOT/build/cross-deps/riscv64")
  fi

  log "$arch: configure ($build)"
  mkdir -p "$build"
  if ! cmake -S "$REPO_ROOT" -B "$build" "${cmake_args[@]}" >"$build/configure.log" 2>&1; then
    cat "$build/configure.log"
    RESULT[$arch]="CONFIGURE-FAILED"
    return 1
  fi
  log "$arch: build${TARGETS:+ ($TARGETS)}"
  local -a targets=()
  [[ -n "$TARGETS" ]] && read -r -a targets <<<"$TARGETS"
  if ! cmake --build "$build" -j"$JOBS" ${targets[@]+--target "${targets[@]}"}; then
    RESULT[$arch]="BUILD-FAILED"
    return 1
  fi
  local build_time=$((SECONDS - start))

  log "$arch: test"
  local -a ctest_args=(--test-dir "$build" -j"$JOBS" --output-on-failure
                       --output-junit "$build/ctest-junit.xml")
  local exclude="$EXCLUDE"
  # "threadsafe" death tests re-execute the test binary: the host kernel
  # runs a target binary only with qemu registered in binfmt_misc.
  if ! grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/qemu-$(qemu_of "$arch" | sed 's/^qemu-//; s/-static$//')"; then
    exclude="${exclude:+$exclude|}(CodeManagerLimit|CodeManagerRefCount)DeathTest\\."
  fi
  [[ -n "$TARGETS" ]] && exclude="${exclude:+$exclude|}_NOT_BUILT\$"
  [[ -n "$TESTS" ]] && ctest_args+=(-R "$TESTS")
  [[ -n "$exclude" ]] && ctest_args+=(-E "$exclude")
  EXCLUDED[$arch]="$exclude"
  local ctest_status=0
  ctest "${ctest_args[@]}" || ctest_status=$?
  local total=0 failed=0 skipped=0
  if [[ -f "$build/ctest-junit.xml" ]]; then
    read -r total failed skipped < <(junit_counts "$build/ctest-junit.xml")
  fi
  local passed=$((total - failed - skipped))
  local elapsed=$((SECONDS - start))
  RESULT[$arch]="$(printf '%4d passed %3d failed %3d skipped   build %dm%02ds, total %dm%02ds' \
    "$passed" "$failed" "$skipped" $((build_time / 60)) $((build_time % 60)) \
    $((elapsed / 60)) $((elapsed % 60)))"
  if (( ctest_status != 0 || failed != 0 || total == 0 )); then
    RESULT[$arch]+="  FAILED"
    return 1
  fi
}

install_packages

status=0
for arch in "${ARCHES[@]}"; do
  run_arch "$arch" || status=1
done

echo
echo "cross-test summary${TESTS:+ (ctest -R '$TESTS')}:"
for arch in "${ARCHES[@]}"; do
  printf '  %-8s %s\n' "$arch" "${RESULT[$arch]:-not run}"
  [[ -n "${EXCLUDED[$arch]:-}" ]] && printf '  %-8s (ctest -E %s)\n' "" "${EXCLUDED[$arch]}"
done
exit "$status"
