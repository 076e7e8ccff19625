"""Engine processes: each in its own process group, output to a log file,
stopped as a group.

An engine forks many children (afl-fuzz its target and fork server,
libFuzzer -fork=N its jobs). Each engine process starts a new session, so
Ctrl-C at the terminal reaches only this script, which then stops every
group in order: SIGINT (afl-fuzz and libFuzzer write their final state),
then SIGTERM, then SIGKILL. On Linux a child also gets SIGTERM if this
script dies without stopping it (PR_SET_PDEATHSIG), so no campaign outlives
its driver; afl-fuzz -V and libFuzzer -max_total_time bound it as well.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_TERMINAL_CODES = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|\([AB0-2])")


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


@dataclass
class EngineProcess:
    """One engine process, its log, and when it started."""
    name: str
    command: list[str]
    log_path: Path
    popen: subprocess.Popen | None = None
    started: float = field(default_factory=time.monotonic)
    # The signal that makes the engine stop cleanly. libFuzzer -fork=N runs
    # its jobs with system(), which ignores SIGINT while a job runs: it gets
    # SIGTERM (-handle_term), afl-fuzz gets SIGINT.
    stop_signal: int = signal.SIGINT
    # Ended in a way the campaign expected (a crash it restarted after).
    expected_exit: bool = False
    ended: float | None = None

    def running(self) -> bool:
        if self.popen is None or self.popen.poll() is not None:
            if self.ended is None:
                self.ended = time.monotonic()
            return False
        return True

    def ran_for(self) -> float:
        """Seconds from start to exit (or to now, while running)."""
        self.running()
        return (self.ended or time.monotonic()) - self.started

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def log_tail(self, lines: int = 20) -> str:
        """The log's last lines, without terminal colour codes."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        text = _TERMINAL_CODES.sub("", text)
        kept = [line for line in text.splitlines() if line.strip()]
        return "\n".join(kept[-lines:])


def start(name: str, command: list[str], env: dict[str, str], log_path: Path,
          cwd: Path | None = None, stdout_pipe: bool = False,
          stop_signal: int = signal.SIGINT) -> EngineProcess:
    """Starts `command` in a new session with `env` added to this process's
    environment; stdout and stderr go to log_path (or stderr to log_path and
    stdout to a pipe when stdout_pipe)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    full_env = dict(os.environ)
    full_env.update(env)
    popen = subprocess.Popen(
        command, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdout_pipe else log, stderr=log,
        start_new_session=True, preexec_fn=_die_with_parent)
    log.close()
    return EngineProcess(name, command, log_path, popen,
                         stop_signal=stop_signal)


def stop_all(processes: list[EngineProcess], grace_seconds: float = 20.0) -> None:
    """Each running group's stop signal, then SIGTERM and SIGKILL to those
    still running after the grace period."""
    for stage, wait in ((0, grace_seconds), (signal.SIGTERM, 5.0),
                        (signal.SIGKILL, 5.0)):
        alive = [p for p in processes if p.running()]
        if not alive:
            break
        for process in alive:
            try:
                os.killpg(process.popen.pid, stage or process.stop_signal)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(p.running() for p in alive):
            time.sleep(0.2)
    # Reap, and make sure no stragglers are left in the groups.
    for process in processes:
        if process.popen is not None:
            try:
                os.killpg(process.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.popen.wait()


class StopRequest:
    """SIGINT and SIGTERM set a flag instead of raising, so the watch loop
    can stop the engines and still run the finishing steps. A second signal
    while stopping raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.requested = False
        self.reason = ""
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopRequest":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.reason = signal.Signals(signum).name
