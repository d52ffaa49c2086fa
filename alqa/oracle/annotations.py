"""Reading finished Label Studio annotations back as answers, checked against their contexts.

The input is a list of tasks in Label Studio's JSON export layout (the file route reads it
from the export file, the API route builds the same dicts from the tasks it fetches):
``{"id", "data": {"question_id", ...}, "annotations": [{"id", "result": [...],
"was_cancelled"}]}``. The rules, documented in the README:

- A span is sliced from the context by its ``start``/``end`` (exports may omit ``text``); one
  that does not fit its context (out of range, empty, or a ``text`` that is not at that
  place) stops the run with a message naming the task, before anything is saved.
- Whitespace an annotator selected around a span is trimmed (SQuAD answers have none).
- Several spans in one annotation are alternative answers, in their order; the first trains.
- With several annotations on one question, the newest one that was not cancelled counts.
- A question whose every annotation was cancelled (Label Studio's "Skip") is *skipped*.
- A question with no annotation yet keeps the run waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alqa.oracle.base import Answers, Labels, OracleError, Question

#: the names in alqa's labeling config (alqa/oracle/label_studio*.xml)
ANSWER_NAME, CONTEXT_NAME, NO_ANSWER_NAME = "answer", "context", "no_answer"
ANSWER_LABEL, NO_ANSWER_CHOICE = "Answer", "No answer"


@dataclass(frozen=True)
class BadSpan:
    """One annotation that cannot be used, with the task it came from."""

    task_id: Any
    question_id: str
    problem: str


def _span(value: Mapping[str, Any], context: str) -> tuple[int, int] | str:
    """The trimmed [start, end) of a span value, or what is wrong with it."""
    start, end = value.get("start"), value.get("end")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        return f"the span has no integer start/end ({start!r}, {end!r})"
    if not 0 <= start < end <= len(context):
        return f"the span [{start}, {end}) does not fit its context ({len(context)} characters)"
    text = value.get("text")
    if text is not None and context[start:end] != text:
        return f"the span's text {text!r} is not at [{start}, {end}) of its context"
    while start < end and context[start].isspace():
        start += 1
    while end > start and context[end - 1].isspace():
        end -= 1
    if start == end:
        return f"the span [{value['start']}, {value['end']}) holds only whitespace"
    return start, end


def answers_of(result: Iterable[Mapping[str, Any]], context: str) -> Answers | str:
    """An annotation's ``result`` as answers ({"text", "answer_start"}; empty lists for
    "no answer"), or what is wrong with it."""
    spans, no_answer = [], False
    for item in result:
        value = item.get("value") or {}
        if item.get("type") == "labels" or "start" in value:
            span = _span(value, context)
            if isinstance(span, str):
                return span
            spans.append(span)
        elif NO_ANSWER_CHOICE in (value.get("choices") or []):
            no_answer = True
    if spans and no_answer:
        return "it marks both an answer span and 'No answer'"
    if not spans and not no_answer:
        return "it was submitted without an answer span; mark one, or skip the task"
    return {
        "text": [context[s:e] for s, e in spans],
        "answer_start": [s for s, _ in spans],
    }


def _newest(annotations: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The most recent annotation: latest update, then highest id."""
    return max(annotations, key=lambda a: (str(a.get("updated_at") or ""), a.get("id") or 0))


def tasks_by_question(
    tasks: Iterable[Mapping[str, Any]], run_tag: str | None
) -> dict[str, list[Mapping[str, Any]]]:
    """Tasks grouped by alqa's question id; tasks of another alqa run are left out."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for task in tasks:
        data = task.get("data") or {}
        question_id = data.get("question_id")
        if question_id is None or (run_tag and data.get("alqa_run", run_tag) != run_tag):
            continue
        grouped.setdefault(str(question_id), []).append(task)
    return grouped


def read_labels(
    tasks: Iterable[Mapping[str, Any]],
    questions: list[Question],
    run_tag: str | None,
    source: str,
    fix: str = "fix that annotation in Label Studio, then rerun the same command",
) -> tuple[Labels, list[str]]:
    """The round's labels from finished tasks, and the questions still unlabeled.

    Raises :class:`OracleError` naming the first unusable annotation (``source``: where it
    was read; ``fix``: what to do) and counting the rest, so nothing of a half-checked round
    is kept.
    """
    grouped = tasks_by_question(tasks, run_tag)
    labels, missing, bad = Labels(), [], []
    for question in questions:
        found = grouped.get(question.id, [])
        annotations = [a for task in found for a in task.get("annotations") or []]
        kept = [a for a in annotations if not a.get("was_cancelled")]
        if not kept:
            (labels.skipped if annotations else missing).append(question.id)
            continue
        newest = _newest(kept)
        owner = next(t for t in found if any(a is newest for a in t.get("annotations") or []))
        answers = answers_of(newest.get("result") or [], question.context)
        if isinstance(answers, str):
            bad.append(BadSpan(owner.get("id"), question.id, answers))
        else:
            labels.answers[question.id] = answers
    if bad:
        first = bad[0]
        more = f" ({len(bad) - 1} more: tasks {', '.join(str(b.task_id) for b in bad[1:6])})"
        raise OracleError(
            f"{source}: task {first.task_id} (question {first.question_id}): {first.problem}; "
            f"{fix}{more if len(bad) > 1 else ''}"
        )
    return labels, missing
