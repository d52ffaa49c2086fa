"""Offline comparison of finished (or partly finished) active-learning runs.

Usage::

    python -m alqa.compare multirun/2026-11-23/16-00-00 [more paths] \\
        [--out DIR] [--group-by KEY ...] [--metric f1] [--per-seed]

Every ``results.json`` under the given paths is loaded, runs are grouped by strategy and by
any swept config key, seeds are aggregated within a group, and the script writes
``learning_curve.{png,svg}`` plus ``comparison.{md,csv}``. Scores are recomputed from the
per-round records rather than trusted from the stored summary, so runs that stopped early
still compare fairly.

Modules, one job each: ``loading`` (files -> validated runs), ``grouping`` (swept keys,
groups, random reference), ``stats`` (seed statistics, paired tests), ``pairing`` (runs
matched by seed with random), ``summary`` (one row per group), ``tables`` (Markdown, CSV),
``plots`` (learning curves), ``cli`` (the command).
"""

from alqa.compare.cli import build_parser, main
from alqa.compare.grouping import RANDOM, Group, detect_swept_keys, drop_repeats, group_runs
from alqa.compare.loading import METRICS, CompareError, Run, find_result_files, load_run, load_runs
from alqa.compare.pairing import PairedComparison, Pairing, compare_paired, pair_by_seed
from alqa.compare.plots import learning_curve_figure, plot_learning_curves
from alqa.compare.stats import (
    MeanCurve,
    PairedDelta,
    SeedSavings,
    mean_ci,
    mean_curve,
    paired_delta,
    seed_savings,
    t_critical,
)
from alqa.compare.summary import Summary, summarize
from alqa.compare.tables import markdown_table, write_csv, write_markdown

__all__ = [
    "METRICS",
    "RANDOM",
    "CompareError",
    "Group",
    "MeanCurve",
    "PairedComparison",
    "PairedDelta",
    "Pairing",
    "Run",
    "SeedSavings",
    "Summary",
    "build_parser",
    "compare_paired",
    "detect_swept_keys",
    "drop_repeats",
    "find_result_files",
    "group_runs",
    "learning_curve_figure",
    "load_run",
    "load_runs",
    "main",
    "markdown_table",
    "mean_ci",
    "mean_curve",
    "pair_by_seed",
    "paired_delta",
    "plot_learning_curves",
    "seed_savings",
    "summarize",
    "t_critical",
    "write_csv",
    "write_markdown",
]
