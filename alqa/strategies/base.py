"""The query-strategy interface (after small-text): one class per idea, one ``query`` method.

A strategy sees the round through a :class:`QueryContext`, which runs the current model over
the pool lazily and caches what it computed, so a strategy asks only for what it needs and
nothing is computed twice within a round.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch

from alqa.features import TokenizedQA
from alqa.inference import WindowOutputs, predict_windows
from alqa.span_scoring import QuestionSpans, question_spans


@dataclass
class PoolScorer:
    """What a strategy may run over the pool: the current model and the tokenised pool."""

    model: torch.nn.Module
    features: TokenizedQA
    device: torch.device
    batch_size: int
    n_best: int
    max_answer_length: int
    bf16: bool = True


@dataclass
class QueryContext:
    """One round's view of the pool for a strategy.

    ``candidates`` are the unlabeled pool indices a strategy may pick from (all of them, or a
    random subset with ``budget.pool_subsample``); every per-question array a strategy scores
    is aligned with it. ``model_seconds`` accumulates the time spent in model passes, which
    the loop reports as ``score_seconds`` (the rest of ``query`` is ``select_seconds``).
    """

    candidates: np.ndarray
    labeled: np.ndarray
    rng: np.random.Generator
    round: int
    scorer: PoolScorer | None = None
    model_seconds: float = 0.0
    _cache: dict = field(default_factory=dict, repr=False)

    def _require_scorer(self) -> PoolScorer:
        if self.scorer is None:
            raise RuntimeError("this strategy needs a model, but the query context has none")
        return self.scorer

    @contextlib.contextmanager
    def model_time(self):
        """Count the enclosed model passes as ``model_seconds`` (synchronising CUDA first)."""
        device = self._require_scorer().device
        started = time.perf_counter()
        try:
            yield
        finally:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            self.model_seconds += time.perf_counter() - started

    def window_outputs(self, *, with_embeddings: bool = False) -> WindowOutputs:
        """Deterministic (dropout off) logits of every window of every candidate question."""
        key = ("windows", with_embeddings)
        cached = self._cache.get(key) or self._cache.get(("windows", True))
        if cached is not None:
            return cached
        scorer = self._require_scorer()
        with self.model_time():
            outputs = predict_windows(
                scorer.model,
                scorer.features,
                scorer.features.features_of(self.candidates),
                scorer.batch_size,
                scorer.device,
                with_embeddings=with_embeddings,
                bf16=scorer.bf16,
            )
        self._cache[key] = outputs
        return outputs

    def window_question_index(
        self, feature_indices: np.ndarray, questions: np.ndarray | None = None
    ) -> torch.Tensor:
        """For each window (row of the tokenised pool), its row in ``questions`` (default:
        ``candidates``), not its pool index; −1 for a window of another question."""
        scorer = self._require_scorer()
        questions = self.candidates if questions is None else np.asarray(questions)
        position = np.full(scorer.features.num_examples, -1, dtype=np.int64)
        position[questions] = np.arange(len(questions))
        pool_index = scorer.features.example_index.numpy()[np.asarray(feature_indices)]
        return torch.from_numpy(position[pool_index])

    def spans(self) -> QuestionSpans:
        """Pooled candidate spans of each candidate question (rows aligned with candidates)."""
        if "spans" not in self._cache:
            scorer = self._require_scorer()
            outputs = self.window_outputs()
            offsets = scorer.features.offsets[torch.as_tensor(outputs.feature_indices)]
            self._cache["spans"] = question_spans(
                outputs.start_logits,
                outputs.end_logits,
                offsets,
                self.window_question_index(outputs.feature_indices),
                len(self.candidates),
                scorer.n_best,
                scorer.max_answer_length,
            )
        return self._cache["spans"]


@dataclass
class PseudoLabels:
    """Training-only labels a strategy proposes (CEAL): never gold, never counted in the budget.

    ``feature_rows`` index the tokenised pool; ``start_positions``/``end_positions`` are token
    positions in those windows; ``question_ids`` are logged, never added to ``labeled``.
    """

    feature_rows: list[int]
    start_positions: list[int]
    end_positions: list[int]
    question_ids: list[str]


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
    top-k trick, which equals sequential sampling from p without replacement.
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
