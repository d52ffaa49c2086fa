"""SQuAD exact match and F1, exactly as the official v1.1 and v2.0 evaluation scripts define them.

`evaluate.load("squad")` fetches its module from the Hugging Face hub, which alqa must not
need at run time; these are the official definitions (normalisation, token F1, max over gold
answers), so the numbers match the official scripts, including their corner cases:

- v1.1: a prediction and a gold answer that both normalise to "" give EM 1 but F1 0;
- v2.0: an unanswerable question has the gold answer "" and is right only when the prediction
  is "" too (EM 1 and F1 1); gold answers that normalise to "" are ignored.

An evaluation set with at least one unanswerable question is scored with the v2.0 script
(which also reports the HasAns and NoAns halves), any other with the v1.1 script.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

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


def f1_score_v2(prediction: str, ground_truth: str) -> float:
    """The v2.0 script's F1: when either side has no tokens, 1 if both have none, else 0."""
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    if not prediction_tokens or not ground_truth_tokens:
        return float(prediction_tokens == ground_truth_tokens)
    return f1_score(prediction, ground_truth)


@dataclass(frozen=True)
class QuestionScores:
    """EM and F1 (0-1) of every reference question, in the order of the references."""

    question_ids: list[str]
    exact_match: np.ndarray
    f1: np.ndarray
    has_answer: np.ndarray  # bool: False for unanswerable (SQuAD 2.0) questions
    version: str  # "v1.1" or "v2.0": the official script these scores follow

    def summary(self) -> dict[str, float]:
        """EM and F1 on the 0-100 scale; with unanswerable questions also their halves."""
        scores = {"em": float(100 * self.exact_match.mean()), "f1": float(100 * self.f1.mean())}
        if self.version == "v2.0":
            for part, mask in (("has_answer", self.has_answer), ("no_answer", ~self.has_answer)):
                if mask.any():
                    scores[f"em_{part}"] = float(100 * self.exact_match[mask].mean())
                    scores[f"f1_{part}"] = float(100 * self.f1[mask].mean())
        return scores


def question_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> QuestionScores:
    """Each question scored against its best gold answer; a missing prediction scores 0, as
    in the official scripts. References with no gold text are unanswerable (v2.0)."""
    if not references:
        raise ValueError("no reference questions to evaluate")
    golds = {q: [g for g in answers if normalize_answer(g)] for q, answers in references.items()}
    v2 = any(not answers for answers in references.values())
    exact, f1 = [], []
    for question_id, gold_answers in (golds if v2 else references).items():
        prediction = predictions.get(question_id)
        candidates = gold_answers or [""]
        if prediction is None:
            exact.append(0.0)
            f1.append(0.0)
            continue
        exact.append(max(exact_match_score(prediction, gold) for gold in candidates))
        score = f1_score_v2 if v2 else f1_score
        f1.append(max(score(prediction, gold) for gold in candidates))
    return QuestionScores(
        question_ids=list(references),
        exact_match=np.asarray(exact),
        f1=np.asarray(f1),
        has_answer=np.asarray([bool(references[q]) for q in references]),
        version="v2.0" if v2 else "v1.1",
    )


def squad_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """EM and F1 on the 0-100 scale (plus HasAns/NoAns halves for SQuAD 2.0 references)."""
    return question_scores(predictions, references).summary()
