"""Evaluation of the current model on the evaluation set: SQuAD EM/F1 of its best spans."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from alqa.features import TokenizedQA
from alqa.inference import predict_windows
from alqa.metrics import squad_scores
from alqa.span_scoring import best_answers, question_spans


def evaluate(
    model: torch.nn.Module,
    features: TokenizedQA,
    rows: list[dict[str, Any]],
    *,
    batch_size: int,
    n_best: int,
    max_answer_length: int,
    device: torch.device,
    bf16: bool = True,
) -> dict[str, float]:
    """SQuAD EM/F1 of the model's best pooled span for every evaluation question."""
    outputs = predict_windows(
        model,
        features,
        np.arange(features.num_features),
        batch_size,
        device,
        bf16=bf16,
        description="evaluate",
    )
    spans = question_spans(
        outputs.start_logits,
        outputs.end_logits,
        features.offsets,
        features.example_index,
        features.num_examples,
        n_best,
        max_answer_length,
    )
    answers = best_answers(spans, [r["context"] for r in rows])
    predictions = {r["id"]: a for r, a in zip(rows, answers)}
    references = {r["id"]: r["answers"]["text"] for r in rows}
    return squad_scores(predictions, references)
