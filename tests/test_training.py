"""The training loop: how many optimizer steps it takes, that it learns, and that it is seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT
from omegaconf import OmegaConf

from alqa.training import planned_steps, shuffled_batches, train_model


def train_cfg(**overrides):
    values = {
        "learning_rate": 1e-3,
        "epochs": 1,
        "batch_size": 4,
        "min_steps": 0,
        "weight_decay": 0.0,
        "warmup_ratio": 0.0,
        "max_grad_norm": 1.0,
        "bf16": False,
    }
    return OmegaConf.create({**values, **overrides})


@pytest.fixture(scope="module")
def tiny(tiny_data):
    from alqa.data import read_qa_file
    from alqa.features import tokenize_questions
    from alqa.modeling import build_model, load_tokenizer

    model_cfg = OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml")
    tokenizer = load_tokenizer(model_cfg)
    rows = read_qa_file(tiny_data["train"])
    features = tokenize_questions(rows, tokenizer, model_cfg.max_length, model_cfg.stride)

    def fresh_model():
        torch.manual_seed(0)
        return build_model(model_cfg, tokenizer)

    return fresh_model, features


class StepCounter:
    """Counts optimizer steps from outside: one training forward pass per step."""

    def __init__(self, model: torch.nn.Module):
        self.steps = 0
        model.register_forward_hook(self.hook)

    def hook(self, module, args, output):
        if module.training:
            self.steps += 1


@pytest.mark.parametrize(
    ("windows", "batch", "epochs", "min_steps", "expected"),
    [
        (100, 16, 3, 0, 21),  # 7 steps per epoch
        (100, 16, 3, 200, 200),  # small labeled set: the floor wins, epochs grow
        (1000, 16, 3, 150, 189),  # large labeled set: its epochs already pass the floor
        (5, 16, 2, 0, 2),
    ],
)
def test_planned_steps(windows, batch, epochs, min_steps, expected):
    assert planned_steps(windows, batch, epochs, min_steps) == expected


def test_batches_cover_every_window_each_epoch_and_stop_at_the_planned_step():
    lengths = np.arange(10)
    batches = list(shuffled_batches(lengths, 4, 7, torch.Generator().manual_seed(0)))
    assert len(batches) == 7 and sorted(len(b) for b in batches[:3]) == [2, 4, 4]
    for epoch in (batches[0:3], batches[3:6]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(10))


def test_batches_are_grouped_by_length_and_still_shuffled():
    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 380, size=2048)
    generator = torch.Generator().manual_seed(0)
    batches = list(shuffled_batches(lengths, 16, 128, generator))
    padded = np.mean([lengths[b].max() for b in batches])
    random_batches = [rng.choice(2048, 16, replace=False) for _ in range(128)]
    assert padded < 0.75 * np.mean([lengths[b].max() for b in random_batches])
    # the batch order is not the length order, and the next epoch draws other batches
    first_lengths = [lengths[b].max() for b in batches[:20]]
    assert first_lengths != sorted(first_lengths, reverse=True)
    again = list(shuffled_batches(lengths, 16, 128, torch.Generator().manual_seed(1)))
    assert any(not np.array_equal(a, b) for a, b in zip(batches, again))


@pytest.mark.parametrize(("rows", "min_steps"), [(8, 25), (40, 0), (40, 5)])
def test_min_steps_gives_the_promised_optimizer_steps(tiny, rows, min_steps):
    fresh_model, features = tiny
    model = fresh_model()
    counter = StepCounter(model)
    stats = train_model(
        model,
        features,
        np.arange(rows),
        train_cfg(min_steps=min_steps, epochs=2),
        torch.device("cpu"),
        seed=0,
    )
    expected = max(2 * math.ceil(rows / 4), min_steps)
    assert counter.steps == expected == stats["train_steps"]
    assert math.isfinite(stats["train_loss"])
    assert not model.training  # left ready for scoring


def test_training_lowers_the_loss_and_is_seeded(tiny):
    fresh_model, features = tiny
    rows = np.arange(12)
    losses = []
    for _ in range(2):
        model = fresh_model()
        losses.append(
            train_model(model, features, rows, train_cfg(min_steps=30), torch.device("cpu"), 0)
        )
    assert losses[0] == losses[1]  # same seed, same batches, same loss
    untrained = fresh_model()
    first = train_model(untrained, features, rows, train_cfg(), torch.device("cpu"), 0)
    assert losses[0]["train_loss"] < first["train_loss"]  # 30 steps learn more than 3


def test_no_windows_is_an_error(tiny):
    fresh_model, features = tiny
    with pytest.raises(ValueError, match="no windows"):
        train_model(fresh_model(), features, np.array([], dtype=int), train_cfg(), "cpu", 0)


@pytest.mark.slow
def test_train_compile_trains_through_a_compiled_module_with_the_same_parameters(tiny_data):
    from conftest import compose, tiny_overrides

    from alqa.experiment import build_experiment
    from alqa.rounds import train_round
    from alqa.state import PendingQuery

    experiment = build_experiment(compose(tiny_overrides(tiny_data, "train.compile=true")))
    compiled = experiment.training_model
    assert compiled is not experiment.model and compiled is experiment.training_model
    assert {id(p) for p in compiled.parameters()} == {id(p) for p in experiment.model.parameters()}
    before = [p.detach().clone() for p in experiment.model.parameters()]
    stats, _ = train_round(experiment, np.arange(10), PendingQuery(selected_ids=[]), seed=0)
    assert math.isfinite(stats["train_loss"])
    after = list(experiment.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))  # the model itself learned
