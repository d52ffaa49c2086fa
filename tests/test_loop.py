"""The whole AL loop end to end on the random-weight tiny model and tiny data."""

from __future__ import annotations

import json
import math

from conftest import compose, run_tiny, tiny_overrides

from alqa.budget import Budget
from alqa.loggers import WandbLogger
from alqa.loop import ActiveLearningRun


def test_three_rounds_exact_counts_results_and_offline_wandb(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = compose(
        tiny_overrides(tiny_data, "strategy=entropy", "budget.quota=9", "budget.per_round=5")
    )
    results = ActiveLearningRun(cfg, tmp_path, WandbLogger(project="alqa-test")).run()

    rounds = results["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert [r["n_labeled"] for r in rounds] == [10, 15, 19]  # last round is smaller
    assert [len(r["selected_ids"]) for r in rounds] == [10, 5, 4]
    picked = [q for r in rounds for q in r["selected_ids"]]
    assert len(picked) == len(set(picked))
    for r in rounds:
        assert 0 <= r["em"] <= 100 and 0 <= r["f1"] <= 100
        for metric in ("em", "f1"):  # the 95% bootstrap interval over the eval questions
            low, high = r[f"{metric}_ci"]
            assert 0 <= low <= r[metric] <= high <= 100
        for phase in ("train_seconds", "eval_seconds", "score_seconds", "select_seconds"):
            assert r[phase] >= 0
    assert rounds[0]["score_seconds"] == 0 and rounds[1]["score_seconds"] > 0
    assert 1 <= rounds[0]["train_steps"] <= rounds[2]["train_steps"]  # 1 epoch, more windows

    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["rounds"] == rounds and on_disk["finished"] is True
    assert on_disk["config"]["strategy"]["name"] == "entropy"
    assert on_disk["config"]["train"]["learning_rate"] == 1e-3  # resolved from the model
    x = [r["n_labeled"] for r in rounds]
    f1 = [r["f1"] for r in rounds]
    expected = sum((x[i + 1] - x[i]) * (f1[i] + f1[i + 1]) / 2 for i in range(2)) / (x[-1] - x[0])
    assert math.isclose(on_disk["aubc_f1"], expected)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))


def test_pool_subsample_limits_the_candidates_but_not_the_counts(tiny_data, tmp_path):
    results = run_tiny(tiny_data, tmp_path, "strategy=margin", "budget.pool_subsample=6")
    assert [r["n_labeled"] for r in results["rounds"]] == [10, 15, 20]


def test_round_sizes_follow_the_budget():
    assert Budget(100, 100, 1000).round_sizes() == [100] + [100] * 10
    assert Budget(10, 4, 10).round_sizes() == [10, 4, 4, 2]
    assert Budget(5, 3, 0).round_sizes() == [5]


def test_the_learning_curve_is_printed_at_the_end(tiny_data, tmp_path, capsys):
    from alqa.app import run_from_config

    run_from_config(compose(tiny_overrides(tiny_data, "strategy=random")), run_dir=tmp_path)
    printed = capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    for r in results["rounds"]:
        assert f"| {r['round']} | {r['n_labeled']} | {r['em']:.2f} | {r['f1']:.2f} |" in printed
    assert f"AUBC F1 {results['aubc_f1']:.2f}" in printed
