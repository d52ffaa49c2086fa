"""Who labels the queried questions: the oracle interface, and the gold simulation.

A round's queried questions go to the oracle twice: ``request`` hands them over (with the
current model's best span, so people correct rather than type), ``collect`` takes back the
labels, or says the run has to wait for them. The gold oracle answers at once from the data;
an annotation team's oracle (:mod:`alqa.oracle.label_studio`) makes the run stop and resume.

Both calls get ``memory``, a dict saved in the run state, for what an oracle must remember
between processes (a project id, the run's tag); it must hold plain JSON values only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alqa.data import DatasetError, QARow, answers_unknown

#: one question's answers in the rows' layout; empty lists: "no answer" (unanswerable)
Answers = dict[str, list]


class OracleError(ValueError):
    """Labels that cannot be used, or an annotation tool that cannot be reached; the message
    names the task or the setting to fix (a user error: one line, exit status 2)."""


@dataclass(frozen=True)
class Question:
    """What an annotator sees of a queried question."""

    id: str
    question: str
    context: str


@dataclass(frozen=True)
class Prediction:
    """The current model's best answer to a question, offered as a pre-annotation.

    ``start``/``end`` are character offsets into the context ([start, end)); a "no answer"
    prediction (SQuAD 2.0 data) has ``no_answer`` set and no span.
    """

    start: int
    end: int
    score: float
    no_answer: bool = False


@dataclass
class Labels:
    """What the oracle returned for one round.

    ``answers`` maps question ids to the answers to reveal to the model (empty for the gold
    oracle: the rows already hold them); ``skipped`` lists the questions the annotators
    skipped or cancelled, which are not labeled and never asked again.
    """

    answers: dict[str, Answers] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Waiting:
    """The labels are not there yet; ``message`` says what the annotation team has to do."""

    message: str


class Oracle(ABC):
    """The labeler of a run: ``request`` the round's questions, then ``collect`` the labels."""

    name: str = "oracle"
    #: whether ``request`` needs the model's predictions (computing them costs a model pass)
    wants_predictions: bool = False

    def prepare(self, pool: list[QARow], evaluation: list[QARow]) -> list[QARow]:
        """The pool as this oracle uses it; checks that the data fits the oracle."""
        return pool

    @property
    def offers_no_answer(self) -> bool:
        """Whether the oracle may answer "no answer" (then the model scores that option)."""
        return False

    @abstractmethod
    def request(
        self,
        round_number: int,
        questions: list[Question],
        predictions: list[Prediction | None] | None,
        memory: dict[str, Any],
    ) -> None:
        """Hand round ``round_number``'s questions to the annotators; safe to repeat."""

    @abstractmethod
    def collect(
        self, round_number: int, questions: list[Question], memory: dict[str, Any]
    ) -> Labels | Waiting:
        """Every question's label (or skip), or ``Waiting`` while any is missing."""


def _no_answers(rows: list[QARow]) -> list[str]:
    return [row["id"] for row in rows if answers_unknown(row)]


class GoldOracle(Oracle):
    """The simulation: the data's own (gold) answers are revealed as soon as they are asked."""

    name = "gold"

    def __init__(self, name: str = "gold", run_dir: str | Path | None = None) -> None:
        self.name = name

    def prepare(self, pool: list[QARow], evaluation: list[QARow]) -> list[QARow]:
        """The gold oracle needs every pool answer and an evaluation set to score rounds on."""
        missing = _no_answers(pool)
        if missing:
            raise DatasetError(
                f"dataset.train_file: {len(missing)} pool questions have no answers (first: "
                f"{', '.join(missing[:3])}); the gold oracle reveals the data's answers. To have "
                "people label them, use oracle=label_studio"
            )
        if not evaluation:
            raise DatasetError(
                "dataset.eval_file is not set and the dataset config names no hub dataset: the "
                "gold simulation scores every round on an evaluation set (only with "
                "oracle=label_studio is it optional)"
            )
        unlabeled_eval = _no_answers(evaluation)
        if unlabeled_eval:
            raise DatasetError(
                f"dataset.eval_file: {len(unlabeled_eval)} evaluation questions have no answers "
                f"(first: {', '.join(unlabeled_eval[:3])}); evaluation needs gold answers"
            )
        return pool

    def request(self, round_number, questions, predictions, memory) -> None:
        """Nothing to hand over: the answers are in the data."""

    def collect(self, round_number, questions, memory) -> Labels:
        """The rows already hold the gold answers, so nothing needs revealing."""
        return Labels()
