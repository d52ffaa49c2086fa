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


@pytest.mark.slow
def test_a_process_killed_mid_run_resumes_with_the_same_picks(tiny_data, tmp_path):
    """A real SIGKILL of ``python main.py`` after its first saved round, then the same command."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO_ROOT, tiny_overrides

    overrides = tiny_overrides(tiny_data, "strategy=entropy", "budget.quota=30")
    command = [sys.executable, str(REPO_ROOT / "main.py"), *overrides]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [*command, f"hydra.run.dir={killed}"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    state_file = killed / "al_state.json"
    deadline = time.monotonic() + 240
    while not (state_file.exists() and json.loads(state_file.read_text())["rounds"]):
        assert process.poll() is None and time.monotonic() < deadline, "no round was saved"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = json.loads(state_file.read_text())
    assert not partial["finished"], "the run ended before it could be killed"

    resumed = subprocess.run([*command, f"hydra.run.dir={killed}"], env=env, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    uninterrupted = run_tiny(tiny_data, tmp_path / "full", "strategy=entropy", "budget.quota=30")
    after = json.loads((killed / "results.json").read_text())
    assert after["finished"] and len(after["rounds"]) == 7
    assert [r["selected_ids"] for r in after["rounds"]] == [
        r["selected_ids"] for r in uninterrupted["rounds"]
    ]
    assert after["rounds"][: len(partial["rounds"])] == partial["rounds"]  # kept, not redone
