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


# Below six pairs the smallest two-sided exact signed-rank p is 2/2^5 = 0.0625, so the test
# could never flag a difference at the 5% level and would only add noise to the table.
WILCOXON_MIN_PAIRS = 6

# Differences this small relative to the scores are float noise (e.g. from averaging rounds),
# the same tolerance alqa.curves.labels_to_reach uses.
_RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PairedDelta:
    """Mean per-seed difference (strategy - random) with its 95% t interval and tests.

    ``ci``, ``p_value`` and ``wilcoxon_p`` are None where they would be made up: one pair has
    no spread, the signed-rank test needs WILCOXON_MIN_PAIRS pairs, and a t-test of the same
    non-zero difference on every seed divides by zero. Identical curves (every difference 0)
    are no evidence of a difference at all: p = 1 for both tests.
    """

    n: int
    mean: float
    ci: float | None
    p_value: float | None
    wilcoxon_p: float | None
    constant: bool  # every pair has the same difference (within float noise)


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def paired_delta(strategy: Sequence[float], random: Sequence[float]) -> PairedDelta:
    """Compare paired values seed by seed (paired t-test; Wilcoxon signed-rank with >= 6).

    Pairing removes the seed-to-seed variation both runs share (initial set, evaluation
    subset), so it detects differences the two groups' separate intervals would hide.
    """
    s, r = np.asarray(strategy, dtype=float), np.asarray(random, dtype=float)
    if s.shape != r.shape or s.ndim != 1 or s.size == 0:
        raise ValueError("strategy and random must be non-empty 1-D sequences of equal length")
    tolerance = _RELATIVE_TOLERANCE * max(1.0, float(np.abs(np.concatenate([s, r])).max()))
    diff = np.where(np.abs(s - r) <= tolerance, 0.0, s - r)
    mean, ci = mean_ci(diff)
    if diff.size < 2:
        return PairedDelta(1, mean, None, None, None, constant=False)
    constant = float(np.ptp(diff)) <= tolerance
    identical = constant and not diff.any()
    if constant:
        p_value = 1.0 if identical else None
    else:
        p_value = _finite_or_none(stats.ttest_rel(s, r).pvalue)
    wilcoxon_p = None
    if diff.size >= WILCOXON_MIN_PAIRS:
        wilcoxon_p = 1.0 if identical else _finite_or_none(stats.wilcoxon(diff).pvalue)
    return PairedDelta(diff.size, mean, 0.0 if constant else ci, p_value, wilcoxon_p, constant)


@dataclass(frozen=True)
class SeedSavings:
    """Label savings computed seed by seed: mean and 95% t interval over the seeds whose
    strategy run reached its random run's final score, plus how many never did."""

    mean: float | None
    ci: float | None
    n_not_reached: int


def seed_savings(values: Sequence[float | None]) -> SeedSavings:
    """Summarise per-seed savings; None entries are seeds that never reached random's score."""
    reached = [v for v in values if v is not None]
    mean, ci = mean_ci(reached) if reached else (None, None)
    return SeedSavings(mean, ci, len(values) - len(reached))
