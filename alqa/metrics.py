"""SQuAD v1.1 exact match and F1, exactly as the official evaluation script defines them.

`evaluate.load("squad")` fetches its module from the Hugging Face hub, which alqa must not
need at run time; these are the official v1.1 definitions (normalisation, token F1, max over
gold answers), so the numbers match the official script, including its corner case: a
prediction and a gold answer that both normalise to "" give EM 1 but F1 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and English articles, squeeze white space (official order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def f1_score(prediction: str, ground_truth: str) -> float:
    """Token-overlap F1 between one prediction and one gold answer (0-1)."""
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(ground_truth_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> float:
    """1.0 when both strings normalise to the same text."""
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def squad_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """EM and F1 on the 0-100 scale, each question scored against its best gold answer.

    Every reference question must have a prediction: a missing one scores 0, as in the
    official script.
    """
    if not references:
        raise ValueError("no reference questions to evaluate")
    exact_match = f1 = 0.0
    for question_id, gold_answers in references.items():
        if not gold_answers:
            raise ValueError(f"question {question_id!r} has no gold answer; SQuAD v1.1 needs one")
        if question_id not in predictions:
            continue
        prediction = predictions[question_id]
        exact_match += max(exact_match_score(prediction, gold) for gold in gold_answers)
        f1 += max(f1_score(prediction, gold) for gold in gold_answers)
    total = len(references)
    return {"em": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}
