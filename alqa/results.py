"""What a run reports: one record per round, and ``results.json`` with the budget-curve areas."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alqa.atomic import atomic_write_json
from alqa.curves import area_under_budget_curve
from alqa.state import RunState

RESULTS_FILE = "results.json"


@dataclass
class RoundRecord:
    """One round of the learning curve; ``metrics`` (EM, F1, their intervals...) stay flat in
    the JSON so every consumer reads ``rounds[i].f1`` whatever the evaluation adds."""

    round: int
    n_labeled: int
    metrics: dict[str, Any]
    train_loss: float
    train_steps: int
    train_seconds: float
    eval_seconds: float
    score_seconds: float
    select_seconds: float
    selected_ids: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "n_labeled": self.n_labeled,
            **self.metrics,
            "train_loss": self.train_loss,
            "train_steps": self.train_steps,
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
            "score_seconds": self.score_seconds,
            "select_seconds": self.select_seconds,
            "selected_ids": self.selected_ids,
            **self.extra,
        }


def _area(rounds: list[dict[str, Any]], metric: str) -> float | None:
    scored = [r for r in rounds if r.get(metric) is not None]
    if not scored:
        return None
    return area_under_budget_curve([r["n_labeled"] for r in scored], [r[metric] for r in scored])


def results_document(state: RunState, planned_rounds: int) -> dict[str, Any]:
    """The content of ``results.json``: config, rounds, AUBC of EM and F1, progress."""
    results = {
        "config": state.config,
        "rounds": state.rounds,
        "aubc_em": _area(state.rounds, "em"),
        "aubc_f1": _area(state.rounds, "f1"),
        "planned_rounds": planned_rounds,
        "finished": state.finished,
    }
    if state.pseudo_labels:
        results["pseudo_labels"] = state.pseudo_labels
    if state.skipped_ids:
        results["skipped_ids"] = state.skipped_ids
    if state.waiting:
        results["waiting"] = state.waiting  # {"round", "message"}: the labels it waits for
    return results


def write_results(run_dir: Path, results: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / RESULTS_FILE, results)
