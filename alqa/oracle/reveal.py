"""Revealing the oracle's answers to the model: into the pool rows and their windows' targets.

The pool is tokenised once, before any label exists, so a question labeled by people has
"not in this window" targets until its answers are revealed. Revealing sets the row's
``answers`` and recomputes the start/end token of every window of that question from the
stored character offsets, exactly as tokenisation does for data that came with answers: the
model then trains on the annotators' spans as it would on gold ones. The run state keeps the
revealed answers, so a resumed run reveals them again before it trains.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from alqa.data import ANSWERS_UNKNOWN
from alqa.experiment import Experiment
from alqa.features import answer_targets
from alqa.oracle.base import Answers


def reveal_answers(experiment: Experiment, answers: Mapping[str, Answers]) -> None:
    """Give the pool rows these answers and their windows the matching training targets."""
    if not answers:
        return
    features = experiment.pool_features
    owner = features.example_index.numpy()
    ids = list(answers)
    indices = experiment.indices_of(ids)
    windows_of = {int(i): [] for i in indices}
    for window in np.flatnonzero(np.isin(owner, indices)):
        windows_of[int(owner[window])].append(int(window))
    for question_id, index in zip(ids, indices.tolist()):
        row = experiment.pool[index]
        row["answers"] = {
            "text": list(answers[question_id]["text"]),
            "answer_start": [int(s) for s in answers[question_id]["answer_start"]],
        }
        row.pop(ANSWERS_UNKNOWN, None)
        for window in windows_of[index]:
            offsets = features.offsets[window].numpy()
            in_context = offsets[:, 0] >= 0
            start, end = answer_targets(offsets, in_context, row["context"], row["answers"])
            features.start_positions[window] = start
            features.end_positions[window] = end
