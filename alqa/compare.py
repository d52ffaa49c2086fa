"""Offline comparison of finished (or partly finished) active-learning runs.

Usage::

    python -m alqa.compare multirun/2026-11-23/16-00-00 [more paths] \\
        [--out DIR] [--group-by KEY ...] [--metric f1]

Every ``results.json`` under the given paths is loaded, runs are grouped by strategy and by
any swept config key, seeds are aggregated within a group, and the script writes
``learning_curve.{png,svg}`` plus ``comparison.{md,csv}``. Scores are recomputed from the
per-round records rather than trusted from the stored summary, so runs that stopped early
still compare fairly.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alqa.curves import area_under_budget_curve, label_savings

RESULTS_NAME = "results.json"
METRICS = ("f1", "em")
RANDOM = "random"

# Two-sided 95% critical values of Student's t for df = 1..30, used when scipy is missing.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip

# Config keys that vary between runs without being an experimental condition: per-run
# bookkeeping (seeds, output locations, logging such as logger.name=<strategy>-seed<seed>)
# would otherwise split every run into its own group during auto-detection.
_EXCLUDED_PREFIXES = ("hydra.", "logger.", "wandb.")
_EXCLUDED_LEAVES = frozenset({"seed", "output_dir", "out_dir", "run_dir", "save_dir"})


class CompareError(Exception):
    """A user-facing problem with the inputs (reported with exit code 2, no traceback)."""


class NoRoundsYet(CompareError):
    """A results.json of a run that has not completed a round: nothing to compare yet."""


class _Unset:
    """Marker for a config key a run does not have, distinct from an explicit ``None``."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Run:
    """One AL run: its resolved config and its learning curve, sorted by budget."""

    path: Path
    config: Mapping[str, Any]
    n_labeled: np.ndarray
    scores: Mapping[str, np.ndarray]
    finished: bool
    planned_rounds: int | None

    @property
    def strategy(self) -> str:
        return strategy_name(self.config)

    @property
    def seed(self) -> Any:
        return self.config.get("seed", UNSET)

    @property
    def stopped_early(self) -> bool:
        """Whether the run has fewer rounds than planned, so its curve ends early."""
        if not self.finished:
            return True
        return self.planned_rounds is not None and self.n_labeled.size < self.planned_rounds


def strategy_name(config: Mapping[str, Any]) -> str:
    """The strategy's name, accepting either ``strategy: {name: ...}`` or ``strategy: name``."""
    strategy = config.get("strategy")
    if isinstance(strategy, Mapping):
        strategy = strategy.get("name")
    if not isinstance(strategy, str) or not strategy:
        raise KeyError("strategy.name")
    return strategy


def find_result_files(paths: Sequence[str | Path]) -> list[Path]:
    """Every results.json under the given paths, so a whole multirun can be passed at once.

    A path may be a results.json itself, a run directory or any ancestor of run directories
    (such as a Hydra multirun directory). A path that yields nothing is an error rather than
    silently ignored, because it is almost always a typo or a sweep that has not written yet.
    """
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found[path.resolve()] = None
            continue
        if not path.exists():
            raise CompareError(
                f"{path}: no such file or directory; expected a {RESULTS_NAME} file, a run "
                f"directory or a multirun directory containing run directories"
            )
        hits = sorted(path.rglob(RESULTS_NAME))
        if not hits:
            raise CompareError(
                f"{path}: no {RESULTS_NAME} found; expected a run directory or a multirun "
                f"directory whose job folders (0/, 1/, ...) each contain {RESULTS_NAME}"
            )
        for hit in hits:
            found[hit.resolve()] = None
    return list(found)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_run(path: str | Path) -> Run:
    """Parse and validate one results.json, failing with a message that names the file."""
    path = Path(path)
    expected = (
        f"expected a {RESULTS_NAME} written by an alqa run: an object with 'config' (containing "
        f"strategy.name) and a non-empty 'rounds' list of objects with numeric n_labeled, f1, em"
    )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareError(f"{path}: cannot read ({exc}); {expected}") from exc
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path}: not valid JSON ({exc}); {expected}") from exc
    if not isinstance(data, dict):
        raise CompareError(f"{path}: top level is {type(data).__name__}; {expected}")
    config = data.get("config")
    if not isinstance(config, dict):
        raise CompareError(f"{path}: missing or non-object 'config'; {expected}")
    try:
        strategy_name(config)
    except KeyError:
        raise CompareError(f"{path}: config has no strategy.name; {expected}") from None
    rounds = data.get("rounds")
    if not isinstance(rounds, list):
        raise CompareError(f"{path}: missing or non-list 'rounds'; {expected}")
    if not rounds:
        raise NoRoundsYet(f"{path}: no rounds yet (run just started?); skipped")
    for i, record in enumerate(rounds):
        if not isinstance(record, dict):
            raise CompareError(f"{path}: rounds[{i}] is not an object; {expected}")
        for key in ("n_labeled", *METRICS):
            if not _number(record.get(key)):
                raise CompareError(
                    f"{path}: rounds[{i}].{key} is missing or not a finite number; {expected}"
                )
    order = sorted(range(len(rounds)), key=lambda i: rounds[i]["n_labeled"])
    finished = data.get("finished", True)
    planned = data.get("planned_rounds")
    return Run(
        path=path,
        config=config,
        n_labeled=np.array([rounds[i]["n_labeled"] for i in order], dtype=float),
        scores={m: np.array([rounds[i][m] for i in order], dtype=float) for m in METRICS},
        finished=finished is not False,
        planned_rounds=planned
        if isinstance(planned, int) and not isinstance(planned, bool)
        else None,
    )


def load_runs(files: Sequence[Path]) -> list[Run]:
    """Load every file; runs without a single round yet (a sweep in progress) are skipped with
    a warning instead of failing the whole comparison."""
    runs = []
    for path in files:
        try:
            runs.append(load_run(path))
        except NoRoundsYet as exc:
            print(f"alqa-compare: warning: {exc}", file=sys.stderr)
    if not runs:
        raise CompareError(
            f"none of the {len(files)} results.json file(s) has a completed round yet; "
            "expected at least one run with a non-empty 'rounds' list"
        )
    return runs


# --------------------------------------------------------------------------- grouping


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config as ``{dotted.key: scalar}``; lists are skipped (never a sweep axis here)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, dotted + "."))
        elif not isinstance(value, (list, tuple)):
            flat[dotted] = value
    return flat


def get_key(config: Mapping[str, Any], dotted: str) -> Any:
    """Value at a dotted key, or UNSET; lists and dicts become JSON text so they can be grouped."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return UNSET
        node = node[part]
    if isinstance(node, (list, Mapping)):
        return json.dumps(node, sort_keys=True)
    return node


def _auto_candidate(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    if key == "strategy.name" or key.startswith(_EXCLUDED_PREFIXES):
        return False
    return leaf not in _EXCLUDED_LEAVES and not leaf.endswith("_seed")


def detect_swept_keys(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Config keys whose value differs between runs, i.e. the axes of a sweep.

    Seeds, ``hydra.*``, ``logger.*``, ``wandb.*``, output locations and lists are never sweep
    axes. A key that only follows keys already chosen (``model.name_or_path`` and the model's
    learning rate once ``model.name`` is swept) is dropped, so labels name each axis once;
    ``*.name`` keys and shallow keys are preferred. Keys under ``strategy.`` are strategy
    hyperparameters that naturally differ between strategies, so they only count when they
    split runs of the *same* strategy. Any other key counts wherever it differs (including
    present vs absent), so a strategy run with another model or dataset than its random
    baseline is never silently pooled or compared as if equal.
    """
    flats = [flatten_config(c) for c in configs]
    candidates = sorted(
        {k for flat in flats for k in flat if _auto_candidate(k)},
        key=lambda k: (not k.endswith(".name"), k.count("."), k),
    )
    general = [k for k in candidates if not k.startswith("strategy.")]
    specific = [k for k in candidates if k.startswith("strategy.")]

    def refine(blocks: list[tuple[Any, ...]], keys: list[str], kept: list[str]) -> list[tuple]:
        for key in keys:
            finer = [b + (flat.get(key, UNSET),) for b, flat in zip(blocks, flats, strict=True)]
            if len(set(finer)) > len(set(blocks)):
                kept.append(key)
                blocks = finer
        return blocks

    kept: list[str] = []
    blocks = refine([() for _ in flats], general, kept)
    refine([(strategy_name(c), *b) for c, b in zip(configs, blocks, strict=True)], specific, kept)
    return sorted(kept)


def _fmt_value(value: Any) -> str:
    return repr(value) if value is UNSET else str(value)


@dataclass
class Group:
    """Runs of one strategy under one setting of the grouping keys (one row, one curve)."""

    strategy: str
    key_values: dict[str, Any]
    runs: list[Run] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``strategy | key=value | ...``; another strategy's hyperparameters are left out."""
        parts = [self.strategy]
        for key, value in self.key_values.items():
            if not (value is UNSET and key.startswith("strategy.")):
                parts.append(f"{key}={_fmt_value(value)}")
        return " | ".join(parts)

    @property
    def is_random(self) -> bool:
        return self.strategy == RANDOM


def group_runs(runs: Sequence[Run], keys: Sequence[str]) -> list[Group]:
    """Group runs by strategy name plus the given dotted keys, pooling seeds within a group."""
    keys = [k for k in dict.fromkeys(keys) if k != "strategy.name"]
    groups: dict[tuple[Any, ...], Group] = {}
    for run in runs:
        values = {k: get_key(run.config, k) for k in keys}
        ident = (run.strategy, *values.values())
        groups.setdefault(ident, Group(run.strategy, values)).runs.append(run)
    return sorted(groups.values(), key=lambda g: g.label)


# --------------------------------------------------------------------------- statistics


def t_critical(df: int) -> float:
    """Two-sided 95% Student-t critical value (scipy if available, else a table, 1.96 beyond)."""
    if df < 1:
        raise ValueError("degrees of freedom must be >= 1")
    try:
        from scipy.stats import t
    except ImportError:
        return _T975[df - 1] if df <= len(_T975) else 1.96
    return float(t.ppf(0.975, df))


def mean_ci(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and 95% CI half-width over seeds; no CI from a single seed (it would be a guess)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("no values")
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, None
    return mean, t_critical(arr.size - 1) * float(arr.std(ddof=1)) / math.sqrt(arr.size)


@dataclass(frozen=True)
class MeanCurve:
    """Mean over seeds at each budget, using whichever runs reached that budget."""

    n_labeled: np.ndarray
    mean: np.ndarray
    ci: np.ndarray  # NaN where fewer than two runs reached the budget
    n_runs: np.ndarray


def mean_curve(runs: Sequence[Run], metric: str) -> MeanCurve:
    """Average a group's curves budget by budget.

    Runs that stopped early still contribute wherever they have data instead of truncating
    the whole group to the shortest run; the table notes which groups this affects.
    """
    by_x: dict[float, list[float]] = defaultdict(list)
    for run in runs:
        # A repeated budget (e.g. an exhausted pool) keeps the run's last score there.
        last = dict(zip(run.n_labeled.tolist(), run.scores[metric].tolist(), strict=True))
        for x, y in last.items():
            by_x[x].append(y)
    xs = sorted(by_x)
    stats = [mean_ci(by_x[x]) for x in xs]
    return MeanCurve(
        n_labeled=np.array(xs, dtype=float),
        mean=np.array([m for m, _ in stats]),
        ci=np.array([np.nan if c is None else c for _, c in stats]),
        n_runs=np.array([len(by_x[x]) for x in xs]),
    )


@dataclass
class Summary:
    """One table row: seed-aggregated scores of a group and its savings against random."""

    group: Group
    stats: dict[str, tuple[float, float | None]]  # e.g. "aubc_f1" -> (mean, ci half-width)
    savings: float | None
    savings_status: str  # "" when savings is a number, else "not reached"/"no random baseline"
    reference: str
    note: str

    @property
    def n_seeds(self) -> int:
        return len(self.group.runs)


def _pick_reference(group: Group, randoms: Sequence[Group]) -> tuple[Group | None, list[str]]:
    """The random group sharing this group's non-strategy key values (else the closest one)."""
    if group.is_random:
        return group, []
    keys = [k for k in group.key_values if not k.startswith("strategy.")]

    def mismatches(ref: Group) -> list[str]:
        return [k for k in keys if ref.key_values.get(k, UNSET) != group.key_values[k]]

    if not randoms:
        return None, []
    best = min(randoms, key=lambda r: len(mismatches(r)))  # ties: first label, randoms sorted
    return best, mismatches(best)


def summarize(groups: Sequence[Group], metric: str = "f1") -> list[Summary]:
    """Per-group rows, sorted by AUBC of ``metric`` (best first), with label savings on it."""
    randoms = [g for g in groups if g.is_random]
    rows = []
    for group in groups:
        runs = group.runs
        stats: dict[str, tuple[float, float | None]] = {}
        for m in METRICS:
            stats[f"aubc_{m}"] = mean_ci(
                [area_under_budget_curve(r.n_labeled, r.scores[m]) for r in runs]
            )
            stats[f"final_{m}"] = mean_ci([float(r.scores[m][-1]) for r in runs])
        stats["final_n_labeled"] = mean_ci([float(r.n_labeled[-1]) for r in runs])

        notes = []
        early = [r for r in runs if r.stopped_early]
        if early:
            notes.append(f"{len(early)} of {len(runs)} runs stopped early")
        seeds = [r.seed for r in runs if r.seed is not UNSET]
        dupes = sorted({str(s) for s in seeds if seeds.count(s) > 1})
        if dupes:
            notes.append(f"duplicate seed(s) {', '.join(dupes)}")

        ref, mismatched = _pick_reference(group, randoms)
        savings: float | None = None
        status = ""
        reference = ""
        if group.is_random:
            savings, reference = 0.0, group.label
        elif ref is None:
            status = "no random baseline"
        else:
            reference = ref.label
            rc, sc = mean_curve(ref.runs, metric), mean_curve(runs, metric)
            savings = label_savings((sc.n_labeled, sc.mean), (rc.n_labeled, rc.mean))
            if savings is None:
                status = "not reached"
            if mismatched:
                notes.append(f"savings vs '{ref.label}' (differs in {', '.join(mismatched)})")
        rows.append(Summary(group, stats, savings, status, reference, "; ".join(notes)))
    rows.sort(key=lambda s: (-s.stats[f"aubc_{metric}"][0], s.group.label))
    return rows


# --------------------------------------------------------------------------- output


def _pm(stat: tuple[float, float | None]) -> str:
    mean, ci = stat
    return f"{mean:.1f}" if ci is None else f"{mean:.1f} ± {ci:.1f}"


def _savings_text(row: Summary) -> str:
    if row.savings is None:
        return row.savings_status
    rounded = round(row.savings)
    return "0" if rounded == 0 else f"{rounded:+d}"


def markdown_table(rows: Sequence[Summary], metric: str = "f1") -> str:
    """Readable Markdown table (scores to one decimal, mean ± 95% CI half-width over seeds)."""
    header = [
        "group",
        "seeds",
        "AUBC F1",
        "AUBC EM",
        "final F1",
        "final EM",
        f"label savings vs random ({metric.upper()})",
        "note",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["--:"] * 6 + ["---"]) + "|",
    ]
    for row in rows:
        cells = [
            row.group.label,
            str(row.n_seeds),
            _pm(row.stats["aubc_f1"]),
            _pm(row.stats["aubc_em"]),
            _pm(row.stats["final_f1"]),
            _pm(row.stats["final_em"]),
            _savings_text(row),
            row.note,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def write_markdown(
    rows: Sequence[Summary], path: Path, metric: str, keys: Sequence[str], inputs: Sequence[Path]
) -> None:
    """comparison.md: the table plus how it was computed, so the file stands on its own."""
    grouping = ", ".join(["strategy.name", *keys])
    text = "\n".join(
        [
            "# Active-learning run comparison",
            "",
            f"{sum(r.n_seeds for r in rows)} runs from {len(inputs)} results.json file(s), "
            f"grouped by {grouping}.",
            "",
            markdown_table(rows, metric),
            "",
            "Scores are on a 0-100 scale, shown as mean ± 95% CI half-width over seeds "
            "(Student t; no CI with one seed). AUBC is recomputed from the rounds. Label "
            f"savings: labels random needed for its final {metric.upper()} minus the "
            "(interpolated) labels the group's mean curve needed to reach it; negative means "
            "more labels than random.",
            "",
        ]
    )
    path.write_text(text, encoding="utf-8")


def write_csv(rows: Sequence[Summary], path: Path, metric: str, keys: Sequence[str]) -> None:
    """comparison.csv: numeric mean and CI columns (CI empty for one seed) for further analysis."""
    stat_names = ["aubc_f1", "aubc_em", "final_f1", "final_em", "final_n_labeled"]
    header = ["group", "strategy", *keys, "n_seeds"]
    for name in stat_names:
        header += [f"{name}_mean", f"{name}_ci"]
    header += [f"label_savings_{metric}", "label_savings_status", "random_reference", "note"]

    def num(value: float | None) -> str:
        return "" if value is None else f"{value:.6f}"

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            line = [row.group.label, row.group.strategy]
            line += [_fmt_value(row.group.key_values[k]) for k in keys]
            line.append(str(row.n_seeds))
            for name in stat_names:
                mean, ci = row.stats[name]
                line += [num(mean), num(ci)]
            line += [num(row.savings), row.savings_status, row.reference, row.note]
            writer.writerow(line)


def plot_learning_curves(groups: Sequence[Group], out_dir: Path, metric: str = "f1") -> list[Path]:
    """learning_curve.png/.svg: mean ± 95% CI per group, random drawn on top as the reference."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = [metric] + [m for m in METRICS if m != metric]
    others = [g for g in groups if not g.is_random]
    randoms = [g for g in groups if g.is_random]
    cmap = colormaps["tab10" if len(others) <= 10 else "tab20"]
    dashes = ["--", ":", "-.", (0, (5, 1, 1, 1))]

    fig = Figure(figsize=(12, 5.5), layout="constrained")
    FigureCanvasAgg(fig)  # Agg, without touching pyplot's global backend
    axes = fig.subplots(1, len(metrics), sharex=True)

    def legend_label(group: Group, label: str) -> str:
        early = sum(r.stopped_early for r in group.runs)
        return f"{label} ({early}/{len(group.runs)} stopped early)" if early else label

    def draw(ax: Any, curve: MeanCurve, label: str, style: dict[str, Any], band: str) -> None:
        ax.plot(curve.n_labeled, curve.mean, label=label, **style)
        has_ci = np.isfinite(curve.ci)
        if has_ci.any():
            ci = np.where(has_ci, curve.ci, 0.0)
            ax.fill_between(
                curve.n_labeled,
                curve.mean - ci,
                curve.mean + ci,
                where=has_ci,
                color=band,
                alpha=0.18,
                linewidth=0,
                zorder=style.get("zorder", 2) - 1,
            )

    for ax, m in zip(axes, metrics, strict=True):
        for i, group in enumerate(others):
            color = cmap(i % cmap.N)
            style = {"color": color, "marker": "o", "markersize": 3, "linewidth": 1.5}
            draw(ax, mean_curve(group.runs, m), legend_label(group, group.label), style, color)
        for j, group in enumerate(randoms):
            label = legend_label(group, "random (reference)" + group.label[len(RANDOM) :])
            style = {
                "color": "black",
                "linestyle": dashes[j % len(dashes)],
                "linewidth": 2,
                "zorder": 10,
            }
            draw(ax, mean_curve(group.runs, m), label, style, "black")
        ax.set_title(f"{m.upper()} vs labeled questions (mean ± 95% CI over seeds)")
        ax.set_xlabel("labeled questions")
        ax.set_ylabel(f"{m.upper()} (0-100)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize="small"
    )
    paths = [out_dir / "learning_curve.png", out_dir / "learning_curve.svg"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1], metadata={"Date": None})  # reproducible SVG
    return paths


# --------------------------------------------------------------------------- CLI


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
    return parser


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
        if args.group_by is None:
            keys = detect_swept_keys([r.config for r in runs])
        else:
            keys = [k for k in dict.fromkeys(args.group_by) if k != "strategy.name"]
            missing = [k for k in keys if all(get_key(r.config, k) is UNSET for r in runs)]
            if missing:
                raise CompareError(
                    f"--group-by {', '.join(missing)}: not found in the config of any of the "
                    f"{len(runs)} runs; expected dotted keys such as budget.per_round"
                )
        groups = group_runs(runs, keys)
        rows = summarize(groups, args.metric)

        first = args.paths[0]
        out_dir = args.out if args.out is not None else (first if first.is_dir() else Path.cwd())
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CompareError(f"{out_dir}: cannot create output directory ({exc})") from exc
    except CompareError as exc:
        print(f"alqa-compare: error: {exc}", file=sys.stderr)
        return 2

    written = plot_learning_curves(groups, out_dir, args.metric)
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


if __name__ == "__main__":
    raise SystemExit(main())
