"""AFL++ campaigns: which instances run, with which options, and what they
report.

Instances. One main (-M main) and N-1 secondaries (-S <host>-sK) share one
sync directory (-o), each in its own folder. The same layout scales to many
machines: they share the sync directory (NFS, or rsync of the instance
folders), one machine runs the main, every other machine runs secondaries
only (--secondaries-only) with names unique to it (the host name is the
default prefix). With a single core the only instance is a secondary named
main: -M turns off trimming and weighted queue selection, which a lone
instance needs.

Secondaries differ from each other, as AFL++'s fuzzing_in_depth guide
advises: power schedules in turn, MOpt on one in ten, sequential queue on
one in five, trimming off on four in ten, and the first secondary runs the
CMPLOG binary (-c, -l 2AT) when it is built (or --cmplog). The custom
mutator library (AFL_CUSTOM_MUTATOR_LIBRARY) is loaded by every instance
for targets whose inputs are caches, on top of AFL++'s own mutations.

Statistics. afl-fuzz writes fuzzer_stats and plot_data only after its first
minute, and fuzzer_stats once a minute after that, so live progress comes
from StatsD: every instance sends its counters over UDP to a port this
script listens on, about once a second, tagged with its banner (-T, the
instance name). The files are read at the end. Figures are this machine's
instances only; `afl-whatsup -s SYNC_DIR` sums up every machine's.
"""

from __future__ import annotations

import os
import re
import socket
import socket as socket_module
from dataclasses import dataclass, field
from pathlib import Path

from .progress import Sample

POWER_SCHEDULES = ["explore", "coe", "fast", "exploit", "rare", "lin",
                   "quad", "seek", "mmopt"]


@dataclass
class Instance:
    name: str
    role: str                     # "main" or "secondary"
    options: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cmplog: bool = False


def instance_prefix(explicit: str | None) -> str:
    name = explicit or socket_module.gethostname().split(".")[0] or "host"
    name = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:24]
    return name or "host"


def plan_instances(cores: int, prefix: str, cmplog_binary: Path | None,
                   secondaries_only: bool, single: bool) -> list[Instance]:
    """The instances of one machine. `single` (one core, no shared sync
    directory) makes the lone instance a secondary named main."""
    instances: list[Instance] = []
    if single and not secondaries_only:
        lone = Instance("main", "secondary")
        if cmplog_binary is not None:
            lone.options += ["-c", str(cmplog_binary), "-l", "2AT"]
            lone.env["AFL_CMPLOG_ONLY_NEW"] = "1"
            lone.cmplog = True
        return [lone]
    if not secondaries_only:
        instances.append(Instance("main", "main"))
    k = 0
    while len(instances) < cores:
        k += 1
        instance = Instance(f"{prefix}-s{k}", "secondary")
        schedule = POWER_SCHEDULES[(k - 1) % len(POWER_SCHEDULES)]
        instance.options += ["-p", schedule]
        if k % 10 == 3:
            instance.options += ["-L", "0"]
        if k % 5 == 4:
            instance.options += ["-Z"]
        if k % 5 in (1, 3):
            instance.env["AFL_DISABLE_TRIM"] = "1"
        if cmplog_binary is not None and (k == 1 or k % 8 == 0):
            instance.options += ["-c", str(cmplog_binary)]
            if k == 1:
                instance.options += ["-l", "2AT"]
            instance.env["AFL_CMPLOG_ONLY_NEW"] = "1"
            instance.cmplog = True
        instances.append(instance)
    return instances


def core_pattern_pipes() -> bool:
    """Whether core dumps go to a program (afl-fuzz refuses to start then,
    unless told that missing crashes are acceptable)."""
    try:
        return Path("/proc/sys/kernel/core_pattern").read_text().startswith("|")
    except OSError:
        return False


def common_environment(seconds: float, bind_cpus: bool, statsd_port: int | None,
                       mutator: Path | None) -> dict[str, str]:
    env = {
        "AFL_SKIP_CPUFREQ": "1",       # containers and VMs have no governor
        "AFL_NO_UI": "1",              # the status line is ours
        "AFL_AUTORESUME": "1",         # an existing instance folder resumes
        "AFL_TESTCACHE_SIZE": "50",    # MB of test cases kept in memory
        "AFL_NO_CRASH_README": "1",
        "AFL_IGNORE_UNKNOWN_ENVS": "1",
        # Sync every 1/12 of the campaign, between 1 and 30 minutes.
        "AFL_SYNC_TIME": str(max(1, min(30, int(seconds / 60 / 12)))
                             if seconds else 30),
    }
    if not bind_cpus:
        env["AFL_NO_AFFINITY"] = "1"
    if core_pattern_pipes():
        env["AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES"] = "1"
    if statsd_port is not None:
        env.update({"AFL_STATSD": "1", "AFL_STATSD_HOST": "127.0.0.1",
                    "AFL_STATSD_PORT": str(statsd_port),
                    "AFL_STATSD_TAGS_FLAVOR": "dogstatsd"})
    if mutator is not None:
        env["AFL_CUSTOM_MUTATOR_LIBRARY"] = str(mutator)
    return env


def command(instance: Instance, binary: Path, seeds: Path, sync_dir: Path,
            dictionary: Path | None, max_len: int | None, seconds: float,
            timeout_ms: int) -> list[str]:
    """The afl-fuzz command line of one instance. The timeout is a maximum
    ("-t N+"): afl-fuzz derives the real one from the seeds' run times and
    skips seeds that exceed it instead of refusing to start."""
    role_flag = "-M" if instance.role == "main" else "-S"
    args = ["afl-fuzz", "-i", str(seeds), "-o", str(sync_dir),
            role_flag, instance.name, "-T", instance.name, "-m", "none",
            "-t", f"{timeout_ms}+"]
    if dictionary is not None:
        args += ["-x", str(dictionary)]
    if max_len:
        args += ["-G", str(max_len)]
    if seconds:
        args += ["-V", str(int(seconds))]
    args += instance.options
    args += ["--", str(binary)]
    return args


# Statistics.

def read_fuzzer_stats(path: Path) -> dict[str, str]:
    """fuzzer_stats as a dict ("key : value" lines)."""
    stats: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return stats
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            stats[key.strip()] = value.strip()
    return stats


def _number(value: str | None, default: float = 0.0) -> float:
    if value is None:
        return default
    try:
        return float(value.rstrip("%"))
    except ValueError:
        return default


def stats_value(stats: dict[str, str], *names: str) -> float:
    """The first of `names` present (AFL++ renamed several counters in 4.0:
    paths_total → corpus_count, unique_crashes → saved_crashes, ...)."""
    for name in names:
        if name in stats:
            return _number(stats[name])
    return 0.0


@dataclass
class InstanceStats:
    execs: int = 0
    execs_per_sec: float = 0.0
    edges: int = 0
    total_edges: int = 0
    corpus: int = 0
    crashes: int = 0
    hangs: int = 0
    bitmap_cvg: float = 0.0
    run_time: float = 0.0
    cycles: int = 0


def instance_stats_from_file(instance_dir: Path) -> InstanceStats | None:
    stats = read_fuzzer_stats(instance_dir / "fuzzer_stats")
    if not stats:
        return None
    return InstanceStats(
        execs=int(stats_value(stats, "execs_done")),
        execs_per_sec=stats_value(stats, "execs_per_sec"),
        edges=int(stats_value(stats, "edges_found")),
        total_edges=int(stats_value(stats, "total_edges")),
        corpus=int(stats_value(stats, "corpus_count", "paths_total")),
        crashes=int(stats_value(stats, "saved_crashes", "unique_crashes")),
        hangs=int(stats_value(stats, "saved_hangs", "unique_hangs")),
        bitmap_cvg=stats_value(stats, "bitmap_cvg"),
        run_time=stats_value(stats, "run_time"),
        cycles=int(stats_value(stats, "cycles_done")))


class StatsdListener:
    """Receives AFL++'s StatsD gauges (dogstatsd tags) on a local UDP port
    and keeps the latest value of each gauge per banner."""

    _LINE = re.compile(r"^(?:[\w.]*\.)?(\w+):([-0-9.eE+]+)\|g(?:\|#(.*))?$")

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.setblocking(False)
        self.port = self.socket.getsockname()[1]
        self.gauges: dict[str, dict[str, float]] = {}

    def poll(self) -> None:
        while True:
            try:
                packet = self.socket.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.feed(packet.decode("utf-8", "replace"))

    def feed(self, text: str) -> None:
        for line in text.splitlines():
            match = self._LINE.match(line.strip())
            if not match:
                continue
            name, value, tags = match.groups()
            banner = "?"
            for tag in (tags or "").split(","):
                key, _, tag_value = tag.partition(":")
                if key == "banner":
                    banner = tag_value
            try:
                self.gauges.setdefault(banner, {})[name] = float(value)
            except ValueError:
                continue

    def instance_stats(self, banner: str) -> InstanceStats | None:
        gauges = self.gauges.get(banner)
        if not gauges:
            return None
        return InstanceStats(
            execs=int(gauges.get("execs_done", 0)),
            execs_per_sec=gauges.get("execs_per_sec", 0.0),
            edges=int(gauges.get("edges_found", 0)),
            corpus=int(gauges.get("corpus_count", 0)),
            crashes=int(gauges.get("saved_crashes", 0)),
            hangs=int(gauges.get("saved_hangs", 0)),
            cycles=int(gauges.get("cycle_done", 0)))

    def close(self) -> None:
        self.socket.close()


def combine(stats: list[InstanceStats], elapsed: float, alive: int,
            instances: int) -> Sample:
    sample = Sample(elapsed=elapsed, alive=alive, instances=instances)
    for s in stats:
        sample.execs += s.execs
        sample.execs_per_sec += s.execs_per_sec
        sample.edges = max(sample.edges, s.edges)
        sample.total_edges = max(sample.total_edges, s.total_edges)
        sample.corpus = max(sample.corpus, s.corpus)
        sample.crashes += s.crashes
        sample.hangs += s.hangs
    return sample


# Files in the sync directory.

def instance_dirs(sync_dir: Path, names: set[str] | None = None) -> list[Path]:
    """The instance folders in the sync directory: every machine's, or
    those named."""
    if not sync_dir.is_dir():
        return []
    return sorted(p for p in sync_dir.iterdir()
                  if p.is_dir() and (p / "queue").is_dir()
                  and (names is None or p.name in names))


def testcases(folder: Path) -> list[Path]:
    """AFL++'s saved inputs in a queue/, crashes/ or hangs/ folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.name.startswith("id:"))


def queue_files(sync_dir: Path) -> list[Path]:
    return [f for d in instance_dirs(sync_dir) for f in testcases(d / "queue")]


def crash_files(sync_dir: Path, names: set[str] | None = None) -> list[Path]:
    return [f for d in instance_dirs(sync_dir, names)
            for f in testcases(d / "crashes")]


def hang_files(sync_dir: Path, names: set[str] | None = None) -> list[Path]:
    return [f for d in instance_dirs(sync_dir, names)
            for f in testcases(d / "hangs")]


def files_sample(sync_dir: Path, elapsed: float, alive: int, instances: int,
                 names: set[str] | None = None) -> Sample:
    """A sample from the fuzzer_stats of the instances named (default:
    all) in the sync directory."""
    stats = [s for s in (instance_stats_from_file(d)
                         for d in instance_dirs(sync_dir, names)) if s is not None]
    sample = combine(stats, elapsed, alive, instances)
    sample.crashes = max(sample.crashes, len(crash_files(sync_dir, names)))
    sample.hangs = max(sample.hangs, len(hang_files(sync_dir, names)))
    return sample


def timeout_ms(libfuzzer_options: dict[str, str]) -> int:
    """AFL++'s per-input timeout: the options file's libFuzzer timeout (in
    seconds), at most 5 s (AFL++ saves slower inputs as hangs), else 2 s."""
    try:
        seconds = float(libfuzzer_options.get("timeout", ""))
    except ValueError:
        return 2000
    return int(min(5.0, max(0.1, seconds)) * 1000)


def max_len(libfuzzer_options: dict[str, str]) -> int | None:
    try:
        return int(libfuzzer_options.get("max_len", ""))
    except ValueError:
        return None


def write_seed_placeholder(folder: Path) -> Path:
    """afl-fuzz needs at least one input; a target without seeds starts
    from a single zero byte."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zero").write_bytes(b"\0")
    return folder


def has_inputs(folder: Path) -> bool:
    return folder.is_dir() and any(
        p.is_file() and p.stat().st_size > 0 for p in folder.rglob("*"))


def os_environment_note() -> list[str]:
    notes = []
    if core_pattern_pipes():
        notes.append("core_pattern pipes to a program: "
                     "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1")
    if os.environ.get("AFL_NO_AFFINITY"):
        notes.append("AFL_NO_AFFINITY set in the environment")
    return notes
