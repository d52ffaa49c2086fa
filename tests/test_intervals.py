"""The per-round bootstrap interval, against a bootstrap written out in the test."""

from __future__ import annotations

import numpy as np
import pytest

from alqa.intervals import bootstrap_interval


def reference_interval(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """Plain percentile bootstrap: resample questions with replacement, take the mean."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def test_matches_a_hand_written_bootstrap_on_hand_built_scores():
    # 40 questions: 25 fully right (100), 10 wrong (0), 5 half right (50): mean 68.75
    values = np.array([100.0] * 25 + [0.0] * 10 + [50.0] * 5)
    low, high = bootstrap_interval(values, resamples=4000)
    ref_low, ref_high = reference_interval(values, 40000, seed=123)
    assert low < values.mean() < high
    assert low == pytest.approx(ref_low, abs=1.5) and high == pytest.approx(ref_high, abs=1.5)
    # the normal approximation of the mean's 95% interval, a third, independent check
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert high - low == pytest.approx(2 * half, rel=0.15)


def test_more_questions_narrow_the_interval_and_the_seed_fixes_it():
    rng = np.random.default_rng(0)
    small = rng.choice([0.0, 100.0], size=50)
    large = rng.choice([0.0, 100.0], size=2000)
    width = [np.subtract(*bootstrap_interval(v)[::-1]) for v in (small, large)]
    assert width[1] < width[0] / 4
    assert bootstrap_interval(small, seed=3) == bootstrap_interval(small, seed=3)


def test_constant_scores_have_a_zero_width_interval():
    assert bootstrap_interval(np.full(30, 100.0)) == (100.0, 100.0)
    with pytest.raises(ValueError):
        bootstrap_interval(np.array([]))
