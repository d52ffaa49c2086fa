"""The round's PoolScorer: computes each pass once, counts its time, maps windows to questions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_scorer

from alqa.pool_scoring import SPANS_KEY, PoolScorer, windows_key
from alqa.span_scoring import question_spans
from alqa.strategies import QueryContext


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_scorer(tiny_data, batch_size=8, n_best=5)


def test_memo_computes_once_and_says_what_it_reused():
    scorer = PoolScorer(None, None, np.arange(3), memory={"given": 1})
    calls = []
    assert scorer.memo("x", lambda: calls.append(1) or 42) == 42
    assert scorer.memo("x", lambda: calls.append(1) or 43) == 42
    assert calls == [1]
    assert scorer.memo("given", lambda: 0) == 1
    assert scorer.reused == {"x", "given"}
    assert dict(scorer.memory) == {"given": 1, "x": 42}
    with pytest.raises(TypeError):
        scorer.memory["y"] = 0  # read-only: values enter through memo only
    with pytest.raises(RuntimeError, match="needs a model"):
        scorer.predict(np.arange(2))


def test_spans_are_the_pooled_spans_of_the_candidates_windows(tiny):
    _, features, make_scorer = tiny
    candidates = np.array([2, 5, 11, 17])
    scorer = make_scorer(candidates)
    spans = scorer.spans()
    assert scorer.model_seconds > 0
    seconds = scorer.model_seconds
    assert scorer.spans() is spans and scorer.model_seconds == seconds  # no second pass
    outputs = scorer.memory[windows_key(False)]
    assert sorted(outputs.feature_indices.tolist()) == features.features_of(candidates).tolist()
    owner = features.example_index[torch.as_tensor(outputs.feature_indices)]
    expected = question_spans(
        outputs.start_logits,
        outputs.end_logits,
        features.offsets[torch.as_tensor(outputs.feature_indices)],
        torch.as_tensor([int(np.flatnonzero(candidates == o)[0]) for o in owner]),
        len(candidates),
        5,
        30,
    )
    assert torch.equal(spans.start_char, expected.start_char)
    assert SPANS_KEY in scorer.memory


def test_question_index_maps_windows_to_positions_not_pool_indices(tiny):
    _, features, make_scorer = tiny
    scorer = make_scorer(np.array([4, 1]))
    rows = features.features_of([1, 4, 9])
    index = scorer.question_index(rows).tolist()
    owners = features.example_index[torch.as_tensor(rows)].tolist()
    assert index == [{4: 0, 1: 1}.get(o, -1) for o in owners]
    assert scorer.question_index(rows, np.array([9])).tolist() == [
        0 if o == 9 else -1 for o in owners
    ]


def test_a_context_refuses_a_scorer_made_for_other_candidates(tiny):
    _, _, make_scorer = tiny
    with pytest.raises(ValueError, match="other candidates"):
        QueryContext(np.array([1, 2]), np.array([0]), np.random.default_rng(0), 1, make_scorer([3]))
    context = QueryContext(np.array([1, 2]), np.array([0]), np.random.default_rng(0), 1)
    with pytest.raises(RuntimeError, match="needs a model"):
        context.scorer.spans()
