"""Sanitizer options, in two sets: while fuzzing and while replaying.

While fuzzing, speed and a clean crash signal matter: no symbolization (a
crash costs a second of llvm-symbolizer otherwise), abort on the first error
so the engine sees SIGABRT, no leak checking under AFL++ (persistent mode
would report at exit, long after the input). afl-fuzz refuses to start unless
ASAN_OPTIONS has abort_on_error=1 and symbolize=0, and UBSAN_OPTIONS
halt_on_error=1 and symbolize=0.

While replaying one input, the report is what matters: symbolized frames
(function names, files, lines) so that crashes can be keyed by stack, leaks
checked, and abort() itself reported with a stack (handle_abort=1), so a
differential finding, which calls abort(), shows where it was raised.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# A huge allocation from a length read from the input is a bug of the
# loader (it must check lengths against the input first), reported as a
# crash rather than an out-of-memory kill.
MAX_ALLOCATION_MB = 2048

_FUZZING_ASAN = {
    "abort_on_error": "1",
    "symbolize": "0",
    "detect_leaks": "0",
    "malloc_context_size": "0",
    "detect_odr_violation": "0",
    "allocator_may_return_null": "0",
    "max_allocation_size_mb": str(MAX_ALLOCATION_MB),
}
_FUZZING_UBSAN = {
    "halt_on_error": "1",
    "abort_on_error": "1",
    "symbolize": "0",
    "print_stacktrace": "0",
}
_REPLAY_ASAN = {
    "abort_on_error": "1",
    "symbolize": "1",
    "detect_leaks": "1",
    "handle_abort": "1",
    "allocator_may_return_null": "0",
    "max_allocation_size_mb": str(MAX_ALLOCATION_MB),
    "print_summary": "1",
}
_REPLAY_UBSAN = {
    "halt_on_error": "1",
    "abort_on_error": "1",
    "symbolize": "1",
    "print_stacktrace": "1",
    "print_summary": "1",
}


def _join(options: dict[str, str]) -> str:
    return ":".join(f"{key}={value}" for key, value in options.items())


def symbolizer() -> str | None:
    found = shutil.which("llvm-symbolizer")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib").glob("llvm-*/bin/llvm-symbolizer")):
        return str(candidate)
    return None


def fuzzing_environment() -> dict[str, str]:
    """ASAN_OPTIONS and UBSAN_OPTIONS for AFL++ instances and the AFL++
    tools (afl-cmin, afl-tmin), which run the same binaries."""
    return {"ASAN_OPTIONS": _join(_FUZZING_ASAN),
            "UBSAN_OPTIONS": _join(_FUZZING_UBSAN)}


def libfuzzer_environment() -> dict[str, str]:
    """libFuzzer installs its own handlers and checks leaks itself; only
    symbolization is turned off (the crashes are replayed afterwards)."""
    return {"ASAN_OPTIONS": "symbolize=0",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=0:symbolize=0"}


def replay_environment(symbolize: bool = True) -> dict[str, str]:
    """Options for running one input to get a (symbolized) report."""
    asan, ubsan = dict(_REPLAY_ASAN), dict(_REPLAY_UBSAN)
    if not symbolize:
        asan["symbolize"] = ubsan["symbolize"] = "0"
        return {"ASAN_OPTIONS": _join(asan), "UBSAN_OPTIONS": _join(ubsan)}
    env = {"ASAN_OPTIONS": _join(asan), "UBSAN_OPTIONS": _join(ubsan)}
    path = symbolizer()
    if path:
        env["ASAN_SYMBOLIZER_PATH"] = path
        env["LLVM_SYMBOLIZER_PATH"] = path
    return env


def replay_environment_shell() -> str:
    """The replay options as `export` lines for reproduce.sh."""
    lines = []
    for key, value in replay_environment().items():
        if key.endswith("SYMBOLIZER_PATH"):
            lines.append(f'export {key}="${{{key}:-{value}}}"')
        else:
            lines.append(f"export {key}='{value}'")
    return "\n".join(lines)
