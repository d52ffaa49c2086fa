"""An annotation team labels the queried questions in Label Studio (``oracle=label_studio``).

Each round's questions become Label Studio tasks: ``data`` holds ``question_id`` (alqa's id),
``question``, ``context`` and the run's tag and round; ``predictions`` holds the current
model's best span with its probability as ``score``, so annotators correct rather than type.
The labeling interface is alqa's own (``label_studio.xml`` beside this module, or
``label_studio_no_answer.xml`` when "No answer" is a choice).

Two routes, chosen by ``oracle.url``:

- files (no url): :class:`FileRoute` writes ``<run dir>/label_studio/round_<r>_tasks.json``
  (Label Studio's import layout) and reads ``round_<r>_export.json`` (its JSON export);
- API (url set): :class:`alqa.oracle.label_studio_api.ApiRoute` creates or reuses the
  project, imports the tasks and fetches the annotations through ``label-studio-sdk``, with
  the API key read from the environment variable named by ``oracle.api_key_env``.

With this oracle the pool's answers are never used: every pool answer comes from the people,
so a pool may have none (SQuAD layout with empty ``answers``, or JSONL with ``id``,
``context``, ``question``), and an unknown answer is not "unanswerable".
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
from pathlib import Path
from typing import Any

from alqa.atomic import atomic_write_json
from alqa.data import DatasetError, QARow, answers_unknown, with_answers_unknown
from alqa.oracle.annotations import (
    ANSWER_LABEL,
    ANSWER_NAME,
    CONTEXT_NAME,
    NO_ANSWER_CHOICE,
    NO_ANSWER_NAME,
    read_labels,
)
from alqa.oracle.base import Labels, Oracle, OracleError, Prediction, Question, Waiting

log = logging.getLogger(__name__)

FOLDER = "label_studio"
CONFIG_FILE = "labeling_config.xml"
#: every prediction carries this model version, so a project set to pre-label with "alqa"
#: shows each round's pre-annotations
MODEL_VERSION = "alqa"


def labeling_config(no_answer: bool) -> str:
    """alqa's labeling interface (XML), shipped in the package."""
    name = "label_studio_no_answer.xml" if no_answer else "label_studio.xml"
    return importlib.resources.files("alqa.oracle").joinpath(name).read_text(encoding="utf-8")


def run_tag(run_dir: Path) -> str:
    """A short tag that tells this run's tasks from other runs' in a shared project."""
    return hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest()[:12]


def _result(from_name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"from_name": from_name, "to_name": CONTEXT_NAME, "type": kind, "value": value}


def prediction_result(prediction: Prediction, context: str) -> list[dict[str, Any]]:
    """A pre-annotation in Label Studio's result layout: a span, or the "No answer" choice."""
    if prediction.no_answer:
        return [_result(NO_ANSWER_NAME, "choices", {"choices": [NO_ANSWER_CHOICE]})]
    span = {
        "start": prediction.start,
        "end": prediction.end,
        "text": context[prediction.start : prediction.end],
        "labels": [ANSWER_LABEL],
    }
    return [_result(ANSWER_NAME, "labels", span)]


def task(
    question: Question, round_number: int, tag: str, prediction: Prediction | None
) -> dict[str, Any]:
    """One Label Studio task (import layout) for a queried question."""
    document: dict[str, Any] = {
        "data": {
            "question_id": question.id,
            "question": question.question,
            "context": question.context,
            "alqa_round": round_number,
            "alqa_run": tag,
        }
    }
    if prediction is not None:
        document["predictions"] = [
            {
                "model_version": MODEL_VERSION,
                "score": round(float(prediction.score), 6),
                "result": prediction_result(prediction, question.context),
            }
        ]
    return document


class LabelStudioOracle(Oracle):
    """What both routes share: the pool without answers, the tasks, the checked labels."""

    name = "label_studio"
    wants_predictions = True

    def __init__(self, run_dir: str | Path, no_answer: bool | str = "auto") -> None:
        if no_answer not in (True, False, "auto"):
            raise OracleError(f"oracle.no_answer must be auto, true or false, got {no_answer!r}")
        self.run_dir = Path(run_dir)
        self.no_answer_setting = no_answer
        self._no_answer = no_answer is True
        self._no_evaluation = False

    @property
    def offers_no_answer(self) -> bool:
        return self._no_answer

    @property
    def folder(self) -> Path:
        return self.run_dir / FOLDER

    def prepare(self, pool: list[QARow], evaluation: list[QARow]) -> list[QARow]:
        """Every pool answer becomes unknown (people give them); the evaluation set, if any,
        needs gold answers; "No answer" is offered (``auto``) when it has unanswerable ones."""
        given = sum(1 for row in pool if not answers_unknown(row) and row["answers"]["text"])
        if given:
            log.info("oracle=label_studio: the pool's %d given answers are not used", given)
        unlabeled_eval = [row["id"] for row in evaluation if answers_unknown(row)]
        if unlabeled_eval:
            raise DatasetError(
                f"dataset.eval_file: {len(unlabeled_eval)} evaluation questions have no answers "
                f"(first: {', '.join(unlabeled_eval[:3])}); evaluation needs gold answers, or "
                "set dataset.eval_file=null (rounds then report no EM/F1)"
            )
        if not evaluation:
            log.info("no evaluation set: rounds report no EM/F1")
        if self.no_answer_setting == "auto":
            self._no_answer = any(not row["answers"]["text"] for row in evaluation)
            self._no_evaluation = not evaluation
        return with_answers_unknown(pool)

    def _why_no_answer_is_off(self) -> str:
        if self.no_answer_setting == "auto":
            found = (
                "there is no evaluation set to show unanswerable questions"
                if self._no_evaluation
                else "the evaluation set has no unanswerable question"
            )
            fix = "a new run with oracle.no_answer=true offers it"
            return f"oracle.no_answer=auto, and {found}; {fix}"
        return "oracle.no_answer=false"

    def tag(self, memory: dict[str, Any]) -> str:
        """This run's tag, fixed the first time and kept in the run state."""
        return memory.setdefault("run", run_tag(self.run_dir))

    def tasks(
        self,
        round_number: int,
        questions: list[Question],
        predictions: list[Prediction | None] | None,
        memory: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """The round's tasks, in Label Studio's import layout."""
        predictions = predictions or [None] * len(questions)
        tag = self.tag(memory)
        return [task(q, round_number, tag, p) for q, p in zip(questions, predictions)]

    def labels(
        self,
        tasks: list[dict[str, Any]],
        questions: list[Question],
        memory: dict[str, Any],
        source: str,
        fix: str,
    ) -> tuple[Labels, list[str]]:
        """Checked labels of the round, and the ids still unlabeled; "No answer" is refused
        when the interface does not offer it (it would teach the model a class it never
        scores)."""
        labels, missing = read_labels(tasks, questions, self.tag(memory), source, fix)
        if not self._no_answer:
            none = [q for q, a in labels.answers.items() if not a["text"]]
            if none:
                raise OracleError(
                    f"{source}: question {none[0]} is labeled 'No answer', but this run does "
                    f"not offer it ({self._why_no_answer_is_off()}); label a span or skip "
                    "the task"
                )
        return labels, missing


class FileRoute(LabelStudioOracle):
    """Tasks and exports as files in ``<run dir>/label_studio/``, for teams that cannot
    connect alqa to their Label Studio."""

    def tasks_file(self, round_number: int) -> Path:
        return self.folder / f"round_{round_number}_tasks.json"

    def export_file(self, round_number: int) -> Path:
        return self.folder / f"round_{round_number}_export.json"

    def request(self, round_number, questions, predictions, memory) -> None:
        """Write the round's tasks and alqa's labeling interface beside them."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / CONFIG_FILE).write_text(labeling_config(self._no_answer), encoding="utf-8")
        atomic_write_json(
            self.tasks_file(round_number), self.tasks(round_number, questions, predictions, memory)
        )
        log.info("round %d: %d tasks in %s", round_number, len(questions), self.folder)

    def collect(self, round_number, questions, memory) -> Labels | Waiting:
        """The round's labels from its export file, or ``Waiting`` until it holds them all."""
        export = self.export_file(round_number)
        if not export.is_file():
            return Waiting(
                f"round {round_number} waits for labels: import {self.tasks_file(round_number)} "
                f"into a Label Studio project whose labeling interface is "
                f"{self.folder / CONFIG_FILE}, label its {len(questions)} tasks (or skip them), "
                f"export the project as JSON to {export}, then run the same command again"
            )
        labels, missing = self.labels(
            read_export(export),
            questions,
            memory,
            str(export),
            f"fix that annotation in Label Studio, export again to {export.name}, then run the "
            "same command again",
        )
        if missing:
            return Waiting(
                f"round {round_number} waits for labels: {export} labels "
                f"{len(questions) - len(missing)} of its {len(questions)} questions (missing: "
                f"{', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}); label the rest, "
                "export again, then run the same command again"
            )
        return labels


def read_export(path: Path) -> list[dict[str, Any]]:
    """A Label Studio JSON export: a list of tasks with ``data`` and ``annotations``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise OracleError(f"{path}: not a readable JSON file ({error})") from error
    if not isinstance(document, list) or not all(
        isinstance(t, dict) and isinstance(t.get("data"), dict) for t in document
    ):
        raise OracleError(
            f"{path}: not Label Studio's JSON export (a list of tasks with data and "
            "annotations); export the project with the JSON format, not JSON-MIN or CSV"
        )
    return document


def label_studio_oracle(
    run_dir: str | Path,
    name: str = "label_studio",
    url: str | None = None,
    api_key_env: str = "LABEL_STUDIO_API_KEY",
    project: str | None = None,
    no_answer: bool | str = "auto",
) -> LabelStudioOracle:
    """The route ``oracle.url`` asks for: the API with a url, the files without one."""
    if not url:
        return FileRoute(run_dir, no_answer)
    from alqa.oracle.label_studio_api import ApiRoute

    return ApiRoute(run_dir, no_answer, url=url, api_key_env=api_key_env, project=project)
