"""Where things are: the checkout, its build trees, the fuzz targets and the
files that go with each target.

The checkout is the directory two levels above this file, or
$WASMCACHE_ROOT when set (a checkout elsewhere, or a copy of the tools run
against another tree). Everything else is derived from it:

    fuzz/<name>_fuzzer.cc          a target (its executable is <name>_fuzzer)
    fuzz/<target>.dict             its dictionary (optional)
    fuzz/<target>.options          its OSS-Fuzz options, [libfuzzer] section
    corpus/fuzz/<target>/          its seeds
    corpus/regressions/<target>/   inputs that once found a bug
    build/<preset>/fuzz/<target>   its executable in a CMake preset's tree
    build/.build.lock              the lock every build takes (flock)
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

# The CMake presets the tooling uses, by role.
PRESET_LIBFUZZER = "libfuzzer"        # libFuzzer + ASan + UBSan
PRESET_AFL = "afl"                    # AFL++ persistent mode + ASan + UBSan
PRESET_AFL_CMPLOG = "afl-cmplog"      # AFL++ CMPLOG, no sanitizers
PRESET_FUZZ_TOOLS = "fuzz-tools"      # the AFL++ custom mutator, wasmcache-mutate
PRESET_COVERAGE = "coverage"          # replay engine with llvm-cov mapping
PRESET_REPLAY = "debug-asan-ubsan"    # replay engine, ASan + UBSan, Debug

ENGINES = ("afl", "libfuzzer")

# The sources a coverage report covers.
COVERAGE_SOURCE_DIRS = ("reference", "fast", "spec")

MUTATOR_LIBRARY = "libwasmcache_afl_mutator.so"
# Targets whose inputs are caches, which the structure-aware mutator knows.
MUTATOR_TARGETS = ("deserialize_fuzzer",)


def default_root() -> Path:
    override = os.environ.get("WASMCACHE_ROOT")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Layout:
    root: Path

    @staticmethod
    def default() -> "Layout":
        return Layout(default_root())

    # Targets.
    def targets(self) -> list[str]:
        """Every fuzz target with a source, sorted by name."""
        return sorted(p.stem for p in (self.root / "fuzz").glob("*_fuzzer.cc"))

    def seeds(self, target: str) -> Path:
        return self.root / "corpus" / "fuzz" / target

    def regressions(self, target: str) -> Path:
        return self.root / "corpus" / "regressions" / target

    def dictionary(self, target: str) -> Path | None:
        path = self.root / "fuzz" / f"{target}.dict"
        return path if path.is_file() else None

    def options_file(self, target: str) -> Path:
        return self.root / "fuzz" / f"{target}.options"

    def libfuzzer_options(self, target: str) -> dict[str, str]:
        """The [libfuzzer] section of fuzz/<target>.options, or {}."""
        return read_options(self.options_file(target))

    # Build trees.
    def build_dir(self, preset: str) -> Path:
        return self.root / "build" / preset

    def binary(self, preset: str, target: str) -> Path:
        return self.build_dir(preset) / "fuzz" / target

    def mutator_library(self) -> Path:
        return self.build_dir(PRESET_FUZZ_TOOLS) / "fuzz" / MUTATOR_LIBRARY

    def build_lock(self) -> Path:
        return self.root / "build" / ".build.lock"

    def engine_preset(self, engine: str) -> str:
        return {"afl": PRESET_AFL, "libfuzzer": PRESET_LIBFUZZER}[engine]

    def coverage_sources(self) -> list[Path]:
        return [self.root / d for d in COVERAGE_SOURCE_DIRS
                if (self.root / d).is_dir()]


def read_options(path: Path) -> dict[str, str]:
    """Reads an OSS-Fuzz .options file's [libfuzzer] section (ini format)."""
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None)
    parser.optionxform = str  # Keep option names as written.
    parser.read(path, encoding="utf-8")
    if not parser.has_section("libfuzzer"):
        return {}
    return {key: (value or "").strip()
            for key, value in parser.items("libfuzzer")}


def input_files(paths: list[Path]) -> list[Path]:
    """Every regular file named, and every regular file under every
    directory named (recursively, hidden ones skipped), sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                files.extend(Path(dirpath) / f for f in sorted(filenames)
                             if not f.startswith("."))
        elif path.is_file():
            files.append(path)
    return files
