"""Crash triage: replay each crashing input, key it, keep one reproducer per
key.

Keys. A differential target reports a disagreement as

    wasmcache-finding: reference-fast-code-header-difference

before it aborts; that signature is the key (it names what disagreed, never
an input's values, so all inputs that trip one check share it). Any other
crash is keyed by its kind and its top three frames in project code
(reference/, fast/, spec/, equiv/, synth/, fuzz/lib/ and the targets):

    kind     the sanitizer's SUMMARY kind (heap-buffer-overflow, SEGV,
             stack-overflow, allocation-size-too-big, ...), for
             UndefinedBehaviorSanitizer the class of its runtime error
             (signed-integer-overflow, shift-exponent-is-too-large, ...),
             memory-leak, or libFuzzer's (timeout, out-of-memory)
    frames   function names with their parameter lists removed, never
             addresses or line numbers (they move with every edit)

An input that does not crash again when replayed is keyed
"not-reproducible"; one that hangs in the replay, "replay-timeout".

Output: DIR/crashes/<key>/ holds `testcase` (the smallest input of the key,
minimized with afl-tmin or -minimize_crash when that keeps the key, the
unminimized one then kept as `original`), `log.txt` (its symbolized report),
`inputs.txt` (every input with this key) and `reproduce.sh`; and
DIR/crashes/SUMMARY.md lists the keys.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import sanitizers
from .layout import Layout

FINDING = re.compile(r"wasmcache-finding: (\S+)")
SUMMARY = re.compile(r"SUMMARY: (\w+Sanitizer): (\S+)(.*)$", re.MULTILINE)
ERROR = re.compile(r"ERROR: (\w+Sanitizer): ([\w-]+)")
LIBFUZZER_ERROR = re.compile(r"ERROR: libFuzzer: ([\w -]+)")
RUNTIME_ERROR = re.compile(r"runtime error: (.*)$", re.MULTILINE)
# Symbolized: "#3 0x55d0c8 in ns::F(int) /src/f.cc:12:3";
# not: "#3 0x55d0c8  (/build/fuzz/target+0x1203c2) (BuildId: 6f53bb...)".
FRAME = re.compile(r"^\s*#(\d+)\s+0x[0-9a-fA-F]+\s*(.*)$")
BUILD_ID = re.compile(r"\s*\(BuildId: [0-9a-fA-F]+\)\s*$")

# Frames in these paths are project code ...
PROJECT_PATH = re.compile(
    r"(?:^|/)(?:reference|fast|spec|equiv|synth|fuzz/lib)/"
    r"|(?:^|/)fuzz/[A-Za-z0-9_]+_fuzzer\.cc")
# ... except the finding reporter, which every finding passes through.
REPORTER_PATH = re.compile(r"(?:^|/)fuzz/lib/finding\.cc")
# Runtime frames skipped when a stack has no project frame at all.
RUNTIME_FUNCTION = re.compile(
    r"^(?:__asan|__ubsan|__sanitizer|__interceptor|__lsan|___interceptor|"
    r"fuzzer::|__libc|_start|abort|raise|gsignal|__GI_|__pthread|"
    r"pthread_kill|std::__|LLVMFuzzerTestOneInput$|main$)")

FRAMES_IN_KEY = 3
REPLAY_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Frame:
    function: str      # parameters removed
    location: str      # file:line:column, or (module+offset)

    def is_project(self) -> bool:
        return (bool(PROJECT_PATH.search(self.location))
                and not REPORTER_PATH.search(self.location)
                and "/usr/" not in self.location)


@dataclass
class Report:
    kind: str
    signature: str | None
    frames: list[Frame]
    reproduced: bool

    def identity(self) -> tuple:
        if self.signature:
            return ("finding", self.signature)
        return (self.kind, tuple(f.function for f in self.key_frames()))

    def key_frames(self) -> list[Frame]:
        project = [f for f in self.frames if f.is_project()]
        # The target's entry point is in every stack; it counts only when
        # nothing below it is project code.
        library = [f for f in project if f.function != "LLVMFuzzerTestOneInput"]
        if library:
            return library[:FRAMES_IN_KEY]
        if project:
            return project[:FRAMES_IN_KEY]
        other = [f for f in self.frames
                 if not RUNTIME_FUNCTION.match(f.function)]
        return other[:FRAMES_IN_KEY]

    def top_location(self) -> str:
        frames = self.key_frames()
        return frames[0].location if frames else ""


def strip_parameters(function: str) -> str:
    """`ns::Foo<int>::Bar(unsigned char const*, unsigned long) const` →
    `ns::Foo<int>::Bar`; `(anonymous namespace)::F(int)` keeps its prefix."""
    text = function.strip()
    for suffix in (" const", " volatile", " &&", " &"):
        while text.endswith(suffix):
            text = text[: -len(suffix)]
    if not text.endswith(")"):
        return text
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                head = text[:index]
                # `operator()` keeps its own parentheses.
                return head if head else text
    return text


def parse_frame(line: str) -> Frame | None:
    match = FRAME.match(line)
    if not match:
        return None
    rest = BUILD_ID.sub("", match.group(2)).strip()
    if not rest.startswith("in "):
        return Frame("", rest)  # Not symbolized: the module and offset.
    rest = rest[3:].strip()
    function, location = rest, ""
    head, _, last = rest.rpartition(" ")
    if head and (last.startswith(("/", "(")) or re.search(r"\.\w+(:\d+)*$", last)):
        function, location = head, last
    return Frame(strip_parameters(function), location)


def first_stack(text: str) -> list[Frame]:
    """The frames of the first stack trace in a report (the crash itself;
    ASan's later stacks are where memory was allocated and freed)."""
    frames: list[Frame] = []
    for line in text.splitlines():
        frame = parse_frame(line)
        if frame is not None:
            if frames and line.strip().startswith("#0 "):
                break  # A second stack begins.
            frames.append(frame)
        elif frames:
            break
    return frames


def ubsan_class(message: str) -> str:
    """`signed integer overflow: 2147483632 + 38 cannot be represented` →
    `signed-integer-overflow`: the message without values."""
    text = message.split(":", 1)[0]
    text = re.sub(r"'[^']*'", " ", text)
    text = re.sub(r"\b0x[0-9a-fA-F]+\b|\b\d+(?:-bit)?\b", " ", text)
    words = re.findall(r"[A-Za-z]+", text)[:6]
    return slug(" ".join(words)) or "undefined-behavior"


def crash_kind(text: str) -> str:
    leak = "ERROR: LeakSanitizer: detected memory leaks" in text
    if leak:
        return "memory-leak"
    summary = SUMMARY.search(text)
    if summary:
        sanitizer, kind, _ = summary.groups()
        if sanitizer == "UndefinedBehaviorSanitizer":
            runtime = RUNTIME_ERROR.search(text)
            return ubsan_class(runtime.group(1)) if runtime else "undefined-behavior"
        if "leaked" in summary.group(3):
            return "memory-leak"
        return slug(kind)
    runtime = RUNTIME_ERROR.search(text)
    if runtime:
        return ubsan_class(runtime.group(1))
    error = ERROR.search(text)
    if error:
        return slug(error.group(2))
    error = LIBFUZZER_ERROR.search(text)
    if error:
        # "timeout after 25 seconds", "out-of-memory (malloc(...))"
        return slug(re.split(r"\s+(?:after\b|\()", error.group(1))[0])
    return "crash"


def parse_report(text: str, returncode: int | None, timed_out: bool) -> Report:
    finding = FINDING.search(text)
    if finding:
        return Report("finding", finding.group(1), first_stack(text), True)
    if timed_out:
        return Report("replay-timeout", None, [], True)
    reported = "ERROR:" in text or "runtime error:" in text
    if not reported and returncode in (0, None):
        return Report("not-reproducible", None, [], False)
    if not reported and returncode > 0:
        # An exit without a sanitizer report: the target gave up (exit())
        # or the harness could not run the input.
        return Report(f"exit-status-{returncode}", None, [], True)
    return Report(crash_kind(text), None, first_stack(text), True)


def slug(text: str) -> str:
    """Lower case; runs of anything but letters, digits, '.' and '_' → '-'."""
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-")


def _short_function(function: str) -> str:
    """`absl::Status wasmcache::reference::Deserialize<X64>` →
    `reference-deserialize`: no template arguments, no return type, no
    `wasmcache::`, at most the last three names."""
    text = function.replace("(anonymous namespace)", "anonymous")
    while True:
        reduced = re.sub(r"<[^<>]*>", "", text)
        if reduced == text:
            break
        text = reduced
    text = text.rsplit(" ", 1)[-1]
    parts = [p for p in text.split("::") if p]
    if len(parts) > 1 and parts[0] == "wasmcache":
        parts = parts[1:]
    return slug("-".join(parts[-3:])) or "unknown"


def directory_name(report: Report, limit: int = 120) -> str:
    if report.signature:
        name = slug(report.signature)[:limit] or "finding"
        return "finding-raw" if name == "raw" else name
    if not report.reproduced or report.kind == "replay-timeout":
        return report.kind
    frames = report.key_frames()
    parts = [report.kind] + [_short_function(f.function) for f in frames]
    if not frames:
        parts.append("no-stack")
    name = "--".join(parts)
    if len(name) > limit:
        digest = hashlib.sha1(repr(report.identity()).encode()).hexdigest()[:8]
        name = name[: limit - 9] + "-" + digest
    return name


# Replaying.

@dataclass
class Replay:
    path: Path
    size: int
    output: str
    returncode: int | None
    timed_out: bool
    report: Report = field(init=False)

    def __post_init__(self) -> None:
        self.report = parse_report(self.output, self.returncode, self.timed_out)


def replay(binary: Path, path: Path, timeout: float = REPLAY_TIMEOUT_SECONDS,
           symbolize: bool = True) -> Replay:
    """Runs one input (in a scratch directory, where libFuzzer may write
    files) and parses the report."""
    path = path.resolve()
    env = dict(os.environ)
    env.update(sanitizers.replay_environment(symbolize))
    with tempfile.TemporaryDirectory(prefix="wasmcache-replay-") as work:
        try:
            completed = subprocess.run(
                [str(binary), str(path)], env=env, cwd=work,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=timeout,
                start_new_session=True)
            output = completed.stdout.decode("utf-8", "replace")
            return Replay(path, path.stat().st_size, output,
                          completed.returncode, False)
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode("utf-8", "replace")
            return Replay(path, path.stat().st_size, output, None, True)


def replay_binary(layout: Layout, engine: str, target: str) -> Path | None:
    """The engine's own build (same flags as when the input was found),
    else the ASan replay build."""
    for preset in (layout.engine_preset(engine), "debug-asan-ubsan"):
        candidate = layout.binary(preset, target)
        if candidate.is_file():
            return candidate
    return None


# Minimizing one input.

def _minimize(engine: str, binary: Path, source: Path, destination: Path,
              seconds: float) -> bool:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="wasmcache-tmin-") as work:
        if engine == "afl":
            env.update(sanitizers.fuzzing_environment())
            env.update({"AFL_SKIP_CPUFREQ": "1", "AFL_NO_AFFINITY": "1",
                        "AFL_ALLOW_TMP": "1"})
            command = ["afl-tmin", "-i", str(source), "-o", str(destination),
                       "-m", "none", "-t", "5000", "--", str(binary)]
        else:
            env.update(sanitizers.libfuzzer_environment())
            env["TMPDIR"] = work
            command = [str(binary), "-minimize_crash=1",
                       f"-max_total_time={int(seconds)}",
                       f"-exact_artifact_path={destination}", str(source)]
        try:
            subprocess.run(command, env=env, cwd=work, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=seconds + 30, start_new_session=True)
        except subprocess.TimeoutExpired:
            pass
    return destination.is_file() and destination.stat().st_size > 0


# Grouping and writing.

@dataclass
class Group:
    name: str
    replays: list[Replay]
    testcase: Path | None = None
    minimized: bool = False
    note: str = ""

    @property
    def smallest(self) -> Replay:
        return min(self.replays, key=lambda r: (r.size, str(r.path)))

    @property
    def report(self) -> Report:
        return self.smallest.report


def group_replays(replays: list[Replay]) -> list[Group]:
    by_identity: dict[tuple, list[Replay]] = {}
    for r in replays:
        by_identity.setdefault(r.report.identity(), []).append(r)
    groups = [Group(directory_name(rs[0].report), rs)
              for rs in by_identity.values()]
    # Two identities with one directory name: both get a digest suffix.
    names: dict[str, int] = {}
    for g in groups:
        names[g.name] = names.get(g.name, 0) + 1
    for g in groups:
        if names[g.name] > 1:
            digest = hashlib.sha1(repr(g.report.identity()).encode()).hexdigest()[:8]
            g.name = f"{g.name}-{digest}"
    groups.sort(key=lambda g: (-len(g.replays), g.name))
    return groups


REPRODUCE_TEMPLATE = """#!/bin/sh
# Reproduces {name} ({target}): runs its testcase through the target with
# symbolized sanitizer reports.
#
#   reproduce.sh [BINARY]
#
# BINARY defaults to the campaign's build (build/{preset}/fuzz/{target}),
# else the ASan replay build (build/debug-asan-ubsan/fuzz/{target}), both
# under $WASMCACHE_ROOT (default {root}).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=${{WASMCACHE_ROOT:-{root}}}
binary=${{1:-}}
if [ -z "$binary" ]; then
  for candidate in "$root/build/{preset}/fuzz/{target}" \\
                   "$root/build/debug-asan-ubsan/fuzz/{target}"; do
    if [ -x "$candidate" ]; then binary=$candidate; break; fi
  done
fi
if [ -z "$binary" ]; then
  echo "reproduce.sh: {target} is not built (tools/wasmcache-fuzz build)" >&2
  exit 2
fi
{environment}
exec "$binary" "$here/testcase"
"""


def write_group(layout: Layout, engine: str, target: str, binary: Path,
                crashes_dir: Path, group: Group, minimize_seconds: float) -> None:
    folder = crashes_dir / group.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    smallest = group.smallest
    testcase = folder / "testcase"
    shutil.copyfile(smallest.path, testcase)
    log_text = smallest.output
    if minimize_seconds > 0 and smallest.report.reproduced and \
            group.report.kind not in ("replay-timeout",) and smallest.size > 1:
        candidate = folder / "testcase.min"
        if _minimize(engine, binary, smallest.path, candidate, minimize_seconds):
            again = replay(binary, candidate)
            if again.report.identity() == smallest.report.identity() and \
                    again.size < smallest.size:
                testcase.rename(folder / "original")
                candidate.rename(testcase)
                log_text = again.output
                group.minimized = True
                group.note = f"minimized from {smallest.size} to {again.size} bytes"
            else:
                candidate.unlink()
                if again.report.identity() != smallest.report.identity():
                    group.note = "minimizing changed the crash; kept the original"
    group.testcase = testcase
    (folder / "log.txt").write_text(
        f"$ {binary} {testcase}\n" + log_text, errors="replace")
    (folder / "inputs.txt").write_text("".join(
        f"{r.size}\t{r.path}\n" for r in sorted(group.replays,
                                                key=lambda r: (r.size, str(r.path)))))
    script = folder / "reproduce.sh"
    script.write_text(REPRODUCE_TEMPLATE.format(
        name=group.name, target=target, preset=layout.engine_preset(engine),
        root=layout.root, environment=sanitizers.replay_environment_shell()))
    script.chmod(0o755)


def write_summary(crashes_dir: Path, target: str, engine: str, binary: Path,
                  groups: list[Group], inputs: int, skipped: int,
                  hangs: list[Path]) -> Path:
    lines = [f"# Crashes: {target} under {engine}", ""]
    if not groups:
        lines.append("No crashing input was saved.")
    else:
        lines += [f"{inputs} crashing inputs, {len(groups)} distinct keys, "
                  f"replayed with `{binary}`.", ""]
        if skipped:
            lines += [f"{skipped} further inputs were not replayed "
                      "(--max-replays).", ""]
        lines += ["| key | kind | inputs | testcase | top frames |",
                  "|---|---|---|---|---|"]
        for g in groups:
            report = g.report
            frames = " ← ".join(f"`{f.function}`" for f in report.key_frames())
            size = g.testcase.stat().st_size if g.testcase else g.smallest.size
            lines.append(f"| [{g.name}]({g.name}/) | {report.kind} | "
                         f"{len(g.replays)} | {size} B | {frames} |")
        lines.append("")
        for g in groups:
            report = g.report
            lines += [f"## {g.name}", ""]
            if report.signature:
                lines.append(f"- finding: `wasmcache-finding: {report.signature}`")
            lines.append(f"- kind: {report.kind}")
            if report.top_location():
                lines.append(f"- at: `{report.top_location()}`")
            for f in report.key_frames():
                lines.append(f"  - `{f.function}` {f.location}")
            lines.append(f"- inputs: {len(g.replays)} (listed in "
                         f"[inputs.txt]({g.name}/inputs.txt))")
            if g.note:
                lines.append(f"- {g.note}")
            lines.append(f"- reproduce: `{crashes_dir / g.name / 'reproduce.sh'}`")
            lines.append("")
    if hangs:
        lines += ["## Hangs", "",
                  f"{len(hangs)} inputs exceeded the time limit (not replayed):",
                  ""]
        lines += [f"- `{h}`" for h in hangs[:50]]
        if len(hangs) > 50:
            lines.append(f"- ... and {len(hangs) - 50} more")
        lines.append("")
    path = crashes_dir / "SUMMARY.md"
    path.write_text("\n".join(lines))
    return path


def coarse_identity(r: Replay) -> tuple:
    """What an unsymbolized replay can tell: the finding, or the kind and
    the whole first stack as module offsets. Equal coarse identities mean
    equal keys; unequal ones may still share a key (other call paths)."""
    report = r.report
    if report.signature:
        return ("finding", report.signature)
    if not report.reproduced or report.kind == "replay-timeout":
        return (report.kind,)
    return (report.kind, tuple(f.location for f in report.frames))


def replay_all(binary: Path, inputs: list[Path], jobs: int) -> list[Replay]:
    """Replays every input without symbols (fast), then one input of each
    distinct unsymbolized crash with symbols (llvm-symbolizer costs about a
    second per run on a large binary); every input gets its group's
    symbolized report."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        quick = list(pool.map(lambda p: replay(binary, p, symbolize=False), inputs))
        coarse: dict[tuple, list[Replay]] = {}
        for r in quick:
            coarse.setdefault(coarse_identity(r), []).append(r)
        representatives = [min(rs, key=lambda r: (r.size, str(r.path)))
                           for rs in coarse.values()]
        symbolized = list(pool.map(lambda r: replay(binary, r.path), representatives))
    result: list[Replay] = []
    for members, full in zip(coarse.values(), symbolized):
        for r in members:
            if r.path == full.path:
                result.append(full)
            else:
                r.report = full.report
                result.append(r)
    return result


def triage(layout: Layout, engine: str, target: str, crashes_dir: Path,
           inputs: list[Path], hangs: list[Path], jobs: int = 2,
           minimize_seconds: float = 0, max_replays: int = 1000,
           binary: Path | None = None) -> list[Group]:
    """Replays `inputs`, groups them by key, writes crashes_dir/<key>/ and
    SUMMARY.md (replacing earlier results, keeping crashes_dir/raw)."""
    crashes_dir.mkdir(parents=True, exist_ok=True)
    for old in crashes_dir.iterdir():
        if old.is_dir() and old.name != "raw":
            shutil.rmtree(old)
    binary = binary or replay_binary(layout, engine, target)
    if binary is None:
        raise RuntimeError(f"no build of {target} to replay crashes with")
    ordered = sorted(inputs, key=lambda p: (p.stat().st_size, str(p)))
    chosen, skipped = ordered[:max_replays], max(0, len(ordered) - max_replays)
    groups = group_replays(replay_all(binary, chosen, jobs))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda g: write_group(layout, engine, target, binary,
                                            crashes_dir, g, minimize_seconds),
                      groups))
    write_summary(crashes_dir, target, engine, binary, groups, len(inputs),
                  skipped, hangs)
    return groups
