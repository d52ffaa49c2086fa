"""Monte-Carlo dropout strategies: picks on hand-built passes, plus one tiny-model check.

Hand-built tests put the per-pass span log-probabilities (and the deterministic candidate
spans) into the round's scorer memo under the keys the strategies read, so the
real ``query`` runs without a model.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import hand_context, tiny_scorer
from omegaconf import OmegaConf

from alqa import uncertainty
from alqa.mc_dropout import cache_key, mc_span_log_probs, span_log_probs
from alqa.pool_scoring import SPANS_KEY
from alqa.span_scoring import NEG_INF, QuestionSpans
from alqa.strategies import build_strategy
from alqa.strategies.base import QueryContext
from alqa.strategies.bayesian import (
    BALD,
    EntropyDropout,
    LeastConfidenceDropout,
    MarginDropout,
    MCDropoutStrategy,
    MeanSTD,
    VariationRatio,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
MC_STRATEGIES = [
    MarginDropout,
    LeastConfidenceDropout,
    EntropyDropout,
    VariationRatio,
    BALD,
    MeanSTD,
]


def hand_spans(candidates: list[list[tuple[int, int, int]]], width: int) -> QuestionSpans:
    """QuestionSpans from (window, start_token, end_token) per candidate; −inf/−1 padding.

    Character offsets are 10× the token positions plus 100× the window: distinct spans.
    """
    e = len(candidates)
    feature = torch.full((e, width), -1, dtype=torch.long)
    start = torch.full((e, width), -1, dtype=torch.long)
    end = torch.full((e, width), -1, dtype=torch.long)
    for q, spans in enumerate(candidates):
        for j, (w, s, t) in enumerate(spans):
            feature[q, j], start[q, j], end[q, j] = w, s, t
    valid = feature >= 0
    scores = torch.zeros((e, width)).masked_fill(~valid, NEG_INF)
    counts = valid.sum(dim=1, keepdim=True).clamp_min(1)
    log_probs = (-counts.float().log()).expand(e, width).masked_fill(~valid, NEG_INF)
    start_char = torch.where(valid, 100 * feature + 10 * start, -1)
    end_char = torch.where(valid, 100 * feature + 10 * end + 5, -1)
    return QuestionSpans(scores, log_probs, feature, start, end, start_char, end_char)


def passes_to_log_probs(probs: list[list[list[float]]]) -> torch.Tensor:
    """[T][E][n] probabilities (0 = padding) → [T, E, n] log-probabilities."""
    return torch.tensor(probs, dtype=torch.float32).log()


def context_with(spans: QuestionSpans, log_probs: torch.Tensor) -> QueryContext:
    """A model-free round whose cache already holds the candidate spans and the MC passes."""
    questions = spans.scores.shape[0]
    memory = {SPANS_KEY: spans, cache_key(log_probs.shape[0]): log_probs}
    return hand_context(np.arange(100, 100 + questions), memory, labeled=np.arange(10))


def spans_like(probs: list[list[list[float]]]) -> QuestionSpans:
    """Candidate spans in one window per question, one per non-zero slot of pass 0."""
    first = probs[0]
    return hand_spans(
        [
            [(q, 2 * j + 1, 2 * j + 2) for j, p in enumerate(row) if p > 0]
            for q, row in enumerate(first)
        ],
        len(first[0]),
    )


def picks(strategy_class: type[MCDropoutStrategy], probs: list, k: int = 1) -> list[int]:
    """Positions (not pool indices) of the ``k`` questions the strategy labels first."""
    log_probs = passes_to_log_probs(probs)
    context = context_with(spans_like(probs), log_probs)
    strategy = strategy_class(mc_passes=log_probs.shape[0])
    return (strategy.query(context, k) - 100).tolist()


def test_span_log_probs_gathers_each_candidate_from_its_own_window():
    # question 0: spans in windows 0 and 2; question 1: one span in window 1; question 2: none
    spans = hand_spans([[(0, 1, 3), (2, 0, 0)], [(1, 2, 2)], []], width=3)
    start = torch.full((3, 5), -50.0)
    end = torch.full((3, 5), -50.0)
    start[0, 1], end[0, 3] = 1.0, 2.0  # span (0, 1, 3): score 3
    start[2, 0], end[2, 0] = 0.5, 0.5  # span (2, 0, 0): score 1
    start[1, 2], end[1, 2] = 4.0, -1.0
    out = span_log_probs(start, end, spans)
    expected = torch.log_softmax(torch.tensor([3.0, 1.0]), dim=0)
    assert torch.allclose(out[0, :2], expected)
    assert out[0, 2] == NEG_INF
    assert out[1, 0] == pytest.approx(0.0)  # single candidate: probability 1
    assert torch.isneginf(out[1, 1:]).all() and torch.isneginf(out[2]).all()
    # a stack of passes is gathered pass by pass
    stacked = span_log_probs(torch.stack([start, start + 1]), torch.stack([end, end]), spans)
    assert stacked.shape == (2, 3, 3)
    assert torch.allclose(stacked[1, 0, :2], expected)  # a shift common to all spans cancels


def test_span_identity_is_char_offsets_not_rank():
    # Q0: pass 1 is sure of span x, pass 2 of span y (the passes rank the spans differently);
    # its real predictive distribution is 50/50. Q1: both passes give (0.7, 0.3).
    spans = hand_spans([[(0, 1, 2), (0, 4, 5)], [(1, 1, 2), (1, 4, 5)]], width=2)
    start = torch.full((2, 2, 8), -30.0)  # [T, F, L]
    end = torch.zeros((2, 2, 8))
    for t, (px, py) in enumerate([(0.9, 0.1), (0.1, 0.9)]):
        start[t, 0, 1], start[t, 0, 4] = math.log(px), math.log(py)
        start[t, 1, 1], start[t, 1, 4] = math.log(0.7), math.log(0.3)
    log_probs = span_log_probs(start, end, spans)
    probs = log_probs.exp()
    assert probs[0, 0].argmax() != probs[1, 0].argmax()  # each pass has another best span
    assert torch.allclose(uncertainty.mc_mean_probs(probs)[0], torch.tensor([0.5, 0.5]))

    # averaging each pass's sorted probabilities (rank-keyed) would call Q0 confident
    rank_keyed = probs.sort(dim=2, descending=True).values.mean(dim=0)
    assert uncertainty.margin(rank_keyed).argmax().item() == 1
    assert uncertainty.least_confidence(rank_keyed).argmax().item() == 1

    for strategy_class in (MarginDropout, LeastConfidenceDropout, EntropyDropout):
        context = context_with(spans, log_probs)
        assert strategy_class(mc_passes=2).query(context, 1).tolist() == [100]


def test_bald_prefers_disagreement_entropy_prefers_flat():
    probs = [
        # pass 1: Q0 uniformly uncertain over 3 spans, Q1 confident in span a
        [[1 / 3, 1 / 3, 1 / 3], [0.95, 0.05, 0.0]],
        # pass 2: Q0 the same flat distribution, Q1 confident in span b
        [[1 / 3, 1 / 3, 1 / 3], [0.05, 0.95, 0.0]],
    ]
    scores = uncertainty.bald(torch.tensor(probs))
    assert scores[0].item() == pytest.approx(0.0, abs=1e-6)  # no disagreement at all
    h = -(0.95 * math.log(0.95) + 0.05 * math.log(0.05))
    assert scores[1].item() == pytest.approx(math.log(2) - h, abs=1e-5)
    assert picks(BALD, probs) == [1]
    assert picks(EntropyDropout, probs) == [0]  # ln 3 > ln 2: the flat question wins


def test_variation_ratio_counts_modal_answers():
    probs = [  # 4 passes; Q0: a,a,a,b  Q1: a,b,c,a  Q2: a in all passes
        [[0.6, 0.4, 0.0], [0.5, 0.3, 0.2], [0.9, 0.1, 0.0]],
        [[0.7, 0.3, 0.0], [0.2, 0.7, 0.1], [0.8, 0.2, 0.0]],
        [[0.5, 0.4, 0.0], [0.2, 0.3, 0.5], [0.6, 0.4, 0.0]],
        [[0.3, 0.7, 0.0], [0.4, 0.3, 0.3], [0.9, 0.1, 0.0]],
    ]
    # zero-probability slots of pass 0 are padding in spans_like: keep them 0 in every pass
    scores = uncertainty.variation_ratio(torch.tensor(probs))
    assert scores.tolist() == pytest.approx([0.25, 0.5, 0.0])
    assert picks(VariationRatio, probs, k=3) == [1, 0, 2]


def test_mean_std_by_hand_ignores_padding():
    probs = [  # Q0: two spans, std 0.2 each; Q1: three spans, stds 0.1, 0.1, 0
        [[0.8, 0.2, 0.0], [0.5, 0.3, 0.2]],
        [[0.4, 0.6, 0.0], [0.3, 0.5, 0.2]],
    ]
    scores = uncertainty.mean_std(torch.tensor(probs))
    assert scores.tolist() == pytest.approx([0.2, 0.2 / 3], abs=1e-6)  # not 0.4 / 3 for Q0
    assert picks(MeanSTD, probs) == [0]


def test_margin_dropout_uses_the_mean_distribution():
    probs = [  # Q0: (0.6, 0.4) in both passes: gap 0.2 every pass and on average
        [[0.6, 0.4], [0.95, 0.05]],  # Q1: passes disagree; mean (0.55, 0.45), gap 0.1
        [[0.6, 0.4], [0.15, 0.85]],
    ]
    mean_of_pass_margins = uncertainty.margin(torch.tensor(probs).flatten(0, 1)).view(2, 2)
    assert mean_of_pass_margins.mean(dim=0).argmax().item() == 0  # the wrong average
    assert picks(MarginDropout, probs) == [1]
    assert picks(LeastConfidenceDropout, probs) == [1]  # 1 - 0.55 > 1 - 0.6


@pytest.mark.parametrize("strategy_class", MC_STRATEGIES)
def test_question_without_span_goes_first(strategy_class):
    probs = [  # Q1 has no candidate span at all; Q0 and Q2 are very uncertain
        [[0.5, 0.5], [0.0, 0.0], [0.1, 0.9]],
        [[0.5, 0.5], [0.0, 0.0], [0.9, 0.1]],
    ]
    assert picks(strategy_class, probs) == [1]


@pytest.mark.parametrize("name", ["margin_dropout", "least_confidence_dropout", "entropy_dropout"])
def test_configs_build(name):
    cfg = OmegaConf.load(REPO_ROOT / "conf" / "strategy" / f"{name}.yaml")
    strategy = build_strategy(cfg)
    assert strategy.name == name and strategy.mc_passes == 10 and strategy.batch == "topk"


@pytest.mark.parametrize("name", ["var_ratio", "bald", "mean_std"])
def test_more_configs_build(name):
    cfg = OmegaConf.load(REPO_ROOT / "conf" / "strategy" / f"{name}.yaml")
    cfg.mc_passes = 3
    strategy = build_strategy(cfg)
    assert strategy.name == name and strategy.mc_passes == 3


def test_mc_passes_must_be_positive():
    with pytest.raises(ValueError, match="mc_passes"):
        BALD(mc_passes=0)


@pytest.fixture(scope="module")
def tiny_round(tiny_data):
    """A random-weight tiny BERT and the tokenised 60-question pool (multi-window contexts)."""
    model, features, scorer = tiny_scorer(tiny_data, batch_size=32, n_best=20)
    assert features.num_features > features.num_examples  # some questions span 2+ windows
    return model, scorer


def test_mc_passes_on_a_tiny_model(tiny_round):
    model, scorer = tiny_round

    def fresh_context() -> QueryContext:
        candidates = np.arange(5, 60, 2)
        return QueryContext(
            candidates, np.arange(5), np.random.default_rng(7), 1, scorer(candidates)
        )

    context = fresh_context()
    spans = context.scorer.spans()
    outputs = context.scorer.window_outputs()
    # the gather re-derives the deterministic distribution from the deterministic logits
    regathered = span_log_probs(outputs.start_logits, outputs.end_logits, spans)
    assert torch.equal(torch.isfinite(regathered), torch.isfinite(spans.log_probs))
    valid = torch.isfinite(spans.log_probs)
    assert torch.allclose(regathered[valid], spans.log_probs[valid], atol=1e-5)

    torch_state = torch.get_rng_state()
    seconds_before = context.scorer.model_seconds
    log_probs = mc_span_log_probs(context.scorer, context.rng, 3)
    assert log_probs.shape == (3, *spans.log_probs.shape)
    assert not model.training  # dropout is switched off again
    assert not any(m.training for m in model.modules())
    assert torch.equal(torch.get_rng_state(), torch_state)  # global RNG stream untouched
    assert context.scorer.model_seconds > seconds_before
    assert mc_span_log_probs(context.scorer, context.rng, 3) is log_probs  # memoised

    # same support in every pass, each pass a distribution, and dropout really changes them
    assert torch.equal(torch.isfinite(log_probs), valid.expand_as(log_probs))
    sums = log_probs.exp().sum(dim=2)[:, spans.has_span]
    assert torch.allclose(sums, torch.ones_like(sums), atol=1e-5)
    assert not torch.allclose(log_probs[0][valid], log_probs[1][valid])
    assert not torch.allclose(log_probs[1][valid], log_probs[2][valid])
    assert not torch.allclose(log_probs[0][valid], spans.log_probs[valid])

    # reproducible: the same round RNG gives the same passes
    fresh = fresh_context()
    assert torch.equal(mc_span_log_probs(fresh.scorer, fresh.rng, 3), log_probs)

    # every strategy reuses the cached passes and picks distinct candidates
    for strategy_class in MC_STRATEGIES:
        picked = strategy_class(mc_passes=3).query(context, 4)
        assert len(set(picked.tolist())) == 4 and np.isin(picked, context.candidates).all()


def test_hidden_dropout_only_switches_off_exactly_the_attention_probability_dropout(
    tiny_round,
):
    from alqa.mc_dropout import attention_probability_dropouts, without_attention_dropout

    model, scorer = tiny_round
    layers = attention_probability_dropouts(model)
    assert len(layers) == model.config.num_hidden_layers  # one per self-attention
    assert all(layer.p == model.config.attention_probs_dropout_prob for layer in layers)
    hidden = [m for m in model.modules() if isinstance(m, torch.nn.Dropout) and m not in layers]
    with without_attention_dropout(model):
        assert all(layer.p == 0.0 for layer in layers)
        assert all(m.p == model.config.hidden_dropout_prob for m in hidden)
    assert all(layer.p == model.config.attention_probs_dropout_prob for layer in layers)

    def passes(attention_dropout: bool) -> torch.Tensor:
        return mc_span_log_probs(
            scorer(np.arange(5, 60, 2)), np.random.default_rng(7), 2, attention_dropout
        )

    # with hidden dropout silenced, only attention dropout can make two passes differ
    saved = [m.p for m in hidden]
    for m in hidden:
        m.p = 0.0
    try:
        with_attention, without = passes(True), passes(False)
    finally:
        for m, p in zip(hidden, saved):
            m.p = p
    valid = torch.isfinite(without[0])
    assert not torch.allclose(with_attention[0][valid], with_attention[1][valid])
    assert torch.allclose(without[0][valid], without[1][valid])
    assert cache_key(2, False) != cache_key(2, True)
    assert (
        build_strategy(
            OmegaConf.create(
                {
                    "_target_": "alqa.strategies.bayesian.BALD",
                    "name": "bald",
                    "attention_dropout": False,
                }
            )
        ).attention_dropout
        is False
    )


def test_mc_candidates_runs_the_passes_on_the_most_uncertain_questions_only():
    # deterministic spans: q0 and q2 flat (two equal spans, high entropy), q1 and q3 one
    # dominant span (low entropy); the MC passes are given for the 2 prefiltered rows only
    spans = hand_spans([[(0, 1, 2), (0, 3, 4)]] * 4, width=2)
    sharp = torch.tensor([[0.0, -9.0]]).log_softmax(dim=1)[0]
    for q in (1, 3):
        spans.log_probs[q] = sharp
    # among q0 and q2, the passes disagree on q2 only: BALD picks q2; q1/q3 are never run
    passes = passes_to_log_probs([[[0.5, 0.5], [0.9, 0.1]], [[0.5, 0.5], [0.1, 0.9]]])
    memory = {SPANS_KEY: spans, cache_key(2, True, 2): passes}
    context = hand_context(np.arange(100, 104), memory)
    strategy = BALD(mc_passes=2, mc_candidates=2)
    assert strategy.prefiltered(context).tolist() == [0, 2]
    scores = strategy.score(context)
    assert np.isneginf(scores[[1, 3]]).all() and scores[2] > scores[0] >= 0
    assert strategy.query(context, 2).tolist() == [102, 100]
    # without the prefilter the same strategy needs passes for every candidate
    assert BALD(mc_passes=2, mc_candidates=10).prefiltered(context) is None
    with pytest.raises(ValueError, match="mc_candidates"):
        BALD(mc_candidates=0)


def test_batched_passes_equal_separate_passes_when_dropout_draws_nothing(tiny_round):
    model, scorer = tiny_round
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    saved = [m.p for m in dropouts]
    for m in dropouts:
        m.p = 0.0  # every pass is then the deterministic one, however it is batched
    try:
        results = {}
        for per_batch in (1, 2, 4):
            candidates = np.arange(5, 60, 2)
            context = QueryContext(
                candidates, np.arange(5), np.random.default_rng(7), 1, scorer(candidates)
            )
            results[per_batch] = mc_span_log_probs(
                context.scorer, context.rng, 5, passes_per_batch=per_batch
            )
            deterministic = context.scorer.spans().log_probs
    finally:
        for m, p in zip(dropouts, saved):
            m.p = p
    valid = torch.isfinite(deterministic)
    for per_batch, log_probs in results.items():
        assert log_probs.shape == (5, *deterministic.shape), per_batch
        for t in range(5):
            assert torch.allclose(log_probs[t][valid], deterministic[valid], atol=1e-5)
