"""Seed statistics: means with Student-t intervals, and mean learning curves."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alqa.compare.loading import Run

# Two-sided 95% critical values of Student's t for df = 1..30, used when scipy is missing.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


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
