"""Stochastic batch acquisition (strategy.batch): the distributions it samples from."""

from __future__ import annotations

import numpy as np
import pytest

from alqa.strategies.base import stochastic_batch, top_k

SCORES = np.array([0.1, 5.0, 0.2, 4.0, 0.3, 3.0])


def frequencies(mode: str, beta: float, k: int = 1, draws: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(0)
    counts = np.zeros(len(SCORES))
    for _ in range(draws):
        counts[stochastic_batch(SCORES, k, mode, beta, rng)] += 1
    return counts / draws


def test_topk_takes_the_best_and_breaks_ties_by_position():
    assert stochastic_batch(SCORES, 3, "topk", 1.0, np.random.default_rng(0)).tolist() == [1, 3, 5]
    assert top_k(np.array([1.0, 2.0, 2.0, 0.0]), 2).tolist() == [1, 2]


@pytest.mark.parametrize(
    ("mode", "beta", "weights"),
    [
        ("softmax", 1.0, np.exp(SCORES)),
        ("power", 2.0, SCORES**2),
        ("softrank", 1.0, 1.0 / np.array([6, 1, 5, 2, 4, 3])),
    ],
)
def test_single_draws_follow_the_documented_distribution(mode, beta, weights):
    expected = weights / weights.sum()
    assert np.allclose(frequencies(mode, beta), expected, atol=0.03)


def test_large_beta_approaches_topk_and_small_beta_approaches_uniform():
    sharp = frequencies("softmax", 50.0, k=2, draws=500)
    assert sharp[1] == 1.0 and sharp[3] == 1.0  # the two best, every time
    flat = frequencies("softrank", 1e-6, draws=3000)
    assert np.allclose(flat, 1 / 6, atol=0.03)


def test_batches_are_distinct_reproducible_and_infinite_scores_go_first():
    scores = np.array([0.5, np.inf, 0.1, 0.9, np.inf, 0.2])
    first = stochastic_batch(scores, 4, "softmax", 1.0, np.random.default_rng(3))
    again = stochastic_batch(scores, 4, "softmax", 1.0, np.random.default_rng(3))
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == 4
    assert {1, 4} <= set(first.tolist())  # no valid span: always labeled


def test_power_shifts_negative_scores_instead_of_failing():
    scores = np.array([-3.0, -1.0, -2.0])  # e.g. margin scores are -(gap)
    picks = stochastic_batch(scores, 2, "power", 5.0, np.random.default_rng(0))
    assert len(set(picks.tolist())) == 2


def test_unknown_mode_names_the_choices():
    with pytest.raises(ValueError, match="topk, power, softmax, softrank"):
        stochastic_batch(SCORES, 1, "greedy", 1.0, np.random.default_rng(0))


@pytest.mark.parametrize("mode", ["softmax", "power", "softrank"])
def test_unscored_candidates_are_drawn_only_once_every_scored_one_is_taken(mode):
    """−inf marks a candidate left out of scoring (strategy.mc_candidates): never drawn
    before a scored one, however the batch is sampled."""
    scores = np.full(200, -np.inf)
    scored = np.arange(0, 200, 10)  # 20 scored candidates among 200
    scores[scored] = np.linspace(0.1, 2.0, len(scored))
    for seed in range(5):
        picks = stochastic_batch(scores, 10, mode, 1.0, np.random.default_rng(seed))
        assert set(picks.tolist()) <= set(scored.tolist())
    all_scored_then_more = stochastic_batch(scores, 25, mode, 1.0, np.random.default_rng(0))
    assert set(all_scored_then_more[:20].tolist()) == set(scored.tolist())
