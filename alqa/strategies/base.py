"""The query-strategy interface (after small-text): one class per idea, one ``query`` method.

A strategy sees the round through a :class:`QueryContext`, whose scorer runs the current model
over the pool lazily and remembers what it computed, so a strategy asks only for what it needs
and nothing is computed twice within a round.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from alqa.pool_scoring import PoolScorer
from alqa.state import PseudoLabels


@dataclass
class QueryContext:
    """One round's view of the pool for a strategy.

    ``candidates`` are the unlabeled pool indices a strategy may pick from (all of them, or a
    random subset with ``budget.pool_subsample``); every per-question array a strategy scores
    is aligned with it. ``scorer`` runs the current model over the candidates and remembers
    what it computed (:class:`alqa.pool_scoring.PoolScorer`); without one, a scorer with no
    model is made, which serves only what is put in its memory.
    """

    candidates: np.ndarray
    labeled: np.ndarray
    rng: np.random.Generator
    round: int
    scorer: PoolScorer | None = None

    def __post_init__(self) -> None:
        self.candidates = np.asarray(self.candidates, dtype=np.int64)
        if self.scorer is None:
            self.scorer = PoolScorer(None, None, self.candidates)
        elif not np.array_equal(self.scorer.candidates, self.candidates):
            raise ValueError("the scorer was made for other candidates than the context's")


class QueryStrategy(ABC):
    """Picks ``k`` questions to label from ``context.candidates``.

    Besides ``query``, a strategy may hook into training: ``prepare_model`` (add a module, once,
    before the initial weights are saved), ``auxiliary_loss`` (extra loss each training step)
    and ``pseudo_labels`` (extra training-only windows for the next round). Most need none.
    """

    #: the name users pass as ``strategy=<name>``
    name: str = ""

    @abstractmethod
    def query(self, context: QueryContext, k: int) -> np.ndarray:
        """Pool indices (a subset of ``context.candidates``) of the ``k`` questions to label."""

    def prepare_model(self, model: torch.nn.Module) -> None:
        """Called once after the model is built; may attach submodules (they are trained)."""

    def auxiliary_loss(self):
        """``None`` or a callable (model output, batch inputs, per-window QA loss) -> scalar."""
        return None

    def pseudo_labels(self, context: QueryContext, picked: np.ndarray) -> PseudoLabels | None:
        """Training-only labels for the next round, from the current model; ``None`` = none."""
        return None

    def can_pseudo_label(self) -> bool:
        """Whether this strategy overrides ``pseudo_labels`` (then rounds log how many)."""
        return type(self).pseudo_labels is not QueryStrategy.pseudo_labels


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores; ties go to the earlier position (reproducible)."""
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError("acquisition scores contain NaN")
    return np.argsort(-scores, kind="stable")[:k]


BATCH_MODES = ("topk", "power", "softmax", "softrank")


def stochastic_batch(
    scores: np.ndarray, k: int, mode: str, beta: float, rng: np.random.Generator
) -> np.ndarray:
    """Stochastic batch acquisition (Kirsch et al., TMLR 2023): sample k without replacement.

    ``softmax``: p ∝ exp(β·s); ``power``: p ∝ s^β (scores must be ≥ 0; shifted if not);
    ``softrank``: p ∝ rank^−β (rank 1 = best). Sampling without replacement uses the Gumbel
    top-k trick, which equals sequential sampling from p without replacement. A score of +inf
    is taken first, one of −inf (a candidate left unscored) only once all others are taken.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if mode == "topk":
        return top_k(scores, k)
    finite = np.isfinite(scores)
    certain_first = np.flatnonzero(scores == np.inf)  # e.g. no valid span: always worth a label
    if len(certain_first) >= k:
        return certain_first[np.argsort(certain_first, kind="stable")][:k]
    safe = np.where(finite, scores, np.nan)
    if mode == "softmax":
        log_weights = beta * np.nan_to_num(safe, nan=np.nanmin(safe) if finite.any() else 0.0)
    elif mode == "power":
        shifted = safe - min(np.nanmin(safe), 0.0) if finite.any() else safe
        log_weights = beta * np.log(np.clip(np.nan_to_num(shifted, nan=0.0), 1e-12, None))
    elif mode == "softrank":
        ranks = np.empty(len(scores))
        ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
        log_weights = -beta * np.log(ranks)
    else:
        raise ValueError(f"strategy.batch={mode!r} is unknown; use one of {', '.join(BATCH_MODES)}")
    log_weights[certain_first] = np.inf
    log_weights[scores == -np.inf] = -np.inf  # not scored (e.g. past mc_candidates): last
    perturbed = log_weights + rng.gumbel(size=len(scores))
    return np.argsort(-perturbed, kind="stable")[:k]


class ScoreBasedStrategy(QueryStrategy):
    """A strategy that gives every candidate a score (higher = label first) and takes a batch.

    Subclasses implement :meth:`score` only; how a batch is drawn from the scores lives here:
    ``batch="topk"`` (default) or a stochastic mode with temperature ``beta``.
    """

    def __init__(self, batch: str = "topk", beta: float = 1.0) -> None:
        if batch not in BATCH_MODES:
            raise ValueError(
                f"strategy.batch={batch!r} is unknown; use one of {', '.join(BATCH_MODES)}"
            )
        if beta <= 0:
            raise ValueError(f"strategy.beta must be positive, got {beta}")
        self.batch = batch
        self.beta = float(beta)

    @abstractmethod
    def score(self, context: QueryContext) -> np.ndarray:
        """[len(candidates)] acquisition scores, higher = more worth labeling."""

    def select(self, scores: np.ndarray, k: int, context: QueryContext) -> np.ndarray:
        """Positions into ``candidates`` of the batch to label."""
        return stochastic_batch(scores, k, self.batch, self.beta, context.rng)

    def query(self, context: QueryContext, k: int) -> np.ndarray:
        scores = self.score(context)
        if len(scores) != len(context.candidates):
            raise ValueError(
                f"{self.name}: {len(scores)} scores for {len(context.candidates)} candidates"
            )
        return context.candidates[self.select(scores, k, context)]
