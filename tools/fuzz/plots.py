"""Plots of a campaign over time, in DIR/plots/.

AFL++: afl-plot of the main instance's plot_data (index.html, edges.png,
exec_speed.png, high_freq.png, low_freq.png). Both engines: gnuplot charts
of DIR/progress.csv, which adds up all instances: campaign_exec_speed.png,
campaign_execs.png, campaign_coverage.png, campaign_corpus.png,
campaign_crashes.png, shown by campaign.html (and by index.html when
afl-plot did not write one).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .progress import CSV_FIELDS, read_progress

CHARTS = [
    # (file, title, y label, [(field, legend)])
    ("campaign_exec_speed.png", "executions per second", "exec/s",
     [("execs_per_sec", "exec/s (all instances)")]),
    ("campaign_execs.png", "total executions", "execs",
     [("execs", "executions")]),
    ("campaign_coverage.png", "coverage", "edges",
     [("edges", "edges"), ("features", "features (libFuzzer ft)")]),
    ("campaign_corpus.png", "corpus", "inputs", [("corpus", "corpus size")]),
    ("campaign_crashes.png", "crashes and hangs", "inputs",
     [("crashes", "crashing inputs"), ("hangs", "hangs / timeouts")]),
]


def afl_plot(instance_dir: Path, plots_dir: Path, log: Path) -> bool:
    """afl-plot needs at least three lines in plot_data (AFL++ starts
    writing it after a minute)."""
    plot_data = instance_dir / "plot_data"
    if not plot_data.is_file() or len(plot_data.read_text().splitlines()) < 3:
        return False
    plots_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        code = subprocess.call(["afl-plot", str(instance_dir), str(plots_dir)],
                               stdout=handle, stderr=subprocess.STDOUT)
    return code == 0


def campaign_plots(progress_csv: Path, plots_dir: Path, title: str) -> list[str]:
    """gnuplot charts of progress.csv; returns the files written."""
    samples = read_progress(progress_csv)
    if len(samples) < 2 or shutil.which("gnuplot") is None:
        return []
    plots_dir.mkdir(parents=True, exist_ok=True)
    hours = samples[-1].elapsed > 7200
    data = plots_dir / "progress.dat"
    with open(data, "w") as handle:
        for s in samples:
            values = [getattr(s, f) for f in CSV_FIELDS]
            values[0] = s.elapsed / 3600.0 if hours else s.elapsed
            handle.write(" ".join(str(v) for v in values) + "\n")
    column = {name: index + 1 for index, name in enumerate(CSV_FIELDS)}
    script = [
        "set terminal png truecolor noenhanced size 1000,300 butt",
        "set grid xtics ytics linetype 0 linecolor rgb '#e0e0e0'",
        "set key outside",
        f"set xlabel '{'hours' if hours else 'seconds'} since start'",
        "set format y '%.0f'",
    ]
    written = []
    for filename, chart_title, ylabel, series in CHARTS:
        present = [(f, legend) for f, legend in series
                   if any(getattr(s, f) for s in samples)]
        if not present:
            present = series[:1]
        plots = ", ".join(
            f"'{data}' using 1:{column[f]} with lines linewidth 2 title '{legend}'"
            for f, legend in present)
        script += [f"set output '{plots_dir / filename}'",
                   f"set title '{title}: {chart_title}'",
                   f"set ylabel '{ylabel}'", f"plot {plots}"]
        written.append(filename)
    completed = subprocess.run(["gnuplot"], input="\n".join(script) + "\n",
                               text=True, capture_output=True)
    if completed.returncode != 0:
        raise RuntimeError(f"gnuplot failed: {completed.stderr.strip()}")
    html = ["<!doctype html><title>" + title + "</title>",
            f"<h1>{title}</h1>"]
    html += [f'<p><img src="{name}" width=1000 height=300>' for name in written]
    (plots_dir / "campaign.html").write_text("\n".join(html) + "\n")
    if not (plots_dir / "index.html").exists():
        (plots_dir / "index.html").write_text("\n".join(html) + "\n")
    return written
