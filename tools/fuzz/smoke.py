"""`smoke`: what CI runs. Every target under every engine for a short time
on one core each, `parallel` runs at a time, each a `run --no-finish` in
OUT/<target>-<engine>/ with its output in OUT/<target>-<engine>.log
(libFuzzer in-process, AFL++ as one instance).

It fails (exit status 1) when a binary is missing, a run did not start or
executed no input, or any run saved a crashing input; the crashes of a
failing run are triaged (keys in OUT/<target>-<engine>/crashes/SUMMARY.md).
At the end it prints target × engine → execs, exec/s, edges, crashes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import processes
from .campaign import read_json
from .layout import Layout

SCRIPT = Path(__file__).resolve().parents[1] / "wasmcache-fuzz"


@dataclass
class SmokeRun:
    target: str
    engine: str
    out: Path
    log: Path
    popen: subprocess.Popen | None = None
    figures: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.target}-{self.engine}"


def _start(run: SmokeRun, seconds: int, root: Path) -> None:
    command = [sys.executable, str(SCRIPT), "run", "--target", run.target,
               "--engine", run.engine, "--cores", "1", "--time", str(seconds),
               "--out", str(run.out), "--no-finish", "--log-interval", "15"]
    if run.engine == "libfuzzer":
        # One core, a short run: no fork-mode job start-ups.
        command += ["--libfuzzer-mode", "inprocess"]
    env = dict(os.environ)
    env["WASMCACHE_ROOT"] = str(root)
    with open(run.log, "w") as log:
        run.popen = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)


def _collect(run: SmokeRun, root: Path) -> None:
    summary = read_json(run.out / "summary.json").get("run", {})
    run.figures = summary
    if not summary:
        run.problems.append(f"no summary written (see {run.log})")
        return
    for failure in summary.get("failures", []):
        run.problems.append(failure.splitlines()[0])
    if summary.get("crashes", 0) > 0:
        run.problems.append(f"{summary['crashes']} crashing inputs")
        env = dict(os.environ)
        env["WASMCACHE_ROOT"] = str(root)
        with open(run.log, "a") as log:
            subprocess.call([sys.executable, str(SCRIPT), "finish", "--out",
                             str(run.out), "--only", "crashes",
                             "--minimize-seconds", "0"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
        crashes = read_json(run.out / "summary.json").get("finish", {}).get("crashes", {})
        run.keys = [k["key"] for k in crashes.get("keys", [])]


def table(runs: list[SmokeRun]) -> str:
    header = f"{'target':<24} {'engine':<10} {'execs':>13} {'exec/s':>10} {'edges':>8} {'crashes':>8}  status"
    lines = [header, "-" * len(header)]
    for r in runs:
        f = r.figures
        status = "ok" if not r.problems else "FAIL: " + "; ".join(r.problems)
        lines.append(f"{r.target:<24} {r.engine:<10} {f.get('execs', 0):>13,} "
                     f"{f.get('execs_per_sec', 0):>10,.0f} {f.get('edges', 0):>8,} "
                     f"{f.get('crashes', 0):>8}  {status}")
        for key in r.keys:
            lines.append(f"{'':<24} {'':<10} key: {key}")
    return "\n".join(lines)


def smoke(layout: Layout, seconds: int, engines: list[str], targets: list[str],
          parallel: int, out_root: Path) -> int:
    out_root.mkdir(parents=True, exist_ok=True)
    runs: list[SmokeRun] = []
    for target in targets:
        for engine in engines:
            out = out_root / f"{target}-{engine}"
            run = SmokeRun(target, engine, out, out_root / f"{target}-{engine}.log")
            binary = layout.binary(layout.engine_preset(engine), target)
            if not binary.is_file():
                run.problems.append(f"not built ({binary})")
            runs.append(run)
    pending = [r for r in runs if not r.problems]
    active: list[SmokeRun] = []
    total = len(pending)
    print(f"smoke: {total} runs of {seconds} s, {parallel} at a time, "
          f"in {out_root}", flush=True)
    with processes.StopRequest() as stop:
        while (pending or active) and not stop.requested:
            while pending and len(active) < parallel:
                run = pending.pop(0)
                if run.out.exists():
                    shutil.rmtree(run.out)
                _start(run, seconds, layout.root)
                active.append(run)
                print(f"  started {run.label}", flush=True)
            time.sleep(1.0)
            for run in [r for r in active if r.popen.poll() is not None]:
                active.remove(run)
                _collect(run, layout.root)
                f = run.figures
                print(f"  finished {run.label}: {f.get('execs', 0):,} execs, "
                      f"{f.get('execs_per_sec', 0):,.0f}/s, edges {f.get('edges', 0):,}, "
                      f"crashes {f.get('crashes', 0)}"
                      + ("" if not run.problems else "  FAIL"), flush=True)
        if stop.requested:
            for run in active:
                run.popen.send_signal(signal.SIGINT)
            for run in active:
                run.popen.wait()
                _collect(run, layout.root)
            for run in pending:
                run.problems.append("not run (interrupted)")
    print("", flush=True)
    print(table(runs), flush=True)
    failed = [r for r in runs if r.problems]
    if failed:
        print(f"\nsmoke: {len(failed)} of {len(runs)} runs failed; logs in "
              f"{out_root}", flush=True)
        return 1
    print(f"\nsmoke: all {len(runs)} runs executed inputs and found no crash",
          flush=True)
    return 0
