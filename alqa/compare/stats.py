"""Seed statistics: means with Student-t intervals, and mean learning curves."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from alqa.compare.loading import Run


def t_critical(df: int) -> float:
    """Two-sided 95% Student-t critical value: with a handful of seeds the normal 1.96 would
    make intervals far too narrow."""
    if df < 1:
        raise ValueError("degrees of freedom must be >= 1")
    return float(stats.t.ppf(0.975, df))


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
    per_x = [mean_ci(by_x[x]) for x in xs]
    return MeanCurve(
        n_labeled=np.array(xs, dtype=float),
        mean=np.array([m for m, _ in per_x]),
        ci=np.array([np.nan if c is None else c for _, c in per_x]),
        n_runs=np.array([len(by_x[x]) for x in xs]),
    )
