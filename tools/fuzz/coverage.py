"""Source coverage of a corpus: the coverage build of the target
(build/coverage/fuzz/<target>, the replay engine compiled with
-fprofile-instr-generate -fcoverage-mapping) runs every input, then
llvm-profdata merges the profiles and llvm-cov writes

    DIR/coverage/index.html    line, region and branch coverage, per file,
                               of reference/, fast/ and spec/ only
    DIR/coverage/report.txt    `llvm-cov report` (per file and total)
    DIR/coverage/summary.txt   the same per top-level directory
    DIR/coverage/summary.json  ditto, as numbers

Inputs run in batches; a batch that crashes (no profile is written when the
process aborts) is run again one input at a time, skipping the crashers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import layout as layout_module
from .layout import Layout

BATCH = 200
INPUT_TIMEOUT_SECONDS = 60


@dataclass
class DirectoryCoverage:
    directory: str
    lines: tuple[int, int]      # covered, total
    regions: tuple[int, int]
    branches: tuple[int, int]
    functions: tuple[int, int]

    @staticmethod
    def percent(pair: tuple[int, int]) -> str:
        covered, total = pair
        return f"{100.0 * covered / total:6.2f}%" if total else "     -"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib").glob(f"llvm-*/bin/{name}")):
        return str(candidate)
    raise RuntimeError(f"{name} not found")


def _run_batch(binary: Path, files: list[Path], profile_pattern: str) -> bool:
    env = dict(os.environ)
    env["LLVM_PROFILE_FILE"] = profile_pattern
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    try:
        completed = subprocess.run(
            [str(binary), *map(str, files)], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=INPUT_TIMEOUT_SECONDS * max(1, len(files) // 10 + 1))
        return completed.returncode == 0
    except subprocess.TimeoutExpired:
        return False


def collect_profiles(binary: Path, files: list[Path], data_dir: Path) -> int:
    """Runs every file; returns how many crashed or timed out (skipped)."""
    pattern = str(data_dir / "run-%p-%m.profraw")
    failed = 0
    for start in range(0, len(files), BATCH):
        batch = files[start:start + BATCH]
        if _run_batch(binary, batch, pattern):
            continue
        for path in batch:
            if not _run_batch(binary, [path], pattern):
                failed += 1
    return failed


def _directory_of(filename: str, sources: list[Path]) -> str:
    path = Path(filename).resolve()
    for source in sources:
        try:
            path.relative_to(source)
            return source.name + "/"
        except ValueError:
            continue
    return "(other)"


def by_directory(export: dict, sources: list[Path]) -> list[DirectoryCoverage]:
    """Sums llvm-cov's per-file summaries per source directory."""
    sources = [s.resolve() for s in sources]
    totals: dict[str, dict[str, list[int]]] = {}
    for data in export.get("data", []):
        for entry in data.get("files", []):
            directory = _directory_of(entry.get("filename", ""), sources)
            summary = entry.get("summary", {})
            bucket = totals.setdefault(directory, {})
            for kind in ("lines", "regions", "branches", "functions"):
                counts = summary.get(kind, {})
                pair = bucket.setdefault(kind, [0, 0])
                pair[0] += int(counts.get("covered", 0))
                pair[1] += int(counts.get("count", 0))
    result = []
    for directory in sorted(totals):
        t = totals[directory]
        result.append(DirectoryCoverage(
            directory, tuple(t.get("lines", [0, 0])),
            tuple(t.get("regions", [0, 0])), tuple(t.get("branches", [0, 0])),
            tuple(t.get("functions", [0, 0]))))
    if len(result) > 1:
        def total(kind: str) -> tuple[int, int]:
            return (sum(getattr(r, kind)[0] for r in result),
                    sum(getattr(r, kind)[1] for r in result))
        result.append(DirectoryCoverage("total", total("lines"),
                                        total("regions"), total("branches"),
                                        total("functions")))
    return result


def format_table(rows: list[DirectoryCoverage]) -> str:
    header = (f"{'directory':<14} {'lines':>22} {'regions':>22} "
              f"{'branches':>22} {'functions':>18}")
    lines = [header, "-" * len(header)]
    for r in rows:
        def cell(pair: tuple[int, int], width: int) -> str:
            text = f"{DirectoryCoverage.percent(pair)} {pair[0]:,}/{pair[1]:,}"
            return f"{text:>{width}}"
        lines.append(f"{r.directory:<14} {cell(r.lines, 22)} "
                     f"{cell(r.regions, 22)} {cell(r.branches, 22)} "
                     f"{cell(r.functions, 18)}")
    return "\n".join(lines)


def report(layout: Layout, target: str, corpus: list[Path], out_dir: Path,
           title: str) -> tuple[list[DirectoryCoverage], int]:
    """Writes the coverage report of `corpus` into out_dir; returns the
    per-directory figures and how many inputs were skipped."""
    binary = layout.binary(layout_module.PRESET_COVERAGE, target)
    if not binary.is_file():
        raise RuntimeError(f"{binary} is not built: "
                           "tools/wasmcache-fuzz build --engine coverage")
    files = layout_module.input_files(corpus)
    if not files:
        raise RuntimeError("no inputs to measure coverage with")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True)
    skipped = collect_profiles(binary, files, data_dir)
    raw = sorted(data_dir.glob("*.profraw"))
    if not raw:
        raise RuntimeError("no profile was written (every input crashed?)")
    profile = data_dir / "merged.profdata"
    subprocess.run([_tool("llvm-profdata"), "merge", "-sparse",
                    *map(str, raw), "-o", str(profile)], check=True)
    for path in raw:
        path.unlink()
    sources = [str(p.resolve()) for p in layout.coverage_sources()]
    llvm_cov = _tool("llvm-cov")
    common = [str(binary), f"-instr-profile={profile}"]
    subprocess.run([llvm_cov, "show", *common, "-format=html",
                    f"-output-dir={out_dir}", "-show-branches=count",
                    "-show-line-counts-or-regions", "-show-expansions",
                    f"-project-title={title}", *sources],
                   check=True, stdout=subprocess.DEVNULL)
    text = subprocess.run([llvm_cov, "report", *common, "-show-branch-summary",
                           "-show-region-summary", *sources], check=True,
                          capture_output=True, text=True).stdout
    (out_dir / "report.txt").write_text(text)
    export = subprocess.run([llvm_cov, "export", *common, "-summary-only",
                             *sources], check=True, capture_output=True,
                            text=True).stdout
    rows = by_directory(json.loads(export), layout.coverage_sources())
    (out_dir / "summary.txt").write_text(
        f"{title}: {len(files)} inputs ({skipped} skipped: they crash)\n\n"
        + format_table(rows) + "\n")
    (out_dir / "summary.json").write_text(json.dumps(
        [{"directory": r.directory, "lines": r.lines, "regions": r.regions,
          "branches": r.branches, "functions": r.functions} for r in rows],
        indent=2) + "\n")
    return rows, skipped
