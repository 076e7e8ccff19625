"""libFuzzer campaigns: the command line (-fork=N, or in-process), the
target's options, and progress read from the output.

Fork mode runs N jobs at a time, each a child process fuzzing a random
subset of the corpus for a while (job K for min(K, 300) seconds), and merges
each finished job's new inputs into the corpus (the first corpus directory,
DIR/corpus). With -ignore_crashes, -ignore_timeouts and -ignore_ooms a
crash ends only its job: the campaign goes on, every crashing input saved
under -artifact_prefix (DIR/crashes/raw/).

Progress. The parent prints one line per finished job:

    #5175742: cov: 30 ft: 91 corp: 55 exec/s 155830 oom/timeout/crash: 0/0/0 time: 15s job: 6 dft_time: 0

Jobs get longer as the campaign goes on, so between those lines the running
jobs' own logs are read too (TMPDIR is DIR/tmp, so they are in
DIR/tmp/libFuzzerTemp.FuzzWithFork<pid>.dir/<job>.log, removed when the job
is merged): their latest "#<execs> ... cov: ..." lines add the executions
not yet merged.

In-process mode (--libfuzzer-mode inprocess, one core): no fork, no job
restarts, so short runs are not dominated by job start-up (`smoke` uses it);
libFuzzer stops at the first crash and the campaign starts it again on the
grown corpus until the time is up. Progress comes from its own lines
("#<execs> NEW|REDUCE|pulse cov: .. ft: .. corp: ..") and, at the end of
each process, "stat::number_of_executed_units". Its cov: counts covered PCs
in that process; the fork parent's cov: counts them as merged from all
jobs, a larger figure: compare coverage within one mode only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .progress import Sample

# Flags the campaign sets itself; an options file cannot override them.
CONTROLLED_FLAGS = {
    "fork", "jobs", "workers", "max_total_time", "artifact_prefix",
    "exact_artifact_path", "runs", "merge", "ignore_crashes",
    "ignore_timeouts", "ignore_ooms", "minimize_crash", "close_fd_mask",
    "print_final_stats", "merge_control_file", "set_cover_merge",
}

PARENT_LINE = re.compile(
    r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+) "
    r"oom/timeout/crash: (\d+)/(\d+)/(\d+) time: (\d+)s(?: job: (\d+))?")
JOB_LINE = re.compile(r"^#(\d+)\s+(?:\w+\s+)?cov: (\d+) ft: (\d+)(?: corp: (\d+))?")
FINAL_EXECS = re.compile(r"^stat::number_of_executed_units: (\d+)")
DONE_LINE = re.compile(r"^Done (\d+) runs in")


def option_flags(options: dict[str, str], fuzz_dir: Path) -> list[str]:
    """The options file's [libfuzzer] entries as -key=value flags, minus
    those the campaign controls; a relative dict= is relative to fuzz/."""
    flags = []
    for key, value in options.items():
        if key in CONTROLLED_FLAGS:
            continue
        if key == "dict" and value and not Path(value).is_absolute():
            value = str(fuzz_dir / value)
        flags.append(f"-{key}={value}")
    return flags


def fuzz_command(binary: Path, cores: int, seconds: float, corpus: Path,
                 seeds: list[Path], artifacts: Path, dictionary: Path | None,
                 options: dict[str, str], fuzz_dir: Path,
                 fork: bool = True) -> list[str]:
    args = [str(binary)]
    if fork:
        args += [f"-fork={cores}", "-ignore_crashes=1", "-ignore_timeouts=1",
                 "-ignore_ooms=1"]
    args += [f"-max_total_time={int(seconds)}",
             f"-artifact_prefix={artifacts}/", "-print_final_stats=1"]
    if dictionary is not None and "dict" not in options:
        args.append(f"-dict={dictionary}")
    args += option_flags(options, fuzz_dir)
    args.append(str(corpus))
    args += [str(s) for s in seeds]
    return args


def merge_command(binary: Path, output: Path, inputs: list[Path],
                  artifacts: Path, options: dict[str, str],
                  fuzz_dir: Path) -> list[str]:
    args = [str(binary), "-merge=1", f"-artifact_prefix={artifacts}/"]
    args += [f for f in option_flags(options, fuzz_dir)
             if not f.startswith("-dict=")]
    args.append(str(output))
    args += [str(i) for i in inputs]
    return args


@dataclass
class ParentState:
    execs: int = 0
    cov: int = 0
    ft: int = 0
    corpus: int = 0
    ooms: int = 0
    timeouts: int = 0
    crashes: int = 0
    seconds: int = 0
    lines: int = 0


class OutputReader:
    """Reads the parent's log incrementally (it is appended to while the
    campaign runs) and keeps the latest status line's figures."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.offset = 0
        self.partial = ""
        self.state = ParentState()
        self.error_lines: list[str] = []
        # In-process mode: executions of finished processes, and the
        # running one's latest figures.
        self.finished_execs = 0
        self.process_execs = 0
        self.process_cov = self.process_ft = self.process_corpus = 0
        # Fork mode: jobs whose executions the parent has counted.
        self.merged_jobs: set[int] = set()

    def poll(self) -> None:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return
        self.offset += len(chunk)
        text = self.partial + chunk.decode("utf-8", "replace")
        lines = text.split("\n")
        self.partial = lines.pop()
        for line in lines:
            self.feed(line)

    def feed(self, line: str) -> None:
        match = PARENT_LINE.match(line)
        if match:
            (execs, cov, ft, corp, _rate, ooms, timeouts, crashes,
             seconds) = (int(g) for g in match.groups()[:9])
            if match.group(10):
                self.merged_jobs.add(int(match.group(10)))
            self.state = ParentState(execs, cov, ft, corp, ooms, timeouts,
                                     crashes, seconds, self.state.lines + 1)
            return
        match = JOB_LINE.match(line)
        if match:
            self.process_execs = int(match.group(1))
            self.process_cov = max(self.process_cov, int(match.group(2)))
            self.process_ft = max(self.process_ft, int(match.group(3)))
            if match.group(4):
                self.process_corpus = int(match.group(4))
            return
        match = FINAL_EXECS.match(line) or DONE_LINE.match(line)
        if match:
            self.process_execs = max(self.process_execs, int(match.group(1)))
            return
        if line.startswith("INFO: Seed: "):  # Another process begins.
            self.finished_execs += self.process_execs
            self.process_execs = 0
        elif "ERROR:" in line or "runtime error:" in line:
            self.error_lines.append(line.strip())
            del self.error_lines[:-50]


def running_job_execs(tmp_dir: Path,
                      merged: set[int] = frozenset()) -> tuple[int, int, int]:
    """Executions, largest cov: and ft: of the jobs running now (their
    logs' latest status lines), leaving out jobs already merged."""
    execs = cov = ft = 0
    for log in tmp_dir.glob("libFuzzerTemp.FuzzWithFork*.dir/*.log"):
        if log.stem.isdigit() and int(log.stem) in merged:
            continue
        try:
            with open(log, "rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(max(0, size - 4096))
                tail = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        for line in reversed(tail.splitlines()):
            match = JOB_LINE.match(line)
            if match:
                execs += int(match.group(1))
                cov = max(cov, int(match.group(2)))
                ft = max(ft, int(match.group(3)))
                break
    return execs, cov, ft


# Artifacts libFuzzer writes, by kind.
CRASH_PREFIXES = ("crash-", "leak-", "deadly-")
HANG_PREFIXES = ("timeout-", "oom-", "slow-unit-")


def artifacts(folder: Path, prefixes: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.name.startswith(prefixes))


def sample(reader: OutputReader, tmp_dir: Path, artifacts_dir: Path,
           corpus_dir: Path, elapsed: float, alive: int) -> Sample:
    state = reader.state
    job_execs, job_cov, job_ft = running_job_execs(tmp_dir, reader.merged_jobs)
    # The saved artifacts, not the parent's counters: those also count jobs
    # that were stopped.
    crashes = len(artifacts(artifacts_dir, CRASH_PREFIXES))
    hangs = len(artifacts(artifacts_dir, HANG_PREFIXES))
    corpus = state.corpus or reader.process_corpus
    if corpus == 0 and corpus_dir.is_dir():
        corpus = sum(1 for p in corpus_dir.iterdir() if p.is_file())
    execs = (state.execs + job_execs + reader.finished_execs
             + reader.process_execs)
    return Sample(elapsed=elapsed, execs=execs,
                  edges=max(state.cov, job_cov, reader.process_cov),
                  features=max(state.ft, job_ft, reader.process_ft),
                  corpus=corpus, crashes=crashes, hangs=hangs, alive=alive,
                  instances=1)
