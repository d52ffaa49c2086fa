"""Training-coupled strategies: loss prediction (Yoo & Kweon 2019) and CEAL (Wang et al. 2016).

Picks are checked on hand-built model outputs where the right answer is known; the training
hooks on the tiny random-weight model; CEAL's pseudo-labels end to end through the loop.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import compose, hand_context, make_squad, tiny_overrides

import alqa.rounds
from alqa.data import load_split
from alqa.features import tokenize_questions
from alqa.inference import WindowOutputs, batch_inputs
from alqa.loop import ActiveLearningRun
from alqa.loss_prediction import ranking_loss, spread_layers
from alqa.modeling import InitialWeights, build_model, load_tokenizer
from alqa.pool_scoring import SPANS_KEY, PoolScorer, windows_key
from alqa.span_scoring import QuestionSpans
from alqa.strategies import Entropy, QueryContext, build_strategy
from alqa.strategies.training_coupled import (
    WINDOW_LOSSES_KEY,
    CostEffective,
    LossPrediction,
    confident_pseudo_labels,
)
from alqa.training import train_model

# ---------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def tiny_cfg():
    return compose(["model=tiny", "logger=none"])


@pytest.fixture(scope="module")
def tokenizer(tiny_cfg):
    return load_tokenizer(tiny_cfg.model)


@pytest.fixture(scope="module")
def pool_features(tiny_cfg, tokenizer, tiny_data):
    pool = load_split(str(tiny_data["train"]), None, "train", "dataset.train_file")
    return tokenize_questions(
        pool[:12], tokenizer, int(tiny_cfg.model.max_length), int(tiny_cfg.model.stride)
    )


def tiny_model(cfg, tokenizer, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(cfg.model, tokenizer)


def randomise_head(model: torch.nn.Module) -> None:
    """The module's output layer starts at zero (all windows tied); give it some weights."""
    torch.nn.init.normal_(model.loss_prediction.head.weight)


def hand_spans(probs: list[list[float]], feature_index, start_token, end_token) -> QuestionSpans:
    """QuestionSpans from per-question span probabilities (0 = padding), best first."""
    p = torch.tensor(probs, dtype=torch.float32)
    log_probs = torch.where(p > 0, p.clamp_min(1e-30).log(), torch.full_like(p, -math.inf))
    found = p > 0

    def column0(values) -> torch.Tensor:
        out = torch.full(p.shape, -1, dtype=torch.long)
        out[:, 0] = torch.tensor(values)
        return out.masked_fill(~found, -1)

    return QuestionSpans(
        scores=log_probs.clone(),
        log_probs=log_probs,
        feature_index=column0(feature_index),
        start_token=column0(start_token),
        end_token=column0(end_token),
        start_char=column0(start_token),
        end_char=column0(end_token),
    )


# ------------------------------------------------------------------ loss prediction


def test_ranking_loss_matches_hand_computation():
    predicted = torch.tensor([3.0, 0.0, 1.5, 2.0], requires_grad=True)
    # pairs (0, 2) and (1, 3); true l0 > l2 and l1 > l3, so both signs are +1:
    # max(0, 0.5 − (3 − 1.5)) = 0 and max(0, 0.5 − (0 − 2)) = 2.5 → mean 1.25
    true = torch.tensor([2.0, 5.0, 1.0, 0.0], requires_grad=True)
    loss = ranking_loss(predicted, true, margin=0.5)
    assert loss.item() == pytest.approx(1.25)
    # reversed true order flips both signs: max(0, 0.5 + 1.5) = 2 and max(0, 0.5 − 2) = 0
    assert ranking_loss(predicted, torch.tensor([1.0, 0.0, 2.0, 5.0]), 0.5).item() == (
        pytest.approx(1.0)
    )
    # the true losses are a target: no gradient flows into them
    loss.backward()
    assert true.grad is None
    assert predicted.grad.tolist() == pytest.approx([0.0, -0.5, 0.0, 0.5])
    # an odd last window has no partner and is left out
    odd = ranking_loss(torch.tensor([3.0, 0.0, 1.5, 2.0, 99.0]), torch.tensor([2, 5, 1, 0, -9.0]))
    assert odd.item() == pytest.approx(ranking_loss(predicted, true, 1.0).item())
    assert ranking_loss(torch.tensor([7.0]), torch.tensor([1.0])).item() == 0.0


def test_spread_layers_taps_low_middle_and_last_layers():
    assert spread_layers(12) == [4, 8, 12]
    assert spread_layers(6) == [2, 4, 6]
    assert spread_layers(2) == [1, 2]


def test_loss_prediction_picks_the_largest_window_loss_per_question():
    # pool windows 0..7 belong to questions [0, 0, 1, 2, 3, 3, 4, 5]; candidates 0, 2, 3, 5
    features = SimpleNamespace(num_examples=6, example_index=torch.tensor([0, 0, 1, 2, 3, 3, 4, 5]))
    # question 0: windows 0.1 and 4.0 (max 4.0, mean 2.05); question 2: 2.5;
    # question 3: 1.0 and −3.0; question 5: 3.0. Rows are deliberately out of order.
    rows = np.array([7, 1, 3, 0, 5, 4])
    predicted = torch.tensor([3.0, 4.0, 2.5, 0.1, -3.0, 1.0])
    candidates = np.array([0, 2, 3, 5])
    memory = {WINDOW_LOSSES_KEY: (rows, predicted)}
    scorer = PoolScorer(None, features, candidates, memory=memory)
    context = QueryContext(candidates, np.array([1, 4]), np.random.default_rng(0), 1, scorer)
    strategy = LossPrediction()
    assert strategy.score(context).tolist() == pytest.approx([4.0, 2.5, 1.0, 3.0])
    # max over windows picks 0 then 5; a mean or first-window rule would pick 5 and 2
    assert strategy.query(context, 2).tolist() == [0, 5]


def test_prepare_model_adds_a_module_that_trains_with_the_model(tiny_cfg, tokenizer, pool_features):
    plain = tiny_model(tiny_cfg, tokenizer)
    Entropy().prepare_model(plain)
    assert not any("loss_prediction" in name for name, _ in plain.named_modules())

    model = tiny_model(tiny_cfg, tokenizer)
    strategy = LossPrediction(width=8)
    strategy.prepare_model(model)
    module = model.loss_prediction
    assert module.layers == [1, 2]
    module_ids = {id(p) for p in module.parameters()}
    assert module_ids <= {id(p) for p in model.parameters()}  # in the optimizer's list
    assert any(k.startswith("loss_prediction.") for k in model.state_dict())  # in checkpoints
    initial = InitialWeights(model)
    before = {k: v.clone() for k, v in module.state_dict().items()}

    assert model.loss_prediction.head.weight.abs().sum() == 0  # starts with all windows tied
    train_model(
        model,
        pool_features,
        np.arange(16),
        tiny_cfg.train,
        torch.device("cpu"),
        seed=0,
        auxiliary_loss=strategy.auxiliary_loss(),
    )  # 16 windows, batch size 8: two steps (the zero head passes no gradient in the first)
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None, name  # in the graph of the training loss
        if name.endswith("weight"):  # biases may cancel: a ranking loss ignores offsets
            assert parameter.grad.abs().sum() > 0, name
    assert all(not torch.equal(before[k], v) for k, v in module.state_dict().items())
    initial.restore(model)  # the cold-start reset resets the module too
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


@pytest.mark.parametrize("detach", [True, False])
def test_detach_features_keeps_ranking_gradient_out_of_the_backbone(
    tiny_cfg, tokenizer, pool_features, detach
):
    model = tiny_model(tiny_cfg, tokenizer)
    strategy = LossPrediction(width=8, margin=10.0, detach_features=detach)
    strategy.prepare_model(model)
    randomise_head(model)
    inputs = batch_inputs(pool_features, np.arange(4), torch.device("cpu"))
    output = model(**inputs, output_hidden_states=True)
    true = torch.tensor([1.0, 2.0, 3.0, 4.0])
    strategy.auxiliary_loss()(output, inputs, true).backward()
    encoder = model.bert.encoder.layer[0].attention.self.query.weight.grad
    assert (encoder is not None and bool(encoder.abs().sum() > 0)) is (not detach)
    assert model.loss_prediction.head.weight.grad.abs().sum() > 0


def test_loss_prediction_score_matches_window_by_window_prediction(
    tiny_cfg, tokenizer, pool_features
):
    model = tiny_model(tiny_cfg, tokenizer)
    strategy = LossPrediction(width=8)
    strategy.prepare_model(model)
    randomise_head(model)
    model.eval()
    candidates = np.array([1, 4, 5, 9])
    scorer = PoolScorer(model, pool_features, candidates, batch_size=3, bf16=False)
    context = QueryContext(candidates, np.array([0]), np.random.default_rng(0), 1, scorer)
    scores = strategy.score(context)
    assert scorer.model_seconds > 0
    expected = []
    with torch.no_grad():
        for question in candidates:
            rows = pool_features.features_of([question])
            window_losses = []
            for row in rows:  # one window at a time: no batching, sorting or padding effects
                inputs = batch_inputs(pool_features, np.array([row]), torch.device("cpu"))
                output = model(**inputs, output_hidden_states=True)
                window_losses.append(model.loss_prediction(output.hidden_states).item())
            expected.append(max(window_losses))
    assert scores.tolist() == pytest.approx(expected, abs=1e-5)
    assert len(pool_features.features_of(candidates)) > len(candidates)  # multi-window questions


# ----------------------------------------------------------------------------- CEAL

# candidates (pool indices) and their span distributions; entropy ranks 4 > 5 > 8 > 9 > 1
CANDIDATES = np.array([1, 4, 5, 8, 9])
PROBS = [
    [0.95, 0.05, 0.0],  # pool 1: confident
    [0.40, 0.35, 0.25],  # pool 4: most uncertain
    [0.50, 0.50, 0.0],  # pool 5: tie between two spans
    [0.88, 0.12, 0.0],  # pool 8: confident only once the threshold has decayed below 0.88
    [0.92, 0.08, 0.0],  # pool 9: confident
]
# best spans come from scored windows 3, 0, 1, 2, 6 → pool rows 13, 10, 11, 12, 16
WINDOW_ROWS = np.array([10, 11, 12, 13, 14, 15, 16])


def ceal_context(round_number: int) -> QueryContext:
    spans = hand_spans(
        PROBS, [3, 0, 1, 2, 6], start_token=[21, 22, 23, 24, 25], end_token=[31, 32, 33, 34, 35]
    )
    empty = torch.empty((len(WINDOW_ROWS), 1))
    windows = WindowOutputs(WINDOW_ROWS, empty, empty)
    memory = {SPANS_KEY: spans, windows_key(False): windows}
    return hand_context(CANDIDATES, memory, labeled=[0], round_number=round_number)


@pytest.mark.parametrize(
    "measure, expected",
    [("entropy", [4, 5]), ("least_confidence", [4, 5]), ("margin", [5, 4])],
)
def test_ceal_queries_the_most_uncertain(measure, expected):
    assert CostEffective(uncertainty=measure).query(ceal_context(1), 2).tolist() == expected


def test_ceal_pseudo_labels_are_exactly_the_confident_unpicked_candidates():
    strategy = CostEffective(threshold=0.9, decay=0.05, min_threshold=0.5)
    context = ceal_context(1)
    picked = strategy.query(context, 2)
    labels = strategy.pseudo_labels(context, picked)
    # pool 1 (0.95) and pool 9 (0.92) exceed 0.9; pool 8 (0.88) does not yet
    assert labels.question_ids == ["1", "9"]
    assert labels.feature_rows == [13, 16]  # scored window → pool feature row
    assert labels.start_positions == [21, 25]
    assert labels.end_positions == [31, 35]
    # a picked question is never pseudo-labeled, however confident
    again = confident_pseudo_labels(
        context.scorer.spans(), WINDOW_ROWS, CANDIDATES, np.array([9]), 0.9
    )
    assert again.question_ids == ["1"]


def test_ceal_threshold_decays_per_round_down_to_its_floor():
    strategy = CostEffective(threshold=0.9, decay=0.05, min_threshold=0.8)
    assert [strategy.threshold_at(r) for r in (1, 2, 3, 9)] == pytest.approx([0.9, 0.85, 0.8, 0.8])
    labels = strategy.pseudo_labels(ceal_context(2), np.array([4, 5]))
    assert labels.question_ids == ["1", "8", "9"]  # 0.88 > 0.85 in round 2
    # the floor bounds the decay only; a lower starting threshold is kept as given
    assert CostEffective(threshold=0.3, min_threshold=0.5).threshold_at(1) == pytest.approx(0.3)
    assert CostEffective(threshold=1.0).pseudo_labels(ceal_context(1), np.array([4])) is None


def test_ceal_caps_pseudo_labels_at_the_most_confident():
    strategy = CostEffective(threshold=0.85, decay=0.0, max_pseudo_labels=2)
    labels = strategy.pseudo_labels(ceal_context(1), np.array([4, 5]))
    assert labels.question_ids == ["1", "9"]  # 0.95 and 0.92 kept, 0.88 dropped
    assert labels.feature_rows == [13, 16]


def test_strategies_build_from_their_configs():
    ceal = build_strategy(compose(["strategy=ceal"]).strategy)
    assert isinstance(ceal, CostEffective) and ceal.uncertainty == "entropy"
    learning_loss = build_strategy(compose(["strategy=loss_prediction"]).strategy)
    assert isinstance(learning_loss, LossPrediction) and learning_loss.detach_features
    with pytest.raises(ValueError, match="uncertainty"):
        CostEffective(uncertainty="bald")


@pytest.fixture(scope="module")
def separate_eval_data(tmp_path_factory):
    """Tiny pool and eval set whose question ids cannot be confused (make_squad reuses ids)."""
    folder = tmp_path_factory.mktemp("ceal_data")
    evaluation = make_squad(5, seed=2)
    for article in evaluation["data"]:
        for qa in article["paragraphs"][0]["qas"]:
            qa["id"] = "eval_" + qa["id"]
    (folder / "train.json").write_text(json.dumps(make_squad(20, seed=1, long_context=True)))
    (folder / "eval.json").write_text(json.dumps(evaluation))
    return {"train": folder / "train.json", "eval": folder / "eval.json"}


def test_ceal_end_to_end_pseudo_labels_never_become_gold(separate_eval_data, tmp_path, monkeypatch):
    trained = []  # (pool features, rows, start positions) of every round's training

    def recording_train_model(model, features, rows, *args, **kwargs):
        trained.append((features, np.asarray(rows), kwargs.get("start_positions")))
        return train_model(model, features, rows, *args, **kwargs)

    monkeypatch.setattr(alqa.rounds, "train_model", recording_train_model)
    data = separate_eval_data
    # the random tiny model is never confident: a low threshold makes pseudo-labels exist
    cfg = compose(tiny_overrides(data, "strategy=ceal", "strategy.threshold=0.05"))
    results = ActiveLearningRun(cfg, tmp_path).run()
    rounds = results["rounds"]
    assert [r["n_labeled"] for r in rounds] == [10, 15, 20]
    selected = [q for r in rounds for q in r["selected_ids"]]
    assert len(selected) == len(set(selected)) == 20
    pool_ids = {row["id"] for row in load_split(str(data["train"]), None, "", "train_file")}
    assert rounds[0]["n_pseudo_labeled"] == 0  # logged in every round, 0 before any query
    labeled_so_far = set(rounds[0]["selected_ids"])
    for number in (1, 2):
        labeled_so_far |= set(rounds[number]["selected_ids"])
        pseudo = set(results["pseudo_labels"][str(number)])
        assert rounds[number]["n_pseudo_labeled"] == len(pseudo) > 0
        assert pseudo <= pool_ids  # pool questions only: no eval question is ever trained on
        assert not pseudo & labeled_so_far  # never gold in the round they are trained in
        # the round trained on all windows of its gold questions, then one window per pseudo one
        features, rows, starts = trained[number]
        owners = features.example_index[torch.as_tensor(rows)].numpy()
        gold_owners, pseudo_owners = owners[: -len(pseudo)], owners[-len(pseudo) :]
        assert len(set(gold_owners.tolist())) == rounds[number]["n_labeled"]
        assert len(set(pseudo_owners.tolist())) == len(pseudo_owners) == len(pseudo)
        assert not set(gold_owners.tolist()) & set(pseudo_owners.tolist())
        assert starts is not None and len(starts) == len(rows)
    assert trained[0][2] is None  # round 0 trains on gold only
    for record in rounds:  # EM/F1 are over the 15 eval questions only: EM = 100·hits/15
        assert record["em"] * 15 / 100 == pytest.approx(round(record["em"] * 15 / 100))
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["pseudo_labels"] == results["pseudo_labels"]


def test_loss_prediction_end_to_end(tiny_data, tmp_path):
    cfg = compose(tiny_overrides(tiny_data, "budget.quota=5", "strategy=loss_prediction"))
    results = ActiveLearningRun(cfg, tmp_path).run()
    assert [r["n_labeled"] for r in results["rounds"]] == [10, 15]
    assert results["rounds"][1]["score_seconds"] > 0  # its own pass is counted as model time
    assert all(math.isfinite(r["train_loss"]) for r in results["rounds"])
