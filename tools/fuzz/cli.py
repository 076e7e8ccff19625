"""The `wasmcache-fuzz` subcommands: argument parsing and dispatch."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import builds, campaign, finish as finish_module, smoke as smoke_module, triage
from .layout import ENGINES, Layout, input_files

DESCRIPTION = """\
Fuzzing campaigns for wasmcache's fuzz targets (fuzz/*_fuzzer.cc) under
AFL++ and libFuzzer: build the presets, run a campaign on N cores with live
progress, then minimize the corpus, de-duplicate the crashes into
reproducers, report source coverage and plot the run.

  wasmcache-fuzz build --engine all
  wasmcache-fuzz run --target deserialize_fuzzer --engine afl --cores 8 \\
                     --time 86400 --out campaigns/deserialize-afl
  wasmcache-fuzz smoke --time 60          # what CI runs
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_finish_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip", action="append", default=[], choices=finish_module.STEPS,
        help="leave out a finishing step (repeatable)")
    parser.add_argument(
        "--only", action="append", default=[], choices=finish_module.STEPS,
        help="run only these finishing steps (repeatable)")
    parser.add_argument(
        "--minimize-seconds", type=float, default=20.0,
        help="time to minimize each distinct crash's testcase with afl-tmin "
             "or -minimize_crash (0: keep the smallest input as found; "
             "default 20)")
    parser.add_argument(
        "--max-replays", type=int, default=1000,
        help="replay at most this many crashing inputs, smallest first "
             "(default 1000)")


def _finish_options(args, jobs: int) -> finish_module.FinishOptions:
    skip = set(args.skip)
    if args.only:
        skip |= set(finish_module.STEPS) - set(args.only)
    return finish_module.FinishOptions(skip=skip,
                                       minimize_seconds=args.minimize_seconds,
                                       jobs=jobs, max_replays=args.max_replays)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="wasmcache-fuzz", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    build = commands.add_parser(
        "build", help="configure and build the presets an engine needs",
        description=builds.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    build.add_argument("--engine", default="all",
                       choices=sorted(builds.ENGINE_PRESETS),
                       help="which presets (default all)")
    build.add_argument("--target", action="append", default=[],
                       help="build only this target (repeatable; default all)")
    build.add_argument("-j", "--jobs", type=_positive_int, default=2,
                       help="parallel compile jobs (default 2)")

    run = commands.add_parser(
        "run", help="run a campaign, then minimize, triage, cover and plot",
        description=campaign.__doc__ + "\n" + _afl_doc(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--target", required=True, help="e.g. deserialize_fuzzer")
    run.add_argument("--engine", required=True, choices=ENGINES)
    run.add_argument("--cores", type=_positive_int, default=os.cpu_count() or 1,
                     help="engine processes: AFL++ instances or libFuzzer "
                          "-fork jobs (default: all cores)")
    run.add_argument("--time", type=float, default=3600.0, metavar="SECONDS",
                     help="campaign length (0: until Ctrl-C; default 3600)")
    run.add_argument("--out", type=Path, required=True,
                     help="campaign directory (created; an existing one resumes)")
    run.add_argument("--sync-dir", type=Path,
                     help="AFL++: sync directory shared with other machines "
                          "(default DIR/sync)")
    run.add_argument("--secondaries-only", action="store_true",
                     help="AFL++: run no main instance (another machine "
                          "runs it in the shared --sync-dir)")
    run.add_argument("--name-prefix",
                     help="AFL++: secondary names' prefix, unique per machine "
                          "(default: the host name)")
    cmplog = run.add_mutually_exclusive_group()
    cmplog.add_argument("--cmplog", dest="cmplog", action="store_const",
                        const=True, default=None,
                        help="AFL++: require a CMPLOG instance (default: one "
                             "when build/afl-cmplog has the target and N > 1)")
    cmplog.add_argument("--no-cmplog", dest="cmplog", action="store_const",
                        const=False, help="AFL++: no CMPLOG instance")
    run.add_argument("--no-mutator", action="store_true",
                     help="AFL++: do not load the structure-aware custom mutator")
    run.add_argument("--bind-cpus", action="store_true",
                     help="AFL++: bind each instance to a free core (off by "
                          "default: shared machines and containers)")
    run.add_argument("--libfuzzer-mode", choices=("fork", "inprocess"),
                     default="fork",
                     help="libFuzzer: -fork=N jobs (default), or one "
                          "in-process fuzzer restarted after each crash "
                          "(--cores 1 only; no job start-up cost)")
    run.add_argument("--no-finish", action="store_true",
                     help="stop after the campaign (`finish` does the rest)")
    run.add_argument("--log-interval", type=float, default=30.0,
                     help="seconds between progress lines when the output is "
                          "not a terminal (default 30)")
    _add_finish_options(run)

    fin = commands.add_parser(
        "finish", help="minimize, triage, cover and plot a finished campaign",
        description=finish_module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    fin.add_argument("--out", type=Path, required=True, help="campaign directory")
    fin.add_argument("-j", "--jobs", type=_positive_int, default=os.cpu_count() or 1,
                     help="parallel crash replays (default: all cores)")
    _add_finish_options(fin)

    smoke = commands.add_parser(
        "smoke", help="every target under every engine briefly (CI)",
        description=smoke_module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    smoke.add_argument("--time", type=_positive_int, default=60,
                       metavar="SECONDS", help="per run (default 60)")
    smoke.add_argument("--engine", action="append", choices=ENGINES, default=[],
                       help="only this engine (repeatable; default both)")
    smoke.add_argument("--target", action="append", default=[],
                       help="only this target (repeatable; default all)")
    smoke.add_argument("--parallel", type=_positive_int,
                       default=max(1, min(2, os.cpu_count() or 1)),
                       help="runs at a time, one core each (default 2)")
    smoke.add_argument("--out", type=Path,
                       help="where the runs go (default build/fuzz-smoke)")
    smoke.add_argument("--build", action="store_true",
                       help="build the engines' presets first (libfuzzer, "
                            "afl, fuzz-tools)")

    replay = commands.add_parser(
        "replay", help="run inputs through the ASan replay build and key crashes",
        description="Runs each input (files, or every file under a folder) "
                    "once through build/debug-asan-ubsan/fuzz/TARGET with "
                    "symbolized sanitizer reports, and prints the key each "
                    "crash would be de-duplicated under. Exit status 1 if "
                    "any input crashes.")
    replay.add_argument("--target", required=True)
    replay.add_argument("--binary", type=Path,
                        help="another build to replay with (e.g. "
                             "build/libfuzzer/fuzz/TARGET)")
    replay.add_argument("--timeout", type=float, default=triage.REPLAY_TIMEOUT_SECONDS,
                        help="seconds per input (default 30)")
    replay.add_argument("-v", "--verbose", action="store_true",
                        help="print every crash's report (always for one input)")
    replay.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    commands.add_parser(
        "v8gate", help="the V8 load-gate campaign (tools/fuzz/v8gate.py; "
                       "`wasmcache-fuzz v8gate --help`)", add_help=False)
    return top


def _afl_doc() -> str:
    from . import afl, libfuzzer
    return (afl.__doc__ or "") + "\n" + (libfuzzer.__doc__ or "")


def command_run(layout: Layout, args) -> int:
    if args.target not in layout.targets():
        print(f"unknown target {args.target}; fuzz/ has: "
              f"{', '.join(layout.targets()) or 'none'}", file=sys.stderr)
        return 2
    if args.libfuzzer_mode == "inprocess" and args.cores != 1:
        print("--libfuzzer-mode inprocess runs one process: use --cores 1",
              file=sys.stderr)
        return 2
    options = campaign.RunOptions(
        target=args.target, engine=args.engine, cores=args.cores,
        seconds=args.time, out=args.out.resolve(),
        sync_dir=args.sync_dir.resolve() if args.sync_dir else None,
        cmplog=args.cmplog, mutator=not args.no_mutator,
        secondaries_only=args.secondaries_only, name_prefix=args.name_prefix,
        bind_cpus=args.bind_cpus, libfuzzer_mode=args.libfuzzer_mode,
        log_interval=args.log_interval)
    result = campaign.run(layout, options)
    campaign.print_run_result(result)
    if result.execs and not args.no_finish:
        finish_module.finish(layout, options.out,
                             _finish_options(args, jobs=args.cores))
    return 0 if result.ok else 1


def command_replay(layout: Layout, args) -> int:
    binary = args.binary or layout.binary("debug-asan-ubsan", args.target)
    if not binary.is_file():
        print(f"{binary} is not built: tools/wasmcache-fuzz build --engine replay "
              f"--target {args.target}", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"no such file or directory: {', '.join(map(str, missing))}",
              file=sys.stderr)
        return 2
    files = input_files(args.paths)
    crashed = 0
    for path in files:
        result = triage.replay(binary, path, args.timeout)
        report = result.report
        if report.reproduced:
            crashed += 1
            key = triage.directory_name(report)
            print(f"{path}: CRASH {key}")
            if args.verbose or len(files) == 1:
                print(result.output.rstrip())
        else:
            print(f"{path}: ok")
    print(f"{len(files)} inputs, {crashed} crashed ({binary})")
    return 1 if crashed else 0


def command_v8gate(layout: Layout, rest: list[str]) -> int:
    script = Path(__file__).resolve().parent / "v8gate.py"
    if not script.is_file():
        print(f"wasmcache-fuzz v8gate: {script} does not exist yet "
              "(the V8 load-gate campaign lives there)", file=sys.stderr)
        return 2
    os.execv(sys.executable, [sys.executable, str(script), *rest])
    return 0  # Not reached.


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    layout = Layout.default()
    if argv and argv[0] == "v8gate":
        return command_v8gate(layout, argv[1:])
    args = parser().parse_args(argv)
    try:
        if args.command == "build":
            return builds.build(layout, args.engine, args.target, args.jobs)
        if args.command == "run":
            return command_run(layout, args)
        if args.command == "finish":
            finish_module.finish(layout, args.out.resolve(),
                                 _finish_options(args, jobs=args.jobs))
            return 0
        if args.command == "smoke":
            if args.build and builds.build_for_smoke(
                    layout, args.engine or list(ENGINES), args.target or None) != 0:
                return 1
            out = (args.out or layout.root / "build" / "fuzz-smoke").resolve()
            return smoke_module.smoke(layout, args.time,
                                      args.engine or list(ENGINES),
                                      args.target or layout.targets(),
                                      args.parallel, out)
        if args.command == "replay":
            return command_replay(layout, args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"wasmcache-fuzz: {error}", file=sys.stderr)
        return 1
    return 2
