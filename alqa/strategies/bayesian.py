"""Uncertainty from Monte-Carlo dropout (Gal et al. 2017): T stochastic passes per round.

All of them score the same fixed candidate spans per question (the deterministic n-best,
keyed by character offsets) in every pass; see :mod:`alqa.mc_dropout` for why. Cost per
round: one deterministic pass over the candidates' windows plus ``mc_passes`` dropout passes
over the windows that host a candidate span.
"""

from __future__ import annotations

import numpy as np
import torch

from alqa import uncertainty
from alqa.mc_dropout import mc_span_log_probs
from alqa.strategies.base import QueryContext, ScoreBasedStrategy


class MCDropoutStrategy(ScoreBasedStrategy):
    """Base of the MC-dropout strategies: owns ``mc_passes`` and the per-pass distributions."""

    def __init__(
        self,
        mc_passes: int = 10,
        batch: str = "topk",
        beta: float = 1.0,
        attention_dropout: bool = True,
    ) -> None:
        super().__init__(batch=batch, beta=beta)
        if int(mc_passes) < 1:
            raise ValueError(f"strategy.mc_passes must be at least 1, got {mc_passes}")
        self.mc_passes = int(mc_passes)
        self.attention_dropout = bool(attention_dropout)

    def pass_probs(self, context: QueryContext) -> torch.Tensor:
        """[T, E, n] candidate-span probabilities of each dropout pass (0 on padding)."""
        return mc_span_log_probs(
            context.scorer, context.rng, self.mc_passes, self.attention_dropout
        ).exp()


class MarginDropout(MCDropoutStrategy):
    """Margin between the two best spans of the MC-averaged span distribution."""

    name = "margin_dropout"

    def score(self, context: QueryContext) -> np.ndarray:
        mean = uncertainty.mc_mean_probs(self.pass_probs(context))
        return uncertainty.margin(mean).cpu().numpy()


class LeastConfidenceDropout(MCDropoutStrategy):
    """1 − probability of the best span of the MC-averaged span distribution."""

    name = "least_confidence_dropout"

    def score(self, context: QueryContext) -> np.ndarray:
        mean = uncertainty.mc_mean_probs(self.pass_probs(context))
        return uncertainty.least_confidence(mean).cpu().numpy()


class EntropyDropout(MCDropoutStrategy):
    """Entropy of the MC-averaged span distribution (total predictive uncertainty)."""

    name = "entropy_dropout"

    def score(self, context: QueryContext) -> np.ndarray:
        mean = uncertainty.mc_mean_probs(self.pass_probs(context))
        return uncertainty.entropy(mean).cpu().numpy()


class VariationRatio(MCDropoutStrategy):
    """How often the passes' best spans differ from the modal one (Freeman 1965)."""

    name = "var_ratio"

    def score(self, context: QueryContext) -> np.ndarray:
        return uncertainty.variation_ratio(self.pass_probs(context)).cpu().numpy()


class BALD(MCDropoutStrategy):
    """Mutual information between answer and weights (Houlsby et al. 2011): disagreement."""

    name = "bald"

    def score(self, context: QueryContext) -> np.ndarray:
        return uncertainty.bald(self.pass_probs(context)).cpu().numpy()


class MeanSTD(MCDropoutStrategy):
    """Mean over candidate spans of the std of their probability across passes."""

    name = "mean_std"

    def score(self, context: QueryContext) -> np.ndarray:
        valid = context.scorer.spans().feature_index >= 0
        return uncertainty.mean_std(self.pass_probs(context), valid).cpu().numpy()
