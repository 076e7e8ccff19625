"""The steps after a campaign (`run` does them when it stops; `finish --out
DIR` does them again): minimize the corpus, triage the crashes, measure
source coverage, draw the plots, print the summary. Each step is
independent: one failing is reported and the others still run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import afl, coverage, libfuzzer, minimize, plots, triage
from .campaign import read_json
from .layout import Layout
from .progress import format_duration, read_progress

STEPS = ("corpus", "crashes", "coverage", "plots")


@dataclass
class FinishOptions:
    skip: set[str] = field(default_factory=set)
    minimize_seconds: float = 20.0     # per distinct crash; 0: keep as found
    jobs: int = 2
    max_replays: int = 1000


def crash_inputs(engine: str, out: Path, sync_dir: Path) -> tuple[list[Path], list[Path]]:
    """(crashing inputs, hangs) the campaign saved."""
    if engine == "afl":
        return afl.crash_files(sync_dir), afl.hang_files(sync_dir)
    raw = out / "crashes" / "raw"
    return (libfuzzer.artifacts(raw, libfuzzer.CRASH_PREFIXES),
            libfuzzer.artifacts(raw, libfuzzer.HANG_PREFIXES))


def coverage_corpus(layout: Layout, engine: str, target: str, out: Path,
                    sync_dir: Path) -> list[Path]:
    minimized = out / "corpus-min"
    if minimized.is_dir() and any(minimized.iterdir()):
        return [minimized]
    if engine == "afl":
        return [d / "queue" for d in afl.instance_dirs(sync_dir)]
    return [p for p in (out / "corpus", layout.seeds(target)) if p.is_dir()]


def run_figures(engine: str, out: Path, sync_dir: Path) -> dict:
    """The run's figures from summary.json, else from what is on disk."""
    run = read_json(out / "summary.json").get("run")
    if run:
        return run
    samples = read_progress(out / "progress.csv")
    if engine == "afl":
        sample = afl.files_sample(sync_dir, samples[-1].elapsed if samples else 0, 0, 0)
    else:
        sample = samples[-1] if samples else None
    if sample is None:
        return {}
    figures = asdict(sample)
    figures["execs_per_sec"] = (sample.execs / sample.elapsed
                                if sample.elapsed else 0.0)
    return figures


def finish(layout: Layout, out: Path, options: FinishOptions,
           stream=sys.stdout) -> dict:
    metadata = read_json(out / "campaign.json")
    if not metadata:
        raise RuntimeError(f"{out} has no campaign.json: not a campaign directory")
    target, engine = metadata["target"], metadata["engine"]
    sync_dir = Path(metadata.get("sync_dir") or out / "sync")
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict = {}

    def step(name: str, action) -> None:
        if name in options.skip:
            return
        print(f"{name} ...", file=stream, flush=True)
        try:
            results[name] = action()
        except Exception as error:  # Report, and go on with the next step.
            results[name] = {"error": str(error)}
            print(f"  {name} failed: {error}", file=stream, flush=True)

    def corpus_step() -> dict:
        log = logs / "corpus-min.log"
        if engine == "afl":
            before, after = minimize.minimize_afl(layout, target, out, sync_dir, log)
        else:
            before, after = minimize.minimize_libfuzzer(layout, target, out, log)
        return {"inputs": before, "minimized": after,
                "dir": str(out / "corpus-min")}

    def crashes_step() -> dict:
        inputs, hangs = crash_inputs(engine, out, sync_dir)
        groups = triage.triage(layout, engine, target, out / "crashes", inputs,
                               hangs, jobs=options.jobs,
                               minimize_seconds=options.minimize_seconds,
                               max_replays=options.max_replays)
        return {"inputs": len(inputs), "hangs": len(hangs),
                "summary": str(out / "crashes" / "SUMMARY.md"),
                "keys": [{"key": g.name, "kind": g.report.kind,
                          "inputs": len(g.replays),
                          "testcase_bytes": g.testcase.stat().st_size
                          if g.testcase else g.smallest.size,
                          "frames": [f.function for f in g.report.key_frames()]}
                         for g in groups]}

    def coverage_step() -> dict:
        corpus = coverage_corpus(layout, engine, target, out, sync_dir)
        rows, skipped = coverage.report(layout, target, corpus,
                                        out / "coverage",
                                        f"{target} ({engine} campaign)")
        return {"html": str(out / "coverage" / "index.html"),
                "skipped_inputs": skipped,
                "directories": [asdict(r) for r in rows]}

    def plots_step() -> dict:
        plots_dir = out / "plots"
        written = {}
        main = metadata.get("main_instance")
        if engine == "afl":
            candidates = ([sync_dir / main] if main else []) + \
                afl.instance_dirs(sync_dir)
            for instance_dir in candidates:
                if plots.afl_plot(instance_dir, plots_dir, logs / "afl-plot.log"):
                    written["afl_plot"] = str(instance_dir)
                    break
        written["campaign"] = plots.campaign_plots(
            out / "progress.csv", plots_dir, f"{target} ({engine})")
        written["index"] = str(plots_dir / "index.html")
        return written

    step("corpus", corpus_step)
    step("crashes", crashes_step)
    step("coverage", coverage_step)
    step("plots", plots_step)

    summary = read_json(out / "summary.json")
    summary["run"] = summary.get("run") or run_figures(engine, out, sync_dir)
    summary["finish"] = results
    (out / "summary.json").write_text(json.dumps(summary, indent=2,
                                                 sort_keys=True) + "\n")
    print_summary(metadata, summary, out, stream)
    return summary


def print_summary(metadata: dict, summary: dict, out: Path, stream) -> None:
    run = summary.get("run", {})
    results = summary.get("finish", {})
    target, engine = metadata.get("target"), metadata.get("engine")
    elapsed = run.get("elapsed", 0) or 0
    print("", file=stream)
    print(f"== {target} under {engine}: {metadata.get('cores')} core(s), "
          f"{format_duration(elapsed)} ({run.get('stopped_by', '?')})", file=stream)
    print(f"executions  {run.get('execs', 0):,} "
          f"({run.get('execs_per_sec', 0):,.0f}/s average)", file=stream)
    edges = f"edges {run.get('edges', 0):,}"
    if run.get("total_edges"):
        edges += (f" of {run['total_edges']:,} "
                  f"({100.0 * run['edges'] / run['total_edges']:.2f}% of the map)")
    if run.get("features"):
        edges += f", features {run['features']:,}"
    print(f"coverage    {edges}", file=stream)
    corpus = results.get("corpus", {})
    line = f"corpus      {run.get('corpus', 0):,} inputs"
    if "minimized" in corpus:
        line += f", minimized to {corpus['minimized']:,} ({corpus['dir']})"
    elif "error" in corpus:
        line += f" (minimization failed: {corpus['error']})"
    print(line, file=stream)
    crashes = results.get("crashes", {})
    if "keys" in crashes:
        print(f"crashes     {crashes['inputs']} inputs, {len(crashes['keys'])} "
              f"distinct ({crashes['summary']})", file=stream)
        for key in crashes["keys"]:
            print(f"              {key['key']}: {key['inputs']} inputs, "
                  f"testcase {key['testcase_bytes']} B", file=stream)
        print(f"hangs       {crashes['hangs']}", file=stream)
    else:
        print(f"crashes     {run.get('crashes', 0)} inputs"
              + (f" (triage failed: {crashes['error']})" if "error" in crashes
                 else ""), file=stream)
    cov = results.get("coverage", {})
    if "directories" in cov:
        print(f"source coverage ({cov['html']}):", file=stream)
        rows = [coverage.DirectoryCoverage(**{**r, **{k: tuple(r[k]) for k in
                ("lines", "regions", "branches", "functions")}})
                for r in cov["directories"]]
        for line in coverage.format_table(rows).splitlines():
            print(f"  {line}", file=stream)
    elif "error" in cov:
        print(f"source coverage failed: {cov['error']}", file=stream)
    plot = results.get("plots", {})
    if "index" in plot:
        print(f"plots       {plot['index']}", file=stream)
    for failure in run.get("failures", []):
        print(f"FAILED: {failure}", file=stream)
