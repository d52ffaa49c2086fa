"""Command line of ``alqa-compare`` / ``python -m alqa.compare``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alqa.compare.grouping import detect_swept_keys, drop_repeats, get_key, group_runs
from alqa.compare.loading import METRICS, UNSET, CompareError, Run, find_result_files, load_runs
from alqa.compare.plots import plot_learning_curves
from alqa.compare.summary import summarize
from alqa.compare.tables import markdown_table, write_csv, write_markdown


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of ``alqa-compare`` / ``python -m alqa.compare``."""
    parser = argparse.ArgumentParser(
        prog="alqa-compare",
        description="Compare active-learning runs: learning curves, AUBC and label savings.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        help="results.json files, run directories or Hydra multirun directories",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: the first path if it is a directory, else the cwd)",
    )
    parser.add_argument(
        "--group-by",
        nargs="*",
        action="extend",
        default=None,
        metavar="KEY",
        help="dotted config keys to group by besides strategy.name (default: auto-detect the "
        "swept keys; give the flag with no keys to group by strategy only; put it after the "
        "paths, or end its keys with --)",
    )
    parser.add_argument(
        "--metric",
        choices=METRICS,
        default="f1",
        help="metric for label savings, row order and the first plot (default: f1)",
    )
    parser.add_argument(
        "--per-seed",
        action="store_true",
        help="also draw each seed's curve as a thin line in its group's colour",
    )
    return parser


def _grouping_keys(group_by: list[str] | None, runs: list[Run]) -> list[str]:
    """The keys to group by: auto-detected, or the user's, each of which must exist somewhere."""
    if group_by is None:
        return detect_swept_keys([r.config for r in runs])
    keys = [k for k in dict.fromkeys(group_by) if k != "strategy.name"]
    missing = [k for k in keys if all(get_key(r.config, k) is UNSET for r in runs)]
    if missing:
        raise CompareError(
            f"--group-by {', '.join(missing)}: not found in the config of any of the "
            f"{len(runs)} runs; expected dotted keys such as budget.per_round"
        )
    return keys


def _output_dir(out: Path | None, first: Path) -> Path:
    """--out, else the first input if it is a directory, else the cwd; created if needed."""
    out_dir = out if out is not None else (first if first.is_dir() else Path.cwd())
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CompareError(f"{out_dir}: cannot create output directory ({exc})") from exc
    return out_dir


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; returns the exit code (2 for unusable inputs or arguments)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad arguments
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        files = find_result_files(args.paths)
        runs = load_runs(files)
        keys = _grouping_keys(args.group_by, runs)
        runs, repeats = drop_repeats(runs, keys)
        for note in repeats:
            print(f"alqa-compare: warning: {note}", file=sys.stderr)
        groups = group_runs(runs, keys)
        rows = summarize(groups, args.metric)
        out_dir = _output_dir(args.out, args.paths[0])
    except CompareError as exc:
        print(f"alqa-compare: error: {exc}", file=sys.stderr)
        return 2

    written = plot_learning_curves(groups, out_dir, args.metric, per_seed=args.per_seed)
    md_path, csv_path = out_dir / "comparison.md", out_dir / "comparison.csv"
    write_markdown(rows, md_path, args.metric, keys, files)
    write_csv(rows, csv_path, args.metric, keys)
    written += [md_path, csv_path]

    print(f"{len(runs)} runs, grouped by {', '.join(['strategy.name', *keys])}\n")
    print(markdown_table(rows, args.metric))
    print()
    for path in written:
        print(f"wrote {path}")
    return 0
