"""Uncertainty from Monte-Carlo dropout (Gal et al. 2017): T stochastic passes per round.

All of them score the same fixed candidate spans per question (the deterministic n-best,
keyed by character offsets) in every pass; see :mod:`alqa.mc_dropout` for why. Cost per
round: one deterministic pass over the candidates' windows plus ``mc_passes`` dropout passes
over the windows that host a candidate span.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch

from alqa import uncertainty
from alqa.mc_dropout import mc_span_log_probs
from alqa.strategies.base import QueryContext, ScoreBasedStrategy, top_k


class MCDropoutStrategy(ScoreBasedStrategy):
    """Base of the MC-dropout strategies: owns the passes; a subclass only says how it
    measures uncertainty from them (:meth:`measure`).

    ``mc_candidates=N`` (opt-in) runs the passes only over the N candidates with the highest
    entropy under the deterministic pass, and ranks the others last. It deviates from the
    plain definition (a question the deterministic pass finds certain is never picked, even if
    its passes would disagree), in exchange for T passes over N questions instead of the whole
    pool: at SQuAD scale the passes are most of a round's cost.
    """

    def __init__(
        self,
        mc_passes: int = 10,
        batch: str = "topk",
        beta: float = 1.0,
        attention_dropout: bool = True,
        mc_candidates: int | None = None,
        mc_batch_passes: int = 1,
    ) -> None:
        super().__init__(batch=batch, beta=beta)
        if int(mc_passes) < 1:
            raise ValueError(f"strategy.mc_passes must be at least 1, got {mc_passes}")
        if mc_candidates is not None and int(mc_candidates) < 1:
            raise ValueError(f"strategy.mc_candidates must be ≥ 1 or null, got {mc_candidates}")
        if int(mc_batch_passes) < 1:
            raise ValueError(f"strategy.mc_batch_passes must be ≥ 1, got {mc_batch_passes}")
        self.mc_passes = int(mc_passes)
        self.attention_dropout = bool(attention_dropout)
        self.mc_candidates = None if mc_candidates is None else int(mc_candidates)
        self.mc_batch_passes = int(mc_batch_passes)

    def prefiltered(self, context: QueryContext) -> np.ndarray | None:
        """Positions of the candidates the passes run over (None: all of them)."""
        if self.mc_candidates is None or self.mc_candidates >= len(context.candidates):
            return None
        deterministic = uncertainty.entropy(context.scorer.spans().probs).cpu().numpy()
        return np.sort(top_k(deterministic, self.mc_candidates))

    def pass_probs(self, context: QueryContext, subset: np.ndarray | None = None) -> torch.Tensor:
        """[T, E, n] candidate-span probabilities of each dropout pass (0 on padding); rows of
        ``subset`` only when given."""
        return mc_span_log_probs(
            context.scorer,
            context.rng,
            self.mc_passes,
            self.attention_dropout,
            subset=subset,
            passes_per_batch=self.mc_batch_passes,
        ).exp()

    @abstractmethod
    def measure(self, pass_probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """[E] uncertainty from [T, E, n] pass probabilities; ``valid`` [E, n] marks real
        candidate spans."""

    def score(self, context: QueryContext) -> np.ndarray:
        subset = self.prefiltered(context)
        valid = context.scorer.spans().feature_index >= 0
        if subset is not None:
            valid = valid[torch.as_tensor(subset, device=valid.device)]
        scores = self.measure(self.pass_probs(context, subset), valid).cpu().numpy()
        if subset is None:
            return scores
        full = np.full(len(context.candidates), -np.inf)
        full[subset] = scores
        return full


class MarginDropout(MCDropoutStrategy):
    """Margin between the two best spans of the MC-averaged span distribution."""

    name = "margin_dropout"

    def measure(self, pass_probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return uncertainty.margin(uncertainty.mc_mean_probs(pass_probs))


class LeastConfidenceDropout(MCDropoutStrategy):
    """1 − probability of the best span of the MC-averaged span distribution."""

    name = "least_confidence_dropout"

    def measure(self, pass_probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return uncertainty.least_confidence(uncertainty.mc_mean_probs(pass_probs))


class EntropyDropout(MCDropoutStrategy):
    """Entropy of the MC-averaged span distribution (total predictive uncertainty)."""

    name = "entropy_dropout"

    def measure(self, pass_probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return uncertainty.entropy(uncertainty.mc_mean_probs(pass_probs))


class VariationRatio(MCDropoutStrategy):
    """How often the passes' best spans differ from the modal one (Freeman 1965)."""

    name = "var_ratio"

    def measure(self, pass_probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return uncertainty.variation_ratio(pass_probs)


class BALD(MCDropoutStrategy):
    """Mutual information between answer and weights (Houlsby et al. 2011): disagreement."""

    name = "bald"

    def measure(self, pass_probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return uncertainty.bald(pass_probs)


class MeanSTD(MCDropoutStrategy):
    """Mean over candidate spans of the std of their probability across passes."""

    name = "mean_std"

    def measure(self, pass_probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return uncertainty.mean_std(pass_probs, valid)
