"""The current model's best answer to each queried question: the tasks' pre-annotations."""

from __future__ import annotations

import torch

from alqa.experiment import Experiment
from alqa.oracle.base import Prediction
from alqa.query import round_scorer

NEG_INF = float("-inf")


def best_predictions(experiment: Experiment, question_ids: list[str]) -> list[Prediction | None]:
    """Best span (or "no answer", when its score wins by ``scoring.null_threshold``) of each
    question, with its probability among the question's candidates; None where the model has
    no candidate at all. The same choice as evaluation makes (:func:`best_answers`)."""
    if not question_ids:
        return []
    spans = round_scorer(experiment, experiment.indices_of(question_ids)).spans()
    is_null = spans.is_null
    best_span_score, best = spans.scores.masked_fill(is_null, NEG_INF).max(dim=1)
    null_score, null = spans.scores.masked_fill(~is_null, NEG_INF).max(dim=1)
    threshold = experiment.settings.scoring.null_threshold
    abstain = torch.isfinite(null_score) & (
        (null_score - best_span_score > threshold) | ~torch.isfinite(best_span_score)
    )
    probs = spans.probs
    predictions: list[Prediction | None] = []
    for q in range(len(question_ids)):
        if bool(abstain[q]):
            predictions.append(Prediction(-1, -1, float(probs[q, null[q]]), no_answer=True))
        elif torch.isfinite(best_span_score[q]):
            column = int(best[q])
            start, end = int(spans.start_char[q, column]), int(spans.end_char[q, column])
            predictions.append(Prediction(start, end, float(probs[q, column])))
        else:
            predictions.append(None)
    return predictions
