"""Diversity (embedding-based) strategies: pick a batch that covers the pool, not its top scores.

Each strategy is a pure ``choose`` on tensors (tested on hand-built points) plus a thin
``query`` that fetches the embeddings from :mod:`alqa.embeddings`; the distance work lives in
:mod:`alqa.clustering`.
"""

from __future__ import annotations

import numpy as np
import torch

from alqa import clustering
from alqa.embeddings import (
    candidate_question_embeddings,
    gradient_embeddings,
    labeled_question_embeddings,
)
from alqa.strategies.base import QueryContext, QueryStrategy


class KMeansSampling(QueryStrategy):
    """k-means (k = batch size) on question embeddings; label the question nearest each centre.

    Covers the pool's modes in proportion to their mass, without looking at the labeled set.
    """

    name = "kmeans"

    def __init__(self, max_iter: int = 100) -> None:
        if max_iter < 1:
            raise ValueError(f"strategy.max_iter must be at least 1, got {max_iter}")
        self.max_iter = int(max_iter)

    def choose(self, embeddings: torch.Tensor, k: int, rng: np.random.Generator) -> np.ndarray:
        """Positions of ``k`` distinct rows, one nearest to each k-means centre."""
        points = embeddings.float()
        points = points - points.mean(dim=0, keepdim=True)  # same picks, less float32 cancellation
        centers, _ = clustering.kmeans(points, k, rng, self.max_iter)
        return clustering.nearest_distinct(points, centers)

    def query(self, context: QueryContext, k: int) -> np.ndarray:
        positions = self.choose(candidate_question_embeddings(context.scorer), k, context.rng)
        return context.candidates[positions]


class KCenterGreedy(QueryStrategy):
    """Core-set greedy k-center (Sener & Savarese, 2018) on question embeddings.

    Picks, one at a time, the candidate farthest from the labeled set and the picks so far,
    which greedily minimises the largest distance from any pool question to a labeled one.
    ``pca_dim`` first projects labeled + candidate embeddings on their leading components.
    """

    name = "kcenter"

    def __init__(self, pca_dim: int | None = None) -> None:
        if pca_dim is not None and pca_dim < 1:
            raise ValueError(f"strategy.pca_dim must be positive or null, got {pca_dim}")
        self.pca_dim = pca_dim

    def choose(
        self,
        candidates: torch.Tensor,
        labeled: torch.Tensor,
        k: int,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Positions into ``candidates`` of ``k`` farthest-first picks, in pick order."""
        candidates = candidates.float()
        labeled = labeled.to(candidates)
        if self.pca_dim is not None:
            reduced = clustering.pca(torch.cat([labeled, candidates]), self.pca_dim)
            labeled, candidates = reduced[: len(labeled)], reduced[len(labeled) :]
        return clustering.k_center_greedy(candidates, labeled, k, rng)

    def query(self, context: QueryContext, k: int) -> np.ndarray:
        candidates = candidate_question_embeddings(context.scorer)
        labeled = labeled_question_embeddings(context.scorer, context.labeled)
        return context.candidates[self.choose(candidates, labeled, k, context.rng)]


class KCenterGreedyPCA(KCenterGreedy):
    """k-center greedy on PCA-reduced embeddings: distances less dominated by a few
    high-variance, uninformative directions of the [CLS] space, and cheaper."""

    name = "kcenter_pca"

    def __init__(self, pca_dim: int = 32) -> None:
        super().__init__(pca_dim=pca_dim)


class Badge(QueryStrategy):
    """BADGE (Ash et al., ICLR 2020): k-means++ seeding on gradient embeddings.

    A gradient embedding's norm grows with the model's uncertainty and its direction says
    what the question would teach the output layer, so D² sampling trades off uncertainty
    and diversity without a tuning knob. As in the authors' code, the first pick is the
    largest-norm embedding, the rest are drawn ∝ D² with ``context.rng``.
    """

    name = "badge"

    def choose(self, embeddings: torch.Tensor, k: int, rng: np.random.Generator) -> np.ndarray:
        """Positions of ``k`` distinct rows chosen by k-means++ seeding."""
        if k == 0:
            return np.empty(0, dtype=np.int64)
        embeddings = embeddings.float()
        first = int(torch.argmax(embeddings.norm(dim=1)))
        return clustering.kmeans_pp_seeding(embeddings, k, rng, first=first)

    def query(self, context: QueryContext, k: int) -> np.ndarray:
        positions = self.choose(gradient_embeddings(context.scorer), k, context.rng)
        return context.candidates[positions]
