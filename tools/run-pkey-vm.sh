#!/usr/bin/env bash
# run-pkey-vm.sh — runs the W^X suites with memory protection keys (PKU)
# really in use, on machines whose CPU has none: a QEMU system emulator
# (TCG, `-cpu max`, which emulates PKU) boots Debian's kernel with a small
# initramfs holding busybox, the test binaries, the shared libraries they
# need and the corpus, at the absolute paths the binaries were compiled for.
#
# Usage: tools/run-pkey-vm.sh [BUILD_DIR]
#
#   BUILD_DIR  a CMake build folder holding the test binaries (default
#              build/pkey-vm, configured and built here: RelWithDebInfo,
#              clang++, no sanitizers, no benchmarks). The tests are
#              (re)built with `cmake --build` first either way.
#
# Every binary runs twice in the guest, against the reference and with
# WASMCACHE_IMPL=fast. Exit status 0 only if every run passed inside the
# guest AND the key path was active in both implementations: the guest's
# /proc/cpuinfo shows pku and ospke, and
# CodeManagerProtectionTest.KeyModeWriteWindowIsPerThread (skipped where keys
# are missing) and ...KeySupportMatchesTheKernelAndKeysCanBeTurnedOff ran and
# passed in both. 2: setup problem (missing tool, download, build); 3: timeout.
#
# Environment:
#   PKEY_VM_TIMEOUT_MIN   minutes before qemu is killed (default 45)
#   PKEY_VM_TESTS         test binaries to run (default: code_space_test
#                         code_manager_test executable_code_test
#                         concurrency_test)
#   PKEY_VM_GTEST_FILTER  --gtest_filter for every binary (default: all but
#                         X64Assembler.EncodingsMatchLlvmMc, which needs
#                         llvm-mc on the host and does not touch W^X)
#   PKEY_VM_CPU           QEMU CPU model (default max)
#   PKEY_VM_ACCEL         QEMU accelerator (default tcg,thread=single: with
#                         multi-threaded TCG, code one vCPU patches while the
#                         other runs it is not kept coherent, and
#                         concurrency_test crashes in key mode even with
#                         protection keys taken out; single-threaded TCG
#                         still interleaves the two vCPUs)
#   PKEY_VM_JOBS          build parallelism (default 2)
#
# Needs (Debian): qemu-system-x86, and apt-get able to download
# linux-image-amd64 and busybox-static (fetched with `apt-get download`,
# unpacked under build/pkey-vm-guest; nothing is installed, /boot is not
# touched). Serial output: BUILD_DIR/pkey-vm/serial.log.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

BUILD_DIR="${1:-build/pkey-vm}"
TIMEOUT_MIN="${PKEY_VM_TIMEOUT_MIN:-45}"
TESTS=(${PKEY_VM_TESTS:-code_space_test code_manager_test executable_code_test concurrency_test})
GTEST_FILTER="${PKEY_VM_GTEST_FILTER:--X64Assembler.EncodingsMatchLlvmMc}"
CPU="${PKEY_VM_CPU:-max}"
ACCEL="${PKEY_VM_ACCEL:-tcg,thread=single}"
JOBS="${PKEY_VM_JOBS:-2}"
# Key-mode tests that must have run and passed (not skipped).
REQUIRED_TESTS=(
  CodeManagerProtectionTest.KeyModeWriteWindowIsPerThread
  CodeManagerProtectionTest.KeySupportMatchesTheKernelAndKeysCanBeTurnedOff
)

log() { echo "pkey-vm: $*" >&2; }
die() { log "$*"; exit 2; }

command -v qemu-system-x86_64 >/dev/null ||
  die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

# --- 1. The test binaries -----------------------------------------------------
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  [[ "$BUILD_DIR" == build/pkey-vm ]] ||
    die "$BUILD_DIR is not a configured CMake build folder"
  log "configuring $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWASMCACHE_BUILD_BENCHMARKS=OFF \
    >/dev/null || die "cmake configure failed"
fi
BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TESTS[@]}" >&2 ||
  die "build failed"
# The binaries find the corpus through WASMCACHE_SOURCE_DIR, the source folder
# of the build; the guest mirrors it.
SOURCE_DIR="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD_DIR/CMakeCache.txt")"
[[ -d "$SOURCE_DIR/corpus" ]] || die "no corpus under $SOURCE_DIR"
BINARIES=()
for name in "${TESTS[@]}"; do
  [[ -x "$BUILD_DIR/tests/$name" ]] || die "missing $BUILD_DIR/tests/$name"
  BINARIES+=("$BUILD_DIR/tests/$name")
done

# --- 2. Kernel and busybox from Debian's archive ------------------------------
GUEST_DIR="$REPO_ROOT/build/pkey-vm-guest"
mkdir -p "$GUEST_DIR/debs"
fetch_deb() {  # fetch_deb PACKAGE -> path of the .deb
  local deb
  deb="$(ls "$GUEST_DIR"/debs/"$1"_*.deb 2>/dev/null | head -n1 || true)"
  if [[ -z "$deb" ]]; then
    log "apt-get download $1"
    (cd "$GUEST_DIR/debs" && apt-get download "$1" >/dev/null 2>&1) ||
      die "apt-get download $1 failed"
    deb="$(ls "$GUEST_DIR"/debs/"$1"_*.deb | head -n1)"
  fi
  echo "$deb"
}
KERNEL="$(ls "$GUEST_DIR"/vmlinuz-* 2>/dev/null | head -n1 || true)"
if [[ -z "$KERNEL" ]]; then
  meta="$(fetch_deb linux-image-amd64)"
  image="$(dpkg-deb -f "$meta" Depends | grep -o 'linux-image-[0-9][^ ,(]*' | head -n1)"
  [[ -n "$image" ]] || die "cannot tell the kernel package from $meta"
  deb="$(fetch_deb "$image")"
  rm -rf "$GUEST_DIR/kernel"
  mkdir -p "$GUEST_DIR/kernel"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$GUEST_DIR/kernel" --wildcards './boot/*'
  grep -q '^CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=y' "$GUEST_DIR"/kernel/boot/config-* ||
    die "$image lacks CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS"
  cp "$GUEST_DIR"/kernel/boot/vmlinuz-* "$GUEST_DIR/"
  KERNEL="$(ls "$GUEST_DIR"/vmlinuz-* | head -n1)"
fi
BUSYBOX="$GUEST_DIR/busybox"
if [[ ! -x "$BUSYBOX" ]]; then
  deb="$(fetch_deb busybox-static)"
  rm -rf "$GUEST_DIR/busybox-static"
  dpkg-deb -x "$deb" "$GUEST_DIR/busybox-static"
  cp "$GUEST_DIR/busybox-static/bin/busybox" "$BUSYBOX"
fi

# --- 3. The initramfs ---------------------------------------------------------
WORK="$BUILD_DIR/pkey-vm"
INITRAMFS="$WORK/initramfs.cpio.gz"
SETTINGS="TESTS=${TESTS[*]} IMPLS=reference,fast FILTER=$GTEST_FILTER SOURCE=$SOURCE_DIR"
mkdir -p "$WORK"
stale=0
if [[ ! -f "$INITRAMFS" || "$(cat "$WORK/settings" 2>/dev/null)" != "$SETTINGS" ]]; then
  stale=1
elif [[ -n "$(find "${BINARIES[@]}" "$SOURCE_DIR/corpus" "${BASH_SOURCE[0]}" \
              "$BUSYBOX" -newer "$INITRAMFS" -print -quit)" ]]; then
  stale=1
elif [[ -d "$SOURCE_DIR/build/fixtures-large" &&
        -n "$(find -L "$SOURCE_DIR/build/fixtures-large" -newer "$INITRAMFS" -print -quit)" ]]; then
  stale=1
fi
if (( stale )); then
  log "building $INITRAMFS"
  root="$WORK/root"
  rm -rf "$root"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc}
  cp "$BUSYBOX" "$root/bin/busybox"
  # Binaries at their own absolute paths, without debug info (smaller).
  for binary in "${BINARIES[@]}"; do
    mkdir -p "$root$(dirname "$binary")"
    strip --strip-debug -o "$root$binary" "$binary" 2>/dev/null || cp "$binary" "$root$binary"
  done
  # Their shared libraries and the dynamic loader, at the paths ldd names.
  libdirs=()
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
    libdirs+=("$(dirname "$lib")")
  done < <(for binary in "${BINARIES[@]}"; do ldd "$binary"; done |
           grep -o '/[^ ]*' | sort -u)
  # The loader also as itself (ld-linux's canonical path may be a symlink).
  interp="$(readelf -l "${BINARIES[0]}" 2>/dev/null | sed -n 's/.*interpreter: \(.*\)]/\1/p' || true)"
  if [[ -n "$interp" && ! -e "$root$interp" ]]; then
    mkdir -p "$root$(dirname "$interp")"
    cp -L "$interp" "$root$interp"
  fi
  LIBPATH="$(printf '%s\n' "${libdirs[@]}" | sort -u | paste -sd: -)"
  # The corpus (and the large fixtures, when built) where the tests look.
  mkdir -p "$root$SOURCE_DIR"
  cp -rL "$SOURCE_DIR/corpus" "$root$SOURCE_DIR/corpus"
  if [[ -d "$SOURCE_DIR/build/fixtures-large" ]]; then
    mkdir -p "$root$SOURCE_DIR/build"
    cp -rL "$SOURCE_DIR/build/fixtures-large" "$root$SOURCE_DIR/build/fixtures-large"
  fi
  {
    cat <<EOF
#!/bin/busybox sh
# Generated by tools/run-pkey-vm.sh.
/bin/busybox --install -s /bin
export PATH=/bin LD_LIBRARY_PATH='$LIBPATH' HOME=/tmp TMPDIR=/tmp
TESTS='${TESTS[*]}'
BINARY_DIR='$BUILD_DIR/tests'
SOURCE_DIR='$SOURCE_DIR'
FILTER='$GTEST_FILTER'
EOF
    cat <<'EOF'
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
uptime_s() { cut -d' ' -f1 /proc/uptime; }
flags="$(grep -m1 '^flags' /proc/cpuinfo)"
pku=0; ospke=0
case " $flags " in *" pku "*) pku=1;; esac
case " $flags " in *" ospke "*) ospke=1;; esac
echo
echo "PKEYVM-CPU pku=$pku ospke=$ospke cpus=$(grep -c ^processor /proc/cpuinfo) kernel=$(uname -r) boot_s=$(uptime_s)"
cd "$SOURCE_DIR"
results=""
status=pass
# Each binary runs against the reference, then against fast (".fast").
for name in $TESTS; do
  for impl in reference fast; do
    label="$name"
    [ "$impl" = fast ] && label="$name.fast"
    echo "PKEYVM-BEGIN $label"
    start="$(uptime_s)"
    WASMCACHE_IMPL="$impl" "$BINARY_DIR/$name" --gtest_color=no \
      --gtest_filter="$FILTER" 2>&1
    rc=$?
    end="$(uptime_s)"
    seconds="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
    echo "PKEYVM-END $label rc=$rc seconds=$seconds"
    results="$results $label=$rc"
    [ "$rc" = 0 ] || status=fail
  done
done
[ "$pku" = 1 ] && [ "$ospke" = 1 ] || status=fail
echo "PKEYVM-RESULT status=$status pku=$pku ospke=$ospke$results"
sync
poweroff -f
EOF
  } > "$root/init"
  chmod +x "$root/init"
  (cd "$root" && find . | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) |
    gzip -1 > "$INITRAMFS.tmp"
  mv "$INITRAMFS.tmp" "$INITRAMFS"
  echo "$SETTINGS" > "$WORK/settings"
  rm -rf "$root"
fi

# --- 4. Boot ------------------------------------------------------------------
SERIAL="$WORK/serial.log"
log "booting $(basename "$KERNEL") (-accel $ACCEL -cpu $CPU), timeout ${TIMEOUT_MIN} min; serial: $SERIAL"
started=$SECONDS
set +e
timeout -k 10 "${TIMEOUT_MIN}m" qemu-system-x86_64 \
  -accel "$ACCEL" -cpu "$CPU" -m 2G -smp 2 \
  -nographic -no-reboot -nodefaults -serial stdio -monitor none \
  -kernel "$KERNEL" -initrd "$INITRAMFS" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init" \
  </dev/null 2>&1 | tr -d '\r' | tee "$SERIAL"
qemu_rc=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - started))

# --- 5. Verdict from the serial output ----------------------------------------
echo
echo "=== pkey-vm summary (qemu ${elapsed}s, rc=$qemu_rc) ==="
if (( qemu_rc == 124 || qemu_rc == 137 )); then
  echo "FAIL: qemu killed after ${TIMEOUT_MIN} min"
  exit 3
fi
ok=1
# (The firmware's escape codes may precede the guest's first line.)
cpu_line="$(grep -a -o -m1 'PKEYVM-CPU .*' "$SERIAL" || true)"
echo "${cpu_line:-no PKEYVM-CPU line}"
if [[ "$cpu_line" != *"pku=1 ospke=1"* ]]; then
  echo "FAIL: the guest CPU does not report pku and ospke"
  ok=0
fi
for name in "${TESTS[@]/%/}" "${TESTS[@]/%/.fast}"; do
  section="$(sed -n "/^PKEYVM-BEGIN $name\$/,/^PKEYVM-END $name /p" "$SERIAL")"
  end_line="$(grep -a -m1 "^PKEYVM-END $name " <<<"$section" || true)"
  passed="$(grep -a -m1 '^\[  PASSED  \]' <<<"$section" || true)"
  skipped="$(grep -a -m1 '^\[  SKIPPED \] [0-9]' <<<"$section" || true)"
  failed="$(grep -a '^\[  FAILED  \] [A-Za-z]' <<<"$section" || true)"
  printf '%-22s %s | %s %s\n' "$name" "${end_line#PKEYVM-END $name }" \
    "${passed:-no PASSED line}" "$skipped"
  if [[ "$end_line" != *" rc=0 "* || -z "$passed" || -n "$failed" ]]; then
    [[ -n "$failed" ]] && echo "$failed"
    echo "FAIL: $name"
    ok=0
  fi
done
for test in "${REQUIRED_TESTS[@]}"; do
  # Once against each implementation.
  if (( $(grep -a -c "^\[       OK \] $test " "$SERIAL") >= 2 )); then
    echo "key mode: $test ran and passed (reference and fast)"
  else
    if grep -a -q "^\[  SKIPPED \] $test " "$SERIAL"; then
      echo "FAIL: $test was SKIPPED (key path not active)"
    else
      echo "FAIL: $test did not run and pass"
    fi
    ok=0
  fi
done
result="$(grep -a -m1 '^PKEYVM-RESULT ' "$SERIAL" || true)"
echo "${result:-FAIL: no PKEYVM-RESULT line (guest crashed?)}"
[[ "$result" == "PKEYVM-RESULT status=pass "* ]] || ok=0
if (( ok )); then
  echo "PASS: every test passed with memory protection keys active"
  exit 0
fi
echo "FAIL"
exit 1
