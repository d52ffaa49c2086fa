"""Uncertainty sampling on the deterministic model's span distribution."""

from __future__ import annotations

import numpy as np

from alqa import uncertainty
from alqa.strategies.base import QueryContext, QueryStrategy, ScoreBasedStrategy


class RandomSampling(QueryStrategy):
    """Uniformly random questions: the baseline every other strategy must beat."""

    name = "random"

    def query(self, context: QueryContext, k: int) -> np.ndarray:
        return context.rng.choice(context.candidates, size=k, replace=False)


class LeastConfidence(ScoreBasedStrategy):
    """Questions whose best span is least probable."""

    name = "least_confidence"

    def score(self, context: QueryContext) -> np.ndarray:
        return uncertainty.least_confidence(context.scorer.spans().probs).cpu().numpy()


class Margin(ScoreBasedStrategy):
    """Questions whose two best (distinct) spans are closest in probability."""

    name = "margin"

    def score(self, context: QueryContext) -> np.ndarray:
        return uncertainty.margin(context.scorer.spans().probs).cpu().numpy()


class Entropy(ScoreBasedStrategy):
    """Questions whose span distribution has the highest entropy."""

    name = "entropy"

    def score(self, context: QueryContext) -> np.ndarray:
        return uncertainty.entropy(context.scorer.spans().probs).cpu().numpy()
