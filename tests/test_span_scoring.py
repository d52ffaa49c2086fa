"""Span scoring and the uncertainty strategies, by their picks on hand-built logits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import hand_context

from alqa import uncertainty
from alqa.pool_scoring import SPANS_KEY
from alqa.span_scoring import best_answers, question_spans
from alqa.strategies import Entropy, LeastConfidence, Margin, QueryContext, RandomSampling

NEG = -1e4  # a logit low enough to be irrelevant, but finite


def offsets_for(length: int, context_from: int, context_to: int) -> torch.Tensor:
    """Offsets of a window whose tokens context_from..context_to-1 are context (3 chars each)."""
    offsets = torch.full((length, 2), -1, dtype=torch.long)
    for t in range(context_from, context_to):
        offsets[t, 0], offsets[t, 1] = 3 * t, 3 * t + 2
    return offsets


def window(length: int, starts: dict[int, float], ends: dict[int, float]):
    start, end = torch.full((length,), NEG), torch.full((length,), NEG)
    for t, v in starts.items():
        start[t] = v
    for t, v in ends.items():
        end[t] = v
    return start, end


def context_with(spans) -> QueryContext:
    return hand_context(np.arange(spans.scores.shape[0]), {SPANS_KEY: spans})


def score_questions(windows, example_index, num_examples, n_best=5, max_answer_length=30):
    start = torch.stack([w[0] for w in windows])
    end = torch.stack([w[1] for w in windows])
    offsets = torch.stack([w[2] for w in windows])
    return question_spans(
        start, end, offsets, torch.tensor(example_index), num_examples, n_best, max_answer_length
    )


def test_probabilities_are_softmax_of_start_plus_end_over_the_candidates():
    s, e = window(10, {2: 2.0, 4: 1.0}, {3: 1.0, 5: 0.0})
    spans = score_questions([(s, e, offsets_for(10, 2, 9))], [0], 1)
    # candidates: (2,3)=3, (2,5)=2, (4,5)=1; (4,3) is invalid (end < start)
    logits = torch.tensor([3.0, 2.0, 1.0])
    expected = torch.softmax(logits, 0)
    assert torch.allclose(spans.probs[0, :3], expected, atol=1e-6)
    assert spans.probs[0, 3:].sum() == 0
    assert spans.start_char[0, :3].tolist() == [6, 6, 12]
    assert spans.end_char[0, :3].tolist() == [11, 17, 17]


def test_spans_outside_context_or_too_long_are_not_candidates():
    # the question token 1 has the highest start logit, but it is not context
    s, e = window(12, {1: 9.0, 2: 1.0}, {3: 1.0, 10: 8.0})
    spans = score_questions([(s, e, offsets_for(12, 2, 11))], [0], 1, max_answer_length=4)
    # (1, 10) would score 17 but token 1 is not context; (2, 10) is 9 tokens long
    assert (spans.start_token[0, 0], spans.end_token[0, 0]) == (2, 3)
    valid = torch.isfinite(spans.scores[0])
    starts, ends = spans.start_token[0][valid], spans.end_token[0][valid]
    assert (starts >= 2).all() and (ends <= 10).all()
    assert ((ends - starts + 1) <= 4).all() and (ends >= starts).all()


def test_margin_picks_the_smallest_gap_not_the_largest():
    confident = window(8, {2: 5.0, 3: 0.0}, {2: 5.0, 3: 0.0})  # one span dominates
    ambiguous = window(8, {2: 1.0, 4: 1.0}, {4: 1.0, 5: 0.9})  # two near-equal spans
    windows = [(*confident, offsets_for(8, 2, 7)), (*ambiguous, offsets_for(8, 2, 7))]
    spans = score_questions(windows, [0, 1], 2)
    picks = Margin().query(context_with(spans), 1)
    assert picks.tolist() == [1]
    top2 = spans.probs.topk(2, dim=1).values
    gaps = (top2[:, 0] - top2[:, 1]).tolist()
    assert gaps[1] < gaps[0]


def test_a_question_with_windows_in_two_places_is_scored_once_from_both():
    # question 0: window A is sure of span X, window B is sure of span Y (different chars)
    # question 1: one window, sure of one span. Pooled, question 0 is the uncertain one.
    a = (*window(8, {2: 4.0}, {3: 4.0}), offsets_for(8, 2, 7))
    b_offsets = offsets_for(8, 2, 7) + 30  # B covers a later part of the context
    b_offsets[offsets_for(8, 2, 7) < 0] = -1
    b = (*window(8, {4: 4.0}, {5: 4.0}), b_offsets)
    c = (*window(8, {2: 4.0}, {3: 4.0}), offsets_for(8, 2, 7))
    spans = score_questions([a, b, c], [0, 0, 1], 2)
    assert spans.scores.shape[0] == 2, "one row per question, not per window"
    assert spans.feature_index[0, :2].sort().values.tolist() == [0, 1]
    # both windows' best spans are the two top candidates of question 0, equally likely
    assert float(spans.probs[0, 0]) == pytest.approx(float(spans.probs[0, 1]), rel=1e-5)
    assert Entropy().query(context_with(spans), 1).tolist() == [0]
    assert LeastConfidence().query(context_with(spans), 1).tolist() == [0]
    assert Margin().query(context_with(spans), 1).tolist() == [0]


def test_the_same_span_seen_in_two_overlapping_windows_counts_once():
    # the same characters (span 6..11) are the best span in both windows of question 0:
    # counted twice, its "competitor" would be itself and the margin would collapse to 0.
    a = (*window(8, {2: 5.0, 3: 0.0}, {3: 5.0, 4: 0.0}), offsets_for(8, 2, 7))
    shifted = torch.full((8, 2), -1, dtype=torch.long)
    shifted[1:7] = offsets_for(8, 2, 7)[2:8].clone()  # same chars, different token positions
    shifted[7] = torch.tensor([21, 23])
    shifted[:1] = -1
    b = (*window(8, {1: 4.9, 2: 0.0}, {2: 4.9, 3: 0.0}), shifted)
    spans = score_questions([a, b], [0, 0], 1)
    keys = list(zip(spans.start_char[0].tolist(), spans.end_char[0].tolist()))
    valid_keys = [k for k in keys if k[0] >= 0]
    assert len(valid_keys) == len(set(valid_keys)), "a span appears twice"
    assert keys[0] == (6, 11)
    assert spans.feature_index[0, 0] == 0  # its best score (5+5) came from window 0
    top2 = spans.probs[0].topk(2).values
    assert top2[0] - top2[1] > 0.9


def test_no_valid_span_is_most_uncertain_for_every_measure():
    ok = (*window(8, {2: 1.0, 3: 0.9}, {3: 1.0, 4: 0.9}), offsets_for(8, 2, 7))
    # build a question with no context token at all: certainly no valid span
    empty = (*window(8, {2: 1.0}, {2: 1.0}), torch.full((8, 2), -1, dtype=torch.long))
    spans = score_questions([ok, empty], [0, 1], 2)
    assert not bool(spans.has_span[1])
    for measure in (uncertainty.least_confidence, uncertainty.margin, uncertainty.entropy):
        assert math.isinf(float(measure(spans.probs)[1]))
    for strategy in (LeastConfidence(), Margin(), Entropy()):
        assert strategy.query(context_with(spans), 1).tolist() == [1]
    assert best_answers(spans, ["x" * 40, "y" * 40])[1] == ""


def test_entropy_and_least_confidence_rank_by_their_own_definition():
    # q0: [0.5, 0.5] -> LC 0.5, H = ln 2 ; q1: [0.6, 0.1 x 4] -> LC 0.4, H higher
    probs = torch.tensor([[0.5, 0.5, 0, 0, 0], [0.6, 0.1, 0.1, 0.1, 0.1]])
    assert uncertainty.least_confidence(probs).argmax() == 0
    assert uncertainty.entropy(probs).argmax() == 1
    assert float(uncertainty.entropy(probs)[0]) == pytest.approx(math.log(2))
    assert float(uncertainty.margin(probs)[0]) == pytest.approx(0.0)


def reference_postprocess(start, end, offsets, n_best, max_answer_length):
    """HF utils_qa-style Python loops, for one question's windows, with alqa's two changes:
    n-best starts/ends are taken among context tokens, and spans are deduplicated by chars."""
    best = {}
    for s_logits, e_logits, offs in zip(start, end, offsets):
        in_context = offs[:, 0] >= 0
        s_idx = np.argsort(np.where(in_context, s_logits, -np.inf))[-1 : -n_best - 1 : -1]
        e_idx = np.argsort(np.where(in_context, e_logits, -np.inf))[-1 : -n_best - 1 : -1]
        for i in s_idx:
            for j in e_idx:
                if offs[i][0] < 0 or offs[j][0] < 0 or j < i or j - i + 1 > max_answer_length:
                    continue
                key = (int(offs[i][0]), int(offs[j][1]))
                score = float(s_logits[i] + e_logits[j])
                best[key] = max(best.get(key, -np.inf), score)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:n_best]
    scores = np.array([v for _, v in ranked])
    probs = np.exp(scores - scores.max())
    return [k for k, _ in ranked], probs / probs.sum()


def assert_each_question_matches_the_reference(
    start, end, offsets, example_index, num_examples, n_best, max_answer_length
):
    """Each question's spans and probabilities as the loop reference gives them for its
    windows alone, and each span's source window one of its own; returns the spans."""
    spans = question_spans(
        start, end, offsets, example_index, num_examples, n_best, max_answer_length
    )
    for q in range(num_examples):
        rows = (example_index == q).nonzero().flatten()
        keys, probs = reference_postprocess(
            start[rows].numpy(),
            end[rows].numpy(),
            offsets[rows].numpy(),
            n_best,
            max_answer_length,
        )
        got = list(zip(spans.start_char[q].tolist(), spans.end_char[q].tolist()))[: len(keys)]
        assert got == keys
        assert np.allclose(spans.probs[q, : len(keys)].numpy(), probs, atol=1e-5)
        assert set(spans.feature_index[q, : len(keys)].tolist()) <= set(rows.tolist())
    return spans


def test_matches_a_python_loop_reference_on_random_logits():
    generator = torch.Generator().manual_seed(0)
    num_windows, length = 12, 40
    start = torch.randn(num_windows, length, generator=generator)
    end = torch.randn(num_windows, length, generator=generator)
    offsets = torch.stack([offsets_for(length, 5, 38) + (w % 3) * 30 for w in range(num_windows)])
    offsets[offsets < 30 * 0] = -1
    offsets[:, :5] = -1
    offsets[:, 38:] = -1
    example_index = torch.tensor([0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 5, 5])
    assert_each_question_matches_the_reference(start, end, offsets, example_index, 6, 7, 6)


def test_one_long_document_among_short_ones_pools_each_question_as_alone():
    """Questions with 1 window beside one with 24 (pooled in groups of similar window
    counts): every question's spans, probabilities and source windows are its own."""
    generator = torch.Generator().manual_seed(1)
    windows_of = [24] + [1] * 20 + [3, 2, 5]
    example_index = torch.repeat_interleave(torch.arange(len(windows_of)), torch.tensor(windows_of))
    example_index = example_index[torch.randperm(len(example_index), generator=generator)]
    num_windows, length = len(example_index), 30
    start = torch.randn(num_windows, length, generator=generator)
    end = torch.randn(num_windows, length, generator=generator)
    offsets = torch.stack([offsets_for(length, 4, 28) + (w % 4) * 20 for w in range(num_windows)])
    offsets[:, :4] = -1
    offsets[:, 28:] = -1
    spans = assert_each_question_matches_the_reference(
        start, end, offsets, example_index, len(windows_of), 6, 5
    )
    assert spans.scores.shape == (len(windows_of), 6)


def test_random_sampling_is_seeded_and_draws_from_candidates_only():
    candidates = np.array([3, 5, 8, 13, 21, 34])
    picks = [
        RandomSampling()
        .query(QueryContext(candidates, np.array([0]), np.random.default_rng(7), 1), 3)
        .tolist()
        for _ in range(2)
    ]
    assert picks[0] == picks[1]
    assert set(picks[0]) <= set(candidates.tolist()) and len(set(picks[0])) == 3


def null_spans(windows, example_index, num_examples, n_best=3):
    start = torch.stack([w[0] for w in windows])
    end = torch.stack([w[1] for w in windows])
    offsets = torch.stack([w[2] for w in windows])
    index = torch.tensor(example_index)
    return question_spans(start, end, offsets, index, num_examples, n_best, 30, with_null=True)


def test_no_answer_is_one_candidate_scored_by_the_minimum_cls_score_over_windows():
    # question 0 has two windows: [CLS] scores 1+1=2 and 0.5+0.5=1 -> null score 1 (minimum),
    # from window 1; its best span (2,3) scores 3 and (2,5) 2. Question 1: one window, null 4
    a = window(10, {0: 1.0, 2: 2.0}, {0: 1.0, 3: 1.0, 5: 0.0})
    b = window(10, {0: 0.5}, {0: 0.5})
    c = window(10, {0: 2.0, 4: 1.0}, {0: 2.0, 5: 1.0})
    offsets = offsets_for(10, 2, 9)
    spans = null_spans([(*a, offsets), (*b, offsets), (*c, offsets)], [0, 0, 1], 2)
    assert spans.scores.shape[1] == 4  # n_best spans plus the null option
    # question 0: spans 3, 2, then the null option (1), then the weaker span (4,5)=1 or padding
    null_column = spans.is_null[0].nonzero().flatten().tolist()
    assert len(null_column) == 1 and spans.scores[0, null_column[0]] == 1.0
    assert spans.feature_index[0, null_column[0]] == 1  # the window with the minimum
    assert spans.start_char[0, null_column[0]] == -1
    # question 1: null 4 beats its only span (4,5)=2: it is the best candidate
    assert spans.is_null[1, 0] and spans.scores[1, 0] == 4.0
    # the distribution covers spans and the null option, best first
    assert torch.allclose(spans.probs.sum(dim=1), torch.ones(2))
    q1 = torch.tensor([4.0, 2.0])
    assert torch.allclose(spans.probs[1, :2], torch.softmax(q1, 0), atol=1e-6)
    # entropy and margin see the null option as one outcome
    assert uncertainty.margin(spans.probs)[1] == pytest.approx(
        -(torch.softmax(q1, 0)[0] - torch.softmax(q1, 0)[1]).item(), abs=1e-6
    )


def test_the_null_threshold_decides_between_no_answer_and_the_best_span():
    # null 2, best span 3: the span wins at threshold 0; at threshold -2 the null option wins
    s, e = window(10, {0: 1.0, 2: 2.0}, {0: 1.0, 3: 1.0})
    spans = null_spans([(s, e, offsets_for(10, 2, 9))], [0], 1)
    context = ["x" * 40]
    assert best_answers(spans, context, null_threshold=0.0) == [context[0][6:11]]
    assert best_answers(spans, context, null_threshold=-1.5) == [""]
    # null 6 beats span 3 by 3: "no answer" at threshold 0 and 2.9, the span at threshold 3.1
    s, e = window(10, {0: 3.0, 2: 2.0}, {0: 3.0, 3: 1.0})
    spans = null_spans([(s, e, offsets_for(10, 2, 9))], [0], 1)
    assert best_answers(spans, context, 0.0) == best_answers(spans, context, 2.9) == [""]
    assert best_answers(spans, context, 3.1) == [context[0][6:11]]


def test_without_null_candidates_nothing_changes():
    s, e = window(10, {0: 9.0, 2: 2.0}, {0: 9.0, 3: 1.0})
    plain = score_questions([(s, e, offsets_for(10, 2, 9))], [0], 1, n_best=3)
    assert not plain.is_null.any()
    assert best_answers(plain, ["abcdefghijklmnop"], null_threshold=-100) == ["ghijk"]
