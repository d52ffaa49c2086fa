"""Budget-curve summaries shared by the AL loop and the offline comparison."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def area_under_budget_curve(n_labeled: Sequence[float], scores: Sequence[float]) -> float:
    """Normalised area under a learning curve (score vs labeled questions).

    Trapezoidal integral divided by the budget span, so the result stays on the score's own
    scale (0-100 for EM/F1) and curves of different lengths remain comparable. A single point
    has no span, so its AUBC is that point's score.
    """
    x, y = _as_curve(n_labeled, scores)
    if x.size == 1 or x[-1] == x[0]:
        return float(y[-1])
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def _as_curve(n_labeled: Sequence[float], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (labeled questions, score) curve the way area_under_budget_curve does."""
    x = np.asarray(n_labeled, dtype=float)
    y = np.asarray(scores, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("n_labeled and scores must be non-empty 1-D sequences of equal length")
    if np.any(np.diff(x) < 0):
        raise ValueError("n_labeled must be non-decreasing")
    return x, y


def labels_to_reach(
    n_labeled: Sequence[float], scores: Sequence[float], target: float
) -> float | None:
    """Labeled questions at which a curve first reaches ``target`` (None if it never does).

    Between two evaluated rounds the score is assumed to grow linearly, so a curve that passes
    the target between rounds gets credit for the interpolated budget rather than the next
    round's; this keeps label savings from being quantised to the round size. A relative
    tolerance of 1e-9 absorbs float noise from averaging over seeds.
    """
    x, y = _as_curve(n_labeled, scores)
    threshold = target - 1e-9 * max(1.0, abs(target))
    reached = np.flatnonzero(y >= threshold)
    if reached.size == 0:
        return None
    i = int(reached[0])
    if i == 0:
        return float(x[0])
    x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
    frac = float(np.clip((target - y0) / (y1 - y0), 0.0, 1.0))
    return float(x0 + frac * (x1 - x0))


def label_savings(
    strategy_curve: tuple[Sequence[float], Sequence[float]],
    random_curve: tuple[Sequence[float], Sequence[float]],
) -> float | None:
    """Labels saved by a strategy relative to random sampling (None if it never catches up).

    The target is random's final score; the savings are the labels random needed to first
    reach that score minus the labels the strategy needed. Random's own need is read off its
    curve, not taken as its last budget: a curve that dips at the end reached its final score
    earlier, and counting from the last budget would credit every strategy, random's own
    copy too, with labels it never saved. Negative values mean the strategy needed more labels
    than random and are returned as is, so a bad strategy is not hidden.
    """
    _, ry = _as_curve(*random_curve)
    target = float(ry[-1])
    needed = labels_to_reach(*strategy_curve, target=target)
    if needed is None:
        return None
    return float(labels_to_reach(*random_curve, target=target) - needed)
