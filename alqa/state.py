"""The run state saved after every round (``al_state.json``), as typed dataclasses.

Round ``r`` ends by picking the questions round ``r+1`` will add, so the saved state already
holds the next labeled set (``pending``): a resumed run only retrains, with the same picks.
The file is rewritten atomically, so a kill leaves the previous round's state or the new one.

Format history: 1 (no ``format`` key) had the same fields as plain dicts; 2 had no oracle
fields (``answers``, ``skipped_ids``, ``oracle``, ``waiting``, and ``requested`` /
``skipped_ids`` in ``pending``), which an older run takes as the gold oracle's empty ones.
Both still load. A finished run also keeps where its last round started
(``last_round_start``), so that a larger ``budget.quota`` can reopen it; runs that finished
without it cannot grow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alqa.atomic import atomic_write_json, read_json

STATE_FILE = "al_state.json"
#: the layout written by this version; older ones are read, newer ones refused
STATE_FORMAT = 3


class ResumeError(RuntimeError):
    """The run directory holds a different run; the message says what to do."""


class StateFormatError(ValueError):
    """``al_state.json`` cannot be read by this alqa; the message says what to do."""


@dataclass
class PseudoLabels:
    """Training-only labels a strategy proposes (CEAL): never gold, never counted in the budget.

    ``feature_rows`` index the tokenised pool; ``start_positions``/``end_positions`` are token
    positions in those windows; ``question_ids`` are logged, never added to ``labeled``.
    """

    feature_rows: list[int]
    start_positions: list[int]
    end_positions: list[int]
    question_ids: list[str]


@dataclass
class PendingQuery:
    """The questions picked for the next round, and what picking them cost.

    ``requested``: they were handed to the oracle (its tasks exist); ``skipped_ids``: those
    the annotators skipped, which the round does not label.
    """

    selected_ids: list[str]
    score_seconds: float = 0.0
    select_seconds: float = 0.0
    pseudo_labels: PseudoLabels | None = None
    requested: bool = False
    skipped_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> PendingQuery:
        pseudo = document.get("pseudo_labels")
        return cls(
            selected_ids=list(document["selected_ids"]),
            score_seconds=float(document.get("score_seconds", 0.0)),
            select_seconds=float(document.get("select_seconds", 0.0)),
            pseudo_labels=PseudoLabels(**pseudo) if pseudo else None,
            requested=bool(document.get("requested", False)),
            skipped_ids=list(document.get("skipped_ids") or []),
        )


@dataclass
class LastRoundStart:
    """What the last round of a finished run started from: the query it consumed and the RNG
    state before it. Running that round again from here, with a next query this time, is what
    an uninterrupted run with a larger quota would have done."""

    pending: PendingQuery
    rng_state: dict[str, Any]

    @classmethod
    def from_json(cls, document: dict[str, Any] | None) -> LastRoundStart | None:
        if not document:
            return None
        return cls(PendingQuery.from_json(document["pending"]), document["rng_state"])


#: the JSON type of each required field of a stored state: a hand edit that breaks one
#: (``"rounds": "x"``) is refused on reading, not met as a crash deep in the results code
STATE_SHAPES = {
    "config": dict,
    "pending": dict,
    "rng_state": dict,
    "rounds": list,
    "labeled_ids": list,
    "finished": bool,
}


def _check_shapes(document: Any) -> None:
    if not isinstance(document, dict):
        raise TypeError("the document is not a JSON object")
    for key, kind in STATE_SHAPES.items():
        if key in document and not isinstance(document[key], kind):
            raise TypeError(f"'{key}' is not a JSON {'object' if kind is dict else kind.__name__}")
    if not all(isinstance(r, dict) for r in document.get("rounds", [])):
        raise TypeError("'rounds' is not a list of objects")
    if not all(isinstance(q, str) for q in document.get("labeled_ids", [])):
        raise TypeError("'labeled_ids' is not a list of question ids")


@dataclass
class RunState:
    """Everything a resumed run needs to continue exactly where the killed one stopped."""

    config: dict[str, Any]
    pending: PendingQuery
    rng_state: dict[str, Any]
    rounds: list[dict[str, Any]] = field(default_factory=list)
    labeled_ids: list[str] = field(default_factory=list)
    wandb_run_id: str | None = None
    finished: bool = False
    #: round number (as a string, a JSON key) -> questions trained on as pseudo-labels
    pseudo_labels: dict[str, list[str]] = field(default_factory=dict)
    #: answers the oracle gave (question id -> {"text", "answer_start"}), revealed again on
    #: resume; empty for the gold oracle, whose answers are in the data
    answers: dict[str, dict[str, list]] = field(default_factory=dict)
    #: questions the annotators skipped: never labeled, never asked again
    skipped_ids: list[str] = field(default_factory=list)
    #: the oracle's own bookkeeping (e.g. the Label Studio project id), plain JSON values
    oracle: dict[str, Any] = field(default_factory=dict)
    #: set while the run waits for labels: {"round": r, "message": what to do}
    waiting: dict[str, Any] | None = None
    #: set when the run finishes: where its last round started, to reopen it (larger quota)
    last_round_start: LastRoundStart | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, document: dict[str, Any], path: Path) -> RunState:
        version = document.get("format", 1) if isinstance(document, dict) else 1
        if not isinstance(version, int) or version > STATE_FORMAT:
            raise StateFormatError(
                f"{path} has state format {version!r}, newer than this alqa reads "
                f"({STATE_FORMAT}): upgrade alqa, or start a new run in another directory "
                "(hydra.run.dir=...)"
            )
        try:
            _check_shapes(document)
            return cls(
                config=document["config"],
                pending=PendingQuery.from_json(document["pending"]),
                rng_state=document["rng_state"],
                rounds=list(document["rounds"]),
                labeled_ids=list(document["labeled_ids"]),
                wandb_run_id=document.get("wandb_run_id"),
                finished=bool(document["finished"]),
                pseudo_labels=dict(document.get("pseudo_labels") or {}),
                answers=dict(document.get("answers") or {}),
                skipped_ids=list(document.get("skipped_ids") or []),
                oracle=dict(document.get("oracle") or {}),
                waiting=document.get("waiting"),
                last_round_start=LastRoundStart.from_json(document.get("last_round_start")),
            )
        except (KeyError, TypeError) as error:
            what = f"missing {error}" if isinstance(error, KeyError) else f"malformed: {error}"
            raise StateFormatError(
                f"{path} is not a readable alqa state ({what}); move it "
                "away to start over, or start a new run in another directory (hydra.run.dir=...)"
            ) from error

    def reopen_last_round(self) -> None:
        """Undo the last round's bookkeeping, so it runs again and then queries on (a finished
        run whose quota grew); its record, labels and skips are redone by that round."""
        start = self.last_round_start
        if start is None:
            raise ValueError("the run is not finished, or finished without its last round's start")
        picked = set(start.pending.selected_ids)
        self.rounds = self.rounds[:-1]
        self.labeled_ids = [q for q in self.labeled_ids if q not in picked]
        self.skipped_ids = [q for q in self.skipped_ids if q not in picked]
        self.pseudo_labels.pop(str(len(self.rounds)), None)
        self.pending, self.rng_state = start.pending, start.rng_state
        self.finished, self.last_round_start = False, None


def load_state(run_dir: Path) -> RunState | None:
    """The state saved in ``run_dir``, or None when the directory holds no run yet."""
    path = Path(run_dir) / STATE_FILE
    try:
        document = read_json(path)
    except ValueError as error:
        raise StateFormatError(
            f"{path} is not valid JSON ({error}); move it away to start over"
        ) from error
    return None if document is None else RunState.from_json(document, path)


def save_state(run_dir: Path, state: RunState) -> None:
    """Write ``al_state.json`` atomically."""
    atomic_write_json(Path(run_dir) / STATE_FILE, state.to_json())
