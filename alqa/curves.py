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
    x = np.asarray(n_labeled, dtype=float)
    y = np.asarray(scores, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("n_labeled and scores must be non-empty 1-D sequences of equal length")
    if np.any(np.diff(x) < 0):
        raise ValueError("n_labeled must be non-decreasing")
    if x.size == 1 or x[-1] == x[0]:
        return float(y[-1])
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))
