#!/usr/bin/env bash
# build-fixtures.sh — make real V8 13.6 native-module caches (fixtures) with
# Node.js 24's own V8, for x64 and for arm64 (under qemu-aarch64-static).
#
# Usage:
#   tools/build-fixtures.sh [--large] [--large-only] [--arch x64|arm64]... [--no-verify]
#
#   (default)     corpus/wat/*.wat -> wat2wasm -> serialize with each arch's
#                 node into corpus/v8-13.6/<arch>/<name>.{wasm,cache}
#                 (committed), then write corpus/v8-13.6/PROVENANCE.
#                 A module with corpus/wat/<name>.tiering.json is "tiered":
#                 made with that file's own V8 flags (Liftoff, lazy
#                 compilation, dynamic tiering) by tools/v8/serialize-tiered.cjs,
#                 which runs its warm-up calls before serializing; its flags
#                 also go to the sidecar corpus/v8-13.6/<arch>/<name>.flags
#                 (one line, space-separated). Every other fixture uses
#                 V8_FLAGS below and has no sidecar.
#   --large       also: real-world modules from npm (pinned below) into
#                 build/fixtures-large/<arch>/<name>.{wasm,cache} (git-ignored,
#                 too big to commit) and build/fixtures-large/PROVENANCE.
#   --large-only  only the large fixtures (leaves corpus/ untouched).
#   --arch A      only this arch (repeatable; default: x64 and arm64). The
#                 committed PROVENANCE is rewritten only when both are built.
#   --no-verify   skip the load-back checks.
#
# Verification (default): each fresh cache is loaded back with
# tools/v8/load.cjs in a fresh process of the same node, with the fixture's
# flags (its .flags sidecar if it has one, else V8_FLAGS) ("deserialized":
# true is required); for small fixtures with corpus/wat/<name>.calls.json,
# the calls' results on the deserialized module must equal those on a
# module compiled from the wire bytes (--compile-instead), and x64 must
# agree with arm64. Results go to build/fixtures-verify/<arch>/<name>.json.
#
# Needs: wabt, npm (for npm pack; helper scripts run on .v8/<host>/bin/node),
# qemu-user-static + arm64 cross libraries (tools/setup.sh); runs
# tools/fetch-v8.sh first. The x64 node runs under `setarch -R` (no ASLR)
# when possible so that the address bits V8 leaks into x64 caches, and so
# the caches, are the same from run to run.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

V8_FLAGS=(--allow-natives-syntax --no-liftoff --no-wasm-lazy-compilation)
ARM64_SYSROOT=/usr/aarch64-linux-gnu
X64_SYSROOT=/usr/x86_64-linux-gnu
SMALL_DIR=corpus/v8-13.6
LARGE_DIR=build/fixtures-large
WASM_DIR=build/fixtures-wasm
VERIFY_DIR=build/fixtures-verify
NPM_DIR=build/npm
# Time limits per node run, in seconds; generous for user-mode emulation.
TIMEOUT_NATIVE=600
TIMEOUT_EMULATED=300

# Large fixtures: name | npm package@version | file in the package | sha256 of that file
LARGE_MODULES=(
  "sql-wasm|sql.js@1.16.0|package/dist/sql-wasm.wasm|43bbcdd44287e5a2db3b6b5af34b1a3485a7a441285d247976c1ebe3c61f8dbf"
  "zstd|@bokuweb/zstd-wasm@0.0.27|package/dist/common/zstd.wasm|80260eee5795ee8072bb5821e203730c74dca3909938f5ac1128da67f96223df"
  "web-tree-sitter|web-tree-sitter@0.27.1|package/web-tree-sitter.wasm|beca80e44cccbf2299ed4d1e3fa6462a9a6fe818aeebf847547a392227ce4acc"
)

build_small=1
build_large=0
tiered_names=()
verify=1
archs=()
while (( $# > 0 )); do
  case "$1" in
    --large) build_large=1 ;;
    --large-only) build_large=1; build_small=0 ;;
    --no-verify) verify=0 ;;
    --arch)
      [[ $# -ge 2 && ( "$2" == x64 || "$2" == arm64 ) ]] || { echo "build-fixtures: --arch x64|arm64" >&2; exit 2; }
      archs+=("$2"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-fixtures: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
(( ${#archs[@]} > 0 )) || archs=(x64 arm64)

log() { echo "build-fixtures: $*" >&2; }
die() { log "error: $*"; exit 1; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
filesize() { stat -c %s "$1"; }

for tool in wat2wasm npm sha256sum timeout od; do
  command -v "$tool" >/dev/null || die "$tool not found (run tools/setup.sh)"
done

tools/fetch-v8.sh >&2

host_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64) echo arm64 ;;
    *) uname -m ;;
  esac
}
HOST_ARCH="$(host_arch)"
# Helper scripts (generator, JSON comparison) run on the native node.
HOST_NODE=".v8/$HOST_ARCH/bin/node"

# run_node ARCH ARGS...: run .v8/ARCH/bin/node natively or under qemu, with
# a time limit.
run_node() {
  local arch="$1"; shift
  local node=".v8/$arch/bin/node"
  if [[ "$arch" == "$HOST_ARCH" ]]; then
    if [[ "$arch" == x64 ]] && setarch x86_64 -R true 2>/dev/null; then
      timeout "$TIMEOUT_NATIVE" setarch x86_64 -R "$node" "$@"
    else
      timeout "$TIMEOUT_NATIVE" "$node" "$@"
    fi
  elif [[ "$arch" == arm64 ]]; then
    run_emulated qemu-aarch64-static -L "$ARM64_SYSROOT" -E LD_LIBRARY_PATH="$ARM64_SYSROOT/lib" "$node" "$@"
  else
    run_emulated qemu-x86_64-static -L "$X64_SYSROOT" "$node" "$@"
  fi
}

# run_emulated COMMAND...: node under qemu-user now and then hangs; a run
# that hits the time limit is tried again, up to three times.
run_emulated() {
  local attempt status
  for attempt in 1 2 3; do
    status=0
    timeout "$TIMEOUT_EMULATED" "$@" || status=$?
    [[ $status -eq 124 ]] || return "$status"
    echo "build-fixtures: emulated node timed out (attempt $attempt of 3)" >&2
  done
  return 124
}

# tiering_flags TIERING.json: its "v8_flags", space-separated, on one line.
tiering_flags() {
  "$HOST_NODE" -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const ok = Array.isArray(t.v8_flags) && t.v8_flags.length > 0 &&
               t.v8_flags.every((f) => typeof f === "string" && /^--\S+$/.test(f));
    if (!ok) { console.error(`${process.argv[1]}: "v8_flags" must list flags`); process.exit(1); }
    console.log(t.v8_flags.join(" "));
  ' "$1"
}

# serialize ARCH IN.wasm OUT_DIR NAME [TIERING.json]: OUT_DIR/NAME.wasm +
# OUT_DIR/NAME.cache; with TIERING.json also the sidecar OUT_DIR/NAME.flags.
serialize() {
  local arch="$1" wasm="$2" out_dir="$3" name="$4" tiering="${5:-}"
  local report="$VERIFY_DIR/$arch/$name.serialize.json"
  mkdir -p "$out_dir"
  cp "$wasm" "$out_dir/$name.wasm"
  rm -f "$out_dir/$name.flags"
  local start=$SECONDS
  if [[ -n "$tiering" ]]; then
    local flags=()
    read -r -a flags <<<"$(tiering_flags "$tiering")"
    run_node "$arch" "${flags[@]}" tools/v8/serialize-tiered.cjs "$tiering" \
        "$out_dir/$name.wasm" "$out_dir/$name.cache" >"$report" \
      || die "$arch: serializing $name (tiered) failed: $(cat "$report")"
    echo "${flags[*]}" >"$out_dir/$name.flags"
  else
    run_node "$arch" "${V8_FLAGS[@]}" tools/v8/serialize.cjs \
        "$out_dir/$name.wasm" "$out_dir/$name.cache" >"$report" \
      || die "$arch: serializing $name failed"
  fi
  log "$arch: $name.cache $(filesize "$out_dir/$name.cache") bytes${tiering:+ (tiered)} ($((SECONDS - start)) s)"
}

# verify ARCH DIR NAME [SPEC]: load back in a fresh process, under the flags
# of DIR/NAME.flags if that sidecar exists (else V8_FLAGS); compare calls.
verify() {
  local arch="$1" dir="$2" name="$3" spec="${4:-}"
  local call_args=() flags=("${V8_FLAGS[@]}") flag_args=()
  [[ -n "$spec" ]] && call_args=(--call "@$spec")
  if [[ -f "$dir/$name.flags" ]]; then
    read -r -a flags <"$dir/$name.flags"
    flag_args=(--flags "@$dir/$name.flags")
  fi
  local loaded="$VERIFY_DIR/$arch/$name.json"
  local compiled="$VERIFY_DIR/$arch/$name.compiled.json"
  run_node "$arch" "${flags[@]}" tools/v8/load.cjs "${flag_args[@]}" "$dir/$name.wasm" "$dir/$name.cache" \
      "${call_args[@]}" >"$loaded"
  grep -q '"deserialized":true' "$loaded" || die "$arch: $dir/$name.cache did not load back: $(cat "$loaded")"
  if [[ -n "$spec" ]]; then
    run_node "$arch" "${flags[@]}" tools/v8/load.cjs "${flag_args[@]}" "$dir/$name.wasm" - --compile-instead \
        "${call_args[@]}" >"$compiled"
    same_calls "$loaded" "$compiled" || die "$arch: $name: deserialized and compiled results differ"
  fi
  log "$arch: $name verified (deserialized${flag_args[*]:+ under its .flags}${spec:+, calls match compiled})"
}

# same_calls A.json B.json: equal "calls" arrays.
same_calls() {
  "$HOST_NODE" -e '
    const fs = require("fs");
    const [a, b] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")).calls);
    process.exit(a !== undefined && JSON.stringify(a) === JSON.stringify(b) ? 0 : 1);
  ' "$1" "$2"
}

header_words() {
  od -A n -t x4 -w20 -N 20 --endian=little "$1" | tr -s ' ' | sed 's/^ //; s/\([0-9a-f]\{8\}\)/0x\U\1/g'
}

# reloc_summary DIR: one line per cache: relocation modes and counts.
reloc_summary() {
  local dir="$1" cache name
  for cache in "$dir"/*.cache; do
    name="$(basename "$cache" .cache)"
    printf '%-22s %s\n' "$(basename "$dir")/$name:" \
      "$("$HOST_NODE" tools/v8/summarize-cache.cjs "$dir/$name.wasm" "$cache" | "$HOST_NODE" -e '
        const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const modes = Object.entries(s.relocs).sort().map(([m, n]) => `${m} ${n}`).join(", ");
        const names = { 2: "lazy", 3: "eager", 4: "TurboFan" };
        const records = Object.keys(s.records).some((t) => t !== "4")
            ? " (" + Object.entries(s.records).map(([t, n]) => `${n} ${names[t] || "tag " + t}`).join(", ") + ")"
            : "";
        console.log(`${s.functions} functions${records}, ${s.code_bytes} code bytes; ${modes}` +
                    (s.exact ? "" : " (NOT EXACT)"));')"
  done
}

# tiered_summary ARCH DIR NAME: what a tiered fixture holds, for PROVENANCE:
# its compilation states before serialization, and per declared function the
# record tag and the tiering budget (omitted when it is the initial one).
tiered_summary() {
  local arch="$1" dir="$2" name="$3"
  "$HOST_NODE" tools/v8/summarize-cache.cjs "$dir/$name.wasm" "$dir/$name.cache" \
    | "$HOST_NODE" -e '
      const fs = require("fs");
      const [arch, flagsFile, reportFile] = process.argv.slice(1);
      const s = JSON.parse(fs.readFileSync(0, "utf8"));
      const r = JSON.parse(fs.readFileSync(reportFile, "utf8"));
      const flag = fs.readFileSync(flagsFile, "utf8").split(/\s+/)
          .find((f) => f.startsWith("--wasm-tiering-budget="));
      const initial = flag ? Number(flag.split("=")[1]) : 13000000;
      const exported = {};
      for (const [n, i] of Object.entries(s.exports)) exported[i] = n;
      const names = { 2: "lazy", 3: "eager", 4: "turbofan" };
      const items = s.tags.map((tag, i) => {
        const index = s.imports + i;
        const label = `${index}${exported[index] ? " (" + exported[index] + ")" : ""}`;
        const budget = s.budgets[i] === initial ? "" : ` ${s.budgets[i]}`;
        return `${label} ${names[tag] || "tag " + tag}${budget}`;
      });
      console.log(`  ${arch} states before serializing: ` +
                  Object.entries(r.states).map(([n, st]) => `${n} ${st}`).join(", "));
      console.log(`  ${arch} records (function index, tag, tiering budget if not ${initial}):`);
      for (let i = 0; i < items.length; i += 4) console.log("    " + items.slice(i, i + 4).join(", "));
    ' "$arch" "$dir/$name.flags" "$VERIFY_DIR/$arch/$name.serialize.json"
}

# tiered_warm_up NAME: the warm-up of corpus/wat/NAME.tiering.json, one line.
tiered_warm_up() {
  "$HOST_NODE" -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const calls = t.warm_up.map(([n, a, k = 1]) => `${n}(${a.join(", ")}) x${k}`).join(", ");
    const tierUp = (t.tier_up || []).length > 0
        ? `; then %WasmTierUpFunction(${t.tier_up.join(", ")})`
        : "; no forced tier-up (TurboFan only where a budget ran out)";
    console.log(calls + tierUp);
  ' "corpus/wat/$1.tiering.json"
}

node_info() {  # ARCH -> "v24.x.y 13.6.x"
  run_node "$1" -p 'process.version + " " + process.versions.v8'
}

# ---------------------------------------------------------------------------
mkdir -p "$WASM_DIR" "$NPM_DIR"
for arch in "${archs[@]}"; do mkdir -p "$VERIFY_DIR/$arch"; done
total_start=$SECONDS

if (( build_small )); then
  "$HOST_NODE" tools/gen-many-wat.cjs corpus/wat/many.wat
  names=()
  for wat in corpus/wat/*.wat; do
    name="$(basename "$wat" .wat)"
    # Extra wat2wasm flags are declared in the file: ";; wat2wasm-flags: ..."
    read -r -a wat_flags <<<"$(sed -n 's/^;; wat2wasm-flags: //p' "$wat" | head -n 1)"
    wat2wasm "${wat_flags[@]}" "$wat" -o "$WASM_DIR/$name.wasm"
    names+=("$name")
    if [[ -f "corpus/wat/$name.tiering.json" ]]; then
      tiering_flags "corpus/wat/$name.tiering.json" >/dev/null || die "corpus/wat/$name.tiering.json: bad v8_flags"
      tiered_names+=("$name")
    fi
  done
  for arch in "${archs[@]}"; do
    rm -rf "${SMALL_DIR:?}/$arch"
    for name in "${names[@]}"; do
      tiering="corpus/wat/$name.tiering.json"
      [[ -f "$tiering" ]] || tiering=""
      serialize "$arch" "$WASM_DIR/$name.wasm" "$SMALL_DIR/$arch" "$name" "$tiering"
    done
    if (( verify )); then
      for name in "${names[@]}"; do
        spec="corpus/wat/$name.calls.json"
        [[ -f "$spec" ]] || spec=""
        verify "$arch" "$SMALL_DIR/$arch" "$name" "$spec"
      done
    fi
  done
  if (( verify )) && [[ " ${archs[*]} " == *" x64 "* && " ${archs[*]} " == *" arm64 "* ]]; then
    for name in "${names[@]}"; do
      [[ -f "corpus/wat/$name.calls.json" ]] || continue
      same_calls "$VERIFY_DIR/x64/$name.json" "$VERIFY_DIR/arm64/$name.json" \
        || die "$name: x64 and arm64 results differ"
    done
    log "x64 and arm64 call results agree"
  fi
  small_seconds=$((SECONDS - total_start))
  log "small fixtures took ${small_seconds} s"
fi

if (( build_large )); then
  large_start=$SECONDS
  large_names=()
  for entry in "${LARGE_MODULES[@]}"; do
    IFS='|' read -r name package member expected <<<"$entry"
    tarball_name="$(echo "${package%@*}" | sed 's/^@//; s#/#-#')-${package##*@}.tgz"
    if [[ ! -s "$NPM_DIR/$tarball_name" ]]; then
      log "npm pack $package"
      (cd "$NPM_DIR" && npm pack --silent "$package" >/dev/null)
    fi
    tar -xzf "$NPM_DIR/$tarball_name" -O "$member" >"$WASM_DIR/$name.wasm"
    actual="$(sha256 "$WASM_DIR/$name.wasm")"
    [[ "$actual" == "$expected" ]] || die "$package $member: sha256 $actual, pinned $expected"
    large_names+=("$name")
  done
  for arch in "${archs[@]}"; do
    rm -rf "${LARGE_DIR:?}/$arch"
    for name in "${large_names[@]}"; do
      serialize "$arch" "$WASM_DIR/$name.wasm" "$LARGE_DIR/$arch" "$name"
      if (( verify )); then verify "$arch" "$LARGE_DIR/$arch" "$name"; fi
    done
  done
  large_seconds=$((SECONDS - large_start))
  log "large fixtures took ${large_seconds} s"
fi

# ---------------------------------------------------------------------------
# PROVENANCE

write_common_provenance() {  # [with-tiered]
  local arch
  echo "Made by tools/build-fixtures.sh; do not edit (rerun it)."
  echo
  echo "## Tools"
  for arch in "${archs[@]}"; do
    printf '%-22s %s\n' "node ($arch):" "npm package node-linux-$arch@$(cat ".v8/$arch/.version"), tarball sha256"
    printf '%-22s %s\n' "" "$(sha256 ".v8/downloads/node-linux-$arch-$(cat ".v8/$arch/.version").tgz")"
    printf '%-22s %s\n' "" "process.version, process.versions.v8: $(node_info "$arch")"
  done
  printf '%-22s %s\n' "wat2wasm:" "wabt $(wat2wasm --version)"
  printf '%-22s %s\n' "qemu:" "$(qemu-aarch64-static --version | head -n 1)"
  printf '%-22s %s\n' "host CPU:" "$(grep -m 1 'model name' /proc/cpuinfo | sed 's/.*: //') ($(uname -m))"
  echo
  echo "## Commands"
  echo "V8 flags (the header's flag hash depends on exactly these):"
  echo "  ${V8_FLAGS[*]}"
  if [[ "${1:-}" == with-tiered ]]; then
    echo "  except for fixtures with a <name>.flags sidecar (see \"Fixtures with their own V8 flags\")"
  fi
  echo "serialize: <node> ${V8_FLAGS[*]} tools/v8/serialize.cjs <name>.wasm <name>.cache"
  echo "load:      <node> ${V8_FLAGS[*]} tools/v8/load.cjs <name>.wasm <name>.cache [--call @corpus/wat/<name>.calls.json] [--compile-instead]"
  if setarch x86_64 -R true 2>/dev/null; then
    echo "  <node> is 'setarch x86_64 -R .v8/x64/bin/node' (no ASLR, for reproducible x64 caches)"
  else
    echo "  <node> is '.v8/x64/bin/node' (setarch -R was not permitted: x64 caches vary with ASLR)"
  fi
  echo "  or 'qemu-aarch64-static -L $ARM64_SYSROOT .v8/arm64/bin/node'."
  echo
  echo "## Header words (little-endian u32: magic, version hash, CPU features, flag hash, wasm features)"
}

write_notes() {
  cat <<'EOF'

## Notes
- Word 0 is SerializedData::kMagicNumber = 0xC0DE0000 ^ ExternalReferenceTable::kSize.
  V8 13.6.233.17 (Node 24.20.0) gives 0xC0DE0689 (table size 1673), the same for
  x64 and arm64. The format-facts notes record 0xC0DE0688 for an earlier Node 24
  (V8 13.6.233.10): the table grew by one entry between patch releases, so
  readers must not hard-code the magic.
- Word 1 is Version::Hash() of 13.6.233.17; it differs between V8 patch releases.
- Word 2 is CpuFeatures::SupportedFeatures() of the machine that made the cache:
  it depends on the host CPU (x64) and on qemu's emulated CPU (arm64). V8 rejects a
  cache whose word differs from the loading process's, so these fixtures load back
  in real V8 only on a machine with the same features; wasmcache itself reads
  the word and does not require it to match.
- Word 3 is FlagList::Hash() of the V8 flags the cache was made with (the ones
  above, or those of its .flags sidecar); any other flag set is rejected.
- x64 caches contain the upper 32 bits of real external-reference addresses
  (V8 writes the tag into the low half of a 64-bit movabs immediate and leaves
  the high half of the address it held: an address leak; V8 reads only the low
  half back). When `setarch -R` works (see "Commands") they are made without ASLR,
  so the bytes are the same from run to run on this host; with ASLR they differ in
  those bytes only. arm64 caches made under qemu were byte-identical from run to run.
- arm64 TurboFan emits br_table jump tables as pc-relative branch tables, so
  arm64 caches have no INTERNAL_REFERENCE; x64 ones do (br_table.cache). arm64
  code carries CONST_POOL (and in large modules VENEER_POOL) entries.
- TurboFan inlines small direct callees even without feedback, so many.wat
  chains calls until the inlining budget runs out; calls that remain are
  WASM_CALL relocations, and the long bodies give PC_JUMP entries.
- The .wasm next to each .cache holds the exact wire bytes it was made from
  (the same for every arch); %DeserializeWasmModule needs both.
EOF
}

if (( build_small )) && [[ " ${archs[*]} " == *" x64 "* && " ${archs[*]} " == *" arm64 "* ]]; then
  {
    echo "# corpus/v8-13.6: real V8 13.6 native-module caches"
    echo
    if (( ${#tiered_names[@]} > 0 )); then write_common_provenance with-tiered; else write_common_provenance; fi
    for arch in "${archs[@]}"; do
      echo "$arch: $(header_words "$SMALL_DIR/$arch/calls.cache")"
    done
    for name in "${tiered_names[@]}"; do
      for arch in "${archs[@]}"; do
        echo "$arch $name: $(header_words "$SMALL_DIR/$arch/$name.cache")  (own flags, see below)"
      done
    done
    if (( ${#tiered_names[@]} > 0 )); then
      echo
      echo "## Fixtures with their own V8 flags (tiered: Liftoff, lazy compilation, dynamic tiering)"
      echo "Convention: a fixture made under V8 flags other than the ones above has a"
      echo "sidecar <arch>/<name>.flags next to its cache: one line, the V8 flags"
      echo "separated by spaces. Load it in a node run with exactly those flags (the"
      echo "header's flag hash is theirs; any other set is rejected), e.g."
      echo "  <node> \$(cat <arch>/<name>.flags) tools/v8/load.cjs --flags @<arch>/<name>.flags \\"
      echo "         <arch>/<name>.wasm <arch>/<name>.cache [--call @corpus/wat/<name>.calls.json]"
      echo "A fixture without a .flags file was made with the flags above. The flags and"
      echo "the warm-up calls come from corpus/wat/<name>.tiering.json;"
      echo "serialize: <node> <its flags> tools/v8/serialize-tiered.cjs corpus/wat/<name>.tiering.json <name>.wasm <name>.cache"
      echo "(compile, instantiate, warm-up calls, optional %WasmTierUpFunction, then"
      echo "%SerializeWasmModule). Verification loaded each back under its .flags in a"
      echo "fresh process; its calls gave the results of a freshly compiled module."
      for name in "${tiered_names[@]}"; do
        echo
        echo "$name: $(cat "$SMALL_DIR/${archs[0]}/$name.flags")"
        echo "  warm-up: $(tiered_warm_up "$name")"
        for arch in "${archs[@]}"; do tiered_summary "$arch" "$SMALL_DIR/$arch" "$name"; done
      done
      cat <<'EOF'

Notes on these fixtures:
- Tags: 2 lazy (no code, or Liftoff code whose budget is still the initial one:
  tiered's "boom" was compiled but trapped before any tiering check, which sits
  at returns and loop back edges), 3 eager (Liftoff code that has run), 4 TurboFan.
  Only TurboFan code is in the cache; V8 refuses (aborts, in %SerializeWasmModule)
  to serialize a module without any.
- --liftoff, --wasm-lazy-compilation and --wasm-dynamic-tiering are V8 13.6's
  defaults, listed for clarity: with or without them the flag-hash word was the same.
- --wasm-sync-tier-up makes a tier-up triggered by an exhausted budget compile at
  once, on the main thread, at a fixed point of the warm-up (tiered's "hot"), so
  the cache is the same from run to run. tiered_deopt's "spin" never exhausts its
  budget; %WasmTierUpFunction compiles it with the feedback collected so far.
- Liftoff charges budgets differently per architecture: the same warm-up leaves
  different budgets in the x64 and arm64 caches. A function that tiered up while
  running had its budget restarted from the initial value, and the rest of that
  Liftoff call spent part of it again (tiered's "hot").
- WASM_CODE_POINTER_TABLE_ENTRY sites guard speculatively inlined call_indirect
  targets (--wasm-inlining-call-indirect); their tag is the target's function
  index counting imports (tiered.wat has one import, so $inc is 1).
- With --wasm-deopt the guard is a deoptimization exit instead of a generic call:
  the TurboFan record then carries deoptimization data and inlining positions,
  and calls with other targets deoptimize to Liftoff after loading
  (tiered_deopt.calls.json does that).
EOF
    fi
    echo
    echo "## Sources"
    echo "corpus/wat/<name>.wat (written for this project; many.wat is generated by"
    echo "tools/gen-many-wat.cjs) compiled with: wat2wasm [flags from the file's"
    echo "';; wat2wasm-flags:' line] <name>.wat. Call specs for load.cjs --call are in"
    echo "corpus/wat/<name>.calls.json; deserialized and freshly compiled modules gave"
    echo "the same results, on x64 and on arm64."
    echo
    echo "## Large fixtures (tools/build-fixtures.sh --large; not committed, in $LARGE_DIR/<arch>/)"
    for entry in "${LARGE_MODULES[@]}"; do
      IFS='|' read -r name package member expected <<<"$entry"
      echo "$name: npm $package, $member, sha256 $expected"
    done
    echo
    echo "## Relocation modes per cache (tools/v8/summarize-cache.cjs)"
    for arch in "${archs[@]}"; do reloc_summary "$SMALL_DIR/$arch"; done
    write_notes
    echo
    echo "## Files (sha256, bytes, path)"
    for arch in "${archs[@]}"; do
      for file in "$SMALL_DIR/$arch"/*; do
        echo "$(sha256 "$file")  $(printf '%8d' "$(filesize "$file")")  $file"
      done
    done
  } >"$SMALL_DIR/PROVENANCE"
  log "wrote $SMALL_DIR/PROVENANCE"
fi

if (( build_large )); then
  {
    echo "# $LARGE_DIR: real V8 13.6 caches of npm-published modules"
    echo
    write_common_provenance
    for arch in "${archs[@]}"; do
      echo "$arch: $(header_words "$LARGE_DIR/$arch/${large_names[0]}.cache")"
    done
    echo
    echo "## Sources"
    for entry in "${LARGE_MODULES[@]}"; do
      IFS='|' read -r name package member expected <<<"$entry"
      echo "$name: npm $package, $member, sha256 $expected"
    done
    echo
    echo "## Relocation modes per cache (tools/v8/summarize-cache.cjs)"
    for arch in "${archs[@]}"; do reloc_summary "$LARGE_DIR/$arch"; done
    write_notes
    echo
    echo "## Files (sha256, bytes, path)"
    for arch in "${archs[@]}"; do
      for file in "$LARGE_DIR/$arch"/*; do
        echo "$(sha256 "$file")  $(printf '%9d' "$(filesize "$file")")  $file"
      done
    done
  } >"$LARGE_DIR/PROVENANCE"
  log "wrote $LARGE_DIR/PROVENANCE"
fi

log "done in $((SECONDS - total_start)) s"
