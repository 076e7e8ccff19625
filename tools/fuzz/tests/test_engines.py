"""Engine plumbing: instance plans, statistics parsers, options
(tools/fuzz/afl.py, libfuzzer.py, layout.py, progress.py, coverage.py).

Run: python3 -m unittest discover -s tools/fuzz/tests -t tools
"""

import tempfile
import unittest
from pathlib import Path

from fuzz import afl, coverage, layout, libfuzzer, progress


class AflPlanTest(unittest.TestCase):
    def test_one_main_and_distinct_secondaries(self):
        plan = afl.plan_instances(8, "box", Path("/cmplog"), False, False)
        self.assertEqual([i.name for i in plan],
                         ["main"] + [f"box-s{k}" for k in range(1, 8)])
        self.assertEqual([i.role for i in plan].count("main"), 1)
        schedules = [i.options[i.options.index("-p") + 1] for i in plan[1:]]
        self.assertEqual(len(set(schedules)), 7)
        # The first secondary runs CMPLOG, with transformations.
        self.assertTrue(plan[1].cmplog)
        self.assertIn("2AT", plan[1].options)
        self.assertEqual(sum(i.cmplog for i in plan), 1)
        self.assertTrue(any("-L" in i.options for i in plan))

    def test_secondaries_only_for_more_machines(self):
        plan = afl.plan_instances(3, "other", None, True, False)
        self.assertEqual([i.name for i in plan], ["other-s1", "other-s2", "other-s3"])
        self.assertFalse(any(i.cmplog for i in plan))

    def test_single_core_is_a_lone_secondary(self):
        plan = afl.plan_instances(1, "box", None, False, True)
        self.assertEqual([(i.name, i.role) for i in plan], [("main", "secondary")])
        cmd = afl.command(plan[0], Path("/b/t"), Path("/s"), Path("/o"), None,
                          4096, 60, 2000)
        self.assertEqual(cmd[:8], ["afl-fuzz", "-i", "/s", "-o", "/o", "-S", "main", "-T"])
        self.assertIn("-G", cmd)
        self.assertEqual(cmd[cmd.index("-V") + 1], "60")
        self.assertEqual(cmd[cmd.index("-t") + 1], "2000+")
        self.assertEqual(cmd[-2:], ["--", "/b/t"])

    def test_timeouts_from_options(self):
        self.assertEqual(afl.timeout_ms({}), 2000)
        self.assertEqual(afl.timeout_ms({"timeout": "25"}), 5000)
        self.assertEqual(afl.timeout_ms({"timeout": "1"}), 1000)
        self.assertEqual(afl.max_len({"max_len": "65536"}), 65536)
        self.assertIsNone(afl.max_len({}))


class AflStatsTest(unittest.TestCase):
    def test_statsd_gauges_by_banner(self):
        listener = afl.StatsdListener()
        try:
            listener.feed(
                "fuzzing.execs_done:6428|g|#banner:main,afl_version:++4.04c\n"
                "fuzzing.execs_per_sec:5886.45|g|#banner:main,afl_version:++4.04c\n"
                "fuzzing.edges_found:43|g|#banner:main,afl_version:++4.04c\n"
                "fuzzing.execs_done:100|g|#banner:box-s1,afl_version:++4.04c\n")
            main = listener.instance_stats("main")
            self.assertEqual((main.execs, main.edges), (6428, 43))
            self.assertAlmostEqual(main.execs_per_sec, 5886.45)
            self.assertEqual(listener.instance_stats("box-s1").execs, 100)
            self.assertIsNone(listener.instance_stats("nobody"))
        finally:
            listener.close()

    def test_fuzzer_stats_old_and_new_names(self):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "fuzzer_stats").write_text(
                "execs_done        : 250286\nexecs_per_sec     : 6256.84\n"
                "paths_total       : 53\nunique_crashes    : 14\n"
                "bitmap_cvg        : 19.20%\nedges_found       : 43\n"
                "total_edges       : 224\n")
            stats = afl.instance_stats_from_file(folder)
            self.assertEqual((stats.execs, stats.corpus, stats.crashes,
                              stats.edges, stats.total_edges),
                             (250286, 53, 14, 43, 224))
            self.assertAlmostEqual(stats.bitmap_cvg, 19.2)

    def test_combine_sums_work_and_takes_largest_coverage(self):
        sample = afl.combine([afl.InstanceStats(execs=10, execs_per_sec=1, edges=5, corpus=3, crashes=1),
                              afl.InstanceStats(execs=20, execs_per_sec=2, edges=7, corpus=2, crashes=2)],
                             12.0, 2, 2)
        self.assertEqual((sample.execs, sample.execs_per_sec, sample.edges,
                          sample.corpus, sample.crashes), (30, 3, 7, 3, 3))


class LibFuzzerTest(unittest.TestCase):
    def test_parent_status_line(self):
        reader = libfuzzer.OutputReader(Path("/nonexistent"))
        reader.feed("#5175742: cov: 30 ft: 91 corp: 55 exec/s 155830 "
                    "oom/timeout/crash: 0/1/2 time: 15s job: 6 dft_time: 0")
        state = reader.state
        self.assertEqual((state.execs, state.cov, state.ft, state.corpus,
                          state.timeouts, state.crashes, state.seconds),
                         (5175742, 30, 91, 55, 1, 2, 15))
        self.assertEqual(reader.merged_jobs, {6})
        reader.feed("==9806==ERROR: AddressSanitizer: heap-buffer-overflow on address")
        self.assertEqual(len(reader.error_lines), 1)

    def test_running_jobs_logs(self):
        with tempfile.TemporaryDirectory() as tmp:
            jobs = Path(tmp) / "libFuzzerTemp.FuzzWithFork12.dir"
            jobs.mkdir()
            (jobs / "4.log").write_text(
                "#901386\tREDUCE cov: 18 ft: 86 corp: 40/8933b lim: 4096 exec/s: 225346\n"
                "#917754\tREDUCE cov: 18 ft: 87 corp: 40/8929b lim: 4096 exec/s: 229438\n")
            (jobs / "5.log").write_text("#65536\tpulse  cov: 19 ft: 80 corp: 3/10b\n")
            self.assertEqual(libfuzzer.running_job_execs(Path(tmp)),
                             (917754 + 65536, 19, 87))
            # A merged job's log may linger; the parent counted it.
            self.assertEqual(libfuzzer.running_job_execs(Path(tmp), {4}),
                             (65536, 19, 80))

    def test_in_process_output(self):
        reader = libfuzzer.OutputReader(Path("/nonexistent"))
        for line in ["INFO: Seed: 1", "#59191\tREDUCE cov: 5001 ft: 16536 corp: 768/1304Kb lim: 32768 exec/s: 1973",
                     "stat::number_of_executed_units: 60000", "INFO: Seed: 2",
                     "#100\tNEW    cov: 5002 ft: 16540 corp: 769/1305Kb"]:
            reader.feed(line)
        self.assertEqual((reader.finished_execs, reader.process_execs,
                          reader.process_cov, reader.process_corpus),
                         (60000, 100, 5002, 769))

    def test_options_cannot_override_the_campaign(self):
        flags = libfuzzer.option_flags({"max_len": "65536", "fork": "8",
                                        "max_total_time": "5", "dict": "x.dict"},
                                       Path("/repo/fuzz"))
        self.assertEqual(flags, ["-max_len=65536", "-dict=/repo/fuzz/x.dict"])

    def test_fork_command(self):
        cmd = libfuzzer.fuzz_command(Path("/b/t"), 2, 60, Path("/o/corpus"),
                                     [Path("/seeds")], Path("/o/crashes/raw"),
                                     Path("/repo/fuzz/t.dict"), {"max_len": "9"},
                                     Path("/repo/fuzz"))
        self.assertIn("-fork=2", cmd)
        self.assertIn("-ignore_crashes=1", cmd)
        self.assertIn("-artifact_prefix=/o/crashes/raw/", cmd)
        self.assertIn("-dict=/repo/fuzz/t.dict", cmd)
        self.assertEqual(cmd[-2:], ["/o/corpus", "/seeds"])


class LayoutTest(unittest.TestCase):
    def test_options_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "t.options"
            path.write_text("[libfuzzer]\nmax_len = 65536\ntimeout=25\n\n[afl]\nx = 1\n")
            self.assertEqual(layout.read_options(path),
                             {"max_len": "65536", "timeout": "25"})
            self.assertEqual(layout.read_options(Path(tmp) / "missing"), {})


class ProgressTest(unittest.TestCase):
    def test_csv_round_trip(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "progress.csv"
            log = progress.ProgressLog(path)
            log.append(progress.Sample(elapsed=1.5, execs=10, execs_per_sec=6.7, edges=3))
            log.append(progress.Sample(elapsed=3.0, execs=20, crashes=1))
            log.close()
            samples = progress.read_progress(path)
            self.assertEqual([(s.elapsed, s.execs, s.crashes) for s in samples],
                             [(1.5, 10, 0), (3.0, 20, 1)])
            self.assertAlmostEqual(samples[0].execs_per_sec, 6.7)

    def test_rate_over_a_window(self):
        meter = progress.RateMeter(window=10)
        meter.update(0, 0)
        meter.update(5, 500)
        self.assertAlmostEqual(meter.update(10, 1000), 100.0)
        self.assertAlmostEqual(meter.update(20, 1100), 10.0)


class CoverageTest(unittest.TestCase):
    def test_by_directory(self):
        root = Path("/repo")
        export = {"data": [{"files": [
            {"filename": "/repo/reference/a.cc", "summary": {
                "lines": {"covered": 5, "count": 10}, "regions": {"covered": 1, "count": 2},
                "branches": {"covered": 0, "count": 4}, "functions": {"covered": 1, "count": 1}}},
            {"filename": "/repo/reference/b.h", "summary": {
                "lines": {"covered": 5, "count": 10}}},
            {"filename": "/repo/fast/c.cc", "summary": {
                "lines": {"covered": 1, "count": 4}}}]}]}
        rows = coverage.by_directory(export, [root / "fast", root / "reference"])
        self.assertEqual([(r.directory, r.lines) for r in rows],
                         [("fast/", (1, 4)), ("reference/", (10, 20)), ("total", (11, 24))])
        self.assertIn("50.00%", coverage.format_table(rows))


if __name__ == "__main__":
    unittest.main()
