"""Campaign tooling for the fuzz targets in fuzz/ (the `wasmcache-fuzz` script).

A campaign is one target under one engine on N cores for a while, in one
directory that holds everything it produced:

    DIR/campaign.json     what ran: target, engine, cores, commands, times
    DIR/progress.csv      the live samples (elapsed, execs, exec/s, edges, ...)
    DIR/summary.json      the final figures (read back by `smoke`)
    DIR/logs/             each engine process's output
    DIR/sync/             AFL++: the sync directory, one folder per instance
    DIR/corpus/           libFuzzer: the working corpus (seeds stay in corpus/)
    DIR/corpus-min/       the minimized corpus (afl-cmin or -merge=1)
    DIR/crashes/          one folder per distinct finding, SUMMARY.md;
                          libFuzzer's raw artifacts in crashes/raw/
    DIR/coverage/         llvm-cov HTML of reference/, fast/ and spec/,
                          report.txt and summary.txt
    DIR/plots/            afl-plot output and the campaign's own PNGs

The modules, one job each:

    layout      where the checkout, build trees, seeds, dictionaries are
    builds      configuring and building presets under the global build lock
    sanitizers  ASan/UBSan options while fuzzing and while replaying
    processes   engine processes in their own groups, stopped cleanly
    progress    the sample type, the status line, progress.csv
    afl         AFL++ instances (main, secondaries, CMPLOG), their statistics
    libfuzzer   libFuzzer -fork=N, its output, its options file
    campaign    `run`: start, watch, stop
    minimize    the corpus minimization step
    triage      replaying crashes, keying them by finding or stack, reproducers
    coverage    llvm-profdata and llvm-cov over the minimized corpus
    plots       afl-plot and gnuplot
    finish      the steps after a campaign and the final summary
    smoke       what CI runs: every target under every engine, briefly
    cli         the subcommands

Trust: nothing here trusts the bytes a target is fed or the crash output it
prints; findings are keyed by text the fuzz library prints on purpose
(`wasmcache-finding: <signature>`) or by symbolized stack frames, never by
addresses.
"""
