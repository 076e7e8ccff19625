"""Live progress: one sample type for both engines, the status line shown
while a campaign runs, and the time series in DIR/progress.csv.

A sample adds up all of a campaign's instances: executions and exec/s are
sums; edges and corpus size are the largest instance's (instances share
their finds, so they converge, and AFL++ keeps no union of their maps);
crashes and hangs are sums of the inputs saved, before de-duplication.

Coverage is "edges" in both engines' own terms: AFL++'s edges_found (map
entries hit), libFuzzer's cov: (covered PCs of -fsanitize-coverage). They are
not comparable with each other; each is comparable over time.
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TextIO


@dataclass
class Sample:
    elapsed: float = 0.0          # seconds since the campaign started
    execs: int = 0                # executions, all instances
    execs_per_sec: float = 0.0    # current rate, all instances
    edges: int = 0                # AFL++ edges_found / libFuzzer cov:
    total_edges: int = 0          # AFL++ map size (0 if unknown)
    features: int = 0             # libFuzzer ft: (0 for AFL++)
    corpus: int = 0               # inputs in the corpus (largest instance)
    crashes: int = 0              # crashing inputs saved
    hangs: int = 0                # AFL++ hangs / libFuzzer timeouts + OOMs
    alive: int = 0                # engine processes running
    instances: int = 0            # engine processes started

    def coverage_text(self) -> str:
        text = f"edges {self.edges:,}"
        if self.total_edges:
            text += f" ({100.0 * self.edges / self.total_edges:.2f}%)"
        if self.features:
            text += f" ft {self.features:,}"
        return text


CSV_FIELDS = [f.name for f in fields(Sample)]


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def status_text(sample: Sample, limit_seconds: float) -> str:
    limit = f"/{format_duration(limit_seconds)}" if limit_seconds else ""
    return (f"[{format_duration(sample.elapsed)}{limit}] "
            f"{sample.execs:,} execs ({sample.execs_per_sec:,.0f}/s)  "
            f"{sample.coverage_text()}  corpus {sample.corpus:,}  "
            f"crashes {sample.crashes}  hangs {sample.hangs}  "
            f"{sample.alive}/{sample.instances} running")


class StatusLine:
    """On a terminal, one line rewritten in place every `tty_interval`
    seconds; otherwise (CI, logs) a new line every `log_interval` seconds."""

    def __init__(self, limit_seconds: float, stream: TextIO = sys.stdout,
                 tty_interval: float = 1.0, log_interval: float = 30.0,
                 prefix: str = "") -> None:
        self.limit_seconds = limit_seconds
        self.stream = stream
        self.tty = stream.isatty()
        self.interval = tty_interval if self.tty else log_interval
        self.prefix = prefix
        self._last = 0.0
        self._width = 0

    def show(self, sample: Sample, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        text = self.prefix + status_text(sample, self.limit_seconds)
        if self.tty:
            padding = " " * max(0, self._width - len(text))
            self.stream.write("\r" + text + padding)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


class ProgressLog:
    """Appends samples to DIR/progress.csv (one header, one row per sample;
    a resumed campaign continues the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists() or path.stat().st_size == 0
        self._file = open(path, "a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=CSV_FIELDS)
        if new:
            self._writer.writeheader()

    def append(self, sample: Sample) -> None:
        row = asdict(sample)
        row["elapsed"] = round(sample.elapsed, 1)
        row["execs_per_sec"] = round(sample.execs_per_sec, 1)
        self._writer.writerow(row)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_progress(path: Path) -> list[Sample]:
    if not path.is_file():
        return []
    samples = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                samples.append(Sample(
                    **{f.name: (float(row[f.name]) if f.type in ("float", float)
                                else int(float(row[f.name])))
                       for f in fields(Sample) if row.get(f.name) not in (None, "")}))
            except (TypeError, ValueError):
                continue
    return samples


class RateMeter:
    """exec/s over the last `window` seconds, from a monotonic exec count."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self._points: list[tuple[float, int]] = []

    def update(self, elapsed: float, execs: int) -> float:
        self._points.append((elapsed, execs))
        while len(self._points) > 2 and elapsed - self._points[0][0] > self.window:
            self._points.pop(0)
        first_time, first_execs = self._points[0]
        if elapsed - first_time <= 0:
            return 0.0
        return max(0.0, (execs - first_execs) / (elapsed - first_time))
