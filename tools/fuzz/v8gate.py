#!/usr/bin/env python3
"""v8gate: `wasmcache verify` as a load gate in front of real V8.

V8 13.6 checks the 20-byte header of a wasm code cache and trusts the rest:
a crafted cache crashes its loader. `wasmcache verify` is meant to be the
gate an embedder puts in front of `%DeserializeWasmModule`. This campaign
tests that claim against the real thing (Node 24.20, V8 13.6):

  1. seeds: fresh caches made on this machine by this machine's node
     (tools/v8/serialize.cjs; the tiered fixtures by serialize-tiered.cjs
     under their own flags), so that V8 accepts their header words;
  2. control: wasmcache accepts every seed; V8 accepts every seed, and the
     reuse control of tools/v8/gate-load.cjs --control passes;
  3. mutants: structure-aware ones from wasmcache-mutate (header words,
     record fields, reloc entries, code bytes, lengths kept consistent) and
     raw byte flips of our own (--mutator bytes); the wire bytes never change;
  4. our verdicts: `wasmcache verify` with the reference and the fast
     implementation, both in the gate configuration (--expect-header pinned
     to the seed's five words, as an embedder pins its V8's words), and the
     reference in the default configuration (CPU features, flag hash and
     enabled features recorded only);
  5. V8's verdict: every input any configuration accepts, and a sample
     (--sample-rejected, default all) of the others, loaded in batches by
     tools/v8/gate-load.cjs; each input is loaded while no module with its
     wire bytes is alive (see gate-load.cjs: the canary), so V8 reads every
     input rather than handing back an earlier module;
  6. findings: an input we accept on which V8 crashes (signal, abort, Fatal
     error or CHECK, non-zero exit, hang) is a HOLE: confirmed in a fresh
     process, saved to OUT/holes/ with its module, node's stderr and a
     reproducer, and delta-minimized against its seed (keeping "we accept
     and V8 crashes"). Inputs where our implementations disagree, or where
     `wasmcache verify` itself crashes, are saved too.

Report: OUT/report.json and OUT/REPORT.md (also printed): inputs tried,
accepted (reference, fast, default header), V8 accepted / rejected / crashed
split by our verdict (the table), holes, the classes of "V8 rejects, we
accept" and "V8 accepts, we reject", per-seed counts, runtime, inputs/s.

Usage (also `tools/wasmcache-fuzz v8gate ...`):
  v8gate.py [--arch x64] [--inputs N | --time SECONDS] [--out DIR]
            [--seed S] [--jobs 2] [--mutator auto|mutate|bytes]
            [--bytes-fraction F] [--sample-rejected F] [--modules a,b]
            [--smoke] [--regressions DIR] [--keep-inputs]
  v8gate.py --replay [DIR...] [--arch A]
            re-check saved holes (default corpus/regressions/v8gate)
Exit status: 0 no hole and the control passed; 1 a hole was found (or,
with --replay, is still one), our implementations disagreed, verify
crashed, or the control failed; 2 misuse or a missing tool.

Python 3 standard library only.
"""

import argparse
import collections
import concurrent.futures
import difflib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_FLAGS = ["--allow-natives-syntax", "--no-liftoff", "--no-wasm-lazy-compilation"]
HEADER_WORD_NAMES = ["magic", "version_hash", "cpu_features", "flag_hash", "enabled_features"]
ARM64_SYSROOT = "/usr/aarch64-linux-gnu"

# Checks per seed of gate-load.cjs --control.
CONTROL_CHECKS = 7

# V8 outcomes of one input.
ACCEPT, REJECT, CRASH, NOT_LOADED = "accept", "reject", "crash", "not-loaded"


def log(message):
    print(f"v8gate: {message}", file=sys.stderr, flush=True)


def die(message, code=2):
    log(message)
    sys.exit(code)


# --- tools --------------------------------------------------------------------

class Tools:
    """Paths of node, the wasmcache CLI and wasmcache-mutate, per architecture."""

    def __init__(self, args):
        self.arch = args.arch
        self.node = args.node or os.path.join(REPO, ".v8", args.arch, "bin", "node")
        self.wasmcache = args.wasmcache or os.path.join(REPO, "build", "release", "wasmcache")
        self.mutate = args.mutate or os.path.join(REPO, "build", "fuzz-tools", "fuzz", "wasmcache-mutate")
        self.emulated = args.arch == "arm64" and os.uname().machine != "aarch64"
        for path, what in ((self.node, "node (run tools/fetch-v8.sh)"),
                           (self.wasmcache, "wasmcache (build the wasmcache target of the release preset)")):
            if not os.access(path, os.X_OK):
                die(f"{path} missing: {what}")
        if self.emulated and shutil.which("qemu-aarch64-static") is None:
            die("qemu-aarch64-static not found (tools/setup.sh)")
        self.have_mutate = os.access(self.mutate, os.X_OK)
        # Timeouts: one verify call; V8 silent for this long on one input is a hang.
        self.verify_timeout = 60
        self.v8_stall = 120 if self.emulated else 20
        self.memory_limit = args.v8_memory_limit_mib << 20

    def node_command(self, flags, limit=True):
        prefix = []
        # Mutated sizes make V8 allocate without bound; a data limit turns
        # that into a quick out-of-memory crash instead of gigabytes taken
        # from the machine's other users.
        if limit and self.memory_limit and shutil.which("prlimit"):
            prefix = ["prlimit", f"--data={self.memory_limit}", "--"]
        if self.emulated:
            prefix += ["qemu-aarch64-static", "-L", ARM64_SYSROOT,
                       "-E", f"LD_LIBRARY_PATH={ARM64_SYSROOT}/lib"]
        return prefix + [self.node] + list(flags)

    def node_versions(self):
        out = run([*self.node_command([], limit=False), "-p", "process.version + ' ' + process.versions.v8"],
                  timeout=120)
        return out.stdout.decode().strip()


def run(command, timeout=None, **kwargs):
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kwargs)


def header_words(data):
    return [int.from_bytes(data[4 * i:4 * i + 4], "little") for i in range(5)] if len(data) >= 20 else []


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def normalize(text):
    """A message with its numbers replaced, so that messages group into classes."""
    text = re.sub(r"0x[0-9a-fA-F]+", "N", text)
    text = re.sub(r"\b\d+\b", "N", text)
    return re.sub(r"\s+", " ", text).strip()


# --- seeds --------------------------------------------------------------------

class Seed:
    """A fresh cache of one corpus module, made on this machine."""

    def __init__(self, name, wasm, cache, flags, flags_file):
        self.name, self.wasm, self.cache = name, wasm, cache
        self.flags, self.flags_file = flags, flags_file
        self.data = open(cache, "rb").read()
        self.words = header_words(self.data)

    @property
    def group(self):
        return " ".join(self.flags)

    def expect_header(self):
        return ",".join(f"{w:08X}" for w in self.words)


def make_seeds(tools, out, modules):
    corpus = os.path.join(REPO, "corpus", "v8-13.6", tools.arch)
    names = sorted(f[:-5] for f in os.listdir(corpus) if f.endswith(".wasm"))
    if modules:
        unknown = sorted(set(modules) - set(names))
        if unknown:
            die(f"--modules: no {', '.join(unknown)} in {corpus}")
        names = [n for n in names if n in modules]
    if not names:
        die(f"no seed modules in {corpus}")
    seeds_dir = os.path.join(out, "seeds")
    os.makedirs(seeds_dir, exist_ok=True)
    seeds = []
    for name in names:
        wasm = os.path.join(seeds_dir, name + ".wasm")
        cache = os.path.join(seeds_dir, name + ".cache")
        flags_file = os.path.join(seeds_dir, name + ".flags")
        shutil.copyfile(os.path.join(corpus, name + ".wasm"), wasm)
        tiering = os.path.join(REPO, "corpus", "wat", name + ".tiering.json")
        if os.path.exists(tiering):
            flags = json.load(open(tiering))["v8_flags"]
            script = [os.path.join(REPO, "tools", "v8", "serialize-tiered.cjs"), tiering]
        else:
            flags = DEFAULT_FLAGS
            script = [os.path.join(REPO, "tools", "v8", "serialize.cjs")]
        with open(flags_file, "w") as f:
            f.write(" ".join(flags) + "\n")
        result = run([*tools.node_command(flags), *script, wasm, cache],
                     timeout=600 if tools.emulated else 120)
        with open(cache + ".json", "wb") as f:
            f.write(result.stdout)
        if result.returncode != 0 or not os.path.exists(cache):
            die(f"serializing seed {name} failed: {result.stdout.decode()} {result.stderr.decode()}")
        seeds.append(Seed(name, wasm, cache, flags, flags_file))
        log(f"seed {name}: {len(seeds[-1].data)} bytes, header "
            f"{' '.join(f'{w:08X}' for w in seeds[-1].words)}, flags {' '.join(flags)}")
    return seeds


# --- mutators -----------------------------------------------------------------

INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x7F, 0x80, 0xFE, 0xFF]
INTERESTING_WORDS = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000,
                     0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE]


def mutate_bytes(rng, data):
    """Raw byte mutations, blind to the format: bit flips, interesting bytes
    and 32-bit words, small additions to a word, an inserted or deleted
    byte, a truncation. Positions fall in the header one time in twenty."""
    out = bytearray(data)
    for _ in range(1 + min(int(rng.expovariate(1.0)), 5)):
        if len(out) <= 20:
            break
        pos = rng.randrange(0, 20) if rng.random() < 0.05 else rng.randrange(20, len(out))
        op = rng.random()
        if op < 0.50:
            out[pos] ^= 1 << rng.randrange(8)
        elif op < 0.62:
            out[pos] = rng.choice(INTERESTING_BYTES)
        elif op < 0.77:
            pos = min(pos, len(out) - 4)
            out[pos:pos + 4] = rng.choice(INTERESTING_WORDS).to_bytes(4, "little")
        elif op < 0.90:
            pos = min(pos, len(out) - 4)
            value = int.from_bytes(out[pos:pos + 4], "little") + rng.choice([-16, -4, -1, 1, 4, 16, 64])
            out[pos:pos + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        elif op < 0.94:
            out.insert(pos, rng.randrange(256))
        elif op < 0.98:
            del out[pos]
        else:
            del out[rng.randrange(20, len(out)):]
    return bytes(out)


def mutate_structured(tools, seed, count, mutate_seed, outdir):
    """Runs wasmcache-mutate on one seed; returns the mutants' bytes."""
    os.makedirs(outdir, exist_ok=True)
    result = run([tools.mutate, "--arch", tools.arch, "--wasm", seed.wasm, "--cache-only",
                  "--seed", str(mutate_seed), "--count", str(count), "-o", outdir, seed.cache],
                 timeout=600)
    if result.returncode != 0:
        log(f"wasmcache-mutate failed on {seed.name} (exit {result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip()[:400]}")
        return []
    mutants = []
    for f in sorted(os.listdir(outdir)):
        if f.endswith(".cache"):
            path = os.path.join(outdir, f)
            mutants.append(open(path, "rb").read())
            os.remove(path)
    return mutants


# --- our verdicts -------------------------------------------------------------

# The configurations of `wasmcache verify` each input goes through. "gate":
# header words pinned to the seed's (the embedder's V8); "default": the CLI
# as it is, CPU features, flag hash and enabled features only recorded.
CONFIGS = {
    "reference": lambda seed: ["--expect-header", seed.expect_header()],
    "fast": lambda seed: ["--impl", "fast", "--expect-header", seed.expect_header()],
    "default": lambda seed: [],
}


def verify(tools, seed, cache_path, config):
    """One `wasmcache verify` run: (verdict, message); verdict is "accept",
    "reject", or "crash" when verify itself died or hung."""
    command = [tools.wasmcache, "verify", "--arch", tools.arch, *CONFIGS[config](seed),
               "--wasm", seed.wasm, cache_path]
    try:
        result = run(command, timeout=tools.verify_timeout)
    except subprocess.TimeoutExpired:
        return "crash", "verify timed out"
    text = (result.stdout + result.stderr).decode(errors="replace").strip()
    first = text.splitlines()[0] if text else ""
    if result.returncode == 0:
        return "accept", first
    if result.returncode == 1 and first.startswith("error: "):
        return "reject", first[len("error: "):]
    return "crash", f"exit {result.returncode}: {text[-400:]}"


# --- V8 -----------------------------------------------------------------------

CRASH_LINE = re.compile(r"(Fatal error|Check failed|Debug check failed|FATAL|Fatal JavaScript|"
                        r"what\(\):|terminate called|free\(\)|malloc|corrupted|stack smashing)")


def crash_signature(returncode, stderr, timed_out):
    """A short stable description of how V8 died: the signal or exit code,
    the Check failed (else the first Fatal error) line of its stderr, and
    the first named V8 frame of the native stack trace."""
    if timed_out:
        how = "timeout"
    elif returncode is not None and returncode < 0:
        try:
            how = signal.Signals(-returncode).name
        except ValueError:
            how = f"signal {-returncode}"
    else:
        how = f"exit {returncode}"
    lines = [l.strip("# ").strip() for l in stderr.splitlines() if CRASH_LINE.search(l)]
    preferred = [l for l in lines if "Check failed" in l or "what():" in l]
    message = (preferred or lines or [""])[0]
    frames = re.findall(r"^\s*\d+: 0x[0-9a-f]+ (\S.*?) \[", stderr, re.M)
    frame = next((f for f in frames if "V8_Fatal" not in f and "FatalProcessOutOfMemory" not in f), "")
    frame = re.sub(r"\(.*", "", frame)
    parts = [how] + [p for p in (normalize(message)[:160], frame) if p]
    return ": ".join(parts[:2]) + (f" in {parts[2]}" if len(parts) > 2 else "")


class V8Runner:
    """Loads inputs with tools/v8/gate-load.cjs, in batches per flag set."""

    def __init__(self, tools, workdir):
        self.tools = tools
        self.workdir = workdir
        self.script = os.path.join(REPO, "tools", "v8", "gate-load.cjs")
        self.counter = 0
        self.lock = threading.Lock()
        self.processes = 0
        self.reuse_unproven = 0

    def _paths(self):
        with self.lock:
            self.counter += 1
            n = self.counter
        base = os.path.join(self.workdir, f"batch{n}")
        return base + ".list.jsonl", base + ".results.jsonl", base + ".stderr"

    def _run(self, seed_for_flags, items, control=False):
        """One node process over `items` (dicts with id, wasm, cache, seed).
        Returns (results by id, exit code, stderr text, timed_out, the id
        started but not finished, its phase)."""
        list_path, results_path, stderr_path = self._paths()
        with open(list_path, "w") as f:
            for item in items:
                f.write(json.dumps({k: item[k] for k in ("id", "wasm", "cache", "seed")}) + "\n")
        command = [*self.tools.node_command(seed_for_flags.flags), self.script,
                   "--flags", "@" + seed_for_flags.flags_file]
        if control:
            command.append("--control")
        command += [list_path, results_path]
        with self.lock:
            self.processes += 1
        timed_out = False
        with open(stderr_path, "wb") as err:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err,
                                       start_new_session=True)
            last_size, last_change = -1, time.monotonic()
            while process.poll() is None:
                time.sleep(0.05)
                size = os.path.getsize(results_path) if os.path.exists(results_path) else 0
                if size != last_size:
                    last_size, last_change = size, time.monotonic()
                elif time.monotonic() - last_change > self.tools.v8_stall:
                    timed_out = True
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        returncode = process.returncode
        stderr = open(stderr_path, "rb").read().decode(errors="replace")
        lines = []
        if os.path.exists(results_path):
            for line in open(results_path):
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line cut by the crash
        for path in (list_path, results_path, stderr_path):
            if os.path.exists(path):
                os.remove(path)
        if control:
            return lines, returncode, stderr
        results, started, phase = {}, None, None
        for line in lines:
            if line.get("phase") == "start":
                started, phase = line["id"], "load"
            elif line.get("phase") == "loaded":
                phase = "collect"
            elif line.get("phase") == "reuse-not-defeated":
                phase = "reuse"
            elif line.get("phase") == "done":
                results[line["id"]] = line
                started, phase = None, None
        return results, returncode, stderr, timed_out, started, phase

    def control(self, seeds):
        """gate-load.cjs --control per flag set; returns (passed, details)."""
        details, passed = [], True
        for group in group_seeds(seeds).values():
            items = [{"id": s.name, "wasm": s.wasm, "cache": s.cache, "seed": s.cache} for s in group]
            lines, returncode, stderr = self._run(group[0], items, control=True)
            for line in lines:
                line["seed"] = os.path.basename(line["seed"])
                details.append(line)
            ok = returncode == 0 and len(lines) == CONTROL_CHECKS * len(group)
            if not ok:
                details.append({"control": "gate-load exit", "expected": 0, "got": returncode,
                                "stderr": stderr[-800:]})
            passed = passed and ok
        return passed, details

    def load(self, seed_for_flags, items):
        """Loads `items` (all of one flag set), restarting after crashes.
        Returns {id: {"v8": accept|reject|crash, ...}}."""
        outcome = {}
        pending = list(items)
        while pending:
            results, returncode, stderr, timed_out, started, phase = self._run(seed_for_flags, pending)
            outcome.update({i: {"v8": r["v8"], "error": r.get("error"),
                                "canary_rounds": r.get("canary_rounds")} for i, r in results.items()})
            finished = set(results)
            if started is None and not results and returncode != 0:
                raise RuntimeError(f"gate-load.cjs failed before any input (exit {returncode}): "
                                   f"{stderr[-600:]}")
            if started is not None:
                if phase == "reuse":
                    # Not a verdict we can trust: load it again alone.
                    with self.lock:
                        self.reuse_unproven += 1
                    fresh = self.load_alone(seed_for_flags, next(i for i in pending if i["id"] == started))
                    outcome[started] = fresh
                else:
                    outcome[started] = {"v8": CRASH, "phase": phase, "returncode": returncode,
                                        "timed_out": timed_out,
                                        "signature": crash_signature(returncode, stderr, timed_out),
                                        "stderr": stderr[-4000:], "in_batch": True}
                finished.add(started)
            elif returncode != 0 and len(finished) < len(pending):
                # Died between inputs: give the next one a fresh process.
                log(f"gate-load exited {returncode} between inputs: {stderr[-300:]}")
            elif returncode != 0:
                log(f"gate-load exited {returncode} after its last input: {stderr[-300:]}")
            pending = [i for i in pending if i["id"] not in finished]
        return outcome

    def load_alone(self, seed_for_flags, item):
        """One input in a fresh process."""
        results, returncode, stderr, timed_out, started, phase = self._run(seed_for_flags, [item])
        if item["id"] in results and returncode == 0:
            r = results[item["id"]]
            return {"v8": r["v8"], "error": r.get("error"), "canary_rounds": r.get("canary_rounds"),
                    "stderr": stderr[-4000:]}
        return {"v8": CRASH, "phase": phase or "exit", "returncode": returncode, "timed_out": timed_out,
                "signature": crash_signature(returncode, stderr, timed_out), "stderr": stderr[-4000:],
                "in_batch": False}


def group_seeds(seeds):
    groups = collections.OrderedDict()
    for s in seeds:
        groups.setdefault(s.group, []).append(s)
    return groups


# --- minimizer ----------------------------------------------------------------

def hunks_between(seed, mutant):
    """The edits turning `seed` into `mutant`, as (i1, i2, replacement)
    hunks on the seed: single bytes when the lengths agree, difflib's
    opcodes otherwise."""
    if len(seed) == len(mutant):
        return [(i, i + 1, mutant[i:i + 1]) for i in range(len(seed)) if seed[i] != mutant[i]]
    matcher = difflib.SequenceMatcher(None, seed, mutant, autojunk=False)
    return [(i1, i2, mutant[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def apply_hunks(seed, hunks):
    out, at = bytearray(), 0
    for i1, i2, replacement in sorted(hunks, key=lambda h: h[0]):
        out += seed[at:i1] + replacement
        at = i2
    return bytes(out + seed[at:])


def ddmin(items, test, budget):
    """Zeller's ddmin: a 1-minimal subset of `items` for which test() holds
    (test(items) is assumed), within `budget` tests."""
    n, calls = 2, 0
    while len(items) >= 2:
        size = -(-len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        candidates = chunks + ([] if len(chunks) == 2 else
                               [[x for j, c in enumerate(chunks) if j != i for x in c]
                                for i in range(len(chunks))])
        for index, candidate in enumerate(candidates):
            if calls >= budget:
                return items
            calls += 1
            if test(candidate):
                items = candidate
                n = 2 if index < len(chunks) else max(n - 1, 2)
                break
        else:
            if n >= len(items):
                break
            n = min(2 * n, len(items))
    return items


# --- the campaign -------------------------------------------------------------

class Campaign:
    def __init__(self, args, tools):
        self.args, self.tools = args, tools
        self.out = args.out
        self.work = os.path.join(self.out, "work")
        os.makedirs(self.work, exist_ok=True)
        self.rng = random.Random(args.seed)
        self.v8 = V8Runner(tools, self.work)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
        self.seen = set()
        self.records = []            # one dict per input tried
        self.duplicates = 0
        self.findings = collections.defaultdict(list)   # kind -> [dict]
        self.samples = collections.Counter()             # (cell, class) -> saved
        self.minimized = 0
        self.started = time.monotonic()

    # 1, 2: seeds and control.
    def setup(self):
        self.seeds = make_seeds(self.tools, self.out, self.args.modules)
        self.control = {"wasmcache": [], "v8": [], "passed": True}
        for s in self.seeds:
            for config in CONFIGS:
                verdict, message = verify(self.tools, s, s.cache, config)
                self.control["wasmcache"].append({"seed": s.name, "config": config,
                                                  "verdict": verdict, "message": message})
                if verdict != "accept":
                    self.control["passed"] = False
                    log(f"control: wasmcache verify ({config}) rejects the unmutated seed {s.name}: {message}")
            canary = s.cache + ".canary"
            with open(canary, "wb") as f:
                f.write(s.data + b"\0")
            verdict, message = verify(self.tools, s, canary, "reference")
            self.control["wasmcache"].append({"seed": s.name, "config": "reference, canary",
                                              "verdict": verdict, "message": message})
            if verdict != "reject":
                self.control["passed"] = False
                log(f"control: wasmcache accepts {s.name} with a byte appended")
        passed, details = self.v8.control(self.seeds)
        self.control["v8"] = details
        if not passed:
            self.control["passed"] = False
            for d in details:
                if d.get("expected") != d.get("got"):
                    log(f"control: V8 {d}")
        log("control: " + ("passed (wasmcache and V8 accept every seed; V8 rejects the canaries; "
                           "reuse is seen without collection and defeated by it)"
                           if self.control["passed"] else "FAILED"))
        return self.control["passed"]

    # 3: mutants of one round.
    def make_mutants(self, round_index, per_seed):
        use_mutate = self.args.mutator in ("auto", "mutate") and self.tools.have_mutate
        fraction = 1.0 if not use_mutate else (
            self.args.bytes_fraction if self.args.mutator == "auto" else 0.0)
        inputs = []
        round_dir = os.path.join(self.work, f"round{round_index}")
        os.makedirs(round_dir, exist_ok=True)
        jobs = []
        for s in self.seeds:
            n_bytes = sum(self.rng.random() < fraction for _ in range(per_seed))
            n_mutate = per_seed - n_bytes
            if n_mutate:
                mutate_seed = self.args.seed * 1000003 + round_index * 1009 + self.seeds.index(s)
                jobs.append((s, self.pool.submit(mutate_structured, self.tools, s, n_mutate, mutate_seed,
                                                 os.path.join(round_dir, "mutate-" + s.name))))
            for i in range(n_bytes):
                inputs.append((s, "bytes", mutate_bytes(self.rng, s.data)))
        for s, job in jobs:
            inputs.extend((s, "mutate", data) for data in job.result())
        mutants = []
        for s, source, data in inputs:
            digest = sha1(data)
            if digest in self.seen or data == s.data:
                self.duplicates += 1
                continue
            self.seen.add(digest)
            ident = f"{s.name}.r{round_index}.{source[0]}{len(mutants)}"
            path = os.path.join(round_dir, ident + ".cache")
            with open(path, "wb") as f:
                f.write(data)
            mutants.append({"id": ident, "seed_name": s.name, "seed_obj": s, "mutator": source,
                            "cache": path, "wasm": s.wasm, "seed": s.cache, "size": len(data)})
        return mutants, round_dir

    # 4: our verdicts.
    def verify_all(self, mutants):
        futures = {}
        for m in mutants:
            for config in CONFIGS:
                futures[(m["id"], config)] = self.pool.submit(verify, self.tools, m["seed_obj"], m["cache"], config)
        for m in mutants:
            m["ours"] = {}
            for config in CONFIGS:
                verdict, message = futures[(m["id"], config)].result()
                m["ours"][config] = {"verdict": verdict, "message": message}
                if verdict == "crash":
                    self.save_finding("verify-crash", m, {"config": config, "message": message})
            if m["ours"]["reference"]["verdict"] != m["ours"]["fast"]["verdict"]:
                self.save_finding("impl-disagreement", m, {
                    "reference": m["ours"]["reference"], "fast": m["ours"]["fast"]})

    # 5: V8's verdicts.
    def load_all(self, mutants):
        chosen = []
        for m in mutants:
            accepted = any(m["ours"][c]["verdict"] == "accept" for c in CONFIGS)
            if accepted or self.rng.random() < self.args.sample_rejected:
                chosen.append(m)
            else:
                m["v8"] = {"v8": NOT_LOADED}
        # Batches per flag set, about `jobs` per set and at most 200 inputs each.
        tasks = []
        for flags, group in group_seeds(self.seeds).items():
            items = [m for m in chosen if m["seed_obj"].group == flags]
            if not items:
                continue
            parts = max(self.args.jobs, (len(items) + 199) // 200)
            size = (len(items) + parts - 1) // parts
            for i in range(0, len(items), size):
                tasks.append(self.pool.submit(self.v8.load, group[0], items[i:i + size]))
        outcome = {}
        for t in tasks:
            outcome.update(t.result())
        for m in chosen:
            m["v8"] = outcome[m["id"]]

    # 6: findings.
    def examine(self, mutants):
        for m in mutants:
            v8 = m["v8"]["v8"]
            accepted_by = [c for c in CONFIGS if m["ours"][c]["verdict"] == "accept"]
            if v8 == CRASH and accepted_by:
                self.hole(m, accepted_by)
            elif v8 == CRASH:
                self.sample(m, "we-reject-v8-crashes", normalize(m["ours"]["reference"]["message"]))
            elif v8 == REJECT and m["ours"]["reference"]["verdict"] == "accept":
                m["class"] = self.describe_difference(m)
                self.sample(m, "we-accept-v8-rejects", m["class"])
            elif v8 == ACCEPT and m["ours"]["reference"]["verdict"] == "reject":
                self.sample(m, "we-reject-v8-accepts", normalize(m["ours"]["reference"]["message"]))
            if v8 == REJECT and m["ours"]["default"]["verdict"] == "accept" and "default_class" not in m:
                m["default_class"] = self.describe_difference(m)

    def inspect_diff(self, s, cache_path):
        """The lines of `wasmcache inspect` that differ between the seed and
        `cache_path` ("-" seed, "+" input); None if inspect cannot read it."""
        def inspect(path):
            r = run([self.tools.wasmcache, "inspect", "--arch", self.tools.arch, "--record-header",
                     "--wasm", s.wasm, path], timeout=self.tools.verify_timeout)
            return r.stdout.decode(errors="replace").splitlines() if r.returncode == 0 else None
        before, after = inspect(s.cache), inspect(cache_path)
        if before is None or after is None:
            return None
        # An entry added at the pc of another entry of its mode: say so.
        twice, block = set(), []
        for line in after + ["function"]:
            if line.startswith("function") or line.startswith("totals"):
                sites = collections.Counter(tuple(l.split()[1:3]) for l in block)
                twice.update(l for l in block if sites[tuple(l.split()[1:3])] > 1)
                block = []
            elif line.startswith("  pc "):
                block.append(line)
        return [l + (" (a second entry for this pc and mode)" if l[1:] in twice and l[0] == "+" else "")
                for l in difflib.unified_diff(before, after, lineterm="", n=0)
                if l[:1] in "+-" and not l.startswith(("+++", "---"))]

    def describe_difference(self, m):
        """What differs from the seed, in the words of `wasmcache inspect`
        (for inputs we accept, so inspect can read them)."""
        s = m["seed_obj"]
        data = open(m["cache"], "rb").read()
        if len(data) >= 20 and data[:20] != s.data[:20]:
            words = header_words(data)
            return "header " + ", ".join(HEADER_WORD_NAMES[i] for i in range(5) if words[i] != s.words[i])
        changed = [l for l in (self.inspect_diff(s, m["cache"]) or []) if l.startswith("+")]
        if not changed:
            return "bytes inspect does not show (code bytes or verbatim parts)"
        return "changed: " + normalize(changed[0][1:])[:120]

    @staticmethod
    def hole_class(signature, diff):
        """Holes with the same crash and the same kind of inspect-visible
        change (names, numbers and per-function lines elided) are one class."""
        lines = set()
        for line in diff or []:
            line = re.sub(r'"[^"]*"', "", line)
            if re.match(r"[+-](function |totals:)", line):
                continue  # offsets and sizes shift with any length change
            lines.add(normalize(line))
        return signature + " | " + (" ; ".join(sorted(lines)) or "no inspect-visible change")

    def sample(self, m, cell, cls, limit=3):
        key = (cell, cls)
        self.samples[key] += 1
        if self.samples[key] > limit or self.args.no_samples:
            return
        d = os.path.join(self.out, "samples", cell, f"{len([k for k in self.samples if k[0] == cell]):03d}")
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(m["cache"], os.path.join(d, m["id"] + ".cache"))
        with open(os.path.join(d, "class.txt"), "w") as f:
            f.write(cls + "\n")
        with open(os.path.join(d, m["id"] + ".json"), "w") as f:
            json.dump(self.public(m), f, indent=1)

    def public(self, m):
        return {k: v for k, v in m.items() if k not in ("seed_obj",)}

    def save_finding(self, kind, m, detail):
        d = os.path.join(self.out, kind, m["id"])
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(m["cache"], os.path.join(d, "input.cache"))
        shutil.copyfile(m["wasm"], os.path.join(d, "module.wasm"))
        shutil.copyfile(m["seed"], os.path.join(d, "seed.cache"))
        shutil.copyfile(m["seed_obj"].flags_file, os.path.join(d, "v8.flags"))
        entry = {"id": m["id"], "arch": self.tools.arch, "seed": m["seed_name"], "mutator": m["mutator"], **detail}
        with open(os.path.join(d, "finding.json"), "w") as f:
            json.dump(entry, f, indent=1)
        self.findings[kind].append(entry)
        log(f"{kind}: {m['id']} saved in {d}")
        return d

    def crashes_alone(self, s, cache_path, tries=3):
        """Whether V8 crashes on `cache_path` in a fresh process (any of
        `tries` runs); returns the crash outcome or None."""
        item = {"id": "alone", "wasm": s.wasm, "cache": cache_path, "seed": s.cache}
        for _ in range(tries):
            r = self.v8.load_alone(s, item)
            if r["v8"] == CRASH:
                return r
        return None

    def hole(self, m, accepted_by):
        s = m["seed_obj"]
        fresh = self.crashes_alone(s, m["cache"])
        signature = (fresh or m["v8"])["signature"]
        diff = self.inspect_diff(s, m["cache"])
        detail = {"accepted_by": accepted_by, "batch": {k: v for k, v in m["v8"].items() if k != "stderr"},
                  "reproduces_alone": fresh is not None, "signature": signature,
                  "class": self.hole_class(signature, diff)}
        kind = "holes" if fresh is not None else "suspects"
        d = self.save_finding(kind, m, detail)
        finding = self.findings[kind][-1]
        with open(os.path.join(d, "node.stderr"), "w") as f:
            f.write((fresh or m["v8"]).get("stderr", ""))
        with open(os.path.join(d, "verify.txt"), "w") as f:
            for c in CONFIGS:
                f.write(f"{c}: {m['ours'][c]['verdict']}: {m['ours'][c]['message']}\n")
        with open(os.path.join(d, "inspect.diff"), "w") as f:
            f.write("\n".join(diff or ["(inspect cannot read it)"]) + "\n")
        with open(os.path.join(d, "repro.sh"), "w") as f:
            f.write(repro_script(self.tools.arch, accepted_by[0]))
        os.chmod(os.path.join(d, "repro.sh"), 0o755)
        if fresh is None:
            return
        # Minimize the first hole of each class, up to --max-minimize in all.
        known = {h.get("minimized_class") for h in self.findings["holes"][:-1]} | \
                {h["class"] for h in self.findings["holes"][:-1]}
        if finding["class"] in known or self.minimized >= self.args.max_minimize:
            finding["minimized"] = False
        else:
            self.minimized += 1
            minimized_path = os.path.join(d, "minimized.cache")
            finding["minimized"] = True
            finding["minimized_edits"] = self.minimize(s, m, accepted_by[0], minimized_path)
            again = self.crashes_alone(s, minimized_path)
            min_diff = self.inspect_diff(s, minimized_path)
            finding["minimized_signature"] = again["signature"] if again else None
            finding["minimized_class"] = self.hole_class(finding["minimized_signature"] or signature, min_diff)
            with open(os.path.join(d, "minimized.inspect.diff"), "w") as f:
                f.write("\n".join(min_diff or ["(inspect cannot read it)"]) + "\n")
            if again:
                with open(os.path.join(d, "minimized.node.stderr"), "w") as f:
                    f.write(again.get("stderr", ""))
        with open(os.path.join(d, "finding.json"), "w") as f:
            json.dump(finding, f, indent=1)
        if self.args.regressions and finding["minimized"]:
            target = os.path.join(self.args.regressions, m["id"])
            os.makedirs(target, exist_ok=True)
            for name in ("minimized.cache", "seed.cache", "module.wasm", "v8.flags", "finding.json",
                         "repro.sh", "minimized.inspect.diff", "minimized.node.stderr"):
                if os.path.exists(os.path.join(d, name)):
                    shutil.copyfile(os.path.join(d, name), os.path.join(target, name))

    def minimize(self, s, m, config, target):
        """Reverts as much of the mutation as possible while we still accept
        and V8 still crashes (ddmin over the edits against the seed)."""
        data = open(m["cache"], "rb").read()
        hunks = hunks_between(s.data, data)
        scratch = os.path.join(self.work, m["id"] + ".min.cache")

        def holds(subset):
            with open(scratch, "wb") as f:
                f.write(apply_hunks(s.data, subset))
            if verify(self.tools, s, scratch, config)[0] != "accept":
                return False
            return self.crashes_alone(s, scratch, tries=1) is not None

        kept = ddmin(hunks, holds, budget=self.args.minimize_budget) if len(hunks) > 1 else hunks
        with open(target, "wb") as f:
            f.write(apply_hunks(s.data, kept))
        if os.path.exists(scratch):
            os.remove(scratch)
        log(f"minimized {m['id']}: {len(hunks)} edits -> {len(kept)}: "
            + ", ".join(f"@0x{h[0]:x}" for h in kept[:8]))
        return [{"offset": h[0], "seed_bytes": s.data[h[0]:h[1]].hex(), "bytes": h[2].hex()} for h in kept]

    # The loop.
    def run(self):
        deadline = self.started + self.args.time if self.args.time else None
        target = self.args.inputs
        round_index = 0
        while True:
            tried = len(self.records)
            if target is not None and tried >= target:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            remaining = (target - tried) if target is not None else 10 ** 9
            per_seed = max(1, min(self.args.round_size, -(-remaining // len(self.seeds))))
            mutants, round_dir = self.make_mutants(round_index, per_seed)
            if target is not None:
                mutants = mutants[:remaining]
            self.verify_all(mutants)
            self.load_all(mutants)
            self.examine(mutants)
            for m in mutants:
                self.records.append(self.summary(m))
            if not self.args.keep_inputs:
                shutil.rmtree(round_dir, ignore_errors=True)
            round_index += 1
            self.progress()
        self.pool.shutdown()

    def summary(self, m):
        return {"id": m["id"], "seed": m["seed_name"], "mutator": m["mutator"],
                "ours": {c: m["ours"][c]["verdict"] for c in CONFIGS},
                "reason": m["ours"]["reference"]["message"] if m["ours"]["reference"]["verdict"] != "accept" else None,
                "default_reason": m["ours"]["default"]["message"] if m["ours"]["default"]["verdict"] != "accept" else None,
                "v8": m["v8"]["v8"], "v8_error": m["v8"].get("error"),
                "signature": m["v8"].get("signature"), "canary_rounds": m["v8"].get("canary_rounds"),
                "class": m.get("class"), "default_class": m.get("default_class")}

    def progress(self):
        n = len(self.records)
        elapsed = time.monotonic() - self.started
        c = collections.Counter((r["ours"]["reference"], r["v8"]) for r in self.records)
        log(f"{n} inputs in {elapsed:.0f} s ({n / max(elapsed, 1e-9):.1f}/s): "
            f"we accept {sum(v for (o, _), v in c.items() if o == 'accept')}, "
            f"V8 crashes {sum(v for (_, x), v in c.items() if x == CRASH)} "
            f"(on accepted {c[('accept', CRASH)]}), holes {len(self.findings['holes'])}")

    # Report.
    def report(self):
        elapsed = time.monotonic() - self.started
        recs = self.records

        def table(key):
            t = {o: {x: 0 for x in (ACCEPT, REJECT, CRASH, NOT_LOADED)} for o in ("accept", "reject", "crash")}
            for r in recs:
                t[r["ours"][key]][r["v8"]] += 1
            return t

        def classes(predicate, field):
            c = collections.Counter(normalize(r[field]) if field in ("reason", "default_reason") else r[field]
                                    for r in recs if predicate(r))
            return [{"class": k, "count": v} for k, v in c.most_common()]

        per_seed = {}
        for s in self.seeds:
            rs = [r for r in recs if r["seed"] == s.name]
            per_seed[s.name] = {
                "tried": len(rs),
                "we_accept": sum(r["ours"]["reference"] == "accept" for r in rs),
                "v8_loaded": sum(r["v8"] != NOT_LOADED for r in rs),
                "v8_accept": sum(r["v8"] == ACCEPT for r in rs),
                "v8_reject": sum(r["v8"] == REJECT for r in rs),
                "v8_crash": sum(r["v8"] == CRASH for r in rs),
                "holes": sum(f["seed"] == s.name for f in self.findings["holes"]),
                "flags": " ".join(s.flags),
            }
        by_mutator = {}
        for source in sorted({r["mutator"] for r in recs}):
            rs = [r for r in recs if r["mutator"] == source]
            by_mutator[source] = {
                "tried": len(rs),
                "we_accept": sum(r["ours"]["reference"] == "accept" for r in rs),
                "v8_accept": sum(r["v8"] == ACCEPT for r in rs),
                "v8_crash": sum(r["v8"] == CRASH for r in rs),
            }
        rounds = collections.Counter(r["canary_rounds"] for r in recs if r["v8"] == ACCEPT)
        report = {
            "arch": self.tools.arch,
            "node": self.tools.node_versions(),
            "wasmcache": self.tools.wasmcache,
            "mutators": {"wasmcache-mutate": self.tools.mutate if self.tools.have_mutate else None,
                         "requested": self.args.mutator, "bytes_fraction": self.args.bytes_fraction},
            "seed": self.args.seed,
            "jobs": self.args.jobs,
            "runtime_s": round(elapsed, 1),
            "inputs_per_s": round(len(recs) / max(elapsed, 1e-9), 2),
            "control": {"passed": self.control["passed"], "wasmcache": self.control["wasmcache"],
                        "v8": self.control["v8"]},
            "seeds": [{"name": s.name, "bytes": len(s.data), "header": [f"{w:08X}" for w in s.words],
                       "flags": " ".join(s.flags)} for s in self.seeds],
            "inputs": {"tried": len(recs), "duplicates_skipped": self.duplicates,
                       "by_mutator": by_mutator},
            "ours": {c: dict(collections.Counter(r["ours"][c] for r in recs)) for c in CONFIGS},
            "v8": dict(collections.Counter(r["v8"] for r in recs)),
            "v8_processes": self.v8.processes,
            "reuse": {"canary_rounds_after_accepted": {str(k): v for k, v in sorted(rounds.items(), key=str)},
                      "unproven_reloaded_alone": self.v8.reuse_unproven},
            "table_gate": table("reference"),
            "table_fast": table("fast"),
            "table_default_header": table("default"),
            "holes": self.findings["holes"],
            "hole_classes": hole_classes(self.findings["holes"]),
            "suspects": self.findings["suspects"],
            "impl_disagreements": self.findings["impl-disagreement"],
            "verify_crashes": self.findings["verify-crash"],
            "classes": {
                "we_accept_v8_rejects": classes(lambda r: r["ours"]["reference"] == "accept" and r["v8"] == REJECT, "class"),
                "default_header_we_accept_v8_rejects": classes(
                    lambda r: r["ours"]["default"] == "accept" and r["v8"] == REJECT, "default_class"),
                "we_reject_v8_accepts": classes(lambda r: r["ours"]["reference"] == "reject" and r["v8"] == ACCEPT, "reason"),
                "we_reject_v8_crashes": classes(lambda r: r["ours"]["reference"] == "reject" and r["v8"] == CRASH, "reason"),
                "v8_crash_signatures_on_rejected": classes(
                    lambda r: r["ours"]["reference"] == "reject" and r["v8"] == CRASH, "signature"),
                "we_reject_v8_rejects": classes(lambda r: r["ours"]["reference"] == "reject" and r["v8"] == REJECT, "reason"),
            },
            "per_seed": per_seed,
        }
        with open(os.path.join(self.out, "report.json"), "w") as f:
            json.dump(report, f, indent=1)
        text = markdown(report)
        with open(os.path.join(self.out, "REPORT.md"), "w") as f:
            f.write(text)
        print(text)
        return report


def hole_classes(holes):
    """Holes grouped by class (a minimized hole's class names its group)."""
    groups = collections.OrderedDict()
    for h in holes:
        key = h.get("minimized_class") or h["class"]
        for existing in list(groups):
            if any(x["class"] == h["class"] for x in groups[existing]["holes"]):
                key = existing
        group = groups.setdefault(key, {"class": key, "count": 0, "holes": [], "minimized": []})
        group["count"] += 1
        group["holes"].append({"id": h["id"], "class": h["class"]})
        if h.get("minimized"):
            group["minimized"].append(h)
    return sorted(groups.values(), key=lambda g: -g["count"])


def repro_script(arch, config):
    header = {"reference": '--expect-header "$(words "$seed")"',
              "fast": '--impl fast --expect-header "$(words "$seed")"', "default": ""}[config]
    node = ".v8/x64/bin/node" if arch == "x64" else \
        f"qemu-aarch64-static -L {ARM64_SYSROOT} .v8/arm64/bin/node"
    return f"""#!/usr/bin/env bash
# A v8gate hole: `wasmcache verify` accepts the cache, V8's loader crashes
# on it. Usage: repro.sh [DIR] (default: this script's directory), run
# anywhere inside the wasmcache repository (or set WASMCACHE_REPO).
set -u
d="$(cd "${{1:-$(dirname "$0")}}" && pwd)"
cd "${{WASMCACHE_REPO:-$(cd "$d" && git rev-parse --show-toplevel)}}" || exit 2
words() {{ od -A n -t x4 -N 20 --endian=little "$1" | tr -s ' \\n' ' ' | sed 's/^ //; s/ $//; s/ /,/g'; }}
cache="$d/minimized.cache"; [[ -e "$cache" ]] || cache="$d/input.cache"
seed="$d/seed.cache"
build/release/wasmcache verify --arch {arch} {header} --wasm "$d/module.wasm" "$cache"
echo "wasmcache verify: exit $? (0: accepted)"
{node} $(cat "$d/v8.flags") tools/v8/load.cjs --flags "@$d/v8.flags" "$d/module.wasm" "$cache"
echo "node: exit $? (above 128: killed by a signal, V8 crashed)"
"""


def markdown(r):
    def cells(t):
        rows = ["| our verdict | V8 accepts | V8 rejects | V8 crashes | not loaded |", "|---|---:|---:|---:|---:|"]
        for o in ("accept", "reject", "crash"):
            if o == "crash" and not any(t[o].values()):
                continue
            label = {"accept": "we accept", "reject": "we reject", "crash": "verify crashed"}[o]
            rows.append(f"| {label} | {t[o][ACCEPT]} | {t[o][REJECT]} | {t[o][CRASH]} | {t[o][NOT_LOADED]} |")
        return "\n".join(rows)

    def class_list(items, limit=15):
        if not items:
            return "(none)\n"
        lines = [f"- {c['count']} × {c['class']}" for c in items[:limit]]
        if len(items) > limit:
            lines.append(f"- ... {len(items) - limit} more classes (report.json)")
        return "\n".join(lines) + "\n"

    ours = r["ours"]
    v8 = r["v8"]
    holes = r["holes"]
    out = [f"# v8gate report ({r['arch']}, node {r['node']})", "",
           f"Control: {'passed' if r['control']['passed'] else 'FAILED'}. "
           f"Inputs tried: {r['inputs']['tried']} ({r['runtime_s']} s, {r['inputs_per_s']} inputs/s, "
           f"{r['jobs']} jobs, {r['v8_processes']} node processes; {r['inputs']['duplicates_skipped']} "
           "duplicate mutants skipped).", "",
           f"Accepted by us: reference (gate: header pinned) {ours['reference'].get('accept', 0)}, "
           f"fast {ours['fast'].get('accept', 0)}, reference with default header options "
           f"{ours['default'].get('accept', 0)}.",
           f"V8: accepted {v8.get(ACCEPT, 0)}, rejected {v8.get(REJECT, 0)}, crashed {v8.get(CRASH, 0)}, "
           f"not loaded {v8.get(NOT_LOADED, 0)}.",
           f"**Holes (we accept, V8 crashes): {len(holes)}**; unconfirmed batch crashes on accepted inputs: "
           f"{len(r['suspects'])}; reference/fast disagreements: {len(r['impl_disagreements'])}; "
           f"verify crashes: {len(r['verify_crashes'])}.", "",
           "## Verdicts (gate: reference, header words pinned to this machine's V8)", "", cells(r["table_gate"]), "",
           "## Verdicts (fast implementation, pinned)", "", cells(r["table_fast"]), "",
           "## Verdicts (reference, default header options: CPU features, flag hash, enabled features recorded only)",
           "", cells(r["table_default_header"]), ""]
    if holes:
        out += ["## Holes, by class (crash signature | what `wasmcache inspect` shows changed)", ""]
        for cls in r["hole_classes"]:
            out.append(f"- {cls['count']} × `{cls['class']}`")
            for h in cls["minimized"][:2]:
                out.append(f"  - {h['id']} (seed {h['seed']}, {h['mutator']}), accepted by "
                           f"{', '.join(h['accepted_by'])}; minimized to "
                           + ", ".join(f"@0x{e['offset']:x} {e['seed_bytes'] or '-'}->{e['bytes'] or '-'}"
                                       for e in h["minimized_edits"][:6])
                           + f"; then {h['minimized_signature']}")
        out.append("")
    c = r["classes"]
    out += ["## V8 rejects, we accept (gate)", "", class_list(c["we_accept_v8_rejects"]),
            "## V8 rejects, we accept (default header options)", "", class_list(c["default_header_we_accept_v8_rejects"]),
            "## V8 accepts, we reject (our error, numbers elided)", "", class_list(c["we_reject_v8_accepts"]),
            "## V8 crashes, we reject: the checks that stopped them", "", class_list(c["we_reject_v8_crashes"]),
            "V8's crash signatures on inputs we reject:", "", class_list(c["v8_crash_signatures_on_rejected"]),
            "## Per seed", "",
            "| seed | tried | we accept | V8 loaded | V8 accepts | V8 rejects | V8 crashes | holes |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in r["per_seed"].items():
        out.append(f"| {name} | {s['tried']} | {s['we_accept']} | {s['v8_loaded']} | {s['v8_accept']} | "
                   f"{s['v8_reject']} | {s['v8_crash']} | {s['holes']} |")
    out += ["", "## Per mutator", "", "| mutator | tried | we accept | V8 accepts | V8 crashes |",
            "|---|---:|---:|---:|---:|"]
    for name, s in r["inputs"]["by_mutator"].items():
        out.append(f"| {name} | {s['tried']} | {s['we_accept']} | {s['v8_accept']} | {s['v8_crash']} |")
    out += ["", f"Reuse: after each input V8 accepted, collections until the canary was rejected: "
            f"{r['reuse']['canary_rounds_after_accepted']}; reloaded alone: {r['reuse']['unproven_reloaded_alone']}.", ""]
    return "\n".join(out)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="v8gate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="x64", choices=["x64", "arm64"])
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--inputs", type=int, help="stop after this many inputs (default 2000)")
    amount.add_argument("--time", type=float, help="stop after this many seconds")
    p.add_argument("--out", help="output directory (default build/v8gate/<arch>)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--mutator", default="auto", choices=["auto", "mutate", "bytes"],
                   help="auto: wasmcache-mutate plus --bytes-fraction raw byte mutants "
                        "(bytes only if wasmcache-mutate is not built)")
    p.add_argument("--bytes-fraction", type=float, default=0.25)
    p.add_argument("--sample-rejected", type=float, default=1.0,
                   help="fraction of the inputs we reject that V8 loads too (default all)")
    p.add_argument("--round-size", type=int, default=40, help="mutants per seed per round")
    p.add_argument("--modules", type=lambda s: [x for x in s.split(",") if x],
                   help="seed modules (corpus/v8-13.6/ARCH names), default all")
    p.add_argument("--minimize-budget", type=int, default=300, help="V8 runs per minimization")
    p.add_argument("--max-minimize", type=int, default=12,
                   help="holes minimized in all (the first of each class)")
    p.add_argument("--v8-memory-limit-mib", type=int, default=4096,
                   help="RLIMIT_DATA of each node process (prlimit), 0 for none")
    p.add_argument("--regressions", help="copy minimized holes here (e.g. corpus/regressions/v8gate)")
    p.add_argument("--keep-inputs", action="store_true", help="keep every mutant in OUT/work")
    p.add_argument("--no-samples", action="store_true", help="do not save sample inputs per class")
    p.add_argument("--smoke", action="store_true",
                   help="short self-check for CI: 50 inputs (unless --inputs), exit 1 on a hole or a failed control")
    p.add_argument("--replay", nargs="*", metavar="DIR",
                   help="re-check saved holes instead of a campaign (default corpus/regressions/v8gate); "
                        "exit 1 while one is still a hole")
    p.add_argument("--node"), p.add_argument("--wasmcache"), p.add_argument("--mutate")
    args = p.parse_args(argv)
    if args.smoke and args.inputs is None and args.time is None:
        args.inputs = 50
    if args.inputs is None and args.time is None:
        args.inputs = 2000
    if args.jobs < 1 or not 0 <= args.bytes_fraction <= 1 or not 0 <= args.sample_rejected <= 1:
        p.error("--jobs must be positive; fractions in [0, 1]")
    if args.mutator == "mutate" and args.bytes_fraction:
        args.bytes_fraction = 0.0
    if args.replay is not None and not args.replay:
        args.replay = [os.path.join(REPO, "corpus", "regressions", "v8gate")]
    suffix = "-replay" if args.replay else "-smoke" if args.smoke else ""
    default_out = os.path.join(REPO, "build", "v8gate", args.arch + suffix)
    args.out = os.path.abspath(args.out or default_out)
    return args


def replay(args, tools):
    """Re-checks saved holes (directories as written under OUT/holes or
    --regressions: module.wasm, v8.flags, minimized.cache or input.cache).
    Each cache gets this machine's CPU-feature header word first (the one
    word that differs between machines), then goes through the gate
    (reference and fast, header pinned) and through V8 in a fresh process.
    Exit 1 while any is still a hole: we accept it and V8 crashes."""
    dirs = []
    for root in args.replay:
        if os.path.exists(os.path.join(root, "module.wasm")):
            dirs.append(root)
        elif os.path.isdir(root):
            dirs += sorted(os.path.join(root, d) for d in os.listdir(root)
                           if os.path.exists(os.path.join(root, d, "module.wasm")))
    def arch_of(d):
        path = os.path.join(d, "finding.json")
        return json.load(open(path)).get("arch", "x64") if os.path.exists(path) else "x64"
    other = [d for d in dirs if arch_of(d) != tools.arch]
    dirs = [d for d in dirs if arch_of(d) == tools.arch]
    for d in other:
        print(f"skipped  {os.path.basename(d.rstrip('/'))}: {arch_of(d)} (replay with --arch {arch_of(d)})")
    if not dirs:
        die(f"--replay: no {tools.arch} reproducers (directories with module.wasm) in {' '.join(args.replay)}")
    os.makedirs(args.out, exist_ok=True)
    probe = make_seeds(tools, os.path.join(args.out, "probe"), ["math"])[0]
    runner = V8Runner(tools, args.out)
    holes, rows = 0, []
    for d in dirs:
        cache = next(os.path.join(d, f) for f in ("minimized.cache", "input.cache", "seed.cache")
                     if os.path.exists(os.path.join(d, f)))
        data = bytearray(open(cache, "rb").read())
        data[8:12] = probe.data[8:12]
        local = os.path.join(args.out, os.path.basename(d.rstrip("/")) + ".cache")
        with open(local, "wb") as f:
            f.write(data)
        flags = open(os.path.join(d, "v8.flags")).read().split()
        seed = Seed(os.path.basename(d.rstrip("/")), os.path.join(d, "module.wasm"), local, flags,
                    os.path.join(d, "v8.flags"))
        ours = {c: verify(tools, seed, local, c) for c in ("reference", "fast")}
        v8 = runner.load_alone(seed, {"id": seed.name, "wasm": seed.wasm, "cache": local, "seed": local})
        hole = v8["v8"] == CRASH and any(v[0] == "accept" for v in ours.values())
        holes += hole
        rows.append((seed.name, ours["reference"], ours["fast"], v8))
        status = "HOLE" if hole else ("gated" if ours["reference"][0] == "reject" else "accepted")
        print(f"{status:8} {seed.name}: reference {ours['reference'][0]} ({ours['reference'][1][:90]}), "
              f"fast {ours['fast'][0]}, V8 {v8['v8']}{' ' + v8['signature'] if v8['v8'] == CRASH else ''}")
    print(f"v8gate --replay ({tools.arch}): {len(dirs)} reproducers, {holes} still holes")
    return 1 if holes else 0


def main(argv):
    args = parse_args(argv)
    tools = Tools(args)
    if args.replay:
        return replay(args, tools)
    if args.mutator == "mutate" and not tools.have_mutate:
        die(f"{tools.mutate} missing: build it (cmake --preset fuzz-tools; "
            "cmake --build build/fuzz-tools --target wasmcache-mutate) or use --mutator bytes")
    if args.mutator == "auto" and not tools.have_mutate:
        log(f"{tools.mutate} not built: raw byte mutants only")
    if os.path.exists(args.out) and os.listdir(args.out):
        if not {"seeds", "report.json"} & set(os.listdir(args.out)):
            die(f"--out {args.out} exists and is not the output of an earlier campaign; not removing it")
        shutil.rmtree(args.out)
    os.makedirs(args.out, exist_ok=True)
    campaign = Campaign(args, tools)
    if not campaign.setup():
        campaign.records = []
        campaign.report()
        log("the control failed: the campaign's verdicts would mean nothing")
        return 1
    campaign.run()
    report = campaign.report()
    bad = len(report["holes"]) + len(report["impl_disagreements"]) + len(report["verify_crashes"])
    if not args.keep_inputs:
        shutil.rmtree(campaign.work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
