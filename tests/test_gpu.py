"""The CUDA code path: bf16 autocast in training and scoring, MC dropout, k-center, BADGE,
loss prediction and CEAL on the GPU, resume, and the same picks for the same seed. Skipped
without CUDA."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from conftest import SimulatedKill, kill_after_round, run_tiny

from alqa.experiment import build_experiment

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
CUDA = ("train.device=cuda",)


def test_training_and_scoring_run_under_bf16_autocast(tiny_data):
    from conftest import compose, tiny_overrides

    from alqa.inference import autocast_context
    from alqa.query import round_scorer
    from alqa.training import train_model

    experiment = build_experiment(compose(tiny_overrides(tiny_data, *CUDA)))
    assert experiment.device.type == "cuda"
    with autocast_context(experiment.device, True):
        probe = torch.nn.Linear(4, 4).cuda()(torch.ones(2, 4, device="cuda"))
    assert probe.dtype == torch.bfloat16  # autocast is really on
    stats = train_model(
        experiment.model,
        experiment.pool_features,
        experiment.pool_features.features_of(np.arange(10)),
        experiment.settings.train,
        experiment.device,
        seed=0,
    )
    assert np.isfinite(stats["train_loss"])
    assert next(experiment.model.parameters()).dtype == torch.float32  # master weights fp32
    spans = round_scorer(experiment, np.arange(20, 40)).spans()
    assert spans.scores.is_cuda and torch.isfinite(spans.scores[:, 0]).all()
    assert torch.allclose(spans.probs.sum(dim=1), torch.ones(20, device="cuda"), atol=1e-3)


def host_syncs(step) -> int:
    """How many times ``step()`` made the host wait for the GPU (torch's sync debug mode)."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchronizing" in str(w.message) for w in caught)


def test_passes_and_training_steps_do_not_wait_for_the_gpu_per_batch(tiny_data):
    """A blocking host-to-GPU copy per batch (index or label tensors) stalls every pass; only
    the model's own forward may synchronise per batch, the bare loop's baseline."""
    from conftest import compose, tiny_overrides

    from alqa.inference import forward_batches
    from alqa.query import round_scorer
    from alqa.training import train_model

    experiment = build_experiment(
        compose(tiny_overrides(tiny_data, *CUDA, "train.eval_batch_size=4", "train.batch_size=4"))
    )
    features, device, train = experiment.pool_features, experiment.device, experiment.settings.train
    rows = np.arange(features.num_features)
    batches = math.ceil(len(rows) / 4)
    assert batches >= 16

    def bare_pass():
        for _ in forward_batches(experiment.model, features, rows, 4, device, bf16=True):
            pass

    per_forward = host_syncs(bare_pass) / batches
    scoring = host_syncs(lambda: round_scorer(experiment, np.arange(len(experiment.pool))).spans())
    assert scoring <= per_forward * batches + batches / 2

    labeled = features.features_of(np.arange(40))
    steps = math.ceil(len(labeled) / 4) * train.epochs
    assert steps >= 8
    training = host_syncs(
        lambda: train_model(experiment.model, features, labeled, train, device, seed=0)
    )
    assert training <= per_forward * steps + steps / 2


@pytest.mark.parametrize(
    "strategy", ["bald", "kcenter", "badge", "margin", "loss_prediction", "ceal"]
)
def test_strategies_run_on_cuda_and_pick_the_same_twice(tiny_data, tmp_path, strategy):
    extra = (*CUDA, f"strategy={strategy}", "budget.quota=8", "budget.per_round=4")
    if strategy == "bald":
        extra += ("strategy.mc_passes=3",)
    first = run_tiny(tiny_data, tmp_path / "a", *extra)
    again = run_tiny(tiny_data, tmp_path / "b", *extra)
    picks = [r["selected_ids"] for r in first["rounds"]]
    assert [len(p) for p in picks] == [10, 4, 4]
    assert picks == [r["selected_ids"] for r in again["rounds"]]


def test_resume_on_cuda_equals_an_uninterrupted_run(tiny_data, tmp_path, monkeypatch):
    extra = (*CUDA, "strategy=margin", "train.epochs=2")
    uninterrupted = run_tiny(tiny_data, tmp_path / "full", *extra)
    with monkeypatch.context() as patch:
        kill_after_round(patch, 1)
        with pytest.raises(SimulatedKill):
            run_tiny(tiny_data, tmp_path / "killed", *extra)
    partial = json.loads((tmp_path / "killed" / "results.json").read_text())
    assert len(partial["rounds"]) == 2
    resumed = run_tiny(tiny_data, tmp_path / "killed", *extra)
    assert [r["selected_ids"] for r in resumed["rounds"]] == [
        r["selected_ids"] for r in uninterrupted["rounds"]
    ]
