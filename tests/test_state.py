"""The saved run state: typed round trip, older formats, refusals, and atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from alqa import atomic
from alqa.atomic import atomic_write_json
from alqa.state import (
    STATE_FILE,
    STATE_FORMAT,
    LastRoundStart,
    PendingQuery,
    PseudoLabels,
    RunState,
    StateFormatError,
    load_state,
    save_state,
)


def a_state() -> RunState:
    return RunState(
        config={"seed": 3, "strategy": {"name": "ceal"}},
        pending=PendingQuery(
            selected_ids=["q7", "q9"],
            score_seconds=1.5,
            select_seconds=0.25,
            pseudo_labels=PseudoLabels([4, 5], [10, 11], [12, 13], ["q1", "q2"]),
        ),
        rng_state={"bit_generator": "PCG64", "state": {"state": 123, "inc": 5}},
        rounds=[{"round": 0, "n_labeled": 2, "f1": 10.0}],
        labeled_ids=["q0", "q3"],
        wandb_run_id="abc",
        pseudo_labels={"1": ["q1"]},
    )


def test_state_round_trips_through_the_file(tmp_path):
    state = a_state()
    save_state(tmp_path, state)
    stored = json.loads((tmp_path / STATE_FILE).read_text())
    assert stored["format"] == STATE_FORMAT
    assert stored["pending"]["pseudo_labels"]["feature_rows"] == [4, 5]
    assert load_state(tmp_path) == state
    assert load_state(tmp_path / "elsewhere") is None


def a_finished_state() -> RunState:
    """Round 1 consumed a query of q7 (labeled), q9 (skipped) and pseudo-labels, then ended."""
    start = LastRoundStart(
        pending=PendingQuery(
            selected_ids=["q7", "q9"],
            pseudo_labels=PseudoLabels([4], [10], [12], ["q1"]),
            requested=True,
            skipped_ids=["q9"],
        ),
        rng_state={"bit_generator": "PCG64", "state": {"state": 77, "inc": 5}},
    )
    return RunState(
        config={"seed": 3},
        pending=PendingQuery(selected_ids=[]),
        rng_state={"bit_generator": "PCG64", "state": {"state": 99, "inc": 5}},
        rounds=[{"round": 0, "n_labeled": 2}, {"round": 1, "n_labeled": 3}],
        labeled_ids=["q0", "q3", "q7"],
        skipped_ids=["q5", "q9"],
        finished=True,
        pseudo_labels={"1": ["q1"]},
        last_round_start=start,
    )


def test_a_finished_state_keeps_and_reopens_its_last_round(tmp_path):
    save_state(tmp_path, a_finished_state())
    state = load_state(tmp_path)
    assert state == a_finished_state()
    state.reopen_last_round()
    assert state.rounds == [{"round": 0, "n_labeled": 2}]
    assert state.labeled_ids == ["q0", "q3"] and state.skipped_ids == ["q5"]
    assert state.pseudo_labels == {} and not state.finished and state.last_round_start is None
    start = a_finished_state().last_round_start
    assert state.pending == start.pending and state.rng_state == start.rng_state


def test_the_first_format_still_resumes(tmp_path):
    """Format 1 (before typed state): no 'format' key, pending without pseudo_labels."""
    document = {
        "config": {"seed": 0},
        "rounds": [],
        "labeled_ids": [],
        "pending": {"selected_ids": ["a", "b"], "score_seconds": 0.0, "select_seconds": 0.0},
        "rng_state": {"state": 1},
        "wandb_run_id": None,
        "finished": False,
    }
    (tmp_path / STATE_FILE).write_text(json.dumps(document))
    state = load_state(tmp_path)
    assert state.pending == PendingQuery(["a", "b"]) and state.pseudo_labels == {}
    assert state.finished is False


#: the required fields of a stored state, each well formed
WHOLE = {
    "format": STATE_FORMAT,
    "config": {},
    "pending": {"selected_ids": []},
    "rng_state": {},
    "rounds": [],
    "labeled_ids": [],
    "finished": False,
}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"format": STATE_FORMAT + 1}, "newer than this alqa reads"),
        ({"format": STATE_FORMAT, "config": {}}, "not a readable alqa state"),
        ([1, 2], "not a readable alqa state .malformed: the document is not a JSON object"),
        ({**WHOLE, "rounds": "x"}, "malformed: 'rounds' is not a JSON list"),
        ({**WHOLE, "rounds": [1]}, "'rounds' is not a list of objects"),
        ({**WHOLE, "finished": "no"}, "'finished' is not a JSON bool"),
        ({**WHOLE, "labeled_ids": [None]}, "'labeled_ids' is not a list of question ids"),
    ],
)
def test_unreadable_states_are_refused_with_what_to_do(tmp_path, document, message):
    (tmp_path / STATE_FILE).write_text(json.dumps(document))
    with pytest.raises(StateFormatError, match=message) as error:
        load_state(tmp_path)
    assert "hydra.run.dir" in str(error.value)
    (tmp_path / STATE_FILE).write_text("{half a file")
    with pytest.raises(StateFormatError, match="not valid JSON"):
        load_state(tmp_path)


def test_a_write_that_dies_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    atomic_write_json(path, {"round": 1})

    def die(*args, **kwargs):
        raise KeyboardInterrupt("killed between write and rename")

    monkeypatch.setattr(os, "replace", die)
    with pytest.raises(KeyboardInterrupt):
        atomic.atomic_write_json(path, {"round": 2})
    assert json.loads(path.read_text()) == {"round": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left over


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_get_the_permissions_the_umask_gives(tmp_path, umask, mode):
    """Results and annotation tasks must be readable by a team when the umask says so."""
    import stat

    from alqa.atomic import atomic_save_torch

    previous = os.umask(umask)
    try:
        atomic_write_json(tmp_path / "results.json", {"rounds": []})
        atomic_save_torch(tmp_path / "model.pt", {"w": 1})
    finally:
        os.umask(previous)
    for name in ("results.json", "model.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode
