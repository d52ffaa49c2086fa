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
    # a warm-started run keeps the model its last round started from (to grow its quota)
    assert (killed_dir / "model_last.pt").exists() == warm_start


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


def test_a_run_resumes_on_another_device_but_not_with_another_evaluation_batch(
    tiny_data, tmp_path, monkeypatch
):
    with monkeypatch.context() as patch:
        kill_after_round(patch, 1)
        with pytest.raises(SimulatedKill):
            run_tiny(tiny_data, tmp_path, "strategy=margin", "train.device=auto")
    # what it computes: refused (the evaluation batch splits MC-dropout masks differently)
    for changed in ("train.epochs=3", "train.eval_batch_size=7"):
        with pytest.raises(ResumeError, match=changed.split("=")[0].replace(".", r"\.")):
            run_tiny(tiny_data, tmp_path, "strategy=margin", changed)
    # where, not what: accepted, and the results name this session's device
    resumed = run_tiny(tiny_data, tmp_path, "strategy=margin", "train.device=cpu")
    assert resumed["finished"] is True and len(resumed["rounds"]) == 3
    assert resumed["config"]["train"]["device"] == "cpu"


def test_whether_the_oracle_offers_no_answer_is_part_of_the_experiment():
    from alqa.loop import differences, identity

    def team(no_answer):
        oracle = {"name": "label_studio", "no_answer": no_answer, "url": "http://a"}
        return {"seed": 0, "train": {"device": "cuda:0", "epochs": 2}, "oracle": oracle}

    assert differences(identity(team("auto")), identity(team(True))) == ["oracle.no_answer"]
    moved = team("auto")
    moved["oracle"]["url"], moved["train"]["device"] = "http://b", "cpu"  # where, not what
    assert differences(identity(team("auto")), identity(moved)) == []


GROWN = ("budget.quota=20",)  # 4 rounds of 5 after the 10 initial ones, against 2


@pytest.mark.parametrize(
    "extra",
    [
        ("strategy=margin",),
        ("strategy=margin", "train.warm_start=true"),
        # pseudo-labels in every round (a threshold any best span passes)
        ("strategy=ceal", "strategy.threshold=0.01", "strategy.min_threshold=0.01"),
    ],
    ids=["margin", "warm_start", "ceal"],
)
def test_a_finished_run_given_a_larger_quota_goes_on_as_an_uninterrupted_run(
    tiny_data, tmp_path, extra
):
    uninterrupted = run_tiny(tiny_data, tmp_path / "full", *extra, *GROWN)
    run_dir = tmp_path / "grown"
    first = run_tiny(tiny_data, run_dir, *extra)
    assert first["finished"] and len(first["rounds"]) == 3
    grown = run_tiny(tiny_data, run_dir, *extra, *GROWN)
    assert grown["finished"] and grown["config"]["budget"]["quota"] == 20
    assert comparable(grown) == comparable(uninterrupted)
    # the first two rounds were kept; the last one ran again, now followed by a query
    assert grown["rounds"][:2] == first["rounds"][:2]
    assert grown["rounds"][2]["train_seconds"] != first["rounds"][2]["train_seconds"]
    if "strategy=ceal" in extra:
        assert all(r["n_pseudo_labeled"] > 0 for r in grown["rounds"][1:])
        assert grown["pseudo_labels"] == uninterrupted["pseudo_labels"]
    grown_state, full_state = (
        json.loads((d / "al_state.json").read_text()) for d in (run_dir, tmp_path / "full")
    )
    assert grown_state["labeled_ids"] == full_state["labeled_ids"]


def test_a_killed_run_given_a_larger_quota_goes_on_as_an_uninterrupted_run(
    tiny_data, tmp_path, monkeypatch
):
    uninterrupted = run_tiny(tiny_data, tmp_path / "full", "strategy=entropy", *GROWN)
    run_dir = tmp_path / "killed"
    with monkeypatch.context() as patch:
        kill_after_round(patch, 1)
        with pytest.raises(SimulatedKill):
            run_tiny(tiny_data, run_dir, "strategy=entropy")
    resumed = run_tiny(tiny_data, run_dir, "strategy=entropy", *GROWN)
    assert comparable(resumed) == comparable(uninterrupted)


@pytest.mark.parametrize(
    ("first", "then", "message"),
    [
        (
            (),
            ("budget.quota=5",),
            r"budget\.quota=5 is less than the 10 questions .*quota=10 or more",
        ),
        ((), ("budget.per_round=4", *GROWN), r"keep budget\.initial=10 and budget\.per_round=5"),
        ((), ("budget.initial=8", *GROWN), r"rounds add 10, 5, 5 questions"),
        # the last round added 3 < per_round: an uninterrupted run would have added 5 there
        (
            ("budget.quota=8",),
            GROWN,
            r"rounds add 10, 5, 3 questions and the new budget would add 10, 5, 5",
        ),
    ],
    ids=["smaller_quota", "per_round", "initial", "partial_last_round"],
)
def test_a_budget_that_would_have_picked_other_rounds_is_refused(
    tiny_data, tmp_path, first, then, message
):
    before = run_tiny(tiny_data, tmp_path, "strategy=random", *first)
    state_before = (tmp_path / "al_state.json").read_bytes()
    with pytest.raises(ResumeError, match=message):
        run_tiny(tiny_data, tmp_path, "strategy=random", *then)
    assert (tmp_path / "al_state.json").read_bytes() == state_before  # nothing lost
    assert run_tiny(tiny_data, tmp_path, "strategy=random", *first) == before


def test_a_finished_run_without_its_last_rounds_start_cannot_grow(tiny_data, tmp_path):
    """Runs finished by an alqa that did not keep ``last_round_start`` are refused, not redone."""
    run_tiny(tiny_data, tmp_path, "strategy=random")
    path = tmp_path / "al_state.json"
    state = json.loads(path.read_text())
    del state["last_round_start"]
    path.write_text(json.dumps(state))
    with pytest.raises(ResumeError, match="finished before alqa kept"):
        run_tiny(tiny_data, tmp_path, "strategy=random", *GROWN)


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


def test_a_kill_between_the_warm_model_and_the_state_resumes_from_the_right_model(
    tiny_data, tmp_path, monkeypatch
):
    """The model of round 1 is on disk, its state is not: round 1 must be retrained from
    round 0's model, not from its own end."""
    import alqa.loop

    extra = ("strategy=margin", "train.warm_start=true", "train.epochs=2")
    uninterrupted = run_tiny(tiny_data, tmp_path / "full", *extra)
    save = alqa.loop.save_state

    def die_before_round_one_is_saved(run_dir, state):
        if len(state.rounds) == 2:
            raise SimulatedKill("killed after the model, before the state")
        save(run_dir, state)

    killed_dir = tmp_path / "killed"
    with monkeypatch.context() as patch:
        patch.setattr(alqa.loop, "save_state", die_before_round_one_is_saved)
        with pytest.raises(SimulatedKill):
            run_tiny(tiny_data, killed_dir, *extra)
    assert list(killed_dir.glob("model_last.pt.round*"))  # the interrupted save's model
    resumed = run_tiny(tiny_data, killed_dir, *extra)
    assert comparable(resumed) == comparable(uninterrupted)
    assert not list(killed_dir.glob("model_last.pt.round*"))


@pytest.mark.parametrize("damage", ["one_round_short", "not_json"])
def test_rerunning_a_finished_run_restores_its_results_file(tiny_data, tmp_path, damage):
    first = run_tiny(tiny_data, tmp_path, "strategy=random")
    results = tmp_path / "results.json"
    if damage == "one_round_short":
        results.write_text(json.dumps({**first, "rounds": first["rounds"][:-1], "finished": False}))
    else:
        results.write_text("{broken")
    again = run_tiny(tiny_data, tmp_path, "strategy=random")
    assert json.loads(results.read_text()) == json.loads(json.dumps(first)) == again
