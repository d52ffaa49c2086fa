"""Evaluation of the current model on the evaluation set: SQuAD EM/F1 of its best spans,
with a 95% bootstrap interval over the evaluation questions (``em_ci``/``f1_ci``), so a
curve shows how much of a difference between rounds or strategies is evaluation noise."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from alqa.features import TokenizedQA
from alqa.inference import predict_windows
from alqa.intervals import bootstrap_interval
from alqa.metrics import QuestionScores, question_scores
from alqa.span_scoring import best_answers, question_spans


def predicted_answers(
    model: torch.nn.Module,
    features: TokenizedQA,
    contexts: list[str],
    *,
    batch_size: int,
    n_best: int,
    max_answer_length: int,
    device: torch.device,
    bf16: bool = False,
    with_null: bool = False,
    null_threshold: float = 0.0,
    description: str = "evaluate",
) -> list[str]:
    """The text of the model's best pooled span for every question of ``features``; with
    ``with_null``, "" ("no answer") where its score wins by ``null_threshold``."""
    outputs = predict_windows(
        model,
        features,
        np.arange(features.num_features),
        batch_size,
        device,
        bf16=bf16,
        description=description,
    )
    spans = question_spans(
        outputs.start_logits,
        outputs.end_logits,
        features.offsets,
        features.example_index,
        features.num_examples,
        n_best,
        max_answer_length,
        with_null=with_null,
    )
    return best_answers(spans, contexts, null_threshold)


def answer_scores(rows: list[dict[str, Any]], answers: list[str]) -> QuestionScores:
    """Per-question SQuAD EM/F1 of one predicted answer per row against its gold answers."""
    predictions = {r["id"]: a for r, a in zip(rows, answers)}
    references = {r["id"]: r["answers"]["text"] for r in rows}
    return question_scores(predictions, references)


def evaluate(
    model: torch.nn.Module,
    features: TokenizedQA,
    rows: list[dict[str, Any]],
    *,
    batch_size: int,
    n_best: int,
    max_answer_length: int,
    device: torch.device,
    bf16: bool = False,
    with_null: bool = False,
    null_threshold: float = 0.0,
) -> dict[str, float]:
    """SQuAD EM/F1, with bootstrap intervals, of the model's best pooled span for every
    evaluation question (see :func:`predicted_answers`)."""
    answers = predicted_answers(
        model,
        features,
        [r["context"] for r in rows],
        batch_size=batch_size,
        n_best=n_best,
        max_answer_length=max_answer_length,
        device=device,
        bf16=bf16,
        with_null=with_null,
        null_threshold=null_threshold,
    )
    return scores_with_intervals(answer_scores(rows, answers))


def scores_with_intervals(scores: QuestionScores) -> dict[str, Any]:
    """The summary scores plus ``em_ci``/``f1_ci``: 95% bootstrap intervals as [lo, hi]."""
    summary: dict[str, Any] = scores.summary()
    for key, per_question in (("em", scores.exact_match), ("f1", scores.f1)):
        summary[f"{key}_ci"] = list(bootstrap_interval(100.0 * per_question))
    return summary
