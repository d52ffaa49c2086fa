"""Finding, parsing and validating the ``results.json`` files that alqa runs write."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from alqa.curves import area_under_budget_curve

RESULTS_NAME = "results.json"
METRICS = ("f1", "em")


class CompareError(Exception):
    """A user-facing problem with the inputs (reported with exit code 2, no traceback)."""


class NoRoundsYet(CompareError):
    """A results.json of a run that has not completed a round: nothing to compare yet."""


class NoEvaluation(CompareError):
    """A results.json of a run without an evaluation set (an annotation team's run with
    ``dataset.eval_file=null``): its rounds have no EM/F1, so there is no curve to compare."""


class _Unset:
    """Marker for a config key a run does not have, distinct from an explicit ``None``."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Run:
    """One AL run: its resolved config and its learning curve, sorted by budget."""

    path: Path
    config: Mapping[str, Any]
    n_labeled: np.ndarray
    scores: Mapping[str, np.ndarray]
    finished: bool
    planned_rounds: int | None

    @property
    def strategy(self) -> str:
        return strategy_name(self.config)

    @property
    def seed(self) -> Any:
        return self.config.get("seed", UNSET)

    @property
    def stopped_early(self) -> bool:
        """Whether the run has fewer rounds than planned, so its curve ends early."""
        if not self.finished:
            return True
        return self.planned_rounds is not None and self.n_labeled.size < self.planned_rounds

    def curve(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(labeled questions, score) points, the form alqa.curves works on."""
        return self.n_labeled, self.scores[metric]

    def aubc(self, metric: str) -> float:
        """AUBC recomputed from the rounds (the stored one may be from an older run)."""
        return area_under_budget_curve(*self.curve(metric))

    def final(self, metric: str) -> float:
        """Score at the last evaluated budget."""
        return float(self.scores[metric][-1])

    def up_to(self, budget: float) -> Run:
        """The run cut to the budgets <= ``budget``, so two runs compare over the same range."""
        keep = self.n_labeled <= budget
        if keep.all():
            return self
        if not keep.any():
            raise ValueError(f"{self.path}: no round at or below {budget} labeled questions")
        scores = {m: values[keep] for m, values in self.scores.items()}
        return replace(self, n_labeled=self.n_labeled[keep], scores=scores)


def strategy_name(config: Mapping[str, Any]) -> str:
    """The strategy's name, accepting either ``strategy: {name: ...}`` or ``strategy: name``."""
    strategy = config.get("strategy")
    if isinstance(strategy, Mapping):
        strategy = strategy.get("name")
    if not isinstance(strategy, str) or not strategy:
        raise KeyError("strategy.name")
    return strategy


def find_result_files(paths: Sequence[str | Path]) -> list[Path]:
    """Every results.json under the given paths, so a whole multirun can be passed at once.

    A path may be a results.json itself, a run directory or any ancestor of run directories
    (such as a Hydra multirun directory). A path that yields nothing is an error rather than
    silently ignored, because it is almost always a typo or a sweep that has not written yet.
    """
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found[path.resolve()] = None
            continue
        if not path.exists():
            raise CompareError(
                f"{path}: no such file or directory; expected a {RESULTS_NAME} file, a run "
                f"directory or a multirun directory containing run directories"
            )
        hits = sorted(path.rglob(RESULTS_NAME))
        if not hits:
            raise CompareError(
                f"{path}: no {RESULTS_NAME} found; expected a run directory or a multirun "
                f"directory whose job folders (0/, 1/, ...) each contain {RESULTS_NAME}"
            )
        for hit in hits:
            found[hit.resolve()] = None
    return list(found)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unevaluated(rounds: list[Any]) -> bool:
    """Whether every round is a well-formed record without any score key, as a run without an
    evaluation set writes them (its metrics are empty, so the keys are absent, not null)."""
    return all(
        isinstance(r, dict) and _number(r.get("n_labeled")) and not any(m in r for m in METRICS)
        for r in rounds
    )


def load_run(path: str | Path) -> Run:
    """Parse and validate one results.json, failing with a message that names the file."""
    path = Path(path)
    expected = (
        f"expected a {RESULTS_NAME} written by an alqa run: an object with 'config' (containing "
        f"strategy.name) and a non-empty 'rounds' list of objects with numeric n_labeled, f1, em"
    )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareError(f"{path}: cannot read ({exc}); {expected}") from exc
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path}: not valid JSON ({exc}); {expected}") from exc
    if not isinstance(data, dict):
        raise CompareError(f"{path}: top level is {type(data).__name__}; {expected}")
    config = data.get("config")
    if not isinstance(config, dict):
        raise CompareError(f"{path}: missing or non-object 'config'; {expected}")
    try:
        strategy_name(config)
    except KeyError:
        raise CompareError(f"{path}: config has no strategy.name; {expected}") from None
    rounds = data.get("rounds")
    if not isinstance(rounds, list):
        raise CompareError(f"{path}: missing or non-list 'rounds'; {expected}")
    if not rounds:
        raise NoRoundsYet(f"{path}: no rounds yet (run just started?)")
    if _unevaluated(rounds):
        raise NoEvaluation(
            f"{path}: the run has no evaluation set (its rounds have no f1/em), so it has no "
            "learning curve to compare; to compare it, rerun it with an evaluation set: "
            "dataset.eval_file=<file with gold answers>"
        )
    for i, record in enumerate(rounds):
        if not isinstance(record, dict):
            raise CompareError(f"{path}: rounds[{i}] is not an object; {expected}")
        for key in ("n_labeled", *METRICS):
            if not _number(record.get(key)):
                raise CompareError(
                    f"{path}: rounds[{i}].{key} is missing or not a finite number; {expected}"
                )
    order = sorted(range(len(rounds)), key=lambda i: rounds[i]["n_labeled"])
    finished = data.get("finished", True)
    planned = data.get("planned_rounds")
    return Run(
        path=path,
        config=config,
        n_labeled=np.array([rounds[i]["n_labeled"] for i in order], dtype=float),
        scores={m: np.array([rounds[i][m] for i in order], dtype=float) for m in METRICS},
        finished=finished is not False,
        planned_rounds=planned
        if isinstance(planned, int) and not isinstance(planned, bool)
        else None,
    )


def _nothing_to_compare(files: Sequence[Path], skipped: Sequence[CompareError]) -> CompareError:
    """The error when every file was skipped, naming a run without evaluation set if any (the
    likelier surprise) rather than calling every file unfinished."""
    no_eval = [exc for exc in skipped if isinstance(exc, NoEvaluation)]
    if not no_eval:
        return CompareError(
            f"none of the {len(files)} results.json file(s) has a completed round yet; "
            "expected at least one run with a non-empty 'rounds' list"
        )
    others = len(files) - 1
    rest = (
        f"; none of the other {others} results.json file(s) is comparable either" if others else ""
    )
    return CompareError(f"{no_eval[0]}{rest}")


def load_runs(files: Sequence[Path]) -> list[Run]:
    """Load every file; runs without a single round yet (a sweep in progress) or without an
    evaluation set are skipped with a warning instead of failing the whole comparison, which
    fails only when nothing comparable is left (then with one error, no warnings)."""
    runs: list[Run] = []
    skipped: list[CompareError] = []
    for path in files:
        try:
            runs.append(load_run(path))
        except (NoRoundsYet, NoEvaluation) as exc:
            skipped.append(exc)
    if not runs:
        raise _nothing_to_compare(files, skipped)
    for exc in skipped:
        print(f"alqa-compare: warning: {exc}; skipped", file=sys.stderr)
    return runs
