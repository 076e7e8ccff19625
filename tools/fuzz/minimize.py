"""Corpus minimization into DIR/corpus-min: the smallest set of inputs with
the same coverage as everything the campaign kept.

AFL++: afl-cmin over every instance's queue (duplicates by content dropped
first), with the ASan build, its inputs on standard input (in
shared-memory/persistent builds afl-cmin's @@ mode needs the fork server
before main's argument handling, stdin mode does not).

libFuzzer: -merge=1 of DIR/corpus and the seed folders into an empty
DIR/corpus-min.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from . import afl, libfuzzer, sanitizers
from .layout import Layout


def _fresh(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)


def _count(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0


def gather_unique(files: list[Path], folder: Path) -> int:
    """Links each distinct content of `files` into `folder` once, named by
    its SHA-1. Returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    seen = set()
    for path in files:
        try:
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
        except OSError:
            continue
        if digest in seen:
            continue
        seen.add(digest)
        destination = folder / digest
        try:
            os.link(path, destination)
        except OSError:
            shutil.copyfile(path, destination)
    return len(seen)


def _run_logged(command: list[str], env: dict, log: Path) -> int:
    """Runs `command`, its output (after the command line) into `log`."""
    with open(log, "w") as handle:
        handle.write(" ".join(command) + "\n")
        handle.flush()
        return subprocess.call(command, env=env, stdout=handle,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def minimize_afl(layout: Layout, target: str, out: Path, sync_dir: Path,
                 log: Path) -> tuple[int, int]:
    """Returns (inputs before, inputs after)."""
    binary = layout.binary("afl", target)
    staging = out / ".cmin-input"
    result = out / "corpus-min"
    _fresh(staging)
    _fresh(result)
    before = gather_unique(afl.queue_files(sync_dir), staging)
    if before == 0:
        shutil.rmtree(staging, ignore_errors=True)
        result.mkdir(parents=True)
        return 0, 0
    env = dict(os.environ)
    env.update(sanitizers.fuzzing_environment())
    env.update({"AFL_ALLOW_TMP": "1", "AFL_SKIP_CPUFREQ": "1",
                "AFL_NO_AFFINITY": "1", "AFL_QUIET": "1"})
    timeout = afl.timeout_ms(layout.libfuzzer_options(target))
    command = ["afl-cmin", "-i", str(staging), "-o", str(result), "-m", "none",
               "-t", str(timeout * 2), "--", str(binary)]
    code = _run_logged(command, env, log)
    shutil.rmtree(staging, ignore_errors=True)
    if code != 0 or _count(result) == 0:
        raise RuntimeError(f"afl-cmin failed (status {code}), see {log}")
    return before, _count(result)


def minimize_libfuzzer(layout: Layout, target: str, out: Path,
                       log: Path) -> tuple[int, int]:
    binary = layout.binary("libfuzzer", target)
    result = out / "corpus-min"
    _fresh(result)
    result.mkdir(parents=True)
    inputs = [p for p in (out / "corpus", layout.seeds(target),
                          layout.regressions(target)) if p.is_dir()]
    before = sum(_count(p) for p in inputs)
    artifacts = out / "crashes" / "raw"
    artifacts.mkdir(parents=True, exist_ok=True)
    command = libfuzzer.merge_command(binary, result, inputs, artifacts,
                                      layout.libfuzzer_options(target),
                                      layout.root / "fuzz")
    tmp = out / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(sanitizers.libfuzzer_environment())
    env["TMPDIR"] = str(tmp)
    code = _run_logged(command, env, log)
    shutil.rmtree(tmp, ignore_errors=True)
    if code != 0:
        raise RuntimeError(f"libFuzzer -merge=1 failed (status {code}), see {log}")
    return before, _count(result)
