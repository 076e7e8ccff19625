#!/usr/bin/env bash
# setup.sh — install the Debian packages wasmcache needs, then fetch the real
# V8 13.6 binaries (tools/fetch-v8.sh).
#
# Usage: sudo tools/setup.sh      (apt-get runs only if a package is missing)
#
# Packages:
#   build:     clang lld llvm llvm-16 cmake ninja-build libabsl-dev libgtest-dev
#              libgmock-dev libz3-dev z3
#   proofs:    cvc5 (the second solver that re-checks every obligation)
#   fuzzing:   afl++ (AFL++ engine, afl-cmin, afl-plot), gnuplot-nox (the
#              plots), zip (seed-corpus archives), python3
#              (tools/wasmcache-fuzz)
#   fixtures:  wabt (wat2wasm), nodejs npm (npm pack), qemu-user-static and
#              the arm64 cross runtime (libc6-arm64-cross, and
#              libstdc++6-arm64-cross + libgcc-s1-arm64-cross, which the
#              arm64 node binary links against) to run Node's arm64 build.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGES=(
  clang lld llvm llvm-16 cmake ninja-build
  libabsl-dev libgtest-dev libgmock-dev libz3-dev z3 cvc5
  afl++ gnuplot-nox zip python3
  wabt qemu-user-static qemu-system-x86
  libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross
  nodejs npm
)

# installed PACKAGE: the host architecture's package (or an arch-all one)
# is installed. Asked per architecture, because foreign architectures
# (tools/cross-test.sh adds some) make a bare name ambiguous.
installed() {
  local status
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1:$(dpkg --print-architecture)" 2>/dev/null) ||
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
  [[ "$status" == ii* ]]
}

missing=()
for package in "${PACKAGES[@]}"; do
  # NodeSource's nodejs ships npm itself (and conflicts with Debian's npm).
  if [[ "$package" == npm ]] && command -v npm >/dev/null; then
    continue
  fi
  if ! installed "$package"; then
    missing+=("$package")
  fi
done

if (( ${#missing[@]} > 0 )); then
  echo "setup: installing ${missing[*]}"
  if [[ "$(id -u)" != 0 ]]; then
    echo "setup: run as root (or with sudo) to install packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # An index that fails to download (a mirror mid-sync, a foreign
  # architecture's list) is not fatal if the packages can still be had.
  apt-get update || echo "setup: apt-get update reported errors; trying the install anyway" >&2
  apt-get install -y "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

exec "$REPO_ROOT/tools/fetch-v8.sh"
