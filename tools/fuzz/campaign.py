"""`run`: starts a campaign's engine processes, shows live progress, stops
them at the time limit or on SIGINT/SIGTERM, and records what happened.

A campaign directory can be run again: AFL++ instances resume their folders
(AFL_AUTORESUME), libFuzzer goes on from DIR/corpus. Each run rewrites
campaign.json and summary.json; the previous progress.csv is kept as
progress.<time>.csv.

A run fails (exit status 1) when an engine did not start or executed no
input; crashes alone do not fail a run (`smoke` decides that).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import afl, layout as layout_module, libfuzzer, processes, sanitizers
from .layout import Layout
from .progress import ProgressLog, RateMeter, Sample, StatusLine

# After the time limit, how long the engines get to stop by themselves
# (afl-fuzz -V, libFuzzer -max_total_time) before they are stopped.
STOP_GRACE_SECONDS = 30


@dataclass
class RunOptions:
    target: str
    engine: str
    cores: int
    seconds: float                 # 0: until stopped
    out: Path
    sync_dir: Path | None = None
    cmplog: bool | None = None     # None: when the CMPLOG build exists
    mutator: bool = True
    secondaries_only: bool = False
    name_prefix: str | None = None
    bind_cpus: bool = False
    libfuzzer_mode: str = "fork"   # or "inprocess" (one core)
    log_interval: float = 30.0


@dataclass
class RunResult:
    target: str
    engine: str
    cores: int
    seconds: float
    elapsed: float = 0.0
    execs: int = 0
    execs_per_sec: float = 0.0     # average over the run
    edges: int = 0
    total_edges: int = 0
    features: int = 0
    corpus: int = 0
    crashes: int = 0
    hangs: int = 0
    stopped_by: str = ""           # "time", a signal name, or "exit"
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def assemble_afl_seeds(layout: Layout, target: str, out: Path) -> Path:
    """afl-fuzz takes one input folder: the seeds and the regression inputs,
    linked into DIR/seeds (a single zero byte when there are none)."""
    folder = out / "seeds"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sources = [layout.seeds(target), layout.regressions(target)]
    for source in sources:
        for path in layout_module.input_files([source]):
            if path.stat().st_size == 0:
                continue
            name = f"{source.name}-{path.relative_to(source)}".replace("/", "_")
            if source == layout.regressions(target):
                name = "regression-" + name
            _link_or_copy(path, folder / name)
    if not any(folder.iterdir()):
        afl.write_seed_placeholder(folder)
    return folder


class AflRun:
    def __init__(self, layout: Layout, options: RunOptions, metadata: dict):
        self.layout = layout
        self.options = options
        self.sync_dir = options.sync_dir or options.out / "sync"
        self.listener = afl.StatsdListener()
        self.instances: list[afl.Instance] = []
        self.names: set[str] = set()
        self.processes: list[processes.EngineProcess] = []
        self.metadata = metadata
        self.baseline_execs = 0

    def start(self) -> list[str]:
        """Starts the instances; returns notes for the user."""
        layout, options = self.layout, self.options
        notes: list[str] = []
        binary = layout.binary(layout_module.PRESET_AFL, options.target)
        cmplog_binary = layout.binary(layout_module.PRESET_AFL_CMPLOG,
                                      options.target)
        if options.cmplog is False or not cmplog_binary.is_file():
            cmplog_binary_used = None
        elif options.cmplog is None and options.cores < 2:
            cmplog_binary_used = None  # one core: plain instance is faster
        else:
            cmplog_binary_used = cmplog_binary
        mutator = None
        if options.mutator and options.target in layout_module.MUTATOR_TARGETS:
            if layout.mutator_library().is_file():
                mutator = layout.mutator_library()
            else:
                notes.append(f"custom mutator not built ({layout.mutator_library()}):"
                             " AFL++'s own mutations only")
        single = options.cores == 1 and options.sync_dir is None
        self.instances = afl.plan_instances(
            options.cores, afl.instance_prefix(options.name_prefix),
            cmplog_binary_used, options.secondaries_only, single)
        self.names = {i.name for i in self.instances}
        # A resumed instance reports its earlier executions too; the run's
        # figures count from here.
        self.baseline_execs = afl.files_sample(self.sync_dir, 0, 0, 0,
                                               self.names).execs
        seeds = assemble_afl_seeds(layout, options.target, options.out)
        lib_options = layout.libfuzzer_options(options.target)
        env = afl.common_environment(options.seconds, options.bind_cpus,
                                     self.listener.port, mutator)
        env.update(sanitizers.fuzzing_environment())
        self.sync_dir.mkdir(parents=True, exist_ok=True)
        for instance in self.instances:
            command = afl.command(
                instance, binary, seeds, self.sync_dir,
                layout.dictionary(options.target), afl.max_len(lib_options),
                options.seconds, afl.timeout_ms(lib_options))
            instance_env = dict(env)
            instance_env.update(instance.env)
            self.processes.append(processes.start(
                instance.name, command, instance_env,
                options.out / "logs" / f"{instance.name}.log"))
        self.metadata.update({
            "binary": str(binary),
            "cmplog_binary": str(cmplog_binary_used) if cmplog_binary_used else None,
            "custom_mutator": str(mutator) if mutator else None,
            "sync_dir": str(self.sync_dir),
            "main_instance": next((i.name for i in self.instances
                                   if i.name == "main"), None),
            "environment": {k: v for k, v in env.items()
                            if k.startswith(("AFL_", "ASAN_", "UBSAN_"))
                            and k != "AFL_STATSD_PORT"},
            "instances": [{"name": i.name, "role": i.role,
                           "cmplog": i.cmplog, "env": i.env,
                           "command": p.command}
                          for i, p in zip(self.instances, self.processes)],
        })
        if cmplog_binary_used is None and options.cmplog:
            notes.append(f"CMPLOG build missing ({cmplog_binary})")
        return notes

    def sample(self, elapsed: float) -> Sample:
        """This machine's instances: StatsD while they run, fuzzer_stats
        before their first report and after they stop."""
        self.listener.poll()
        stats = []
        for instance in self.instances:
            live = self.listener.instance_stats(instance.name)
            from_file = afl.instance_stats_from_file(self.sync_dir / instance.name)
            chosen = live or from_file
            if chosen is not None:
                if from_file is not None:
                    chosen.total_edges = from_file.total_edges
                stats.append(chosen)
        alive = sum(p.running() for p in self.processes)
        sample = afl.combine(stats, elapsed, alive, len(self.processes))
        sample.execs = max(0, sample.execs - self.baseline_execs)
        sample.crashes = max(sample.crashes,
                             len(afl.crash_files(self.sync_dir, self.names)))
        sample.hangs = max(sample.hangs,
                           len(afl.hang_files(self.sync_dir, self.names)))
        return sample

    def final_sample(self, elapsed: float) -> Sample:
        # fuzzer_stats is complete once the instances have exited.
        sample = afl.files_sample(self.sync_dir, elapsed, 0,
                                  len(self.processes), self.names)
        sample.execs = max(0, sample.execs - self.baseline_execs)
        live = self.sample(elapsed)
        return live if sample.execs < live.execs else sample

    def close(self) -> None:
        self.listener.close()


class LibFuzzerRun:
    def __init__(self, layout: Layout, options: RunOptions, metadata: dict):
        self.layout = layout
        self.options = options
        self.metadata = metadata
        out = options.out
        self.corpus = out / "corpus"
        self.artifacts = out / "crashes" / "raw"
        self.tmp = out / "tmp"
        self.log = out / "logs" / "libfuzzer.log"
        self.reader = libfuzzer.OutputReader(self.log)
        self.rate = RateMeter()
        self.processes: list[processes.EngineProcess] = []
        self._last = Sample()
        self.artifacts_at_launch = 0

    def start(self) -> list[str]:
        layout, options = self.layout, self.options
        self.binary = layout.binary(layout_module.PRESET_LIBFUZZER, options.target)
        for folder in (self.corpus, self.artifacts, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        if self.log.exists():
            self.log.unlink()
        self.seeds = [p for p in (layout.seeds(options.target),
                                  layout.regressions(options.target)) if p.is_dir()]
        self.env = sanitizers.libfuzzer_environment()
        self.env["TMPDIR"] = str(self.tmp)
        command = self._launch(options.seconds)
        self.metadata.update({"binary": str(self.binary), "command": command,
                              "mode": options.libfuzzer_mode,
                              "corpus": str(self.corpus),
                              "artifacts": str(self.artifacts),
                              "seeds": [str(s) for s in self.seeds]})
        return []

    def _launch(self, seconds: float) -> list[str]:
        options = self.options
        command = libfuzzer.fuzz_command(
            self.binary, options.cores, seconds, self.corpus, self.seeds,
            self.artifacts, self.layout.dictionary(options.target),
            self.layout.libfuzzer_options(options.target),
            self.layout.root / "fuzz", fork=options.libfuzzer_mode == "fork")
        self.artifacts_at_launch = len(libfuzzer.artifacts(
            self.artifacts, libfuzzer.CRASH_PREFIXES + libfuzzer.HANG_PREFIXES))
        self.processes.append(processes.start(
            "libfuzzer", command, self.env, self.log, cwd=options.out,
            stop_signal=signal.SIGTERM))
        return command

    def _restart_after_crash(self, elapsed: float) -> None:
        """In-process mode: libFuzzer stopped at a crash (it saved a new
        artifact); go on with the time left. An exit without a new artifact
        is a failure, not restarted."""
        last = self.processes[-1]
        if self.options.libfuzzer_mode != "inprocess" or last.running():
            return
        saved = len(libfuzzer.artifacts(self.artifacts, libfuzzer.CRASH_PREFIXES
                                        + libfuzzer.HANG_PREFIXES))
        if saved <= self.artifacts_at_launch:
            return
        last.expected_exit = True
        remaining = self.options.seconds - elapsed if self.options.seconds else 0
        if (self.options.seconds and remaining < 2) or len(self.processes) > 1000:
            return
        self._launch(remaining)

    def sample(self, elapsed: float) -> Sample:
        self.reader.poll()
        self._restart_after_crash(elapsed)
        alive = sum(p.running() for p in self.processes)
        sample = libfuzzer.sample(self.reader, self.tmp, self.artifacts,
                                  self.corpus, elapsed, alive)
        sample.instances = len(self.processes)
        # Figures never go back: a stopped job's log disappears unmerged.
        for name in ("execs", "edges", "features"):
            setattr(sample, name, max(getattr(sample, name),
                                      getattr(self._last, name)))
        sample.execs_per_sec = self.rate.update(elapsed, sample.execs)
        self._last = sample
        return sample

    def final_sample(self, elapsed: float) -> Sample:
        sample = self.sample(elapsed)
        sample.execs = max(sample.execs, self.reader.state.execs)
        return sample

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _check_binaries(layout: Layout, options: RunOptions) -> str | None:
    preset = layout.engine_preset(options.engine)
    binary = layout.binary(preset, options.target)
    if not binary.is_file():
        return (f"{binary} is not built: "
                f"tools/wasmcache-fuzz build --engine {options.engine}")
    return None


def run(layout: Layout, options: RunOptions) -> RunResult:
    """Runs the campaign; returns its figures (also in DIR/summary.json)."""
    result = RunResult(options.target, options.engine, options.cores,
                       options.seconds)
    missing = _check_binaries(layout, options)
    if missing:
        result.failures.append(missing)
        return result
    out = options.out
    previous = read_json(out / "campaign.json")
    if previous and (previous.get("target"), previous.get("engine")) != (
            options.target, options.engine):
        result.failures.append(
            f"{out} holds a {previous.get('target')} campaign under "
            f"{previous.get('engine')}: choose another --out")
        return result
    out.mkdir(parents=True, exist_ok=True)
    progress_path = out / "progress.csv"
    if progress_path.exists():
        progress_path.rename(out / f"progress.{int(time.time())}.csv")
    metadata = {
        "target": options.target, "engine": options.engine,
        "cores": options.cores, "seconds": options.seconds,
        "root": str(layout.root), "out": str(out.resolve()),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": afl.instance_prefix(None),
    }
    engine_run = (AflRun if options.engine == "afl" else LibFuzzerRun)(
        layout, options, metadata)
    status = StatusLine(options.seconds, log_interval=options.log_interval)
    progress_log = ProgressLog(progress_path)
    csv_interval = max(5.0, options.seconds / 2000.0)
    start = time.monotonic()
    sample = Sample()
    try:
        result.notes += engine_run.start()
        _write_json(out / "campaign.json", metadata)
        for note in result.notes:
            print(f"note: {note}")
        print(f"{options.target} under {options.engine}: "
              f"{len(engine_run.processes)} engine process(es), logs in "
              f"{out / 'logs'}", flush=True)
        last_csv = -csv_interval
        with processes.StopRequest() as stop:
            try:
                while True:
                    elapsed = time.monotonic() - start
                    sample = engine_run.sample(elapsed)
                    if elapsed - last_csv >= csv_interval:
                        progress_log.append(sample)
                        last_csv = elapsed
                    status.show(sample)
                    if stop.requested:
                        result.stopped_by = stop.reason
                        break
                    if not any(p.running() for p in engine_run.processes):
                        result.stopped_by = ("time" if options.seconds and
                                             elapsed >= options.seconds - 5
                                             else "exit")
                        break
                    if options.seconds and elapsed > options.seconds + STOP_GRACE_SECONDS:
                        result.stopped_by = "time"
                        break
                    time.sleep(1.0)
                status.end()
                if any(p.running() for p in engine_run.processes):
                    print(f"stopping ({result.stopped_by})", flush=True)
                processes.stop_all(engine_run.processes)
            except KeyboardInterrupt:
                status.end()
                processes.stop_all(engine_run.processes, grace_seconds=2.0)
                raise
        elapsed = time.monotonic() - start
        sample = engine_run.final_sample(elapsed)
        progress_log.append(sample)
    finally:
        progress_log.close()
        engine_run.close()
        processes.stop_all(engine_run.processes, grace_seconds=2.0)

    # What the run did, and whether it worked.
    result.elapsed = round(elapsed, 1)
    result.execs = sample.execs
    result.execs_per_sec = round(sample.execs / elapsed, 1) if elapsed else 0.0
    result.edges = sample.edges
    result.total_edges = sample.total_edges
    result.features = sample.features
    result.corpus = sample.corpus
    result.crashes = sample.crashes
    result.hangs = sample.hangs
    for process in engine_run.processes:
        code = process.returncode()
        ran_for = process.ran_for()
        early = options.seconds and ran_for < min(options.seconds * 0.8,
                                                  options.seconds - 5)
        if (early and result.stopped_by in ("exit", "time")
                and code not in (0, None) and not process.expected_exit):
            result.failures.append(
                f"{process.name} exited with status {code} after "
                f"{ran_for:.0f} s; its log ({process.log_path}) ends:\n"
                + process.log_tail(15))
    if result.execs == 0:
        result.failures.append("no input was executed (execs = 0)")
    metadata.update({"stopped": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "stopped_by": result.stopped_by,
                     "elapsed": result.elapsed})
    _write_json(out / "campaign.json", metadata)
    _write_json(out / "summary.json", {"run": asdict(result)})
    return result


def print_run_result(result: RunResult, stream=sys.stdout) -> None:
    print(f"ran {result.elapsed:.0f} s ({result.stopped_by}): "
          f"{result.execs:,} execs, {result.execs_per_sec:,.0f}/s average, "
          f"edges {result.edges:,}, corpus {result.corpus:,}, "
          f"crashes {result.crashes}, hangs {result.hangs}", file=stream)
    for failure in result.failures:
        print(f"FAILED: {failure}", file=stream)
