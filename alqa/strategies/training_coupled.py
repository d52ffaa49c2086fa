"""Strategies that reach into training: learning loss (a module trained with the QA model) and
CEAL (confident unlabeled questions are trained on as pseudo-labels, never counted as gold).
"""

from __future__ import annotations

import numpy as np
import torch

from alqa import uncertainty
from alqa.loss_prediction import (
    LossPredictionModule,
    max_per_question,
    predict_window_losses,
    ranking_loss,
    spread_layers,
)
from alqa.pool_scoring import PoolScorer
from alqa.span_scoring import QuestionSpans
from alqa.state import PseudoLabels
from alqa.strategies.base import QueryContext, ScoreBasedStrategy

#: the attribute the loss-prediction module lives under, so the loop's model-wide operations
#: (initial-weights snapshot, optimizer, warm-start checkpoint, ``.to(device)``) include it
MODULE_ATTRIBUTE = "loss_prediction"
#: memo key of (pool feature rows, predicted loss per row)
WINDOW_LOSSES_KEY = "loss_prediction.window_losses"


class LossPrediction(ScoreBasedStrategy):
    """Learning loss (Yoo & Kweon, 2019): label the questions with the largest predicted loss."""

    name = "loss_prediction"

    def __init__(
        self,
        batch: str = "topk",
        beta: float = 1.0,
        margin: float = 1.0,
        weight: float = 1.0,
        width: int = 128,
        layers: list[int] | None = None,
        detach_features: bool = True,
    ) -> None:
        super().__init__(batch=batch, beta=beta)
        if weight < 0 or margin < 0:
            raise ValueError("strategy.weight and strategy.margin must be non-negative")
        self.margin = float(margin)
        self.weight = float(weight)
        self.width = int(width)
        self.layers = None if layers is None else [int(layer) for layer in layers]
        self.detach_features = bool(detach_features)
        self.module: LossPredictionModule | None = None

    def prepare_model(self, model: torch.nn.Module) -> None:
        """Attach the module as ``model.loss_prediction`` so it is trained and reset with it."""
        config = model.config
        layers = self.layers or spread_layers(int(config.num_hidden_layers))
        self.module = LossPredictionModule(
            int(config.hidden_size), layers, self.width, self.detach_features
        )
        setattr(model, MODULE_ATTRIBUTE, self.module)

    def auxiliary_loss(self):
        """λ · ranking loss of the predicted against the (detached) true per-window QA loss."""
        module = self.module
        if module is None:
            raise RuntimeError("loss_prediction: prepare_model(model) must be called first")

        def loss(output, inputs: dict[str, torch.Tensor], per_window: torch.Tensor):
            predicted = module(output.hidden_states, inputs.get("attention_mask"))
            return self.weight * ranking_loss(predicted, per_window, self.margin)

        return loss

    def score(self, context: QueryContext) -> np.ndarray:
        scorer = context.scorer
        rows, predicted = scorer.memo(WINDOW_LOSSES_KEY, lambda: self.window_losses(scorer))
        question = scorer.question_index(rows)
        return max_per_question(predicted, question, len(context.candidates)).numpy()

    @staticmethod
    def window_losses(scorer: PoolScorer) -> tuple[np.ndarray, torch.Tensor]:
        """(pool rows, predicted loss) of every window of the candidates: one pass."""
        module = getattr(scorer.model, MODULE_ATTRIBUTE, None)
        if module is None:
            raise RuntimeError("loss_prediction: the model has no loss-prediction module")
        rows = scorer.candidate_rows()
        batches = scorer.forward(rows, output_hidden_states=True, description="predict losses")
        with scorer.model_time():
            return rows, predict_window_losses(
                module, batches, len(rows), scorer.device, scorer.bf16
            )


UNCERTAINTY_MEASURES = {
    "entropy": uncertainty.entropy,
    "least_confidence": uncertainty.least_confidence,
    "margin": uncertainty.margin,
}


def decayed_threshold(threshold: float, decay: float, round_number: int, floor: float) -> float:
    """threshold − decay · (round − 1) (round 1 = the first query), never decayed below ``floor``.

    The floor only bounds the decay: a starting threshold already below it is kept as given.
    """
    return max(threshold - decay * (round_number - 1), min(floor, threshold))


def confident_pseudo_labels(
    spans: QuestionSpans,
    window_rows: np.ndarray,
    candidates: np.ndarray,
    picked: np.ndarray,
    threshold: float,
    limit: int | None = None,
) -> PseudoLabels:
    """The best span of every candidate not picked whose probability exceeds ``threshold``.

    ``limit`` keeps only the most confident ones (ties: pool order), to bound training time.

    ``spans`` rows are aligned with ``candidates``; ``spans.feature_index`` indexes the scored
    windows, whose pool rows are ``window_rows``. Each pseudo-label is the one window its best
    span came from, with that span's tokens; ``question_ids`` hold pool indices as strings (a
    strategy sees no ids; the loop names them from the windows).
    """
    best = spans.probs[:, 0].cpu().numpy()
    chosen = np.flatnonzero(~np.isin(candidates, picked) & (best > threshold))
    if limit is not None and len(chosen) > limit:
        chosen = np.sort(chosen[np.argsort(-best[chosen], kind="stable")[:limit]])
    window = spans.feature_index[chosen, 0].cpu().numpy()
    return PseudoLabels(
        feature_rows=np.asarray(window_rows)[window].astype(np.int64).tolist(),
        start_positions=spans.start_token[chosen, 0].cpu().tolist(),
        end_positions=spans.end_token[chosen, 0].cpu().tolist(),
        question_ids=[str(int(i)) for i in candidates[chosen]],
    )


class CostEffective(ScoreBasedStrategy):
    """CEAL (Wang et al., 2016): uncertainty queries, plus confident spans as pseudo-labels.

    Pseudo-labels are for the next round's training only: recomputed each round, never gold,
    never counted in the budget.
    """

    name = "ceal"

    def __init__(
        self,
        batch: str = "topk",
        beta: float = 1.0,
        uncertainty: str = "entropy",
        threshold: float = 0.9,
        decay: float = 0.01,
        min_threshold: float = 0.5,
        max_pseudo_labels: int | None = None,
    ) -> None:
        super().__init__(batch=batch, beta=beta)
        if uncertainty not in UNCERTAINTY_MEASURES:
            raise ValueError(
                f"strategy.uncertainty={uncertainty!r} is unknown; use one of "
                f"{', '.join(UNCERTAINTY_MEASURES)}"
            )
        if not 0.0 <= min_threshold <= 1.0:
            raise ValueError(f"strategy.min_threshold must be in [0, 1], got {min_threshold}")
        self.uncertainty = uncertainty
        self.threshold = float(threshold)
        self.decay = float(decay)
        self.min_threshold = float(min_threshold)
        if max_pseudo_labels is not None and max_pseudo_labels < 0:
            raise ValueError(
                f"strategy.max_pseudo_labels must be ≥ 0 or null, got {max_pseudo_labels}"
            )
        self.max_pseudo_labels = max_pseudo_labels

    def score(self, context: QueryContext) -> np.ndarray:
        return UNCERTAINTY_MEASURES[self.uncertainty](context.scorer.spans().probs).cpu().numpy()

    def threshold_at(self, round_number: int) -> float:
        """The best-span probability a question needs to be pseudo-labeled in that round."""
        return decayed_threshold(self.threshold, self.decay, round_number, self.min_threshold)

    def pseudo_labels(self, context: QueryContext, picked: np.ndarray) -> PseudoLabels | None:
        labels = confident_pseudo_labels(
            context.scorer.spans(),
            context.scorer.window_outputs().feature_indices,
            context.candidates,
            np.asarray(picked),
            self.threshold_at(context.round),
            self.max_pseudo_labels,
        )
        return labels if labels.feature_rows else None
