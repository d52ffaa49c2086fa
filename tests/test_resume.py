"""A killed run resumes where it stopped and ends exactly like an uninterrupted one."""

from __future__ import annotations

import json

import pytest
from conftest import SimulatedKill, kill_after_round, run_tiny

from alqa.loop import ResumeError

COMPARED = ("round", "n_labeled", "em", "f1", "selected_ids", "train_loss")


def comparable(results):
    return [{k: r[k] for k in COMPARED} for r in results["rounds"]]


@pytest.mark.parametrize("warm_start", [False, True])
def test_kill_after_round_one_then_resume_equals_uninterrupted(
    tiny_data, tmp_path, monkeypatch, warm_start
):
    extra = ("strategy=margin", f"train.warm_start={warm_start}", "train.epochs=2")
    uninterrupted = run_tiny(tiny_data, tmp_path / "full", *extra)

    killed_dir = tmp_path / "killed"
    with monkeypatch.context() as patch:
        kill_after_round(patch, 1)
        with pytest.raises(SimulatedKill):
            run_tiny(tiny_data, killed_dir, *extra)
    partial = json.loads((killed_dir / "results.json").read_text())
    assert [r["round"] for r in partial["rounds"]] == [0, 1] and partial["finished"] is False

    resumed = run_tiny(tiny_data, killed_dir, *extra)
    assert comparable(resumed) == comparable(uninterrupted)
    # rounds 0 and 1 were not recomputed: their timings are the ones of the killed run
    assert [r["train_seconds"] for r in resumed["rounds"][:2]] == [
        r["train_seconds"] for r in partial["rounds"]
    ]
    assert not (killed_dir / "model_last.pt").exists()


def test_a_finished_run_is_not_overwritten(tiny_data, tmp_path):
    first = run_tiny(tiny_data, tmp_path, "strategy=random")
    before = (tmp_path / "results.json").read_bytes()
    again = run_tiny(tiny_data, tmp_path, "strategy=random")
    assert (tmp_path / "results.json").read_bytes() == before
    assert again["rounds"] == first["rounds"]


def test_resuming_with_another_configuration_is_refused(tiny_data, tmp_path):
    run_tiny(tiny_data, tmp_path, "strategy=random")
    with pytest.raises(ResumeError, match=r"strategy\.(name|_target_)"):
        run_tiny(tiny_data, tmp_path, "strategy=entropy")
    with pytest.raises(ResumeError, match="seed"):
        run_tiny(tiny_data, tmp_path, "strategy=random", "seed=5")
