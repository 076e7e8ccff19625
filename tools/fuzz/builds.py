"""Configuring and building the presets a campaign needs.

Every configure and build step holds build/.build.lock (flock(2), the lock
`flock build/.build.lock cmake ...` takes), so that builds started by
different people or scripts on one machine run one after another instead of
fighting over the cores. The lock is taken per preset and released between
presets.

Which presets an engine needs:

    afl        afl (ASan + UBSan), afl-cmplog (CMPLOG secondary), fuzz-tools
               (the custom mutator), coverage (the report after a campaign)
    libfuzzer  libfuzzer, coverage
    coverage   coverage
    replay     debug-asan-ubsan (the fuzz targets only: `replay`)
    all        all of the above
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import sys
from pathlib import Path

from . import layout as layout_module
from .layout import Layout

ENGINE_PRESETS = {
    "afl": [layout_module.PRESET_AFL, layout_module.PRESET_AFL_CMPLOG,
            layout_module.PRESET_FUZZ_TOOLS, layout_module.PRESET_COVERAGE],
    "libfuzzer": [layout_module.PRESET_LIBFUZZER,
                  layout_module.PRESET_COVERAGE],
    "coverage": [layout_module.PRESET_COVERAGE],
    "replay": [layout_module.PRESET_REPLAY],
}
ENGINE_PRESETS["all"] = list(dict.fromkeys(
    ENGINE_PRESETS["libfuzzer"] + ENGINE_PRESETS["afl"]
    + ENGINE_PRESETS["replay"]))

# The fuzz-tools preset builds the mutator, not the targets.
FUZZ_TOOLS_TARGETS = ["wasmcache_afl_mutator", "wasmcache-mutate"]


@contextlib.contextmanager
def build_lock(lock_path: Path):
    """Holds the global build lock; says so when it has to wait."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {lock_path} (another build is running)",
                  flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_targets_for(preset: str, targets: list[str]) -> list[str]:
    if preset == layout_module.PRESET_FUZZ_TOOLS:
        return FUZZ_TOOLS_TARGETS
    return targets


def build_preset(layout: Layout, preset: str, targets: list[str],
                 jobs: int) -> bool:
    """Configures the preset (again: CMakePresets.json may have changed
    since), then builds the named targets. Returns whether both steps
    succeeded."""
    build_dir = layout.build_dir(preset)
    names = build_targets_for(preset, targets)
    if not names:
        print(f"[{preset}] nothing to build")
        return True
    with build_lock(layout.build_lock()):
        print(f"[{preset}] cmake --preset {preset}", flush=True)
        if subprocess.call(["cmake", "--preset", preset], cwd=layout.root,
                           stdout=subprocess.DEVNULL) != 0:
            print(f"[{preset}] configure failed", file=sys.stderr)
            return False
        command = ["cmake", "--build", str(build_dir), "-j", str(jobs),
                   "--target", *names]
        print(f"[{preset}] {' '.join(command)}", flush=True)
        if subprocess.call(command, cwd=layout.root) != 0:
            print(f"[{preset}] build failed", file=sys.stderr)
            return False
    return True


def build(layout: Layout, engine: str, targets: list[str] | None,
          jobs: int) -> int:
    """The `build` subcommand. Returns a process exit status."""
    targets = targets or layout.targets()
    if not targets:
        print("no fuzz targets (fuzz/*_fuzzer.cc)", file=sys.stderr)
        return 1
    failed = [preset for preset in ENGINE_PRESETS[engine]
              if not build_preset(layout, preset, targets, jobs)]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def build_for_smoke(layout: Layout, engines: list[str],
                    targets: list[str] | None, jobs: int = 2) -> int:
    """What `smoke --build` needs: the engines' own presets (and the custom
    mutator for AFL++), not the coverage or CMPLOG builds."""
    presets = []
    if "libfuzzer" in engines:
        presets.append(layout_module.PRESET_LIBFUZZER)
    if "afl" in engines:
        presets += [layout_module.PRESET_AFL, layout_module.PRESET_FUZZ_TOOLS]
    targets = targets or layout.targets()
    failed = [p for p in presets if not build_preset(layout, p, targets, jobs)]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
